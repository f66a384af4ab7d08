/* The viewer's camera-path recorder, headless so tests drive it without a window: keyframes taken
 * from views, and the camera_path.json they make (render/camera_path.h; docs/formats.md).
 *
 * A keyframe holds a view's camera-to-world pose (the scene's world frame, render/camera.h axes:
 * looking along local -z, +y up), its vertical field of view 2 atan(H / (2 fy)) in degrees, every
 * object's kappa (scene order), the environment rotation in degrees when the view has an
 * environment map, and its time: 0 s for the first keyframe, then the previous one's time plus a
 * gap (seconds, > 0).
 *
 * The path through keyframes is facet_camera_path_interpolate of their poses at `fps` (frame f at
 * time f / fps; round(last time x fps) + 1 frames), with keyframe i's kappa and environment
 * rotation set as channel keyframes on its frame round(time_i x fps); between those frames the
 * library interpolates them linearly. */
#ifndef FACET_VIEWER_KEYFRAMES_H
#define FACET_VIEWER_KEYFRAMES_H

#include "refiner.h"

#include "render/camera_path.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FACET_KEYFRAMES_MAX = 4096 }; /* a bound on what one session records */

typedef struct facet_keyframe {
    facet_pose_key pose; /* row-major camera-to-world (world frame), fov_deg, time (seconds) */
    int object_count;
    float kappa[FACET_VIEW_MAX_OBJECTS]; /* [object_count], scene order */
    int has_env_rotation;                /* 1: the view had an environment map */
    float env_rotation_deg;
} facet_keyframe;

typedef struct facet_keyframes {
    int count;
    facet_keyframe *items; /* [count], in time order */
} facet_keyframes;

/* Appends the view `state` (its camera, kappas, and environment rotation when state->env_path is
 * not "") as a keyframe `gap_seconds` after the last one; the first is at 0 s whatever the gap.
 * Fails on a gap outside (0, 3600] s, a non-pinhole camera, or past FACET_KEYFRAMES_MAX. */
facet_status facet_keyframes_add(facet_keyframes *list, const facet_view_state *state,
                                 double gap_seconds);

/* Forgets every keyframe (frees the list). */
void facet_keyframes_clear(facet_keyframes *list);

/* Keyframe i's frame in a path at `fps`: round(time_i x fps). */
int facet_keyframes_frame(const facet_keyframes *list, int i, double fps);

/* The path through the keyframes (above) at `fps`, rendered at width x height pixels; names[k]
 * is the object of kappa[k]. With `model` (the scene's model frame, facet_scene_model_frame) the
 * poses are written in it ("facet_frame": "model", what nerfstudio reads); with NULL they stay in
 * the world frame ("facet_frame": "world"). *out is the caller's to free
 * (facet_camera_path_free); on failure it is left empty. */
facet_status facet_keyframes_path(const facet_keyframes *list, const char (*names)[128], double fps,
                                  int width, int height, const facet_model_frame *model,
                                  facet_camera_path *out);

#ifdef __cplusplus
}
#endif
#endif
