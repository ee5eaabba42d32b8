#!/usr/bin/env bash
# Sanitizers: the whole test suite built and run twice more, each in its own build folder, from
# the CMakePresets.json presets (plain -D flags if a preset is missing):
#   asan -> build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer (Debug)
#   tsan -> build-tsan/  ThreadSanitizer (RelWithDebInfo)
# The demo is built in both and its test runs in both (under TSan too: demo/folderhasher.cpp
# annotates its scanner thread's queued hand-offs). The benchmark is not built (the presets turn it off).
#
# Every report fails the step: each one aborts its process (halt_on_error, abort_on_error,
# -fno-sanitize-recover=all), which fails its test, and every sanitizer also writes its reports
# to build-<name>/sanitizer-reports/, which must stay empty (this catches reports in child
# processes whose exit code a test does not look at). Suppressions: tests/tsan.supp (each names
# one Qt-internal frame and says why); none for ASan, UBSan or LSan. The TSan options are
# explained where they are set.
#
# 7 to 12 minutes on 2 cores from scratch (measured: ASan build 3-4.5 min + tests 1 min, TSan
# build 2.5-6 min + tests 20 s, the longer times with other jobs on the machine; the demo's test
# is most of the ASan test time). The whole .ci/run on a fresh clone took 18.5 minutes so.
#   bash .ci/steps/60-sanitizers.sh            both
#   bash .ci/steps/60-sanitizers.sh tsan       one of them
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

sanitizers=("$@")
((${#sanitizers[@]})) || sanitizers=(asan tsan)

has_preset() {
    [ -f CMakePresets.json ] && cmake --list-presets=configure 2>/dev/null | grep -q "\"$1\""
}

for san in "${sanitizers[@]}"; do
    start=$SECONDS
    build=build-$san
    echo "--- $san ($build)"
    if has_preset "$san"; then
        cmake --preset "$san" >/dev/null
        cmake --build --preset "$san"
    else
        case $san in
        asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DGOROUTINEMAP_SANITIZE=address,undefined) ;;
        tsan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DGOROUTINEMAP_SANITIZE=thread) ;;
        *) echo "unknown sanitizer build $san (asan or tsan)"; exit 2 ;;
        esac
        cmake -S . -B "$build" -G Ninja -DGOROUTINEMAP_WARNINGS_AS_ERRORS=ON -DGOROUTINEMAP_BUILD_BENCH=OFF \
            "${flags[@]}" >/dev/null
        cmake --build "$build"
    fi
    built=$SECONDS

    reports=$root/$build/sanitizer-reports
    rm -rf "$reports"
    mkdir -p "$reports"
    # Set here rather than through the test presets, which are for interactive use: the CI run
    # also needs the report folder. log_path gets ".<pid>" appended per process.
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:log_path=$reports/asan"
    export LSAN_OPTIONS="log_path=$reports/lsan"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
    # ignore_noninstrumented_modules=1: accesses made by Qt's own compiled code are not checked.
    #   Qt is not built with TSan, so the locks that order them (QMutex is a futex) are invisible
    #   and every such report would be unverifiable; synchronisation in Qt that TSan does see
    #   still counts, and every access by our code (and Qt's inline templates in it) is checked.
    # die_after_fork=0: tst_lifetime starts children with QProcess from a process that has pool
    #   threads; the child only execs this test binary again, but TSan would otherwise kill the
    #   process at its next thread start after that (multi-threaded) fork.
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4:ignore_noninstrumented_modules=1:die_after_fork=0:log_path=$reports/tsan"
    if grep -q '^[^#]' tests/tsan.supp 2>/dev/null; then
        TSAN_OPTIONS="$TSAN_OPTIONS:suppressions=$root/tests/tsan.supp"
    fi
    export TSAN_OPTIONS

    status=0
    ctest --test-dir "$build" --output-on-failure -j 2 || status=$?
    if compgen -G "$reports/*" >/dev/null; then
        for f in "$reports"/*; do
            echo "=== sanitizer report $f"
            cat "$f"
        done
        echo "--- $san: sanitizer reports (above)"
        status=1
    fi
    echo "--- $san: build $((built - start)) s, tests $((SECONDS - built)) s"
    ((status == 0)) || { echo "--- $san failed"; exit 1; }
done
echo "sanitizers: OK"
