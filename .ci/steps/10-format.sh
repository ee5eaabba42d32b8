#!/usr/bin/env bash
# Format check: every tracked C++ file under lib/ demo/ tests/ bench/ examples/ must be formatted
# as .clang-format says (clang-format 14). Runs in a second or two.
#   bash .ci/steps/10-format.sh          check (CI)
#   bash .ci/steps/10-format.sh --fix    reformat in place
set -euo pipefail
cd "$(dirname "$0")/../.."

cf=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$cf" ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang-format-14
    cf=$(command -v clang-format-14)
fi
"$cf" --version

mapfile -t files < <(git ls-files -- 'lib/*.cpp' 'lib/*.h' 'demo/*.cpp' 'demo/*.h' 'tests/*.cpp' \
    'tests/*.h' 'bench/*.cpp' 'bench/*.h' 'examples/*.cpp' 'examples/*.h')
echo "${#files[@]} files"
((${#files[@]})) || exit 0

if [ "${1:-}" = "--fix" ]; then
    "$cf" -i --style=file "${files[@]}"
else
    "$cf" --dry-run --Werror --style=file "${files[@]}"
    echo "format: OK"
fi
