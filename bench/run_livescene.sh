#!/usr/bin/env bash
# LiveScene rendering throughput, facet vs the PyTorch reference, same machine, same weights (a
# random default-config checkpoint in the official layout: 36.8M parameters, 256/128/48 samples).
#
#   bash bench/run_livescene.sh [BUILD_DIR]      (needs /usr/bin/python3 with torch)
#
# Every ray costs the same fixed number of samples in this method, so rays/s does not depend on
# the view; ms per 800x800 frame is 640000 / (rays/s). Prints JSON lines; copy them with the
# machine, date and this command into bench/RESULTS.md.
set -euo pipefail
build=${1:-build}
work=${FACET_BENCH_DIR:-/tmp/facet-bench-livescene}
py=/usr/bin/python3
mkdir -p "$work"
if [ ! -f "$work/default.safetensors" ]; then
    "$py" tools/reference/livescene_ref.py default-ckpt "$work"
    "$py" tools/convert_livescene.py "$work/step-000030000.ckpt" "$work/default.safetensors" \
        --mapping "$work/mapping.yaml"
fi
echo "# $(date -u +%F) $(uname -n), $(nproc) CPU threads: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
devices=cpu
if command -v nvidia-smi >/dev/null && nvidia-smi >/dev/null 2>&1; then
    devices="cpu cuda"
    echo "# GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
fi
for device in $devices; do
    rays=8000
    [ "$device" = cuda ] && rays=640000
    mlps=f32
    [ "$device" = cuda ] && mlps="f32 f16" # f16: the networks on tensor cores (scene mlp_dtype)
    for plane in f32 f16; do
        for mlp in $mlps; do
            "$build/bench_livescene" "$work/default.safetensors" --rays "$rays" --device "$device" \
                --plane-dtype "$plane" --mlp-dtype "$mlp"
        done
    done
    ref_rays=4096
    [ "$device" = cuda ] && ref_rays=65536
    "$py" tools/reference/livescene_ref.py bench --config default --rays "$ref_rays" \
        --device "$device" --checkpoint "$work/step-000030000.ckpt"
done
