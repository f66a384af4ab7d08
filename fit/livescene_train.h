/* LiveScene training on one ray: the official training-time sampling (stratified jitter, near
 * plane 0.01, proposal weight annealing), the per-ray losses and their backward pass into a
 * gradient field. Host and device code (FACET_HD); the fitting driver (fit/livescene_fit.c)
 * batches rays, adds the batch-level terms (repulsion, plane regularisers) and runs Adam.
 *
 * Losses (Tavish9/livescene livescene_model.py get_loss_dict/get_metrics_dict, nerfstudio
 * losses.py), each scaled by its coefficient in facet_livescene_loss_weights:
 *   rgb           mean over rays and channels of (rgb - target)^2 (white background composited)
 *   interlevel    per proposal level, mean over final samples of
 *                 clip(w - w_outer, 0)^2 / (w + 1e-7), final weights detached
 *   distortion    mean over rays of sum_ij w_i w_j |m_i - m_j| + sum_i w_i^2 ds_i / 3 (spacing)
 *   ray_mask      per level, mean over rays with a mask of the focal cross-entropy
 *                 0.5 (1 - e^-ce)^1.5 ce of softmax(sum_j w_j logits_j) (w detached)
 * The batch terms live in the driver. */
#ifndef FACET_FIT_LIVESCENE_TRAIN_H
#define FACET_FIT_LIVESCENE_TRAIN_H

#include "core/rng.h"
#include "fields/livescene_backward.h"
#include "nodes/livescene_ray.h"

enum { FACET_LIVESCENE_MAX_LEVELS = FACET_LIVESCENE_MAX_PROPOSALS + 1 };

typedef struct facet_livescene_loss_weights {
    float rgb, interlevel, distortion, ray_mask, repulsion;
    float plane_tv, plane_tv_proposal, plane_tv_probability;
    float l1_time_planes, l1_time_planes_proposal;
    float time_smoothness, time_smoothness_proposal;
} facet_livescene_loss_weights;

/* What the batch-level terms (rgb error, mask focal loss, repulsion) read and write for one ray:
 * small, so a GPU fit moves only these between device and host. */
typedef struct facet_livescene_ray_terms {
    int label;       /* ground-truth class (alpha = background), -1: no mask */
    float target[3]; /* ground-truth colour (display space) */
    float rgb[3];    /* rendered colour over white */
    float rendered_logits[FACET_LIVESCENE_MAX_LEVELS][FACET_LIVESCENE_MAX_OBJECTS + 1];
    /* gradients of the batch terms w.r.t. rendered_logits (set before the backward pass) */
    float drendered_logits[FACET_LIVESCENE_MAX_LEVELS][FACET_LIVESCENE_MAX_OBJECTS + 1];
} facet_livescene_ray_terms;

/* One training ray: inputs, and the forward state its backward pass needs. */
typedef struct facet_livescene_train_ray {
    float o[3], d[3];                         /* model frame, d unit */
    float kappa[FACET_LIVESCENE_MAX_OBJECTS]; /* the frame's ground-truth kappa */
    facet_livescene_ray_terms terms;
    float near, far;
    int n[FACET_LIVESCENE_MAX_LEVELS];                                       /* samples per level */
    float bins[FACET_LIVESCENE_MAX_LEVELS][FACET_LIVESCENE_MAX_SAMPLES + 1]; /* spacing in [0, 1] */
    float sigma[FACET_LIVESCENE_MAX_LEVELS][FACET_LIVESCENE_MAX_SAMPLES];
    float weights[FACET_LIVESCENE_MAX_LEVELS][FACET_LIVESCENE_MAX_SAMPLES];
    float kappa_sel[FACET_LIVESCENE_MAX_LEVELS][FACET_LIVESCENE_MAX_SAMPLES];
    float sample_rgb[FACET_LIVESCENE_MAX_SAMPLES][3]; /* final level */
    float accumulation;
    /* per-ray working space, so that no pass keeps sample arrays in local variables (on the GPU:
     * per-thread local memory): the CDF and the annealed weights of the forward pass, the
     * accumulated optical depths of the backward pass */
    float work[2][FACET_LIVESCENE_MAX_SAMPLES + 1];
} facet_livescene_train_ray;

