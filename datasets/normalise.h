/* Scene normalisation as nerfstudio's dataparsers do it (nerfstudio/cameras/camera_utils.py
 * auto_orient_and_center_poses, focus_of_attention; nerfstudio_dataparser.py auto_scale_poses).
 * fields/livescene_format.md, "Dataset normalisation".
 *
 * The result is the model-from-dataset similarity p' = scale * (R p + t), stored in a LiveScene
 * model as dataparser_transform [R | t] (3x4 row-major) and dataparser_scale. */
#ifndef FACET_DATASETS_NORMALISE_H
#define FACET_DATASETS_NORMALISE_H

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum facet_orientation {
    FACET_ORIENT_UP = 0, /* rotate the mean camera up vector (c2w column 1) onto +z */
    FACET_ORIENT_PCA,    /* principal axes of the camera centres onto x, y, z (largest first) */
    FACET_ORIENT_NONE,
} facet_orientation;

typedef enum facet_centering {
    FACET_CENTER_POSES = 0, /* the mean camera position goes to the origin */
    FACET_CENTER_FOCUS,     /* the point nearest to the optical axes goes to the origin */
    FACET_CENTER_NONE,
} facet_centering;

/* "up"/"pca"/"none" and "poses"/"focus"/"none" -> the enum; -1 for anything else. */
int facet_orientation_from_name(const char *name);
const char *facet_orientation_name(facet_orientation method);
int facet_centering_from_name(const char *name);
const char *facet_centering_name(facet_centering method);

typedef struct facet_normalisation {
    facet_orientation orientation;
    facet_centering center;
    int auto_scale;      /* 1: scale so that max |translation component| over all poses is 1 */
    double scale_factor; /* extra factor on top (nerfstudio scale_factor); <= 0 means 1 */
} facet_normalisation;

/* Computes the transform for `count` camera-to-world poses (row-major 4x4 each, `c2w` + 16 i).
 * Degenerate input fails with FACET_ERR_FORMAT naming `what` (the dataset file) instead of giving
 * NaN: no poses, a zero mean up vector (up), all cameras at one point (pca, auto_scale), parallel
 * optical axes (focus). */
facet_status facet_poses_normalisation(const double *c2w, int count,
                                       const facet_normalisation *method, const char *what,
                                       double transform[12], double *scale);

/* out = the pose c2w in the normalised frame: rotation R * Rc, position scale * (R p + t). */
void facet_pose_normalise(const double transform[12], double scale, const double c2w[16],
                          double out[16]);

/* A pinhole camera for facet_view_box: camera-to-world (row-major 4x4, NeRF convention: looks
 * down -z, +y up) and intrinsics in pixels. */
typedef struct facet_view_camera {
    double c2w[16];
    double fx, fy, cx, cy;
    int width, height;
} facet_view_camera;

/* The scene box that the cameras look at: the bounding box of the points inside the view frustum
 * (in front of the camera, projecting inside the image) of at least `fraction` of the cameras,
 * found on a 48^3 grid over the cube around the cameras' focus point (the point nearest to their
 * optical axes) that reaches the farthest camera, then refined on a 48^3 grid over that box
 * grown by one coarse cell; the result covers whole fine cells. It fits an object-centric capture
 * at any scale and position (facet's default for datasets that do not give a box).
 * box = {x0, y0, z0, x1, y1, z1}. Fails with FACET_ERR_FORMAT naming `what` when no grid point
 * is seen by that many cameras (outward-looking rigs; parallel optical axes). */
facet_status facet_view_box(const facet_view_camera *cameras, int count, double fraction,
                            const char *what, double box[6]);

#ifdef __cplusplus
}
#endif
#endif
