#!/usr/bin/env bash
# The viewer under Xvfb with Mesa's software OpenGL: scripted sessions whose screenshots must match
# `facet render` of the same camera and state (one scene graph; a Monte Carlo scene's pass 0), a
# command typed into the command box changing the right kappa, camera paths (keyframes recorded
# and saved, a frame shown equal to `facet render --path`, real-time playback), resizing and rapid
# input, and the clear errors (no display, bad script, bad path files).
# Usage: viewer_xvfb_test.sh FACET SOURCE_DIR WORK_DIR [sanitizer]
# With "sanitizer" (the ASan/UBSan build, ~30x slower) the windows are small and the relighting
# scene is left out.
set -u
facet=$1
src=$2
work=$3
mode=${4:-full}
size=256
preload=
if [ "$mode" = sanitizer ]; then
    size=48
    # Mesa unloads its software driver (and LLVM) when the window closes, so LeakSanitizer would
    # see the driver's start-up allocations as leaks of an unknown module: keep it loaded (the ASan
    # runtime must come first in LD_PRELOAD).
    asan=$(ldd "$facet" | awk '/libasan/ {print $3}')
    driver=$(ls /usr/lib/*/dri/swrast_dri.so 2>/dev/null | head -1)
    [ -n "$asan" ] && [ -n "$driver" ] && preload="$asan $driver"
    export LSAN_OPTIONS="suppressions=$src/tests/lsan_viewer.supp:print_suppressions=0"
fi
rm -rf "$work" && mkdir -p "$work"
failures=0
pass() { printf 'ok   %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1"; failures=$((failures + 1)); }
# One Xvfb server for every session of the test. (xvfb-run per call starts a server each time and,
# on a loaded machine, sometimes fails to remove its temporary directory and exits 5 itself,
# hiding facet's exit status.) Without -auth, Xvfb accepts local clients.
xvfb_pid=
start_xvfb() {
    local fifo="$work/xvfb.display"
    rm -f "$fifo" && mkfifo "$fifo"
    Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$fifo" 2>"$work/xvfb.log" &
    xvfb_pid=$!
    read -r -t 30 display <"$fifo" || { echo "Xvfb did not start:"; cat "$work/xvfb.log"; exit 1; }
    export FACET_TEST_DISPLAY=":$display"
}
trap '[ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null' EXIT
xvfb() { env DISPLAY="$FACET_TEST_DISPLAY" ${preload:+LD_PRELOAD="$preload"} "$@"; }

# expect_status CODE DESCRIPTION -- COMMAND...: runs COMMAND, checks its exit status, keeps output
expect_status() {
    local want=$1 what=$2
    shift 3
    "$@" >"$work/stdout" 2>"$work/stderr"
    local got=$?
    if [ "$got" = "$want" ]; then pass "$what"; else
        fail "$what (exit $got, want $want)"; sed 's/^/     /' "$work/stdout" "$work/stderr"; fi
}
expect_in() { # FILE FRAGMENT DESCRIPTION
    if grep -qF -- "$2" "$work/$1"; then pass "$3"; else
        fail "$3: $1 lacks '$2'"; sed 's/^/     /' "$work/$1"; fi
}
# psnr_at_least A B DB DESCRIPTION: facet metrics; identical images ("psnr": null) pass
psnr_at_least() {
    local json
    json=$("$facet" metrics "$1" "$2") || { fail "$4: facet metrics failed"; return; }
    local psnr
    psnr=$(printf '%s' "$json" | sed -n 's/.*"psnr":[[:space:]]*\([^,]*\),.*/\1/p' | head -1)
    if [ "$psnr" = "null" ]; then pass "$4 (identical)"; return; fi
    if awk -v p="$psnr" -v b="$3" 'BEGIN { exit !(p >= b) }'; then pass "$4 ($psnr dB)"; else
        fail "$4: PSNR $psnr dB < $3 dB"; fi
}

if ! command -v Xvfb >/dev/null; then
    echo "Xvfb is missing (scripts/setup.sh installs xvfb)"; exit 1
