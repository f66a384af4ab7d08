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

/* torch.nn.Softplus(beta=100, threshold=20). */
static inline FACET_HD float facet_risesdf_softplus(float v) {
    const float bv = 100.0f * v;
    return bv > 20.0f ? v : log1pf(expf(bv)) / 100.0f;
}

/* Hidden layers of m on in[width[0]]; the last hidden activations go to h[width[layers-1]]. */
static inline FACET_HD void facet_risesdf_mlp_hidden(const facet_risesdf_mlp *m, const float *in,
                                                     float *h) {
    float buffer[FACET_RISESDF_MAX_WIDTH];
    const float *x = in;
    for (int l = 0; l < m->layers - 1; l++) {
        const int n_in = m->width[l], n_out = m->width[l + 1];
        float *y = (l & 1) == ((m->layers - 2) & 1) ? h : buffer;
        const float *wt = m->weight[l];
        float acc[FACET_RISESDF_MAX_WIDTH];
        for (int o = 0; o < n_out; o++) acc[o] = 0.0f;
        for (int i = 0; i < n_in; i++) {
            const float xi = x[i];
            const float *row = wt + i * n_out;
            for (int o = 0; o < n_out; o++) acc[o] += row[o] * xi;
        }
        const float *b = m->bias[l];
        if (m->softplus)
            for (int o = 0; o < n_out; o++) y[o] = facet_risesdf_softplus(acc[o] + b[o]);
        else
            for (int o = 0; o < n_out; o++) y[o] = fmaxf(acc[o] + b[o], 0.0f);
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

/* out[width[layers]] = m(in). */
static inline FACET_HD void facet_risesdf_mlp_forward(const facet_risesdf_mlp *m, const float *in,
                                                      float *out) {
    float h[FACET_RISESDF_MAX_WIDTH];
    facet_risesdf_mlp_hidden(m, in, h);
    const int l = m->layers - 1, n_in = m->width[l], n_out = m->width[l + 1];
    const float *wt = m->weight[l];
    float acc[FACET_RISESDF_MAX_WIDTH];
    for (int o = 0; o < n_out; o++) acc[o] = 0.0f;
    for (int i = 0; i < n_in; i++) {
        const float hi = h[i];
        const float *row = wt + i * n_out;
        for (int o = 0; o < n_out; o++) acc[o] += row[o] * hi;
    }
    for (int o = 0; o < n_out; o++) out[o] = acc[o] + m->bias[l][o];
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

/* Signed distance at world point x (only the first output of the last layer). */
static inline FACET_HD float facet_risesdf_sdf(const facet_risesdf_field *f, const float x[3]) {
    float in[FACET_RISESDF_MAX_WIDTH], h[FACET_RISESDF_MAX_WIDTH];
    facet_risesdf_input(f, x, in);
    facet_risesdf_mlp_hidden(&f->geometry, in, h);
    return facet_risesdf_mlp_output(&f->geometry, h, 0);
}

/* feature[feature_dim] at world point x; returns the sdf (feature[0]). */
static inline FACET_HD float facet_risesdf_feature(const facet_risesdf_field *f, const float x[3],
                                                   float *feature) {
    float in[FACET_RISESDF_MAX_WIDTH];
    facet_risesdf_input(f, x, in);
    facet_risesdf_mlp_forward(&f->geometry, in, feature);
    return feature[0];
}

/* Unit normal at world point x by clamped central differences (official finite_difference). */
static inline FACET_HD void facet_risesdf_normal(const facet_risesdf_field *f, const float x[3],
                                                 float n[3]) {
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
        grad[d] = 0.5f * (facet_risesdf_sdf(f, p) - facet_risesdf_sdf(f, q)) / eps;
    }
    const float len =
        fmaxf(sqrtf(grad[0] * grad[0] + grad[1] * grad[1] + grad[2] * grad[2]), 1e-6f);
    for (int d = 0; d < 3; d++) n[d] = grad[d] / len;
}

static inline FACET_HD float facet_risesdf_sigmoid(float v) {
    return 1.0f / (1.0f + expf(-v));
}

/* Material heads at world point x with geometry feature[feature_dim]. */
static inline FACET_HD void facet_risesdf_material_at(const facet_risesdf_field *f,
                                                      const float *feature, const float x[3],
                                                      facet_risesdf_material *m) {
    float in[FACET_RISESDF_MAX_WIDTH], out[FACET_RISESDF_MAX_WIDTH];
    const int nf = f->feature_dim;
    for (int i = 0; i < nf; i++) in[i] = feature[i];
    float *pe = in + nf;
    float freq = 1.0f;
    for (int k = 0; k < f->frequencies; k++, freq *= 2.0f)
        for (int d = 0; d < 3; d++) {
            pe[6 * k + d] = sinf(freq * x[d]);
            pe[6 * k + 3 + d] = cosf(freq * x[d]);
        }
    facet_risesdf_mlp_forward(&f->albedo, in, out);
    for (int c = 0; c < 3; c++) {
        m->radiance[c] = facet_risesdf_sigmoid(out[c]);
        m->albedo[c] = facet_risesdf_sigmoid(out[3 + c]);
    }
    facet_risesdf_mlp_forward(&f->roughness, in, out);
    m->roughness = facet_risesdf_sigmoid(out[0]);
    facet_risesdf_mlp_forward(&f->metallic, in, out);
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
