#!/usr/bin/env bash
# The German translation must stay complete: lupdate over the library and the demo, into a
# scratch copy of the .ts, may find no new text and leave no entry unfinished.
set -euo pipefail
cd "$(dirname "$0")/../.."

lupdate=/usr/lib/qt6/bin/lupdate
[ -x "$lupdate" ] || bash cmake/install-debian-deps.sh
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for ts in translations/*.ts; do
    cp "$ts" "$scratch/"
    copy="$scratch/$(basename "$ts")"
    "$lupdate" -no-obsolete -silent lib/src lib/include demo -ts "$copy"
    unfinished=$(grep -c 'type="unfinished"' "$copy" || true)
    if [ "$unfinished" -ne 0 ]; then
        echo "$ts: $unfinished untranslated or new text(s):"
        grep -B4 'type="unfinished"' "$copy" | grep '<source>' | head -20
        exit 1
    fi
    echo "$ts: complete"
done
