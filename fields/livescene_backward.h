/* Backward passes of the LiveScene per-point functions, for fitting (`facet fit`). Host and
 * device: each function recomputes its forward pass, then accumulates parameter gradients into a
 * gradient field: a facet_livescene_field whose plane and weight pointers address f32 gradient
 * buffers laid out exactly like the parameters (channels-last planes, transposed weights).
 * Accumulation goes through FACET_GRAD_ADD (fields/tcnn_mlp.h): a plain += into a per-thread
 * buffer on the CPU, an atomicAdd on CUDA. A network with its fp16 pack set runs its fp16
 * backward pass (fields/tcnn_mlp_half_backward.h) with its loss scale. */
#ifndef FACET_FIELDS_LIVESCENE_BACKWARD_H
#define FACET_FIELDS_LIVESCENE_BACKWARD_H

#include "livescene.h"
#include "tcnn_mlp_half_backward.h"

/* d sigma / d x of the density activation sigma = trunc_exp(x) (nerfstudio
 * field_components/activations.py, used by LiveScene's field and proposal networks): the forward
 * pass is exp(x), the backward pass exp(clamp(x, -15, 15)), so a large (or vanishing) density
 * cannot make its own gradient explode (or vanish). */
static inline FACET_HD float facet_trunc_exp_derivative(float x) {
    return expf(fminf(fmaxf(x, -15.0f), 15.0f));
}

/* Gradient of one plane's bilinear lookup: dL/dlookup[C] scattered to the 4 texels. */
static inline FACET_HD void facet_plane_bilinear_backward(float *grad_plane, int width, int height,
                                                          int channels, float u, float v,
                                                          const float *grad) {
    float ix = facet_grid_coordinate(u, width), iy = facet_grid_coordinate(v, height);
    int x0 = (int)floorf(ix), y0 = (int)floorf(iy);
    int x1 = x0 + 1, y1 = y0 + 1;
    float tx1 = (float)x1 - ix, tx0 = ix - (float)x0;
    float ty1 = (float)y1 - iy, ty0 = iy - (float)y0;
    float w[4] = {tx1 * ty1, tx0 * ty1, tx1 * ty0, tx0 * ty0};
    x1 = x1 < width ? x1 : width - 1; /* weight 0 there, as in the forward pass */
    y1 = y1 < height ? y1 : height - 1;
    const int64_t at[4] = {
        ((int64_t)y0 * width + x0) * channels, ((int64_t)y0 * width + x1) * channels,
        ((int64_t)y1 * width + x0) * channels, ((int64_t)y1 * width + x1) * channels};
    for (int k = 0; k < 4; k++) {
        if (w[k] == 0.0f) continue;
        for (int c = 0; c < channels; c++) FACET_GRAD_ADD(grad_plane + at[k] + c, w[k] * grad[c]);
    }
}

/* Scratch. Each backward function below has a `_scratch` form that keeps its temporaries (lookups,
 * activations, deltas, inputs and their gradients) in caller-provided memory, sized by the
 * matching *_scratch_floats function: the CUDA fitting kernels give each thread a slice of shared
 * memory (fit/cuda/livescene_fit.cu). The plain forms put it on the stack. */

/* K-Planes: given dL/dfeature[C] at coords, accumulates dL/dplanes. The product rule needs each
 * plane's lookup and the product of the others. Planes must be f32 here. scratch: (planes + 1) C
 * floats (the lookups, then one plane's gradient). */
static inline FACET_HD int facet_kplanes_backward_scratch_floats(const facet_kplanes *k) {
    return (facet_kplanes_plane_count(k->dims) + 1) * k->channels;
}

/* facet_kplanes_backward_scratch with the planes' lookups at coords given: lookup[planes][C]
 * (the CPU fit keeps them from its forward pass, fields/kplanes_lanes.h); g: C floats of
 * scratch. */
static inline FACET_HD void facet_kplanes_backward_from_lookups(const facet_kplanes *k,
                                                                const facet_kplanes *grad,
                                                                const float *coords,
                                                                const float *dfeature,
                                                                const float *lookup, float *g) {
    const int planes = facet_kplanes_plane_count(k->dims), channels = k->channels;
    for (int p = 0; p < planes; p++) {
        int a, b;
        facet_kplanes_axes(k->dims, p, &a, &b);
        for (int c = 0; c < channels; c++) {
            float others = 1.0f;
            for (int q = 0; q < planes; q++)
                if (q != p) others *= lookup[q * channels + c];
            g[c] = dfeature[c] * others;
        }
        facet_plane_bilinear_backward((float *)grad->planes[p], k->resolution[a], k->resolution[b],
                                      channels, coords[a], coords[b], g);
    }
}

