/* Pixel filters and supersampling: where a pixel's samples go and how they combine, shared by the
 * CPU renderer (render/render.c), the CUDA renderer (render/cuda/render.cu) and the viewer.
 *
 * Conventions: image coordinates in pixels from the top-left corner (x right, y down); pixel
 * (i, j) covers [i, i + 1) x [j, j + 1) and its centre is (i + 0.5, j + 0.5). A sample is an
 * offset (dx, dy) in pixels from the centre.
 *
 * Filters: Cycles' pixel filters with its "Filter Width" w (Blender: Render Properties > Film >
 * Pixel Filter; Cycles src/scene/film.cpp), separable: one 1D filter f(x) per axis, f(dx) f(dy).
 * - box:             f(x) = 1 on |x| <= w/2.                      variance w^2 / 12
 * - gaussian:        f(x) = exp(-8 x^2 / w^2) on |x| <= 1.5 w,    variance ~ (w/4)^2
 *                    a normal of sigma = w/4 truncated at 6 sigma (Cycles: the table spans 3w and
 *                    the function is exp(-2 (6x / 3w)^2)).
 * - blackman-harris: f(x) = a0 + a1 cos(pi x/w) + a2 cos(2 pi x/w) + a3 cos(3 pi x/w) on |x| <= w
 *                    (a0..a3 = 0.35875, 0.48829, 0.14128, 0.01168), variance 0.07674 w^2.
 *                    Cycles writes it as a0 - a1 cos(v) + a2 cos(2v) - a3 cos(3v) with
 *                    v = 2 pi (x / 2w + 1/2) over a table spanning 2w: the same window, so
 *                    Blender's default of 1.5 px reaches 1.5 px either side of the centre.
 * Importance sampling, as Cycles does: each axis's offset is the filter's inverse CDF at a
 * uniform u (facet_filter_offset), so all samples weigh the same and a pixel is the plain mean of
 * its samples (no weights, no normalisation).
 *
 * Sample positions: sample k of N in pixel (i, j) takes u = point k of the 2D Sobol sequence
 * (dimension 1: the van der Corput radical inverse in base 2; dimension 2: Sobol's second
 * generator, Pascal's triangle mod 2), XOR-scrambled with two 32-bit words of PCG32 seeded by the
 * pixel (core/rng.h: seed (j << 32) | i, stream FACET_FILTER_STREAM). A digit scramble keeps the
 * sequence's stratification: for N a power of two the N points are a (0, m, 2)-net, one point in
 * each of N strata of every elementary-interval shape, so each axis alone has one sample in each
 * 1/N of [0, 1). Every pixel gets its own scramble, the same in every run and on every device
 * (integer arithmetic up to the inverse CDF).
 *
 * spp 1 is one ray through the pixel centre whatever the filter: the NeRF protocol, and facet's
 * default (Cycles too puts its first sample at the centre; facet's N > 1 samples are all drawn).
 *
 * Combining (facet_sample_add / facet_sample_mean): sums in sample order k = 0..N-1, then divides
 * by N; both renderers add in that order, so they agree bit for bit on the same sample values.
 * Masks (auxiliary channels) and RGBA are means over all samples; depth is the mean of the finite
 * depths (samples that hit a node), +inf when no sample does. */
#ifndef FACET_RENDER_PIXEL_FILTER_H
#define FACET_RENDER_PIXEL_FILTER_H

#include "camera.h"

#include "core/hd.h"
#include "core/rng.h"
#include "core/status.h"

#include <math.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum facet_filter_type {
    FACET_FILTER_BOX = 0,
    FACET_FILTER_GAUSSIAN = 1,
    FACET_FILTER_BLACKMAN_HARRIS = 2,
} facet_filter_type;

/* Zero-initialised: one ray per pixel centre (spp 0 counts as 1). */
typedef struct facet_pixel_filter {
    int spp;     /* samples per pixel; 0 or 1: one ray through each pixel centre */
    int type;    /* facet_filter_type */
    float width; /* pixels, Cycles' Filter Width (above); <= 0: the type's default width */
} facet_pixel_filter;

enum { FACET_FILTER_MAX_SPP = 65536 };
#define FACET_FILTER_STREAM 0x5eed5a3bULL /* the PCG32 stream of the per-pixel scrambles */

/* ---- host helpers (render/pixel_filter.c) -----------------------------------------------------
 */

/* "box" / "gaussian" / "blackman-harris" -> type; -1 otherwise. */
int facet_filter_type_from_name(const char *name);
const char *facet_filter_type_name(int type);
/* The width a filter gets when none is given: box 1 px (the pixel's area), gaussian and
 * blackman-harris 1.5 px (Blender's default Filter Width). */