fi
start_xvfb
cabinet="$src/assets/cabinet/scene.json"

# ---- no display: a clear message, no crash -------------------------------------------------------
expect_status 1 "no display is an error" -- env -u DISPLAY -u WAYLAND_DISPLAY "$facet" view "$cabinet"
expect_in stderr "facet render" "no-display message points to facet render"
expect_in stderr "xvfb-run" "no-display message points to Xvfb"
expect_status 0 "facet view --help" -- "$facet" view --help
expect_status 2 "view without a scene is a usage error" -- "$facet" view
expect_status 2 "view --device gpu is a usage error" -- "$facet" view "$cabinet" --device gpu

# ---- bad scripts and scenes: named errors, nothing written ---------------------------------------
printf 'size 256 256\nwait settled\nfrobnicate 3\n' >"$work/bad.txt"
expect_status 1 "unknown script action" -- xvfb "$facet" view "$cabinet" --script "$work/bad.txt" --out "$work"
expect_in stderr "bad.txt:3: unknown action 'frobnicate'" "script error names file and line"
printf 'set drawer 1.5\n' >"$work/bad_kappa.txt"
expect_status 1 "kappa outside [0,1] in a script" -- xvfb "$facet" view "$cabinet" --script "$work/bad_kappa.txt"
expect_in stderr "bad_kappa.txt:1: kappa 1.5 is outside [0, 1]" "kappa range error named"
printf 'set shelf 0.5\n' >"$work/bad_object.txt"
expect_status 1 "unknown object in a script" -- xvfb "$facet" view "$cabinet" --script "$work/bad_object.txt"
expect_in stderr "no object 'shelf'" "unknown object named"
mkdir -p "$work/jail"
printf 'wait settled\nscreenshot ../escaped.png\n' >"$work/escape.txt"
expect_status 1 "a script output outside --out" -- xvfb "$facet" view "$cabinet" --script "$work/escape.txt" --out "$work/jail"
expect_in stderr "escape.txt:2: unsafe name '../escaped.png': has a '..' component" "the escaping line is named"
[ ! -e "$work/escaped.png" ] && pass "nothing written outside --out" || fail "a script wrote outside --out"
expect_status 1 "missing script file" -- xvfb "$facet" view "$cabinet" --script "$work/none.txt" --out "$work"
expect_in stderr "none.txt" "missing script named"
expect_status 1 "missing scene" -- xvfb "$facet" view "$work/none.json" --screenshot "$work/x.png"
[ ! -e "$work/x.png" ] && pass "no screenshot after a failed start" || fail "a screenshot was written"

# ---- one scene graph: the viewer's pixels are the batch renderer's -------------------------------
"$facet" render "$cabinet" --width $size --height $size --out "$work/render_scene" --quiet
expect_status 0 "--screenshot on the scene camera" -- \
    xvfb "$facet" view "$cabinet" --width $size --height $size --screenshot "$work/scene.png"
psnr_at_least "$work/scene.png" "$work/render_scene/camera.png" 40 "scene camera: viewer = facet render"

# --spp: the settled frame is the supersampled one (the demo's HDRI world, which
# aliases at 1 spp; its camera is 4:3, so is the window)
demo="$src/assets/demo/scene.json"
"$facet" render "$demo" --width 160 --height 120 --spp 8 --out "$work/render_spp" --quiet
expect_status 0 "--screenshot with --spp 8" -- \
    xvfb "$facet" view "$demo" --width 160 --height 120 --spp 8 --screenshot "$work/spp.png"
psnr_at_least "$work/spp.png" "$work/render_spp/camera.png" 40 "--spp 8: viewer = facet render --spp 8"
"$facet" render "$demo" --width 160 --height 120 --out "$work/render_spp1" --quiet
cmp -s "$work/render_spp/camera.png" "$work/render_spp1/camera.png" &&
    fail "--spp 8 renders what 1 spp renders" || pass "--spp 8 differs from one ray per pixel"

