#!/usr/bin/env bash
# FQGAN encode and decode on the CPU, facet against what a user would otherwise pick, in one
# interleaved run on the same weights: the PyTorch reference (eager), ONNX Runtime, and OpenVINO
# in fp32 and bf16 (bf16 only where OpenVINO reports it for this CPU); facet runs in fp32 (cpu)
# and, where the CPU has AVX-512 BF16, in bf16 (cpu-bf16: the decoder's full-resolution convs). The weights are random hash
# weights of the official config (tools/reference/fqgan_ref.py checkpoint: Dual-16 has 111.3M
# inference parameters), converted for facet (tools/convert_fqgan.py) and exported to ONNX
# (tools/reference/fqgan_onnx.py, opset 17).
#
#   bash bench/run_fqgan.sh [BUILD_DIR]          (make bench-fqgan runs it on build/)
#
# Before anything is timed, every runtime encodes 40 real photographs (the skimage pictures, five
# crops each) and 32 Blender renders, and its tokens are compared with PyTorch float32's: a runtime whose tokens differ
# away from near-ties stops the run, so the graphs timed are the reference's. Each runtime also
# decodes PyTorch's tokens of those images, scored as the PSNR of its 8-bit images against
# PyTorch float32's (decoded_ref.npy).
#
# Environment: FQGAN_CONFIG (dual16, dual8, triple16, triple8; default dual16), FQGAN_BATCHES
# (default "1 8"), FQGAN_ITERS (timed calls per line, default 3), FQGAN_ROUNDS (default 2),
# FACET_BENCH_DIR (default /tmp/facet-bench-fqgan: checkpoint 1.2 GB, facet weights 445 MB,
# ONNX graphs 447 MB). Every runtime uses all CPU threads. The ONNX Runtime and OpenVINO wheels
# live in .venv-bench (made here on first use, pinned below), never in the build's environment.
#
# Output: JSON lines (the environment first: CPU, flags, thread count, versions, and every
# variable that steers OpenBLAS, OpenMP, oneDNN or malloc), then a Markdown table of the
# medians over rounds and each runtime's time as a ratio to facet's. The lines are also kept in
# $FACET_BENCH_DIR/run_fqgan-<UTC time>.jsonl. Copy the table, with the machine line and this
# command, into bench/RESULTS.md.
set -euo pipefail
build=${1:-build}
config=${FQGAN_CONFIG:-dual16}
batches=${FQGAN_BATCHES:-1 8}
iters=${FQGAN_ITERS:-3}
rounds=${FQGAN_ROUNDS:-2}
work=${FACET_BENCH_DIR:-/tmp/facet-bench-fqgan}
py=/usr/bin/python3
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-bench"
pins="onnxruntime==1.32.0 openvino==2026.4.1 numpy==2.4.6"

[ -x "$build/bench_fqgan" ] || { echo "run_fqgan: $build/bench_fqgan not built (make build)" >&2; exit 1; }
if [ "$(cat "$venv/pins" 2>/dev/null)" != "$pins" ]; then
    echo "run_fqgan: installing $pins into $venv" >&2
    rm -rf "$venv"
    "$py" -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install -q $pins
    echo "$pins" > "$venv/pins"
fi
mkdir -p "$work"
ckpt="$work/$config.pt"
weights="$work/$config.safetensors"
onnx="$work/onnx-$config"
if [ ! -f "$weights" ]; then
    "$py" tools/reference/fqgan_ref.py checkpoint --config "$config" "$ckpt"
    "$py" tools/convert_fqgan.py "$ckpt" "$weights"
fi
if [ ! -f "$onnx/export.json" ]; then
    "$py" tools/reference/fqgan_onnx.py export --checkpoint "$ckpt" --config "$config" "$onnx" \
        2> >(grep -v -e 'Warning' -e '_C._jit_pass' >&2)
fi
if ! grep -q '"renders"' "$onnx/export.json"; then # exports made before the renders and decodes
    "$py" tools/reference/fqgan_onnx.py inputs --checkpoint "$ckpt" --config "$config" "$onnx"
fi

log="$work/run_fqgan-$(date -u +%Y%m%dT%H%M%S).jsonl"
: > "$log"
emit() { tee -a "$log"; }
runtimes="ort ov-fp32"
if "$venv/bin/python" -c 'import openvino as ov, sys; sys.exit("BF16" not in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))' 2>/dev/null; then
    runtimes="$runtimes ov-bf16"
fi

"$venv/bin/python" - "$config" "$build" <<'EOF' | emit
import json, os, platform, re, subprocess, sys
flags = open("/proc/cpuinfo").read()
model = re.search(r"model name\s*:\s*(.*)", flags).group(1).strip()
have = sorted(set(re.findall(r"\b(avx2|fma|f16c|avx512f|avx512_bf16|avx512_fp16|amx_bf16|amx_tile)\b", flags)))
steer = {k: v for k, v in os.environ.items()
         if re.match(r"(OPENBLAS|GOTO|OMP|GOMP|KMP|MKL|ONEDNN|DNNL|MALLOC)_", k)}
import onnxruntime, openvino
torch = subprocess.run(["/usr/bin/python3", "-c", "import torch; print(torch.__version__)"],
                       capture_output=True, text=True).stdout.strip()
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                        text=True).stdout.strip()
print(json.dumps({"environment": {
    "date": subprocess.run(["date", "-u", "+%F %T"], capture_output=True, text=True).stdout.strip(),
    "host": platform.node(), "cpu": model, "threads": os.cpu_count(), "flags": have,
    "load_average": open("/proc/loadavg").read().split()[:3], "variables": steer,
    "facet": commit, "config": sys.argv[1], "torch": torch,
    "onnxruntime": onnxruntime.__version__, "openvino": openvino.get_version()}}))
EOF

facets="cpu"
grep -qw avx512_bf16 /proc/cpuinfo && facets="cpu cpu-bf16"
for d in $facets; do
    "$build/bench_fqgan" "$weights" --device "$d" --check "$onnx" --batch 8 | emit
done
for r in $runtimes; do
    "$venv/bin/python" bench/fqgan_runtimes.py check "$onnx" --runtime "$r" | emit
done

for round in $(seq "$rounds"); do
    for b in $batches; do
        for d in $facets; do
            "$build/bench_fqgan" "$weights" --device "$d" --batch "$b" --iters "$iters" | emit
        done
        "$py" tools/reference/fqgan_ref.py bench --checkpoint "$ckpt" --config "$config" \
            --batch "$b" --iters "$iters" | emit
        for r in $runtimes; do
            "$venv/bin/python" bench/fqgan_runtimes.py bench "$onnx" --runtime "$r" \
                --batch "$b" --iters "$iters" | emit
        done
    done
done
echo "{\"load_average_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" | emit
"$py" bench/fqgan_table.py "$log"
