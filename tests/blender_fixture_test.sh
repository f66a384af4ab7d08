#!/usr/bin/env bash
# The committed Blender fixture (tests/fixtures/blender/cabinet) is what its generator renders:
# re-renders the first 4 frames with tools/reference/make_livescene_blender.py and compares
# cameras, key-frame values and mapping (exactly, to 1e-6), masks (byte for byte) and images
# (PSNR >= 40 dB: Cycles is deterministic for a seed on one machine; other CPUs may round
# differently). Without blender (FACET_SETUP_REFERENCE=1 scripts/setup.sh installs it) the test
# reports skipped (exit 77).
#
#   tests/blender_fixture_test.sh FACET SOURCE_DIR WORK_DIR
set -euo pipefail
facet=$1
source_dir=$2
work=$3
if ! command -v blender >/dev/null; then
    echo "skipped: blender is not installed"
    exit 77
fi
fixture="$source_dir/tests/fixtures/blender/cabinet"
rm -rf "$work"
mkdir -p "$work"
blender -b --factory-startup --python-exit-code 1 \
    -P "$source_dir/tools/reference/make_livescene_blender.py" -- cabinet "$work/cabinet" \
    --frames 4 --size 128 --samples 64 >"$work/blender.log" 2>&1 || {
    tail -20 "$work/blender.log" >&2
    echo "FAIL: blender exited non-zero" >&2
    exit 1
}
/usr/bin/python3 - "$fixture" "$work/cabinet" <<'PY'
import json, sys
ref, new = sys.argv[1], sys.argv[2]
a = json.load(open(ref + "/transforms.json"))
b = json.load(open(new + "/transforms.json"))
assert abs(a["camera_angle_x"] - b["camera_angle_x"]) < 1e-9, "camera_angle_x differs"
assert len(b["frames"]) == 4
for fa, fb in zip(a["frames"][:4], b["frames"]):
    assert fa["file_path"] == fb["file_path"], (fa["file_path"], fb["file_path"])
    for ra, rb in zip(fa["transform_matrix"], fb["transform_matrix"]):
        for x, y in zip(ra, rb):
            assert abs(x - y) <= 1e-6, "%s: transform_matrix differs: %r vs %r" % (fa["file_path"], x, y)
assert open(ref + "/mapping.yaml").read() == open(new + "/mapping.yaml").read(), "mapping.yaml differs"
ka = open(ref + "/key_frame_value.yaml").read().splitlines()
kb = open(new + "/key_frame_value.yaml").read().splitlines()
assert ka[: len(kb)] == kb, "key_frame_value.yaml differs in its first frames"
print("cameras, mapping and key-frame values agree")
PY
for i in 1 2 3 4; do
    id=$(printf '%05d' "$i")
    cmp "$fixture/masks/$id.npy" "$work/cabinet/masks/$id.npy" ||
        { echo "FAIL: masks/$id.npy differs" >&2; exit 1; }
    "$facet" metrics "$work/cabinet/images/frame_$id.png" "$fixture/images/frame_$id.png" \
        >"$work/metrics_$id.json"
    if grep -q '"identical":[[:space:]]*true' "$work/metrics_$id.json"; then
        echo "frame_$id: identical to the fixture"
        continue
    fi
    psnr=$(grep -m1 '"psnr"' "$work/metrics_$id.json" | tr -dc '0-9.')
    echo "frame_$id: PSNR $psnr dB against the fixture"
    awk -v p="$psnr" 'BEGIN { exit !(p >= 40) }' ||
        { echo "FAIL: frame_$id.png differs from the fixture ($psnr dB)" >&2; exit 1; }
done
echo "ok"
