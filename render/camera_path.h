/* Camera paths: nerfstudio's camera_path.json (what its viewer exports and `ns-render
 * camera-path` reads), with facet's per-entry additions for kappa and lighting, plus the
 * interpolation that builds paths from keyframes (`facet path`, the viewer's recorder).
 *
 * File (docs/formats.md, "Camera path"):
 *   render_width, render_height   pixels (required)
 *   fps, seconds                  frames per second and duration; frame k is at time k / fps
 *   camera_type                   "perspective" (default) or "equirectangular"
 *   camera_path                   one entry per frame, in order:
 *     camera_to_world             16 numbers, a row-major 4x4 camera-to-world (OpenGL axes)
 *     fov                         vertical field of view, degrees: fy = fx = H / (2 tan(fov / 2)),
 *                                 principal point at the image centre (perspective only)
 *     aspect                      width / height as exported (read, not used: the render size wins)
 *     render_time                 nerfstudio's time for dynamic scenes, in [0, 1] (read, unused)
 *     facet_kappa                 {object: kappa}: a kappa keyframe per named object (optional)
 *     facet_env_rotation_deg      environment rotation keyframe, degrees (optional)
 *   facet_frame                   "model" (default: poses in the model frame, after nerfstudio's
 *                                 dataparser transform, as nerfstudio writes them) or "world" (the
 *                                 scene's own frame, as dataset transforms.json and save-view use)
 *
 * Keyframe values hold before the first and after the last keyframe of each channel and are
 * linear in the frame index between keyframes. Other keys are ignored (nerfstudio writes more:
 * keyframes, crop, smoothness_value, is_cycle).
 *
 * Frames: model -> world. A LiveScene node maps world rays into its model frame with
 * m = s (R w + t) (fields/livescene_format.md); a model-frame pose [A | a] becomes the world pose
 * [R^-1 A | R^-1 (a / s - t)], so rays land exactly where nerfstudio would cast them. */
#ifndef FACET_RENDER_CAMERA_PATH_H
#define FACET_RENDER_CAMERA_PATH_H

#include "camera.h"
#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A keyframed channel value on one path entry. */
typedef struct facet_path_key {
    char *object; /* kappa: object name; NULL for the environment rotation */
    float value;
} facet_path_key;

typedef struct facet_path_entry {
    double c2w[16]; /* row-major 4x4, in the path's frame */
    double fov_deg; /* vertical field of view (perspective) */
    double aspect;  /* as read (0 when absent) */
    int key_count;  /* keyframes set on this entry */
    facet_path_key *keys;
} facet_path_entry;

typedef enum facet_path_frame {
    FACET_PATH_FRAME_MODEL = 0, /* nerfstudio's internal frame (the default) */
    FACET_PATH_FRAME_WORLD = 1, /* the scene's own frame */
} facet_path_frame;

typedef struct facet_camera_path {
    int width, height;
    double fps, seconds;
    facet_projection projection;
    facet_path_frame frame;
    int count; /* entries = frames */
    facet_path_entry *entries;
} facet_camera_path;

/* Reads a camera_path.json; every error names the file and the key ("path.json:
 * camera_path[3].camera_to_world: ..."). */
facet_status facet_camera_path_load(facet_camera_path *path, const char *file);

/* Writes the path (atomically, 4-space indented JSON). */
facet_status facet_camera_path_save(const facet_camera_path *path, const char *file);

void facet_camera_path_free(facet_camera_path *path);

/* Adds a keyframe to entry `index` (object NULL: environment rotation); replaces an existing one.
 */
facet_status facet_camera_path_set_key(facet_camera_path *path, int index, const char *object,
                                       float value);

/* The camera of frame `index` in the scene's world frame. `model` is the scene's model frame
 * (used when the path is in the model frame; NULL: identity). Perspective: fx = fy =
 * H / (2 tan(fov / 2)) in double, then rounded to float once. */
facet_camera facet_camera_path_camera(const facet_camera_path *path, int index,
                                      const facet_model_frame *model);

/* The vertical field of view, degrees, of a pinhole camera: 2 atan(height / (2 fy)) (the inverse
 * of the three.js focal length above). */
double facet_vertical_fov_deg(double fy, int height);

/* Re-expresses a world-frame path's poses in the model frame `model` (A' = R A,
 * a' = s (R a + t)) and marks it FACET_PATH_FRAME_MODEL, as nerfstudio's viewer writes paths. A
 * model-frame path is left alone. */
void facet_camera_path_to_model_frame(facet_camera_path *path, const facet_model_frame *model);

/* The value of a channel at frame `index`: linear between the keyframes around it, held beyond
 * the first and last. Returns 0 and leaves *value alone when the channel has no keyframe. */
int facet_camera_path_value(const facet_camera_path *path, int index, const char *object,
                            float *value);

/* The distinct kappa objects keyed anywhere in the path (pointers into the path), in first
 * appearance order; returns their count (at most `max`). */
int facet_camera_path_objects(const facet_camera_path *path, const char **names, int max);

/* ---- building paths from keyframes ------------------------------------------------------------
 * Poses: positions on a Catmull-Rom spline through the keyframe positions (end
 * tangents from reflected neighbours), rotations by slerp between consecutive keyframe
 * rotations (shortest arc), field of view linear, all in each keyframe's time (seconds, strictly
 * increasing from 0). Frame f of the result is at time f / fps; there are
 * round(last time * fps) + 1 frames, so the last keyframe is the last frame. The spline's knots
 * are the keyframe times (a non-uniform Catmull-Rom, Barry-Goldman form), with end tangents from
 * reflected neighbours. The result is in the keyframes' frame (set out->frame). */
typedef struct facet_pose_key {
    double c2w[16]; /* row-major 4x4; rotation part orthonormal */
    double fov_deg;
    double time; /* seconds */
} facet_pose_key;

facet_status facet_camera_path_interpolate(facet_camera_path *out, const facet_pose_key *keys,
                                           int key_count, double fps, int width, int height);

/* A circular orbit: `frames` cameras at distance `radius` from `center`, `elevation_deg` above
 * the plane normal to `up` (0: x/y plane for z up), starting at azimuth `azimuth_deg` (0: on +x
 * for z up, +z for y up) and turning counter-clockwise seen from above, each looking at the
 * center with `up` kept upright. fps sets the path's duration (frames / fps). */
facet_status facet_camera_path_orbit(facet_camera_path *out, const double center[3],
                                     const double up[3], double radius, double elevation_deg,
                                     double azimuth_deg, int frames, double fov_deg, double fps,
                                     int width, int height);

/* Parses keyframes "T:V,T:V,..." where T is a frame index ("12") or a time in seconds ("2.5s",
 * rounded to the nearest frame at `fps`) and V a number, and adds them to the path (object NULL:
 * environment rotation). Errors name the text. Keyframes past the last frame are an error. */
facet_status facet_camera_path_add_keys(facet_camera_path *path, const char *object,
                                        const char *text);

#ifdef __cplusplus
}
#endif
#endif
