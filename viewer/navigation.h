/* The viewer's camera controller: orbit and fly navigation around a scene, producing the
 * facet_camera that the renderer takes (render/camera.h conventions: camera-to-world, looking
 * along local -z with +y up).
 *
 * Orientation is yaw/pitch about the scene's up axis (the world axis nearest to the initial
 * camera's up: +z for Blender/NeRF scenes). Until the user moves, the exact initial (or snapped)
 * camera-to-world matrix is used, so the viewer renders the scene's camera bit for bit as
 * `facet render` does. Units: world units, radians, framebuffer pixels. */
#ifndef FACET_VIEWER_NAVIGATION_H
#define FACET_VIEWER_NAVIGATION_H

#include "render/camera.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum facet_nav_mode {
    FACET_NAV_ORBIT = 0, /* drag rotates about the target; scroll changes the distance */
    FACET_NAV_FLY,       /* drag turns the head; WASD/QE move the eye */
} facet_nav_mode;

typedef struct facet_nav {
    facet_nav_mode mode;
    facet_vec3 up;     /* world up axis (unit, one of +-x, +-y, +-z) */
    facet_vec3 target; /* orbit centre, world */
    float distance;    /* eye to target, world units (> 0) */
    float yaw, pitch;  /* view direction about `up`; pitch in [-89, 89] degrees (radians) */
    float zoom;        /* focal length factor over the base camera's (field of view) */
    facet_camera base; /* intrinsics and resolution the view derives from */
    int exact;         /* 1: use exact_c2w as is (no move since the last reset or snap) */
    facet_mat4 exact_c2w;
    facet_camera home; /* what reset returns to */
} facet_nav;

/* Starts on `camera` (a scene or dataset camera). The orbit target is the point of the view ray
 * closest to the world origin (scenes are centred there), at least 0.1 units ahead. */
void facet_nav_init(facet_nav *nav, const facet_camera *camera);
/* Jumps to `camera` (exactly: pose and intrinsics), keeping `home` and the mode. */
void facet_nav_snap(facet_nav *nav, const facet_camera *camera);
/* Back to the camera given to facet_nav_init. */
void facet_nav_reset(facet_nav *nav);

/* Mouse drag by (dx, dy) framebuffer pixels with the rotate button: orbit about the target, or
 * turn the head in fly mode. 0.005 rad per pixel. */
void facet_nav_rotate(facet_nav *nav, float dx, float dy);
/* Drag with the pan button: moves target and eye in the view plane, scaled by the distance. */
void facet_nav_pan(facet_nav *nav, float dx, float dy);
/* Scroll by `steps` (positive: towards the target): orbit distance x 0.9^steps; fly: moves the eye
 * forward by 0.1 x distance per step. */
void facet_nav_scroll(facet_nav *nav, float steps);
/* Moves the eye (and the target) by (forward, right, up) in units of the distance per second,
 * times `seconds` (WASD/QE). */
void facet_nav_move(facet_nav *nav, float forward, float right, float up, float seconds);
/* Multiplies the focal length by `factor` (zoom in > 1), kept to a 5..150 degree vertical view. */
void facet_nav_zoom(facet_nav *nav, float factor);

/* The eye position and the unit view direction. */
facet_vec3 facet_nav_eye(const facet_nav *nav);
facet_vec3 facet_nav_forward(const facet_nav *nav);
/* Vertical field of view (radians) at the current zoom. */
float facet_nav_fov_y(const facet_nav *nav);

/* The camera to render at width x height: the pose, and the base intrinsics scaled to the new
 * height (focal lengths, keeping pixel aspect) and width (principal point); for the base aspect
 * ratio this equals facet_camera_resized of the base camera. */
facet_camera facet_nav_camera(const facet_nav *nav, int width, int height);

#ifdef __cplusplus
}
#endif
#endif
