/* Cameras and primary rays (NeRF/Blender/OpenGL convention: camera-to-world matrix, the camera
 * looks along its local -z with +y up; pixel (i, j) is column i, row j from the top-left, and its
 * ray passes through the pixel centre (i + 0.5, j + 0.5)).
 *
 * Two projections, as nerfstudio's Cameras.generate_rays computes them:
 * - pinhole: local direction ((i + 0.5 - cx) / fx, -(j + 0.5 - cy) / fy, -1);
 * - equirectangular (the 360-degree panorama of nerfstudio's camera_type "equirectangular"):
 *   u = (i + 0.5 - W/2) / (W/2) in (-1, 1), v = -(j + 0.5 - H/2) / H in (-1/2, 1/2),
 *   theta = -pi u, phi = pi (1/2 - v), local direction
 *   (-sin theta sin phi, cos phi, -cos theta sin phi): the image centre looks along -z,
 *   u = 1/2 along +x, the left and right edges behind (+z), the top row up (+y).
 *   fx, fy, cx, cy are not used. */
#ifndef FACET_RENDER_CAMERA_H
#define FACET_RENDER_CAMERA_H

#include "core/hd.h"
#include "core/vecmath.h"

typedef enum facet_projection {
    FACET_PROJECTION_PINHOLE = 0,
    FACET_PROJECTION_EQUIRECTANGULAR = 1,
} facet_projection;

typedef struct facet_camera {
    facet_mat4 c2w;       /* camera-to-world, row-major */
    float fx, fy, cx, cy; /* pixels; (cx, cy) from the top-left corner (pinhole only) */
    int width, height;    /* pixels */
    int projection;       /* facet_projection; 0 (pinhole) in a zero-initialised camera */
} facet_camera;

/* A similarity from the scene's world frame into a node's model frame: m = scale (R w + t)
 * (nerfstudio's dataparser transform; identity for nodes that work in world coordinates). */
typedef struct facet_model_frame {
    double r[9]; /* row-major 3x3 */
    double t[3];
    double scale;
} facet_model_frame;

typedef struct facet_ray {
    facet_vec3 origin;    /* world */
    facet_vec3 direction; /* world, unit length */
} facet_ray;

/* The ray through image point (x, y), in pixels from the top-left corner (pixel (i, j) covers
 * [i, i + 1) x [j, j + 1)): the projections above with i + 0.5 -> x and j + 0.5 -> y. Supersampling
 * (render/pixel_filter.h) shoots it at sub-pixel positions. */
static inline FACET_HD facet_ray facet_camera_ray_at(const facet_camera *cam, float x, float y) {
    facet_vec3 local;
    if (cam->projection == FACET_PROJECTION_EQUIRECTANGULAR) {
        const float pi = 3.14159265358979323846f;
        float u = (x - 0.5f * (float)cam->width) / (0.5f * (float)cam->width);
        float v = -((y - 0.5f * (float)cam->height) / (float)cam->height);
        float theta = -pi * u, phi = pi * (0.5f - v);
        local = facet_v3(-sinf(theta) * sinf(phi), cosf(phi), -cosf(theta) * sinf(phi));
    } else {
        local = facet_v3((x - cam->cx) / cam->fx, -((y - cam->cy) / cam->fy), -1.0f);
    }
    facet_ray ray;
    ray.origin = facet_v3(cam->c2w.m[3], cam->c2w.m[7], cam->c2w.m[11]);
    ray.direction = facet_v3_normalize(facet_mat4_direction(cam->c2w, local));
    return ray;
}

/* The ray through the centre of pixel (i, j): one ray per pixel, the NeRF protocol. */
static inline FACET_HD facet_ray facet_camera_ray(const facet_camera *cam, int i, int j) {
    return facet_camera_ray_at(cam, (float)i + 0.5f, (float)j + 0.5f);
}

/* A camera from a horizontal field of view (radians): fx = fy = 0.5 w / tan(0.5 fov_x), principal
 * point at the image centre. */
static inline facet_camera facet_camera_from_fov(facet_mat4 c2w, float fov_x, int width,
                                                 int height) {
    facet_camera cam;
    cam.c2w = c2w;
    cam.projection = FACET_PROJECTION_PINHOLE;
    cam.fx = cam.fy = 0.5f * (float)width / tanf(0.5f * fov_x);
    cam.cx = 0.5f * (float)width;
    cam.cy = 0.5f * (float)height;
    cam.width = width;
    cam.height = height;
    return cam;
}

/* The same camera at another resolution: intrinsics scale with the image. */
static inline facet_camera facet_camera_resized(facet_camera cam, int width, int height) {
    float sx = (float)width / (float)cam.width, sy = (float)height / (float)cam.height;
    cam.fx *= sx;
    cam.cx *= sx;
    cam.fy *= sy;
    cam.cy *= sy;
    cam.width = width;
    cam.height = height;
    return cam;
}

#endif