# A Monte Carlo scene (the sdf node's reference lighting): the viewer averages further sample
# passes only in interactive sessions; a --screenshot run settles at pass 0, `facet render`'s frame.
cat >"$work/reference.json" <<JSON
{"version": 1, "background": [0.5, 0.7, 0.9],
 "camera": {"transform_matrix": [[1, 0, 0, 0], [0, 0.2228, -0.9749, -3.5], [0, 0.9749, 0.2228, 0.8],
                                 [0, 0, 0, 1]], "camera_angle_x": 0.8, "width": 96, "height": 96},
 "nodes": [{"type": "sdf", "shape": {"sphere": {"radius": 1}},
            "lighting": {"mode": "reference", "samples": 2},
            "material": {"base_color": [0.9, 0.6, 0.4], "roughness": 0.35, "metallic": 0.2}}]}
JSON
"$facet" render "$work/reference.json" --out "$work/render_reference" --quiet
expect_status 0 "--screenshot of a Monte Carlo scene" -- \
    xvfb "$facet" view "$work/reference.json" --width 96 --height 96 --screenshot "$work/reference.png"
psnr_at_least "$work/reference.png" "$work/render_reference/camera.png" 60 \
    "Monte Carlo scene: the settled frame is pass 0 = facet render"

# An orbited camera, a kappa changed by the command box and one by a slider-style set, then the
# same view rendered by `facet render` from the viewer's saved camera.
cat >"$work/session.txt" <<SCRIPT
size $size $size
orbit 60 -25
scroll 1
command open the drawer all the way
wait settled
expect drawer 1
expect door 0.8
set door 0.3
screenshot session.png
save-view session_view.json
screenshot-window session_window.png
SCRIPT
expect_status 0 "scripted session (orbit, command, set, screenshots)" -- \
    xvfb "$facet" view "$cabinet" --script "$work/session.txt" --out "$work"
expect_in stdout "drawer = 1.0000 as expected" "typed command opened the drawer"
expect_in stdout "door = 0.8000 as expected" "typed command left the door alone"
"$facet" render "$cabinet" --cameras "$work/session_view.json" --split all --set drawer=1 \
    --set door=0.3 --out "$work/render_session" --quiet
psnr_at_least "$work/session.png" "$work/render_session/view.png" 40 "orbited view: viewer = facet render"

# Dataset cameras: a frame chosen by number, then the next one by its key, each equal to
# `facet render --cameras` of that frame.
demo="$src/assets/demo/scene.json"
cams="$src/assets/demo/data/transforms_test.json"
frame_name() { grep -o '"file_path": *"[^"]*"' "$cams" | sed -n "$(($1 + 1))p" | sed 's|.*/||; s|"$||'; }
"$facet" render "$demo" --cameras "$cams" --out "$work/render_frames" --quiet
cat >"$work/frames.txt" <<SCRIPT
size 160 120
camera frame 1
screenshot frame1.png
key next
screenshot frame2.png
SCRIPT
expect_status 0 "dataset cameras: frame by number and by the next key" -- \
    xvfb "$facet" view "$demo" --cameras "$cams" --script "$work/frames.txt" --out "$work"
psnr_at_least "$work/frame1.png" "$work/render_frames/$(frame_name 1).png" 40 "camera frame 1: viewer = facet render --cameras"
psnr_at_least "$work/frame2.png" "$work/render_frames/$(frame_name 2).png" 40 "next camera: viewer = facet render --cameras"
printf 'camera frame 99\n' >"$work/bad_frame.txt"
expect_status 1 "a camera frame beyond --cameras" -- \
    xvfb "$facet" view "$demo" --cameras "$cams" --script "$work/bad_frame.txt"
expect_in stderr "camera frame 99: --cameras holds 8 cameras" "camera count named"

# A command that names nothing changes nothing and says so.
cat >"$work/nomatch.txt" <<SCRIPT
size $size $size
command open the refrigerator
wait settled
expect drawer 0.5
expect door 0.8
SCRIPT
expect_status 0 "a command naming no object changes nothing" -- \
    xvfb "$facet" view "$cabinet" --script "$work/nomatch.txt" --out "$work"