/* Spacing to distance along a training ray (facet_livescene_spacing_to_t, livescene_ray.h). */
static inline FACET_HD float facet_livescene_t(const facet_livescene_train_ray *r, float s) {
    return facet_livescene_spacing_to_t(s, r->near, r->far);
}

static inline FACET_HD void facet_livescene_train_position(const facet_livescene_train_ray *r,
                                                           int level, int j, float *pos) {
    float mid =
        (facet_livescene_t(r, r->bins[level][j]) + facet_livescene_t(r, r->bins[level][j + 1])) /
        2.0f;
    for (int i = 0; i < 3; i++) pos[i] = r->o[i] + r->d[i] * mid;
}

/* nerfstudio PDFSampler in training mode: u_k = k / (m + 1) + U(0, 1) / (m + 1) per sample. */
static inline FACET_HD void facet_livescene_pdf_resample_stratified(const float *bins,
                                                                    const float *weights, int n,
                                                                    int m, float *cdf, float *out,
                                                                    facet_rng *rng) {
    float sum = 0.0f;
    for (int j = 0; j < n; j++) sum += weights[j] + 0.01f;
    float padding = fmaxf(1e-5f - sum, 0.0f);
    float total = sum + padding, running = 0.0f;
    cdf[0] = 0.0f;
    for (int j = 0; j < n; j++) {
        running += (weights[j] + 0.01f + padding / (float)n) / total;
        cdf[j + 1] = fminf(1.0f, running);
    }
    const int count = m + 1;
    int i = 0;
    for (int k = 0; k < count; k++) {
        float u = (float)k / (float)count + facet_rng_uniform(rng) / (float)count;
        while (i <= n && cdf[i] <= u) i++;
        int below = i - 1 < 0 ? 0 : (i - 1 > n ? n : i - 1);
        int above = i > n ? n : i;
        float t = (u - cdf[below]) / (cdf[above] - cdf[below]);
        if (t != t) t = 0.0f;
        t = fminf(fmaxf(t, 0.0f), 1.0f);
        out[k] = bins[below] + t * (bins[above] - bins[below]);
    }
}

/* The parts of evaluating one level that come before and after its samples: clearing the
 * rendered terms; at the final level, compositing over white. */
static inline FACET_HD void facet_livescene_train_evaluate_begin(const facet_livescene_field *f,
                                                                 int levels, int level,
                                                                 facet_livescene_train_ray *r) {
    for (int c = 0; c <= f->objects; c++) r->terms.rendered_logits[level][c] = 0.0f;
    if (level == levels)
        r->terms.rgb[0] = r->terms.rgb[1] = r->terms.rgb[2] = r->accumulation = 0.0f;
}

static inline FACET_HD void facet_livescene_train_evaluate_end(int levels, int level,
                                                               facet_livescene_train_ray *r) {
    if (level == levels)
        for (int c = 0; c < 3; c++) r->terms.rgb[c] += 1.0f * (1.0f - r->accumulation); /* white */
}

/* Sample j of a level, in order, once its kappa k, density sigma and logits (and at the final
 * level r->sample_rgb[j]) are known: its weight and its share of the rendered terms. accumulated
 * carries the optical depth of the samples before it. */
static inline FACET_HD void facet_livescene_train_composite(const facet_livescene_field *f,
                                                            int levels, int level, int j, float k,
                                                            float sigma, const float *logits,
                                                            float *accumulated,
                                                            facet_livescene_train_ray *r) {
    r->kappa_sel[level][j] = k;
    r->sigma[level][j] = sigma;
    float delta =
        facet_livescene_t(r, r->bins[level][j + 1]) - facet_livescene_t(r, r->bins[level][j]);
    const float w = facet_livescene_sample_weight(sigma * delta, *accumulated);
    *accumulated += sigma * delta;
    r->weights[level][j] = w;
    for (int c = 0; c <= f->objects; c++) r->terms.rendered_logits[level][c] += w * logits[c];
    if (level == levels) {
        for (int c = 0; c < 3; c++) r->terms.rgb[c] += w * r->sample_rgb[j][c];
        r->accumulation += w;
    }
}

