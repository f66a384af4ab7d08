/* Analytic signed distance functions (docs/formats.md `sdf` shapes), their unions and a similarity
 * transform, with analytic gradients; host and device.
 *
 * Shapes, in the object's local frame (distances in local units, negative inside):
 *   sphere   (center c, radius r)            |p - c| - r
 *   box      (center c, half_size h)         exact box distance
 *   torus    (center c, major R, minor r, axis a = normal of the ring's plane)
 *            sqrt((|p_perp| - R)^2 + (p.a)^2) - r, p relative to c, p_perp its part normal to a
 *   plane    (normal n (unit), offset o)     n.p - o (the half-space behind n is inside)
 *   capsule  (ends a, b, radius r)           distance to the segment ab minus r
 * An object is the union (minimum) of up to FACET_SDF_MAX_SHAPES shapes placed in the world by
 *   p_world = translate + scale * R p_local,  R = Rz(rz) Ry(ry) Rx(rx) (degrees, extrinsic X
 *   then Y then Z, Blender's XYZ Euler), scale > 0 uniform,
 * so sdf_world(p) = scale * sdf_local(R^T (p - translate) / scale) stays a true distance. */
#ifndef FACET_NODES_SDF_SHAPES_H
#define FACET_NODES_SDF_SHAPES_H

#include "core/hd.h"
#include "core/vecmath.h"

#include <math.h>
#include <stddef.h>

enum { FACET_SDF_MAX_SHAPES = 8 };

typedef enum facet_sdf_type {
    FACET_SDF_SPHERE = 0,
    FACET_SDF_BOX,
    FACET_SDF_TORUS,
    FACET_SDF_PLANE,
    FACET_SDF_CAPSULE,
} facet_sdf_type;

typedef struct facet_sdf_shape {
    facet_sdf_type type;
    facet_vec3 a; /* sphere, box, torus: centre; capsule: end a; plane: unit normal */
    facet_vec3 b; /* box: half sizes; torus: unit axis; capsule: end b */
    float r0;     /* sphere, capsule: radius; torus: major radius; plane: offset */
    float r1;     /* torus: minor radius */
} facet_sdf_shape;

typedef struct facet_sdf_object {
    int count;
    facet_sdf_shape shapes[FACET_SDF_MAX_SHAPES];
    float rotation[9]; /* local -> world, row-major */
    facet_vec3 translate;
    float scale;
    /* world-space bounding sphere of the union; bound_radius < 0: unbounded (contains a plane) */
    facet_vec3 bound_center;
    float bound_radius;
} facet_sdf_object;

static inline FACET_HD float facet_sdf_shape_distance(const facet_sdf_shape *s, facet_vec3 p) {
    switch (s->type) {
    case FACET_SDF_SPHERE:
        return facet_v3_length(facet_v3_sub(p, s->a)) - s->r0;
    case FACET_SDF_BOX: {
        facet_vec3 d = facet_v3_sub(p, s->a);
        float qx = fabsf(d.x) - s->b.x, qy = fabsf(d.y) - s->b.y, qz = fabsf(d.z) - s->b.z;
        facet_vec3 out = facet_v3(fmaxf(qx, 0.0f), fmaxf(qy, 0.0f), fmaxf(qz, 0.0f));
        return facet_v3_length(out) + fminf(fmaxf(qx, fmaxf(qy, qz)), 0.0f);
    }
    case FACET_SDF_TORUS: {
        facet_vec3 d = facet_v3_sub(p, s->a);
        float h = facet_v3_dot(d, s->b);
        float radial = facet_v3_length(facet_v3_sub(d, facet_v3_scale(s->b, h)));
        return sqrtf((radial - s->r0) * (radial - s->r0) + h * h) - s->r1;
    }
    case FACET_SDF_PLANE:
        return facet_v3_dot(p, s->a) - s->r0;
    default: { /* capsule */
        facet_vec3 pa = facet_v3_sub(p, s->a), ba = facet_v3_sub(s->b, s->a);
        float bb = facet_v3_dot(ba, ba);
        float t = bb > 0.0f ? fminf(fmaxf(facet_v3_dot(pa, ba) / bb, 0.0f), 1.0f) : 0.0f;
        return facet_v3_length(facet_v3_sub(pa, facet_v3_scale(ba, t))) - s->r0;
    }
    }
}

static inline FACET_HD float facet_signf(float x) {
    return x < 0.0f ? -1.0f : 1.0f;
}