# ---- camera paths: keyframes recorded and saved, a frame shown, a path played -------------------
# Three keyframes with different cameras and kappas, the default 2 s apart (save-view records each
# view), saved at the default 30 fps: round(2 x 2 x 30) + 1 = 121 frames, the keyframes on frames
# 0, 60 and 120.
cat >"$work/record.txt" <<SCRIPT
size $size $size
orbit 40 -10
set drawer 0
set door 0.8
keyframe
save-view key0.json
orbit -90 25
scroll 1
set drawer 1
animate door 0.2
keyframe
save-view key1.json
zoom 1.4
pan 20 10
animate drawer 0.4
keyframe
save-view key2.json
save-path paths/camera_path.json
SCRIPT
expect_status 0 "record three keyframes and save the path" -- \
    xvfb "$facet" view "$cabinet" --script "$work/record.txt" --out "$work"
expect_in stdout "3 keyframes, 121 frames at 30 fps, ${size}x${size}, model frame" "save-path reports the path"
# The file, checked independently of facet: frame count, kappa keys on the keyframes' frames only,
# and each keyframe frame's pose and field of view equal to the view recorded there, mapped into the
# model frame of the weights' dataparser transform (m = s (R w + t), fields/livescene_format.md).
# Poses to 1e-5: the views are float, and the path's rotations pass through unit quaternions.
if /usr/bin/python3 - "$work" "$src/assets/cabinet/model.safetensors" "$size" <<'PY' >"$work/path_check.txt" 2>&1
import json, math, struct, sys
work, weights, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(weights, "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
config = json.loads(header["__metadata__"]["config"])
T, s = config.get("dataparser_transform", [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]), config.get("dataparser_scale", 1.0)
path = json.load(open(f"{work}/paths/camera_path.json"))
entries, problems = path["camera_path"], []
want = round(2 * 2 * 30) + 1
if len(entries) != want: problems.append(f"{len(entries)} frames, want {want}")
if (path["render_width"], path["render_height"], path["fps"], path["facet_frame"]) != (size, size, 30, "model"):
    problems.append(f"header {path['render_width']}x{path['render_height']} {path['fps']} fps {path['facet_frame']}")
keyed = [i for i, e in enumerate(entries) if "facet_kappa" in e]
if keyed != [0, 60, 120]: problems.append(f"kappa keys on frames {keyed}, want [0, 60, 120]")
for i, frame in enumerate([0, 60, 120]):
    view = json.load(open(f"{work}/key{i}.json"))
    v, e = view["frames"][0], entries[frame]
    for name, kappa in view["facet_kappa"].items():
        if abs(e.get("facet_kappa", {}).get(name, -1) - kappa) > 1e-6:
            problems.append(f"frame {frame}: kappa {name} {e.get('facet_kappa')}, recorded {kappa}")
    M = v["transform_matrix"]
    for r in range(3):
        for c in range(4):
            x = sum(T[r][k] * M[k][c] for k in range(3)) + (T[r][3] if c == 3 else 0)
            x *= s if c == 3 else 1
            if abs(e["camera_to_world"][r * 4 + c] - x) > 1e-5:
                problems.append(f"frame {frame}: pose[{r}][{c}] {e['camera_to_world'][r * 4 + c]}, recorded {x}")
    fov = math.degrees(2 * math.atan(v["h"] / (2 * v["fl_y"])))
    if abs(e["fov"] - fov) > 1e-6: problems.append(f"frame {frame}: fov {e['fov']}, recorded {fov}")
print("\n".join(problems) if problems else "ok")
sys.exit(1 if problems else 0)
PY
then pass "the path's frames, kappa keys and keyframe poses are the recorded views"; else
    fail "the saved path differs from the recorded views"; sed 's/^/     /' "$work/path_check.txt"; fi

# Frame 90, between two keyframes (interpolated pose and kappa), shown by path-frame, is the batch
# renderer's frame 90 of the same file.
"$facet" render "$cabinet" --path "$work/paths/camera_path.json" --frames 90:91 \
    --frames-dir "$work/render_path" --quiet
cat >"$work/path_frame.txt" <<SCRIPT
size $size $size
path-frame $work/paths/camera_path.json 90
screenshot path_frame90.png
SCRIPT
expect_status 0 "path-frame" -- xvfb "$facet" view "$cabinet" --script "$work/path_frame.txt" --out "$work"
psnr_at_least "$work/path_frame90.png" "$work/render_path/frame_00090.png" 40 "path frame 90: viewer = facet render --path --frames 90:91"

# play-path runs in real time (121 frames at 30 fps: 4 s at least) and ends on the last frame's
# kappas; then the keys record and save a path of their own (numbered in --out).
cat >"$work/play.txt" <<SCRIPT
size $size $size
play-path $work/paths/camera_path.json
expect drawer 0.4 0.001
expect door 0.2 0.001
key keyframe
orbit 30 0
key keyframe
key save-path
SCRIPT
started=$(date +%s.%N)
expect_status 0 "play-path plays to the end" -- \
    xvfb "$facet" view "$cabinet" --script "$work/play.txt" --out "$work/keys"
if awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a >= 4) }'; then
    pass "play-path took the path's 4 s"; else fail "play-path ended before 4 s"; fi
