# Warnings and sanitizers for every target of this project, through one interface target.
add_library(goroutinemap_build_flags INTERFACE)
target_compile_options(goroutinemap_build_flags INTERFACE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic>
    $<$<AND:$<CXX_COMPILER_ID:GNU,Clang>,$<BOOL:${GOROUTINEMAP_WARNINGS_AS_ERRORS}>>:-Werror>)

if(GOROUTINEMAP_SANITIZE)
    set(_san -fsanitize=${GOROUTINEMAP_SANITIZE} -fno-omit-frame-pointer -g)
    if(GOROUTINEMAP_SANITIZE MATCHES "undefined")
        list(APPEND _san -fno-sanitize-recover=all)
    endif()
    if(GOROUTINEMAP_SANITIZE MATCHES "thread")
        target_compile_definitions(goroutinemap_build_flags INTERFACE GOROUTINEMAP_TSAN=1)
    endif()
    target_compile_options(goroutinemap_build_flags INTERFACE ${_san})
    target_link_options(goroutinemap_build_flags INTERFACE ${_san})
endif()
