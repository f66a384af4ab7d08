#!/usr/bin/env bash
# Seeds each harness's corpus from the committed fixtures: BUILD/corpus/<target>/ gets the fixture
# files that harness parses, the hand-made seeds of tests/fuzz/seeds/<target>/, and generated ones
# (the EXR flavours from fuzz_make_exr_seeds, token shards and manifests, text snippets). Files are
# named by content hash, so re-running adds nothing twice; what a campaign added stays.
#   tests/fuzz/seed.sh [BUILD]        (BUILD defaults to build-fuzz)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build-fuzz}
case "$build" in /*) ;; *) build="$src/$build" ;; esac
corpus="$build/corpus"
fx="$src/tests/fixtures"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# add TARGET FILE...: copy into the corpus under the content's sha1
add() {
    local target=$1 f
    shift
    mkdir -p "$corpus/$target"
    for f in "$@"; do
        [ -f "$f" ] || continue
        cp "$f" "$corpus/$target/$(sha1sum "$f" | cut -c1-40)"
    done
}

for dir in "$src"/tests/fuzz/seeds/*/; do
    add "$(basename "$dir")" "$dir"*
done

add safetensors "$fx"/safetensors/*.safetensors "$fx"/livescene/small.safetensors \
    "$fx"/language/encoders.safetensors "$fx"/livescene/fixtures.safetensors
add npy "$fx"/npy/*.npy "$fx"/livescene/dataset/masks/00001.npy "$fx"/tokenize/normalize.npy \
    "$fx"/blender/cabinet/masks/00001.npy
add image "$fx"/images/flat.jpg "$fx"/images/gradient16.png "$fx"/images/radiance.hdr \
    "$fx"/metrics/*.png "$fx"/livescene/dataset/images/frame_00001.png \
    "$fx"/envmap_blender/view_0.exr
for f in "$fx"/tokenize/inputs/*; do # the small ones: every format and failure kind
    [ "$(stat -c %s "$f")" -le 20000 ] && add image "$f"
done

# EXR flavours (every compression, tiled, multi-part, luminance/chroma): generated, deterministic
"$build/tests/fuzz/fuzz_make_exr_seeds" "$stage"
add exr "$stage"/*.exr "$fx"/envmap_blender/view_0.exr
add image "$stage"/rgb_half_zip.exr "$stage"/rgb_half_dwab.exr
# a TGA and a BMP with a palette, which no fixture has
python3 - "$stage" <<'PY'
import struct, sys
out = sys.argv[1]
w, h = 5, 3
px = bytes((x * 40 + y * 7 + c * 13) % 256 for y in range(h) for x in range(w) for c in range(3))
open(f"{out}/rgb.tga", "wb").write(struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, w, h, 24, 0) + px)
rle = bytes([0x82, 10, 20, 30, 0x01, 1, 2, 3, 4, 5, 6]) * 3  # run of 3, raw of 2, per row
open(f"{out}/rle.tga", "wb").write(struct.pack("<BBBHHBHHHHBB", 0, 0, 10, 0, 0, 0, 0, 0, w, h, 24, 0) + rle)
pal = b"".join(bytes((i * 60 % 256, i * 90 % 256, i * 30 % 256, 0)) for i in range(4))
rows = b"".join(bytes([(x + y) % 4 for x in range(w)]) + b"\0\0\0" for y in range(h))
off = 14 + 40 + len(pal)
bmp = (b"BM" + struct.pack("<IHHI", off + len(rows), 0, 0, off) +
       struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 0, len(rows), 2835, 2835, 4, 4) + pal + rows)
open(f"{out}/palette.bmp", "wb").write(bmp)
PY
add image "$stage"/rgb.tga "$stage"/rle.tga "$stage"/palette.bmp

# scenes: the fixtures' and the assets', their file names mapped to the copies fuzz_scene makes
for f in "$fx"/livescene/scene.json "$fx"/language/scene.json "$fx"/language/scene_livescene.json \
    "$src"/assets/*/scene.json; do
    sed -e 's|\.\./livescene/||g' -e 's|\.\./demo/||g' "$f" >"$stage/scene.json"
    add scene "$stage/scene.json"
