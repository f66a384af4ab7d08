/* LiveScene's sampling and volume rendering for one ray, exactly as the official evaluation path
 * (nerfstudio v1.1.5 samplers and renderers, Tavish9/livescene ProposalNetworkSampler):
 * AABB collider, uniform proposal samples, PDF resampling per proposal level, and the final
 * samples rendered with the main field. Host and device: facet_livescene_render_ray runs the
 * stages below per ray (the reference, and what the tests compare against); the CPU renderer runs
 * them in blocks of 16 samples (nodes/livescene_lanes.c, the same bits) and the CUDA renderer as
 * one kernel per stage. fields/livescene_format.md lists the math step by step. */
#ifndef FACET_NODES_LIVESCENE_RAY_H
#define FACET_NODES_LIVESCENE_RAY_H

#include "core/color.h"
#include "core/hd.h"
#include "fields/livescene.h"
#include "render/scene.h"

#include <math.h>

/* Per-ray configuration (from the model) in a device-passable struct. */
typedef struct facet_livescene_sampling {
    int levels;                                     /* proposal levels */
    int samples[FACET_LIVESCENE_MAX_PROPOSALS + 1]; /* per level, the last is the final level */
    float near_plane;
} facet_livescene_sampling;

typedef struct facet_livescene_ray_output {
    float rgb[3];       /* sum w c (display space, before the background) */
    float accumulation; /* sum w */
    float depth;        /* median depth along the ray (model units) */
    float mask_logits[FACET_LIVESCENE_MAX_OBJECTS + 1]; /* sum w logits at the final level */
} facet_livescene_ray_output;

/* nerfstudio AABBBoxCollider at evaluation: near clamped to near_plane, far >= near + 1e-6. */
static inline FACET_HD void facet_livescene_collide(const facet_livescene_field *f, const float *o,
                                                    const float *d, float near_plane, float *near,
                                                    float *far) {
    float n = -INFINITY, x = INFINITY;
    for (int i = 0; i < 3; i++) {
        float inv = 1.0f / (d[i] + 1e-6f);
        float t1 = (f->aabb_min[i] - o[i]) * inv, t2 = (f->aabb_max[i] - o[i]) * inv;
        n = fmaxf(n, fminf(t1, t2));
        x = fminf(x, fmaxf(t1, t2));
    }
    n = fmaxf(n, near_plane);
    *near = n;
    *far = fmaxf(x, n + 1e-6f);
}

/* Spacing s in [0, 1] to distance t along the ray. nerfstudio writes s far + (1 - s) near;
 * near + s (far - near) is the same interpolation, and monotonic in s in float arithmetic. That
 * matters for a ray that misses the scene box, where the collider sets far = near + 1e-6, a few
 * float steps at near ~ 3: the other form gives deltas of -1 ulp there, so negative weights, which
 * a large density turns into +-inf and NaN (issue 13). Shared by rendering and training. */
static inline FACET_HD float facet_livescene_spacing_to_t(float s, float near, float far) {
    return near + s * (far - near);
}

/* One sample's volume-rendering weight from its optical depth sigma_j delta_j and the optical
 * depth before it, sum_{i<j} sigma_i delta_i: (1 - exp(-optical)) exp(-before), NaN -> 0
 * (nan_to_num). The one formula rendering (facet_livescene_weights) and training
 * (fit/livescene_train.h) share. */
static inline FACET_HD float facet_livescene_sample_weight(float optical, float before) {
    const float w = (1.0f - facet_expf(-optical)) * facet_expf(-before);
    return w == w ? w : 0.0f;
}

/* Volume-rendering weights from densities over bins (spacing s in [0,1] mapped to
 * t = facet_livescene_spacing_to_t(s)): w_j = (1 - exp(-sigma_j delta_j)) exp(-sum_{i<j} sigma_i
 * delta_i). In three passes (optical depths, their running sum in order, the weights), so that
 * the first and last run across the bins at once on the CPU; depth[n] is scratch and may be
 * sigma itself (every sigma is read before depth is written). */
static inline FACET_HD void facet_livescene_weights(const float *bins, const float *sigma, int n,
                                                    float near, float far, float *weights,
                                                    float *depth) {
    for (int j = 0; j < n; j++) { /* weights[j] = sigma_j delta_j for now */
        float t0 = facet_livescene_spacing_to_t(bins[j], near, far);
        float t1 = facet_livescene_spacing_to_t(bins[j + 1], near, far);
        weights[j] = (t1 - t0) * sigma[j];
    }
    float accumulated = 0.0f;
    for (int j = 0; j < n; j++) {
        depth[j] = accumulated;
        accumulated += weights[j];
    }
    for (int j = 0; j < n; j++) weights[j] = facet_livescene_sample_weight(weights[j], depth[j]);
}

