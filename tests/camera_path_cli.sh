#!/usr/bin/env bash
# End-to-end camera paths and video: `facet path` (orbit, interpolate), `facet render --path` with
# kappa keyframes to an mp4 checked by ffprobe, frame k equal to `facet render` of that camera and
# kappa, a nerfstudio (model-frame) path against the same path in the world frame, resume after
# kill -9, equirectangular output, and bad input. Usage: camera_path_cli.sh FACET SOURCE_DIR WORK
set -u
facet=$1
src=$2
work=$3
rm -rf "$work" && mkdir -p "$work"
failures=0
pass() { printf 'ok   %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1"; failures=$((failures + 1)); }
expect_status() { # CODE DESCRIPTION -- COMMAND...
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
for tool in ffmpeg ffprobe python3; do
    command -v $tool >/dev/null || { echo "skip: $tool not installed (scripts/setup.sh)"; exit 77; }
done

cabinet="$src/assets/cabinet/scene.json"
demo="$src/assets/demo/scene.json"
data="$src/assets/demo/data"

# ---- help ---------------------------------------------------------------------------------------
expect_status 0 "facet path --help" -- "$facet" path --help
grep -q "interpolate" "$work/stdout" && pass "path --help explains interpolate" || fail "path --help"
expect_status 0 "facet render --help" -- "$facet" render --help
grep -q -- "--video OUT.mp4" "$work/stdout" && pass "render --help shows --video" || fail "render --help lacks --video"

# ---- an orbit with kappa keyframes, to an mp4 ------------------------------------------------------
expect_status 0 "path orbit with kappa keyframes" -- "$facet" path orbit --center 0,0,0.4 \
    --radius 3.5 --elevation 25 --frames 16 --fps 8 --width 64 --height 48 \
    --kappa drawer=0:0,1s:1 --kappa door=0:1,15:0 --out "$work/orbit.json"
expect_status 0 "render the orbit to an mp4" -- "$facet" render "$cabinet" --path "$work/orbit.json" \
    --video "$work/orbit.mp4" --quiet
probe=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries \
    stream=codec_name,width,height,pix_fmt,r_frame_rate,nb_read_frames -of csv=p=0 "$work/orbit.mp4")
[ "$probe" = "h264,64,48,yuv420p,8/1,16" ] && pass "ffprobe: h264 64x48 yuv420p 8 fps, 16 frames" ||
    fail "ffprobe says '$probe'"
n=$(ls "$work/orbit.mp4.frames" | grep -c '^frame_[0-9]*\.png$')
[ "$n" = 16 ] && pass "16 PNG frames kept beside the video" || fail "frames: $n"
[ ! -e "$work/orbit.mp4.partial" ] && pass "no partial video left" || fail "partial video left"

# ---- frame k equals `facet render` of that camera and kappa ----------------------------------------
k=5 # between the drawer's keyframes (0 and 8): kappa 5/8 as the path computes it, in float
python3 - "$work/orbit.json" $k "$work/view.json" >"$work/sets" <<'EOF' || fail "view from path"
import json, math, struct, sys
path = json.load(open(sys.argv[1])); k = int(sys.argv[2])
e = path["camera_path"][k]; W, H = path["render_width"], path["render_height"]
focal = 0.5 * H / math.tan(0.5 * e["fov"] * math.pi / 180.0)  # render/camera_path.c, in double
m = e["camera_to_world"]
view = {"frames": [{"file_path": "view", "fl_x": focal, "fl_y": focal, "cx": W / 2, "cy": H / 2,
                    "w": W, "h": H, "transform_matrix": [m[0:4], m[4:8], m[8:12], m[12:16]]}]}
json.dump(view, open(sys.argv[3], "w"))
f32 = lambda v: struct.unpack("f", struct.pack("f", v))[0]
# linear in the frame index between keyframes, in double, rounded to float once
print("drawer=%.9g door=%.9g" % (f32(0.0 + (1.0 - 0.0) * (k - 0) / 8), f32(1.0 + (0.0 - 1.0) * k / 15)))
EOF
read -r set1 set2 <"$work/sets"
expect_status 0 "render that camera with --set" -- "$facet" render "$cabinet" --cameras "$work/view.json" \
    --set "$set1" --set "$set2" --out "$work/single" --quiet
cmp -s "$work/single/view.png" "$work/orbit.mp4.frames/frame_0000$k.png" &&
    pass "frame $k is byte-identical to facet render of its camera and kappa ($set1 $set2)" ||
    fail "frame $k differs from facet render ($set1 $set2)"

# ---- nerfstudio's model frame: the same orbit written through the cabinet's dataparser transform --
expect_status 0 "path orbit --scene writes the model frame" -- "$facet" path orbit --center 0,0,0.4 \
    --radius 3.5 --elevation 25 --frames 16 --fps 8 --width 64 --height 48 --scene "$cabinet" \
    --kappa drawer=0:0,1s:1 --kappa door=0:1,15:0 --out "$work/orbit_model.json"
python3 - "$work/orbit_model.json" <<'EOF' && pass "the --scene file is in the model frame" || fail "model-frame file"
import json, sys
d = json.load(open(sys.argv[1])); assert d.get("facet_frame", "model") == "model"
EOF
expect_status 0 "render the model-frame path" -- "$facet" render "$cabinet" --path "$work/orbit_model.json" \
    --frames 3:6 --out "$work/model" --quiet
for f in 3 4 5; do
    "$facet" metrics "$work/model/frame_0000$f.png" "$work/orbit.mp4.frames/frame_0000$f.png" >"$work/m.json" 2>&1
    python3 -c "import json,sys; d=json.load(open('$work/m.json')); sys.exit(0 if d.get('identical') or d['psnr'] >= 50 else 1)" &&
        pass "model-frame frame $f matches the world-frame frame (PSNR >= 50 dB)" ||
        fail "model-frame frame $f: $(cat "$work/m.json")"
done

# ---- a path through dataset cameras ---------------------------------------------------------------
expect_status 0 "path interpolate through test cameras" -- "$facet" path interpolate --cameras "$data" \
    --split test --keys 0,3,7 --seconds 2 --fps 6 --width 80 --height 60 --env-rotation 0:0,2s:90 \
    --out "$work/fly.json"
expect_status 0 "render the interpolated path" -- "$facet" render "$demo" --path "$work/fly.json" \
    --frames-dir "$work/fly" --quiet
n=$(ls "$work/fly" | grep -c '^frame_[0-9]*\.png$')
[ "$n" = 13 ] && pass "13 frames (2 s at 6 fps, both ends)" || fail "interpolated frames: $n"

# ---- resume after kill -9 -----------------------------------------------------------------------
"$facet" path orbit --center 0,0,0.4 --radius 3.5 --frames 400 --width 48 --height 48 \
    --out "$work/long.json" 2>/dev/null
"$facet" render "$cabinet" --path "$work/long.json" --frames-dir "$work/long" --quiet &
pid=$!
for _ in $(seq 1 600); do
    [ "$(ls "$work/long" 2>/dev/null | grep -c '^frame_[0-9]*\.png$')" -ge 3 ] && break
    sleep 0.1
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
ls "$work/long" | grep '^frame_[0-9]*\.png$' | sort >"$work/before"
done_before=$(wc -l <"$work/before")
stat -c '%n %Y %i' "$work/long"/frame_*.png >"$work/stat_before" 2>/dev/null
if [ "$done_before" -ge 3 ] && [ "$done_before" -lt 400 ]; then
    pass "killed with $done_before of 400 frames written"
else
    fail "kill -9 came at the wrong time ($done_before frames)"
fi
expect_status 0 "the re-run finishes the path" -- "$facet" render "$cabinet" --path "$work/long.json" \
    --frames-dir "$work/long" --frames 0:$((done_before + 2))
grep -q "finished frames from an earlier run kept" "$work/stderr" && pass "re-run reports kept frames" ||
    fail "re-run did not report kept frames"
stat -c '%n %Y %i' $(sed "s|^|$work/long/|" "$work/before") >"$work/stat_after"
cmp -s "$work/stat_before" "$work/stat_after" && pass "finished frames were not rendered again" ||
    fail "finished frames changed"
n=$(ls "$work/long" | grep -c '^frame_[0-9]*\.png$')
[ "$n" = $((done_before + 2)) ] && pass "the rest of the range rendered" || fail "frames after re-run: $n"
ls "$work/long" | grep -q 'tmp-' && fail "a temporary file is left" || pass "no temporary file left"

# ---- shards, ranges and the equirectangular camera ------------------------------------------------
expect_status 0 "shard 1/2 of the orbit" -- "$facet" render "$cabinet" --path "$work/orbit.json" \
    --shard 1/2 --frames 0:6 --frames-dir "$work/shard" --quiet
[ "$(ls "$work/shard" | tr '\n' ' ')" = "frame_00001.png frame_00003.png frame_00005.png " ] &&
    pass "shard 1/2 renders the odd frames of 0:6" || fail "shard frames: $(ls "$work/shard")"
python3 - "$work/orbit.json" "$work/pano.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); d["camera_type"] = "equirectangular"
d["render_width"], d["render_height"] = 64, 32
d["camera_path"] = d["camera_path"][:2]
for e in d["camera_path"]: e.pop("facet_kappa", None)
json.dump(d, open(sys.argv[2], "w"))
EOF
expect_status 0 "equirectangular path" -- "$facet" render "$demo" --path "$work/pano.json" \
    --video "$work/pano.mp4" --quiet
probe=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 "$work/pano.mp4")
[ "$probe" = "64,32" ] && pass "equirectangular video is 64x32" || fail "pano: $probe"