/* Evaluates one level at the ray's bins (r->bins[level], r->n[level] set): densities, weights,
 * kappa choices and rendered logits; at the final level also the colours, rgb (over white) and
 * accumulation. scratch: facet_livescene_scratch_floats (fields/livescene.h). The CPU trainer runs
 * the same per-sample functions sixteen samples at a time (fit/livescene_train_lanes.c). */
static inline FACET_HD void facet_livescene_train_evaluate_scratch(const facet_livescene_field *f,
                                                                   int levels, int level,
                                                                   facet_livescene_train_ray *r,
                                                                   float *scratch) {
    float logits[FACET_LIVESCENE_MAX_OBJECTS + 1];
    facet_livescene_train_evaluate_begin(f, levels, level, r);
    float accumulated = 0.0f;
    for (int j = 0; j < r->n[level]; j++) {
        float pos[3], geo[FACET_LIVESCENE_MAX_GEO];
        facet_livescene_train_position(r, level, j, pos);
        int object = facet_livescene_probability_scratch(f, pos, r->kappa, logits, scratch);
        float k = r->kappa[object];
        float sigma = level < levels
                          ? facet_livescene_proposal_density_scratch(f, level, pos, k, scratch)
                          : facet_livescene_field_density_scratch(f, pos, k, geo, scratch);
        if (level == levels)
            facet_livescene_field_color_scratch(f, r->d, geo, r->sample_rgb[j], scratch);
        facet_livescene_train_composite(f, levels, level, j, k, sigma, logits, &accumulated, r);
    }
    facet_livescene_train_evaluate_end(levels, level, r);
}

static inline FACET_HD void facet_livescene_train_evaluate(const facet_livescene_field *f,
                                                           int levels, int level,
                                                           facet_livescene_train_ray *r) {
    float scratch[FACET_LIVESCENE_MAX_SCRATCH];
    facet_livescene_train_evaluate_scratch(f, levels, level, r, scratch);
}

/* The forward pass's set-up: the collider and the stratified uniform level-0 bins
 * (SpacedSampler, single_jitter=False). */
static inline FACET_HD void facet_livescene_train_begin(const facet_livescene_field *f,
                                                        const int *samples, float near_plane,
                                                        facet_livescene_train_ray *r,
                                                        facet_rng *rng) {
    facet_livescene_collide(f, r->o, r->d, near_plane, &r->near, &r->far);
    const int n = samples[0];
    for (int j = 0; j <= n; j++) {
        float b = (float)j / (float)n;
        float lower = j == 0 ? 0.0f : (b + (float)(j - 1) / (float)n) / 2.0f;
        float upper = j == n ? 1.0f : (b + (float)(j + 1) / (float)n) / 2.0f;
        r->bins[0][j] = lower + (upper - lower) * facet_rng_uniform(rng);
    }
}

/* After level `level` (n samples) is evaluated: the next level's bins, m stratified PDF samples
 * of the annealed weights (anneal: the proposal weight exponent). */
static inline FACET_HD void facet_livescene_train_next_level(facet_livescene_train_ray *r,
                                                             int level, int n, int m, float anneal,
                                                             facet_rng *rng) {
    float *cdf = r->work[0], *annealed = r->work[1];
    for (int j = 0; j < n; j++) annealed[j] = powf(r->weights[level][j], anneal);
    facet_livescene_pdf_resample_stratified(r->bins[level], annealed, n, m, cdf, r->bins[level + 1],
                                            rng);
}

/* Forward pass of a training ray. samples[levels + 1]; anneal is the proposal weight exponent;
 * scratch: facet_livescene_scratch_floats. */
static inline FACET_HD void facet_livescene_train_forward_scratch(const facet_livescene_field *f,
                                                                  int levels, const int *samples,
                                                                  float near_plane, float anneal,
                                                                  facet_livescene_train_ray *r,
                                                                  facet_rng *rng, float *scratch) {
    facet_livescene_train_begin(f, samples, near_plane, r, rng);
    int n = samples[0];
    for (int level = 0; level <= levels; level++) {
        r->n[level] = n;
        facet_livescene_train_evaluate_scratch(f, levels, level, r, scratch);
        if (level == levels) break;
        facet_livescene_train_next_level(r, level, n, samples[level + 1], anneal, rng);
        n = samples[level + 1];
    }
}