done

# transforms: every dataset fixture's, cut to the frames whose images fuzz_transforms provides
python3 - "$stage" "$fx" "$src" <<'PY'
import json, sys
out, fx, src = sys.argv[1:4]
files = [f"{fx}/livescene/dataset/transforms.json", f"{fx}/blender/cabinet/transforms.json",
         f"{fx}/envmap_blender/transforms.json", f"{src}/assets/demo/data/transforms_test.json",
         f"{src}/assets/demo/data/transforms_train.json"]
for i, name in enumerate(files):
    doc = json.load(open(name))
    doc["frames"] = doc["frames"][:6 if "livescene" in name or "cabinet" in name else 1]
    json.dump(doc, open(f"{out}/transforms_{i}.json", "w"), indent=1)
# the nerfstudio flavour: per-frame intrinsics, explicit split lists, a camera model
doc = json.load(open(files[0]))
doc.update({"camera_model": "OPENCV", "fl_x": 50.0, "fl_y": 51.0, "cx": 16.0, "cy": 12.0,
            "w": 32, "h": 24, "k1": 0.0, "p1": 0.0,
            "train_filenames": [f["file_path"] for f in doc["frames"][:4]],
            "test_filenames": [f["file_path"] for f in doc["frames"][4:]]})
doc["frames"][0].update({"fl_x": 40.0, "w": 32, "h": 24})
json.dump(doc, open(f"{out}/transforms_ns.json", "w"))
PY
add transforms "$stage"/transforms_*.json

# LiveScene YAML pairs: mapping.yaml NUL key_frame_value.yaml, and a mapping alone
for d in "$fx"/livescene/dataset "$fx"/blender/cabinet; do
    { cat "$d/mapping.yaml"; printf '\0'; head -c 3000 "$d/key_frame_value.yaml"; } >"$stage/pair.yaml"
    add yaml "$stage/pair.yaml"
done
add yaml "$fx"/livescene/mapping.yaml

