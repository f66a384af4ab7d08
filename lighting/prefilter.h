/* Split-sum prefiltering of a cube map: GGX-filtered specular levels and diffuse irradiance, one
 * output texel per call, shared by the CPU loops (prefilter.c) and the CUDA kernels
 * (cuda/lighting.cu).
 *
 * Both modes assume N = V = R (Karis 2013): the texel's direction R is the normal, the view and the
 * reflection, and the filtered value is
 *     sum_l L(l) (l.R) D(h.R) dw / sum_l (l.R) D(h.R) dw,   h = normalize(l + R),
 * with D the GGX distribution of alpha = roughness^2.
 *
 * parity: the official nvdiffrec/RISE-SDF filter (renderutils cubemap.cu SpecularCubemapFwdKernel):
 *   a brute-force sum over the texels of the source level of the SAME face size, restricted to
 *   the cone holding 99% of the NDF (ops.py __ndfBounds: cos_cutoff), with the texel solid angle
 *   approximated as the product of two arctangent differences (pixel_area). The texels to visit
 *   come from an exact azimuth bound of the cone per face (any superset gives the same sum: every
 *   texel is tested against the cone).
 * quality: importance sampling of the GGX lobe with filtered lookups (Colbert & Krivanek 2007,
 *   GPU Gems 3 ch. 20; Filament's "pre-filtered importance sampling"): `samples` Hammersley
 *   half-vectors, weight NoL, each sample read from the box-filtered source chain at
 *   lod = 0.5 log2(Omega_s / Omega_p) (Omega_s = 1 / (samples pdf), pdf = D / 4,
 *   Omega_p = 4 pi / (6 n0^2) the solid angle of a level-0 source texel). Filament adds one level
 *   (K = 4) for smoother results; against a Monte Carlo integral of the lobe that extra blur
 *   triples the error of the rough levels (3.5% instead of 1.2% at r = 0.5), so K = 1 here.
 *   No cone truncation, no clamping of the map.
 *
 * Diffuse irradiance is the official cosine convolution of the 16^2 box level
 * (DiffuseCubemapFwdKernel): sum L (n.l clamped to [0, 0.999]) area / pi, with the official
 * texel areas in parity mode (their total is 13.59 sr instead of 4 pi: a constant sky of radiance
 * 1 gives E_d of 1.05 to 1.10) and the exact texel solid angles in quality mode. */
#ifndef FACET_LIGHTING_PREFILTER_H
#define FACET_LIGHTING_PREFILTER_H

#include "cubemap.h"

#include "core/hd.h"
#include "core/vecmath.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* The parity filter's inner loop is a sum: let OpenMP's simd reduction vectorise it on the CPU
 * (reassociating the four sums); nvcc and non-OpenMP compilers get a plain loop. */
#if defined(_OPENMP) && !defined(__CUDACC__)
#define FACET_SIMD_PARITY_SUMS _Pragma("omp simd reduction(+ : acc0, acc1, acc2, wsum)")
#else
#define FACET_SIMD_PARITY_SUMS
#endif

typedef enum facet_prefilter_mode {
    FACET_PREFILTER_QUALITY = 0,
    FACET_PREFILTER_PARITY,
} facet_prefilter_mode;

enum { FACET_PREFILTER_MAX_RINGS = 16 };

/* One ring of the quality filter's summation: the source texels whose centres l satisfy
 * cos_outer < l.R <= cos_inner, read from chain level `level`. */
typedef struct facet_prefilter_ring {
    float cos_outer, cos_inner;
    float sin_outer; /* sin of the outer angle, or 2 when it is >= 90 degrees (whole faces) */
    float min_rc;    /* facet_ring_min_rc(sin_outer): faces with R.axis below it are skipped */
    int level;
} facet_prefilter_ring;

/* The least R.axis of a face that can hold a direction within the ring's outer angle of R: a
 * face holds directions within acos(1/sqrt(3)) of its axis. Depends only on the ring, so the
 * plan stores it (facet_prefilter_ring.min_rc). */
static inline FACET_HD float facet_ring_min_rc(float sin_outer) {
    const float outer = sin_outer > 1.0f ? 1.57079632679f : asinf(sin_outer);
    return cosf(fminf(outer + 0.9553166181245093f, 3.14159265358979f));
}

