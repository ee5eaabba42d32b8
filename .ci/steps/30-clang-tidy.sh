#!/usr/bin/env bash
# clang-tidy 14 with .clang-tidy on the library's sources (lib/src/*.cpp and, through them, our
# headers), using build/compile_commands.json from the README build. Every finding is an error.
# About a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${GOROUTINEMAP_BUILD_DIR:-build} # the README test command's build
[ -f "$build/CMakeCache.txt" ] || { echo "run the README test command first ($build/ is missing)"; exit 1; }

tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
if [ -z "$tidy" ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang-tidy-14
    tidy=$(command -v clang-tidy-14)
fi
"$tidy" --version | grep -i version

if [ ! -f "$build/compile_commands.json" ]; then
    cmake -DCMAKE_EXPORT_COMPILE_COMMANDS=ON "$build" >/dev/null
fi
# moc output the sources include must exist.
cmake --build "$build" --target GoRoutineMap

# -Wpedantic makes clang (not GCC) flag Qt's qCWarning(cat) << ... macro use; not our code.
# The filter drops clang's per-file count of the (suppressed) warnings in Qt's headers.
ls lib/src/*.cpp | xargs -P "$(nproc)" -n 1 "$tidy" -p "$build" --quiet \
    --extra-arg=-Wno-gnu-zero-variadic-macro-arguments 2>&1 \
    | { grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' || true; }
echo "clang-tidy: OK"
