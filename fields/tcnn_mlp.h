/* Fully connected networks in tiny-cuda-nn's FullyFusedMLP layout, unpacked (see
 * fields/livescene_format.md): layers y = W x (no biases) with ReLU between layers and an output
 * activation; the first layer carries a bias vector, which is tcnn's input padding (inputs padded
 * with 1.0 to a multiple of 16) folded into explicit form. Per point, host and device.
 *
 * Weights are held transposed, [in, out] row-major. Order of operations (facet_mlp_layer, the
 * one place forward and backward passes compute a layer): y[o] = (sum_i x[i] W[o][i]) + b[o] with
 * the sum in ascending i for layers of 16 outputs or more (the inner loop runs over outputs with
 * unit stride and vectorises without reassociating), and as four interleaved partial sums
 * ((s0 + s1) + (s2 + s3)), s_k over i = k mod 4 in ascending order, for narrower layers (the
 * density, colour and semantic heads: one chain of n_in dependent additions would bound them by
 * the adder's latency). */
#ifndef FACET_FIELDS_TCNN_MLP_H
#define FACET_FIELDS_TCNN_MLP_H

#include "core/hd.h"

#include <math.h>

enum { FACET_MLP_MAX_LAYERS = 8, FACET_MLP_MAX_WIDTH = 128 };

typedef enum facet_activation {
    FACET_ACTIVATION_NONE = 0,
    FACET_ACTIVATION_RELU,
    FACET_ACTIVATION_SIGMOID,
} facet_activation;

typedef struct facet_mlp {
    int layers;                                /* hidden layers + 1 */
    int width[FACET_MLP_MAX_LAYERS + 1];       /* width[0] = inputs, width[layers] = outputs */
    const float *weight[FACET_MLP_MAX_LAYERS]; /* layer l: W^T, [width[l], width[l+1]] */
    const float *bias0;                        /* [width[1]] */
    facet_activation hidden, output;
    /* NULL: the network runs in fp32 on these weights. Otherwise its fp16 pack
     * (fields/tcnn_mlp_half.h): the weights rounded to half, padded to tiles of 16, and the
     * network runs with half operands and fp32 sums, the tensor-core form of the CUDA renderer. */
    const void *half;
    /* With half set, the loss scale of the network's backward pass
     * (fields/tcnn_mlp_half_backward.h: a power of two; a trainer sets it). Unused in fp32. */
    float loss_scale;
} facet_mlp;

/* Adds a term to a gradient buffer: a plain += into a per-thread buffer on the CPU, an atomicAdd
 * on CUDA. A translation unit may define it first (the GPU parity harness sums |term| with it, for
 * the bound on sums taken in another order: tests/gpu/parity_fit_magnitude.c). */
#ifndef FACET_GRAD_ADD
#ifdef __CUDA_ARCH__
#define FACET_GRAD_ADD(ptr, value) atomicAdd((ptr), (value))
#else
#define FACET_GRAD_ADD(ptr, value) (*(ptr) += (value))
#endif
#endif

static inline FACET_HD float facet_activate(facet_activation a, float x) {
    if (a == FACET_ACTIVATION_RELU) return x > 0.0f ? x : 0.0f;
    if (a == FACET_ACTIVATION_SIGMOID) return 1.0f / (1.0f + expf(-x));
    return x;
}

/* d activation / d x, from the activation's output (what a backward pass has kept). */
static inline FACET_HD float facet_activation_derivative(facet_activation a, float output) {
    if (a == FACET_ACTIVATION_RELU) return output > 0.0f ? 1.0f : 0.0f;
    if (a == FACET_ACTIVATION_SIGMOID) return output * (1.0f - output);
    return 1.0f;
}

/* out = sum_i x[i] W^T[i][o] for one output o of a narrow layer, in the order the header
 * describes: four interleaved partial sums of type T, written once for the per-point form
 * (T = float) and the 16-sample form (T = facet_lanes, fields/tcnn_mlp_lanes.h). */
