/* MLP suite: the fp16 networks on tensor cores (fields/cuda/tcnn_mlp_tensor.cuh, through
 * facet_mlp_tensor_forward) against their per-point reference, facet_mlp_half_forward_scratch
 * (fields/tcnn_mlp_half.h); and their training pass (fields/cuda/tcnn_mlp_tensor_train.cuh,
 * through facet_mlp_tensor_backward) against facet_mlp_half_backward_scratch
 * (fields/tcnn_mlp_half_backward.h), tolerances at backward_case.
 *
 * Tolerance, per output, from the math. Both sides compute the same function of the same half
 * operands; only the order of each sum may differ (tensor cores add a tile's products in an
 * unspecified order), and a hidden unit that lands on the other side of a half rounding boundary
 * moves by one half ulp and carries that forward. Per layer l with n = pad16(width[l]) + 1
 * additions, gamma = n u / (1 - n u), u = 2^-24, and e_i bounding |x_i(gpu) - x_i(ref)|:
 *   |dz_o| <= sum_i |w_io| e_i + 2 gamma (|b_o| + sum_i |w_io| (|x_i| + e_i))
 *   hidden: e'_o = L |dz_o| + ulp16(|y_o| + L |dz_o|)   (L: the activation's Lipschitz constant,
 *           1 for ReLU; rounding both sides to nearest half moves them apart by at most an ulp)
 *   output: L |dz_o| + 8 u |y_o| (the sigmoid's expf: libdevice and glibc within 2 ulp each)
 * with e_0 = 0 (both round the same floats). The case reports (gpu - ref) / bound against 0 with
 * tolerance 1; in the exact emulated build the two must be identical (the emulator adds in the
 * reference's order: tools/cuemu/include/mma.h). */
#include "parity.h"

#include "../mlp_half_reference.h"

#include "core/status.h"
#include "fields/tcnn_mlp.h"
#include "fields/tcnn_mlp_half_backward.h"
#include "fields/tcnn_mlp_tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const parity_tolerance BOUND = {.abs = 1.0, .rel = 0.0, .same_code = 1};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float uniform(float lo, float hi) { /* xorshift64*: a fixed stream */
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    const uint64_t r = rng_state * 0x2545f4914f6cdd1dull;
    return lo + (hi - lo) * (float)((r >> 40) * (1.0 / 16777216.0));
}

/* The spacing of binary16 numbers at magnitude v (subnormal spacing 2^-24 below 2^-14). */
static double ulp16(double v) {
    if (v < 6.103515625e-05) return 5.9604644775390625e-08;
    return ldexp(1.0, (int)floor(log2(v)) - 10);
}

/* Per-output bounds bound[width[layers]] for input x (the header's recursion), in double. */
static void error_bound(const facet_mlp *m, const float *x, double *bound) {
    double v[FACET_MLP_MAX_WIDTH * 4], e[FACET_MLP_MAX_WIDTH * 4], nv[FACET_MLP_MAX_WIDTH * 4],
        ne[FACET_MLP_MAX_WIDTH * 4];
    const float *bias = facet_mlp_half_bias_rows(m);
    for (int i = 0; i < m->width[0]; i++) v[i] = facet_f16_round(x[i]), e[i] = 0.0;
    for (int l = 0; l < m->layers; l++) {
        const int n_in = m->width[l], n_out = m->width[l + 1];
        const int out_pad = facet_mlp_pad16(n_out), last = l == m->layers - 1;
        const uint16_t *w = facet_mlp_half_weights(m, l);
        const double n = facet_mlp_pad16(n_in) + 1, u = ldexp(1.0, -24);
        const double gamma = n * u / (1.0 - n * u);
        const facet_activation a = last ? m->output : m->hidden;
        const double lipschitz = a == FACET_ACTIVATION_SIGMOID ? 0.25 : 1.0;
        for (int o = 0; o < n_out; o++) {
            double z = l == 0 ? bias[o] : 0.0, carried = 0.0,
                   magnitude = l == 0 ? fabs(bias[o]) : 0.0;
            for (int i = 0; i < n_in; i++) {
                const double wi = facet_f16_to_f32(w[(size_t)i * out_pad + o]);
                z += v[i] * wi;
                carried += fabs(wi) * e[i];
                magnitude += fabs(wi) * (fabs(v[i]) + e[i]);
            }
            const double dz = carried + 2.0 * gamma * magnitude;
            const double y = a == FACET_ACTIVATION_RELU      ? (z > 0 ? z : 0)
                             : a == FACET_ACTIVATION_SIGMOID ? 1.0 / (1.0 + exp(-z))
                                                             : z;
            nv[o] = last ? y : facet_f16_round((float)y);
            ne[o] = last ? lipschitz * dz + 8.0 * u * fabs(y)
                         : lipschitz * dz + ulp16(fabs(y) + lipschitz * dz);
        }
        memcpy(v, nv, sizeof(double) * n_out);
        memcpy(e, ne, sizeof(double) * n_out);
    }
    for (int o = 0; o < m->width[m->layers]; o++) bound[o] = e[o];
}

