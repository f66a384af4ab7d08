/* The risesdf node's per-ray parameters and its "sphere_trace" per-ray function, shared by its CPU
 * loop (risesdf_node.c) and its CUDA kernel (cuda/risesdf_node.cu); the "volume" mode (the official
 * NeuS renderer) is in risesdf_volume.h. Sphere tracing:
 *   1. clip the ray to the field's box [-radius, radius]^3 (slab test) -> [t0, t1], t0 >= 0;
 *   2. march t = t0, t += step_scale * sdf(o + t d) until sdf < epsilon (a hit, world units; a
 *      ray starting inside the surface hits at t0), t > t1 or max_steps run out (a miss);
 *   3. at the hit x: finite-difference normal n, feature and material heads, split-sum shading
 *      (splitsum.h) with base colour = albedo, roughness, metallic, towards wi = -d;
 *   4. optionally the second split-sum for the specular light (below).
 * A hit returns linear radiance, alpha 1 and depth t; a miss zero colour, alpha 0, depth +inf.
 * Points are clamped to the box before every field evaluation (the field is undefined outside). */
#ifndef FACET_NODES_RISESDF_RAY_H
#define FACET_NODES_RISESDF_RAY_H

#include "lighting/lighting.h"
#include "render/scene.h"
#include "lighting/splitsum.h"

#include "core/hd.h"
#include "fields/risesdf.h"

#include <math.h>
#include <stdint.h>

/* The second split-sum (official relighting, models/split_mixed_occ.py), sphere-traced: from a
 * primary hit x with roughness <= indirect_max_roughness, trace the reflected ray d2 = wo for t
 * in [0.05, 1.5]; on a hit x3 (transmittance 0) the primary specular light L_spec(wo, r) is
 * replaced by the split-sum radiance leaving x3 towards x: (1 - m3) a3 E_d(n3) +
 * (F0_3 A3 + B3) L_spec(dir3, r3), where dir3 is d2 itself (PARITY: the official lookup) or the
 * reflection of -d2 about n3 (QUALITY); on a miss (transmittance 1) it is kept. */
enum {
    FACET_RISESDF_INDIRECT_OFF = 0,
    FACET_RISESDF_INDIRECT_PARITY,
    FACET_RISESDF_INDIRECT_QUALITY,
};

/* Render modes ("mode" in the scene file). */
enum {
    FACET_RISESDF_MODE_SPHERE_TRACE = 0,
    FACET_RISESDF_MODE_VOLUME,
};

typedef struct facet_risesdf_ray_params {
    facet_risesdf_field field;
    int max_steps;    /* march steps before giving up (default 256) */
    float epsilon;    /* hit threshold on the sdf, world units (default 5e-4) */
    float step_scale; /* fraction of the sdf stepped (default 1; < 1 for non-metric fields) */
    int indirect;     /* second split-sum: FACET_RISESDF_INDIRECT_* */
    float indirect_max_roughness; /* only hits with roughness <= this (official 0.3) */
    int mode;                     /* FACET_RISESDF_MODE_* */
    /* "volume" mode only (risesdf_volume.h) */
    const uint32_t *occupied; /* occupancy bits of the grid_resolution^3 cells over the box */
    int grid_resolution;      /* cells per axis (official 128) */
    float inv_s;              /* NeuS sharpness exp(10 variance), clipped to [1e-6, 1e6] */
    float step; /* primary march step, world units (official 1.732 * 2 radius / 1024) */
} facet_risesdf_ray_params;

/* [t0, t1] (t0 >= 0, in units of d, which need not be unit) of the ray o + t d inside the box
 * [-r, r]^3; 0 when it misses. */
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

/* Marches o + t d for t in [t_min, t_max] within the box; returns 1 and the hit distance, or 0
 * for a miss. scratch: 3 W (fields/risesdf.h). */
static inline FACET_HD int facet_risesdf_trace_range(const facet_risesdf_ray_params *p,
                                                     const float o[3], const float d[3],
                                                     float t_min, float t_max, float *t_hit,
                                                     float *scratch) {
    const float r = p->field.radius;
    float t0, t1;
    if (!facet_risesdf_box_interval(r, o, d, &t0, &t1)) return 0;
    float t = t0 > t_min ? t0 : t_min;
    t1 = t1 < t_max ? t1 : t_max;
    for (int step = 0; step < p->max_steps && t <= t1; step++) {
        float x[3];
        facet_risesdf_point(r, o, d, t, x);
        const float s = facet_risesdf_sdf(&p->field, x, scratch);
        if (s < p->epsilon) {
            *t_hit = t;
            return 1;
        }
        t += p->step_scale * s;
    }
    return 0;
}

/* Returns 1 and the hit distance, or 0 for a miss. scratch: 3 W. */
static inline FACET_HD int facet_risesdf_trace(const facet_risesdf_ray_params *p, const float o[3],
                                               const float d[3], float *t_hit, float *scratch) {
    return facet_risesdf_trace_range(p, o, d, 0.0f, INFINITY, t_hit, scratch);
}

/* Normal and material at x (clamped into the box). scratch: 5 W (the feature, then the normal's,
 * the feature's and the material's scratch after it). */
