/* `facet view`: the interactive viewer. A GLFW window (OpenGL 3.3 core through the glad2 loader)
 * showing a scene through the same scene graph and render call as `facet render`, with orbit/fly
 * navigation, per-object kappa sliders, a language command box, environment and exposure
 * controls, render modes (rgb, depth, masks), screenshots and scripted sessions.
 *
 * Paths: with --device cuda and a GL context on a CUDA device, frames render on the GPU straight
 * into the window's texture (CUDA-GL interop, viewer/interop.h); otherwise a worker thread renders
 * progressively on the chosen device and the image is uploaded (viewer/refiner.h). Monte Carlo
 * scenes (facet_scene_monte_carlo: the sdf node's reference lighting) always take the worker's
 * path in rgb mode, even with interop: once a view settles it averages further sample passes
 * (viewer/refiner.h, "Progressive Monte Carlo views"), which the interop path does not. */
#ifndef FACET_VIEWER_VIEWER_H
#define FACET_VIEWER_VIEWER_H

#include "render/render.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FACET_VIEWER_MAX_ENVIRONMENTS = 64 };

typedef struct facet_viewer_options {
    const char *scene_path;      /* required */
    const char *script_path;     /* run these actions (viewer/script.h), then close; or NULL */
    const char *screenshot_path; /* without a script: open on the scene camera, wait for the
                                    full-resolution frame, save the render area, close */
    const char *out_dir;         /* where script outputs (screenshot, save-view: safe relative
                                    names, viewer/script.h) and key screenshots go; NULL: "." */
    const char *cameras_path;    /* a dataset (transforms) whose cameras [ and ] snap to, or NULL */
    const char *font_path;       /* NULL: DejaVu Sans (fonts-dejavu-core) */
    /* Environment maps offered in the panel besides the scene's own (relighting scenes); when
     * none are given, Blender's studio HDRIs (blender-data) are offered if installed. */
    const char *environments[FACET_VIEWER_MAX_ENVIRONMENTS];
    int environment_count;
    int width, height;   /* window size in pixels; 0: the scene camera's, at least 800 tall */
    facet_device device; /* where frames render */
    /* The settled frame's samples per pixel and pixel filter (render/pixel_filter.h; zero: one
     * ray per pixel centre); frames while the view moves stay one ray per pixel. */
    facet_pixel_filter filter;
    int no_interop;         /* 1: CUDA renders through the host even when interop works */
    double timeout_seconds; /* scripted or screenshot runs fail after this long (0: never) */
    int hidden;             /* 1: no visible window (benchmarks) */
    const char *bench_path; /* when set: append a frames/s report here at exit (JSON lines) */
    /* Monte Carlo scenes: a view left alone averages up to this many sample passes (the first is
     * the `facet render` frame). 0: FACET_REFINER_MAX_PASSES (256) in interactive sessions, 1 in
     * --script and --screenshot runs, so their screenshots equal `facet render`. When a scripted
     * run sets it above 1, its frames count as settled (`wait settled`, screenshots) only once all
     * the passes are in: the mean of that many passes, deterministic and finite. */
    int max_passes;
} facet_viewer_options;

/* Runs the viewer until the window closes or the script ends. Fails with a message naming the
 * problem: no display (pointing to `facet render` and to Xvfb), no OpenGL 3.3, a scene, script
 * or font that does not load, a failed script `expect`, a timeout. */
facet_status facet_viewer_run(const facet_viewer_options *options);

#ifdef __cplusplus
}
#endif
#endif
