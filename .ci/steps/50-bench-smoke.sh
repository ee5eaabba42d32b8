#!/usr/bin/env bash
# The benchmark (issue 5) in its smoke size, so that it keeps building and running: a few
# seconds. Runs after the README test command, which configured and built build/ (the bench
# target is on by default at top level). Fails only when the benchmark's own checks fail
# (a refusal not refused, a signal or an expiry missing), never on a figure: CI machines are
# too noisy for ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${GOROUTINEMAP_BUILD_DIR:-build} # the README test command's build
[ -f "$build/CMakeCache.txt" ] || { echo "run the README test command first ($build/ is missing)"; exit 1; }
cmake --build "$build" --target goroutinemap-bench
QT_QPA_PLATFORM=offscreen timeout 300 "$build/bench/goroutinemap-bench" --smoke
