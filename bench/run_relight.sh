#!/usr/bin/env bash
# Split-sum relighting, facet vs the PyTorch reference of the same math, same machine:
#   - prefilter: lighting of a 512^2 cube from Blender's forest.exr (quality mode, 64 samples per
#     texel; facet also reports parity mode, the official 99%-cone brute force);
#   - frame: ms per 800x800 frame of the analytic sphere scene (bench/bench_relight.c).
#
#   bash bench/run_relight.sh [BUILD_DIR]      (needs /usr/bin/python3 with torch)
#
# Prints JSON lines; copy them with the machine, date and this command into bench/RESULTS.md.
set -euo pipefail
build=${1:-build}
work=${FACET_BENCH_DIR:-/tmp/facet-bench-relight}
py=/usr/bin/python3
hdri=assets/demo/forest.exr
mkdir -p "$work"
"$build/bench_relight" "$hdri" --dump-map "$work/forest.npy"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)
echo "# $(date -u +%F) $(uname -n), $(nproc) CPU threads:$cpu"
devices=cpu
if command -v nvidia-smi >/dev/null && nvidia-smi >/dev/null 2>&1; then
    devices="cpu cuda"
    echo "# GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
fi
for device in $devices; do
    "$build/bench_relight" "$hdri" --size 512 --samples 64 --width 800 --height 800 \
        --device "$device"
    "$py" tools/reference/splitsum_ref.py bench "$work/forest.npy" --size 512 --samples 64 \
        --width 800 --height 800 --device "$device"
done
