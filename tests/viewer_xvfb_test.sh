#!/usr/bin/env bash
# The viewer under Xvfb with Mesa's software OpenGL: scripted sessions whose screenshots must match
# `facet render` of the same camera and state (one scene graph), a command typed into the command
# box changing the right kappa, resizing and rapid input, and the clear errors (no display, bad
# script). Usage: viewer_xvfb_test.sh FACET SOURCE_DIR WORK_DIR [sanitizer]
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

echo "$failures failure(s)"
[ "$failures" = 0 ]
