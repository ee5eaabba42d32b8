#!/usr/bin/env bash
# Installs what building, testing and running GoRoutineMap needs on Debian 12.
# Skips apt entirely when everything is already there, so repeated runs are quick.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config
    qt6-base-dev qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools linguist-qt6
    libqt6svg6 # SVG icon engine plugin for the demo's icons
    libgl-dev # Qt6::Gui's CMake config asks for OpenGL headers
    xvfb xauth # a real X server for the demo without a display
    libbenchmark-dev
    doxygen
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "Installing: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
