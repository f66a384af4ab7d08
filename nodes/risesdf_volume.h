/* The risesdf node's "volume" mode: RISE-SDF's own NeuS renderer (models/split_mixed_occ.py,
 * models/volrend.py, models/texture.py VolumeMixedMipSplitOcc, with nerfacc 0.5.3's
 * OccGridEstimator), per ray, host and device, shared by the CPU loop (risesdf_node.c) and the CUDA
 * kernel (cuda/risesdf_node.cu). The official test-time settings are fixed: cos_anneal_ratio 1,
 * no stratification, cone_angle 0, alpha_thre 0, early_stop_eps 1e-4.
 *
 * Occupancy grid: R^3 cells (R = grid_resolution, official 128) over the box [-r, r]^3, cell
 * (i, j, k) = floor((x + r) / (2 r) R) per axis (clamped to [0, R-1]), bit (i R + j) R + k of
 * `occupied` (bit b in word b / 32, nerfacc's x-major cell order). Built at load by
 * facet_risesdf_occupancy_build (below).
 *
 * March (nerfacc traverse_grids): the ray o + t d (d of any length, t in its units) is clipped to
 * the box and to [near, far] -> [t0, t1]; the lattice t_0 = near, t_{k+1} = t_k + dt is advanced by
 * float addition as nerfacc accumulates it; [t_k, t_{k+1}] is a sample when its midpoint
 * t_k + dt / 2 is in [t0, t1) and o + (t_k + dt / 2) d lies in an occupied cell (nerfacc finds the
 * cell by a DDA; the two agree except for midpoints within float rounding of a cell face). Samples
 * end once the transmittance before one is below 1e-4 (early_stop_eps: nerfacc drops them).
 *
 * Per sample at x = o + d (t_k + t_{k+1}) / 2 (not clamped), length dist = t_{k+1} - t_k:
 *   sdf and feature at x, unit normal n by clamped central differences (fields/risesdf.h);
 *   NeuS alpha (get_alpha with cos_anneal_ratio 1): c = min(d.n, 0), prev = sdf - c dist / 2,
 *   next = sdf + c dist / 2, P = sigmoid(prev inv_s), Q = sigmoid(next inv_s),
 *   alpha = clamp((P - Q + 1e-5) / (P + 1e-5), 0, 1); weight w = T alpha, then T <- T (1 - alpha).
 * Primary rays (near 0, far 1e10, dt = step = 1.732 * 2 r / 1024): every sample is shaded as the
 *   official texture forward: wi = -d, wo = 2 (n.wi) n - wi, diffuse (1 - m) a E_d(n), specular
 *   reflectance F0 A + B at (clamp(n.wi), clamp(r)), specular light L_spec(wo, r); the ray sums
 *   W = sum w (opacity), D = sum w t_mid (depth, not normalised), N = sum w n (accumulated
 *   normal, not normalised), r_acc = sum w r, and the weight sums of diffuse, reflectance (R_acc),
 *   specular light (L_acc) and reflectance x light (S).
 * Second split-sum ("indirect" not off: the official relighting path) for rays with W > 0.5 and
 *   r_acc <= indirect_max_roughness: o2 = o + D d, d2 = 2 (wo.N) N - wo with wo = -d (not
 *   renormalised); the secondary march of o2 + t d2 (near 0.05, far 1.5, dt = 1.45 / 95: the
 *   official 96 samples; alphas along d2 itself) gives tr = clamp(1 - sum w, 0, 1) and
 *   D2 = sum w t_mid; at x3 = o2 + D2 d2, seen from wi3 = -d2 (not unit):
 *   L3 = (1 - m3) a3 E_d(n3) + (F0_3 A + B)(clamp(n3.wi3), clamp(r3)) L_spec(dir3, r3), with
 *   dir3 = d2 (PARITY: the official lookup) or 2 (n3.wi3) n3 - wi3 (QUALITY), and
 *   L_acc <- tr L_acc + (1 - tr) L3. With indirect on every ray's specular is R_acc L_acc (the
 *   official code multiplies the summed maps of every ray of a chunk holding a pixel with opacity
 *   > 0.5); with indirect off it is S (its per-sample product, summed).
 * Result: rgb = diffuse sum + specular (premultiplied, linear), alpha = W, depth = D / W (+inf when
 * W = 0); the renderer composites the background through 1 - W (the official white background). */