/* Unit gradient of the shape's distance at p (local frame); any unit vector where undefined. */
static inline FACET_HD facet_vec3 facet_sdf_shape_normal(const facet_sdf_shape *s, facet_vec3 p) {
    facet_vec3 g;
    switch (s->type) {
    case FACET_SDF_SPHERE:
        g = facet_v3_sub(p, s->a);
        break;
    case FACET_SDF_BOX: {
        facet_vec3 d = facet_v3_sub(p, s->a);
        float qx = fabsf(d.x) - s->b.x, qy = fabsf(d.y) - s->b.y, qz = fabsf(d.z) - s->b.z;
        if (qx > 0.0f || qy > 0.0f || qz > 0.0f) {
            g = facet_v3(fmaxf(qx, 0.0f) * facet_signf(d.x), fmaxf(qy, 0.0f) * facet_signf(d.y),
                         fmaxf(qz, 0.0f) * facet_signf(d.z));
        } else if (qx >= qy && qx >= qz) {
            g = facet_v3(facet_signf(d.x), 0.0f, 0.0f);
        } else if (qy >= qz) {
            g = facet_v3(0.0f, facet_signf(d.y), 0.0f);
        } else {
            g = facet_v3(0.0f, 0.0f, facet_signf(d.z));
        }
        break;
    }
    case FACET_SDF_TORUS: {
        facet_vec3 d = facet_v3_sub(p, s->a);
        facet_vec3 radial = facet_v3_sub(d, facet_v3_scale(s->b, facet_v3_dot(d, s->b)));
        /* from the nearest point of the ring's core circle */
        g = facet_v3_sub(d, facet_v3_scale(facet_v3_normalize(radial), s->r0));
        break;
    }
    case FACET_SDF_PLANE:
        g = s->a;
        break;
    default: {
        facet_vec3 pa = facet_v3_sub(p, s->a), ba = facet_v3_sub(s->b, s->a);
        float bb = facet_v3_dot(ba, ba);
        float t = bb > 0.0f ? fminf(fmaxf(facet_v3_dot(pa, ba) / bb, 0.0f), 1.0f) : 0.0f;
        g = facet_v3_sub(pa, facet_v3_scale(ba, t));
        break;
    }
    }
    float len = facet_v3_length(g);
    return len > 0.0f ? facet_v3_scale(g, 1.0f / len) : facet_v3(0.0f, 0.0f, 1.0f);
}

/* World point -> the object's local frame. */
static inline FACET_HD facet_vec3 facet_sdf_to_local(const facet_sdf_object *o, facet_vec3 p) {
    facet_vec3 d = facet_v3_sub(p, o->translate);
    const float *r = o->rotation, inv = 1.0f / o->scale;
    return facet_v3((r[0] * d.x + r[3] * d.y + r[6] * d.z) * inv,
                    (r[1] * d.x + r[4] * d.y + r[7] * d.z) * inv,
                    (r[2] * d.x + r[5] * d.y + r[8] * d.z) * inv);
}

/* Signed distance of the object at world point p; *closest (may be NULL) gets the index of the
 * nearest shape. */
static inline FACET_HD float facet_sdf_object_distance(const facet_sdf_object *o, facet_vec3 p,
                                                       int *closest) {
    facet_vec3 q = facet_sdf_to_local(o, p);
    float best = INFINITY;
    int index = 0;
    for (int i = 0; i < o->count; i++) {
        float d = facet_sdf_shape_distance(&o->shapes[i], q);
        if (d < best) best = d, index = i;
    }
    if (closest) *closest = index;
    return best * o->scale;
}

/* Analytic unit normal (world) at world point p: the nearest shape's gradient, rotated. */
static inline FACET_HD facet_vec3 facet_sdf_object_normal(const facet_sdf_object *o, facet_vec3 p) {
    int i;
    facet_sdf_object_distance(o, p, &i);
    facet_vec3 n = facet_sdf_shape_normal(&o->shapes[i], facet_sdf_to_local(o, p));
    const float *r = o->rotation;
    return facet_v3(r[0] * n.x + r[1] * n.y + r[2] * n.z, r[3] * n.x + r[4] * n.y + r[5] * n.z,
                    r[6] * n.x + r[7] * n.y + r[8] * n.z);
}

/* Normal by central differences of the world distance with step h (world units). */
static inline FACET_HD facet_vec3 facet_sdf_object_normal_central(const facet_sdf_object *o,
                                                                  facet_vec3 p, float h) {
    float dx = facet_sdf_object_distance(o, facet_v3(p.x + h, p.y, p.z), NULL) -
               facet_sdf_object_distance(o, facet_v3(p.x - h, p.y, p.z), NULL);
    float dy = facet_sdf_object_distance(o, facet_v3(p.x, p.y + h, p.z), NULL) -
               facet_sdf_object_distance(o, facet_v3(p.x, p.y - h, p.z), NULL);
    float dz = facet_sdf_object_distance(o, facet_v3(p.x, p.y, p.z + h), NULL) -
               facet_sdf_object_distance(o, facet_v3(p.x, p.y, p.z - h), NULL);
    return facet_v3_normalize(facet_v3(dx, dy, dz));
}

#ifdef __cplusplus
extern "C" {
#endif

/* Sets rotation (from Euler angles in degrees, see above), translate and scale, and computes the
 * world bounding sphere of the shapes already in `o`. */
void facet_sdf_object_place(facet_sdf_object *o, const float rotate_deg[3],
                            const float translate[3], float scale);

#ifdef __cplusplus
}
#endif
#endif
