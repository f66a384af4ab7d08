/* Progressive refinement on a background thread: the viewer's CPU path (and its CUDA path without
 * GL interop). The UI thread posts the view it wants (facet_refiner_request) every frame; a worker
 * thread renders it coarse first, then finer until full resolution, in strips of rays, and
 * publishes an 8-bit display image after every strip. A new request cancels the current one
 * between strips, so the window stays responsive however slow a full frame is; a view left alone
 * refines to the exact `facet render` image.
 *
 * Levels nest, so no ray is rendered twice: level f (a power of two) holds the full-resolution
 * pixels whose x and y are multiples of f, and each finer level renders only the pixels the
 * coarser ones lack, ray for ray what facet_render_image computes for those pixels
 * (facet_render_rays). A level-f pixel is shown as the f x f block it starts. The coarsest f is
 * the smallest power of two (at most 32) whose level renders in about 120 ms at the measured
 * rays/s; strips hold about 0.25 s of rays.
 *
 * Supersampling (state.filter.spp > 1, `facet view --spp N`): the levels stay one ray per pixel
 * centre; after level 1 a last pass renders every pixel's N filter samples (render/pixel_filter.h)
 * in strips and replaces the pixels with their means, the frame `facet render --spp N` makes.
 *
 * Progressive Monte Carlo views (facet_scene_monte_carlo: the sdf node's reference lighting), rgb
 * mode only: the frame above is sample pass 0 (scene.sample_pass 0, what `facet render` makes),
 * and the request settles there (facet_refiner_wait, facet_display_image.settled). A view left
 * alone then renders further passes of the same rays (every pixel's spp filter samples, or its
 * centre) with scene.sample_pass 1, 2, ..., in strips of whole rows, sums each pixel's linear RGBA
 * in float in pass order and shows the mean (facet_sample_add / facet_sample_mean, then
 * facet_display_rgb): after pass k-1 every pixel shows the mean of facet_render_image's values of
 * passes 0 .. k-1. It stops at the cap (facet_refiner_set_max_passes, default
 * FACET_REFINER_MAX_PASSES); any new request (whatever facet_view_state_equal tells apart)
 * restarts at pass 0, cancelling between strips as the levels do. Depth and masks views, and
 * scenes that are not Monte Carlo, do not accumulate. */
#ifndef FACET_VIEWER_REFINER_H
#define FACET_VIEWER_REFINER_H

#include "display.h"

#include "render/render.h"

#include <pthread.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FACET_VIEW_MAX_OBJECTS = 64,
    FACET_REFINER_MAX_PASSES = 256,   /* default cap on a progressive view's sample passes */
    FACET_REFINER_PASS_LIMIT = 65536, /* the largest cap facet_refiner_set_max_passes takes */
};

/* Everything that decides the pixels of one view. Zero-initialise, then fill. */
typedef struct facet_view_state {
    facet_camera camera; /* full resolution */
    int object_count;
    float kappa[FACET_VIEW_MAX_OBJECTS]; /* every node's objects, scene order */
    float exposure;                      /* stops */
    facet_view_mode mode;
    float depth_reference; /* depth mode: distance shown mid-gray (> 0) */
    char env_path[1024];   /* environment map; "" for none (scenes without one: lit by the
                              background colour) */
    float env_rotation_deg;
    facet_pixel_filter filter; /* the settled frame's samples per pixel and filter */
} facet_view_state;

/* 1 when a and b give the same pixels. */
int facet_view_state_equal(const facet_view_state *a, const facet_view_state *b);

/* The scene's current kappas into state (scene order). */
void facet_view_state_read_kappa(facet_view_state *state, const facet_scene *scene);

typedef struct facet_display_image {
    int width, height;
    unsigned char *rgba; /* width * height * 4, row-major from the top-left */
    int factor;          /* the finest level fully or partly shown */
    int settled;         /* 1: the full-resolution image of the latest request, complete
                            (progressive views: pass 0's frame; more passes may follow) */
    int passes;          /* progressive views: sample passes in every pixel's mean (1 once pass
                            0's frame is complete); 0 for views that do not accumulate */
} facet_display_image;

