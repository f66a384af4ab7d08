#!/usr/bin/env bash
# FQGAN tokenizer throughput, facet vs the PyTorch reference, same machine, same weights (random
# hash weights of the official Dual-16 config, written as an official-format checkpoint by
# tools/reference/fqgan_ref.py and converted by tools/convert_fqgan.py: 111.3M inference
# parameters, 256x256 images, 16x16 tokens per branch).
#
#   bash bench/run_fqgan.sh [BUILD_DIR]      (needs /usr/bin/python3 with torch)
#
# Environment: FQGAN_CONFIG (dual16, dual8, triple16, triple8; default dual16), FQGAN_BATCH
# (default 1 on the CPU, 32 on a GPU), FQGAN_ITERS (default 3), FACET_BENCH_DIR (default
# /tmp/facet-bench-fqgan: the checkpoint is about 1.2 GB, the facet weights 445 MB).
# facet and PyTorch alternate (facet, PyTorch eager, facet, PyTorch eager) so that a busy machine
# slows both; every line reports the best and median of its iterations. PyTorch uses all CPU
# threads (torch.set_num_threads(nproc)); torch.compile is tried and reported as an error line
# when it does not work on this build. Prints JSON lines; copy them with the machine, date and
# this command into bench/RESULTS.md.
set -euo pipefail
build=${1:-build}
config=${FQGAN_CONFIG:-dual16}
iters=${FQGAN_ITERS:-3}
work=${FACET_BENCH_DIR:-/tmp/facet-bench-fqgan}
py=/usr/bin/python3
mkdir -p "$work"
ckpt="$work/$config.pt"
weights="$work/$config.safetensors"
if [ ! -f "$weights" ]; then
    "$py" tools/reference/fqgan_ref.py checkpoint --config "$config" "$ckpt"
    "$py" tools/convert_fqgan.py "$ckpt" "$weights"
fi
echo "# $(date -u +%F) $(uname -n), $(nproc) CPU threads: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
cpu_batch=${FQGAN_BATCH:-1}
for round in 1 2; do
    "$build/bench_fqgan" "$weights" --device cpu --batch "$cpu_batch" --iters "$iters"
    "$py" tools/reference/fqgan_ref.py bench --checkpoint "$ckpt" --config "$config" \
        --batch "$cpu_batch" --iters "$iters"
done
"$py" tools/reference/fqgan_ref.py bench --checkpoint "$ckpt" --config "$config" \
    --batch "$cpu_batch" --iters "$iters" --compile
if command -v nvidia-smi >/dev/null && nvidia-smi >/dev/null 2>&1; then
    echo "# GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
    gpu_batch=${FQGAN_BATCH:-32}
    for precision in fp32 tf32 bf16; do
        "$build/bench_fqgan" "$weights" --device "cuda-$precision" --batch "$gpu_batch" \
            --iters "$iters"
        "$py" tools/reference/fqgan_ref.py bench --checkpoint "$ckpt" --config "$config" \
            --batch "$gpu_batch" --iters "$iters" --device cuda --precision "$precision"
    done
    "$py" tools/reference/fqgan_ref.py bench --checkpoint "$ckpt" --config "$config" \
        --batch "$gpu_batch" --iters "$iters" --device cuda --precision bf16 --compile
fi
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