/* nerfstudio PDFSampler at evaluation (include_original=False, histogram padding 0.01, eps 1e-5,
 * midpoints u_k = (k + 0.5) / (m + 1)): bins[n + 1], weights[n] -> out[m + 1]. cdf is scratch of
 * n + 1 floats. */
static inline FACET_HD void facet_livescene_pdf_resample(const float *bins, const float *weights,
                                                         int n, int m, float *cdf, float *out) {
    float sum = 0.0f;
    for (int j = 0; j < n; j++) sum += weights[j] + 0.01f;
    const float short_of = 1e-5f - sum;
    float padding = short_of > 0.0f ? short_of : 0.0f; /* fmaxf(.., 0) as a select, NaN -> 0 */
    float total = sum + padding;
    cdf[0] = 0.0f;
    float running = 0.0f;
    for (int j = 0; j < n; j++) {
        running += (weights[j] + 0.01f + padding / (float)n) / total;
        cdf[j + 1] = running < 1.0f ? running : 1.0f; /* fminf(1, running), NaN -> 1 */
    }
    const int bins_count = m + 1;
    int i = 0; /* searchsorted right: first index with cdf[i] > u; u increases with k */
    for (int k = 0; k < bins_count; k++) {
        float u = (float)k * (1.0f / (float)bins_count) + 1.0f / (2.0f * (float)bins_count);
        while (i <= n && cdf[i] <= u) i++;
        int below = i - 1 < 0 ? 0 : (i - 1 > n ? n : i - 1);
        int above = i > n ? n : i;
        float denominator = cdf[above] - cdf[below];
        float t = (u - cdf[below]) / denominator;
        t = t > 0.0f ? (t < 1.0f ? t : 1.0f) : 0.0f; /* nan_to_num, then clamp to [0, 1] */
        out[k] = bins[below] + t * (bins[above] - bins[below]);
    }
}

/* Midpoint of bin j in ray distance. */
static inline FACET_HD float facet_livescene_bin_mid(const float *bins, int j, float near,
                                                     float far) {
    float t0 = facet_livescene_spacing_to_t(bins[j], near, far);
    float t1 = facet_livescene_spacing_to_t(bins[j + 1], near, far);
    return (t0 + t1) / 2.0f;
}

/* The position pos[3] of sample j: the midpoint of bin j along the ray o + t d. */
static inline FACET_HD void facet_livescene_sample_position(const float *o, const float *d,
                                                            const float *bins, int j, float near,
                                                            float far, float *pos) {
    const float mid = facet_livescene_bin_mid(bins, j, near, far);
    for (int c = 0; c < 3; c++) pos[c] = o[c] + d[c] * mid;
}

/* The rendering of a ray is written as stages, each a function of one ray or one sample, so that
 * the CPU can run them in sequence per ray (facet_livescene_render_ray) and the GPU as one kernel
 * per stage over a batch of rays with the per-ray arrays in global memory
 * (nodes/cuda/livescene_node.cu): the same functions, the same arithmetic, the same bits.
 *   1. facet_livescene_ray_begin         per ray:    near, far, uniform bins of level 0
 *   2. facet_livescene_proposal_sample   per sample: the level's density at a bin midpoint
 *   3. facet_livescene_resample_level    per ray:    weights, PDF resampling -> the next bins
 *   (2 and 3 once per proposal level)
 *   4. facet_livescene_final_density     per sample: object logits, density and geo features
 *   5. facet_livescene_final_color       per sample: view-dependent colour
 *   6. facet_livescene_composite_*       per ray:    volume rendering over the final samples */

/* Stage 1: the collider's [near, far] and the uniform level-0 bins[samples[0] + 1]
 * (torch.linspace(0, 1, n + 1)). */
static inline FACET_HD void facet_livescene_ray_begin(const facet_livescene_field *f,
                                                      const facet_livescene_sampling *sampling,
                                                      const float *o, const float *d, float *near,
                                                      float *far, float *bins) {
    facet_livescene_collide(f, o, d, sampling->near_plane, near, far);
    const int n = sampling->samples[0];
    for (int j = 0; j <= n; j++) bins[j] = (float)j / (float)n;
}

/* Stage 2: the density of proposal level `level` at the midpoint of bin j, with the sample's kappa
 * chosen by the probability field. scratch: facet_livescene_scratch_floats. */