# ---- bad input: clear errors, non-zero exit, nothing written ------------------------------------------
expect_status 1 "missing path file" -- "$facet" render "$cabinet" --path "$work/none.json" --out "$work/bad1"
expect_stderr "none.json" "missing path file named"
printf '{"render_width": 8, "render_height": 8, "camera_path": [{"fov": 50}]}' >"$work/nopose.json"
expect_status 1 "path entry without a pose" -- "$facet" render "$cabinet" --path "$work/nopose.json" --out "$work/bad2"
expect_stderr "camera_path[0].camera_to_world" "missing pose named with its key"
printf '{"render_width": 8, "render_he' >"$work/trunc.json"
expect_status 1 "truncated path file" -- "$facet" render "$cabinet" --path "$work/trunc.json" --out "$work/bad3"
python3 - "$work/orbit.json" "$work/ghost.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); d["camera_path"][3]["facet_kappa"] = {"ghost": 0.5}
json.dump(d, open(sys.argv[2], "w"))
EOF
expect_status 1 "kappa for an object the scene lacks" -- "$facet" render "$cabinet" --path "$work/ghost.json" --out "$work/bad4"
expect_stderr "ghost" "unknown object named"
[ ! -e "$work/bad1" ] && [ ! -e "$work/bad2" ] && [ ! -e "$work/bad3" ] && [ ! -e "$work/bad4" ] &&
    pass "no output folder for paths that cannot render" || fail "an output folder was created"
