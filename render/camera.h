/* Pinhole cameras and primary rays (NeRF/Blender convention: camera-to-world matrix, the camera
 * looks along its local -z with +y up; pixel (i, j) is column i, row j from the top-left, and its
 * ray passes through the pixel centre (i + 0.5, j + 0.5)). */
#ifndef FACET_RENDER_CAMERA_H
#define FACET_RENDER_CAMERA_H

#include "core/hd.h"
#include "core/vecmath.h"

typedef struct facet_camera {
    facet_mat4 c2w;       /* camera-to-world, row-major */
    float fx, fy, cx, cy; /* pixels; (cx, cy) from the top-left corner */
    int width, height;    /* pixels */
} facet_camera;

typedef struct facet_ray {
    facet_vec3 origin;    /* world */
    facet_vec3 direction; /* world, unit length */
} facet_ray;

/* The ray through the centre of pixel (i, j). */
static inline FACET_HD facet_ray facet_camera_ray(const facet_camera *cam, int i, int j) {
    facet_vec3 local = facet_v3(((float)i + 0.5f - cam->cx) / cam->fx,
                                -(((float)j + 0.5f - cam->cy) / cam->fy), -1.0f);
    facet_ray ray;
    ray.origin = facet_v3(cam->c2w.m[3], cam->c2w.m[7], cam->c2w.m[11]);
    ray.direction = facet_v3_normalize(facet_mat4_direction(cam->c2w, local));
    return ray;
}

/* A camera from a horizontal field of view (radians): fx = fy = 0.5 w / tan(0.5 fov_x), principal
 * point at the image centre. */
static inline facet_camera facet_camera_from_fov(facet_mat4 c2w, float fov_x, int width,
                                                 int height) {
    facet_camera cam;
    cam.c2w = c2w;
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