void facet_display_image_free(facet_display_image *image);

typedef struct facet_refiner_info {
    int factor;               /* level being rendered (1: full resolution) */
    int busy;                 /* 0: the latest request is fully rendered (or failed) */
    double rays_per_second;   /* measured over recent strips */
    double last_full_seconds; /* wall time of the last full-resolution pass, 0 before one */
    int passes;       /* progressive views: complete sample passes shown (see the display) */
    int max_passes;   /* the cap on them (facet_refiner_set_max_passes) */
    int accumulating; /* 1 while a settled progressive view renders further passes */
    char error[512];  /* the last render error, "" when none */
} facet_refiner_info;

typedef struct facet_refiner facet_refiner;

/* Starts the worker on `scene` (not owned; it must outlive the refiner). The worker writes the
 * scene (kappa, environment) and renders it while holding nothing; any other thread that reads
 * or writes the scene must hold `scene_lock` (the worker takes it to apply a state). */
facet_status facet_refiner_create(facet_refiner **out, facet_scene *scene,
                                  pthread_mutex_t *scene_lock, facet_device device);
void facet_refiner_destroy(facet_refiner *refiner);

/* Posts the wanted view; a no-op when it equals the last one. */
void facet_refiner_request(facet_refiner *refiner, const facet_view_state *state);

/* Abandons the current request and returns once the worker has stopped touching the scene (at
 * most one strip later), so another thread may change or render the scene. The next request is
 * rendered even when it equals the abandoned one. */
void facet_refiner_stop(facet_refiner *refiner);

/* Caps the sample passes a progressive view averages (clamped to [1, FACET_REFINER_PASS_LIMIT];
 * 1: pass 0 only, the `facet render` frame). Read before each pass: a view accumulating now stops
 * at a lower cap; one that already stopped resumes only when requested again. */
void facet_refiner_set_max_passes(facet_refiner *refiner, int max_passes);

/* When the display image changed since *serial: copies it into *image (reallocating as needed),
 * updates *serial and returns 1; else 0. */
int facet_refiner_fetch(facet_refiner *refiner, uint64_t *serial, facet_display_image *image);

void facet_refiner_get_info(facet_refiner *refiner, facet_refiner_info *info);

/* Blocks until the latest request is fully rendered (or failed), up to `timeout_seconds`;
 * returns 1 when settled. For scripts and tests. */
int facet_refiner_wait(facet_refiner *refiner, double timeout_seconds);

/* Blocks until the latest request is settled and its display holds the mean of at least `passes`
 * sample passes, or it will not get there (not progressive, the cap, an error), up to
 * `timeout_seconds`; returns 1 when the display holds `passes` passes or more. For tests. */
int facet_refiner_wait_passes(facet_refiner *refiner, int passes, double timeout_seconds);

/* What a scene holds of the view state's environment, to apply only changes. */
typedef struct facet_view_applied {
    char env_path[1024]; /* the map the scene holds, "" for none */
    float env_rotation_deg;
} facet_view_applied;

/* Starts `applied` on the scene as loaded. */
void facet_view_applied_init(facet_view_applied *applied, const facet_scene *scene);

/* Writes the state's kappa into the scene and loads or rotates its environment when they
 * changed since `applied` (then updated). The caller holds whatever lock guards the scene. */
facet_status facet_view_apply(facet_scene *scene, const facet_view_state *state,
                              facet_view_applied *applied);

/* Applies `state` to the scene (kappa, environment) and renders it at full resolution (with the
 * state's filter) into display pixels, synchronously: what the refiner converges to, for tests. */
facet_status facet_view_render_full(facet_scene *scene, const facet_view_state *state,
                                    facet_device device, facet_display_image *image);

#ifdef __cplusplus
}
#endif
#endif