static inline FACET_HD void facet_livescene_train_forward(const facet_livescene_field *f,
                                                          int levels, const int *samples,
                                                          float near_plane, float anneal,
                                                          facet_livescene_train_ray *r,
                                                          facet_rng *rng) {
    float scratch[FACET_LIVESCENE_MAX_SCRATCH];
    facet_livescene_train_forward_scratch(f, levels, samples, near_plane, anneal, r, rng, scratch);
}

/* A training ray's inputs, as the host samples them (fill_batch in fit/livescene_fit.c). */
typedef struct facet_livescene_ray_input {
    float o[3], d[3]; /* model frame, d unit */
    float kappa[FACET_LIVESCENE_MAX_OBJECTS];
    float target[3];
    int label; /* ground-truth class, -1: no mask */
} facet_livescene_ray_input;

/* Near plane of every training ray (official collider: near_plane 0.01). */
#define FACET_LIVESCENE_TRAIN_NEAR_PLANE 0.01f

/* Sets up ray i of the batch of `step` (batch rays per step) from its inputs and returns its
 * sampler's random stream, (seed, step * batch + i), so that a ray draws the same jitter on either
 * device and after a resume: the one ray set-up every launcher uses. */
static inline FACET_HD facet_rng
facet_livescene_train_ray_setup(unsigned long long seed, int step, int batch, int i,
                                const facet_livescene_ray_input *in, facet_livescene_train_ray *r) {
    for (int k = 0; k < 3; k++) {
        r->o[k] = in->o[k];
        r->d[k] = in->d[k];
        r->terms.target[k] = in->target[k];
    }
    for (int k = 0; k < FACET_LIVESCENE_MAX_OBJECTS; k++) r->kappa[k] = in->kappa[k];
    r->terms.label = in->label;
    return facet_rng_seed(seed, (uint64_t)step * (uint64_t)batch + (uint64_t)i);
}

/* facet_livescene_train_ray_setup, then the ray's forward pass (the CUDA forward kernel; the CPU
 * trainer runs facet_livescene_train_ray_run_lanes, fit/livescene_train_lanes.h). samples[levels +
 * 1]; anneal: the proposal weight exponent; scratch: facet_livescene_scratch_floats. */
static inline FACET_HD void facet_livescene_train_ray_run_scratch(
    const facet_livescene_field *f, int levels, const int *samples, float anneal,
    unsigned long long seed, int step, int batch, int i, const facet_livescene_ray_input *in,
    facet_livescene_train_ray *r, float *scratch) {
    facet_rng rng = facet_livescene_train_ray_setup(seed, step, batch, i, in, r);
    facet_livescene_train_forward_scratch(f, levels, samples, FACET_LIVESCENE_TRAIN_NEAR_PLANE,
                                          anneal, r, &rng, scratch);
}

static inline FACET_HD void
facet_livescene_train_ray_run(const facet_livescene_field *f, int levels, const int *samples,
                              float anneal, unsigned long long seed, int step, int batch, int i,
                              const facet_livescene_ray_input *in, facet_livescene_train_ray *r) {
    float scratch[FACET_LIVESCENE_MAX_SCRATCH];
    facet_livescene_train_ray_run_scratch(f, levels, samples, anneal, seed, step, batch, i, in, r,
                                          scratch);
}

/* nerfstudio `outer`: for each final interval [c_i, c_i+1], the proposal weight mass of the
 * proposal intervals that overlap it (searchsorted on the proposal edges cp). */
static inline FACET_HD void facet_livescene_outer_indices(const float *c, int n, const float *cp,
                                                          int np, int i, int *lo, int *hi) {
    int a = 0; /* searchsorted right of c[i] in cp[0..np-1] (starts) */
    while (a < np && cp[a] <= c[i]) a++;
    a -= 1;
    *lo = a < 0 ? 0 : (a > np - 1 ? np - 1 : a);
    int b = 0; /* searchsorted right of c[i+1] in cp[1..np] (ends) */
    while (b < np && cp[b + 1] <= c[i + 1]) b++;
    *hi = b > np - 1 ? np - 1 : b;
    (void)n;
}

/* Interlevel loss of one proposal level for one ray (sum over final samples; the caller divides
 * by rays x final samples) and its gradient w.r.t. the proposal weights, dwp[np] (+=). */