static inline FACET_HD void facet_kplanes_backward_scratch(const facet_kplanes *k,
                                                           const facet_kplanes *grad,
                                                           const float *coords,
                                                           const float *dfeature, float *scratch) {
    const int planes = facet_kplanes_plane_count(k->dims), channels = k->channels;
    float *lookup = scratch, *g = scratch + planes * channels; /* [planes][C], [C] */
    for (int p = 0; p < planes; p++) {
        int a, b;
        facet_kplanes_axes(k->dims, p, &a, &b);
        facet_plane_bilinear(k->planes[p], k->storage, k->resolution[a], k->resolution[b], channels,
                             coords[a], coords[b], lookup + p * channels);
    }
    facet_kplanes_backward_from_lookups(k, grad, coords, dfeature, lookup, g);
}

static inline FACET_HD void facet_kplanes_backward(const facet_kplanes *k,
                                                   const facet_kplanes *grad, const float *coords,
                                                   const float *dfeature) {
    float scratch[(FACET_KPLANES_MAX_PLANES + 1) * FACET_KPLANES_MAX_CHANNELS];
    facet_kplanes_backward_scratch(k, grad, coords, dfeature, scratch);
}

/* MLP backward scratch: every layer's activations (sum of the widths), then delta and next (the
 * widest layer each, inputs included); fp16: facet_mlp_half_backward_scratch_floats. At most
 * FACET_MLP_MAX_BACKWARD_SCRATCH for a network of FACET_MLP_MAX_INPUTS inputs either way (fp16:
 * the padded inputs and hidden layers, the output, two rows of the widest). */
enum {
    FACET_MLP_MAX_INPUTS = FACET_LIVESCENE_MAX_SCALES * FACET_KPLANES_MAX_CHANNELS, /* sigma net */
    FACET_MLP_MAX_BACKWARD_SCRATCH = FACET_MLP_MAX_INPUTS +
                                     FACET_MLP_MAX_LAYERS * FACET_MLP_MAX_WIDTH +
                                     2 * FACET_MLP_MAX_INPUTS,
};
static inline FACET_HD int facet_mlp_backward_scratch_floats(const facet_mlp *m) {
    if (m->half) return facet_mlp_half_backward_scratch_floats(m);
    int total = 0;
    for (int l = 0; l <= m->layers; l++) total += m->width[l];
    return total + 2 * facet_mlp_widest(m, 0, m->layers);
}

/* next[i] = sum over ascending o of W^T[i][o] delta[o] for i < n_in (W^T [n_in, n_out]
 * row-major), the host's arrangement: eight rows at a time, so that eight independent chains of
 * additions share the adder, each still in ascending o. T: float per point
 * (facet_mlp_backward_scratch), facet_lanes per block of samples (fit/livescene_train_lanes.c). */
#define FACET_MLP_INPUT_GRADIENTS(T, wt, delta, n_in, n_out, next)                                 \
    do {                                                                                           \
        int i_ = 0;                                                                                \
        for (; i_ + 8 <= (n_in); i_ += 8) {                                                        \
            const float *w_ = (wt) + (long)i_ * (n_out);                                           \
            T s0_ = {0}, s1_ = {0}, s2_ = {0}, s3_ = {0}, s4_ = {0}, s5_ = {0}, s6_ = {0},         \
              s7_ = {0};                                                                           \
            for (int o_ = 0; o_ < (n_out); o_++) {                                                 \
                const T d_ = (delta)[o_];                                                          \
                s0_ += w_[o_] * d_;                                                                \
                s1_ += w_[(n_out) + o_] * d_;                                                      \
                s2_ += w_[2 * (n_out) + o_] * d_;                                                  \
                s3_ += w_[3 * (n_out) + o_] * d_;                                                  \
                s4_ += w_[4 * (n_out) + o_] * d_;                                                  \
                s5_ += w_[5 * (n_out) + o_] * d_;                                                  \
                s6_ += w_[6 * (n_out) + o_] * d_;                                                  \
                s7_ += w_[7 * (n_out) + o_] * d_;                                                  \
            }                                                                                      \
            (next)[i_] = s0_, (next)[i_ + 1] = s1_, (next)[i_ + 2] = s2_, (next)[i_ + 3] = s3_;    \
            (next)[i_ + 4] = s4_, (next)[i_ + 5] = s5_, (next)[i_ + 6] = s6_;                      \
            (next)[i_ + 7] = s7_;                                                                  \
        }                                                                                          \
        for (; i_ < (n_in); i_++) {                                                                \
            T sum_ = {0};                                                                          \
            for (int o_ = 0; o_ < (n_out); o_++)                                                   \
                sum_ += (wt)[(long)i_ * (n_out) + o_] * (delta)[o_];                               \
            (next)[i_] = sum_;                                                                     \
        }                                                                                          \
    } while (0)

