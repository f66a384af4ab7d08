/* The RISE-SDF neural field (dehezhang2/RISE-SDF models/geometry.py VolumeSDF and
 * models/texture.py VolumeMixedMipSplitOcc): a tcnn hash grid and a Softplus(100) MLP giving the
 * signed distance and a feature vector, finite-difference normals, and the material heads.
 * Per-point functions here (host and device); weights format: fields/risesdf_format.md.
 *
 * Geometry at world point x (the scene box is [-radius, radius]^3, radius 1.5):
 *   xn = (x + radius) / (2 radius)                       (in [0,1]^3)
 *   in = [2 xn - 1 (3), hashgrid(xn) (levels * features)]
 *   out = W2 sp(W1 sp(W0 in + b0) + b1) + b2,  sp(v) = softplus(100 v) / 100 (torch's threshold:
 *         v itself where 100 v > 20), weight-norm folded into W at load
 *   sdf = out[0]; feature = out (all feature_dim outputs, sdf included)
 * Normal: central differences of the sdf at x +- eps e_i, each point clamped to the box,
 *   grad = (sdf+ - sdf-) / (2 eps), n = grad / max(|grad|, 1e-6).
 * Materials at x with feature f: in = [f, PE(x)], PE = for k in 0..F-1: sin(2^k x) (3),
 *   cos(2^k x) (3) of the raw world coordinates; ReLU MLPs with sigmoid outputs:
 *   albedo head -> [diffuse radiance (3), albedo (3)], roughness head -> [roughness],
 *   metallic head -> [blend, metallic]. */
#ifndef FACET_FIELDS_RISESDF_H
#define FACET_FIELDS_RISESDF_H

#include "hashgrid.h"

#include "core/half.h"

#include "core/hd.h"
#include "core/status.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FACET_RISESDF_FORMAT_VERSION = 1,
    FACET_RISESDF_MAX_LAYERS = 8,  /* linear layers per network */
    FACET_RISESDF_MAX_WIDTH = 128, /* neurons, inputs and outputs per layer */
    FACET_RISESDF_MAX_FREQUENCIES = 8,
};

/* A fully connected network: y_{l+1} = act(W_l y_l + b_l), no activation after the last layer.
 * Weights held transposed, [in, out] row-major (unit-stride inner loop over outputs). */
typedef struct facet_risesdf_mlp {
    int layers;                                    /* linear layers */
    int width[FACET_RISESDF_MAX_LAYERS + 1];       /* width[0] inputs, width[layers] outputs */
    const float *weight[FACET_RISESDF_MAX_LAYERS]; /* W_l^T: [width[l], width[l+1]] */
    const float *bias[FACET_RISESDF_MAX_LAYERS];   /* [width[l+1]] */
    int softplus; /* hidden activation: 1 Softplus(beta 100), 0 ReLU */
} facet_risesdf_mlp;

/* Everything the per-point functions read: plain views (host or device pointers). */
typedef struct facet_risesdf_field {
    float radius;    /* scene box half size (1.5) */
    float fd_eps;    /* finite-difference step, world units (3 / (32 * 1.447269^15)) */
    float variance;  /* NeuS variance parameter: inv_s = exp(10 variance) */
    int frequencies; /* positional-encoding octaves of the material input (6) */
    int feature_dim; /* geometry outputs (48) */
    facet_hashgrid grid;
    facet_risesdf_mlp geometry, albedo, roughness, metallic;
    int width; /* the widest layer of the four networks, inputs included: the scratch unit */
} facet_risesdf_field;

/* The material at a surface point (all in [0,1]). */
typedef struct facet_risesdf_material {
    float radiance[3]; /* the albedo head's first three outputs (the official stage-0 diffuse
                          radiance; not used by split-sum shading) */
    float albedo[3];
    float roughness;
    float blend;
    float metallic;
} facet_risesdf_material;

#ifndef __CUDA_ARCH__
/* cond ? a : b through bit masks: no branch for the compiler to keep (a conditional select of
 * values computed from trapping operations is not if-converted under -ftrapping-math). */
