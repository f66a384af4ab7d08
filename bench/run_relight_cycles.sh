#!/usr/bin/env bash
# facet's relighting modes against Cycles ground truth (GitHub issue 17, item 4):
#   1. Cycles renders (tools/reference/make_relight_cycles.py, Blender 3.4 CPU) of a sphere and a
#      tilted torus in silver metal (roughness 0.12, 0.3, 0.6, 0.9) and two dielectrics (0.2,
#      0.7) under Blender's interior, forest and sunset HDRIs, 96 x 96, 256 samples; rendered
#      once into $CYCLES_DIR (default /tmp/relight_cycles) and reused while its manifest is there,
#      plus the same set with seed 1 ($CYCLES_DIR/seed1) for Cycles' own noise;
#   2. facet renders of each case in every lighting mode: parity, quality (its default exact
#      filter), quality with the sampled filter, reference with N = 16, 64, 256 MIS sample pairs
#      per pixel sample; all with --spp 16 --pixel-filter blackman-harris --filter-width 1.5
#      (Cycles' filter). One process per (HDRI, mode) renders every case of the HDRI (bench/relight_cycles.py scenes: one node and
#      camera per case; the split-sum modes render every frame 10 times), timed, and again at
#      1 x 1 pixels for the setup time (the map's load and the lighting build); per frame =
#      (all - setup) / frames;
#   3. the exact split-sum in NumPy/PyTorch (bench/relight_cycles.py exact), quality mode's limit;
#   4. the table: PSNR and relative RMSE against Cycles over the pixels where Cycles' alpha >
#      0.999, printed and written to bench/relight_cycles.md.
#
#   bash bench/run_relight_cycles.sh [BUILD_DIR]
#
# Environment: CYCLES_DIR, FACET_BENCH_DIR (work files, default /tmp/facet-bench-relight-cycles),
# NOISE=0 skips the seed-1 Cycles set. Needs blender (3.4) and /usr/bin/python3 with numpy, scipy
# and torch. About 35 minutes on two loaded cores (Cycles 9 of them, the facet renders 15, the
# exact split-sum 10).
set -euo pipefail
build=${1:-build}
cycles=${CYCLES_DIR:-/tmp/relight_cycles}
work=${FACET_BENCH_DIR:-/tmp/facet-bench-relight-cycles}
py=/usr/bin/python3
helper=bench/relight_cycles.py
noise=${NOISE:-1}
mkdir -p "$work"

if [ ! -f "$cycles/manifest.json" ]; then
    blender -b --factory-startup -P tools/reference/make_relight_cycles.py -- "$cycles" \
        > "$work/blender.log" 2>&1 || { tail -20 "$work/blender.log"; exit 1; }
fi
noise_args=()
if [ "$noise" = 1 ]; then
    if [ ! -f "$cycles/seed1/manifest.json" ]; then
        blender -b --factory-startup -P tools/reference/make_relight_cycles.py -- \
            "$cycles/seed1" --seed 1 > "$work/blender_seed1.log" 2>&1 ||
            { tail -20 "$work/blender_seed1.log"; exit 1; }
    fi
    noise_args=(--noise "$cycles/seed1")
fi

"$py" "$helper" scenes "$cycles" "$work"
hdris=$("$py" -c 'import json, sys
m = json.load(open(sys.argv[1]))
print(" ".join(dict.fromkeys(c["hdri_name"] for c in m["cases"])))' "$cycles/manifest.json")
modes="parity quality sampled_filter ref16 ref64 ref256"
render=(--format exr --spp 16 --pixel-filter blackman-harris --filter-width 1.5 --quiet)
# timed COMMAND...: runs COMMAND, appends "WALL USER SYS" (seconds) to $work/time.txt
timed() { /usr/bin/time -f "%e %U %S" -a -o "$work/time.txt" "$@"; }
: > "$work/timings.tsv"
for hdri in $hdris; do
    # the decoded map for the exact split-sum (bench_relight decodes Blender's DWAB EXRs)
    "$build/bench_relight" "/usr/share/blender/datafiles/studiolights/world/$hdri.exr" \
        --dump-map "$work/$hdri.npy" > /dev/null
    for mode in $modes; do
        # split-sum frames are fast: render each frame 10 times so they outweigh the setup
        cameras=$work/$hdri/transforms.json
        case $mode in parity | quality | sampled_filter) cameras=$work/$hdri/repeat.json ;; esac
        frames=$("$py" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["frames"]))' \
            "$cameras")
        : > "$work/time.txt"
        timed "$build/facet" render "$work/$hdri/$mode.json" --cameras "$work/$hdri/setup.json" \
            --out "$work/$hdri/setup_$mode" --width 1 --height 1 "${render[@]}"
        timed "$build/facet" render "$work/$hdri/$mode.json" --cameras "$cameras" \
            --out "$work/$hdri/$mode" "${render[@]}"
        { read -r setup; read -r all; } < "$work/time.txt"
        echo "$hdri $mode setup $setup 1" >> "$work/timings.tsv"
        echo "$hdri $mode all $all $frames" >> "$work/timings.tsv"
        echo "facet $hdri $mode: setup $setup, $frames frames $all (wall user sys, s)"
    done
done

"$py" "$helper" exact "$cycles" "$work"
"$py" "$helper" table "$cycles" "$work" --timings "$work/timings.tsv" "${noise_args[@]}" \
    --markdown bench/relight_cycles.md --command "bash bench/run_relight_cycles.sh $*"
