/* Backward passes of the LiveScene per-point functions, for fitting (`facet fit`). Host and
 * device: each function recomputes its forward pass, then accumulates parameter gradients into a
 * gradient field: a facet_livescene_field whose plane and weight pointers address f32 gradient
 * buffers laid out exactly like the parameters (channels-last planes, transposed weights).
 * Accumulation goes through FACET_GRAD_ADD: a plain += into a per-thread buffer on the CPU, an
 * atomicAdd on CUDA. */
#ifndef FACET_FIELDS_LIVESCENE_BACKWARD_H
#define FACET_FIELDS_LIVESCENE_BACKWARD_H

#include "livescene.h"

#ifdef __CUDA_ARCH__ /* device code */
#define FACET_GRAD_ADD(ptr, value) atomicAdd((ptr), (value))
#else
#define FACET_GRAD_ADD(ptr, value) (*(ptr) += (value))
#endif

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

/* K-Planes: given dL/dfeature[C] at coords, accumulates dL/dplanes. The product rule needs each
 * plane's lookup and the product of the others. Planes must be f32 here. */
static inline FACET_HD void facet_kplanes_backward(const facet_kplanes *k,
                                                   const facet_kplanes *grad, const float *coords,
                                                   const float *dfeature) {
    float lookup[FACET_KPLANES_MAX_PLANES][FACET_KPLANES_MAX_CHANNELS];
    const int planes = facet_kplanes_plane_count(k->dims);
    for (int p = 0; p < planes; p++) {
        int a, b;
        facet_kplanes_axes(k->dims, p, &a, &b);
        facet_plane_bilinear(k->planes[p], k->storage, k->resolution[a], k->resolution[b],
                             k->channels, coords[a], coords[b], lookup[p]);
    }
    float g[FACET_KPLANES_MAX_CHANNELS];
    for (int p = 0; p < planes; p++) {
        int a, b;
        facet_kplanes_axes(k->dims, p, &a, &b);
        for (int c = 0; c < k->channels; c++) {
            float others = 1.0f;
            for (int q = 0; q < planes; q++)
                if (q != p) others *= lookup[q][c];
            g[c] = dfeature[c] * others;
        }
        facet_plane_bilinear_backward((float *)grad->planes[p], k->resolution[a], k->resolution[b],
                                      k->channels, coords[a], coords[b], g);
    }
}

static inline FACET_HD float facet_activation_derivative(facet_activation a, float output) {
    if (a == FACET_ACTIVATION_RELU) return output > 0.0f ? 1.0f : 0.0f;
    if (a == FACET_ACTIVATION_SIGMOID) return output * (1.0f - output);
    return 1.0f;
}

/* MLP: given the input and dL/dout, accumulates weight and bias gradients and, when dinput is not
 * NULL, writes dL/dinput. Recomputes the forward pass (activations kept on the stack). */