/* MLP: given the input and dL/dout, accumulates weight and bias gradients and, when dinput is not
 * NULL, writes dL/dinput. Recomputes the forward pass (activations in scratch). */
static inline FACET_HD void facet_mlp_backward_scratch(const facet_mlp *m, const facet_mlp *grad,
                                                       const float *in, const float *dout,
                                                       float *dinput, float *scratch) {
    if (m->half) {
        facet_mlp_half_backward_scratch(m, grad, in, dout, m->loss_scale, dinput, scratch);
        return;
    }
    float *act[FACET_MLP_MAX_LAYERS + 1];
    float *at = scratch;
    for (int l = 0; l <= m->layers; l++) {
        act[l] = at;
        at += m->width[l];
    }
    float *delta = at, *next = at + facet_mlp_widest(m, 0, m->layers);
    for (int i = 0; i < m->width[0]; i++) act[0][i] = in[i];
    for (int l = 0; l < m->layers; l++) {
        const int n_in = m->width[l], n_out = m->width[l + 1];
        const int last = l == m->layers - 1;
#ifdef __CUDA_ARCH__
        float *acc = act[l + 1];
#else /* a local accumulator the compiler keeps in registers (see facet_mlp_forward_scratch) */
        float acc[FACET_MLP_MAX_WIDTH];
#endif
        facet_mlp_layer(m->weight[l], act[l], n_in, n_out, acc);
        for (int o = 0; o < n_out; o++)
            act[l + 1][o] = facet_activate(last ? m->output : m->hidden,
                                           l == 0 ? acc[o] + m->bias0[o] : acc[o]);
    }
    const int top = m->layers;
    for (int o = 0; o < m->width[top]; o++)
        delta[o] = dout[o] * facet_activation_derivative(m->output, act[top][o]);
    for (int l = m->layers - 1; l >= 0; l--) {
        const int n_in = m->width[l], n_out = m->width[l + 1];
        const float *wt = m->weight[l];
        float *gwt = (float *)grad->weight[l];
#ifdef __CUDA_ARCH__
        for (int i = 0; i < n_in; i++) {
            const float x = act[l][i];
            float sum = 0.0f;
            for (int o = 0; o < n_out; o++) {
                if (x != 0.0f) FACET_GRAD_ADD(gwt + (long)i * n_out + o, x * delta[o]);
                sum += wt[(long)i * n_out + o] * delta[o];
            }
            next[i] = sum;
        }
#else /* the same terms and sums, arranged for a CPU core: the weight gradient row by row (it      \
       * vectorises over o), and the sums next[i] eight rows at a time, so that eight independent  \
       * chains of additions share the adder instead of one chain waiting on each addition; each   \
       * next[i] is still summed over ascending o */
        for (int i = 0; i < n_in; i++) {
            const float x = act[l][i];
            if (x != 0.0f)
                for (int o = 0; o < n_out; o++)
                    FACET_GRAD_ADD(gwt + (long)i * n_out + o, x * delta[o]);
        }
        FACET_MLP_INPUT_GRADIENTS(float, wt, delta, n_in, n_out, next);
#endif
        if (l == 0) {
            for (int o = 0; o < n_out; o++) FACET_GRAD_ADD((float *)grad->bias0 + o, delta[o]);
            if (dinput)
                for (int i = 0; i < n_in; i++) dinput[i] = next[i];
        } else {
            for (int i = 0; i < n_in; i++)
                delta[i] = next[i] * facet_activation_derivative(m->hidden, act[l][i]);
        }
    }
}

