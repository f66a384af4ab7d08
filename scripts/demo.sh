#!/usr/bin/env bash
# The main job on the embedded demo: render the demo scene's test views, evaluate them against
# the ground truth shipped in assets/demo (rendered by Blender Cycles), write the images and
# metrics.json under out/demo, and print the table.
set -euo pipefail
facet=${1:-build/facet}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/out/demo"
echo "== facet info: the demo scene and dataset"
"$facet" info "$root/assets/demo/scene.json"
"$facet" info "$root/assets/demo/data"
echo
echo "== facet eval: test views against Blender's renders"
"$facet" eval "$root/assets/demo/scene.json" --data "$root/assets/demo/data" --split test \
    --out "$out"
echo
echo "images: $out/*.png   metrics: $out/metrics.json"