float facet_filter_default_width(int type);
/* Checks spp in [0, FACET_FILTER_MAX_SPP], a known type and a width in [0, 16] px (0: default). */
facet_status facet_pixel_filter_check(const facet_pixel_filter *filter);

/* ---- per-sample functions (host and device) ----------------------------------------------------
 */

static inline FACET_HD int facet_pixel_filter_spp(const facet_pixel_filter *filter) {
    return filter->spp > 1 ? filter->spp : 1;
}

static inline FACET_HD float facet_pixel_filter_width(const facet_pixel_filter *filter) {
    if (filter->width > 0.0f) return filter->width;
    return filter->type == FACET_FILTER_BOX ? 1.0f : 1.5f; /* facet_filter_default_width */
}

static inline FACET_HD uint32_t facet_bit_reverse32(uint32_t x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    x = ((x >> 8) & 0x00ff00ffu) | ((x & 0x00ff00ffu) << 8);
    return (x >> 16) | (x << 16);
}

/* Sobol's second dimension as a 32-bit fraction: the XOR of the direction numbers v_b for the set
 * bits b of k, v_1 = 1/2 and v_{b+1} = v_b xor (v_b >> 1) (the rows of Pascal's triangle mod 2). */
static inline FACET_HD uint32_t facet_sobol2(uint32_t k) {
    uint32_t r = 0, v = 0x80000000u;
    for (; k; k >>= 1, v ^= v >> 1)
        if (k & 1u) r ^= v;
    return r;
}

