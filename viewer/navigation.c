#include "navigation.h"

#include <math.h>

static const float pitch_limit = 1.5533430f; /* 89 degrees */

static float clampf(float x, float lo, float hi) {
    return x < lo ? lo : x > hi ? hi : x;
}

/* Column k of a row-major camera-to-world matrix: the camera's x, y, z axes and its position. */
static facet_vec3 column(const facet_mat4 *m, int k) {
    return facet_v3(m->m[k], m->m[4 + k], m->m[8 + k]);
}

/* An orthonormal frame (e1, e2, up) in which yaw 0 points along e1 and yaw pi/2 along e2. */
static void horizontal_frame(facet_vec3 up, facet_vec3 *e1, facet_vec3 *e2) {
    facet_vec3 helper = fabsf(up.x) < 0.5f ? facet_v3(1, 0, 0) : facet_v3(0, 1, 0);
    *e1 = facet_v3_normalize(facet_v3_sub(helper, facet_v3_scale(up, facet_v3_dot(helper, up))));
    *e2 = facet_v3_cross(up, *e1);
}

/* The world axis (+-x, +-y, +-z) nearest to v. */
static facet_vec3 nearest_axis(facet_vec3 v) {
    float a[3] = {v.x, v.y, v.z};
    int best = 0;
    for (int k = 1; k < 3; k++)
        if (fabsf(a[k]) > fabsf(a[best])) best = k;
    float out[3] = {0, 0, 0};
    out[best] = a[best] < 0 ? -1.0f : 1.0f;
    return facet_v3(out[0], out[1], out[2]);
}

facet_vec3 facet_nav_forward(const facet_nav *nav) {
    if (nav->exact) return facet_v3_scale(facet_v3_normalize(column(&nav->exact_c2w, 2)), -1.0f);
    facet_vec3 e1, e2;
    horizontal_frame(nav->up, &e1, &e2);
    facet_vec3 h =
        facet_v3_add(facet_v3_scale(e1, cosf(nav->yaw)), facet_v3_scale(e2, sinf(nav->yaw)));
    return facet_v3_add(facet_v3_scale(h, cosf(nav->pitch)),
                        facet_v3_scale(nav->up, sinf(nav->pitch)));
}

facet_vec3 facet_nav_eye(const facet_nav *nav) {
    return facet_v3_sub(nav->target, facet_v3_scale(facet_nav_forward(nav), nav->distance));
}

/* Sets yaw/pitch from a view direction. */
static void set_direction(facet_nav *nav, facet_vec3 forward) {
    facet_vec3 e1, e2;
    horizontal_frame(nav->up, &e1, &e2);
    float s = clampf(facet_v3_dot(forward, nav->up), -1.0f, 1.0f);
    nav->pitch = clampf(asinf(s), -pitch_limit, pitch_limit);
    nav->yaw = atan2f(facet_v3_dot(forward, e2), facet_v3_dot(forward, e1));
}

/* Leaves the exact pose: from now on the pose is yaw/pitch/target/distance. */
static void release_exact(facet_nav *nav) {
    if (!nav->exact) return;
    facet_vec3 forward = facet_nav_forward(nav);
    set_direction(nav, forward);
    nav->exact = 0;
}

void facet_nav_snap(facet_nav *nav, const facet_camera *camera) {
    nav->base = *camera;
    nav->zoom = 1.0f;
    nav->exact = 1;
    nav->exact_c2w = camera->c2w;
    facet_vec3 eye = column(&camera->c2w, 3);
    facet_vec3 forward = facet_v3_scale(facet_v3_normalize(column(&camera->c2w, 2)), -1.0f);
    /* the view ray's closest approach to the origin */
    float t = -facet_v3_dot(eye, forward);
    if (t < 0.1f) t = facet_v3_length(eye) > 0.1f ? facet_v3_length(eye) : 1.0f;
    nav->distance = t;
    nav->target = facet_v3_add(eye, facet_v3_scale(forward, t));
    set_direction(nav, forward);
}

void facet_nav_init(facet_nav *nav, const facet_camera *camera) {
    nav->mode = FACET_NAV_ORBIT;
    nav->up = nearest_axis(column(&camera->c2w, 1));
    nav->home = *camera;
    facet_nav_snap(nav, camera);
}

void facet_nav_reset(facet_nav *nav) {
    facet_nav_snap(nav, &nav->home);
}