/* What one specular level's filter needs (host or device pointers). */
typedef struct facet_prefilter_level {
    facet_prefilter_mode mode;
    int size;     /* output face size */
    float alpha2; /* alpha^2 = roughness^4 */
    /* parity */
    const float *source; /* padded source level of face size `size` */
    const float *area;   /* `size` factors: texel (x, y) covers area[x] * area[y] steradians */
    float cos_cutoff;    /* texels with l.R below this are skipped */
    /* quality */
    facet_cube_view chain; /* the box-filtered source chain from the base face size down */
    int ring_count;        /* 0: a mirror level (roughness 0), the chain's level 0 as it is */
    facet_prefilter_ring rings[FACET_PREFILTER_MAX_RINGS];
    /* optional (CPU), per chain level l: sizes[l]^2 floats, facet_ring_inv_norm of texel (x, y)
     * at [y * sizes[l] + x], the same on every face; NULL: computed where used (the same bits).
     * facet_prefilter_level_cpu tabulates the levels the rings read. */
    const float *inv_norm[FACET_CUBE_MAX_LEVELS];
    /* quality, filtered importance sampling (bench/ comparisons only) */
    const float *table; /* samples x 5 floats (facet_prefilter_sample) */
    int samples;        /* entries in table; 0: the ring summation */
} facet_prefilter_level;

/* GGX normal distribution at cos(theta_h), clamped to [0,1] (nvdiffrec ndfGGX). */
static inline FACET_HD float facet_ggx_ndf(float alpha2, float cos_h) {
    float c = fminf(fmaxf(cos_h, 0.0f), 1.0f);
    float d = (c * alpha2 - c) * c + 1.0f;
    return alpha2 / (d * d * 3.14159265358979323846f);
}

/* nvdiffrec's pixel_area factor of column (or row) i of an n x n face: texel (x, y) covers
 * factor(x) * factor(y) steradians (approximately). */
static inline FACET_HD float facet_cube_area_factor(int i, int n) {
    if (n <= 1) return 1.0f;
    int h = n / 2, k = i > h ? i - h : h - i;
    return atanf((float)(k + 1) / (float)h) - atanf((float)k / (float)h);
}

/* 1 when direction (x, y) of a plane lies in the counter-clockwise arc from (ax, ay) to (bx, by),
 * an arc narrower than pi (no vector need be unit). */
static inline FACET_HD int facet_in_arc(float x, float y, float ax, float ay, float bx, float by) {
    return ax * y - ay * x >= 0.0f && x * by - y * bx >= 0.0f;
}

/* Texel index range [lo, hi] along one face axis that can hold directions within the cone of
 * half-angle theta (sin_c = sin theta) around R, from R's components along the face axis (rc) and
 * along the face coordinate (ra): the azimuth of such directions in the (axis, coordinate) plane
 * lies within delta = asin(sin_c / |(rc, ra)|) of R's. Returns 0 when the face cannot hold any.
 * Without trigonometry: the arc's ends are (rc, ra) turned by -delta and +delta; the face's
 * azimuths are the directions (x, y) with |y| <= x, whose face coordinate is y / x. An end inside
 * the face bounds the range at its coordinate, else the face's edge does (-1 or 1, which also
 * keeps the range whole where rounding leaves an end undecided). One texel of margin absorbs
 * rounding (tests/test_relight.c checks the range against every texel centre in the cone). */
static inline FACET_HD int facet_cone_axis_range(float rc, float ra, float sin_c, int n, int *lo,
                                                 int *hi) {
    const float rho = sqrtf(rc * rc + ra * ra);
    if (rho <= sin_c) {
        *lo = 0;
        *hi = n - 1;
        return 1;
    }
    const float sd = sin_c / rho, cd = sqrtf(fmaxf(0.0f, 1.0f - sd * sd)); /* sin, cos delta */
    const float ax = rc * cd + ra * sd, ay = ra * cd - rc * sd; /* turned by -delta (times rho) */
    const float bx = rc * cd - ra * sd, by = ra * cd + rc * sd; /* turned by +delta */
    const int a_in = ax > 0.0f && fabsf(ay) <= ax, b_in = bx > 0.0f && fabsf(by) <= bx;
    if (!a_in && !b_in && !facet_in_arc(1.0f, -1.0f, ax, ay, bx, by) &&
        !facet_in_arc(1.0f, 1.0f, ax, ay, bx, by))
        return 0; /* neither end in the face, nor the face's edges in the arc */
    /* face coordinate f; texel i has its centre at f = 2 (i + 0.5) / n - 1 */
    const float f0 = a_in ? ay / ax : -1.0f, f1 = b_in ? by / bx : 1.0f;
    const int i0 = (int)floorf((f0 + 1.0f) * 0.5f * (float)n - 0.5f) - 1;
    const int i1 = (int)ceilf((f1 + 1.0f) * 0.5f * (float)n - 0.5f) + 1;
    *lo = i0 < 0 ? 0 : i0;
    *hi = i1 > n - 1 ? n - 1 : i1;
    return 1;
}