expect_status 1 "environment rotation without an environment" -- "$facet" render "$cabinet" --path "$work/fly.json" --out "$work/bad5"
expect_stderr "no environment map" "missing environment explained"
expect_status 2 "--video with an odd size" -- "$facet" render "$cabinet" --path "$work/orbit.json" --width 63 --height 48 --video "$work/odd.mp4"
expect_stderr "even width and height" "odd size explained"
expect_status 2 "--video with --format exr" -- "$facet" render "$cabinet" --path "$work/orbit.json" --format exr --video "$work/x.mp4"
expect_status 2 "--video with --shard" -- "$facet" render "$cabinet" --path "$work/orbit.json" --shard 0/2 --video "$work/x.mp4"
expect_stderr "encode once with --video" "shard + video explained"
expect_status 2 "--frames out of range" -- "$facet" render "$cabinet" --path "$work/orbit.json" --frames 10:40
expect_status 2 "--frames reversed" -- "$facet" render "$cabinet" --path "$work/orbit.json" --frames 5:3
expect_status 2 "--path with --cameras" -- "$facet" render "$cabinet" --path "$work/orbit.json" --cameras "$data"
expect_status 2 "--video without --path" -- "$facet" render "$cabinet" --video "$work/x.mp4"
expect_status 1 "--video without ffmpeg on PATH" -- env PATH=/nonexistent "$facet" render "$cabinet" \
    --path "$work/orbit.json" --video "$work/noff.mp4"
expect_stderr "needs FFmpeg" "missing ffmpeg explained"
[ ! -e "$work/x.mp4" ] && [ ! -e "$work/odd.mp4" ] && [ ! -e "$work/noff.mp4" ] && pass "no video written on errors" ||
    fail "a video was written on error"
expect_status 2 "orbit without --center" -- "$facet" path orbit --radius 2 --out "$work/p.json"
expect_status 2 "orbit with a bad --kappa" -- "$facet" path orbit --center 0,0,0 --radius 2 --kappa drawer=0:3 --out "$work/p.json"
expect_stderr "outside [0, 1]" "bad kappa explained"
expect_status 2 "--kappa for an object the scene lacks" -- "$facet" path orbit --center 0,0,0 --radius 2 \
    --scene "$cabinet" --kappa ghost=0:1 --out "$work/p.json"
expect_status 2 "interpolate with no cameras" -- "$facet" path interpolate --out "$work/p.json"
expect_status 2 "path without --out" -- "$facet" path orbit --center 0,0,0 --radius 2
expect_status 2 "unknown path mode" -- "$facet" path spiral
[ ! -e "$work/p.json" ] && pass "no path file written on errors" || fail "a path file was written on error"

echo "camera_path_cli: $failures failure(s)"
[ "$failures" = 0 ]