static inline FACET_HD float facet_livescene_interlevel(const facet_livescene_train_ray *r,
                                                        int level, int levels, float scale,
                                                        float *dwp) {
    const float *c = r->bins[levels], *w = r->weights[levels];
    const float *cp = r->bins[level], *wp = r->weights[level];
    const int n = r->n[levels], np = r->n[level];
    float loss = 0.0f;
    for (int i = 0; i < n; i++) {
        int lo, hi;
        facet_livescene_outer_indices(c, n, cp, np, i, &lo, &hi);
        float outer = 0.0f; /* cy1[hi + 1] - cy1[lo] = sum wp[lo..hi] */
        for (int k = lo; k <= hi; k++) outer += wp[k];
        float excess = w[i] - outer;
        if (excess <= 0.0f) continue;
        loss += excess * excess / (w[i] + 1e-7f);
        float g = -2.0f * excess / (w[i] + 1e-7f) * scale;
        for (int k = lo; k <= hi; k++) dwp[k] += g;
    }
    return loss;
}

/* Distortion loss of the final level for one ray, and dL/dw (+=) scaled by `scale`. */
static inline FACET_HD float facet_livescene_distortion(const facet_livescene_train_ray *r,
                                                        int levels, float scale, float *dw) {
    const float *s = r->bins[levels], *w = r->weights[levels];
    const int n = r->n[levels];
    float loss = 0.0f;
    for (int i = 0; i < n; i++) {
        float mi = (s[i] + s[i + 1]) / 2.0f, inter = 0.0f;
        for (int j = 0; j < n; j++) inter += w[j] * fabsf(mi - (s[j] + s[j + 1]) / 2.0f);
        float width = s[i + 1] - s[i];
        loss += w[i] * inter + w[i] * w[i] * width / 3.0f;
        dw[i] += scale * (2.0f * inter + 2.0f * w[i] * width / 3.0f);
    }
    return loss;
}

/* Focal cross-entropy of one level's rendered logits against the ray's label; adds the gradient
 * (scaled) to drendered_logits. Returns the loss (0 without a label). */
static inline FACET_HD float facet_livescene_mask_loss(facet_livescene_ray_terms *t, int level,
                                                       int classes, float scale) {
    if (t->label < 0) return 0.0f;
    const float *z = t->rendered_logits[level];
    float peak = z[0], total = 0.0f, p[FACET_LIVESCENE_MAX_OBJECTS + 1] = {0.0f};
    for (int c = 1; c < classes; c++) peak = fmaxf(peak, z[c]);
    for (int c = 0; c < classes; c++) total += expf(z[c] - peak);
    for (int c = 0; c < classes; c++) p[c] = expf(z[c] - peak) / total;
    float ce = -logf(fmaxf(p[t->label], 1e-30f));
    const float alpha = 0.5f, gamma = 1.5f;
    float q = 1.0f - expf(-ce);
    float focal = alpha * powf(q, gamma) * ce;
    /* d focal / d ce = alpha (q^gamma + gamma q^(gamma-1) e^-ce ce) */
    float dce = alpha * (powf(q, gamma) +
                         (q > 0.0f ? gamma * powf(q, gamma - 1.0f) : 0.0f) * expf(-ce) * ce);
    for (int c = 0; c < classes; c++)
        t->drendered_logits[level][c] += scale * dce * (p[c] - (c == t->label ? 1.0f : 0.0f));
    return focal;
}

/* Volume rendering backward: given dL/dw_j (gw, final or proposal level) gives dL/dsigma_j:
 * dsigma_k = delta_k (gw_k T_k e^{-sigma_k delta_k} - sum_{j>k} gw_j w_j). In place: gw -> dsigma.
 * accumulated_before: scratch of n floats. */