/* Parity filter of the texel with direction R (see the header comment). rgb[3] out.
 * Within a face, direction = axis + fx U + fy V, so l.R = (R.axis + fx R.U + fy R.V) /
 * sqrt(1 + fx^2 + fy^2) and (R.h)^2 = (1 + l.R) / 2: the inner loop is branch-free arithmetic. */
static inline FACET_HD void facet_prefilter_parity_texel(const facet_prefilter_level *p,
                                                         facet_vec3 R, float rgb[3]) {
    const int n = p->size;
    const float cos_c = p->cos_cutoff;
    const float sin_c = cos_c > 0.0f ? sqrtf(fmaxf(0.0f, 1.0f - cos_c * cos_c)) : 2.0f;
    const float step = 2.0f / (float)n;
    /* w = l.R D(R.h) area / 4 with D = alpha2 / (pi d^2), d = (R.h)^2 (alpha2 - 1) + 1 */
    const float a2 = p->alpha2, scale = a2 / (4.0f * 3.14159265358979323846f);
    /* a face holds directions within acos(1/sqrt(3)) of its axis: skip faces whose axis is
     * farther than that plus the cone's half-angle from R */
    const float reach = acosf(fminf(fmaxf(cos_c, -1.0f), 1.0f)) + 0.9553166181245093f;
    const float min_rc = reach < 3.14159265358979323846f ? cosf(reach) : -1.0f;
    float acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f, wsum = 0.0f;
    for (int g = 0; g < 6; g++) {
        facet_vec3 axis = facet_cube_face_dir(g, 0.0f, 0.0f);
        if (facet_v3_dot(R, axis) < min_rc) continue;
        facet_vec3 du = facet_v3_sub(facet_cube_face_dir(g, 1.0f, 0.0f), axis);
        facet_vec3 dv = facet_v3_sub(facet_cube_face_dir(g, 0.0f, 1.0f), axis);
        const float rc = facet_v3_dot(R, axis), ru = facet_v3_dot(R, du), rv = facet_v3_dot(R, dv);
        int x0, x1, y0, y1;
        if (!facet_cone_axis_range(rc, ru, sin_c, n, &x0, &x1) ||
            !facet_cone_axis_range(rc, rv, sin_c, n, &y0, &y1))
            continue;
        for (int y = y0; y <= y1; y++) {
            const float fy = ((float)y + 0.5f) * step - 1.0f;
            const float cy = rc + fy * rv, ly = 1.0f + fy * fy, ay = p->area[y] * scale;
            const float *row = p->source + facet_cube_texel_offset(n, g, 0, y);
            FACET_SIMD_PARITY_SUMS
            for (int x = x0; x <= x1; x++) {
                const float fx = ((float)x + 0.5f) * step - 1.0f;
                const float c = (cy + fx * ru) / sqrtf(ly + fx * fx); /* l.R */
                const float d = 0.5f * (1.0f + c) * (a2 - 1.0f) + 1.0f;
                const float w = c >= cos_c ? c * p->area[x] * ay / (d * d) : 0.0f;
                acc0 += row[3 * x] * w;
                acc1 += row[3 * x + 1] * w;
                acc2 += row[3 * x + 2] * w;
                wsum += w;
            }
        }
    }
    const float inv = wsum > 0.0f ? 1.0f / wsum : 0.0f;
    rgb[0] = acc0 * inv;
    rgb[1] = acc1 * inv;
    rgb[2] = acc2 * inv;
}

/* Van der Corput radical inverse in base 2 of i, in [0, 1). */
static inline FACET_HD float facet_radical_inverse(uint32_t i) {
    i = (i << 16) | (i >> 16);
    i = ((i & 0x55555555u) << 1) | ((i & 0xAAAAAAAAu) >> 1);
    i = ((i & 0x33333333u) << 2) | ((i & 0xCCCCCCCCu) >> 2);
    i = ((i & 0x0F0F0F0Fu) << 4) | ((i & 0xF0F0F0F0u) >> 4);
    i = ((i & 0x00FF00FFu) << 8) | ((i & 0xFF00FF00u) >> 8);
    return (float)(i >> 8) * (1.0f / 16777216.0f);
}