static inline FACET_HD void facet_mlp_backward(const facet_mlp *m, const facet_mlp *grad,
                                               const float *in, const float *dout, float *dinput) {
    float act[FACET_MLP_MAX_LAYERS + 1][FACET_MLP_MAX_WIDTH];
    for (int i = 0; i < m->width[0]; i++) act[0][i] = in[i];
    for (int l = 0; l < m->layers; l++) {
        const int n_in = m->width[l], n_out = m->width[l + 1];
        const int last = l == m->layers - 1;
        facet_mlp_layer(m->weight[l], act[l], n_in, n_out, act[l + 1]);
        for (int o = 0; o < n_out; o++)
            act[l + 1][o] = facet_activate(last ? m->output : m->hidden,
                                           l == 0 ? act[l + 1][o] + m->bias0[o] : act[l + 1][o]);
    }
    float delta[FACET_MLP_MAX_WIDTH], next[FACET_MLP_MAX_WIDTH];
    const int top = m->layers;
    for (int o = 0; o < m->width[top]; o++)
        delta[o] = dout[o] * facet_activation_derivative(m->output, act[top][o]);
    for (int l = m->layers - 1; l >= 0; l--) {
        const int n_in = m->width[l], n_out = m->width[l + 1];
        const float *wt = m->weight[l];
        float *gwt = (float *)grad->weight[l];
        for (int i = 0; i < n_in; i++) {
            const float x = act[l][i];
            float sum = 0.0f;
            for (int o = 0; o < n_out; o++) {
                if (x != 0.0f) FACET_GRAD_ADD(gwt + (long)i * n_out + o, x * delta[o]);
                sum += wt[(long)i * n_out + o] * delta[o];
            }
            next[i] = sum;
        }
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

/* Probability field: dL/dlogits[alpha + 1] at world position pos -> semantic net and tri-plane
 * gradients (kappa is an input without gradient). */
static inline FACET_HD void facet_livescene_probability_backward(const facet_livescene_field *f,
                                                                 const facet_livescene_field *grad,
                                                                 const float *pos,
                                                                 const float *kappa,
                                                                 const float *dlogits) {
    float input[FACET_KPLANES_MAX_CHANNELS + FACET_LIVESCENE_MAX_OBJECTS];
    float dinput[FACET_KPLANES_MAX_CHANNELS + FACET_LIVESCENE_MAX_OBJECTS];
    const int c = f->probability_grid.channels;
    facet_kplanes_sample(&f->probability_grid, pos, input);
    for (int i = 0; i < c; i++) input[i] = 1.0f / (1.0f + expf(-input[i]));
    for (int i = 0; i < f->objects; i++) input[c + i] = kappa[i];
    facet_mlp_backward(&f->semantic_net, &grad->semantic_net, input, dlogits, dinput);
    float dfeature[FACET_KPLANES_MAX_CHANNELS];
    for (int i = 0; i < c; i++) dfeature[i] = dinput[i] * input[i] * (1.0f - input[i]);
    facet_kplanes_backward(&f->probability_grid, &grad->probability_grid, pos, dfeature);
}

/* Proposal density: dL/dsigma -> density net and planes. */
static inline FACET_HD void
facet_livescene_proposal_density_backward(const facet_livescene_field *f,
                                          const facet_livescene_field *grad, int level,
                                          const float *pos, float kappa, float dsigma) {
    float coords[4], features[FACET_KPLANES_MAX_CHANNELS], raw;
    facet_livescene_coords4(f, pos, kappa, coords);
    facet_kplanes_sample(&f->proposal_grids[level], coords, features);
    facet_mlp_forward(&f->density_net[level], features, &raw);
    float draw = dsigma * facet_trunc_exp_derivative(raw - 1.0f);
    float dfeatures[FACET_KPLANES_MAX_CHANNELS];
    facet_mlp_backward(&f->density_net[level], &grad->density_net[level], features, &draw,
                       dfeatures);
    facet_kplanes_backward(&f->proposal_grids[level], &grad->proposal_grids[level], coords,
                           dfeatures);
}

/* Main field: dL/dsigma and dL/drgb[3] at one sample -> colour net, sigma net and planes. */
static inline FACET_HD void facet_livescene_field_backward(const facet_livescene_field *f,
                                                           const facet_livescene_field *grad,
                                                           const float *pos, float kappa,
                                                           const float *dir, float dsigma,
                                                           const float *drgb) {
    float coords[4], features[FACET_LIVESCENE_MAX_SCALES * FACET_KPLANES_MAX_CHANNELS];
    float out[FACET_LIVESCENE_MAX_GEO + 1];
    facet_livescene_sigma_forward(f, pos, kappa, coords, features, out);
    const int geo = f->geo_feat_dim;
    /* colour: [SH16, geo] -> rgb */
    float color_in[16 + FACET_LIVESCENE_MAX_GEO], dcolor_in[16 + FACET_LIVESCENE_MAX_GEO];
    facet_sh4_tcnn(dir[0], dir[1], dir[2], color_in);
    for (int i = 0; i < geo; i++) color_in[16 + i] = out[i];
    facet_mlp_backward(&f->color_net, &grad->color_net, color_in, drgb, dcolor_in);
    float dout[FACET_LIVESCENE_MAX_GEO + 1];
    for (int i = 0; i < geo; i++) dout[i] = dcolor_in[16 + i];
    dout[geo] = dsigma * facet_trunc_exp_derivative(out[geo] - 1.0f);
    float dfeatures[FACET_LIVESCENE_MAX_SCALES * FACET_KPLANES_MAX_CHANNELS];
    facet_mlp_backward(&f->sigma_net, &grad->sigma_net, features, dout, dfeatures);
    int offset = 0;
    for (int s = 0; s < f->scales; s++) {
        facet_kplanes_backward(&f->grids[s], &grad->grids[s], coords, dfeatures + offset);
        offset += f->grids[s].channels;
    }
}

#endif
