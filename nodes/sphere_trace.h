/* Sphere tracing (Hart 1996) of an analytic SDF object along a ray, host and device.
 *
 * The ray is clipped to the object's world bounding sphere (or [0, t_max] when unbounded), then
 * marched by the distance bound: t += sdf(o + t d) until sdf < max(epsilon * t, 1e-6) (a hit;
 * epsilon ~ the pixel footprint in radians), t leaves the interval, or max_steps run out (a miss).
 * A ray starting inside the object hits at its first point. Distances are in world units along a
 * unit direction, so t is the depth the scene compositor sorts by. */
#ifndef FACET_NODES_SPHERE_TRACE_H
#define FACET_NODES_SPHERE_TRACE_H

#include "sdf_shapes.h"

#include "core/hd.h"
#include "core/vecmath.h"

#include <math.h>

typedef struct facet_trace_params {
    float t_max;   /* farthest distance considered for unbounded objects (world units) */
    int max_steps; /* march steps before giving up */
    float epsilon; /* relative hit threshold: sdf < epsilon * t */
} facet_trace_params;

/* The parameter interval [t0, t1] where the unit-direction ray o + t d is inside the sphere
 * (center c, radius r); 0 when it misses. */
static inline FACET_HD int facet_ray_sphere_interval(facet_vec3 o, facet_vec3 d, facet_vec3 c,
                                                     float r, float *t0, float *t1) {
    facet_vec3 oc = facet_v3_sub(o, c);
    float b = facet_v3_dot(oc, d), q = facet_v3_dot(oc, oc) - r * r;
    float disc = b * b - q;
    if (disc < 0.0f) return 0;
    float s = sqrtf(disc);
    *t0 = -b - s;
    *t1 = -b + s;
    return *t1 >= 0.0f;
}

/* Marches the ray (o, unit d) against object `obj`; returns 1 and the hit distance in *t_hit, or
 * 0 for a miss. */
static inline FACET_HD int facet_sphere_trace(const facet_sdf_object *obj, facet_vec3 o,
                                              facet_vec3 d, const facet_trace_params *params,
                                              float *t_hit) {
    float t0 = 0.0f, t1 = params->t_max;
    if (obj->bound_radius >= 0.0f) {
        /* a little slack: the marcher stops up to epsilon * t outside the surface */
        if (!facet_ray_sphere_interval(o, d, obj->bound_center, obj->bound_radius * 1.001f, &t0,
                                       &t1))
            return 0;
        t0 = fmaxf(t0, 0.0f);
    }
    float t = t0;
    for (int step = 0; step < params->max_steps && t <= t1; step++) {
        float dist = facet_sdf_object_distance(obj, facet_v3_add(o, facet_v3_scale(d, t)), NULL);
        if (dist < fmaxf(params->epsilon * t, 1e-6f)) {
            *t_hit = t;
            return 1;
        }
        t += dist;
    }
    return 0;
}

#endif