/* A random network with its fp16 pack: weights U(-1/sqrt(in), 1/sqrt(in)), bias0 U(-0.5, 0.5). */
typedef struct random_network {
    facet_mlp m;
    float *weights[FACET_MLP_MAX_LAYERS], *bias;
    void *pack;
} random_network;

static void random_network_make(random_network *n, const int *widths, int layers,
                                facet_activation output) {
    memset(n, 0, sizeof *n);
    n->m.layers = layers;
    n->m.hidden = FACET_ACTIVATION_RELU;
    n->m.output = output;
    for (int l = 0; l <= layers; l++) n->m.width[l] = widths[l];
    for (int l = 0; l < layers; l++) {
        n->weights[l] = malloc(sizeof(float) * widths[l] * widths[l + 1]);
        const float r = 1.0f / sqrtf((float)widths[l]);
        for (int i = 0; i < widths[l] * widths[l + 1]; i++) n->weights[l][i] = uniform(-r, r);
        n->m.weight[l] = n->weights[l];
    }
    n->bias = malloc(sizeof(float) * widths[1]);
    for (int o = 0; o < widths[1]; o++) n->bias[o] = uniform(-0.5f, 0.5f);
    n->m.bias0 = n->bias;
    n->pack = aligned_alloc(256, (facet_mlp_half_bytes(&n->m) + 255) / 256 * 256);
    facet_mlp_half_pack(&n->m, n->pack);
    n->m.half = n->pack;
}

static void random_network_free(random_network *n) {
    for (int l = 0; l < n->m.layers; l++) free(n->weights[l]);
    free(n->bias), free(n->pack);
}

/* A random network of the given widths (weights U(-1/sqrt(in), 1/sqrt(in)), bias0 U(-0.5, 0.5))
 * and rows random inputs (U(-2, 2), every 7th point scaled by 50: wide dynamic range), on the GPU
 * and per point. */
static int network_case(const char *name, const int *widths, int layers, facet_activation output,
                        int rows) {
    random_network net;
    random_network_make(&net, widths, layers, output);
    const facet_mlp m = net.m;
    const int n_in = widths[0], n_out = widths[layers];
    float *in = malloc(sizeof(float) * rows * n_in), *ref = malloc(sizeof(float) * rows * n_out);
    float *got = malloc(sizeof(float) * rows * n_out), *zero = calloc((size_t)rows * n_out, 4);
    float *scaled = malloc(sizeof(float) * rows * n_out);
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < n_in; i++) in[r * n_in + i] = uniform(-2, 2) * (r % 7 ? 1.0f : 50.0f);
    int failures = 0;
    if (facet_mlp_tensor_forward(&m, in, rows, got) != FACET_OK) {
        failures = parity_error(name, facet_last_error());
    } else {
        float scratch[2 * FACET_MLP_MAX_WIDTH];
        double bound[FACET_MLP_MAX_WIDTH];
        for (int r = 0; r < rows; r++) {
            facet_mlp_half_forward_scratch(&m, in + r * n_in, ref + r * n_out, scratch);
            error_bound(&m, in + r * n_in, bound);
            for (int o = 0; o < n_out; o++) {
                const double d = (double)got[r * n_out + o] - ref[r * n_out + o];
                scaled[r * n_out + o] = (float)(d == 0.0 ? 0.0 : d / bound[o]);
            }
        }
        failures = parity_check(name, zero, scaled, (size_t)rows * n_out, &BOUND);
    }
    random_network_free(&net);
    free(in), free(ref), free(got), free(zero), free(scaled);
    return failures;
}

