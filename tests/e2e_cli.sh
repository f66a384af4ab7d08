#!/usr/bin/env bash
# End-to-end: drives the facet CLI on the embedded demo dataset (rendered by Blender, see
# assets/README.md) and on datasets written here. Usage: e2e_cli.sh FACET SOURCE_DIR WORK_DIR
set -u
facet=$1
src=$2
work=$3
rm -rf "$work" && mkdir -p "$work"
failures=0
pass() { printf 'ok   %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1"; failures=$((failures + 1)); }

# expect_status CODE DESCRIPTION -- COMMAND...: runs COMMAND, checks its exit status, keeps stderr
expect_status() {
    local want=$1 what=$2
    shift 3
    "$@" >"$work/stdout" 2>"$work/stderr"
    local got=$?
    if [ "$got" = "$want" ]; then pass "$what"; else
        fail "$what (exit $got, want $want)"; sed 's/^/     /' "$work/stderr"; fi
}
expect_stderr() { # FRAGMENT DESCRIPTION
    if grep -qF -- "$1" "$work/stderr"; then pass "$2"; else
        fail "$2: stderr lacks '$1'"; sed 's/^/     /' "$work/stderr"; fi
}
png_size() { # prints WIDTHxHEIGHT from a PNG's IHDR
    od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}'
}

scene="$src/assets/demo/scene.json"
data="$src/assets/demo/data"

# ---- help and usage -------------------------------------------------------------------------------
expect_status 0 "facet --help" -- "$facet" --help
for cmd in render eval metrics info fit synth tokenize detokenize control view; do
    expect_status 0 "facet $cmd --help" -- "$facet" $cmd --help
    # usage texts go out with fputs: a printf escape left in one shows up verbatim
    grep -q '%%' "$work/stdout" && fail "facet $cmd --help prints '%%'" || pass "facet $cmd --help has no '%%'"
done
expect_status 2 "unknown command is a usage error" -- "$facet" frobnicate
expect_status 2 "unknown option is a usage error" -- "$facet" render "$scene" --colour red
expect_stderr "unknown option '--colour'" "unknown option named"
expect_status 2 "bad --shard is a usage error" -- "$facet" render "$scene" --shard 3/2
expect_status 2 "--width without --height" -- "$facet" render "$scene" --width 10

# ---- info ---------------------------------------------------------------------------------------
expect_status 0 "info on the demo scene" -- "$facet" info "$scene"
grep -q "convention blender" "$work/stdout" && pass "info shows the environment" || fail "info shows the environment"
expect_status 0 "info on the demo dataset" -- "$facet" info "$data"
grep -Eq "test +8 frames, 160x120" "$work/stdout" && pass "info counts test frames" || fail "info counts test frames"
expect_status 1 "info on a missing file" -- "$facet" info "$work/nothing.safetensors"
expect_stderr "does not exist" "missing file named"

