#!/usr/bin/env bash
# End-to-end throughput of `facet tokenize` (read, decode + preprocess, model, write, overlapped on
# threads) on generated images, from an image folder and from WebDataset tar shards of the same
# images, beside the model-only encode figure of bench_fqgan on the same weights.
#
#   bash bench/run_tokenize_pipeline.sh [BUILD_DIR]     (needs /usr/bin/python3 with torch, PIL)
#
# Environment: FQGAN_CONFIG (default dual16: random hash weights of the official Dual-16 config,
# made as bench/run_fqgan.sh makes them; small-dual16 is the 64x64 test model), BENCH_IMAGES
# (default 1000), BENCH_BATCH (default 16), BENCH_WORKERS (default: tokenize's), FACET_BENCH_DIR
# (default /tmp/facet-bench-tokenize). Images: deterministic smooth-noise JPEGs (quality 90) of
# ImageNet-like sizes (375..500 x 333..500), ten class folders; the tars are four shards holding
# the same files with .cls members. Prints the machine line and one JSON line per measurement;
# copy them with the date and this command into bench/RESULTS.md.
set -euo pipefail
build=${1:-build}
config=${FQGAN_CONFIG:-dual16}
count=${BENCH_IMAGES:-1000}
batch=${BENCH_BATCH:-16}
work=${FACET_BENCH_DIR:-/tmp/facet-bench-tokenize}
py=/usr/bin/python3
mkdir -p "$work"
weights="$work/$config.safetensors"
if [ ! -f "$weights" ]; then
    "$py" tools/reference/fqgan_ref.py checkpoint --config "$config" "$work/$config.pt"
    "$py" tools/convert_fqgan.py "$work/$config.pt" "$weights"
    rm -f "$work/$config.pt"
fi
images="$work/images-$count"
if [ ! -d "$images" ]; then
    "$py" - "$images.tmp" "$count" <<'PY'
import os, sys, numpy, PIL.Image
out, count = sys.argv[1], int(sys.argv[2])
rng = numpy.random.default_rng(0)
for i in range(count):
    w, h = int(rng.integers(375, 501)), int(rng.integers(333, 501))
    small = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=numpy.uint8)
    img = PIL.Image.fromarray(small).resize((w, h), PIL.Image.BICUBIC)
    noise = rng.integers(-12, 13, (h, w, 3))
    pixels = numpy.clip(numpy.asarray(img, dtype=numpy.int32) + noise, 0, 255).astype(numpy.uint8)
    folder = f"{out}/class_{i % 10:02d}"
    os.makedirs(folder, exist_ok=True)
    PIL.Image.fromarray(pixels).save(f"{folder}/img_{i:05d}.jpg", quality=90)
PY
    mv "$images.tmp" "$images"
fi
tars="$work/tars-$count"
if [ ! -d "$tars" ]; then
    "$py" - "$images" "$tars.tmp" <<'PY'
import io, os, sys, tarfile
images, out = sys.argv[1:3]
os.makedirs(out)
files = sorted(os.path.join(d, f)[len(images) + 1:] for d, _, fs in os.walk(images) for f in fs)
per = (len(files) + 3) // 4
for s in range(4):
    with tarfile.open(f"{out}/shard-{s:06d}.tar", "w") as t:
        for rel in files[s * per:(s + 1) * per]:
            t.add(f"{images}/{rel}", rel)
            cls = str(int(rel.split("/")[0].split("_")[1])).encode()
            info = tarfile.TarInfo(rel.rsplit(".", 1)[0] + ".cls")
            info.size = len(cls)
            t.addfile(info, io.BytesIO(cls))
PY
    mv "$tars.tmp" "$tars"
fi

echo "# $(date -u +%F) $(uname -n), $(nproc) CPU threads: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "# command: FQGAN_CONFIG=$config BENCH_IMAGES=$count BENCH_BATCH=$batch bash bench/run_tokenize_pipeline.sh $build"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench_fqgan" "$weights" --device cpu --batch "$batch" --iters 2
workers=()
[ -n "${BENCH_WORKERS:-}" ] && workers=(--workers "$BENCH_WORKERS")
for input in folder tars; do
    source="$images"
    [ $input = tars ] && source="$tars/shard-{000000..000003}.tar"
    out="$work/tokens-$input"
    rm -rf "$out"
    start=$(date +%s.%N)
    "$build/facet" tokenize "$weights" "$source" --out "$out" --batch "$batch" "${workers[@]}" \
        --quiet >"$work/$input.log"
    end=$(date +%s.%N)
    "$py" - "$input" "$count" "$start" "$end" "$work/$input.log" <<'PY'
import json, re, sys
name, count, start, end, log = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), open(sys.argv[5]).read()
stages = dict((m[0], [float(m[1]), int(m[2])]) for m in re.findall(r"([a-z+]+) ([0-9.]+) s / (\d+)", log))
print(json.dumps({"pipeline": f"facet tokenize, {name} input", "images": count,
                  "seconds": round(end - start, 2), "images_per_second": round(count / (end - start), 3),
                  "stages_thread_seconds_threads": stages,
                  "bottleneck": re.search(r"bottleneck: ([a-z+]+)", log).group(1),
                  "model_thread_waited_s": float(re.search(r"waited ([0-9.]+) s", log).group(1))}))
PY
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