/* The training pass of a random network (as network_case) on rows points with output gradients
 * of a fit's size (U(-1, 1) 2^-(10 + r mod 12)), loss scale 2^10, against the per-point
 * reference. Tolerances from the math (tests/mlp_half_reference.h bounds each side's distance
 * from the header's function evaluated exactly, b per point):
 *   dinput, per element: 2 b (each side within b). The emulator adds in the reference's order,
 *   so the exact build must match bit for bit (and, the g being equal, so must every half
 *   gradient the weight sums read).
 *   weights and bias0, per element: both sides sum the same points' terms in different orders
 *   (the reference point by point; the kernels 16 points per tile, chunks, then atomics), so
 *   sum_p 2 b_p + 2 (rows + 1) 2^-24 sum_p |term_p|: never bit-exact, in any build. */
static int backward_case(const char *name, const int *widths, int layers, facet_activation output,
                         int rows) {
    random_network net;
    random_network_make(&net, widths, layers, output);
    const facet_mlp m = net.m;
    size_t total = (size_t)widths[1];
    for (int l = 0; l < layers; l++) total += (size_t)widths[l] * widths[l + 1];
    const int n_in = widths[0], n_out = widths[layers];
    const float scale = 1024.0f;
    float *in = malloc(sizeof(float) * rows * n_in), *dout = malloc(sizeof(float) * rows * n_out);
    float *dx = malloc(sizeof(float) * rows * n_in), *ref_dx = malloc(sizeof(float) * rows * n_in);
    float *dw = calloc(total, sizeof(float)), *ref_dw = calloc(total, sizeof(float));
    float *point_dw = malloc(sizeof(float) * total);
    float *scaled_dx = malloc(sizeof(float) * rows * n_in),
          *scaled_dw = malloc(sizeof(float) * total);
    float *zero = calloc(total > (size_t)rows * n_in ? total : (size_t)rows * n_in, sizeof(float));
    double *want_dw = malloc(sizeof(double) * total), *bound_dw = malloc(sizeof(double) * total);
    double *sum_bound = calloc(total, sizeof(double)), *magnitude = calloc(total, sizeof(double));
    float *scratch = malloc(sizeof(float) * facet_mlp_half_backward_scratch_floats(&m));
    for (int r = 0; r < rows; r++) {
        for (int i = 0; i < n_in; i++) in[r * n_in + i] = uniform(-2, 2) * (r % 7 ? 1.0f : 50.0f);
        for (int o = 0; o < n_out; o++)
            dout[r * n_out + o] = uniform(-1, 1) * ldexpf(1.0f, -10 - r % 12);
    }
    facet_mlp grad = m, point = m, ref = m;
    grad.half = point.half = ref.half = NULL;
    size_t at = 0;
    for (int l = 0; l < layers; l++) {
        grad.weight[l] = dw + at, point.weight[l] = point_dw + at, ref.weight[l] = ref_dw + at;
        at += (size_t)widths[l] * widths[l + 1];
    }
    grad.bias0 = dw + at, point.bias0 = point_dw + at, ref.bias0 = ref_dw + at;
    int failures = 0;
    if (facet_mlp_tensor_backward(&m, in, dout, rows, scale, &grad, dx) != FACET_OK) {
        failures = parity_error(name, facet_last_error());
    } else {
        for (int r = 0; r < rows; r++) {
            double want_dx[FACET_MLP_MAX_WIDTH], bound_dx[FACET_MLP_MAX_WIDTH];
            memset(point_dw, 0, sizeof(float) * total);
            facet_mlp_half_backward_scratch(&m, &point, in + r * n_in, dout + r * n_out, scale,
                                            ref_dx + r * n_in, scratch);
            mlp_half_independent_backward(&m, in + r * n_in, dout + r * n_out, scale, want_dx,
                                          bound_dx, want_dw, bound_dw);
            for (int i = 0; i < n_in; i++) {
                const double d = (double)dx[r * n_in + i] - ref_dx[r * n_in + i];
                scaled_dx[r * n_in + i] = (float)(d == 0.0 ? 0.0 : d / (2.0 * bound_dx[i]));
            }
            for (size_t k = 0; k < total; k++) {
                ref_dw[k] += point_dw[k];
                sum_bound[k] += 2.0 * bound_dw[k];
                magnitude[k] += fabs(want_dw[k]);
            }
        }
        const double gamma = 2.0 * (rows + 1) * ldexp(1.0, -24);
        for (size_t k = 0; k < total; k++) {
            const double d = (double)dw[k] - ref_dw[k], bound = sum_bound[k] + gamma * magnitude[k];
            scaled_dw[k] = (float)(d == 0.0 ? 0.0 : d / bound);
        }
        char label[128];
        snprintf(label, sizeof label, "%s.dinput", name);
        failures += parity_check(label, zero, scaled_dx, (size_t)rows * n_in, &BOUND);
        snprintf(label, sizeof label, "%s.weights", name);
        const parity_tolerance sums = {.abs = 1.0, .rel = 0.0, .same_code = 0};
        failures += parity_check(label, zero, scaled_dw, total, &sums);
    }
    random_network_free(&net);
    free(in), free(dout), free(dx), free(ref_dx), free(dw), free(ref_dw);
    free(point_dw), free(scaled_dx), free(scaled_dw), free(zero), free(want_dw), free(bound_dw);
    free(sum_bound), free(magnitude), free(scratch);
    return failures;
}

