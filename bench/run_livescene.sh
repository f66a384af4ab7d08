#!/usr/bin/env bash
# LiveScene rendering throughput, facet vs the PyTorch reference, same machine, same weights (a
# random default-config checkpoint in the official layout: 36.8M parameters, 256/128/48 samples).
#
#   bash bench/run_livescene.sh [BUILD_DIR]      (needs /usr/bin/python3 with torch)
#   LIVESCENE_ROUNDS=N (default 5): CPU rounds, each facet f32, facet f16, then the reference
#
# Every ray costs the same fixed number of samples in this method, so rays/s does not depend on
# the view; ms per 800x800 frame is 640000 / (rays/s). A shared host moves single runs by 20% or
# more, and not facet's memory-bound lookups and PyTorch's matrix products alike, so the CPU runs
# alternate for several rounds and the last line gives the medians and each round's ratio
# (facet / reference, the same round). Prints JSON lines; copy them with the machine, date and
# this command into bench/RESULTS.md.
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
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for device in $devices; do
    rays=8000
    [ "$device" = cuda ] && rays=640000
    mlps=f32
    [ "$device" = cuda ] && mlps="f32 f16" # f16: the networks on tensor cores (scene mlp_dtype)
    rounds=${LIVESCENE_ROUNDS:-5}
    [ "$device" = cuda ] && rounds=1
    ref_rays=4096
    [ "$device" = cuda ] && ref_rays=65536
    for round in $(seq "$rounds"); do
        for plane in f32 f16; do
            for mlp in $mlps; do
                "$build/bench_livescene" "$work/default.safetensors" --rays "$rays" \
                    --device "$device" --plane-dtype "$plane" --mlp-dtype "$mlp" | tee -a "$log"
            done
        done
        "$py" tools/reference/livescene_ref.py bench --config default --rays "$ref_rays" \
            --device "$device" --checkpoint "$work/step-000030000.ckpt" | tee -a "$log"
    done
done
"$py" - "$log" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
for device in sorted({r["device"] for r in rows}):
    facet = [r for r in rows if r.get("impl") == "facet" and r["device"] == device]
    ref = [r["rays_per_sec"] for r in rows if "rays_per_sec" in r and r["device"] == device]
    summary = {"summary": "livescene", "device": device, "rounds": len(ref),
               "reference_rays_per_s_median": round(statistics.median(ref), 1)}
    for plane in ("f32", "f16"):
        runs = [r["rays_per_s"] for r in facet
                if r["plane_dtype"] == plane and r["mlp_dtype"] == "f32"]
        if len(runs) != len(ref):
            continue
        ratios = [a / b for a, b in zip(runs, ref)]
        summary[f"facet_{plane}_rays_per_s_median"] = round(statistics.median(runs), 1)
        summary[f"ratio_{plane}_per_round"] = [round(x, 1) for x in ratios]
        summary[f"ratio_{plane}_median"] = round(statistics.median(ratios), 1)
    print(json.dumps(summary))
PY
