#!/usr/bin/env bash
# `facet fit` on the three Blender-rendered LiveScene scenes of issue 13 (cabinet, chest, desk:
# tools/reference/make_livescene_scenes.sh), each with the small config and default
# normalisation: held-out PSNR against wall time (bench/run_fit.sh per scene). The cabinet is the
# committed fixture; chest and desk are rendered with Blender first (needs `blender`).
#
#   bash bench/run_fit_blender.sh [BUILD_DIR] [SCENES_DIR]
#
# SCENES_DIR (default /tmp/facet-blender-scenes) keeps the rendered scenes between runs.
set -euo pipefail
build=${1:-build}
scenes=${2:-/tmp/facet-blender-scenes}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bash "$root/tools/reference/make_livescene_scenes.sh" "$scenes" chest desk
for scene in cabinet chest desk; do
    data="$scenes/$scene"
    [ "$scene" = cabinet ] && data="$root/tests/fixtures/blender/cabinet"
    echo "## $scene"
    FACET_BENCH_DIR="${FACET_BENCH_DIR:-/tmp/facet-bench-fit}-$scene" \
        bash "$here/run_fit.sh" "$build" 3000 "$data" 0/5
done