static inline FACET_HD void facet_mlp_backward(const facet_mlp *m, const facet_mlp *grad,
                                               const float *in, const float *dout, float *dinput) {
    float scratch[FACET_MLP_MAX_BACKWARD_SCRATCH];
    facet_mlp_backward_scratch(m, grad, in, dout, dinput, scratch);
}

static inline FACET_HD int facet_backward_max(int a, int b) {
    return a > b ? a : b;
}

/* Probability field: dL/dlogits[alpha + 1] at world position pos -> semantic net and tri-plane
 * gradients (kappa is an input without gradient). scratch: input, dinput (c + alpha each), dfeature
 * (c), then the network's or the planes' scratch. */
static inline FACET_HD int
facet_livescene_probability_backward_floats(const facet_livescene_field *f) {
    const int c = f->probability_grid.channels;
    return 2 * (c + f->objects) + c +
           facet_backward_max(facet_mlp_backward_scratch_floats(&f->semantic_net),
                              facet_kplanes_backward_scratch_floats(&f->probability_grid));
}

static inline FACET_HD void facet_livescene_probability_backward_scratch(
    const facet_livescene_field *f, const facet_livescene_field *grad, const float *pos,
    const float *kappa, const float *dlogits, float *scratch) {
    const int c = f->probability_grid.channels, n = c + f->objects;
    float *input = scratch, *dinput = scratch + n, *dfeature = scratch + 2 * n;
    float *rest = dfeature + c;
    facet_kplanes_sample(&f->probability_grid, pos, input);
    for (int i = 0; i < c; i++) input[i] = facet_livescene_sigmoid(input[i]);
    for (int i = 0; i < f->objects; i++) input[c + i] = kappa[i];
    facet_mlp_backward_scratch(&f->semantic_net, &grad->semantic_net, input, dlogits, dinput, rest);
    for (int i = 0; i < c; i++) dfeature[i] = dinput[i] * input[i] * (1.0f - input[i]);
    facet_kplanes_backward_scratch(&f->probability_grid, &grad->probability_grid, pos, dfeature,
                                   rest);
}

/* Proposal density: dL/dsigma -> density net and planes. scratch: features and dfeatures (c
 * each), then the network's or the planes' scratch. */
static inline FACET_HD int facet_livescene_proposal_backward_floats(const facet_livescene_field *f,
                                                                    int level) {
    return 2 * f->proposal_grids[level].channels +
           facet_backward_max(
               facet_backward_max(facet_mlp_scratch_floats(&f->density_net[level]),
                                  facet_mlp_backward_scratch_floats(&f->density_net[level])),
               facet_kplanes_backward_scratch_floats(&f->proposal_grids[level]));
}

static inline FACET_HD void facet_livescene_proposal_density_backward_scratch(
    const facet_livescene_field *f, const facet_livescene_field *grad, int level, const float *pos,
    float kappa, float dsigma, float *scratch) {
    const int c = f->proposal_grids[level].channels;
    float coords[4], raw = 0.0f;
    float *features = scratch, *dfeatures = scratch + c, *rest = scratch + 2 * c;
    facet_livescene_coords4(f, pos, kappa, coords);
    facet_kplanes_sample(&f->proposal_grids[level], coords, features);
    facet_mlp_forward_scratch(&f->density_net[level], features, &raw, rest);
    float draw = dsigma * facet_trunc_exp_derivative(raw - 1.0f);
    facet_mlp_backward_scratch(&f->density_net[level], &grad->density_net[level], features, &draw,
                               dfeatures, rest);
    facet_kplanes_backward_scratch(&f->proposal_grids[level], &grad->proposal_grids[level], coords,
                                   dfeatures, rest);
}

static inline FACET_HD void
facet_livescene_proposal_density_backward(const facet_livescene_field *f,
                                          const facet_livescene_field *grad, int level,
                                          const float *pos, float kappa, float dsigma) {
    float scratch[2 * FACET_KPLANES_MAX_CHANNELS + FACET_MLP_MAX_BACKWARD_SCRATCH];
    facet_livescene_proposal_density_backward_scratch(f, grad, level, pos, kappa, dsigma, scratch);
}

