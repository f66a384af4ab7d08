/* The viewer application's state, shared by its parts (internal to viewer/): app.c runs the
 * window and the frame loop, app_panel.c draws the panel and HUD, app_script.c runs scripts,
 * app_command.c grounds typed commands, app_path.c records, saves and plays camera paths. */
#ifndef FACET_VIEWER_APP_H
#define FACET_VIEWER_APP_H

#include "frame_gl.h"
#include "interop.h"
#include "keyframes.h"
#include "navigation.h"
#include "refiner.h"
#include "script.h"
#include "ui.h"
#include "ui_gl.h"
#include "viewer.h"

#include "datasets/dataset.h"
#include "language/text_encoder.h"

#include <GLFW/glfw3.h>
#include <pthread.h>

enum { APP_MAX_ENVIRONMENTS = FACET_VIEWER_MAX_ENVIRONMENTS + 1 };

typedef struct facet_app {
    const facet_viewer_options *options;
    GLFWwindow *window;
    int fb_width, fb_height; /* framebuffer pixels */
    double time, dt;         /* seconds: now, since the previous frame */

    facet_scene scene;
    pthread_mutex_t scene_lock; /* held to read or write the scene outside the render thread */
    char (*object_names)[128];  /* [object_count]: every node's objects, scene order */
    int object_count;
    float kappa[FACET_VIEW_MAX_OBJECTS];  /* shown (animated) */
    float target[FACET_VIEW_MAX_OBJECTS]; /* where each kappa animates to */

    facet_nav nav;
    facet_dataset cameras; /* --cameras, frame_count 0 when none */
    int camera_index;      /* last snapped dataset camera, -1 none */
    float exposure;
    facet_view_mode mode;
    char *environments[APP_MAX_ENVIRONMENTS]; /* [0]: the scene's own map ("" when none) */
    int environment_count, environment_index;
    float env_rotation;
    int relighting;  /* the scene has an environment or a relighting node: show the controls */
    int monte_carlo; /* facet_scene_monte_carlo: rgb goes through the refiner, which accumulates */

    /* rendering */
    facet_refiner *refiner; /* CPU path (and CUDA without interop) */
    facet_interop *interop; /* CUDA-GL interop, or NULL */
    int refiner_active;     /* the refiner may be rendering (interop: stop it before rendering) */
    facet_frame_gl frame;
    facet_display_image image; /* last fetched (refiner) */
    uint64_t image_serial;
    facet_view_state shown_state; /* interop: last rendered */
    int shown_valid;
    int shown_one_spp; /* interop: shown_state was rendered at 1 spp, its filter's samples due */
    int settled;       /* the texture holds the full-resolution frame of the current state
                          (Monte Carlo: pass 0's, or in scripted runs the last pass's) */
    int accumulating;  /* a settled Monte Carlo view is averaging further passes */
    char render_error[512];

    /* UI */
    facet_ui *ui;
    facet_ui_gl *ui_gl;
    facet_ui_input input;
    int show_panel, show_help;
    char command[256];
    char answer[1536];
    int focus_command; /* script: focus the command box on the next frame */
    int dragging;      /* mouse button of the camera drag in progress (GLFW), -1 none */
    double last_x, last_y;

    /* language */
    facet_text_encoder encoder;
    int encoder_loaded;
    char context_object[128];

    /* camera paths (app_path.c) */
    facet_keyframes keyframes;
    float keyframe_gap;          /* seconds between recorded keyframes (K, the panel) */
    int path_count;              /* numbered key-saved paths so far */
    facet_camera_path playback;  /* the path playing (owned) */
    int playing, playback_frame; /* playback_frame: the frame shown */
    double playback_start;       /* app->time of frame 0 */
    char path_message[512];      /* the last save or playback message, for the panel */

    /* screenshots, script, stats */
    char screenshot_path[1024]; /* pending render-area screenshot, "" none */
    int screenshot_window;      /* the pending one includes the panel */
    int screenshot_count;
    facet_script script;
    int script_loaded, script_pc;
    int script_phase; /* progress within the action at script_pc */
    double wait_until;
    int quit;
    facet_status failure; /* a script failure ends the run with this status */
    long frames, image_updates;
    double fps, fps_clock;
    long fps_frames;
} facet_app;

/* app_panel.c: the panel (objects, command box, camera, render, environment) and the HUD. */
void facet_app_panel(facet_app *app);

/* app_command.c: grounds `text` on the targets and starts the animations; the answer goes to
 * app->answer. Fails only when the text encoder cannot load. */
facet_status facet_app_command(facet_app *app, const char *text);

/* app_script.c: runs script actions until one waits; sets app->quit at the end. */
facet_status facet_app_script_step(facet_app *app);

/* app_path.c: camera paths. The keyframe is the current view (app.c's facet_app_view_state)
 * `gap_seconds` after the last one (<= 0: app->keyframe_gap). */
facet_status facet_app_add_keyframe(facet_app *app, double gap_seconds);
void facet_app_clear_keyframes(facet_app *app);
/* Writes the keyframes' path at `fps`, the framebuffer's size, to `file` (NULL: the next numbered
 * facet-path-NNN.json in --out), in the scene's model frame when a node declares one, else the
 * world frame; the message goes to app->path_message. */
facet_status facet_app_save_path(facet_app *app, const char *file, double fps);
/* Shows frame k of `path` at once (no animation): its camera (scaled to the window), kappas and
 * environment rotation, set up by facet_path_apply_frame. */
facet_status facet_app_show_path_frame(facet_app *app, const facet_camera_path *path, int k);
/* Plays `path` (taken over; the app frees it) in real time at its fps from frame 0; stops a path
 * already playing. */
facet_status facet_app_play_path(facet_app *app, facet_camera_path *path);
/* Plays the recorded keyframes' path at 30 fps (the panel's play button, Space). */
facet_status facet_app_play_keyframes(facet_app *app);
void facet_app_stop_path(facet_app *app);
/* Every frame: shows the playing path's frame for the time now; stops after its last frame. */
facet_status facet_app_path_step(facet_app *app);

/* app.c helpers the other parts use. */
/* 1 when the current frame renders through CUDA-GL interop rather than the refiner: an interop
 * context, rgb mode, a scene that is not Monte Carlo. */
int facet_app_uses_interop(const facet_app *app);
/* The view as the renderer gets it now: the camera at the framebuffer size, the shown kappas. */
void facet_app_view_state(const facet_app *app, facet_view_state *state);
int facet_app_object_index(const facet_app *app, const char *name);
void facet_app_set_environment(facet_app *app, int index);
void facet_app_snap_camera(facet_app *app, int index);
/* Asks the frame loop to save a screenshot at `path` (NULL: the next numbered key screenshot in
 * --out). Fails, requesting nothing, when the path does not fit screenshot_path. */
facet_status facet_app_request_screenshot(facet_app *app, const char *path, int window);
int facet_app_animating(const facet_app *app);

#endif