static inline FACET_HD float facet_livescene_proposal_sample(const facet_livescene_field *f,
                                                             int level, const float *o,
                                                             const float *d, const float *kappa,
                                                             const float *bins, int j, float near,
                                                             float far, float *scratch) {
    float logits[FACET_LIVESCENE_MAX_OBJECTS + 1] = {0};
    float pos[3];
    facet_livescene_sample_position(o, d, bins, j, near, far, pos);
    const int object = facet_livescene_probability_scratch(f, pos, kappa, logits, scratch);
    return facet_livescene_proposal_density_scratch(f, level, pos, kappa[object], scratch);
}

/* Stage 3: from a level's densities sigma[n] over bins[n + 1] to the next level's bins[m + 1], in
 * place. weights[n] and next[m + 1] are scratch; sigma is overwritten (the CDF's scratch). */
static inline FACET_HD void facet_livescene_resample_level(float *bins, float *sigma,
                                                           float *weights, float *next, int n,
                                                           int m, float near, float far) {
    facet_livescene_weights(bins, sigma, n, near, far, weights, sigma /* as depth scratch */);
    facet_livescene_pdf_resample(bins, weights, n, m, sigma /* as cdf scratch */, next);
    for (int j = 0; j <= m; j++) bins[j] = next[j];
}

/* Stage 4: at the final level's bin j, the object logits[alpha + 1], the main field's density
 * (returned) at the chosen object's kappa and its geo features geo[geo_feat_dim]. */
static inline FACET_HD float facet_livescene_final_density(const facet_livescene_field *f,
                                                           const float *o, const float *d,
                                                           const float *kappa, const float *bins,
                                                           int j, float near, float far, float *geo,
                                                           float *logits, float *scratch) {
    float pos[3];
    facet_livescene_sample_position(o, d, bins, j, near, far, pos);
    const int object = facet_livescene_probability_scratch(f, pos, kappa, logits, scratch);
    return facet_livescene_field_density_scratch(f, pos, kappa[object], geo, scratch);
}

/* rgb[3] with NaN -> 0 (nan_to_num). */
static inline FACET_HD void facet_livescene_color_finite(float *rgb) {
    for (int c = 0; c < 3; c++) rgb[c] = rgb[c] == rgb[c] ? rgb[c] : 0.0f;
}

/* Stage 5: the sample's colour rgb[3] for direction d (NaN -> 0, nan_to_num). */
static inline FACET_HD void facet_livescene_final_color(const facet_livescene_field *f,
                                                        const float *d, const float *geo,
                                                        float *rgb, float *scratch) {
    facet_livescene_field_color_scratch(f, d, geo, rgb, scratch);
    facet_livescene_color_finite(rgb);
}

/* Stage 6, streamed over the final samples in order: a sample's weight needs only the densities
 * before it. */
typedef struct facet_livescene_compositor {
    float accumulated; /* sum of sigma delta so far */
    int median;        /* first sample where the accumulation reaches 0.5 (-1: not yet) */
} facet_livescene_compositor;

static inline FACET_HD void facet_livescene_composite_begin(const facet_livescene_field *f,
                                                            facet_livescene_compositor *c,
                                                            facet_livescene_ray_output *out) {
    c->accumulated = 0.0f;
    c->median = -1;
    for (int k = 0; k < 3; k++) out->rgb[k] = 0.0f;
    for (int k = 0; k <= f->objects; k++) out->mask_logits[k] = 0.0f;
    out->accumulation = 0.0f;
}

static inline FACET_HD void facet_livescene_composite_sample(const facet_livescene_field *f,
                                                             facet_livescene_compositor *c,
                                                             const float *bins, int j, float near,
                                                             float far, float density,
                                                             const float *rgb, const float *logits,
                                                             facet_livescene_ray_output *out) {
    const float t0 = facet_livescene_spacing_to_t(bins[j], near, far);
    const float t1 = facet_livescene_spacing_to_t(bins[j + 1], near, far);
    const float delta_density = (t1 - t0) * density;
    float w = (1.0f - expf(-delta_density)) * expf(-c->accumulated);
    if (w != w) w = 0.0f;
    c->accumulated += delta_density;
    for (int k = 0; k < 3; k++) out->rgb[k] += w * rgb[k];
    for (int k = 0; k <= f->objects; k++) out->mask_logits[k] += w * logits[k];
    out->accumulation += w;
    if (c->median < 0 && out->accumulation >= 0.5f) c->median = j;
}