# ---- render -------------------------------------------------------------------------------------
expect_status 0 "render the scene camera" -- "$facet" render "$scene" --out "$work/cam" --quiet
[ "$(png_size "$work/cam/camera.png")" = "320x240" ] && pass "camera.png is 320x240" || fail "camera.png size"
expect_status 0 "render the test split" -- "$facet" render "$scene" --cameras "$data" --split test --out "$work/all" --quiet
n=$(ls "$work/all"/*.png | wc -l)
[ "$n" = 8 ] && pass "8 test images named after frames" || fail "expected 8 images, got $n"
[ -f "$work/all/r_14.png" ] && pass "r_14.png present" || fail "r_14.png missing"
expect_status 0 "render shard 0/3" -- "$facet" render "$scene" --cameras "$data" --split test --shard 0/3 --out "$work/shards" --quiet
expect_status 0 "render shard 1/3" -- "$facet" render "$scene" --cameras "$data" --split test --shard 1/3 --out "$work/shards" --quiet
n0=$(ls "$work/shards"/*.png | wc -l)
expect_status 0 "render shard 2/3" -- "$facet" render "$scene" --cameras "$data" --split test --shard 2/3 --out "$work/shards" --quiet
n=$(ls "$work/shards"/*.png | wc -l)
[ "$n0" -lt 8 ] && [ "$n" = 8 ] && pass "shards are disjoint and cover the split" || fail "shards: $n0 then $n images"
same=1
for f in "$work/all"/*.png; do cmp -s "$f" "$work/shards/$(basename "$f")" || same=0; done
[ $same = 1 ] && pass "sharded images equal the unsharded ones" || fail "sharded images differ"
expect_status 0 "render at another resolution" -- "$facet" render "$scene" --cameras "$data" --split test --width 80 --height 60 --out "$work/small" --quiet
[ "$(png_size "$work/small/r_0.png")" = "80x60" ] && pass "--width/--height resize" || fail "resize: $(png_size "$work/small/r_0.png")"
expect_status 0 "render EXR" -- "$facet" render "$scene" --cameras "$data" --split test --format exr --out "$work/exr" --quiet
head -c4 "$work/exr/r_0.exr" | od -An -tx1 | grep -q "76 2f 31 01" && pass "EXR output has the EXR magic" || fail "EXR magic"
expect_status 0 "render with --env" -- "$facet" render "$scene" --env /usr/share/blender/datafiles/studiolights/world/night.exr --out "$work/night" --quiet
! cmp -s "$work/night/camera.png" "$work/cam/camera.png" && pass "--env changes the picture" || fail "--env had no effect"
expect_status 1 "--set on a scene without objects" -- "$facet" render "$scene" --set drawer=0.5 --out "$work/x"
expect_stderr "no object 'drawer' in the scene" "--set names the unknown object"
expect_status 1 "missing scene file" -- "$facet" render "$work/none.json"
expect_stderr "none.json" "missing scene named"
# --device cuda: renders where a GPU is usable, otherwise a clear error (exit 1), never a crash
"$facet" render "$scene" --device cuda --out "$work/cuda" --quiet 2>"$work/stderr"
code=$?
if { [ $code = 0 ] && [ -f "$work/cuda/camera.png" ]; } ||
   { [ $code = 1 ] && grep -Eq "built without CUDA|no usable CUDA device" "$work/stderr"; }; then
    pass "--device cuda renders or says why it cannot (exit $code)"; else
    fail "--device cuda (exit $code)"; sed 's/^/     /' "$work/stderr"; fi

# ---- eval ---------------------------------------------------------------------------------------
expect_status 0 "eval the demo" -- "$facet" eval "$scene" --data "$data" --out "$work/eval" --quiet
m="$work/eval/metrics.json"
for key in '"format":\s*"facet-metrics"' '"version":\s*1' '"split":\s*"test"' '"psnr_std"' '"num_rays_per_sec"' '"name":\s*"r_0"'; do
    grep -qP "$key" "$m" && pass "metrics.json has $key" || fail "metrics.json lacks $key"
done
psnr=$(grep -m1 '"psnr":' "$m" | tr -dc '0-9.')
awk -v p="$psnr" 'BEGIN{exit !(p > 30)}' && pass "demo PSNR $psnr dB > 30 against Blender" || fail "demo PSNR $psnr"
expect_status 0 "eval prints a table" -- "$facet" eval "$scene" --data "$data" --out "$work/eval2"
grep -q "^mean" "$work/stdout" && pass "summary row" || fail "summary row missing"

# supersampling: --spp 1 is the default render byte for byte whatever the filter; the demo's
# ground truth is Cycles' box filter (Blender makes it 1 px wide), so --spp 16 with the box
# filter scores far above one ray per pixel centre; metrics.json records the filter
expect_status 0 "render --spp 1 --pixel-filter gaussian" -- "$facet" render "$scene" --out "$work/spp1" \
    --spp 1 --pixel-filter gaussian --filter-width 2 --format exr --quiet
expect_status 0 "render (default) as EXR" -- "$facet" render "$scene" --out "$work/spp0" --format exr --quiet
cmp -s "$work/spp0/camera.exr" "$work/spp1/camera.exr" && pass "--spp 1 is bit-identical to the default" ||
    fail "--spp 1 differs from the default render"
expect_status 0 "eval --spp 16 --pixel-filter box" -- "$facet" eval "$scene" --data "$data" --out "$work/eval_box" \
    --spp 16 --pixel-filter box --quiet
grep -qP '"spp":\s*16' "$work/eval_box/metrics.json" && grep -qP '"type":\s*"box"' "$work/eval_box/metrics.json" &&
    pass "metrics.json records the pixel filter" || fail "metrics.json lacks protocol.pixel_filter"
boxed=$(grep -m1 '"psnr":' "$work/eval_box/metrics.json" | tr -dc '0-9.')
awk -v p="$boxed" -v c="$psnr" 'BEGIN{exit !(p > c + 8)}' && pass "box 16 spp $boxed dB vs 1 spp $psnr dB against Cycles' box filter" ||
    fail "box 16 spp $boxed dB, 1 spp $psnr dB"
expect_status 2 "--spp 0 is a usage error" -- "$facet" render "$scene" --spp 0
expect_status 2 "unknown --pixel-filter" -- "$facet" eval "$scene" --data "$data" --pixel-filter tent
expect_stderr "box, gaussian or blackman-harris" "the filters are listed"
expect_status 2 "--filter-width 0" -- "$facet" view "$scene" --filter-width 0

# a dataset whose image is missing: eval fails naming it, and the earlier metrics.json survives
mkdir -p "$work/broken/test"
cp "$data/test/r_0.png" "$work/broken/test/r_0.png"
sed 's#"\./test/r_2"#"./test/missing"#' "$data/transforms_test.json" > "$work/broken/transforms_test.json"
cp "$m" "$work/eval/metrics.before"
expect_status 1 "eval with a missing image" -- "$facet" eval "$scene" --data "$work/broken" --out "$work/eval" --quiet
expect_stderr "missing" "missing image named"
cmp -s "$m" "$work/eval/metrics.before" && pass "previous metrics.json untouched" || fail "metrics.json was overwritten"
ls "$work/eval" | grep -q tmp && fail "temporary files left behind" || pass "no temporary files left"

# transforms.json without camera intrinsics
printf '{"frames": [{"file_path": "a", "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}' > "$work/noint.json"
expect_status 1 "transforms without intrinsics" -- "$facet" render "$scene" --cameras "$work/noint.json" --out "$work/y"
expect_stderr "noint.json" "transforms error names the file"

# frame names come from the dataset's file names: data, never paths (core/safe_name.h)
mkdir -p "$work/collide/test" "$work/collide/other"
cp "$data"/test/*.png "$work/collide/test/" && cp "$data/test/r_0.png" "$work/collide/other/r_0.png"
sed 's#"\./test/r_2"#"./other/r_0"#' "$data/transforms_test.json" > "$work/collide/transforms_test.json"
expect_status 1 "two frames with one file name" -- "$facet" render "$scene" --cameras "$work/collide" --split test --out "$work/collide_out" --quiet
expect_stderr "would both be written as 'r_0'" "the collision is named"
[ -z "$(find "$work/collide_out" -name '*.png' 2>/dev/null)" ] && pass "nothing rendered before the collision was found" || fail "renders were written"
cp "$data/test/r_0.png" "$work/collide/test/$(printf 'r\033[2J').png"
sed 's#"\./test/r_2"#"./test/r\\u001b[2J"#' "$data/transforms_test.json" > "$work/collide/transforms_test.json"
expect_status 1 "a file name with a control character" -- "$facet" render "$scene" --cameras "$work/collide" --split test --out "$work/collide_out" --quiet
expect_stderr "unsafe name 'r\x1b[2J': has a control character" "the name is escaped in the message"

# an allocation that fails is an error with a message, not a crash (the sanitizer build reserves
# terabytes of address space, so ulimit -v only applies to the plain build)
if ! ldd "$facet" | grep -q libasan; then
    expect_status 1 "a render larger than memory" -- bash -c "ulimit -v 2000000; exec '$facet' render '$scene' --width 16384 --height 16384 --out '$work/oom' --quiet"
    expect_stderr "out of memory" "out of memory is reported"
    [ -z "$(find "$work/oom" -type f 2>/dev/null)" ] && pass "nothing written when out of memory" || fail "files written when out of memory"
fi

# ---- LiveScene: a converted reference checkpoint on its LiveScene-format dataset ---------------
# Ground truth was rendered by the PyTorch reference (tools/reference/livescene_ref.py) with each
# frame's kappa, in the dataset's original frame: only 8-bit rounding separates facet from it.
ls="$src/tests/fixtures/livescene"
expect_status 0 "eval the LiveScene fixture dataset" -- "$facet" eval "$ls/scene.json" --data "$ls/dataset" --out "$work/ls_eval" --quiet
psnr=$(grep -m1 '"psnr":' "$work/ls_eval/metrics.json" | tr -dc '0-9.')
awk -v p="$psnr" 'BEGIN{exit !(p > 50)}' && pass "LiveScene eval PSNR $psnr dB > 50 against the reference" || fail "LiveScene PSNR $psnr"
grep -qP '"kappa":\s*\{' "$work/ls_eval/metrics.json" && pass "per-image kappa recorded" || fail "per-image kappa missing"
expect_status 0 "render LiveScene with masks" -- "$facet" render "$ls/scene.json" --cameras "$ls/dataset" --split test --masks --out "$work/ls_masks" --quiet
for f in frame_00001.png frame_00001_mask_drawer.png frame_00001_mask_door.png frame_00001_mask_background.png; do
    [ -f "$work/ls_masks/$f" ] && pass "wrote $f" || fail "missing $f"
done
expect_status 0 "render with --set" -- "$facet" render "$ls/scene.json" --cameras "$ls/dataset" --split test --set drawer=1 --set door=0 --out "$work/ls_set" --quiet
! cmp -s "$work/ls_set/frame_00001.png" "$work/ls_masks/frame_00001.png" && pass "--set changes the LiveScene render" || fail "--set had no effect"
expect_status 1 "--set on an unknown object" -- "$facet" render "$ls/scene.json" --set sofa=1 --out "$work/x"
expect_stderr "no object 'sofa' in the scene (objects: drawer, door)" "unknown object lists the model's objects"
expect_status 0 "info on LiveScene weights" -- "$facet" info "$ls/small.safetensors"
grep -q "facet-livescene" "$work/stdout" && pass "info shows the weights format" || fail "info on weights"

# non-finite weights: named by info --check, and a warning (not silence) when rendering
expect_status 0 "info --check on finite weights" -- "$facet" info --check "$ls/small.safetensors"
grep -q "every value of every floating-point tensor is finite" "$work/stdout" && pass "info --check says all finite" || fail "info --check on finite weights"
mkdir -p "$work/nan"
/usr/bin/python3 - "$ls/small.safetensors" "$work/nan/small.safetensors" <<'PY' && pass "a copy of the weights with NaN and Inf" || fail "could not patch the weights"
import json, struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
name = sorted(k for k, v in header.items() if k != "__metadata__" and v["dtype"] == "F32")[0]
begin = 8 + n + header[name]["data_offsets"][0]
data[begin:begin + 12] = struct.pack("<3f", float("nan"), float("inf"), float("nan"))
open(sys.argv[2], "wb").write(data)
open(sys.argv[2] + ".name", "w").write(name)
PY
bad_tensor=$(cat "$work/nan/small.safetensors.name")
cp "$ls/scene.json" "$work/nan/scene.json"
expect_status 1 "info --check on weights holding NaN" -- "$facet" info --check "$work/nan/small.safetensors"
grep -q "^  $bad_tensor .*NON-FINITE: 2 NaN, 1 Inf, first at flat index 0" "$work/stdout" && pass "info --check names the tensor and counts" || fail "info --check output: $(grep NON-FINITE "$work/stdout")"
expect_stderr "1 tensor holds NaN or Inf values" "info --check fails naming the count"
expect_status 0 "render with NaN weights still runs" -- "$facet" render "$work/nan/scene.json" --cameras "$ls/dataset" --split test --width 8 --height 8 --out "$work/nan/out" --quiet
expect_stderr "facet: warning: '$work/nan/small.safetensors': 1 tensor holds NaN or Inf values" "render warns naming the weights"
expect_stderr "$bad_tensor (2 NaN, 1 Inf)" "the warning names the tensor"
expect_status 2 "info --check on a scene is a usage error" -- "$facet" info --check "$ls/scene.json"

# ---- synth + fit: the generated cabinet scene, fitted for a few iterations -------------------
expect_status 0 "synth writes a LiveScene dataset" -- "$facet" synth "$work/cab" --frames 6 --width 20 --height 20 --samples 1 --quiet
for f in transforms.json mapping.yaml key_frame_value.yaml facet.json images/frame_00001.png masks/00001.npy; do
    [ -f "$work/cab/$f" ] && pass "synth wrote $f" || fail "synth did not write $f"
done
expect_status 0 "fit 4 iterations" -- "$facet" fit "$work/cab" --out "$work/cabfit" --config tiny --iters 4 --batch 64 --quiet
for f in model.safetensors scene.json fit.json checkpoint.safetensors; do
    [ -f "$work/cabfit/$f" ] && pass "fit wrote $f" || fail "fit did not write $f"
done
expect_status 0 "eval the fitted scene" -- "$facet" eval "$work/cabfit/scene.json" --data "$work/cab" --out "$work/cabeval" --quiet
grep -qP '"kappa":\s*\{' "$work/cabeval/metrics.json" && pass "fitted eval uses ground-truth kappa" || fail "fitted eval kappa"
expect_status 0 "fit --for stops early" -- "$facet" fit "$work/cab" --out "$work/cabfor" --config tiny --iters 4 --batch 64 --for 2 --quiet
[ ! -f "$work/cabfor/model.safetensors" ] && [ -f "$work/cabfor/checkpoint.safetensors" ] && pass "--for leaves a checkpoint, no outputs" || fail "--for outputs"
expect_status 0 "fit resumes after --for" -- "$facet" fit "$work/cab" --out "$work/cabfor" --config tiny --iters 4 --batch 64
expect_stderr "resumed at iteration 2" "resume is reported"
cmp -s "$work/cabfor/model.safetensors" "$work/cabfit/model.safetensors" && pass "resumed fit equals the straight fit" || fail "resumed fit differs"
expect_status 2 "fit with an unknown loss switch" -- "$facet" fit "$work/cab" --out "$work/x" --no-colour
expect_stderr "unknown loss 'colour'" "unknown loss named"
expect_status 1 "fit on a missing dataset" -- "$facet" fit "$work/none" --out "$work/x"
expect_stderr "$work/none" "missing dataset named"
expect_status 0 "fit with fp16 networks" -- "$facet" fit "$work/cab" --out "$work/cabf16" --config tiny --iters 3 --batch 32 --mlp-dtype f16
expect_stderr "fp16 networks, loss scale 65536" "fp16 fit reports its loss scale"
grep -q '"mlp_dtype":[[:space:]]*"f16"' "$work/cabf16/scene.json" && pass "fp16 fit's scene renders fp16 networks" || fail "fp16 scene.json"
expect_status 0 "render the fp16 fit" -- "$facet" render "$work/cabf16/scene.json" --cameras "$work/cab" --split test --out "$work/cabf16r" --quiet
expect_status 2 "fit with an unknown network precision" -- "$facet" fit "$work/cab" --out "$work/x" --mlp-dtype f8
expect_stderr "--mlp-dtype must be f32 or f16" "unknown precision named"
expect_status 2 "fit with a loss scale that is not a power of two" -- "$facet" fit "$work/cab" --out "$work/x" --mlp-dtype f16 --loss-scale 100
expect_stderr "power of two" "bad loss scale named"
[ ! -e "$work/x" ] && pass "refused fits write nothing" || fail "a refused fit wrote $work/x"

# ---- tokenize / detokenize: FQGAN tokens of an image folder ------------------------------------
# A small official-format FQGAN checkpoint (tools/reference/fqgan_ref.py hash weights, 64x64
# images, 4x4 grid) converted by tools/convert_fqgan.py: needs torch, skipped without it.
expect_status 0 "facet tokenize --help" -- "$facet" tokenize --help
expect_status 0 "facet detokenize --help" -- "$facet" detokenize --help
expect_status 2 "tokenize --shard 2/2 is a usage error" -- "$facet" tokenize m i --out o --shard 2/2
expect_status 2 "detokenize --precision tf32 on the CPU is a usage error" -- "$facet" detokenize m t --out o --precision tf32
expect_stderr "CUDA's tensor-core mode" "the tf32 error says it is CUDA's"
expect_status 2 "tokenize --precision fp8 is a usage error" -- "$facet" tokenize m i --out o --precision fp8
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    tok="$work/tok"
    fx="$src/tests/fixtures/tokenize/inputs"
    mkdir -p "$tok/images/cat" "$tok/images/dog"
    cp "$fx/jpeg444_300x300.jpg" "$tok/images/cat/a.jpg"
    cp "$fx/png_rgba_300x290.png" "$tok/images/cat/b.png"
    cp "$fx/jpeg_cmyk_320x260.jpg" "$tok/images/dog/c.JPEG"
    cp "$fx/png_gray16_280x300.png" "$tok/images/dog/d.png"
    cp "$fx/bad_truncated.jpg" "$tok/images/dog/e.jpg"
    export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
    expect_status 0 "official-format FQGAN checkpoint" -- /usr/bin/python3 "$src/tools/reference/fqgan_ref.py" checkpoint --config small-dual16 "$tok/model.pt"
    expect_status 0 "convert_fqgan.py" -- /usr/bin/python3 "$src/tools/convert_fqgan.py" "$tok/model.pt" "$tok/model.safetensors"
    expect_status 0 "tokenize an image folder with --eval" -- "$facet" tokenize "$tok/model.safetensors" "$tok/images" --out "$tok/tokens" --shard-size 2 --eval --quiet
    grep -Eq '"complete":[[:space:]]*true' "$tok/tokens/manifest.json" && pass "manifest complete" || fail "manifest incomplete"
    n=$(ls "$tok/tokens"/shard-*.safetensors | wc -l)
    [ "$n" = 3 ] && pass "5 images in 3 shards of 2" || fail "expected 3 shards, got $n"
    grep -q '"path":[[:space:]]*"dog/e.jpg"' "$tok/tokens/manifest.json" && grep -q "truncated JPEG" "$tok/tokens/manifest.json" && pass "truncated image listed in failed" || fail "failed list"
    grep -q "PSNR" "$work/stdout" && [ -f "$tok/tokens/eval.json" ] && pass "--eval prints and writes eval.json" || fail "--eval output"
    expect_status 0 "tokenize again resumes" -- "$facet" tokenize "$tok/model.safetensors" "$tok/images" --out "$tok/tokens" --shard-size 2 --quiet
    grep -q "0 shards written, 3 already complete" "$work/stdout" && pass "nothing redone" || fail "resume: $(head -1 "$work/stdout")"
    expect_status 0 "tokenize --shard 1/2" -- "$facet" tokenize "$tok/model.safetensors" "$tok/images" --out "$tok/sharded" --shard-size 2 --shard 1/2 --quiet
    expect_status 0 "tokenize --shard 0/2" -- "$facet" tokenize "$tok/model.safetensors" "$tok/images" --out "$tok/sharded" --shard-size 2 --shard 0/2 --quiet
    same=1
    for f in "$tok/tokens"/shard-*.safetensors; do cmp -s "$f" "$tok/sharded/$(basename "$f")" || same=0; done
    [ $same = 1 ] && pass "--shard 0/2 + 1/2 equal one run" || fail "--shard outputs differ"
    if command -v mpirun >/dev/null 2>&1; then
        expect_status 0 "mpirun -np 2 facet tokenize" -- env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ASAN_OPTIONS=detect_leaks=0 mpirun -np 2 --oversubscribe -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS -x ASAN_OPTIONS "$facet" tokenize "$tok/model.safetensors" "$tok/images" --out "$tok/mpi" --shard-size 2 --quiet
        cmp -s "$tok/tokens/manifest.json" "$tok/mpi/manifest.json" && pass "MPI ranks write the same manifest" || fail "MPI manifest differs"
    else
        pass "mpirun not installed: MPI check skipped"
    fi
    expect_status 0 "detokenize the tokens" -- "$facet" detokenize "$tok/model.safetensors" "$tok/tokens" --out "$tok/decoded" --quiet
    for f in cat/a.png cat/b.png dog/c.png dog/d.png; do
        [ "$(png_size "$tok/decoded/$f" 2>/dev/null)" = "64x64" ] && pass "detokenized $f (64x64)" || fail "detokenized $f"
    done
    [ ! -e "$tok/decoded/dog/e.png" ] && pass "failed image not decoded" || fail "dog/e.png should not exist"
    # --precision bf16 on the CPU: the same images within bf16's error where the CPU has AVX-512
    # BF16, else refused with a clear error and nothing written
    if grep -qw avx512_bf16 /proc/cpuinfo; then
        expect_status 0 "detokenize --precision bf16" -- "$facet" detokenize "$tok/model.safetensors" "$tok/tokens" --out "$tok/decoded_bf16" --precision bf16 --quiet
        psnr=$(/usr/bin/python3 - "$tok/decoded/cat/a.png" "$tok/decoded_bf16/cat/a.png" <<'PY'
import sys, numpy as np
from PIL import Image
a, b = (np.asarray(Image.open(p), dtype=np.float64) for p in sys.argv[1:3])
mse = ((a - b) ** 2).mean()
print(99 if mse == 0 else int(10 * np.log10(255 ** 2 / mse)))
PY
)
        [ "$psnr" -ge 30 ] && [ "$psnr" -lt 99 ] && pass "bf16 decode within 30 dB of fp32 and not identical ($psnr dB)" || fail "bf16 decode PSNR $psnr dB"
    else
        expect_status 1 "detokenize --precision bf16 without AVX-512 BF16 fails" -- "$facet" detokenize "$tok/model.safetensors" "$tok/tokens" --out "$tok/decoded_bf16" --precision bf16 --quiet
        [ ! -e "$tok/decoded_bf16" ] && pass "nothing written" || fail "decoded_bf16 written"
    fi
    # WebDataset shards of the same images (Python's tarfile; the second one gzip), by brace
    # pattern and by list file: the same tokens as the folder, rFID batches numpy reads
    /usr/bin/python3 - "$tok/images" "$tok/wds" <<'PY'
import os, sys, tarfile
images, out = sys.argv[1:3]
os.makedirs(out, exist_ok=True)
files = sorted(os.path.join(d, f)[len(images) + 1:] for d, _, fs in os.walk(images) for f in fs)
for part, mode in ((0, "w"), (1, "w:gz")):
    name = f"{out}/shard-{part:06d}.tar" + (".gz" if part else "")
    with tarfile.open(name, mode) as t:
        for rel in files[3 * part:3 * part + 3]:
            t.add(f"{images}/{rel}", rel)
            cls = f"{out}/{part}.cls"
            open(cls, "w").write("0" if rel.startswith("cat/") else "1")
            t.add(cls, rel.rsplit(".", 1)[0] + ".cls")
PY
    printf 'shard-000000.tar\nshard-000001.tar.gz\n' >"$tok/wds/shards.txt"
    expect_status 0 "tokenize tar shards (list file) with --save-inputs-npz" -- "$facet" tokenize "$tok/model.safetensors" "$tok/wds/shards.txt" --out "$tok/wds_tokens" --shard-size 2 --save-inputs-npz "$tok/ref.npz"
    grep -q "bottleneck:" "$work/stdout" && pass "summary names the bottleneck stage" || fail "no bottleneck in: $(cat "$work/stdout")"
    grep -q '"path":[[:space:]]*"shard-000001.tar.gz#dog/e"' "$tok/wds_tokens/manifest.json" && pass "corrupt tar member listed in failed" || fail "tar failed list"
    same=$(/usr/bin/python3 - "$tok/tokens" "$tok/wds_tokens" <<'PY'
import json, struct, sys
def tensors(path):
    b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items() if k != "__metadata__"}
print(all(tensors(f"{sys.argv[1]}/shard-{s:05d}.safetensors") == tensors(f"{sys.argv[2]}/shard-{s:05d}.safetensors") for s in range(3)))
PY
)
    [ "$same" = True ] && pass "tar shards give the folder's tokens, indices and classes" || fail "tar tokens differ from the folder's"
    expect_status 0 "tokenize tar shards by brace pattern (gzip member of the pattern excluded)" -- "$facet" tokenize "$tok/model.safetensors" "$tok/wds/shard-{000000..000000}.tar" --out "$tok/wds_brace" --quiet
    expect_status 0 "detokenize --npz" -- "$facet" detokenize "$tok/model.safetensors" "$tok/wds_tokens" --npz "$tok/rec.npz" --quiet
    shapes=$(/usr/bin/python3 -c "import numpy, sys; print(*[numpy.load(f)['arr_0'].shape for f in sys.argv[1:]])" "$tok/ref.npz" "$tok/rec.npz" 2>&1)
    [ "$shapes" = "(4, 64, 64, 3) (4, 64, 64, 3)" ] && pass "numpy reads arr_0 of both batches" || fail "npz batches: $shapes"
    unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS
else
    pass "torch not installed: tokenize end-to-end checks skipped"
fi

# ---- facet eval --relight (the RISE-SDF protocol) ------------------------------------------------
# Ground truth: the relighting scene rendered by facet on a white background (the protocol's), lit
# by the same map. --relight composites white behind the prediction and aligns per channel by the
# median ratio, so it must match; without --relight the environment background is compared.
rl="$work/relight"
mkdir -p "$rl/data"
cat >"$rl/data/transforms_test.json" <<JSON
{"camera_angle_x": 0.6911112070083618, "w": 80, "h": 45, "frames": [{"file_path": "./test/r_0",
 "transform_matrix": [[1, 0, 0, 0], [0, 0.322462, -0.946582, -9.5], [0, 0.946582, 0.322462, 3.6], [0, 0, 0, 1]]}]}
JSON
sed -e 's|"background": "environment"|"background": [1, 1, 1]|' \
    -e "s|\.\./demo/forest.exr|$(cd "$src" && pwd)/assets/demo/forest.exr|" \
    "$src/assets/relight/scene.json" >"$rl/white.json"
"$facet" render "$rl/white.json" --cameras "$rl/data" --split test --out "$rl/data/test" --quiet
expect_status 0 "eval --relight" -- "$facet" eval "$src/assets/relight/scene.json" --data "$rl/data" \
    --split test --relight --out "$rl/eval" --quiet
grep -q '"align":\s*"median-ratio"' "$rl/eval/metrics.json" && grep -q '"color":\s*"srgb"' "$rl/eval/metrics.json" &&
    pass "--relight records the RISE-SDF protocol" || fail "--relight protocol in metrics.json"
psnr=$(grep -m1 '"psnr":' "$rl/eval/metrics.json" | tr -dc '0-9.')
awk -v p="$psnr" 'BEGIN{exit !(p > 50)}' && pass "eval --relight PSNR $psnr dB > 50 (white background)" || fail "--relight PSNR $psnr"
expect_status 0 "eval without --relight" -- "$facet" eval "$src/assets/relight/scene.json" --data "$rl/data" \
    --split test --out "$rl/eval_plain" --quiet
psnr=$(grep -m1 '"psnr":' "$rl/eval_plain/metrics.json" | tr -dc '0-9.')
[ -n "$psnr" ] && awk -v p="$psnr" 'BEGIN{exit !(p < 20)}' && pass "without --relight the environment background differs ($psnr dB)" || fail "plain PSNR $psnr"

# ---- metrics ------------------------------------------------------------------------------------
expect_status 0 "metrics between two images" -- "$facet" metrics "$work/all/r_0.png" "$data/test/r_0.png"
grep -q '"psnr"' "$work/stdout" && grep -q '"ssim"' "$work/stdout" && pass "metrics prints psnr and ssim" || fail "metrics JSON"
expect_status 1 "metrics size mismatch" -- "$facet" metrics "$work/small/r_0.png" "$data/test/r_0.png"

# ---- LPIPS options (values and weights: test_lpips, which can write weights) ---------------------
for cmd in metrics eval; do
    expect_status 0 "facet $cmd --help" -- "$facet" $cmd --help
    grep -q -- "--lpips FILE" "$work/stdout" && grep -q "FACET_LPIPS" "$work/stdout" &&
        grep -q -- "--lpips-convention nerfstudio|risesdf" "$work/stdout" &&
        pass "$cmd --help names --lpips, FACET_LPIPS and the conventions" || fail "$cmd --help lacks the LPIPS options"
done
pair=("$work/all/r_0.png" "$data/test/r_0.png")
expect_status 2 "--lpips-convention without weights" -- env -u FACET_LPIPS "$facet" metrics "${pair[@]}" --lpips-convention risesdf
expect_stderr "FACET_LPIPS" "the usage error says where weights come from"
expect_status 2 "unknown --lpips-convention" -- "$facet" metrics "${pair[@]}" --lpips "$work/x" --lpips-convention lpips
expect_status 1 "metrics --lpips with a missing file" -- "$facet" metrics "${pair[@]}" --lpips "$work/no-lpips.safetensors"
expect_stderr "no-lpips.safetensors" "the missing weights file is named"
expect_status 1 "FACET_LPIPS naming a missing file" -- env FACET_LPIPS="$work/env-lpips.safetensors" "$facet" metrics "${pair[@]}"
expect_stderr "env-lpips.safetensors" "the missing FACET_LPIPS file is named"
expect_status 0 "--no-lpips overrides FACET_LPIPS" -- env FACET_LPIPS="$work/env-lpips.safetensors" "$facet" metrics "${pair[@]}" --no-lpips
grep -q '"lpips"' "$work/stdout" && fail "no lpips key without weights" || pass "no lpips key without weights"
expect_status 1 "eval --lpips with a missing file" -- "$facet" eval "$scene" --data "$data" --out "$work/eval_lpips" --quiet --lpips "$work/no-lpips.safetensors"
expect_stderr "no-lpips.safetensors" "eval names the missing weights file"
[ -e "$work/eval_lpips/metrics.json" ] && fail "eval wrote metrics.json without its LPIPS weights" || pass "eval stops before rendering"

echo
if [ $failures -gt 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
