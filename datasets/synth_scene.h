/* A small interactive scene in the LiveScene format, generated and rendered by facet itself, for
 * tests, fitting and the embedded demo: a cabinet on a floor tile with a sliding drawer (kappa 0
 * closed .. 1 pulled out 0.45 units) and a hinged door (kappa 0 closed .. 1 swung open 100
 * degrees), textured procedurally, lit by a sun and sky term, on a white background.
 *
 * Writes OUT/transforms.json (camera_angle_x; frames ./images/frame_NNNNN, camera-to-world in the
 * NeRF convention, world z-up), OUT/images/frame_NNNNN.png (sRGB), OUT/mapping.yaml
 * {0: drawer, 1: door}, OUT/key_frame_value.yaml (every frame's kappa; in both the even and the
 * odd frames each object spans exactly [0, 1], so LiveScene's per-split min-max normalisation
 * leaves the values unchanged) and OUT/masks/NNNNN.npy (H, W, 3) bool: drawer, door, background
 * (cabinet and floor count as background, as in LiveScene's data), and OUT/facet.json with the
 * scene box that `facet fit` uses by default.
 *
 * Geometry is exact ray-box intersection (boxes in local frames), shading Lambert with a
 * procedural albedo, anti-aliased with `samples`^2 stratified rays per pixel. */
#ifndef FACET_DATASETS_SYNTH_SCENE_H
#define FACET_DATASETS_SYNTH_SCENE_H

#include "core/progress.h"
#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_synth_options {
    int frames;           /* 0 -> 60 (frames with index % 2 == 0 form the test split) */
    int width, height;    /* 0 -> 128 x 128 */
    int samples;          /* per-axis anti-aliasing samples, 0 -> 3 */
    float camera_angle_x; /* 0 -> 0.8 rad */
    unsigned long long seed;
    facet_progress *progress; /* may be NULL */
} facet_synth_options;

/* Scene-space state of one frame: kappa of the drawer and of the door, both in [0, 1]. */
typedef struct facet_synth_state {
    float drawer, door;
} facet_synth_state;

/* Renders one view: rgb[height * width * 3] sRGB in [0,1] and labels[height * width] (0 drawer,
 * 1 door, 2 background) of the pixel centre. c2w is row-major camera-to-world (NeRF). */
void facet_synth_render(const float c2w[16], float camera_angle_x, int width, int height,
                        int samples, facet_synth_state state, float *rgb, unsigned char *labels);

/* Writes the whole dataset into `out` (created if missing). */
facet_status facet_synth_write(const char *out, const facet_synth_options *options);

#ifdef __cplusplus
}
#endif
#endif