/* A 32-bit fraction -> float in (0, 1): the top 24 bits plus half an ulp (exact). */
static inline FACET_HD float facet_filter_unit(uint32_t bits) {
    return ((float)(bits >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

/* u[2] in (0, 1)^2 of sample k in pixel (i, j): the scrambled Sobol point (header comment). */
static inline FACET_HD void facet_pixel_sample_u(int i, int j, uint32_t k, float u[2]) {
    facet_rng rng =
        facet_rng_seed(((uint64_t)(uint32_t)j << 32) | (uint32_t)i, FACET_FILTER_STREAM);
    const uint32_t scramble_x = facet_rng_u32(&rng), scramble_y = facet_rng_u32(&rng);
    u[0] = facet_filter_unit(facet_bit_reverse32(k) ^ scramble_x);
    u[1] = facet_filter_unit(facet_sobol2(k) ^ scramble_y);
}

/* Blackman-Harris coefficients (4-term, -92 dB side lobes). */
#define FACET_BH_A0 0.35875f
#define FACET_BH_A1 0.48829f
#define FACET_BH_A2 0.14128f
#define FACET_BH_A3 0.01168f

/* The half CDF of a filter on its normalised coordinate s >= 0 and its derivative (the density):
 * cdf(s) = P(0 <= X <= x(s)), from 0 at s = 0 to 1/2 at the support's end.
 * - gaussian: s = x / (sigma sqrt 2) = 2 sqrt(2) x / w in [0, 3 sqrt 2]:
 *   cdf = erf(s) / (2 erf(3 sqrt 2)), density = exp(-s^2) / (sqrt(pi) erf(3 sqrt 2)), where
 *   erf(3 sqrt 2) = 1 - 2e-9 is 1 in float;
 * - blackman-harris: s = x / w in [0, 1]:
 *   cdf = (a0 s + sum_k a_k sin(k pi s) / (k pi)) / (2 a0), density = f(s) / (2 a0), with the
 *   multiples of the angle from one sine and cosine (sin 2a = 2 sin a cos a, cos 2a =
 *   2 cos^2 a - 1, sin 3a = sin a (4 cos^2 a - 1), cos 3a = cos a (2 cos 2a - 1)).
 * Both densities decrease in s, so both half CDFs are concave. */
static inline FACET_HD void facet_filter_half_cdf(int type, float s, float *cdf, float *density) {
    const float pi = 3.14159265358979323846f;
    if (type == FACET_FILTER_GAUSSIAN) {
        *cdf = 0.5f * erff(s);
        *density = expf(-s * s) * 0.56418958354775628695f; /* 1 / sqrt(pi) */
    } else {
        const float a = pi * s, sin1 = sinf(a), cos1 = cosf(a);
        const float cos2 = 2.0f * cos1 * cos1 - 1.0f, sin2 = 2.0f * sin1 * cos1;
        const float sin3 = sin1 * (2.0f * cos2 + 1.0f), cos3 = cos1 * (2.0f * cos2 - 1.0f);
        *cdf = (FACET_BH_A0 * s + (FACET_BH_A1 * sin1 + FACET_BH_A2 * sin2 * 0.5f +
                                   FACET_BH_A3 * sin3 * (1.0f / 3.0f)) *
                                      (1.0f / pi)) *
               (0.5f / FACET_BH_A0);
        *density = (FACET_BH_A0 + FACET_BH_A1 * cos1 + FACET_BH_A2 * cos2 + FACET_BH_A3 * cos3) *
                   (0.5f / FACET_BH_A0);
    }
}

/* The offset in pixels (one axis) at which the filter's CDF is u in (0, 1): the inverse CDF.
 * box: w (u - 1/2). gaussian, blackman-harris: by symmetry solve half_cdf(s) = |u - 1/2| for
 * s >= 0 by Newton's method from s = 0. The half CDF is concave and increasing, so every tangent
 * lies above it: each step lands at or before the root, and the iterates climb to it without
 * overshooting (no bracketing needed). Stops when a step is below 1e-7 (about 2 ulp of s near
 * 1) or at the support's end; the result is clamped to the support. */
static inline FACET_HD float facet_filter_offset(int type, float width, float u) {
    if (type != FACET_FILTER_GAUSSIAN && type != FACET_FILTER_BLACKMAN_HARRIS)
        return width * (u - 0.5f);
    const float q = fabsf(u - 0.5f);
    const float s_max = type == FACET_FILTER_GAUSSIAN ? 4.24264068711928514640f : 1.0f;
    float s = 0.0f;
    for (int iteration = 0; iteration < 64; iteration++) {
        float cdf, density;
        facet_filter_half_cdf(type, s, &cdf, &density);
        const float step = (q - cdf) / density;
        if (!(step > 0.0f)) break; /* at the root (or a rounding step back), or density 0 */
        s += step;
        if (!(s < s_max)) { /* a step past the end (the density vanishes there) */
            s = s_max;
            break;
        }
        if (step < 1e-7f) break;
    }
    /* normalised -> pixels: gaussian x = s w / (2 sqrt 2), blackman-harris x = s w */
    const float x = type == FACET_FILTER_GAUSSIAN ? s * width * 0.35355339059327376220f : s * width;
    return u < 0.5f ? -x : x;
}

/* Sample k's offset (dx, dy) in pixels from the centre of pixel (i, j). */
static inline FACET_HD void facet_pixel_sample_offset(const facet_pixel_filter *filter, int i,
                                                      int j, int k, float *dx, float *dy) {
    float u[2];
    facet_pixel_sample_u(i, j, (uint32_t)k, u);
    const float width = facet_pixel_filter_width(filter);
    *dx = facet_filter_offset(filter->type, width, u[0]);
    *dy = facet_filter_offset(filter->type, width, u[1]);
}

/* The primary ray of sample k in pixel (i, j): the centre's ray when spp is 1 (bit for bit
 * facet_camera_ray), else the ray through the centre plus the sample's offset. */
static inline FACET_HD facet_ray facet_pixel_sample_ray(const facet_camera *cam,
                                                        const facet_pixel_filter *filter, int i,
                                                        int j, int k) {
    if (facet_pixel_filter_spp(filter) == 1) return facet_camera_ray(cam, i, j);
    float dx, dy;
    facet_pixel_sample_offset(filter, i, j, k, &dx, &dy);
    return facet_camera_ray_at(cam, (float)i + 0.5f + dx, (float)j + 0.5f + dy);
}

/* ---- combining samples ------------------------------------------------------------------------
 */

/* sum[c] += x[c] for c < channels; called for k = 0..N-1 in order. */
static inline FACET_HD void facet_sample_add(float *sum, const float *x, int channels) {
    for (int c = 0; c < channels; c++) sum[c] += x[c];
}

/* sum[c] /= spp: the mean over the samples. */
static inline FACET_HD void facet_sample_mean(float *sum, int channels, int spp) {
    for (int c = 0; c < channels; c++) sum[c] = sum[c] / (float)spp;
}

/* Depth: *sum and *hits accumulate the samples' finite depths (+inf: the sample hit nothing). */
static inline FACET_HD void facet_sample_add_depth(float *sum, float *hits, float depth) {
    if (depth != INFINITY) {
        *sum += depth;
        *hits += 1.0f;
    }
}

/* The mean of the finite depths; +inf when no sample hit a node. */
static inline FACET_HD float facet_sample_depth_mean(float sum, float hits) {
    return hits > 0.0f ? sum / hits : INFINITY;
}

#ifdef __cplusplus
}
#endif
#endif
