#!/usr/bin/env bash
# examples/consumer built the three ways a project takes GoRoutineMap, each run as a test:
#   1. cmake --install of build/ (the README build; GOROUTINEMAP_BUILD_DIR overrides) with the
#      demo's .desktop file and icon; then find_package and pkg-config;
#   2. add_subdirectory of this checkout, with the parent's BUILD_TESTING=ON (ours must stay off);
#   3. FetchContent cloning this checkout's HEAD (git, no network).
# Runs after the README test command; about 1-2 minutes on 2 cores (2 and 3 compile the library).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build=${GOROUTINEMAP_BUILD_DIR:-build} # the README test command's build
[ -f "$build/CMakeCache.txt" ] || { echo "run the README test command first ($build/ is missing)"; exit 1; }

prefix=$root/build-consumer-install
rm -rf "$prefix" build-consumer-package build-consumer-pkgconfig build-consumer-subdirectory \
    build-consumer-fetchcontent

check_only_consumer_test() { # the parent must not have built or registered our tests
    local n
    n=$(ctest --test-dir "$1" -N | sed -n 's/^Total Tests: //p')
    [ "$n" = 1 ] || { echo "$1: expected only the consumer's test, found $n"; exit 1; }
}

echo "--- 1. installed tree + find_package"
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/goroutinemap/goroutinemap.h include/goroutinemap/goroutinemap_export.h \
    include/goroutinemap/version.h lib/cmake/GoRoutineMap/GoRoutineMapConfig.cmake \
    lib/cmake/GoRoutineMap/GoRoutineMapConfigVersion.cmake \
    lib/cmake/GoRoutineMap/GoRoutineMapTargets.cmake lib/pkgconfig/goroutinemap.pc; do
    [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
done
ls "$prefix"/lib/libgoroutinemap.so.0 >/dev/null
if grep -q '^GOROUTINEMAP_BUILD_DEMO:BOOL=ON' "$build/CMakeCache.txt"; then
    for f in bin/goroutinemap-demo share/applications/goroutinemap-demo.desktop \
        share/icons/hicolor/scalable/apps/goroutinemap-demo.svg; do
        [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
    done
    if ! command -v desktop-file-validate >/dev/null; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            desktop-file-utils
    fi
    desktop-file-validate "$prefix/share/applications/goroutinemap-demo.desktop"
    # The installed demo finds the installed library through its $ORIGIN RPATH.
    resolved=$(ldd "$prefix/bin/goroutinemap-demo" | awk '/libgoroutinemap\.so\.0/ { print $3 }')
    [ -n "$resolved" ] && [ "$(realpath "$resolved")" = "$(realpath "$prefix/lib/libgoroutinemap.so.0")" ] \
        || { echo "installed demo does not use $prefix/lib/libgoroutinemap.so.0 ($resolved)"; exit 1; }
fi
cmake -S examples/consumer -B build-consumer-package -G Ninja -DGOROUTINEMAP_CONSUME=package \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_COMPILE_WARNING_AS_ERROR=ON >/dev/null
cmake --build build-consumer-package
ctest --test-dir build-consumer-package --output-on-failure
# SameMajorVersion: 0.x is accepted, another major version is not.
mkdir -p build-consumer-package/versions
cat >build-consumer-package/versions/CMakeLists.txt <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(versions LANGUAGES CXX)
find_package(GoRoutineMap 0.1 CONFIG REQUIRED)
find_package(GoRoutineMap 1.0 CONFIG QUIET)
if(GoRoutineMap_FOUND)
    message(FATAL_ERROR "GoRoutineMap ${GoRoutineMap_VERSION} accepted a request for 1.0")
endif()
CMAKE
cmake -S build-consumer-package/versions -B build-consumer-package/versions/b \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null

echo "--- 1b. installed tree + pkg-config"
mkdir -p build-consumer-pkgconfig
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pkg-config --modversion goroutinemap
# shellcheck disable=SC2046
g++ -std=c++17 -Werror examples/consumer/main.cpp -o build-consumer-pkgconfig/consumer \
    $(pkg-config --cflags --libs goroutinemap)
LD_LIBRARY_PATH="$prefix/lib" build-consumer-pkgconfig/consumer

echo "--- 2. add_subdirectory"
cmake -S examples/consumer -B build-consumer-subdirectory -G Ninja -DGOROUTINEMAP_CONSUME=subdirectory \
    -DBUILD_TESTING=ON -DCMAKE_COMPILE_WARNING_AS_ERROR=ON >/dev/null
cmake --build build-consumer-subdirectory
ctest --test-dir build-consumer-subdirectory --output-on-failure
check_only_consumer_test build-consumer-subdirectory

echo "--- 3. FetchContent from this checkout"
cmake -S examples/consumer -B build-consumer-fetchcontent -G Ninja -DGOROUTINEMAP_CONSUME=fetchcontent \
    -DGOROUTINEMAP_GIT_REPOSITORY="$root" -DGOROUTINEMAP_GIT_TAG="$(git rev-parse HEAD)" \
    -DBUILD_TESTING=ON -DCMAKE_COMPILE_WARNING_AS_ERROR=ON >/dev/null
cmake --build build-consumer-fetchcontent
ctest --test-dir build-consumer-fetchcontent --output-on-failure
check_only_consumer_test build-consumer-fetchcontent
echo "consumers: OK"