static inline FACET_HD void facet_livescene_weights_backward(const facet_livescene_train_ray *r,
                                                             int level, float *g,
                                                             float *accumulated_before) {
    const int n = r->n[level];
    float suffix = 0.0f;
    float accumulated = 0.0f;
    for (int j = 0; j < n; j++) {
        accumulated_before[j] = accumulated;
        float delta =
            facet_livescene_t(r, r->bins[level][j + 1]) - facet_livescene_t(r, r->bins[level][j]);
        accumulated += r->sigma[level][j] * delta;
    }
    for (int k = n - 1; k >= 0; k--) {
        float delta =
            facet_livescene_t(r, r->bins[level][k + 1]) - facet_livescene_t(r, r->bins[level][k]);
        float gw = g[k];
        /* T_k e^{-sigma_k delta_k} on the exponential of the forward's weights */
        float through =
            facet_expf(-accumulated_before[k]) * facet_expf(-r->sigma[level][k] * delta);
        g[k] = delta * (gw * through - suffix);
        suffix += gw * r->weights[level][k];
    }
}

/* The per-ray loss terms of a batch of `batch` rays (interlevel, distortion, rgb) as gradients:
 * dw[level][j] (dL/dw) and drgb; adds the unscaled interlevel and distortion sums to *interlevel
 * and *distortion (the caller divides for the mean). */
static inline FACET_HD void facet_livescene_ray_losses(const facet_livescene_train_ray *r,
                                                       int levels, int batch,
                                                       const facet_livescene_loss_weights *w,
                                                       float (*dw)[FACET_LIVESCENE_MAX_SAMPLES],
                                                       float *drgb, double *interlevel,
                                                       double *distortion) {
    for (int level = 0; level <= levels; level++)
        for (int j = 0; j < r->n[level]; j++) dw[level][j] = 0.0f;
    const float il_scale = w->interlevel / (float)(batch * r->n[levels]);
    for (int level = 0; level < levels && w->interlevel != 0.0f; level++)
        *interlevel += facet_livescene_interlevel(r, level, levels, il_scale, dw[level]);
    if (w->distortion != 0.0f)
        *distortion +=
            facet_livescene_distortion(r, levels, w->distortion / (float)batch, dw[levels]);
    for (int c = 0; c < 3; c++)
        drgb[c] = w->rgb * 2.0f * (r->terms.rgb[c] - r->terms.target[c]) / (3.0f * (float)batch);
}

/* The start of a level's backward pass, shared by the per-sample and the CPU's block passes: at
 * the final level the colour's gradient joins dL/dw (rgb = sum w c + 1 (1 - sum w)), then dL/dw
 * becomes the gradients of the level's densities (facet_livescene_weights_backward). */
static inline FACET_HD void
facet_livescene_level_weights_backward(facet_livescene_train_ray *r, int level, int levels,
                                       const float *drgb,
                                       float (*dw)[FACET_LIVESCENE_MAX_SAMPLES]) {
    if (level == levels)
        for (int j = 0; j < r->n[level]; j++)
            for (int c = 0; c < 3; c++) dw[level][j] += drgb[c] * (r->sample_rgb[j][c] - 1.0f);
    facet_livescene_weights_backward(r, level, dw[level], r->work[0]);
}

/* Backward pass of one ray: drgb (dL/d rendered colour), the per-level dL/dw from interlevel and
 * distortion (dw[level][j]) and r->terms.drendered_logits. Accumulates into `grad`. dw is consumed.
 * scratch: facet_livescene_backward_scratch_floats (fields/livescene_backward.h). The CUDA kernel
 * runs this per sample; the CPU trainer runs facet_livescene_train_backward_lanes
 * (fit/livescene_train_lanes.h), the networks sixteen samples at a time with the same gradients
 * bit for bit. */
static inline FACET_HD void
facet_livescene_train_backward_scratch(const facet_livescene_field *f,
                                       const facet_livescene_field *grad, int levels,
                                       facet_livescene_train_ray *r, const float *drgb,
                                       float (*dw)[FACET_LIVESCENE_MAX_SAMPLES], float *scratch) {
    const int classes = f->objects + 1;
    for (int level = 0; level <= levels; level++) {
        const int n = r->n[level];
        facet_livescene_level_weights_backward(r, level, levels, drgb, dw);
        float dlogits[FACET_LIVESCENE_MAX_OBJECTS + 1];
        int any_mask = 0;
        for (int c = 0; c < classes; c++) any_mask |= r->terms.drendered_logits[level][c] != 0.0f;
        for (int j = 0; j < n; j++) {
            float pos[3];
            facet_livescene_train_position(r, level, j, pos);
            const float k = r->kappa_sel[level][j];
            if (level < levels) {
                if (dw[level][j] != 0.0f)
                    facet_livescene_proposal_density_backward_scratch(f, grad, level, pos, k,
                                                                      dw[level][j], scratch);
            } else {
                float dcolor[3];
                for (int c = 0; c < 3; c++) dcolor[c] = r->weights[level][j] * drgb[c];
                facet_livescene_field_backward_scratch(f, grad, pos, k, r->d, dw[level][j], dcolor,
                                                       scratch);
            }
            if (any_mask && r->weights[level][j] != 0.0f) {
                for (int c = 0; c < classes; c++)
                    dlogits[c] = r->weights[level][j] * r->terms.drendered_logits[level][c];
                facet_livescene_probability_backward_scratch(f, grad, pos, r->kappa, dlogits,
                                                             scratch);
            }
        }
    }
}

