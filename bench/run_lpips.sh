#!/usr/bin/env bash
# LPIPS time per image pair, facet (bench_lpips) against the PyPI package lpips 0.1.4 on the same
# machine, AlexNet and VGG16, nerfstudio convention. Both use random backbones (the time does not
# depend on the weight values) and the same thread count.
#
#   bash bench/run_lpips.sh [BUILD_DIR]
#
# Environment: LPIPS_PYTHON, a python that imports lpips and torch (the venv of
# tools/reference/lpips_reference.py's docstring; without it only facet runs), LPIPS_SIZE (WxH,
# default 800x800), LPIPS_ITERS (default 3), LPIPS_NETS (default "alex vgg16"). Prints JSON lines
# (best and median seconds per pair); copy them with the machine, date and this command into
# bench/RESULTS.md.
set -euo pipefail
build=${1:-build}
size=${LPIPS_SIZE:-800x800}
iters=${LPIPS_ITERS:-3}
nets=${LPIPS_NETS:-alex vgg16}
threads=$(nproc)
echo "# $(date -u +%F) $(uname -n), $threads CPU threads: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for net in $nets; do
    "$build/bench_lpips" --net "$net" --size "$size" --iters "$iters"
    if [ -n "${LPIPS_PYTHON:-}" ]; then
        "$LPIPS_PYTHON" - "$net" "$size" "$iters" "$threads" <<'PY'
import json, sys, time, warnings
import torch, lpips
warnings.filterwarnings("ignore")
net, size, iters, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
w, h = (int(v) for v in size.split("x"))
torch.set_num_threads(threads)
model = lpips.LPIPS(net="vgg" if net == "vgg16" else net, pnet_rand=True, verbose=False).eval()
g = torch.Generator().manual_seed(1)
a = torch.rand(1, 3, h, w, generator=g)
b = 0.5 * a + 0.5 * torch.rand(1, 3, h, w, generator=g)
times = []
with torch.no_grad():
    for it in range(iters + 1):
        t0 = time.perf_counter()
        model(a, b, normalize=True)
        if it:
            times.append(time.perf_counter() - t0)
times.sort()
print(json.dumps({"bench": "lpips", "impl": "lpips-package", "net": net, "device": "cpu",
                  "width": w, "height": h, "iters": iters, "best_s": round(times[0], 4),
                  "median_s": round(times[len(times) // 2], 4)}))
PY
    fi
done
if command -v nvidia-smi >/dev/null && nvidia-smi >/dev/null 2>&1; then
    for net in $nets; do "$build/bench_lpips" --net "$net" --size "$size" --iters "$iters" --device cuda; done
fi
