/* The risesdf node's per-ray function ("sphere_trace" mode), shared by its CPU loop
 * (risesdf_node.c) and its CUDA kernel (cuda/risesdf_cuda.cu):
 *   1. clip the ray to the field's box [-radius, radius]^3 (slab test) -> [t0, t1], t0 >= 0;
 *   2. march t = t0, t += step_scale * sdf(o + t d) until sdf < epsilon (a hit, world units; a
 *      ray starting inside the surface hits at t0), t > t1 or max_steps run out (a miss);
 *   3. at the hit x: finite-difference normal n, feature and material heads, split-sum shading
 *      (splitsum.h) with base colour = albedo, roughness, metallic, towards wi = -d.
 * A hit returns linear radiance, alpha 1 and depth t; a miss zero colour, alpha 0, depth +inf.
 * Points are clamped to the box before every field evaluation (the field is undefined outside). */
#ifndef FACET_RENDER_RISESDF_RAY_H
#define FACET_RENDER_RISESDF_RAY_H

#include "lighting.h"
#include "scene.h"
#include "splitsum.h"

#include "core/hd.h"
#include "fields/risesdf.h"

#include <math.h>

typedef struct facet_risesdf_ray_params {
    facet_risesdf_field field;
    int max_steps;    /* march steps before giving up (default 256) */
    float epsilon;    /* hit threshold on the sdf, world units (default 5e-4) */
    float step_scale; /* fraction of the sdf stepped (default 1; < 1 for non-metric fields) */
} facet_risesdf_ray_params;

/* [t0, t1] of the unit ray inside the box [-r, r]^3; 0 when it misses. */
static inline FACET_HD int facet_risesdf_box_interval(float r, const float o[3], const float d[3],
                                                      float *t0, float *t1) {
    float lo = 0.0f, hi = INFINITY;
    for (int k = 0; k < 3; k++) {
        if (d[k] == 0.0f) {
            if (o[k] < -r || o[k] > r) return 0;
            continue;
        }
        const float inv = 1.0f / d[k];
        float a = (-r - o[k]) * inv, b = (r - o[k]) * inv;
        if (a > b) {
            const float tmp = a;
            a = b;
            b = tmp;
        }
        lo = fmaxf(lo, a);
        hi = fminf(hi, b);
    }
    *t0 = lo;
    *t1 = hi;
    return lo <= hi;
}

/* o + t d clamped to the box. */
static inline FACET_HD void facet_risesdf_point(float r, const float o[3], const float d[3],
                                                float t, float x[3]) {
    for (int k = 0; k < 3; k++) x[k] = fminf(fmaxf(o[k] + t * d[k], -r), r);
}

/* Returns 1 and the hit distance, or 0 for a miss. */
static inline FACET_HD int facet_risesdf_trace(const facet_risesdf_ray_params *p, const float o[3],
                                               const float d[3], float *t_hit) {
    const float r = p->field.radius;
    float t0, t1;
    if (!facet_risesdf_box_interval(r, o, d, &t0, &t1)) return 0;
    float t = t0;
    for (int step = 0; step < p->max_steps && t <= t1; step++) {
        float x[3];
        facet_risesdf_point(r, o, d, t, x);
        const float s = facet_risesdf_sdf(&p->field, x);
        if (s < p->epsilon) {
            *t_hit = t;
            return 1;
        }
        t += p->step_scale * s;
    }
    return 0;
}

static inline FACET_HD void facet_risesdf_render_ray(const facet_risesdf_ray_params *p,
                                                     const facet_lighting_view *light,
                                                     facet_vec3 origin, facet_vec3 direction,
                                                     facet_ray_result *out) {
    const float o[3] = {origin.x, origin.y, origin.z},
                d[3] = {direction.x, direction.y, direction.z};
    float t;
    if (!facet_risesdf_trace(p, o, d, &t)) {
        out->rgb[0] = out->rgb[1] = out->rgb[2] = 0.0f;
        out->alpha = 0.0f;
        out->depth = INFINITY;
        return;
    }
    float x[3], n[3], feature[FACET_RISESDF_MAX_WIDTH];
    facet_risesdf_point(p->field.radius, o, d, t, x);
    facet_risesdf_normal(&p->field, x, n);
    facet_risesdf_feature(&p->field, x, feature);
    facet_risesdf_material m;
    facet_risesdf_material_at(&p->field, feature, x, &m);
    facet_material mat = {{m.albedo[0], m.albedo[1], m.albedo[2]}, m.roughness, m.metallic};
    facet_splitsum_shade(light, facet_v3(n[0], n[1], n[2]), facet_v3_scale(direction, -1.0f), &mat,
                         out->rgb);
    out->alpha = 1.0f;
    out->depth = t;
}

#endif
