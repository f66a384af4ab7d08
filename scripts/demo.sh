#!/usr/bin/env bash
# The main job on the embedded demo (README, "The two commands"):
#  1. regenerate the interactive cabinet scene (facet synth, deterministic, ~10 s),
#  2. render its test views with each frame's ground-truth kappa from the fitted LiveScene field
#     shipped in assets/cabinet (made by `facet fit`, see assets/README.md), evaluate them, and
#     write the images and metrics.json to out/demo/cabinet,
#  3. relight: render the environment-map scene against Blender Cycles' ground truth
#     (out/demo/forest).
set -euo pipefail
facet=${1:-build/facet}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/out/demo"
mkdir -p "$out"
echo "== facet synth: the cabinet scene (drawer and door driven by kappa)"
"$facet" synth "$out/cabinet-data" --frames 200 --quiet
echo
echo "== facet eval: the fitted field on 20 of the 100 held-out test views, ground-truth kappa"
"$facet" eval "$root/assets/cabinet/scene.json" --data "$out/cabinet-data" --split test \
    --shard 0/5 --out "$out/cabinet"
echo
echo "== facet eval: an HDRI world against Blender Cycles renders"
"$facet" eval "$root/assets/demo/scene.json" --data "$root/assets/demo/data" --split test \
    --out "$out/forest" --quiet
grep -E '"(psnr|ssim)":\s*[0-9]' "$out/forest/metrics.json" | head -2 | tr -d '\t,' | sed 's/^/    /'
echo
echo "images and metrics.json: $out/cabinet, $out/forest"
echo "explore the cabinet interactively (needs a display): $facet view $root/assets/cabinet/scene.json"