static inline FACET_HD void facet_risesdf_surface(const facet_risesdf_field *f, const float x[3],
                                                  float n[3], facet_material *mat, float *scratch) {
    float *feature = scratch;
    facet_risesdf_normal(f, x, n, scratch + f->width);
    facet_risesdf_feature(f, x, feature, scratch + f->width);
    facet_risesdf_material m;
    facet_risesdf_material_at(f, feature, x, &m, scratch + f->width);
    for (int c = 0; c < 3; c++) mat->base_color[c] = m.albedo[c];
    mat->roughness = m.roughness;
    mat->metallic = m.metallic;
}

/* Split-sum terms at a point: diffuse part (1 - m) a E_d(n) into diffuse[3], the specular
 * reflectance F0 A + B into reflectance[3] (A, B at clamp(n.wi), clamp(r)). */
static inline FACET_HD void facet_risesdf_split(const facet_lighting_view *light, const float n[3],
                                                const float wi[3], const facet_material *m,
                                                float diffuse[3], float reflectance[3]) {
    const float nov = n[0] * wi[0] + n[1] * wi[1] + n[2] * wi[2];
    float e[3], a, b;
    facet_splitsum_diffuse_light(light, facet_v3(n[0], n[1], n[2]), e);
    facet_dfg_lookup(light->dfg, nov, m->roughness, &a, &b);
    for (int k = 0; k < 3; k++) {
        const float f0 = 0.04f * (1.0f - m->metallic) + m->metallic * m->base_color[k];
        diffuse[k] = (1.0f - m->metallic) * m->base_color[k] * e[k];
        reflectance[k] = f0 * a + b;
    }
}

/* The radiance leaving x3 towards -d2 (the official secondary_shading_pbr), rgb[3] out.
 * scratch: 5 W. */
static inline FACET_HD void facet_risesdf_secondary_radiance(const facet_risesdf_ray_params *p,
                                                             const facet_lighting_view *light,
                                                             const float x3[3], const float d2[3],
                                                             float rgb[3], float *scratch) {
    float n3[3], wi3[3], dir3[3], diffuse[3], reflectance[3], spec[3];
    facet_material mat;
    facet_risesdf_surface(&p->field, x3, n3, &mat, scratch);
    for (int k = 0; k < 3; k++) wi3[k] = -d2[k];
    const float nov = n3[0] * wi3[0] + n3[1] * wi3[1] + n3[2] * wi3[2];
    for (int k = 0; k < 3; k++)
        dir3[k] =
            p->indirect == FACET_RISESDF_INDIRECT_PARITY ? d2[k] : 2.0f * nov * n3[k] - wi3[k];
    facet_risesdf_split(light, n3, wi3, &mat, diffuse, reflectance);
    facet_splitsum_specular_light(light, facet_v3(dir3[0], dir3[1], dir3[2]), mat.roughness, spec);
    for (int k = 0; k < 3; k++) rgb[k] = diffuse[k] + reflectance[k] * spec[k];
}

/* The "sphere_trace" per-ray function; scratch: FACET_RISESDF_SCRATCH_WIDTHS W floats
 * (fields/risesdf.h). */
static inline FACET_HD void facet_risesdf_render_ray(const facet_risesdf_ray_params *p,
                                                     const facet_lighting_view *light,
                                                     facet_vec3 origin, facet_vec3 direction,
                                                     facet_ray_result *out, float *scratch) {
    const float o[3] = {origin.x, origin.y, origin.z},
                d[3] = {direction.x, direction.y, direction.z};
    float t;
    if (!facet_risesdf_trace(p, o, d, &t, scratch)) {
        out->rgb[0] = out->rgb[1] = out->rgb[2] = 0.0f;
        out->alpha = 0.0f;
        out->depth = INFINITY;
        return;
    }
    float x[3], n[3], wi[3], wo[3], diffuse[3], reflectance[3], spec[3];
    facet_material mat;
    facet_risesdf_point(p->field.radius, o, d, t, x);
    facet_risesdf_surface(&p->field, x, n, &mat, scratch);
    for (int k = 0; k < 3; k++) wi[k] = -d[k];
    const float nov = n[0] * wi[0] + n[1] * wi[1] + n[2] * wi[2];
    for (int k = 0; k < 3; k++) wo[k] = 2.0f * nov * n[k] - wi[k];
    facet_risesdf_split(light, n, wi, &mat, diffuse, reflectance);
    facet_splitsum_specular_light(light, facet_v3(wo[0], wo[1], wo[2]), mat.roughness, spec);
    float t2;
    if (p->indirect != FACET_RISESDF_INDIRECT_OFF && mat.roughness <= p->indirect_max_roughness &&
        facet_risesdf_trace_range(p, x, wo, 0.05f, 1.5f, &t2, scratch)) {
        float x3[3];
        facet_risesdf_point(p->field.radius, x, wo, t2, x3);
        facet_risesdf_secondary_radiance(p, light, x3, wo, spec, scratch);
    }
    for (int k = 0; k < 3; k++) out->rgb[k] = diffuse[k] + reflectance[k] * spec[k];
    out->alpha = 1.0f;
    out->depth = t;
}

#endif