/* An orthonormal basis (t, b) completing unit n (Duff et al. 2017). */
static inline FACET_HD void facet_basis(facet_vec3 n, facet_vec3 *t, facet_vec3 *b) {
    float sign = n.z >= 0.0f ? 1.0f : -1.0f;
    float a = -1.0f / (sign + n.z), c = n.x * n.y * a;
    *t = facet_v3(1.0f + sign * n.x * n.x * a, sign * c, -sign * n.x);
    *b = facet_v3(c, sign + n.y * n.y * a, -n.y);
}

/* Sample i of `samples` Hammersley GGX half-vectors around +z, turned into the quality filter's
 * table entry: the reflected direction (lx, ly, lz) in the (t, b, R) frame, its weight NoL and its
 * lookup level lod. Returns 0 (entry untouched) when the direction falls below the horizon. */
static inline FACET_HD int facet_prefilter_sample(int i, int samples, float alpha2,
                                                  float log2_omega_p, float entry[5]) {
    const float u1 = ((float)i + 0.5f) / (float)samples;
    const float ct2 = (1.0f - u1) / (1.0f + (alpha2 - 1.0f) * u1);
    const float nol = 2.0f * ct2 - 1.0f; /* l.R with l = reflect(-R, h) */
    if (nol <= 0.0f) return 0;
    const float ct = sqrtf(ct2), st = sqrtf(fmaxf(0.0f, 1.0f - ct2));
    const float phi = 6.28318530717958647692f * facet_radical_inverse((uint32_t)i);
    /* l = 2 (R.h) h - R */
    entry[0] = 2.0f * ct * st * cosf(phi);
    entry[1] = 2.0f * ct * st * sinf(phi);
    entry[2] = nol;
    entry[3] = nol;
    const float pdf = 0.25f * facet_ggx_ndf(alpha2, ct);
    entry[4] = 0.5f * (-log2f((float)samples) - log2f(pdf) - log2_omega_p);
    return 1;
}

/* Quality filter of the texel with direction R (see the header comment) from p->table, the
 * p->samples entries of facet_prefilter_sample that lie above the horizon. rgb[3] out. */
static inline FACET_HD void facet_prefilter_quality_texel(const facet_prefilter_level *p,
                                                          facet_vec3 R, float rgb[3]) {
    facet_vec3 t, b;
    facet_basis(R, &t, &b);
    float acc[3] = {0.0f, 0.0f, 0.0f}, wsum = 0.0f;
    for (int i = 0; i < p->samples; i++) {
        const float *e = p->table + (size_t)i * 5;
        facet_vec3 l =
            facet_v3(t.x * e[0] + b.x * e[1] + R.x * e[2], t.y * e[0] + b.y * e[1] + R.y * e[2],
                     t.z * e[0] + b.z * e[1] + R.z * e[2]);
        float c[3];
        facet_cube_sample(&p->chain, l, e[4], c);
        for (int k = 0; k < 3; k++) acc[k] += c[k] * e[3];
        wsum += e[3];
    }
    float inv = wsum > 0.0f ? 1.0f / wsum : 0.0f;
    for (int k = 0; k < 3; k++) rgb[k] = acc[k] * inv;
}

/* The exact filter's weight of the source texel at face coordinate fx in a row whose other terms
 * are cy = R.axis + fy R.V and ly = 1 + fy^2 (ru = R.U): l.R D(R.h) dOmega up to constants that
 * cancel (dOmega = step^2 inv^3, the step^2 applied per ring), or 0 when l.R falls outside the
 * ring (cos_out, cos_in]. */
/* 1 / |l| for the source texel at face coordinates (fx, fy), ly = 1 + fy^2: the same on every
 * face and for every output texel, so the CPU tabulates it per chain level
 * (facet_prefilter_level.inv_norm) with this same expression. */
static inline FACET_HD float facet_ring_inv_norm(float fx, float ly) {
    return 1.0f / sqrtf(ly + fx * fx);
}

