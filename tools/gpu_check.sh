#!/usr/bin/env bash
# One-shot check on a lent GPU machine: configure with CUDA, build, run every test (GPU tests
# included) and the CUDA render of the demo, and write everything to $OUT/gpu_check.log.
#
#   run (device tool):  bash tools/gpu_check.sh
#
# The GPU machine may lack the Debian -dev packages; scripts/setup.sh installs them when apt can
# reach a mirror, otherwise the build reports what is missing.
set -uo pipefail
out=${OUT:-out/gpu_check}
mkdir -p "$out"
log="$out/gpu_check.log"
exec > >(tee "$log") 2>&1
cd "$(dirname "$0")/.."
echo "== $(date -u +%FT%TZ) $(hostname)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
nvcc --version | tail -1 || true
bash scripts/setup.sh || echo "setup failed: continuing with what is installed"
cmake -S . -B build-gpu -DFACET_CUDA=ON -DCMAKE_BUILD_TYPE=Release || exit 1
cmake --build build-gpu -j "$(nproc)" || exit 1
(cd build-gpu && ctest --output-on-failure -j 4) ; tests=$?
echo "== GPU tests, verbose"
(cd build-gpu && ctest -L gpu --output-on-failure -V | grep -E "ok|FAIL|device|skipped")
echo "== demo on CPU and CUDA (same scene, same machine)"
for device in cpu cuda; do
    build-gpu/facet eval assets/demo/scene.json --data assets/demo/data --device "$device" \
        --out "$out/demo-$device" --quiet && grep -E '"(psnr|fps|num_rays_per_sec)"' "$out/demo-$device/metrics.json"
done
for device in cpu cuda; do
    /usr/bin/time -f "$device 1920x1080 camera render: %e s" build-gpu/facet render assets/demo/scene.json \
        --width 1920 --height 1080 --device "$device" --out "$out/hd-$device" --quiet
done
echo "== benchmarks (facet CPU/CUDA; the PyTorch reference where torch is installed)"
for bench in livescene relight fqgan; do
    echo "-- bench/run_$bench.sh"
    bash "bench/run_$bench.sh" build-gpu || echo "(bench/run_$bench.sh failed: see above)"
done
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
    echo "-- no torch here: facet-only LiveScene figures on random default-config weights"
    for device in cpu cuda; do
        build-gpu/bench_livescene --random-default --device "$device" --rays 640000
    done
fi
echo "== viewer: the refiner path on CPU and CUDA (800x800 demo scene, no window)"
for device in cpu cuda; do
    build-gpu/bench_viewer assets/cabinet/scene.json 800 800 --device "$device" ||
        echo "(bench_viewer --device $device failed)"
done
echo "== viewer: CUDA-GL interop frames/s (GLX on the GPU through a carried Xvfb; device README)"
if command -v xvfb-run >/dev/null; then
    printf 'size 800 800\norbit 1 0\nwait 0.05\n%.0s' $(seq 1 100) >"$out/interop_script.txt"
    __GLX_VENDOR_LIBRARY_NAME=nvidia xvfb-run -a -s '-screen 0 1024x1024x24' \
        build-gpu/facet view assets/cabinet/scene.json --device cuda --hidden \
        --script "$out/interop_script.txt" --bench "$out/viewer_bench.jsonl" &&
        cat "$out/viewer_bench.jsonl" || echo "(interop run failed: see above)"
else
    echo "(no xvfb-run here: interop frames/s not measured)"
fi
echo "== exit: tests $tests"
exit $tests
