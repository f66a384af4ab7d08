#!/usr/bin/env bash
# RISE-SDF neural SDF relighting, facet vs the PyTorch reference of the same math, same machine,
# on the default-size field (16-level hash grid, 128-wide networks) with random sphere-initialised
# weights (tools/reference/risesdf_ref.py checkpoint --size default, converted by
# tools/convert_risesdf.py), constant environment:
#   1. ms per sphere-traced frame at WIDTH x HEIGHT (default 800x800);
#   2. ms per volume-rendered frame ("mode": "volume", the official NeuS renderer with its 128^3
#      occupancy grid, and "indirect": "parity", the official second split-sum with its 96-sample
#      secondary march) of the same field with NeuS variance 0.6 (inv_s 403, a trained model's
#      sharpness; the random init's 0.3 is far softer and slower): facet at WIDTH x HEIGHT, and
#      facet and the reference at VOL_WIDTH x VOL_HEIGHT (default 200x200: the reference takes
#      ~15 min per 800x800 frame on 2 cores; per-frame time scales with the pixel count, the
#      camera and field being the same). load_ms is the occupancy grid build.
#
#   bash bench/run_risesdf.sh [BUILD_DIR] [WIDTH HEIGHT] [VOL_WIDTH VOL_HEIGHT]
#   (needs /usr/bin/python3 with torch)
#
# Prints JSON lines; copy them with the machine, date and this command into bench/RESULTS.md.
set -euo pipefail
build=${1:-build}
width=${2:-800}
height=${3:-800}
vol_width=${4:-200}
vol_height=${5:-200}
work=${FACET_BENCH_DIR:-/tmp/facet-bench-risesdf}
py=/usr/bin/python3
mkdir -p "$work"
if [ ! -f "$work/default.safetensors" ]; then
    "$py" tools/reference/risesdf_ref.py checkpoint "$work/default.ckpt" --size default --seed 1
    "$py" tools/convert_risesdf.py "$work/default.ckpt" "$work/default.safetensors"
fi
if [ ! -f "$work/default-v0.6.safetensors" ]; then
    "$py" tools/reference/risesdf_ref.py checkpoint "$work/default-v0.6.ckpt" --size default \
        --seed 1 --variance 0.6
    "$py" tools/convert_risesdf.py "$work/default-v0.6.ckpt" "$work/default-v0.6.safetensors"
fi
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)
echo "# $(date -u +%F) $(uname -n), $(nproc) CPU threads:$cpu"
devices=cpu
if command -v nvidia-smi >/dev/null && nvidia-smi >/dev/null 2>&1; then
    devices="cpu cuda"
    echo "# GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
fi
for device in $devices; do
    "$build/bench_risesdf" "$work/default.safetensors" --width "$width" --height "$height" \
        --frames 3 --device "$device"
    "$py" tools/reference/risesdf_ref.py bench "$work/default.ckpt" --size default \
        --width "$width" --height "$height" --device "$device"
done
for device in $devices; do
    "$build/bench_risesdf" "$work/default-v0.6.safetensors" --width "$width" --height "$height" \
        --frames 1 --device "$device" --mode volume --indirect parity
    "$build/bench_risesdf" "$work/default-v0.6.safetensors" --width "$vol_width" \
        --height "$vol_height" --frames 3 --device "$device" --mode volume --indirect parity
    "$py" tools/reference/risesdf_ref.py bench "$work/default-v0.6.ckpt" --size default \
        --width "$vol_width" --height "$vol_height" --device "$device" --mode volume \
        --indirect parity
done
