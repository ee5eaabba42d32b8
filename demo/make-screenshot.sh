#!/usr/bin/env bash
# Regenerates the README's screenshot: the demo with no arguments (simulation plus
# /usr/share/doc) after 2.5 s, under a real X server (xvfb-run) so it looks like a desktop.
#   bash demo/make-screenshot.sh [out.png]            (builds build-demo/ if needed)
#   cmake --build <build> --target screenshot          (same, with that build's binary)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/docs/screenshot.png}
demo=${DEMO_BINARY:-}
if [ -z "$demo" ]; then
    build=$root/build-demo
    [ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -G Ninja
    cmake --build "$build" --target goroutinemap-demo
    demo=$build/demo/goroutinemap-demo
fi
mkdir -p "$(dirname "$out")"
# English, a fixed seed and Fusion, so that the picture changes only when the demo does.
run=(env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$demo" --lang en --seed 7 -style fusion
     --screenshot "$out" --screenshot-after "${SCREENSHOT_AFTER:-2500}")
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || ! command -v xvfb-run >/dev/null; then
    "${run[@]}" >/dev/null
else
    xvfb-run -a -s "-screen 0 1400x900x24" "${run[@]}" >/dev/null
fi
echo "wrote $out"