#define FACET_MLP_NARROW_SUM(T, wt, x, n_in, n_out, o, out)                                        \
    do {                                                                                           \
        T s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};                                                  \
        int i = 0;                                                                                 \
        for (; i + 4 <= (n_in); i += 4) {                                                          \
            s0 += (wt)[(long)i * (n_out) + (o)] * (x)[i];                                          \
            s1 += (wt)[(long)(i + 1) * (n_out) + (o)] * (x)[i + 1];                                \
            s2 += (wt)[(long)(i + 2) * (n_out) + (o)] * (x)[i + 2];                                \
            s3 += (wt)[(long)(i + 3) * (n_out) + (o)] * (x)[i + 3];                                \
        }                                                                                          \
        if (i < (n_in)) s0 += (wt)[(long)i * (n_out) + (o)] * (x)[i];                              \
        if (i + 1 < (n_in)) s1 += (wt)[(long)(i + 1) * (n_out) + (o)] * (x)[i + 1];                \
        if (i + 2 < (n_in)) s2 += (wt)[(long)(i + 2) * (n_out) + (o)] * (x)[i + 2];                \
        (out) = (s0 + s1) + (s2 + s3);                                                             \
    } while (0)

/* acc[o] = sum_i x[i] W^T[i][o] for o < n_out, in the order the header describes. On the device
 * the wide form runs output by output with the sum in a register (acc is shared memory there,
 * nodes/cuda/livescene_node.cu): the same additions in the same ascending order, so the same
 * value bit for bit, without a shared-memory read and write per term. */
static inline FACET_HD void facet_mlp_layer(const float *wt, const float *x, int n_in, int n_out,
                                            float *acc) {
    if (n_out >= 16) {
#ifdef __CUDA_ARCH__
        for (int o = 0; o < n_out; o++) {
            float sum = 0.0f;
            for (int i = 0; i < n_in; i++) sum += wt[(long)i * n_out + o] * x[i];
            acc[o] = sum;
        }
#else
        for (int o = 0; o < n_out; o++) acc[o] = 0.0f;
        for (int i = 0; i < n_in; i++) {
            const float xi = x[i];
            const float *row = wt + (long)i * n_out;
            for (int o = 0; o < n_out; o++) acc[o] += row[o] * xi;
        }
#endif
        return;
    }
    for (int o = 0; o < n_out; o++) FACET_MLP_NARROW_SUM(float, wt, x, n_in, n_out, o, acc[o]);
}

/* The widest of layers first..last (width indices, inclusive); 0 for an empty range. */
static inline FACET_HD int facet_mlp_widest(const facet_mlp *m, int first, int last) {
    int widest = 0;
    for (int l = first; l <= last; l++) widest = m->width[l] > widest ? m->width[l] : widest;
    return widest;
}

/* Floats of scratch facet_mlp_forward_scratch needs: one buffer of the widest hidden layer for a
 * network with one hidden layer, two (alternating) for deeper ones; 0 without hidden layers. */
static inline FACET_HD int facet_mlp_scratch_floats(const facet_mlp *m) {
    return facet_mlp_widest(m, 1, m->layers - 1) * (m->layers > 2 ? 2 : 1);
}

#include "tcnn_mlp_half.h"

/* out[width[layers]] = network(in[width[0]]), the hidden activations in scratch
 * (facet_mlp_scratch_floats; on the device a slice of shared memory). in and out must not overlap
 * scratch. A network with an fp16 pack runs facet_mlp_half_forward_scratch instead. On the device
 * each layer is summed into its output buffer and activated in place. */
static inline FACET_HD void facet_mlp_forward_scratch(const facet_mlp *m, const float *in,
                                                      float *out, float *scratch) {
    if (m->half) {
        facet_mlp_half_forward_scratch(m, in, out, scratch);
        return;
    }
    const int widest = facet_mlp_widest(m, 1, m->layers - 1);
    const float *x = in;
    for (int l = 0; l < m->layers; l++) {
        const int n_in = m->width[l], n_out = m->width[l + 1];
        const int last = l == m->layers - 1;
        float *y = last ? out : scratch + (l & 1) * widest;
#ifdef __CUDA_ARCH__ /* summed straight into y (shared memory) */
        float *acc = y;
#else /* a local accumulator the compiler keeps in vector registers (y may alias nothing, but it   \
       * cannot know that) */
        float acc[FACET_MLP_MAX_WIDTH];
#endif
        facet_mlp_layer(m->weight[l], x, n_in, n_out, acc);
        const facet_activation a = last ? m->output : m->hidden;
        for (int o = 0; o < n_out; o++)
            y[o] = facet_activate(a, l == 0 ? acc[o] + m->bias0[o] : acc[o]);
        x = y;
    }
}

/* facet_mlp_forward_scratch with the scratch on the stack (host code and tests). */
static inline FACET_HD void facet_mlp_forward(const facet_mlp *m, const float *in, float *out) {
    float scratch[2 * FACET_MLP_MAX_WIDTH];
    facet_mlp_forward_scratch(m, in, out, scratch);
}

#endif