/* facet_ring_weight with inv = facet_ring_inv_norm(fx, ly) given. */
static inline FACET_HD float facet_ring_weight_inv(float fx, float inv, float cy, float ru,
                                                   float a2, float cos_out, float cos_in) {
    const float c = (cy + fx * ru) * inv; /* l.R */
    const float d = 0.5f * (1.0f + c) * (a2 - 1.0f) + 1.0f;
    return ((c > cos_out) & (c <= cos_in)) ? c * inv * inv * inv / (d * d) : 0.0f;
}

static inline FACET_HD float facet_ring_weight(float fx, float cy, float ly, float ru, float a2,
                                               float cos_out, float cos_in) {
    return facet_ring_weight_inv(fx, facet_ring_inv_norm(fx, ly), cy, ru, a2, cos_out, cos_in);
}

/* A ring's sums, lane by lane: sum[0..2][lane] += texel * weight, sum[3][lane] += weight. */
enum { FACET_RING_LANES = 8 };

/* Adds one source row's texels x0..x1 to a ring's lane 0 in ascending x. */
static inline FACET_HD void facet_ring_row_ascending(const float *row, int x0, int x1, float step,
                                                     float cy, float ly, float ru, float a2,
                                                     float cos_out, float cos_in,
                                                     float sum[4][FACET_RING_LANES]) {
    /* running sums in registers, one rounding order: the same as adding into sum[.][0] */
    float r = sum[0][0], g = sum[1][0], b = sum[2][0], wsum = sum[3][0];
    for (int x = x0; x <= x1; x++) {
        const float fx = ((float)x + 0.5f) * step - 1.0f;
        const float w = facet_ring_weight(fx, cy, ly, ru, a2, cos_out, cos_in);
        r += row[3 * x] * w;
        g += row[3 * x + 1] * w;
        b += row[3 * x + 2] * w;
        wsum += w;
    }
    sum[0][0] = r;
    sum[1][0] = g;
    sum[2][0] = b;
    sum[3][0] = wsum;
}

#if !defined(__CUDACC__)
/* Adds one source row's texels x0..x1 (0 <= x0, x1 < n, n >= FACET_RING_LANES) to a ring's
 * lanes in blocks of FACET_RING_LANES texels that lie inside the face: the last block of a row
 * steps back to end at n - 1, its lanes already summed or outside x0..x1 weighing 0. The loop
 * vectorises without a scalar remainder (OpenMP simd); the rows are short, a ring being about 12
 * of its texels across. Reads row[3 * x .. 3 * x + 2] and inv_row[x] for x in [0, n) only.
 * inv_row: the row's facet_ring_inv_norm values; NULL: computed here (the same bits, with a
 * square root and a division more per texel). */
static inline void facet_ring_row_blocked(const float *row, const float *inv_row, int n, int x0,
                                          int x1, float step, float cy, float ly, float ru,
                                          float a2, float cos_out, float cos_in,
                                          float sum[4][FACET_RING_LANES]) {
    for (int done = x0; done <= x1;) {
        const int start = done < n - FACET_RING_LANES ? done : n - FACET_RING_LANES;
        float local[FACET_RING_LANES];
        const float *inv = inv_row ? inv_row + start : local;
        if (!inv_row)
            for (int j = 0; j < FACET_RING_LANES; j++)
                local[j] = facet_ring_inv_norm(((float)(start + j) + 0.5f) * step - 1.0f, ly);
#if defined(_OPENMP)
#pragma omp simd
#endif
        for (int j = 0; j < FACET_RING_LANES; j++) {
            const int x = start + j;
            /* a lane that is not its own weighs 0; its texel lies inside the face */
            const int in = (x >= done) & (x <= x1);
            const float fx = ((float)x + 0.5f) * step - 1.0f;
            const float w =
                in ? facet_ring_weight_inv(fx, inv[j], cy, ru, a2, cos_out, cos_in) : 0.0f;
            sum[0][j] += row[3 * x] * w;
            sum[1][j] += row[3 * x + 1] * w;
            sum[2][j] += row[3 * x + 2] * w;
            sum[3][j] += w;
        }
        done = start + FACET_RING_LANES;
    }
}
#endif

/* The exact filter's row sums: blocks on the CPU, ascending x on the GPU (one thread per output
 * texel), on faces narrower than a block, and under AddressSanitizer, whose instrumented loads
 * keep the blocks from vectorising (scalar, they cost 1.6x the ascending loop there;
 * tests/test_relight.c checks the blocks' reads against exact-size rows in that build). The two
 * orders round differently (tests/gpu/parity_lighting.c RING_TOL). */