int parity_suite_mlp(void) {
    /* LiveScene's networks (official widths: tcnn FullyFusedMLP, 64 neurons), then shapes that
     * exercise the padding (inputs and outputs not multiples of 16), three hidden layers, the
     * widest hidden layer facet takes (128) and a row count that is not a multiple of 32 */
    int failures = 0;
    failures += network_case("mlp.tensor.sigma_96_64_16", (const int[]){96, 64, 16}, 2,
                             FACET_ACTIVATION_NONE, 200);
    failures += network_case("mlp.tensor.color_31_64_64_3", (const int[]){31, 64, 64, 3}, 3,
                             FACET_ACTIVATION_SIGMOID, 200);
    failures += network_case("mlp.tensor.density_8_64_1", (const int[]){8, 64, 1}, 2,
                             FACET_ACTIVATION_NONE, 200);
    failures += network_case("mlp.tensor.semantic_10_64_3", (const int[]){10, 64, 3}, 2,
                             FACET_ACTIVATION_NONE, 200);
    failures += network_case("mlp.tensor.padded_27_40_24_17", (const int[]){27, 40, 24, 17}, 3,
                             FACET_ACTIVATION_NONE, 77);
    failures += network_case("mlp.tensor.deep_128_128_128_128_5",
                             (const int[]){128, 128, 128, 128, 5}, 4, FACET_ACTIVATION_SIGMOID, 65);
    /* training: the same shapes; 600 rows span two weight-gradient chunks */
    failures += backward_case("mlp.backward.sigma_96_64_16", (const int[]){96, 64, 16}, 2,
                              FACET_ACTIVATION_NONE, 600);
    failures += backward_case("mlp.backward.color_31_64_64_3", (const int[]){31, 64, 64, 3}, 3,
                              FACET_ACTIVATION_SIGMOID, 200);
    failures += backward_case("mlp.backward.density_8_64_1", (const int[]){8, 64, 1}, 2,
                              FACET_ACTIVATION_NONE, 200);
    failures += backward_case("mlp.backward.padded_27_40_24_17", (const int[]){27, 40, 24, 17}, 3,
                              FACET_ACTIVATION_NONE, 77);
    failures +=
        backward_case("mlp.backward.deep_128_128_128_128_5", (const int[]){128, 128, 128, 128, 5},
                      4, FACET_ACTIVATION_SIGMOID, 65);
    return failures;
}
