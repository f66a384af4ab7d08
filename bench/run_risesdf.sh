#!/usr/bin/env bash
# RISE-SDF neural SDF relighting, facet vs the PyTorch reference of the same math, same machine:
# ms per 800x800 sphere-traced frame of the default-size field (16-level hash grid, 128-wide
# networks) with random sphere-initialised weights (tools/reference/risesdf_ref.py checkpoint
# --size default, converted by tools/convert_risesdf.py), constant environment.
#
#   bash bench/run_risesdf.sh [BUILD_DIR] [WIDTH HEIGHT]   (needs /usr/bin/python3 with torch)
#
# Prints JSON lines; copy them with the machine, date and this command into bench/RESULTS.md.
set -euo pipefail
build=${1:-build}
width=${2:-800}
height=${3:-800}
work=${FACET_BENCH_DIR:-/tmp/facet-bench-risesdf}
py=/usr/bin/python3
mkdir -p "$work"
if [ ! -f "$work/default.safetensors" ]; then
    "$py" tools/reference/risesdf_ref.py checkpoint "$work/default.ckpt" --size default --seed 1
    "$py" tools/convert_risesdf.py "$work/default.ckpt" "$work/default.safetensors"
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
