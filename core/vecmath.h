/* Small vector and matrix math for cameras and shading, host and device.
 * mat4 is row-major: m[row * 4 + col]; points transform as column vectors (p' = M p). */
#ifndef FACET_CORE_VECMATH_H
#define FACET_CORE_VECMATH_H

#include "hd.h"

#include <math.h>

typedef struct facet_vec3 {
    float x, y, z;
} facet_vec3;

typedef struct facet_mat4 {
    float m[16];
} facet_mat4;

static inline FACET_HD facet_vec3 facet_v3(float x, float y, float z) {
    facet_vec3 v = {x, y, z};
    return v;
}
static inline FACET_HD facet_vec3 facet_v3_add(facet_vec3 a, facet_vec3 b) {
    return facet_v3(a.x + b.x, a.y + b.y, a.z + b.z);
}
static inline FACET_HD facet_vec3 facet_v3_sub(facet_vec3 a, facet_vec3 b) {
    return facet_v3(a.x - b.x, a.y - b.y, a.z - b.z);
}
static inline FACET_HD facet_vec3 facet_v3_mul(facet_vec3 a, facet_vec3 b) {
    return facet_v3(a.x * b.x, a.y * b.y, a.z * b.z);
}
static inline FACET_HD facet_vec3 facet_v3_scale(facet_vec3 a, float s) {
    return facet_v3(a.x * s, a.y * s, a.z * s);
}
static inline FACET_HD float facet_v3_dot(facet_vec3 a, facet_vec3 b) {
    return a.x * b.x + a.y * b.y + a.z * b.z;
}
static inline FACET_HD facet_vec3 facet_v3_cross(facet_vec3 a, facet_vec3 b) {
    return facet_v3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}
static inline FACET_HD float facet_v3_length(facet_vec3 a) {
    return sqrtf(facet_v3_dot(a, a));
}
/* a / |a|; the zero vector stays zero. */
static inline FACET_HD facet_vec3 facet_v3_normalize(facet_vec3 a) {
    float len = facet_v3_length(a);
    return len > 0.0f ? facet_v3_scale(a, 1.0f / len) : a;
}

static inline FACET_HD facet_mat4 facet_mat4_identity(void) {
    facet_mat4 r = {{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}};
    return r;
}
static inline FACET_HD facet_mat4 facet_mat4_mul(facet_mat4 a, facet_mat4 b) {
    facet_mat4 r;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            float s = 0.0f;
            for (int k = 0; k < 4; k++) s += a.m[i * 4 + k] * b.m[k * 4 + j];
            r.m[i * 4 + j] = s;
        }
    return r;
}
/* M p for a point (w = 1). */
static inline FACET_HD facet_vec3 facet_mat4_point(facet_mat4 m, facet_vec3 p) {
    return facet_v3(m.m[0] * p.x + m.m[1] * p.y + m.m[2] * p.z + m.m[3],
                    m.m[4] * p.x + m.m[5] * p.y + m.m[6] * p.z + m.m[7],
                    m.m[8] * p.x + m.m[9] * p.y + m.m[10] * p.z + m.m[11]);
}
/* M d for a direction (w = 0). */
static inline FACET_HD facet_vec3 facet_mat4_direction(facet_mat4 m, facet_vec3 d) {
    return facet_v3(m.m[0] * d.x + m.m[1] * d.y + m.m[2] * d.z,
                    m.m[4] * d.x + m.m[5] * d.y + m.m[6] * d.z,
                    m.m[8] * d.x + m.m[9] * d.y + m.m[10] * d.z);
}
/* Rotation by `radians` about the z axis (counter-clockwise seen from +z). */
static inline FACET_HD facet_mat4 facet_mat4_rotation_z(float radians) {
    float c = cosf(radians), s = sinf(radians);
    facet_mat4 r = {{c, -s, 0, 0, s, c, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}};
    return r;
}

#endif