/* Main field: dL/dsigma and dL/drgb[3] at one sample -> colour net, sigma net and planes.
 * scratch: features and dfeatures (the scales' channels each), out and dout (geo + 1 each),
 * colour input and its gradient (16 + geo each), then the networks' or the planes' scratch. */
static inline FACET_HD int facet_livescene_field_backward_floats(const facet_livescene_field *f) {
    int rest = facet_backward_max(facet_mlp_scratch_floats(&f->sigma_net),
                                  facet_mlp_backward_scratch_floats(&f->sigma_net));
    rest = facet_backward_max(rest, facet_mlp_backward_scratch_floats(&f->color_net));
    for (int s = 0; s < f->scales; s++)
        rest = facet_backward_max(rest, facet_kplanes_backward_scratch_floats(&f->grids[s]));
    return 2 * facet_livescene_feature_count(f) + 2 * (f->geo_feat_dim + 1) +
           2 * (16 + f->geo_feat_dim) + rest;
}

static inline FACET_HD void facet_livescene_field_backward_scratch(
    const facet_livescene_field *f, const facet_livescene_field *grad, const float *pos,
    float kappa, const float *dir, float dsigma, const float *drgb, float *scratch) {
    const int channels = facet_livescene_feature_count(f), geo = f->geo_feat_dim;
    float coords[4];
    float *features = scratch, *dfeatures = features + channels;
    float *out = dfeatures + channels, *dout = out + geo + 1;
    float *color_in = dout + geo + 1, *dcolor_in = color_in + 16 + geo;
    float *rest = dcolor_in + 16 + geo;
    facet_livescene_sigma_forward_scratch(f, pos, kappa, coords, features, out, rest);
    /* colour: [SH16, geo] -> rgb */
    facet_sh4_tcnn(dir[0], dir[1], dir[2], color_in);
    for (int i = 0; i < geo; i++) color_in[16 + i] = out[i];
    facet_mlp_backward_scratch(&f->color_net, &grad->color_net, color_in, drgb, dcolor_in, rest);
    for (int i = 0; i < geo; i++) dout[i] = dcolor_in[16 + i];
    dout[geo] = dsigma * facet_trunc_exp_derivative(out[geo] - 1.0f);
    facet_mlp_backward_scratch(&f->sigma_net, &grad->sigma_net, features, dout, dfeatures, rest);
    int offset = 0;
    for (int s = 0; s < f->scales; s++) {
        facet_kplanes_backward_scratch(&f->grids[s], &grad->grids[s], coords, dfeatures + offset,
                                       rest);
        offset += f->grids[s].channels;
    }
}

/* The most scratch any backward function above needs for this field. */
static inline FACET_HD int facet_livescene_backward_scratch_floats(const facet_livescene_field *f) {
    int need = facet_backward_max(facet_livescene_probability_backward_floats(f),
                                  facet_livescene_field_backward_floats(f));
    for (int l = 0; l < f->proposals; l++)
        need = facet_backward_max(need, facet_livescene_proposal_backward_floats(f, l));
    return need;
}

/* Largest facet_livescene_backward_scratch_floats of any field the loader accepts. */
enum {
    FACET_LIVESCENE_MAX_BACKWARD_SCRATCH =
        2 * FACET_LIVESCENE_MAX_SCALES * FACET_KPLANES_MAX_CHANNELS +
        2 * (FACET_LIVESCENE_MAX_GEO + 1) + 2 * (16 + FACET_LIVESCENE_MAX_GEO) +
        FACET_MLP_MAX_BACKWARD_SCRATCH,
};

static inline FACET_HD void facet_livescene_field_backward(const facet_livescene_field *f,
                                                           const facet_livescene_field *grad,
                                                           const float *pos, float kappa,
                                                           const float *dir, float dsigma,
                                                           const float *drgb) {
    float scratch[FACET_LIVESCENE_MAX_BACKWARD_SCRATCH];
    facet_livescene_field_backward_scratch(f, grad, pos, kappa, dir, dsigma, drgb, scratch);
}

static inline FACET_HD void facet_livescene_probability_backward(const facet_livescene_field *f,
                                                                 const facet_livescene_field *grad,
                                                                 const float *pos,
                                                                 const float *kappa,
                                                                 const float *dlogits) {
    float scratch[FACET_LIVESCENE_MAX_BACKWARD_SCRATCH];
    facet_livescene_probability_backward_scratch(f, grad, pos, kappa, dlogits, scratch);
}

#endif