expect_in stdout "drawer = 0.4000 as expected" "play-path ends on the last frame's kappa"
if [ -f "$work/keys/facet-path-001.json" ] && grep -q '"facet_frame":[[:space:]]*"model"' "$work/keys/facet-path-001.json"; then
    pass "K and O record and save facet-path-001.json in --out"; else fail "the keys saved no path"; fi

# Bad input: files that do not load, frames outside the path, objects the scene lacks, no keyframes.
printf 'play-path %s\n' "$work/none_path.json" >"$work/bad_play.txt"
expect_status 1 "play-path on a missing file" -- xvfb "$facet" view "$cabinet" --script "$work/bad_play.txt"
expect_in stderr "bad_play.txt:1: play-path: cannot open '$work/none_path.json'" "the missing path file is named"
printf '{"render_width": 64, "render_height": 64, "camera_path": [{"camera_to_world": [1, 0]}]}\n' >"$work/malformed_path.json"
printf 'play-path %s\n' "$work/malformed_path.json" >"$work/bad_play2.txt"
expect_status 1 "play-path on a malformed file" -- xvfb "$facet" view "$cabinet" --script "$work/bad_play2.txt"
expect_in stderr "malformed_path.json: key 'camera_path[0].camera_to_world'" "the malformed file and key are named"
sed 's/"drawer"/"shelf"/' "$work/paths/camera_path.json" >"$work/shelf_path.json"
printf 'play-path %s\n' "$work/shelf_path.json" >"$work/bad_play3.txt"
expect_status 1 "play-path naming an object the scene lacks" -- xvfb "$facet" view "$cabinet" --script "$work/bad_play3.txt"
expect_in stderr "shelf" "the missing object is named"
printf 'path-frame %s 121\n' "$work/paths/camera_path.json" >"$work/bad_frame_index.txt"
expect_status 1 "path-frame past the last frame" -- xvfb "$facet" view "$cabinet" --script "$work/bad_frame_index.txt"
expect_in stderr "frame 121 is outside the path's 121 frames" "the frame count is named"
printf 'keyframe\nclear-keyframes\nsave-path empty.json\n' >"$work/bad_save.txt"
expect_status 1 "save-path without keyframes" -- xvfb "$facet" view "$cabinet" --script "$work/bad_save.txt" --out "$work"
expect_in stderr "bad_save.txt:3: save-path: no keyframes" "no keyframes is named"
[ ! -e "$work/empty.json" ] && pass "no file without keyframes" || fail "an empty path was written"

