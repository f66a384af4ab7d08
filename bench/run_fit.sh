#!/usr/bin/env bash
# Fitting speed and quality: iterations/s and rays/s of `facet fit` (small config, CPU), and
# held-out PSNR against wall time from weight snapshots.
#
#   bash bench/run_fit.sh [BUILD_DIR] [ITERATIONS] [DATASET] [SHARD]
#
# DATASET: a LiveScene-format dataset (default: `facet synth`'s cabinet, 200 frames, generated).
# Prints a table "iteration seconds test_psnr"; copy it with the machine and date into
# bench/RESULTS.md. Snapshot PSNR is measured on shard SHARD of the held-out views (default 0/5:
# every 5th test view); the last line is the final model on every held-out view. The fit runs
# first and alone, the evaluations after it, so they do not disturb its wall times.
set -euo pipefail
build=${1:-build}
iterations=${2:-3000}
dataset=${3:-}
shard=${4:-0/5}
work=${FACET_BENCH_DIR:-/tmp/facet-bench-fit}
rm -rf "$work" && mkdir -p "$work"
echo "# $(date -u +%F) $(uname -n), $(nproc) CPU threads: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
if [ -z "$dataset" ]; then
    dataset="$work/data"
    "$build/facet" synth "$dataset" --frames 200 --quiet
fi
echo "# dataset $dataset, $iterations iterations"
"$build/facet" fit "$dataset" --out "$work/fit" --iters "$iterations" --snapshot-every 500 --quiet
grep -E '"(rays_per_second|seconds|final_train_psnr)"' "$work/fit/fit.json"
printf 'iteration\tseconds\ttest_psnr (shard %s)\n' "$shard"
tail -n +2 "$work/fit/snapshots/times.tsv" | while IFS=$'\t' read -r step seconds; do
    snap=$(printf '%s/fit/snapshots/model-%06d.safetensors' "$work" "$step")
    printf '{"version": 1, "background": [1, 1, 1], "nodes": [{"type": "livescene", "weights": "%s"}]}' \
        "$snap" > "$work/snap.json"
    "$build/facet" eval "$work/snap.json" --data "$dataset" --shard "$shard" --out "$work/eval-$step" --quiet
    psnr=$(grep -m1 '"psnr":' "$work/eval-$step/metrics.json" | tr -dc '0-9.')
    printf '%s\t%s\t%s\n' "$step" "$seconds" "$psnr"
done
"$build/facet" eval "$work/fit/scene.json" --data "$dataset" --out "$work/eval-final" --quiet
printf 'final model, every held-out view: PSNR %s dB, SSIM %s, %s views\n' \
    "$(grep -m1 '"psnr":' "$work/eval-final/metrics.json" | tr -dc '0-9.')" \
    "$(grep -m1 '"ssim":[[:space:]]*[0-9]' "$work/eval-final/metrics.json" | tr -dc '0-9.')" \
    "$(grep -m1 '"num_images":' "$work/eval-final/metrics.json" | tr -dc '0-9')"