# token folders: manifest.json NUL shard-00000.safetensors, as facet tokenize writes them (2x2 grid)
python3 - "$stage" <<'PY'
import json, struct, sys
out = sys.argv[1]
def shard(branches, n, paths):
    tensors, data = {}, b""
    for b in branches:
        raw = struct.pack(f"<{n * 4}H", *[(i * 37 + len(b)) % 16384 for i in range(n * 4)])
        tensors[b] = {"dtype": "U16", "shape": [n, 2, 2], "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    for name, dtype, size in (("index", "I64", 8), ("class", "I32", 4)):
        raw = struct.pack("<" + ("q" if size == 8 else "i") * n, *range(n))
        tensors[name] = {"dtype": dtype, "shape": [n], "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    meta = {"format": "facet-tokens", "version": "1", "paths": json.dumps(paths),
            "failed": "[]", "model_sha256": "0" * 64}
    header = json.dumps({"__metadata__": meta, **tensors}, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + data
def manifest(branches, n):
    return json.dumps({"format": "facet-tokens", "version": 1, "branches": branches, "grid": 2,
                       "model": {"file": "m.safetensors", "sha256": "0" * 64, "variant": "dual"},
                       "shards": [{"file": "shard-00000.safetensors", "count": n, "sha256": "0" * 64}],
                       "failed": []}).encode()
cases = [(["vis", "sem"], 3, ["a/x.jpg", "b/y.png", "z.JPEG"]),
         (["vis", "sem_mid", "sem_high"], 2, ["cls/img_1.jpg", "cls/img_2.jpg"])]
for i, (branches, n, paths) in enumerate(cases):
    open(f"{out}/tokens_{i}.bin", "wb").write(manifest(branches, n) + b"\0" + shard(branches, n, paths))
open(f"{out}/tokens_manifest_only.bin", "wb").write(manifest(["vis", "sem"], 3))
PY
add token_shards "$stage"/tokens_*.bin

# WebDataset tars (fuzz_wds_tar): plain and gzip, classes, several images per sample, links and
# folders, a metadata member, a pax long name, a truncated one
python3 - "$stage" "$fx/tokenize/inputs" <<'PY'
import io, os, sys, tarfile
out, inputs = sys.argv[1:3]
jpg = open(f"{inputs}/jpeg444_300x300.jpg", "rb").read()[:3000]
png = open(f"{inputs}/png_tiny_7x5.png", "rb").read()
def member(t, name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, len(data) if kind == tarfile.REGTYPE else 0
    t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
def build(name, mode, fmt, members):
    with tarfile.open(f"{out}/{name}", mode, format=fmt) as t:
        for m in members:
            member(t, *m)
base = [("n01/a.jpg", jpg), ("n01/a.cls", b"3\n"), ("n01/b.png", png), ("n01/b.jpg", jpg[:500]),
        ("n01/b.cls", b" 12 "), ("c.txt", b"caption")]
build("plain.tar", "w", tarfile.USTAR_FORMAT, base)
build("gzip.tar", "w:gz", tarfile.GNU_FORMAT, base)
build("odd.tar", "w", tarfile.PAX_FORMAT,
      [("dir", b"", tarfile.DIRTYPE), ("s.jpg", b"", tarfile.SYMTYPE, "/etc/passwd"),
       ("h.jpg", b"", tarfile.LNKTYPE, "n01/a.jpg"), ("__meta__/x.json", b"{}"),
       ("x" * 150 + "/long.jpg", png), ("../up.jpg", png), ("d/.hidden.png", png),
       ("a.jpg", png), ("a.jpg", png), ("q.webp", b"RIFF\x10\0\0\0WEBPVP8 ")])
data = open(f"{out}/plain.tar", "rb").read()
open(f"{out}/cut.tar", "wb").write(data[:2600])
PY
add wds_tar "$stage"/plain.tar "$stage"/gzip.tar "$stage"/odd.tar "$stage"/cut.tar

# text: the language fixtures' strings and commands, and the --set assignments
python3 - "$stage" "$fx" <<'PY'
import json, os, sys
out, fx = sys.argv[1:3]
texts = set(json.load(open(f"{fx}/language/tokenizers.json"))["strings"])
for line in open(f"{fx}/language/commands.tsv", encoding="utf-8"):
    if line.strip() and not line.startswith("#"):
        texts.add(line.split("\t")[0])
for p in json.load(open(f"{fx}/language/livescene_prompts.json")):
    texts.add(p["prompt"])
os.makedirs(f"{out}/text", exist_ok=True)
for i, t in enumerate(sorted(texts)):
    open(f"{out}/text/{i:04d}.txt", "w", encoding="utf-8").write(t)
PY
add clip_bpe "$stage"/text/*
add wordpiece "$stage"/text/*
add command "$stage"/text/*

# a slice of MiniLM's vocab.txt (when scripts/setup.sh has fetched it)
if [ -f "$src/models/minilm.safetensors" ]; then
    python3 - "$src/models/minilm.safetensors" "$stage/vocab.txt" <<'PY'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    begin, end = header["tokenizer.vocab"]["data_offsets"]
    f.seek(8 + n + begin)
    lines = f.read(end - begin).decode("utf-8").split("\n")
keep = lines[:120] + lines[1000:1400:4] + [l for l in lines if l.startswith("##")][:100]
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(keep) + "\n")
PY
    add wordpiece_vocab "$stage/vocab.txt"
fi

for d in "$corpus"/*/; do
    printf '%s: %s seeds\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"
done