#ifndef FACET_NODES_RISESDF_VOLUME_H
#define FACET_NODES_RISESDF_VOLUME_H

#include "risesdf_ray.h"

#include "core/hd.h"
#include "core/status.h"

#include <math.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FACET_RISESDF_GRID_RESOLUTION = 128,  /* nerfacc OccGridEstimator resolution */
    FACET_RISESDF_SAMPLES_PER_RAY = 1024, /* num_samples_per_ray: step = 1.732 * 2 r / 1024 */
    FACET_RISESDF_SECONDARY_SAMPLES = 96, /* num_samples_per_secondary_ray */
};
#define FACET_RISESDF_EARLY_STOP 1e-4f     /* nerfacc early_stop_eps on the transmittance */
#define FACET_RISESDF_OCC_THRESHOLD 1e-3f  /* grid_prune_occ_thre of the official config */
#define FACET_RISESDF_SECONDARY_NEAR 0.05f /* secondary_near_plane */
#define FACET_RISESDF_SECONDARY_FAR 1.5f   /* secondary_far_plane */
/* (far - near) / (samples - 1) in double, as the official Python computes it, then float */
#define FACET_RISESDF_SECONDARY_STEP ((float)((1.5 - 0.05) / (FACET_RISESDF_SECONDARY_SAMPLES - 1)))

/* NeuS alpha of one sample of length dist with sdf at its midpoint and cos_dn = d.n. */
static inline FACET_HD float facet_risesdf_neus_alpha(float sdf, float cos_dn, float dist,
                                                      float inv_s) {
    const float c = fminf(cos_dn, 0.0f);
    const float next = sdf + c * dist * 0.5f, prev = sdf - c * dist * 0.5f;
    const float p = facet_risesdf_sigmoid(prev * inv_s), q = facet_risesdf_sigmoid(next * inv_s);
    const float alpha = (p - q + 1e-5f) / (p + 1e-5f);
    return fminf(fmaxf(alpha, 0.0f), 1.0f);
}

/* The occupancy bit of the cell holding x. */
static inline FACET_HD int facet_risesdf_occupied(const facet_risesdf_ray_params *p,
                                                  const float x[3]) {
    const int res = p->grid_resolution;
    const float r = p->field.radius;
    uint32_t cell = 0;
    for (int k = 0; k < 3; k++) {
        const float u = fminf(fmaxf((x[k] + r) / (2.0f * r) * (float)res, 0.0f), (float)(res - 1));
        cell = cell * (uint32_t)res + (uint32_t)u;
    }
    return (int)((p->occupied[cell >> 5] >> (cell & 31u)) & 1u);
}

/* A ray being marched through the occupied cells. */
typedef struct facet_risesdf_march {
    float o[3], d[3];
    float t;  /* current lattice point */
    float dt; /* lattice step */
    float t1; /* end of the ray's interval in the box and [near, far] */
} facet_risesdf_march;

/* Starts marching o + t d over [near, far]; 0 when the ray misses the box there. The lattice is
 * walked from `near` to the box by float additions (nerfacc's order); a ray so far away that
 * t + dt rounds to t is reported as a miss instead of looping. */
static inline FACET_HD int facet_risesdf_march_begin(const facet_risesdf_ray_params *p,
                                                     const float o[3], const float d[3], float near,
                                                     float far, float dt, facet_risesdf_march *m) {
    float t0, t1;
    if (!facet_risesdf_box_interval(p->field.radius, o, d, &t0, &t1)) return 0;
    t0 = fmaxf(t0, near);
    t1 = fminf(t1, far);
    if (!(t0 < t1)) return 0;
    for (int k = 0; k < 3; k++) {
        m->o[k] = o[k];
        m->d[k] = d[k];
    }
    m->dt = dt;
    m->t1 = t1;
    float t = near;
    while (t + dt * 0.5f < t0) {
        const float next = t + dt;
        if (!(next > t)) return 0;
        t = next;
    }
    m->t = t;
    return 1;
}

/* The next sample [*t_start, *t_end] whose midpoint is in an occupied cell; 0 past the end. */
static inline FACET_HD int facet_risesdf_march_next(const facet_risesdf_ray_params *p,
                                                    facet_risesdf_march *m, float *t_start,
                                                    float *t_end) {
    for (;;) {
        const float t = m->t, mid = t + m->dt * 0.5f, next = t + m->dt;
        if (!(mid < m->t1) || !(next > t)) return 0;
        m->t = next;
        float x[3];
        for (int k = 0; k < 3; k++) x[k] = m->o[k] + m->d[k] * mid;
        if (facet_risesdf_occupied(p, x)) {
            *t_start = t;
            *t_end = next;
            return 1;
        }
    }
}

