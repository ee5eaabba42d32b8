#!/usr/bin/env bash
# API reference: `cmake --build build --target docs` runs Doxygen over the public headers with
# WARN_AS_ERROR=FAIL_ON_WARNINGS, so an undocumented public class, function, signal or enum (or
# any other Doxygen warning) fails this step. A few seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${GOROUTINEMAP_BUILD_DIR:-build} # the README test command's build
[ -f "$build/CMakeCache.txt" ] || { echo "run the README test command first ($build/ is missing)"; exit 1; }

if ! command -v doxygen >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends doxygen
    cmake "$build" >/dev/null # let docs/CMakeLists.txt find it
fi
doxygen --version

rm -rf "$build/docs/html"
cmake --build "$build" --target docs
for page in index.html classgoroutinemap_1_1GoRoutineMap.html classgoroutinemap_1_1OperationsModel.html \
    version_8h.html; do
    [ -s "$build/docs/html/$page" ] || { echo "docs: $page was not generated"; exit 1; }
done
echo "docs: OK ($build/docs/html/index.html)"