#if defined(__SANITIZE_ADDRESS__)
#define FACET_RING_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FACET_RING_ASAN 1
#endif
#endif
static inline FACET_HD void facet_ring_row_sums(const float *row, const float *inv_row, int n,
                                                int x0, int x1, float step, float cy, float ly,
                                                float ru, float a2, float cos_out, float cos_in,
                                                float sum[4][FACET_RING_LANES]) {
#if !defined(__CUDACC__) && !defined(FACET_RING_ASAN)
    if (n >= FACET_RING_LANES) {
        facet_ring_row_blocked(row, inv_row, n, x0, x1, step, cy, ly, ru, a2, cos_out, cos_in, sum);
        return;
    }
#endif
    (void)n, (void)inv_row;
    facet_ring_row_ascending(row, x0, x1, step, cy, ly, ru, a2, cos_out, cos_in, sum);
}

/* Quality filter of the texel with direction R by summation over source texels, ring by ring
 * (facet_lighting_quality_plan chooses the rings): within a ring every source texel centre l of
 * chain level `level` with cos_outer < l.R <= cos_inner weighs l.R D(R.h) dOmega, dOmega the
 * texel's solid angle (2/m)^2 / (1 + fx^2 + fy^2)^(3/2) at face size m. Rings read coarser levels
 * as they widen, so every ring costs about the same; the core holds the lobe's peak at a
 * resolution finer than the lobe. The weights are normalised by their sum. rgb[3] out. */