/* The secondary march of o2 + t d2 (alphas only): transmittance *tr and depth *depth.
 * scratch: 3 W (fields/risesdf.h). */
static inline FACET_HD void facet_risesdf_secondary_march(const facet_risesdf_ray_params *p,
                                                          const float o2[3], const float d2[3],
                                                          float *tr, float *depth, float *scratch) {
    float acc = 0.0f, sum_t = 0.0f;
    facet_risesdf_march m;
    if (facet_risesdf_march_begin(p, o2, d2, FACET_RISESDF_SECONDARY_NEAR,
                                  FACET_RISESDF_SECONDARY_FAR, FACET_RISESDF_SECONDARY_STEP, &m)) {
        float transmittance = 1.0f, ts, te;
        while (transmittance >= FACET_RISESDF_EARLY_STOP &&
               facet_risesdf_march_next(p, &m, &ts, &te)) {
            const float mid = (ts + te) * 0.5f;
            float x[3], n[3];
            for (int k = 0; k < 3; k++) x[k] = o2[k] + d2[k] * mid;
            const float sdf = facet_risesdf_sdf(&p->field, x, scratch);
            facet_risesdf_normal(&p->field, x, n, scratch);
            const float alpha = facet_risesdf_neus_alpha(
                sdf, d2[0] * n[0] + d2[1] * n[1] + d2[2] * n[2], te - ts, p->inv_s);
            const float w = transmittance * alpha;
            transmittance *= 1.0f - alpha;
            acc += w;
            sum_t += w * mid;
        }
    }
    *tr = fminf(fmaxf(1.0f - acc, 0.0f), 1.0f);
    *depth = sum_t;
}

/* Weight sums of the primary march. */
typedef struct facet_risesdf_volume_sums {
    float opacity, depth, roughness;
    float normal[3], diffuse[3], reflectance[3], light[3], specular[3];
} facet_risesdf_volume_sums;

/* Marches and shades the primary ray (unit d) into *s (zeroed here). scratch: 5 W (a sample's
 * feature, then the scratch of the field functions). */
static inline FACET_HD void facet_risesdf_volume_march(const facet_risesdf_ray_params *p,
                                                       const facet_lighting_view *light,
                                                       const float o[3], const float d[3],
                                                       facet_risesdf_volume_sums *s,
                                                       float *scratch) {
    s->opacity = s->depth = s->roughness = 0.0f;
    for (int k = 0; k < 3; k++)
        s->normal[k] = s->diffuse[k] = s->reflectance[k] = s->light[k] = s->specular[k] = 0.0f;
    facet_risesdf_march m;
    if (!facet_risesdf_march_begin(p, o, d, 0.0f, 1e10f, p->step, &m)) return;
    float transmittance = 1.0f, ts, te;
    while (transmittance >= FACET_RISESDF_EARLY_STOP && facet_risesdf_march_next(p, &m, &ts, &te)) {
        const float mid = (ts + te) * 0.5f;
        float x[3], n[3], *feature = scratch, *field_scratch = scratch + p->field.width;
        for (int k = 0; k < 3; k++) x[k] = o[k] + d[k] * mid;
        const float sdf = facet_risesdf_feature(&p->field, x, feature, field_scratch);
        facet_risesdf_normal(&p->field, x, n, field_scratch);
        const float alpha = facet_risesdf_neus_alpha(sdf, d[0] * n[0] + d[1] * n[1] + d[2] * n[2],
                                                     te - ts, p->inv_s);
        const float w = transmittance * alpha;
        transmittance *= 1.0f - alpha;

        facet_risesdf_material rm;
        facet_risesdf_material_at(&p->field, feature, x, &rm, field_scratch);
        facet_material mat;
        for (int k = 0; k < 3; k++) mat.base_color[k] = rm.albedo[k];
        mat.roughness = rm.roughness;
        mat.metallic = rm.metallic;
        float wi[3], wo[3], diffuse[3], reflectance[3], spec[3];
        for (int k = 0; k < 3; k++) wi[k] = -d[k];
        const float nov = n[0] * wi[0] + n[1] * wi[1] + n[2] * wi[2];
        for (int k = 0; k < 3; k++) wo[k] = 2.0f * nov * n[k] - wi[k];
        facet_risesdf_split(light, n, wi, &mat, diffuse, reflectance);
        facet_splitsum_specular_light(light, facet_v3(wo[0], wo[1], wo[2]), mat.roughness, spec);

        s->opacity += w;
        s->depth += w * mid;
        s->roughness += w * mat.roughness;
        for (int k = 0; k < 3; k++) {
            s->normal[k] += w * n[k];
            s->diffuse[k] += w * diffuse[k];
            s->reflectance[k] += w * reflectance[k];
            s->light[k] += w * spec[k];
            s->specular[k] += w * (reflectance[k] * spec[k]);
        }
    }
}

