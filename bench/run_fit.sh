#!/usr/bin/env bash
# Fitting speed and quality on the generated cabinet scene: iterations/s and rays/s of
# `facet fit` (small config, CPU), and test PSNR against wall time from weight snapshots.
#
#   bash bench/run_fit.sh [BUILD_DIR] [ITERATIONS]
#
# Prints a table "iteration seconds test_psnr"; copy it with the machine and date into
# bench/RESULTS.md. The test PSNR is measured on 20 of the 100 held-out views (--shard 0/5).
set -euo pipefail
build=${1:-build}
iterations=${2:-3000}
work=${FACET_BENCH_DIR:-/tmp/facet-bench-fit}
rm -rf "$work" && mkdir -p "$work"
echo "# $(date -u +%F) $(uname -n), $(nproc) CPU threads: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
"$build/facet" synth "$work/data" --frames 200 --quiet
"$build/facet" fit "$work/data" --out "$work/fit" --iters "$iterations" --snapshot-every 500 --quiet
grep -E '"(rays_per_second|seconds|final_train_psnr)"' "$work/fit/fit.json"
printf 'iteration\tseconds\ttest_psnr\n'
tail -n +2 "$work/fit/snapshots/times.tsv" | while IFS=$'\t' read -r step seconds; do
    snap=$(printf '%s/fit/snapshots/model-%06d.safetensors' "$work" "$step")
    printf '{"version": 1, "background": [1, 1, 1], "nodes": [{"type": "livescene", "weights": "%s"}]}' \
        "$snap" > "$work/snap.json"
    "$build/facet" eval "$work/snap.json" --data "$work/data" --shard 0/5 --out "$work/eval-$step" --quiet
    psnr=$(grep -m1 '"psnr":' "$work/eval-$step/metrics.json" | tr -dc '0-9.')
    printf '%s\t%s\t%s\n' "$step" "$seconds" "$psnr"
done