static inline float facet_risesdf_select(int cond, float a, float b) {
    const uint32_t mask = 0u - (uint32_t)(cond != 0);
    return facet_bits_f32((facet_f32_bits(a) & mask) | (facet_f32_bits(b) & ~mask));
}

/* Host expf and logf as branch-free polynomials (Cephes single precision, ~1 ulp) so the
 * per-neuron softplus loop vectorises (glibc's scalar calls dominated the CPU frame time).
 * expf for x in [-87, 88]: x = n ln2 + r, |r| <= ln2 / 2 (n rounded to nearest), e^r by a degree-7
 * polynomial, times 2^n through the exponent bits. */
static inline float facet_risesdf_host_expf(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* n = round-to-nearest(x / ln2) by the 1.5 * 2^23 trick (no libm call, no branch) */
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return p * facet_bits_f32((uint32_t)((int32_t)n + 127) << 23);
}

/* logf for normal positive x: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) by a degree-9
 * polynomial in m - 1. */
static inline float facet_risesdf_host_logf(float x) {
    const uint32_t bits = facet_f32_bits(x);
    float e = (float)((int32_t)((bits >> 23) & 0xffu) - 126);
    float m = facet_bits_f32((bits & 0x807fffffu) | 0x3f000000u); /* [0.5, 1) */
    const int low = m < 0.707106781186547524f;
    e -= facet_risesdf_select(low, 1.0f, 0.0f);
    m = m + facet_risesdf_select(low, m, 0.0f) - 1.0f;
    const float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    y += -2.12194440e-4f * e;
    y += -0.5f * z;
    return m + y + 0.693359375f * e;
}
#endif

/* torch.nn.Softplus(beta=100, threshold=20): v where 100 v > 20, else log1p(exp(100 v)) / 100.
 * The host path uses the polynomial expf/logf above. */
static inline FACET_HD float facet_risesdf_softplus(float v) {
    const float bv = 100.0f * v;
#ifdef __CUDA_ARCH__
    return bv > 20.0f ? v : log1pf(expf(bv)) / 100.0f;
#else
    const float e = facet_risesdf_host_expf(bv > 20.0f ? 20.0f : bv);
    /* log1p(e): a 4-term series below 1e-3 (relative error < 3e-13), else log(1 + e) (absolute
     * error ~6e-8, ~6e-10 after the division); straight-line, no division, so that the loop over
     * neurons vectorises under -ftrapping-math */
    const float series = e * (1.0f - e * (0.5f - e * (1.0f / 3.0f - e * 0.25f)));
    const float log_u = facet_risesdf_host_logf(1.0f + e);
    const float l1p = facet_risesdf_select(e < 1e-3f, series, log_u) / 100.0f;
    return facet_risesdf_select(bv > 20.0f, v, l1p);
#endif
}

/* One layer y[n_out] = act(W x + b) (act: 0 none, 1 ReLU, 2 Softplus), the sum over inputs in
 * ascending order. The host sums all outputs at once in a local accumulator (the inner loop over
 * outputs vectorises); the device sums output by output in a register and writes y (shared
 * memory) once: the same additions in the same order, the same value bit for bit. */
static inline FACET_HD void facet_risesdf_layer(const float *wt, const float *b, const float *x,
                                                int n_in, int n_out, int act, float *y) {
#ifdef __CUDA_ARCH__
    for (int o = 0; o < n_out; o++) {
        float sum = 0.0f;
        for (int i = 0; i < n_in; i++) sum += wt[i * n_out + o] * x[i];
        const float z = sum + b[o];
        y[o] = act == 2 ? facet_risesdf_softplus(z) : act == 1 ? (z > 0.0f ? z : 0.0f) : z;
    }
#else
    float acc[FACET_RISESDF_MAX_WIDTH];
    for (int o = 0; o < n_out; o++) acc[o] = 0.0f;
    for (int i = 0; i < n_in; i++) {
        const float xi = x[i];
        const float *row = wt + i * n_out;
        for (int o = 0; o < n_out; o++) acc[o] += row[o] * xi;
    }
    if (act == 2)
        for (int o = 0; o < n_out; o++) y[o] = facet_risesdf_softplus(acc[o] + b[o]);
    else if (act == 1)
        for (int o = 0; o < n_out; o++) {
            const float z = acc[o] + b[o];
            y[o] = z > 0.0f ? z : 0.0f;
        }
    else
        for (int o = 0; o < n_out; o++) y[o] = acc[o] + b[o];
#endif
}