/* The "volume" mode's per-ray function (unit direction); scratch: FACET_RISESDF_SCRATCH_WIDTHS W
 * floats (fields/risesdf.h). */
static inline FACET_HD void facet_risesdf_volume_ray(const facet_risesdf_ray_params *p,
                                                     const facet_lighting_view *light,
                                                     facet_vec3 origin, facet_vec3 direction,
                                                     facet_ray_result *out, float *scratch) {
    const float o[3] = {origin.x, origin.y, origin.z},
                d[3] = {direction.x, direction.y, direction.z};
    facet_risesdf_volume_sums s;
    facet_risesdf_volume_march(p, light, o, d, &s, scratch);
    float spec[3];
    if (p->indirect == FACET_RISESDF_INDIRECT_OFF) {
        for (int k = 0; k < 3; k++) spec[k] = s.specular[k];
    } else {
        if (s.opacity > 0.5f && s.roughness <= p->indirect_max_roughness) {
            float o2[3], d2[3], x3[3], l3[3], tr, depth2;
            const float won = -(d[0] * s.normal[0] + d[1] * s.normal[1] + d[2] * s.normal[2]);
            for (int k = 0; k < 3; k++) {
                o2[k] = o[k] + s.depth * d[k];
                d2[k] = 2.0f * won * s.normal[k] + d[k];
            }
            facet_risesdf_secondary_march(p, o2, d2, &tr, &depth2, scratch);
            for (int k = 0; k < 3; k++) x3[k] = o2[k] + depth2 * d2[k];
            facet_risesdf_secondary_radiance(p, light, x3, d2, l3, scratch);
            for (int k = 0; k < 3; k++) s.light[k] = tr * s.light[k] + (1.0f - tr) * l3[k];
        }
        for (int k = 0; k < 3; k++) spec[k] = s.reflectance[k] * s.light[k];
    }
    for (int k = 0; k < 3; k++) out->rgb[k] = s.diffuse[k] + spec[k];
    out->alpha = s.opacity;
    out->depth = s.opacity > 0.0f ? s.depth / s.opacity : INFINITY;
}

/* ---- setup (risesdf_volume.c) ---------------------------------------------------------------- */

/* Sets the official volume-mode constants of p from p->field: inv_s = exp(10 variance) clipped to
 * [1e-6, 1e6] (VarianceNetwork, get_alpha), step = 1.732 * 2 radius / 1024 (render_step_size,
 * Python double then float), grid_resolution 128. */
void facet_risesdf_volume_constants(facet_risesdf_ray_params *p);

/* Builds p->grid_resolution^3 occupancy bits for the field of p as the official test-time grid
 * marks cells (nerfacc OccGridEstimator._update with RISE-SDF's occ_eval_fn): a cell's occupancy
 * is the NeuS alpha of a step p->step looking straight at the surface (cos -1),
 *   occ = alpha(s_min, -1, step, inv_s),  s_min = sdf(cell centre) - half the cell diagonal,
 * and the cell is occupied when occ > min(mean occ over all cells, 1e-3). The official grid is
 * the running maximum of occ at random points in each cell during training; s_min bounds the sdf
 * anywhere in the cell for a distance field (|grad sdf| <= 1), and occ decreases with the sdf, so
 * every cell the official grid could mark is marked (a few more in the band around the surface).
 * *bits: ceil(R^3 / 32) words (facet_alloc; free()), *occupied: the number of occupied cells. */
facet_status facet_risesdf_occupancy_build(const facet_risesdf_ray_params *p, uint32_t **bits,
                                           int64_t *occupied);

#ifdef __cplusplus
}
#endif
#endif
