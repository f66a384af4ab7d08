#!/usr/bin/env bash
# Renders the three Blender LiveScene scenes of issue 13 (tools/reference/make_livescene_blender.py)
# with Debian's blender (Cycles, CPU): cabinet (unit scale), chest (x10) and desk (x0.3, off the
# origin), 100 frames of 128 x 128 each, 64 samples. About 1.5 minutes per scene on 2 cores.
#
#   bash tools/reference/make_livescene_scenes.sh OUT_DIR [SCENE...]
#
# OUT_DIR/<scene>/ receives each dataset; a scene whose transforms.json exists is kept. The
# cabinet is committed as tests/fixtures/blender/cabinet (make_livescene_scenes.sh
# tests/fixtures/blender cabinet regenerates it). Needs `blender` (FACET_SETUP_REFERENCE=1
# scripts/setup.sh installs it).
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: $0 OUT_DIR [cabinet|chest|desk]..." >&2
    exit 2
fi
out=$1
shift
scenes=("$@")
[ ${#scenes[@]} -gt 0 ] || scenes=(cabinet chest desk)
command -v blender >/dev/null || {
    echo "$0: blender not found (FACET_SETUP_REFERENCE=1 scripts/setup.sh installs it)" >&2
    exit 1
}
here=$(cd "$(dirname "$0")" && pwd)
for scene in "${scenes[@]}"; do
    if [ -f "$out/$scene/transforms.json" ]; then
        echo "$scene: $out/$scene exists, kept"
        continue
    fi
    # render next to the destination, then move into place: never a half-written dataset
    tmp="$out/.$scene.partial"
    rm -rf "$tmp"
    mkdir -p "$out"
    log="$out/.$scene.log"
    if ! blender -b --factory-startup --python-exit-code 1 -P "$here/make_livescene_blender.py" -- "$scene" "$tmp" \
        --frames 100 --size 128 --samples 64 >"$log" 2>&1; then
        tail -20 "$log" >&2
        echo "$0: rendering $scene failed (log: $log)" >&2
        exit 1
    fi
    grep -q "make_livescene_blender: $scene frame 100/100" "$log" || {
        echo "$0: rendering $scene did not finish (log: $log)" >&2
        exit 1
    }
    rm -f "$log"
    mv "$tmp" "$out/$scene"
    echo "$scene: $out/$scene"
done