/* After the last of n samples: the median depth. */
static inline FACET_HD void facet_livescene_composite_end(const facet_livescene_compositor *c,
                                                          const float *bins, int n, float near,
                                                          float far,
                                                          facet_livescene_ray_output *out) {
    out->depth = facet_livescene_bin_mid(bins, c->median < 0 ? n - 1 : c->median, near, far);
}

/* Renders one ray in the model frame: o, d (unit) and the scene's kappa[alpha]; the stages in
 * order. */
static inline FACET_HD void facet_livescene_render_ray(const facet_livescene_field *f,
                                                       const facet_livescene_sampling *sampling,
                                                       const float *o, const float *d,
                                                       const float *kappa,
                                                       facet_livescene_ray_output *out) {
    float bins[FACET_LIVESCENE_MAX_SAMPLES + 1], next[FACET_LIVESCENE_MAX_SAMPLES + 1];
    float sigma[FACET_LIVESCENE_MAX_SAMPLES + 1], weights[FACET_LIVESCENE_MAX_SAMPLES];
    float scratch[FACET_LIVESCENE_MAX_SCRATCH];
    float near, far;
    facet_livescene_ray_begin(f, sampling, o, d, &near, &far, bins);
    int n = sampling->samples[0];
    for (int level = 0; level < sampling->levels; level++) {
        for (int j = 0; j < n; j++)
            sigma[j] =
                facet_livescene_proposal_sample(f, level, o, d, kappa, bins, j, near, far, scratch);
        const int m = sampling->samples[level + 1];
        facet_livescene_resample_level(bins, sigma, weights, next, n, m, near, far);
        n = m;
    }
    float logits[FACET_LIVESCENE_MAX_OBJECTS + 1], geo[FACET_LIVESCENE_MAX_GEO], rgb[3];
    facet_livescene_compositor c;
    facet_livescene_composite_begin(f, &c, out);
    for (int j = 0; j < n; j++) {
        const float density =
            facet_livescene_final_density(f, o, d, kappa, bins, j, near, far, geo, logits, scratch);
        facet_livescene_final_color(f, d, geo, rgb, scratch);
        facet_livescene_composite_sample(f, &c, bins, j, near, far, density, rgb, logits, out);
    }
    facet_livescene_composite_end(&c, bins, n, near, far, out);
}

/* World ray -> model frame (nerfstudio dataparser transform): o' = scale (R o + t),
 * d' = normalise(R d). transform is 3x4 row-major [R | t]. */
static inline FACET_HD void facet_livescene_to_model_frame(const float *transform, float scale,
                                                           facet_vec3 origin, facet_vec3 direction,
                                                           float *o, float *d) {
    const float p[3] = {origin.x, origin.y, origin.z};
    const float v[3] = {direction.x, direction.y, direction.z};
    float length = 0.0f;
    for (int r = 0; r < 3; r++) {
        const float *row = transform + r * 4;
        o[r] = scale * (row[0] * p[0] + row[1] * p[1] + row[2] * p[2] + row[3]);
        d[r] = row[0] * v[0] + row[1] * v[1] + row[2] * v[2];
        length += d[r] * d[r];
    }
    length = sqrtf(length);
    for (int r = 0; r < 3; r++) d[r] /= length;
}

/* A ray's node result: composite over the background in display space as the official renderer
 * does (background = the scene's linear radiance along the ray, sRGB-encoded), clamp, decode to
 * linear; full coverage; depth back in world units. aux (or NULL) receives the per-object
 * probabilities: softmax of the volume-rendered logits (classes = alpha + 1). */
static inline FACET_HD void facet_livescene_finish(const facet_livescene_ray_output *r,
                                                   const float *background_linear, float scale,
                                                   int classes, facet_ray_result *out, float *aux) {
    for (int c = 0; c < 3; c++) {
        float display =
            r->rgb[c] + facet_linear_to_srgb(background_linear[c]) * (1.0f - r->accumulation);
        out->rgb[c] = facet_srgb_to_linear(fminf(fmaxf(display, 0.0f), 1.0f));
    }
    out->alpha = 1.0f;
    out->depth = r->depth / scale;
    if (aux) {
        float peak = r->mask_logits[0], total = 0.0f;
        for (int c = 1; c < classes; c++) peak = fmaxf(peak, r->mask_logits[c]);
        for (int c = 0; c < classes; c++) total += expf(r->mask_logits[c] - peak);
        for (int c = 0; c < classes; c++) aux[c] = expf(r->mask_logits[c] - peak) / total;
    }
}

#endif
