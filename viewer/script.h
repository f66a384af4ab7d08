/* Viewer scripts (`facet view SCENE --script FILE`): a list of actions run one after another,
 * for automation and tests. One action per line; '#' starts a comment; words are separated by
 * spaces. Paths the viewer reads (env, play-path, path-frame) are relative to the current
 * directory. Paths it writes (screenshot, screenshot-window, save-view, save-path) are safe
 * relative names (core/safe_name.h: no absolute path, no '..', no control characters) under
 * `facet view --out DIR` (default: the current directory), so a script from someone else cannot
 * write outside that folder.
 *
 *   size W H                 resize the window (framebuffer pixels)
 *   camera scene             the scene file's camera, exactly
 *   camera frame N           camera N (0-based) of --cameras
 *   camera pose M00 ... M23 [FOV_Y_DEG]
 *                            a camera-to-world pose: the top three rows, row-major (12 numbers)
 *   orbit DX DY              drag the rotate button by (DX, DY) pixels
 *   pan DX DY                drag the pan button
 *   scroll STEPS             mouse wheel (positive: closer)
 *   navigate orbit|fly       navigation mode
 *   zoom FACTOR              focal length x FACTOR
 *   set OBJECT KAPPA         jump to KAPPA (no animation)
 *   animate OBJECT KAPPA     animate towards KAPPA, as the sliders do
 *   command TEXT...          type TEXT into the command box and press Enter (through the UI)
 *   key NAME                 press a key: screenshot (F12), reset (R), next, previous, keyframe
 *                            (K), save-path (O), play (Space), ...
 *   env PATH [ROTATION_DEG]  environment map (relighting scenes)
 *   env-rotation DEG
 *   exposure STOPS
 *   view rgb|depth|masks     render mode
 *   panel on|off             show or hide the panel and the HUD
 *   wait SECONDS             let time pass (animations run)
 *   wait settled             until animations end and the full-resolution frame is done
 *                            (Monte Carlo scenes: sample pass 0, the `facet render` frame;
 *                            scripted runs average no further passes, viewer/viewer.h)
 *   screenshot PATH          wait settled, then save the render area as PNG
 *   screenshot-window PATH   wait settled, then save the whole window, panel included
 *   save-view PATH           write the current camera as a transforms.json (one frame, "view",
 *                            per-frame intrinsics) and the kappas as "facet_kappa", so
 *                            `facet render SCENE --cameras PATH --set ...` renders the same view
 *   keyframe [GAP_SECONDS]   once animations end, record the view as a camera-path keyframe
 *                            GAP_SECONDS (> 0, at most 3600) after the previous one (default:
 *                            the panel's gap, 2 s); the first is at 0 s (viewer/keyframes.h)
 *   clear-keyframes          forget the recorded keyframes
 *   save-path PATH [FPS]     write the keyframes' camera_path.json (render/camera_path.h) at FPS
 *                            frames per second (default 30), the window's size, in the scene's
 *                            model frame when a node declares one (as nerfstudio reads it), else
 *                            the world frame
 *   play-path PATH           play a camera_path.json in real time at its fps (each frame's camera,
 *                            kappas and environment rotation as `facet render --path` sets them
 *                            up); the script goes on when the last frame is shown
 *   path-frame PATH K        jump to frame K (0-based) of a camera_path.json, no animation: a
 *                            window of the path's size then shows `facet render SCENE --path PATH
 *                            --frames K:K+1`
 *   expect OBJECT KAPPA [TOL]
 *                            fail (exit status 1) unless |kappa - KAPPA| <= TOL (default 0.01)
 *   quit                     close the viewer (the end of the script does too)
 */
#ifndef FACET_VIEWER_SCRIPT_H
#define FACET_VIEWER_SCRIPT_H

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum facet_script_op {
    FACET_SCRIPT_SIZE,
    FACET_SCRIPT_CAMERA_SCENE,
    FACET_SCRIPT_CAMERA_FRAME,
    FACET_SCRIPT_CAMERA_POSE,
    FACET_SCRIPT_ORBIT,
    FACET_SCRIPT_PAN,
    FACET_SCRIPT_SCROLL,
    FACET_SCRIPT_NAVIGATE,
    FACET_SCRIPT_ZOOM,
    FACET_SCRIPT_SET,
    FACET_SCRIPT_ANIMATE,
    FACET_SCRIPT_COMMAND,
    FACET_SCRIPT_KEY,
    FACET_SCRIPT_ENV,
    FACET_SCRIPT_ENV_ROTATION,
    FACET_SCRIPT_EXPOSURE,
    FACET_SCRIPT_VIEW,
    FACET_SCRIPT_PANEL,
    FACET_SCRIPT_WAIT,
    FACET_SCRIPT_WAIT_SETTLED,
    FACET_SCRIPT_SCREENSHOT,
    FACET_SCRIPT_SCREENSHOT_WINDOW,
    FACET_SCRIPT_SAVE_VIEW,
    FACET_SCRIPT_KEYFRAME,
    FACET_SCRIPT_CLEAR_KEYFRAMES,
    FACET_SCRIPT_SAVE_PATH,
    FACET_SCRIPT_PLAY_PATH,
    FACET_SCRIPT_PATH_FRAME,
    FACET_SCRIPT_EXPECT,
    FACET_SCRIPT_QUIT,
} facet_script_op;

typedef struct facet_script_action {
    facet_script_op op;
    int line;          /* 1-based line in the script, for messages */
    double number[13]; /* numeric arguments in order (pose: 12 + optional fov) */
    int number_count;
    char *text; /* object name, path, command text, key or mode name (owned), or NULL */
} facet_script_action;

typedef struct facet_script {
    char *path;
    int count;
    facet_script_action *actions;
} facet_script;

/* Parses a script file; errors name the file, the line and the problem. */
facet_status facet_script_load(facet_script *script, const char *path);
/* Parses script text (path only names it in messages). */
facet_status facet_script_parse(facet_script *script, const char *path, const char *text);
void facet_script_free(facet_script *script);

#ifdef __cplusplus
}
#endif
#endif