void facet_nav_rotate(facet_nav *nav, float dx, float dy) {
    if (dx == 0.0f && dy == 0.0f) return;
    release_exact(nav);
    facet_vec3 eye = facet_nav_eye(nav);
    /* dragging right turns the view to the left around the target (the object follows the
     * mouse); in fly mode the head turns with the mouse */
    const float k = 0.005f;
    if (nav->mode == FACET_NAV_ORBIT) {
        nav->yaw -= dx * k;
        nav->pitch = clampf(nav->pitch + dy * k, -pitch_limit, pitch_limit);
    } else {
        nav->yaw -= dx * k;
        nav->pitch = clampf(nav->pitch - dy * k, -pitch_limit, pitch_limit);
        /* the eye stays put: the target moves with the view */
        nav->target = facet_v3_add(eye, facet_v3_scale(facet_nav_forward(nav), nav->distance));
    }
}

/* The camera's right and up axes for the current (non-exact) pose. */
static void view_axes(const facet_nav *nav, facet_vec3 *right, facet_vec3 *up) {
    facet_vec3 f = facet_nav_forward(nav);
    *right = facet_v3_normalize(facet_v3_cross(f, nav->up));
    *up = facet_v3_cross(*right, f);
}

void facet_nav_pan(facet_nav *nav, float dx, float dy) {
    if (dx == 0.0f && dy == 0.0f) return;
    release_exact(nav);
    facet_vec3 right, up;
    view_axes(nav, &right, &up);
    const float k = 0.0015f * nav->distance;
    nav->target = facet_v3_add(
        nav->target, facet_v3_add(facet_v3_scale(right, -dx * k), facet_v3_scale(up, dy * k)));
}

void facet_nav_scroll(facet_nav *nav, float steps) {
    if (steps == 0.0f) return;
    release_exact(nav);
    if (nav->mode == FACET_NAV_ORBIT) {
        nav->distance = clampf(nav->distance * powf(0.9f, steps), 1e-3f, 1e4f);
    } else {
        facet_vec3 f = facet_nav_forward(nav);
        nav->target = facet_v3_add(nav->target, facet_v3_scale(f, 0.1f * steps * nav->distance));
    }
}

void facet_nav_move(facet_nav *nav, float forward, float right, float up, float seconds) {
    if ((forward == 0.0f && right == 0.0f && up == 0.0f) || seconds <= 0.0f) return;
    release_exact(nav);
    facet_vec3 r, u;
    view_axes(nav, &r, &u);
    facet_vec3 f = facet_nav_forward(nav);
    facet_vec3 step =
        facet_v3_add(facet_v3_add(facet_v3_scale(f, forward), facet_v3_scale(r, right)),
                     facet_v3_scale(nav->up, up));
    nav->target = facet_v3_add(nav->target, facet_v3_scale(step, nav->distance * seconds));
}

float facet_nav_fov_y(const facet_nav *nav) {
    return 2.0f * atanf(0.5f * (float)nav->base.height / (nav->base.fy * nav->zoom));
}

void facet_nav_zoom(facet_nav *nav, float factor) {
    const float lo = 5.0f * 3.14159265f / 180.0f, hi = 150.0f * 3.14159265f / 180.0f;
    float zoom = nav->zoom * factor;
    float fov = 2.0f * atanf(0.5f * (float)nav->base.height / (nav->base.fy * zoom));
    if (fov < lo) zoom = 0.5f * (float)nav->base.height / (nav->base.fy * tanf(0.5f * lo));
    if (fov > hi) zoom = 0.5f * (float)nav->base.height / (nav->base.fy * tanf(0.5f * hi));
    nav->zoom = zoom;
}

facet_camera facet_nav_camera(const facet_nav *nav, int width, int height) {
    facet_camera cam = facet_camera_resized(nav->base, width, height);
    /* focal lengths follow the height only, so a wider window shows more, not a stretched image */
    float s = (float)height / (float)nav->base.height * nav->zoom;
    cam.fx = nav->base.fx * s;
    cam.fy = nav->base.fy * s;
    if (nav->exact) {
        cam.c2w = nav->exact_c2w;
        return cam;
    }
    facet_vec3 f = facet_nav_forward(nav), r, u;
    view_axes(nav, &r, &u);
    facet_vec3 eye = facet_nav_eye(nav);
    const facet_vec3 axes[4] = {r, u, facet_v3_scale(f, -1.0f), eye};
    cam.c2w = facet_mat4_identity();
    for (int k = 0; k < 4; k++) {
        cam.c2w.m[k] = axes[k].x;
        cam.c2w.m[4 + k] = axes[k].y;
        cam.c2w.m[8 + k] = axes[k].z;
    }
    return cam;
}