/* Per-point scratch. The per-point functions below keep their temporaries (network inputs, hidden
 * activations, features) in caller-provided memory, in units of W = f->width (the widest layer of
 * any network, inputs included, set by the loader): the CUDA kernels give each thread a slice of
 * shared memory (nodes/cuda/risesdf_node.cu), so no ray carries a local-memory frame; host code
 * passes a stack array of FACET_RISESDF_MAX_SCRATCH floats. Each function names its need; the
 * most is FACET_RISESDF_SCRATCH_WIDTHS W. */
enum {
    FACET_RISESDF_SCRATCH_WIDTHS = 5,
    FACET_RISESDF_MAX_SCRATCH = FACET_RISESDF_SCRATCH_WIDTHS * FACET_RISESDF_MAX_WIDTH,
};

/* Hidden layers of m on in[width[0]]; the last hidden activations go to h[width[layers-1]];
 * buffer: W floats (used with two or more hidden layers). */
static inline FACET_HD void facet_risesdf_mlp_hidden(const facet_risesdf_mlp *m, const float *in,
                                                     float *h, float *buffer) {
    const float *x = in;
    for (int l = 0; l < m->layers - 1; l++) {
        float *y = (l & 1) == ((m->layers - 2) & 1) ? h : buffer;
        facet_risesdf_layer(m->weight[l], m->bias[l], x, m->width[l], m->width[l + 1],
                            m->softplus ? 2 : 1, y);
        x = y;
    }
    if (m->layers == 1)
        for (int i = 0; i < m->width[0]; i++) h[i] = in[i];
}

/* Output `o` of the last layer from the last hidden activations h. */
static inline FACET_HD float facet_risesdf_mlp_output(const facet_risesdf_mlp *m, const float *h,
                                                      int o) {
    const int l = m->layers - 1, n_in = m->width[l], n_out = m->width[l + 1];
    float acc = 0.0f;
    for (int i = 0; i < n_in; i++) acc += m->weight[l][i * n_out + o] * h[i];
    return acc + m->bias[l][o];
}

/* out[width[layers]] = m(in); scratch: 2 w floats, w >= every width of m. */
static inline FACET_HD void facet_risesdf_mlp_forward(const facet_risesdf_mlp *m, const float *in,
                                                      float *out, float *scratch, int w) {
    float *h = scratch, *buffer = scratch + w;
    facet_risesdf_mlp_hidden(m, in, h, buffer);
    const int l = m->layers - 1;
    facet_risesdf_layer(m->weight[l], m->bias[l], h, m->width[l], m->width[l + 1], 0, out);
}

/* The geometry network input at world point x: [2 xn - 1, hashgrid(xn)]. */
static inline FACET_HD void facet_risesdf_input(const facet_risesdf_field *f, const float x[3],
                                                float *in) {
    float xn[3];
    for (int d = 0; d < 3; d++) {
        xn[d] = (x[d] + f->radius) / (2.0f * f->radius);
        in[d] = xn[d] * 2.0f - 1.0f;
    }
    facet_hashgrid_encode(&f->grid, xn, in + 3);
}

/* Signed distance at world point x (only the first output of the last layer); scratch: 3 W. */
static inline FACET_HD float facet_risesdf_sdf(const facet_risesdf_field *f, const float x[3],
                                               float *scratch) {
    const int w = f->width;
    float *in = scratch, *h = scratch + w;
    facet_risesdf_input(f, x, in);
    facet_risesdf_mlp_hidden(&f->geometry, in, h, scratch + 2 * w);
    return facet_risesdf_mlp_output(&f->geometry, h, 0);
}