# Modes, resizing and rapid input; the run must end cleanly (the sanitizer build checks leaks).
{
    echo "size $((size + 64)) $((size + 8))"
    for i in $(seq 1 40); do echo "orbit 7 3"; echo "pan 2 -1"; echo "scroll 0.2"; done
    echo "view depth"; echo "wait 0.2"; echo "view masks"; echo "wait 0.2"
    echo "size $((size + 24)) $((size + 40))"; echo "navigate fly"; echo "zoom 1.3"
    echo "key reset"; echo "animate door 0"; echo "wait 0.1"; echo "size $((size - 16)) $((size - 16))"
    echo "view rgb"
    echo "screenshot resized.png"
} >"$work/stress.txt"
expect_status 0 "resizing, rapid input and mode changes" -- \
    xvfb "$facet" view "$cabinet" --script "$work/stress.txt" --out "$work"
resized=$((size - 16))
"$facet" render "$cabinet" --set door=0 --width $resized --height $resized --out "$work/render_resized" --quiet
psnr_at_least "$work/resized.png" "$work/render_resized/camera.png" 40 "after resizing and reset: viewer = facet render"

# ---- a relighting scene opens and matches too ----------------------------------------------------
if [ "$mode" = sanitizer ]; then
    echo "$failures failure(s)"
    [ "$failures" = 0 ]
    exit
fi
relight="$src/assets/relight/scene.json"
"$facet" render "$relight" --width 320 --height 180 --out "$work/render_relight" --quiet
expect_status 0 "relighting scene --screenshot" -- \
    xvfb "$facet" view "$relight" --width 320 --height 180 --screenshot "$work/relight.png"
psnr_at_least "$work/relight.png" "$work/render_relight/camera.png" 40 "relighting scene: viewer = facet render"

# Environment controls: another map, then a rotation, each equal to `facet render` of that state.
sunset=/usr/share/blender/datafiles/studiolights/world/sunset.exr
if [ -f "$sunset" ]; then
    # the same scene with the other map at 90 degrees (the scene's only relative path is its map)
    sed -e "s|\.\./demo/forest.exr|$sunset|" -e 's|"rotation_deg": 0|"rotation_deg": 90|' \
        "$relight" >"$work/rotated.json"
    "$facet" render "$relight" --env "$sunset" --width 320 --height 180 --out "$work/render_sunset" --quiet
    "$facet" render "$work/rotated.json" --width 320 --height 180 --out "$work/render_rotated" --quiet
    cat >"$work/env.txt" <<SCRIPT
size 320 180
env $sunset
screenshot sunset.png
env-rotation 90
screenshot rotated.png
SCRIPT
    expect_status 0 "environment map and rotation from a script" -- \
        xvfb "$facet" view "$relight" --script "$work/env.txt" --out "$work"
    psnr_at_least "$work/sunset.png" "$work/render_sunset/camera.png" 40 "another map: viewer = facet render --env"
    psnr_at_least "$work/rotated.png" "$work/render_rotated/camera.png" 40 "rotated map: viewer = facet render"
else
    echo "skip environment controls: $sunset is missing (package blender-data)"
fi

# A path over the environment rotation (a scene without a model frame: written in the world
# frame): frame 5 of 11 has the rotation halfway, as `facet render --path` renders it.
cat >"$work/env_path.txt" <<SCRIPT
size 160 90
keyframe
env-rotation 120
orbit 30 0
keyframe 1
save-path paths/env_path.json 10
path-frame $work/paths/env_path.json 5
screenshot env_path5.png
SCRIPT
expect_status 0 "record and show an environment-rotation path" -- \
    xvfb "$facet" view "$relight" --script "$work/env_path.txt" --out "$work"
expect_in stdout "2 keyframes, 11 frames at 10 fps, 160x90, world frame" "a scene without a model frame saves world poses"
[ "$(grep -c facet_env_rotation_deg "$work/paths/env_path.json")" = 2 ] &&
    pass "the rotation is keyed on both keyframes" || fail "the rotation keys are missing"
"$facet" render "$relight" --path "$work/paths/env_path.json" --frames 5:6 --frames-dir "$work/render_env_path" --quiet
psnr_at_least "$work/env_path5.png" "$work/render_env_path/frame_00005.png" 40 "rotation path frame 5: viewer = facet render --path"

echo "$failures failure(s)"
[ "$failures" = 0 ]