static inline FACET_HD void facet_prefilter_ring_texel(const facet_prefilter_level *p, facet_vec3 R,
                                                       float rgb[3]) {
    if (p->ring_count == 0) {
        facet_cube_sample(&p->chain, R, 0.0f, rgb);
        return;
    }
    const float a2 = p->alpha2;
    float acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f, wsum = 0.0f;
    for (int k = 0; k < p->ring_count; k++) {
        const facet_prefilter_ring *ring = &p->rings[k];
        const int n = p->chain.sizes[ring->level];
        const float *source = p->chain.level[ring->level];
        const float *inv_norm = p->inv_norm[ring->level];
        const float step = 2.0f / (float)n, cos_out = ring->cos_outer, cos_in = ring->cos_inner;
        const float min_rc = ring->min_rc;
        float sum[4][FACET_RING_LANES] = {{0.0f}};
        for (int g = 0; g < 6; g++) {
            facet_vec3 axis = facet_cube_face_dir(g, 0.0f, 0.0f);
            const float rc = facet_v3_dot(R, axis);
            if (rc < min_rc) continue;
            facet_vec3 du = facet_v3_sub(facet_cube_face_dir(g, 1.0f, 0.0f), axis);
            facet_vec3 dv = facet_v3_sub(facet_cube_face_dir(g, 0.0f, 1.0f), axis);
            const float ru = facet_v3_dot(R, du), rv = facet_v3_dot(R, dv);
            int x0, x1, y0, y1;
            if (!facet_cone_axis_range(rc, ru, ring->sin_outer, n, &x0, &x1) ||
                !facet_cone_axis_range(rc, rv, ring->sin_outer, n, &y0, &y1))
                continue;
            for (int y = y0; y <= y1; y++) {
                const float fy = ((float)y + 0.5f) * step - 1.0f;
                facet_ring_row_sums(source + facet_cube_texel_offset(n, g, 0, y),
                                    inv_norm ? inv_norm + (size_t)y * n : NULL, n, x0, x1, step,
                                    rc + fy * rv, 1.0f + fy * fy, ru, a2, cos_out, cos_in, sum);
            }
        }
        float total[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (int c = 0; c < 4; c++)
            for (int j = 0; j < FACET_RING_LANES; j++) total[c] += sum[c][j];
        const float area = step * step; /* rings differ in texel size */
        acc0 += total[0] * area;
        acc1 += total[1] * area;
        acc2 += total[2] * area;
        wsum += total[3] * area;
    }
    const float inv = wsum > 0.0f ? 1.0f / wsum : 0.0f;
    rgb[0] = acc0 * inv;
    rgb[1] = acc1 * inv;
    rgb[2] = acc2 * inv;
}

/* The filtered value of texel (x, y) of `face` of level p (either mode). rgb[3] out. */
static inline FACET_HD void facet_prefilter_texel(const facet_prefilter_level *p, int face, int x,
                                                  int y, float rgb[3]) {
    facet_vec3 R = facet_cube_texel_dir(face, x, y, p->size);
    if (p->mode == FACET_PREFILTER_PARITY)
        facet_prefilter_parity_texel(p, R, rgb);
    else if (p->samples > 0)
        facet_prefilter_quality_texel(p, R, rgb);
    else
        facet_prefilter_ring_texel(p, R, rgb);
}

/* What the diffuse irradiance convolution reads (host or device pointers). */
typedef struct facet_irradiance_source {
    const float *level;  /* padded source level of the box chain, face size `size` */
    const float *weight; /* size^2 texel solid angles (sr), the same on every face */
    int size;
    /* 1: the official constants, n.l clamped to [0, 0.999] and pi written 3.141592;
     * 0: n.l clamped to [0, 1] and pi */
    int official;
    /* optional (CPU): the 6 size^2 source texel directions facet_cube_texel_dir(g, i, j, size),
     * xyz at ((g * size + j) * size + i) * 3; NULL: each computed where it is used */
    const float *dirs;
} facet_irradiance_source;

/* Diffuse irradiance / pi for texel (x, y) of `face` of an n x n output: the cosine-weighted sum
 * over every source texel, sum_t L_t max(n.l_t, 0) dw_t / pi (parity: the official 16^2 box level
 * into a 16^2 output with the official areas; quality: a finer source, exact solid angles).
 * rgb[3] out. */
static inline FACET_HD void facet_irradiance_texel(const facet_irradiance_source *s, int n,
                                                   int face, int x, int y, float rgb[3]) {
    facet_vec3 N = facet_cube_texel_dir(face, x, y, n);
    const int m = s->size;
    const float cmax = s->official ? 0.999f : 1.0f;
    const float inv_pi = s->official ? 1.0f / 3.141592f : 1.0f / 3.14159265358979323846f;
    float acc[3] = {0.0f, 0.0f, 0.0f};
    for (int g = 0; g < 6; g++)
        for (int j = 0; j < m; j++)
            for (int i = 0; i < m; i++) {
                const float *d = s->dirs ? s->dirs + (((size_t)g * m + j) * m + i) * 3 : NULL;
                float c = facet_v3_dot(N, d ? facet_v3(d[0], d[1], d[2])
                                            : facet_cube_texel_dir(g, i, j, m));
                /* the clamp to [0, cmax] (c is finite: unit directions) */
                c = c > 0.0f ? c : 0.0f;
                c = c < cmax ? c : cmax;
                float w = c * s->weight[j * m + i] * inv_pi;
                const float *t = s->level + facet_cube_texel_offset(m, g, i, j);
                for (int k = 0; k < 3; k++) acc[k] += t[k] * w;
            }
    for (int k = 0; k < 3; k++) rgb[k] = acc[k];
}

#ifdef __cplusplus
extern "C" {
#endif

/* cos of the cone half-angle holding `fraction` of the GGX NDF of `roughness`, as nvdiffrec's
 * ops.py __ndfBounds computes it: cumulative sum of D(alpha = roughness^2) over 10^6 angles
 * uniformly spaced in [0, pi/2] (no sin(theta) weight), first angle reaching the fraction. */
float facet_ggx_cone_cutoff(float roughness, double fraction);

/* The quality filter's sample table for roughness^4 = alpha2 and `samples` Hammersley points,
 * source chain of base face size `size`, into out[samples * 5]; returns the entries kept. */
int facet_prefilter_sample_table(float alpha2, int samples, int size, float *out);

/* The n area factors of facet_cube_area_factor into out[n]. */
void facet_cube_area_table(int n, float *out);

/* Runs facet_prefilter_texel over every texel of level p into `out` (padded, face size p->size)
 * and fills its borders; OpenMP-parallel. */
void facet_prefilter_level_cpu(const facet_prefilter_level *p, float *out);

/* Per-texel solid angles of an n x n face into weight[n * n]: exact = 0, the official
 * area[x] * area[y]; exact = 1, the exact solid angle subtended by the texel. */
void facet_cube_texel_weights(int n, int exact, float *weight);

/* Runs facet_irradiance_texel over an n x n output (padded) and fills its borders; tabulates the
 * source directions first when source->dirs is NULL (the same values). */
void facet_irradiance_cpu(const facet_irradiance_source *source, int n, float *out);

#ifdef __cplusplus
}
#endif
#endif