/* feature[feature_dim] at world point x; returns the sdf (feature[0]); scratch: 3 W. */
static inline FACET_HD float facet_risesdf_feature(const facet_risesdf_field *f, const float x[3],
                                                   float *feature, float *scratch) {
    float *in = scratch;
    facet_risesdf_input(f, x, in);
    facet_risesdf_mlp_forward(&f->geometry, in, feature, scratch + f->width, f->width);
    return feature[0];
}

/* Unit normal at world point x by clamped central differences (official finite_difference);
 * scratch: 3 W. */
static inline FACET_HD void facet_risesdf_normal(const facet_risesdf_field *f, const float x[3],
                                                 float n[3], float *scratch) {
    const float eps = f->fd_eps, r = f->radius;
    float grad[3];
    for (int d = 0; d < 3; d++) {
        float p[3] = {x[0], x[1], x[2]}, q[3] = {x[0], x[1], x[2]};
        p[d] += eps;
        q[d] -= eps;
        for (int k = 0; k < 3; k++) {
            p[k] = fminf(fmaxf(p[k], -r), r);
            q[k] = fminf(fmaxf(q[k], -r), r);
        }
        const float sdf_p = facet_risesdf_sdf(f, p, scratch);
        grad[d] = 0.5f * (sdf_p - facet_risesdf_sdf(f, q, scratch)) / eps;
    }
    const float len =
        fmaxf(sqrtf(grad[0] * grad[0] + grad[1] * grad[1] + grad[2] * grad[2]), 1e-6f);
    for (int d = 0; d < 3; d++) n[d] = grad[d] / len;
}

static inline FACET_HD float facet_risesdf_sigmoid(float v) {
    return 1.0f / (1.0f + expf(-v));
}

/* Material heads at world point x with geometry feature[feature_dim]; scratch: 4 W. */
static inline FACET_HD void facet_risesdf_material_at(const facet_risesdf_field *f,
                                                      const float *feature, const float x[3],
                                                      facet_risesdf_material *m, float *scratch) {
    const int w = f->width;
    float *in = scratch, *out = scratch + w, *mlp = scratch + 2 * w;
    const int nf = f->feature_dim;
    for (int i = 0; i < nf; i++) in[i] = feature[i];
    float *pe = in + nf;
    float freq = 1.0f;
    for (int k = 0; k < f->frequencies; k++, freq *= 2.0f)
        for (int d = 0; d < 3; d++) {
            pe[6 * k + d] = sinf(freq * x[d]);
            pe[6 * k + 3 + d] = cosf(freq * x[d]);
        }
    facet_risesdf_mlp_forward(&f->albedo, in, out, mlp, w);
    for (int c = 0; c < 3; c++) {
        m->radiance[c] = facet_risesdf_sigmoid(out[c]);
        m->albedo[c] = facet_risesdf_sigmoid(out[3 + c]);
    }
    facet_risesdf_mlp_forward(&f->roughness, in, out, mlp, w);
    m->roughness = facet_risesdf_sigmoid(out[0]);
    facet_risesdf_mlp_forward(&f->metallic, in, out, mlp, w);
    m->blend = facet_risesdf_sigmoid(out[0]);
    m->metallic = facet_risesdf_sigmoid(out[1]);
}

/* ---- weights (risesdf.c) ------------------------------------------------------------------- */

/* A loaded model: the field's views point into `memory` (host, f32). */
typedef struct facet_risesdf_model {
    facet_risesdf_field field;
    void *memory;
    size_t memory_bytes;
    int64_t parameter_count;
} facet_risesdf_model;

/* Loads facet-risesdf safetensors (risesdf_format.md): checks the metadata, the config and every
 * tensor (name, dtype, shape; errors name the file and the tensor), converts f16/bf16 to f32 and
 * folds the geometry network's weight norm (W = g v / |v| per output row). */
facet_status facet_risesdf_load(facet_risesdf_model *model, const char *path);
void facet_risesdf_free(facet_risesdf_model *model);

#ifdef __cplusplus
}
#endif
#endif