static inline FACET_HD void
facet_livescene_train_backward(const facet_livescene_field *f, const facet_livescene_field *grad,
                               int levels, facet_livescene_train_ray *r, const float *drgb,
                               float (*dw)[FACET_LIVESCENE_MAX_SAMPLES]) {
    float scratch[FACET_LIVESCENE_MAX_BACKWARD_SCRATCH];
    facet_livescene_train_backward_scratch(f, grad, levels, r, drgb, dw, scratch);
}

/* The plane regularisers of livescene_model.py per plane element, for the CPU loop and the CUDA
 * kernel alike. A plane is channels-last [h][w][c] (h along the plane's second axis b, w along its
 * first axis a). Each term is a mean over its differences, pre-divided into the coefficients:
 *   tv_w    sum (t[y][x+1] - t[y][x])^2         (plane_tv along w)
 *   tv_h    sum (t[y+1][x] - t[y][x])^2         (plane_tv along h; spatial planes only)
 *   l1      sum |1 - t|                         (l1_time_planes; kappa planes)
 *   smooth  sum (t[y+2] - 2 t[y+1] + t[y])^2    (time_smoothness along kappa = h) */
typedef struct facet_livescene_plane_reg {
    int h, w, c;
    float tv_w, tv_h, l1, smooth; /* coefficient / number of terms; 0: off */
} facet_livescene_plane_reg;

/* dL/dt for element i = (y * w + x) * c + k; *loss receives the terms that start at i. */
static inline FACET_HD float facet_livescene_plane_reg_element(const float *t,
                                                               const facet_livescene_plane_reg *r,
                                                               int64_t i, float *loss) {
    const int64_t row = (int64_t)r->w * r->c;
    const int y = (int)(i / row), x = (int)((i % row) / r->c);
    float g = 0.0f, l = 0.0f;
    if (r->tv_w != 0.0f) {
        if (x + 1 < r->w) {
            float d = t[i + r->c] - t[i];
            g -= 2.0f * r->tv_w * d;
            l += r->tv_w * d * d;
        }
        if (x > 0) g += 2.0f * r->tv_w * (t[i] - t[i - r->c]);
    }
    if (r->tv_h != 0.0f) {
        if (y + 1 < r->h) {
            float d = t[i + row] - t[i];
            g -= 2.0f * r->tv_h * d;
            l += r->tv_h * d * d;
        }
        if (y > 0) g += 2.0f * r->tv_h * (t[i] - t[i - row]);
    }
    if (r->l1 != 0.0f) {
        float d = 1.0f - t[i];
        g += d > 0.0f ? -r->l1 : (d < 0.0f ? r->l1 : 0.0f);
        l += r->l1 * fabsf(d);
    }
    if (r->smooth != 0.0f) {
        /* second differences sd(k) = t[k+2] - 2 t[k+1] + t[k] for k = 0 .. h-3 touch rows k..k+2 */
        for (int k = y - 2; k <= y; k++) {
            if (k < 0 || k + 2 >= r->h) continue;
            const int64_t base = i + (int64_t)(k - y) * row;
            float sd = t[base + 2 * row] - 2.0f * t[base + row] + t[base];
            float coefficient = k == y ? 1.0f : (k == y - 1 ? -2.0f : 1.0f);
            g += 2.0f * r->smooth * sd * coefficient;
            if (k == y) l += r->smooth * sd * sd;
        }
    }
    *loss = l;
    return g;
}

#endif
