/* nn/: the transformer layer FQGAN's adapters and the text encoders share, and the convolutional
 * ops of LPIPS's backbones, on the CPU.
 *
 * Each op is checked against a direct double-precision evaluation of its definition (nn/nn.h)
 * on seeded random inputs, with bounds derived from float rounding: a product of length K summed
 * in float is within K * FLT_EPSILON * sum_k |x_k w_k| of the exact sum (plus one rounding of the
 * result), and element-wise steps add a few ulps. Every output is also checked to be finite. The
 * models built on these ops are checked against PyTorch in test_fqgan, test_language and
 * test_lpips, and the CUDA launcher against this one in gpu_parity (fqgan, language, lpips). */
#include "core/cuda/device.h"
#include "core/rng.h"
#include "nn/nn.h"
#include "core/fastmath.h"
#include "nn/nn_ops.h"
#include "nn/gemm.h"
#include "nn/gemm_bf16.h"
#include "core/half.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------- */

static float *random_array(facet_rng *rng, size_t n, float scale) {
    float *x = malloc(n * sizeof *x);
    cr_assert_not_null(x);
    for (size_t i = 0; i < n; i++) x[i] = scale * (2.0f * facet_rng_uniform(rng) - 1.0f);
    return x;
}

static facet_nn *cpu_context(void) {
    facet_nn *nn = NULL;
    cr_assert_eq(facet_nn_create(&nn, FACET_NN_CPU, FACET_NN_FP32), FACET_OK, "%s",
                 facet_last_error());
    return nn;
}

static double gelu_exact(double x) {
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
}

static double quick_gelu_exact(double x) {
    return x / (1.0 + exp(-1.702 * x));
}

static double activate_exact(double z, facet_nn_activation act) {
    switch (act) {
    case FACET_NN_GELU:
        return gelu_exact(z);
    case FACET_NN_QUICK_GELU:
        return quick_gelu_exact(z);
    case FACET_NN_RELU:
        return z < 0.0 ? 0.0 : z;
    default:
        return z;
    }
}

/* |got - want| <= bound, with got finite. */
static void expect_close(float got, double want, double bound, const char *what, int i) {
    cr_assert(isfinite(got), "%s[%d] is not finite (%g)", what, i, (double)got);
    cr_assert(fabs(got - want) <= bound, "%s[%d]: %.9g, expected %.9g (bound %.3g)", what, i,
              (double)got, want, bound);
}

/* ---- linear -------------------------------------------------------------------------------- */

/* y = act(x W^T + b) (+ y0 with accumulate) against the definition, on a CPU context of the given
 * precision with w prepared (facet_nn_prepare_linear) or not. The products' bound: float32's sum,
 * or for split products nn/gemm_bf16.h's (u^2 (3 + 2u) + (6 k2 + 2) 2^-24 (1 + 2u)^3) with
 * u = 2^-8, k2 = ceil(IN / 2); the activations' slopes are below 1.13. */
static void check_linear_on(facet_nn_precision precision, int prepare, facet_nn_activation act,
                            int accumulate, int with_bias) {
    enum { ROWS = 137, IN = 53, OUT = 29 }; /* more rows than two 64-row tasks */
    facet_rng rng = facet_rng_seed(7, (uint64_t)(act * 4 + accumulate * 2 + with_bias));
    float *x = random_array(&rng, (size_t)ROWS * IN, 1.0f);
    float *w = random_array(&rng, (size_t)OUT * IN, 0.3f);
    float *b = random_array(&rng, OUT, 0.5f);
    float *y = random_array(&rng, (size_t)ROWS * OUT, 1.0f);
    float *y0 = malloc((size_t)ROWS * OUT * sizeof *y0);
    cr_assert_not_null(y0);
    memcpy(y0, y, (size_t)ROWS * OUT * sizeof *y0);
    facet_nn *nn = NULL;
    cr_assert_eq(facet_nn_create(&nn, FACET_NN_CPU, precision), FACET_OK);
    if (prepare) cr_assert_eq(facet_nn_prepare_linear(nn, w, IN, OUT), FACET_OK);
    cr_assert_eq(facet_nn_linear(nn, x, ROWS, IN, w, with_bias ? b : NULL, OUT, act, accumulate, y),
                 FACET_OK, "%s", facet_last_error());
    const double u = 0x1p-8, k2 = (IN + 1) / 2;
    const double product = precision == FACET_NN_SPLIT && prepare
                               ? u * u * (3 + 2 * u) + (6 * k2 + 2) * 0x1p-24 * pow(1 + 2 * u, 3)
                               : (IN + 2) * FLT_EPSILON;
    for (int r = 0; r < ROWS; r++)
        for (int o = 0; o < OUT; o++) {
            double z = with_bias ? b[o] : 0.0, magnitude = fabs(z);
            for (int k = 0; k < IN; k++) {
                z += (double)x[r * IN + k] * w[o * IN + k];
                magnitude += fabs((double)x[r * IN + k] * w[o * IN + k]);
            }
            double a = activate_exact(z, act);
            double want = accumulate ? y0[r * OUT + o] + a : a; /* accumulate: identity only */
            /* the product's rounding (the activations' slopes are below 1.13), then a few ulps
               for the activation and the accumulation */
            double bound =
                1.13 * product * magnitude + 4 * FLT_EPSILON * (fabs(want) + fabs(y0[r * OUT + o]));
            expect_close(y[r * OUT + o], want, bound, "y", r * OUT + o);
        }
    facet_nn_destroy(nn);
    free(x), free(w), free(b), free(y), free(y0);
}

static void check_linear(facet_nn_activation act, int accumulate, int with_bias) {
    check_linear_on(FACET_NN_FP32, 0, act, accumulate, with_bias);
}

/* Split products (CPUs with AVX-512 BF16; elsewhere the context is float32): the prepared weights
 * within the split bound, each activation and the residual; unprepared weights on the same
 * context give an FP32 context's bits. Plain bf16 operands (the cross terms dropped) miss the
 * bound 10x at the first output. */
Test(nn_linear, split_products_on_prepared_weights_stay_within_the_split_bound) {
    if (!facet_gemm_bf16_native()) cr_skip_test("this CPU has no AVX-512 BF16");
    const facet_nn_activation acts[] = {FACET_NN_IDENTITY, FACET_NN_GELU, FACET_NN_QUICK_GELU,
                                        FACET_NN_RELU};
    for (int i = 0; i < 4; i++) check_linear_on(FACET_NN_SPLIT, 1, acts[i], 0, 1);
    check_linear_on(FACET_NN_SPLIT, 1, FACET_NN_IDENTITY, 1, 0);
    enum { ROWS = 70, IN = 41, OUT = 70 }; /* odd k; a full and a partial panel of 64 columns */
    facet_rng rng = facet_rng_seed(8, 1);
    float *x = random_array(&rng, (size_t)ROWS * IN, 1.0f), *w = random_array(&rng, IN * OUT, 1.0f);
    float *y = malloc(sizeof(float) * ROWS * OUT), *y32 = malloc(sizeof(float) * ROWS * OUT);
    facet_nn *split = NULL, *fp32 = cpu_context();
    cr_assert_eq(facet_nn_create(&split, FACET_NN_CPU, FACET_NN_SPLIT), FACET_OK);
    cr_assert_eq(facet_nn_linear(split, x, ROWS, IN, w, NULL, OUT, FACET_NN_IDENTITY, 0, y),
                 FACET_OK);
    cr_assert_eq(facet_nn_linear(fp32, x, ROWS, IN, w, NULL, OUT, FACET_NN_IDENTITY, 0, y32),
                 FACET_OK);
    cr_expect_eq(memcmp(y, y32, sizeof(float) * ROWS * OUT), 0, "unprepared weights changed");
    const size_t before = facet_nn_memory_bytes(split);
    cr_assert_eq(facet_nn_prepare_linear(split, w, IN, OUT), FACET_OK);
    /* W^T's split pairs in whole panels of 64 columns: 2 x 21 pair rows of 128 columns */
    cr_expect_eq(facet_nn_memory_bytes(split), before + sizeof(uint32_t) * 128 * 42,
                 "the pack is not counted");
    cr_assert_eq(facet_nn_linear(split, x, ROWS, IN, w, NULL, OUT, FACET_NN_IDENTITY, 0, y),
                 FACET_OK);
    cr_expect_neq(memcmp(y, y32, sizeof(float) * ROWS * OUT), 0, "prepared: float32's bits");
    cr_expect_eq(facet_nn_prepare_linear(split, w, 0, OUT), FACET_ERR_INVALID_ARGUMENT);
    facet_nn_destroy(split);
    facet_nn_destroy(fp32);
    free(x), free(w), free(y), free(y32);
}

Test(nn_linear, matches_the_definition_with_bias) {
    check_linear(FACET_NN_IDENTITY, 0, 1);
}

Test(nn_linear, matches_the_definition_without_bias) {
    check_linear(FACET_NN_IDENTITY, 0, 0);
}

Test(nn_linear, fuses_exact_gelu) {
    check_linear(FACET_NN_GELU, 0, 1);
}

Test(nn_linear, fuses_quick_gelu) {
    check_linear(FACET_NN_QUICK_GELU, 0, 1);
}

Test(nn_linear, fuses_relu) {
    check_linear(FACET_NN_RELU, 0, 1);
}

Test(nn_linear, accumulates_into_y_as_a_residual) {
    check_linear(FACET_NN_IDENTITY, 1, 1);
}

Test(nn_linear, refuses_an_activation_on_a_residual) {
    float x[2] = {1, 2}, w[2] = {3, 4}, y[1] = {5};
    facet_nn *nn = cpu_context();
    cr_assert_eq(facet_nn_linear(nn, x, 1, 2, w, NULL, 1, FACET_NN_GELU, 1, y),
                 FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "residual"), "message: %s", facet_last_error());
    cr_assert_eq(y[0], 5.0f, "y was written");
    facet_nn_destroy(nn);
}

/* ---- LayerNorm ----------------------------------------------------------------------------- */

static void check_layer_norm(int with_residual, int in_place) {
    enum { ROWS = 9, N = 384 };
    const float eps = 1e-5f;
    facet_rng rng = facet_rng_seed(11, (uint64_t)(with_residual * 2 + in_place));
    float *x = random_array(&rng, (size_t)ROWS * N, 3.0f);
    for (int i = 0; i < ROWS * N; i++) x[i] += 5.0f; /* a mean far from 0 */
    float *residual = random_array(&rng, (size_t)ROWS * N, 1.0f);
    float *gamma = random_array(&rng, N, 1.0f), *beta = random_array(&rng, N, 1.0f);
    float *x0 = malloc((size_t)ROWS * N * sizeof *x0),
          *out = malloc((size_t)ROWS * N * sizeof *out);
    cr_assert(x0 && out);
    memcpy(x0, x, (size_t)ROWS * N * sizeof *x0);
    float *y = in_place ? x : out;
    facet_nn *nn = cpu_context();
    cr_assert_eq(
        facet_nn_layer_norm(nn, x, with_residual ? residual : NULL, ROWS, N, gamma, beta, eps, y),
        FACET_OK, "%s", facet_last_error());
    for (int r = 0; r < ROWS; r++) {
        double mean = 0.0, var = 0.0;
        for (int i = 0; i < N; i++)
            mean += x0[r * N + i] + (with_residual ? residual[r * N + i] : 0.0f);
        mean /= N;
        for (int i = 0; i < N; i++) {
            double d = x0[r * N + i] + (with_residual ? residual[r * N + i] : 0.0f) - mean;
            var += d * d;
        }
        var /= N; /* biased, as torch.nn.LayerNorm */
        const double rstd = 1.0 / sqrt(var + eps);
        for (int i = 0; i < N; i++) {
            /* the input sum is rounded to float first (as torch adds before normalising) */
            const float v = with_residual ? x0[r * N + i] + residual[r * N + i] : x0[r * N + i];
            double want = (v - mean) * rstd * gamma[i] + beta[i];
            /* float scale and shift: a few ulps of each term, and of |v * scale| */
            double bound = 8 * FLT_EPSILON * (fabs(v * rstd * gamma[i]) + fabs(want) + 1.0);
            expect_close(y[r * N + i], want, bound, "y", r * N + i);
        }
    }
    facet_nn_destroy(nn);
    free(x), free(x0), free(out), free(residual), free(gamma), free(beta);
}

Test(nn_layer_norm, matches_torch_layer_norm) {
    check_layer_norm(0, 0);
}

Test(nn_layer_norm, adds_the_residual_first) {
    check_layer_norm(1, 0);
}

Test(nn_layer_norm, may_write_over_its_input) {
    check_layer_norm(1, 1);
}

/* ---- softmax ------------------------------------------------------------------------------- */

Test(nn_softmax, rows_match_the_definition_and_survive_large_logits) {
    enum { ROWS = 4, N = 50 };
    facet_rng rng = facet_rng_seed(13, 0);
    float *x = random_array(&rng, (size_t)ROWS * N, 20.0f);
    for (int i = 0; i < N; i++) x[3 * N + i] += 1000.0f; /* exp would overflow without the max */
    float *x0 = malloc((size_t)ROWS * N * sizeof *x0);
    cr_assert_not_null(x0);
    memcpy(x0, x, (size_t)ROWS * N * sizeof *x0);
    facet_nn *nn = cpu_context();
    cr_assert_eq(facet_nn_softmax(nn, x, ROWS, N), FACET_OK, "%s", facet_last_error());
    for (int r = 0; r < ROWS; r++) {
        double max = x0[r * N], sum = 0.0, total = 0.0;
        for (int i = 1; i < N; i++) max = fmax(max, x0[r * N + i]);
        for (int i = 0; i < N; i++) sum += exp(x0[r * N + i] - max);
        for (int i = 0; i < N; i++) {
            double want = exp(x0[r * N + i] - max) / sum;
            /* exp of a rounded difference (|x - max| <= 40: 40 ulps relative), sum, reciprocal */
            expect_close(x[r * N + i], want, (N + 48) * FLT_EPSILON * want + 1e-30, "p", r * N + i);
            total += x[r * N + i];
        }
        cr_assert(fabs(total - 1.0) <= 2 * N * FLT_EPSILON, "row %d sums to %.9g", r, total);
    }
    facet_nn_destroy(nn);
    free(x), free(x0);
}

/* ---- attention ----------------------------------------------------------------------------- */

/* softmax_j(q_i . k_j / sqrt(dh)) v_j per head, in double. */
static void attention_reference(const float *qkv, int batch, int len, int width, int heads,
                                int causal, double *y) {
    const int dh = width / heads;
    for (int n = 0; n < batch; n++)
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < len; i++) {
                const float *q = qkv + ((size_t)n * len + i) * 3 * width + h * dh;
                const int keys = causal ? i + 1 : len;
                double score[64], max = -INFINITY, sum = 0.0;
                for (int j = 0; j < keys; j++) {
                    const float *k = qkv + ((size_t)n * len + j) * 3 * width + width + h * dh;
                    double s = 0.0;
                    for (int c = 0; c < dh; c++) s += (double)q[c] * k[c];
                    score[j] = s / sqrt((double)dh);
                    max = fmax(max, score[j]);
                }
                for (int j = 0; j < keys; j++) sum += score[j] = exp(score[j] - max);
                double *out = y + ((size_t)n * len + i) * width + h * dh;
                for (int c = 0; c < dh; c++) {
                    double acc = 0.0;
                    for (int j = 0; j < keys; j++)
                        acc += score[j] / sum *
                               qkv[((size_t)n * len + j) * 3 * width + 2 * width + h * dh + c];
                    out[c] = acc;
                }
            }
}

static void check_attention(int causal) {
    enum { BATCH = 2, LEN = 13, WIDTH = 24, HEADS = 3 };
    facet_rng rng = facet_rng_seed(17, (uint64_t)causal);
    float *qkv = random_array(&rng, (size_t)BATCH * LEN * 3 * WIDTH, 1.5f);
    float *y = malloc((size_t)BATCH * LEN * WIDTH * sizeof *y);
    double *want = malloc((size_t)BATCH * LEN * WIDTH * sizeof *want);
    cr_assert(y && want);
    facet_nn *nn = cpu_context();
    cr_assert_eq(facet_nn_attention(nn, qkv, BATCH, LEN, WIDTH, HEADS, causal, y), FACET_OK, "%s",
                 facet_last_error());
    attention_reference(qkv, BATCH, LEN, WIDTH, HEADS, causal, want);
    /* scores: a length-dh product (|q.k| <= dh * 1.5^2); softmax weights to ~(LEN + 60) ulps; the
       weighted sum of |v| <= 1.5 over LEN keys */
    const int dh = WIDTH / HEADS;
    const double score_error = dh * FLT_EPSILON * dh * 2.25 / sqrt((double)dh);
    const double bound = 1.5 * (score_error * 2 + (LEN + 60) * FLT_EPSILON);
    for (int i = 0; i < BATCH * LEN * WIDTH; i++) expect_close(y[i], want[i], bound, "y", i);
    if (causal) /* the first token sees itself only: its output is its own value, exactly */
        for (int n = 0; n < BATCH; n++)
            for (int c = 0; c < WIDTH; c++)
                cr_assert_eq(y[(size_t)n * LEN * WIDTH + c],
                             qkv[(size_t)n * LEN * 3 * WIDTH + 2 * WIDTH + c]);
    facet_nn_destroy(nn);
    free(qkv), free(y), free(want);
}

Test(nn_attention, matches_scaled_dot_product_attention) {
    check_attention(0);
}

Test(nn_attention, causal_mask_hides_later_tokens) {
    check_attention(1);
}

/* ---- conv2d -------------------------------------------------------------------------------- */

typedef struct conv_case {
    int batch, in, h, w, out;
    facet_nn_window window;
    facet_nn_activation act;
    int with_bias;
} conv_case;

/* y = act(conv2d(x) + b) against the definition (nn.h) in double: a length-k product summed in
 * float is within k FLT_EPSILON sum |terms| of the exact sum (plus the bias and one rounding);
 * ReLU has slope <= 1. */
static void check_conv2d(const conv_case *cc, uint64_t stream) {
    const facet_nn_window *win = &cc->window;
    int oh, ow;
    cr_assert_eq(facet_nn_window_output(win, cc->h, cc->w, &oh, &ow, "test"), FACET_OK, "%s",
                 facet_last_error());
    const int k = cc->in * win->kernel_h * win->kernel_w;
    const size_t nx = (size_t)cc->batch * cc->in * cc->h * cc->w;
    const size_t ny = (size_t)cc->batch * cc->out * oh * ow;
    facet_rng rng = facet_rng_seed(19, stream);
    float *x = random_array(&rng, nx, 1.0f);
    float *wt = random_array(&rng, (size_t)cc->out * k, 0.5f);
    float *b = random_array(&rng, (size_t)cc->out, 0.5f);
    float *y = random_array(&rng, ny, 100.0f); /* overwritten: y is an output only */
    facet_nn *nn = cpu_context();
    cr_assert_eq(facet_nn_conv2d(nn, x, cc->batch, cc->in, cc->h, cc->w, wt,
                                 cc->with_bias ? b : NULL, cc->out, win, cc->act, y),
                 FACET_OK, "%s", facet_last_error());
    for (int n = 0; n < cc->batch; n++)
        for (int o = 0; o < cc->out; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double z = cc->with_bias ? b[o] : 0.0, magnitude = fabs(z);
                    for (int c = 0; c < cc->in; c++)
                        for (int i = 0; i < win->kernel_h; i++)
                            for (int j = 0; j < win->kernel_w; j++) {
                                const int yy = oy * win->stride_h - win->pad_h + i;
                                const int xx = ox * win->stride_w - win->pad_w + j;
                                if (yy < 0 || yy >= cc->h || xx < 0 || xx >= cc->w) continue;
                                const double term =
                                    (double)
                                        wt[((o * cc->in + c) * win->kernel_h + i) * win->kernel_w +
                                           j] *
                                    x[(((size_t)n * cc->in + c) * cc->h + yy) * cc->w + xx];
                                z += term;
                                magnitude += fabs(term);
                            }
                    const double want = activate_exact(z, cc->act);
                    const double bound = (k + 2) * FLT_EPSILON * magnitude + 1e-30;
                    const size_t at = (((size_t)n * cc->out + o) * oh + oy) * ow + ox;
                    expect_close(y[at], want, bound, "y", (int)at);
                }
    facet_nn_destroy(nn);
    free(x), free(wt), free(b), free(y);
}

Test(nn_conv2d, alexnet_first_layer_geometry_with_relu) {
    /* AlexNet's conv1: 11x11, stride 4, padding 2, on a batch of two non-square images */
    const conv_case cc = {2, 3, 40, 37, 8, {11, 11, 4, 4, 2, 2}, FACET_NN_RELU, 1};
    check_conv2d(&cc, 0);
}

Test(nn_conv2d, three_by_three_same_padding_without_bias) {
    const conv_case cc = {1, 5, 9, 13, 7, {3, 3, 1, 1, 1, 1}, FACET_NN_IDENTITY, 0};
    check_conv2d(&cc, 1);
}

Test(nn_conv2d, rectangular_kernel_stride_and_padding) {
    const conv_case cc = {2, 4, 11, 8, 5, {2, 3, 2, 1, 1, 0}, FACET_NN_RELU, 1};
    check_conv2d(&cc, 2);
}

Test(nn_conv2d, pointwise_kernel_multiplies_the_input_directly) {
    const conv_case cc = {2, 16, 7, 5, 3, {1, 1, 1, 1, 0, 0}, FACET_NN_IDENTITY, 1};
    check_conv2d(&cc, 3);
}

Test(nn_conv2d, output_larger_than_one_task_block) {
    /* k = 64 * 9 = 576 im2col rows: a task takes 2^21 / 576 = 3640 pixels, so 71 x 69 = 4899
       output pixels are two tasks per image, the second one partial and starting mid-row
       (3640 = 52 rows of 69 + 52) */
    const conv_case cc = {1, 64, 71, 69, 4, {3, 3, 1, 1, 1, 1}, FACET_NN_RELU, 1};
    check_conv2d(&cc, 4);
}

Test(nn_conv2d, stride_one_with_padding_wider_than_the_kernel_reach) {
    /* pad 2 around a 5-wide kernel on 4 columns: some taps read only padding in some rows */
    const conv_case cc = {2, 3, 6, 4, 4, {3, 5, 1, 1, 2, 2}, FACET_NN_IDENTITY, 1};
    check_conv2d(&cc, 5);
}

Test(nn_conv2d, refuses_windows_that_do_not_fit) {
    facet_nn *nn = cpu_context();
    float x[16] = {0}, wt[9] = {0}, y[16];
    const facet_nn_window big = {5, 5, 1, 1, 0, 0}, zero_stride = {3, 3, 0, 1, 1, 1};
    cr_assert_eq(facet_nn_conv2d(nn, x, 1, 1, 4, 4, wt, NULL, 1, &big, FACET_NN_IDENTITY, y),
                 FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "does not fit"), "message: %s", facet_last_error());
    cr_assert_eq(
        facet_nn_conv2d(nn, x, 1, 1, 4, 4, wt, NULL, 1, &zero_stride, FACET_NN_IDENTITY, y),
        FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "stride"), "message: %s", facet_last_error());
    facet_nn_destroy(nn);
}

/* ---- ReLU and max pooling ------------------------------------------------------------------ */

Test(nn_relu, clamps_negatives_and_keeps_nan) {
    cr_assert_eq(facet_nn_relu(-2.5f), 0.0f);
    cr_assert_eq(facet_nn_relu(3.25f), 3.25f);
    cr_assert(isnan(facet_nn_relu(NAN)), "relu(NaN) must stay NaN (torch.relu)");
    cr_assert_eq(facet_nn_activate_one(-1.0f, FACET_NN_RELU), 0.0f);
}

/* y = max over each window against a direct loop: max is exact, so equality. */
static void check_max_pool(int planes, int h, int w, facet_nn_window win, float offset) {
    int oh, ow;
    cr_assert_eq(facet_nn_window_output(&win, h, w, &oh, &ow, "test"), FACET_OK);
    facet_rng rng = facet_rng_seed(23, (uint64_t)(h * 100 + w));
    float *x = random_array(&rng, (size_t)planes * h * w, 1.0f);
    for (size_t i = 0; i < (size_t)planes * h * w; i++) x[i] += offset;
    float *y = malloc((size_t)planes * oh * ow * sizeof *y);
    cr_assert_not_null(y);
    facet_nn *nn = cpu_context();
    cr_assert_eq(facet_nn_max_pool2d(nn, x, planes, h, w, &win, y), FACET_OK, "%s",
                 facet_last_error());
    for (int p = 0; p < planes; p++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                float want = -INFINITY;
                for (int i = 0; i < win.kernel_h; i++)
                    for (int j = 0; j < win.kernel_w; j++) {
                        const int yy = oy * win.stride_h - win.pad_h + i;
                        const int xx = ox * win.stride_w - win.pad_w + j;
                        if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                            want = fmaxf(want, x[((size_t)p * h + yy) * w + xx]);
                    }
                const float got = y[((size_t)p * oh + oy) * ow + ox];
                cr_assert_eq(got, want, "plane %d (%d, %d): %g, expected %g", p, oy, ox,
                             (double)got, (double)want);
            }
    facet_nn_destroy(nn);
    free(x), free(y);
}

Test(nn_max_pool2d, alexnet_three_by_three_stride_two_floor_mode) {
    /* 15 -> 7 rows, 14 -> 6 columns: the last column of the input is dropped (floor mode) */
    check_max_pool(3, 15, 14, (facet_nn_window){3, 3, 2, 2, 0, 0}, 0.0f);
}

Test(nn_max_pool2d, vgg_two_by_two_on_odd_sides) {
    check_max_pool(2, 9, 7, (facet_nn_window){2, 2, 2, 2, 0, 0}, 0.0f);
}

Test(nn_max_pool2d, padding_never_wins_over_negative_values) {
    /* every value in [-11, -9]: zero padding would win, torch's -inf padding does not */
    check_max_pool(2, 6, 5, (facet_nn_window){3, 3, 1, 1, 1, 1}, -10.0f);
}

Test(nn_max_pool2d, nan_propagates_to_its_windows_only) {
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)i;
    x[0] = NAN; /* top-left of a 4x4 plane: only the first 2x2 window sees it */
    float y[4];
    const facet_nn_window win = {2, 2, 2, 2, 0, 0};
    facet_nn *nn = cpu_context();
    cr_assert_eq(facet_nn_max_pool2d(nn, x, 1, 4, 4, &win, y), FACET_OK);
    cr_assert(isnan(y[0]), "the window holding NaN gives NaN");
    cr_assert_eq(y[1], 7.0f);
    cr_assert_eq(y[2], 13.0f);
    cr_assert_eq(y[3], 15.0f);
    facet_nn_destroy(nn);
}

Test(nn_max_pool2d, refuses_padding_over_half_the_window) {
    float x[16] = {0}, y[16];
    const facet_nn_window win = {2, 2, 1, 1, 2, 2};
    facet_nn *nn = cpu_context();
    cr_assert_eq(facet_nn_max_pool2d(nn, x, 1, 4, 4, &win, y), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "half"), "message: %s", facet_last_error());
    facet_nn_destroy(nn);
}

/* ---- contexts ------------------------------------------------------------------------------ */

Test(nn_context, cuda_context_without_a_device_is_a_clear_error) {
    if (facet_cuda_available()) cr_skip_test("a CUDA device is present");
    facet_nn *nn = NULL;
    cr_assert_eq(facet_nn_create(&nn, FACET_NN_CUDA, FACET_NN_FP32), FACET_ERR_CUDA);
    cr_assert_null(nn);
    cr_assert(strstr(facet_last_error(), "CUDA"), "message: %s", facet_last_error());
}

/* facet_nn_expf against libm's expf (correctly rounded to within 1 ulp in glibc) on a dense
 * sweep of [-87.3, 88.7]: within 2 ulp everywhere; clamped ends and NaN as documented. */
Test(nn_ops, expf_is_within_two_ulp_of_libm) {
    double worst = 0.0;
    for (int i = 0; i <= 2000000; i++) {
        const float x = -87.3f + (float)i * (176.0f / 2000000.0f);
        const float want = expf(x), got = facet_nn_expf(x);
        const float ulp = nextafterf(want, INFINITY) - want;
        const double err = fabs((double)got - (double)want) / ulp;
        if (err > worst) worst = err;
    }
    cr_expect_leq(worst, 2.0, "worst error %.2f ulp", worst);
    cr_expect_eq(facet_nn_expf(0.0f), 1.0f);
    cr_expect(isnan(facet_nn_expf(NAN)));
    cr_expect(facet_nn_expf(-1000.0f) >= 0.0f && facet_nn_expf(-1000.0f) < 1.3e-38f);
    cr_expect(isfinite(facet_nn_expf(1000.0f)) && facet_nn_expf(1000.0f) > 1.6e38f);
}

/* facet_expf (core/fastmath.h), the full-range form: within 2 ulp of libm over the normal range
 * and the subnormal results (within 2 ulp of the subnormal spacing there), 0 below ln(2^-150),
 * inf above ln(FLT_MAX), NaN through; and facet_nn_expf is the same function inside its clamp. */
Test(nn_ops, full_range_expf_matches_libm_down_to_subnormals) {
    double worst = 0.0;
    int differ_from_nn = 0;
    for (int i = 0; i <= 2000000; i++) {
        const float x = -103.9f + (float)i * (192.6f / 2000000.0f);
        const float want = expf(x), got = facet_expf(x);
        const float ulp = nextafterf(want, INFINITY) - want;
        const double err = fabs((double)got - (double)want) / ulp;
        if (err > worst) worst = err;
        if (x > -87.33f && x < 88.72f) differ_from_nn += got != facet_nn_expf(x);
    }
    cr_expect_leq(worst, 2.0, "worst error %.2f ulp", worst);
    cr_expect_eq(differ_from_nn, 0);
    cr_expect_eq(facet_expf(0.0f), 1.0f);
    cr_expect_eq(facet_expf(-104.0f), 0.0f);
    cr_expect_eq(facet_expf(-1000.0f), 0.0f);
    cr_expect(isinf(facet_expf(88.8f)) && isinf(facet_expf(INFINITY)));
    cr_expect_eq(facet_expf(-INFINITY), 0.0f);
    cr_expect(isnan(facet_expf(NAN)));
    cr_expect(facet_expf(-100.0f) > 0.0f && facet_expf(-100.0f) < 1.2e-38f); /* subnormal */
}

/* Every GEMM kernel this CPU runs, against a double-precision product, on shapes that cross the
 * kernel's edges: rows not a multiple of MR, k across KC blocks, columns across the 64-column
 * block with a masked tail, strides wider than the shapes, overwrite and accumulate. Bound: the
 * worst-case rounding of any order of a k-term float sum, k * 2^-24 * sum |a b| (plus the
 * accumulated C's own rounding). */
static void check_gemm(const char *kernel, int m, int k, int n, int accumulate) {
    const int lda = k + 3, ldb = n + 5, ldc = n + 7;
    float *a = malloc(sizeof(float) * (size_t)m * lda),
          *b = malloc(sizeof(float) * (size_t)k * ldb);
    float *c = malloc(sizeof(float) * (size_t)m * ldc);
    facet_rng rng = facet_rng_seed(11, (uint64_t)(m * 1000 + n));
    for (int i = 0; i < m * lda; i++) a[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
    for (int i = 0; i < k * ldb; i++) b[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
    for (int i = 0; i < m * ldc; i++) c[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
    float *c0 = malloc(sizeof(float) * (size_t)m * ldc);
    memcpy(c0, c, sizeof(float) * (size_t)m * ldc);
    cr_assert_eq(facet_gemm_force_kernel(kernel), FACET_OK);
    facet_gemm(a, lda, m, k, b, ldb, n, c, ldc, accumulate);
    facet_gemm_force_kernel(NULL);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double want = accumulate ? c0[i * ldc + j] : 0.0, mag = fabs(want);
            for (int kk = 0; kk < k; kk++) {
                want += (double)a[i * lda + kk] * b[kk * ldb + j];
                mag += fabs((double)a[i * lda + kk] * b[kk * ldb + j]);
            }
            const double bound = (k + 1) * 0x1p-24 * mag;
            cr_assert(isfinite(c[i * ldc + j]) && fabs(c[i * ldc + j] - want) <= bound,
                      "%s %dx%dx%d: C[%d,%d] = %.9g, want %.9g (bound %.3g)", kernel, m, k, n, i, j,
                      c[i * ldc + j], want, bound);
        }
        /* the padding between rows is untouched */
        for (int j = n; j < ldc; j++) cr_assert_eq(c[i * ldc + j], c0[i * ldc + j]);
    }
    free(a), free(b), free(c), free(c0);
}

Test(gemm, every_kernel_matches_a_double_product) {
    const char *kernels[] = {"avx512", "avx2", "c"};
    const int shapes[][3] = {{13, 300, 70},  {6, 256, 64}, {1, 1, 1}, {7, 513, 129},
                             {128, 128, 32}, {5, 9, 17},   {3, 0, 5}};
    int ran = 0;
    for (int i = 0; i < 3; i++) {
        if (facet_gemm_force_kernel(kernels[i]) != FACET_OK) continue; /* not on this CPU */
        facet_gemm_force_kernel(NULL);
        ran++;
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int acc = 0; acc < 2; acc++)
                check_gemm(kernels[i], shapes[s][0], shapes[s][1], shapes[s][2], acc);
    }
    cr_expect_geq(ran, 1);
    cr_expect_eq(facet_gemm_force_kernel("sse9"), FACET_ERR_INVALID_ARGUMENT);
}

Test(gemm, the_detected_kernel_is_the_best_this_cpu_has) {
    __builtin_cpu_init();
    const char *want = __builtin_cpu_supports("avx512f")                                 ? "avx512"
                       : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "avx2"
                                                                                         : "c";
    cr_expect_str_eq(facet_gemm_kernel_name(), want);
}

/* The bf16 kernels against a double-precision product of the bf16-rounded operands, over shapes
 * that cross the kernel's edges (rows not a multiple of 6, odd k and k across the 128-pair
 * blocks, columns across 64 with a masked tail, wide strides, overwrite and accumulate). Products
 * of bf16 values are exact in float32, so the bound is the float32 sum's alone: 2 k2 additions,
 * (2 k2 + 1) 2^-24 sum |a b| (plus the accumulated C's own rounding). The packing is checked on
 * the way: every packed half is the round-to-nearest-even bf16 of its float. */
static void check_gemm_bf16(const char *kernel, int m, int k, int n, int accumulate) {
    const int k2 = (k + 1) / 2, lda = k + 3, ldb = n + 5, ldc = n + 7, lda2 = k2 + 2, ldb2 = n + 1;
    float *a = malloc(sizeof(float) * ((size_t)m * lda + 1)),
          *b = malloc(sizeof(float) * ((size_t)k * ldb + 1));
    float *c = malloc(sizeof(float) * ((size_t)m * ldc + 1)),
          *c0 = malloc(sizeof(float) * ((size_t)m * ldc + 1));
    uint32_t *ap = malloc(sizeof(uint32_t) * ((size_t)m * lda2 + 1)),
             *bp = malloc(sizeof(uint32_t) * ((size_t)k2 * ldb2 + 1));
    facet_rng rng = facet_rng_seed(12, (uint64_t)(m * 1000 + n));
    for (int i = 0; i < m * lda; i++) a[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
    for (int i = 0; i < k * ldb; i++) b[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
    for (int i = 0; i < m * ldc; i++) c[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
    memcpy(c0, c, sizeof(float) * (size_t)m * ldc);
    facet_bf16_pack_a(a, lda, m, k, ap, lda2);
    facet_bf16_pack_b(b, ldb, k, n, bp, ldb2);
    cr_assert_eq(facet_gemm_bf16_force_kernel(kernel), FACET_OK);
    facet_gemm_bf16(ap, lda2, m, k2, bp, ldb2, n, c, ldc, accumulate);
    facet_gemm_bf16_force_kernel(NULL);
    /* the bf16 operands, unpacked */
    for (int i = 0; i < m; i++)
        for (int kk = 0; kk < 2 * k2; kk++) {
            const uint32_t pair = ap[i * lda2 + kk / 2];
            const float got = facet_bf16_to_f32((uint16_t)(kk % 2 ? pair >> 16 : pair & 0xffffu));
            const float want = kk < k ? facet_bf16_to_f32(facet_f32_to_bf16(a[i * lda + kk])) : 0;
            cr_assert_eq(got, want, "A pack [%d, %d]", i, kk);
        }
    for (int kk = 0; kk < 2 * k2; kk++)
        for (int j = 0; j < n; j++) {
            const uint32_t pair = bp[(kk / 2) * ldb2 + j];
            const float got = facet_bf16_to_f32((uint16_t)(kk % 2 ? pair >> 16 : pair & 0xffffu));
            const float want = kk < k ? facet_bf16_to_f32(facet_f32_to_bf16(b[kk * ldb + j])) : 0;
            cr_assert_eq(got, want, "B pack [%d, %d]", kk, j);
        }
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double want = accumulate ? c0[i * ldc + j] : 0.0, mag = fabs(want);
            for (int kk = 0; kk < k; kk++) {
                const double p = (double)facet_bf16_to_f32(facet_f32_to_bf16(a[i * lda + kk])) *
                                 facet_bf16_to_f32(facet_f32_to_bf16(b[kk * ldb + j]));
                want += p;
                mag += fabs(p);
            }
            const double bound = (2 * k2 + 1) * 0x1p-24 * mag;
            cr_assert(isfinite(c[i * ldc + j]) && fabs(c[i * ldc + j] - want) <= bound,
                      "%s %dx%dx%d: C[%d,%d] = %.9g, want %.9g (bound %.3g)", kernel, m, k, n, i, j,
                      c[i * ldc + j], want, bound);
        }
        for (int j = n; j < ldc; j++) cr_assert_eq(c[i * ldc + j], c0[i * ldc + j]);
    }
    free(a), free(b), free(c), free(c0), free(ap), free(bp);
}

/* Shapes for the AMX kernel's edges too: 32 x 32 blocks of 16 x 16 tiles (a second row or column
 * tile partial or absent) and k in groups of 16 pairs with a zero-padded partial last group. */
Test(gemm_bf16, every_kernel_matches_a_double_product_of_the_rounded_operands) {
    const char *kernels[] = {"amx", "avx512bf16", "c"};
    const int shapes[][3] = {{13, 300, 70},  {6, 256, 64}, {1, 1, 1},    {7, 513, 129},
                             {128, 128, 32}, {5, 9, 17},   {3, 0, 5},    {12, 258, 48},
                             {33, 33, 33},   {32, 64, 32}, {40, 31, 16}, {17, 512, 96}};
    int ran = 0;
    const char *first = NULL; /* the best kernel this CPU runs: the automatic choice */
    for (int i = 0; i < 3; i++) {
        if (facet_gemm_bf16_force_kernel(kernels[i]) != FACET_OK) continue; /* not on this CPU */
        facet_gemm_bf16_force_kernel(NULL);
        ran++;
        if (!first) first = kernels[i];
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int acc = 0; acc < 2; acc++)
                check_gemm_bf16(kernels[i], shapes[s][0], shapes[s][1], shapes[s][2], acc);
    }
    cr_log_info("bf16 GEMM kernels run on this CPU: %d (automatic: %s)", ran, first);
    cr_expect_geq(ran, facet_gemm_bf16_native() ? 2 : 1);
    cr_expect_str_eq(facet_gemm_bf16_kernel_name(), first);
    cr_expect_eq(facet_gemm_bf16_force_kernel("sse"), FACET_ERR_INVALID_ARGUMENT);
}

/* Split (bf16x3) products against a double product of the float32 operands themselves, with the
 * bound nn/gemm_bf16.h derives: (u^2 (3 + 2u) + (6 k2 + 2) 2^-24 (1 + 2u)^3) sum |a b|, u = 2^-8.
 * The packing is checked on the way (hi = bf16(x), lo = bf16(x - hi)). Operands span four
 * octaves so the lo halves are not all of one scale. Plain bf16 operands are off by up to
 * 2^-8 |a b| per product, 85x the bound's first term: the check tells the two apart (the
 * largest error in units of the bound is logged, and must exceed what float32 alone makes). */
/* The tiled form of split A (gemm_bf16.h): every pair where the layout formula puts it, zeros
 * everywhere else; its product, from c0, equal bit for bit to the packed rows' product c on the
 * kernel in force, for all m rows and for the rows from 32 on (a range starting at a block). */
static void check_split_tiled(const uint32_t *ap, int lda2, int m, int k2, const uint32_t *bp,
                              int ldb2, int n, const float *c0, const float *c, int ldc,
                              int accumulate) {
    const size_t words = facet_bf16_tiled_split_words(m, k2),
                 block = facet_bf16_tiled_block_words(k2);
    cr_assert_eq(block, (size_t)1024 * ((k2 + 15) / 16));
    cr_assert_eq(words, block * (size_t)((m + 31) / 32));
    uint32_t *at = malloc(sizeof(uint32_t) * (words + 1));
    unsigned char *placed = calloc(words + 1, 1);
    float *ct = malloc(sizeof(float) * ((size_t)m * ldc + 1));
    memset(at, 0xab, sizeof(uint32_t) * (words + 1));
    facet_bf16_tile_split(ap, lda2, m, k2, at);
    cr_assert_eq(at[words], 0xabababab, "tiling wrote past its words");
    for (int r = 0; r < m; r++)
        for (int h = 0; h < 2; h++)
            for (int p = 0; p < k2; p++) {
                const size_t i = (size_t)(r / 32) * block + (size_t)(p / 16) * 1024 +
                                 (size_t)h * 512 + (size_t)(r % 32) * 16 + (size_t)(p % 16);
                cr_assert_eq(at[i], ap[(size_t)r * lda2 + (size_t)h * k2 + p],
                             "row %d half %d pair %d", r, h, p);
                placed[i] = 1;
            }
    for (size_t i = 0; i < words; i++)
        if (!placed[i]) cr_assert_eq(at[i], 0u, "padding word %zu", i);
    memcpy(ct, c0, sizeof(float) * (size_t)m * ldc);
    facet_gemm_bf16_split_tiled(at, m, k2, bp, ldb2, n, ct, ldc, accumulate);
    cr_assert_eq(memcmp(ct, c, sizeof(float) * (size_t)m * ldc), 0,
                 "tiled split %dx%d pairs x%d differs from the packed rows' product", m, k2, n);
    if (m > 32) {
        memcpy(ct, c0, sizeof(float) * (size_t)m * ldc);
        facet_gemm_bf16_split_tiled(at + block, m - 32, k2, bp, ldb2, n, ct + (size_t)32 * ldc, ldc,
                                    accumulate);
        cr_assert_eq(memcmp(ct + (size_t)32 * ldc, c + (size_t)32 * ldc,
                            sizeof(float) * (size_t)(m - 32) * ldc),
                     0, "tiled split from row 32 differs");
        cr_assert_eq(memcmp(ct, c0, sizeof(float) * (size_t)32 * ldc), 0, "rows before 32 written");
    }
    free(at), free(placed), free(ct);
}

static double check_gemm_bf16_split(const char *kernel, int m, int k, int n, int accumulate) {
    const int k2 = (k + 1) / 2, lda = k + 3, ldb = n + 5, ldc = n + 7, lda2 = 2 * k2 + 2,
              ldb2 = n + 1;
    float *a = malloc(sizeof(float) * ((size_t)m * lda + 1)),
          *b = malloc(sizeof(float) * ((size_t)k * ldb + 1));
    float *c = malloc(sizeof(float) * ((size_t)m * ldc + 1)),
          *c0 = malloc(sizeof(float) * ((size_t)m * ldc + 1));
    uint32_t *ap = malloc(sizeof(uint32_t) * ((size_t)m * lda2 + 1)),
             *bp = malloc(sizeof(uint32_t) * ((size_t)2 * k2 * ldb2 + 1));
    facet_rng rng = facet_rng_seed(21, (uint64_t)(m * 1000 + n));
    for (int i = 0; i < m * lda; i++)
        a[i] = (2.0f * facet_rng_uniform(&rng) - 1.0f) * exp2f(4.0f * facet_rng_uniform(&rng));
    for (int i = 0; i < k * ldb; i++)
        b[i] = (2.0f * facet_rng_uniform(&rng) - 1.0f) * exp2f(-4.0f * facet_rng_uniform(&rng));
    for (int i = 0; i < m * ldc; i++) c[i] = 2.0f * facet_rng_uniform(&rng) - 1.0f;
    memcpy(c0, c, sizeof(float) * (size_t)m * ldc);
    facet_bf16_pack_a_split(a, lda, m, k, ap, lda2);
    facet_bf16_pack_b_split(b, ldb, k, n, bp, ldb2);
    cr_assert_eq(facet_gemm_bf16_force_kernel(kernel), FACET_OK);
    facet_gemm_bf16_split(ap, lda2, m, k2, bp, ldb2, n, c, ldc, accumulate);
    check_split_tiled(ap, lda2, m, k2, bp, ldb2, n, c0, c, ldc, accumulate);
    facet_gemm_bf16_force_kernel(NULL);
    for (int kk = 0; kk < 2 * k2; kk++) { /* the packs: row 0 of A, every column of B */
        const int hi = kk % 2 ? 16 : 0;
        const float x = kk < k ? a[kk] : 0.0f;
        const float xh = facet_bf16_to_f32(facet_f32_to_bf16(x));
        const float xl = facet_bf16_to_f32(facet_f32_to_bf16(x - xh));
        cr_assert_eq(facet_bf16_to_f32((uint16_t)(ap[k2 + kk / 2] >> hi)), xh, "A hi [%d]", kk);
        cr_assert_eq(facet_bf16_to_f32((uint16_t)(ap[kk / 2] >> hi)), xl, "A lo [%d]", kk);
        for (int j = 0; j < n; j++) {
            const float y = kk < k ? b[(size_t)kk * ldb + j] : 0.0f;
            const float yh = facet_bf16_to_f32(facet_f32_to_bf16(y));
            const float yl = facet_bf16_to_f32(facet_f32_to_bf16(y - yh));
            cr_assert_eq(facet_bf16_to_f32((uint16_t)(bp[(size_t)(kk / 2) * ldb2 + j] >> hi)), yh,
                         "B hi [%d, %d]", kk, j);
            cr_assert_eq(facet_bf16_to_f32((uint16_t)(bp[(size_t)(k2 + kk / 2) * ldb2 + j] >> hi)),
                         yl, "B lo [%d, %d]", kk, j);
        }
    }
    const double u = 0x1p-8;
    double worst = 0.0; /* error over the float32 sum's own bound, (2 k2 + 1) 2^-24 sum |a b| */
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double want = accumulate ? c0[i * ldc + j] : 0.0, mag = fabs(want);
            for (int kk = 0; kk < k; kk++) {
                const double p = (double)a[i * lda + kk] * b[kk * ldb + j];
                want += p;
                mag += fabs(p);
            }
            const double bound =
                (u * u * (3 + 2 * u) + (6 * k2 + 2) * 0x1p-24 * pow(1 + 2 * u, 3)) * mag;
            const double err = fabs(c[i * ldc + j] - want);
            cr_assert(isfinite(c[i * ldc + j]) && err <= bound,
                      "%s split %dx%dx%d: C[%d,%d] = %.9g, want %.9g (bound %.3g)", kernel, m, k, n,
                      i, j, c[i * ldc + j], want, bound);
            const double fp32 = (2 * k2 + 1) * 0x1p-24 * mag;
            if (fp32 > 0 && err / fp32 > worst) worst = err / fp32;
        }
        for (int j = n; j < ldc; j++) cr_assert_eq(c[i * ldc + j], c0[i * ldc + j]);
    }
    free(a), free(b), free(c), free(c0), free(ap), free(bp);
    return worst;
}

Test(gemm_bf16, split_products_stay_within_the_derived_bound_on_every_kernel_rows_or_tiled) {
    const char *kernels[] = {"amx", "avx512bf16", "c"};
    const int shapes[][3] = {{13, 300, 70}, {1, 1, 1},     {7, 513, 129}, {128, 128, 32},
                             {5, 9, 17},    {3, 0, 5},     {33, 33, 33},  {40, 31, 16},
                             {17, 512, 96}, {64, 256, 64}, {70, 600, 50}};
    int ran = 0;
    for (int i = 0; i < 3; i++) {
        if (facet_gemm_bf16_force_kernel(kernels[i]) != FACET_OK) continue;
        const int pays = facet_gemm_bf16_split_pays();
        facet_gemm_bf16_force_kernel(NULL);
        cr_expect_eq(pays, strcmp(kernels[i], "amx") == 0, "%s: split pays %d", kernels[i], pays);
        ran++;
        double worst = 0.0;
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int acc = 0; acc < 2; acc++) {
                const double w = check_gemm_bf16_split(kernels[i], shapes[s][0], shapes[s][1],
                                                       shapes[s][2], acc);
                if (w > worst) worst = w;
            }
        cr_log_info("%s split: worst error %.2f x the float32 sum's bound", kernels[i], worst);
    }
    cr_expect_geq(ran, 1);
}

/* 19 values where rounding to bf16 has rules: ties to even both ways, NaN, infinities, signed
 * zeros, the largest floats (rounding up to infinity), subnormals, ordinary values. */
static const float BF16_SPECIAL[19] = {1.0f + 0x1p-8f,
                                       1.0f + 0x3p-8f,
                                       -(1.0f + 0x1p-8f),
                                       1.0f + 0x1p-9f,
                                       NAN,
                                       INFINITY,
                                       -INFINITY,
                                       0.0f,
                                       -0.0f,
                                       FLT_MAX,
                                       -FLT_MAX,
                                       3.0e38f,
                                       0x1p-130f,
                                       -0x1p-140f,
                                       1.0e-30f,
                                       65504.0f,
                                       -2.5f,
                                       0x1.fffffep0f,
                                       7.0f};

/* B's packing (facet_bf16_pack_b and _split: VCVTNEPS2BF16 on CPUs with AVX-512 BF16, else C)
 * on the values where rounding has rules: ties to even both ways, NaN quieted, infinities, signed
 * zeros, the largest floats (rounding up to infinity), across a 16-lane block and a masked tail
 * (19 columns), an odd k (the last row pairs with zeros). Float32 subnormals: the C packing keeps
 * them as bf16, the hardware one reads them as zero; either is taken (products flush them). */
Test(gemm_bf16, packing_b_rounds_as_facet_f32_to_bf16_on_every_special_value) {
    const float *special = BF16_SPECIAL;
    enum { N = 19, K = 3, LD = 21 };
    float b[K * LD];
    for (int r = 0; r < K; r++)
        for (int j = 0; j < LD; j++) b[r * LD + j] = special[(j + 5 * r) % N];
    uint32_t plain[2 * LD], split[4 * LD];
    facet_bf16_pack_b(b, LD, K, N, plain, LD);
    facet_bf16_pack_b_split(b, LD, K, N, split, LD);
    for (int p = 0; p < 2; p++)
        for (int j = 0; j < N; j++) {
            const float e = b[2 * p * LD + j], o = 2 * p + 1 < K ? b[(2 * p + 1) * LD + j] : 0.0f;
            const float v[2] = {e, o};
            for (int h = 0; h < 2; h++) {
                const uint16_t want = facet_f32_to_bf16(v[h]);
                const uint16_t got = (uint16_t)(plain[p * LD + j] >> (16 * h));
                const uint16_t got_hi = (uint16_t)(split[p * LD + j] >> (16 * h));
                const uint16_t got_lo = (uint16_t)(split[(2 + p) * LD + j] >> (16 * h));
                const int subnormal = fpclassify(v[h]) == FP_SUBNORMAL;
                const uint16_t flushed = (uint16_t)(facet_f32_bits(v[h]) >> 16 & 0x8000u);
                cr_assert(got == want || (subnormal && got == flushed),
                          "pack [%d][%d] of %a: %#x, want %#x", p, j, (double)v[h], got, want);
                cr_assert_eq(got_hi, got, "split hi [%d][%d] of %a", p, j, (double)v[h]);
                if (isfinite(v[h]) && !subnormal) {
                    const uint16_t want_lo = facet_f32_to_bf16(v[h] - facet_bf16_to_f32(want));
                    cr_assert(got_lo == want_lo ||
                                  (fpclassify(v[h] - facet_bf16_to_f32(want)) == FP_SUBNORMAL &&
                                   (got_lo & 0x7fffu) == 0),
                              "split lo [%d][%d] of %a: %#x, want %#x", p, j, (double)v[h], got_lo,
                              want_lo);
                }
            }
        }
}

/* The A packings (facet_bf16_pack_a and _split: VCVTNEPS2BF16 on 16 neighbours at a time on
 * AVX-512 BF16 CPUs) round each element as facet_f32_to_bf16 on the same special values, in rows
 * of 19 (a vector and a masked tail, an odd k whose last pair is padded with 0) at a row stride of
 * 21; the split form's lo pairs hold bf16(x - bf16(x)). */
Test(gemm_bf16, packing_a_rounds_as_facet_f32_to_bf16_on_every_special_value) {
    const float *special = BF16_SPECIAL;
    enum { K = 19, M = 3, LD = 21, K2 = (K + 1) / 2 };
    float a[M * LD];
    for (int r = 0; r < M; r++)
        for (int j = 0; j < LD; j++) a[r * LD + j] = special[(j + 5 * r) % K];
    uint32_t plain[M * 12], split[M * 2 * K2];
    memset(plain, 0xff, sizeof plain); /* the padding must be written, not left */
    memset(split, 0xff, sizeof split);
    facet_bf16_pack_a(a, LD, M, K, plain, 12);
    facet_bf16_pack_a_split(a, LD, M, K, split, 2 * K2);
    for (int r = 0; r < M; r++)
        for (int j = 0; j < 2 * K2; j++) {
            const float v = j < K ? a[r * LD + j] : 0.0f;
            const int p = j / 2, h = j % 2;
            const uint16_t want = facet_f32_to_bf16(v);
            const uint16_t got = (uint16_t)(plain[r * 12 + p] >> (16 * h));
            const uint16_t got_hi = (uint16_t)(split[r * 2 * K2 + K2 + p] >> (16 * h));
            const uint16_t got_lo = (uint16_t)(split[r * 2 * K2 + p] >> (16 * h));
            const int subnormal = fpclassify(v) == FP_SUBNORMAL;
            const uint16_t flushed = (uint16_t)(facet_f32_bits(v) >> 16 & 0x8000u);
            cr_assert(got == want || (subnormal && got == flushed), "pack a [%d][%d] of %a: %#x", r,
                      j, (double)v, got);
            cr_assert_eq(got_hi, got, "split hi [%d][%d] of %a", r, j, (double)v);
            if (j >= K) cr_assert_eq(got_lo, 0, "split lo padding [%d][%d]", r, j);
            if (isfinite(v) && !subnormal) {
                const float rest = v - facet_bf16_to_f32(want);
                const uint16_t want_lo = facet_f32_to_bf16(rest);
                cr_assert(got_lo == want_lo ||
                              (fpclassify(rest) == FP_SUBNORMAL && (got_lo & 0x7fffu) == 0),
                          "split lo [%d][%d] of %a: %#x, want %#x", r, j, (double)v, got_lo,
                          want_lo);
            }
        }
}

/* Rounding to bf16 is round-to-nearest-even on the dropped 16 bits. */
Test(gemm_bf16, pairs_round_to_nearest_even) {
    const float one_and_half_ulp = 1.0f + 0x1p-8f + 0x1p-9f;      /* above a tie: rounds up */
    cr_expect_eq(facet_bf16_pair(1.0f + 0x1p-8f, 0.0f), 0x3f80u); /* tie to even: down */
    cr_expect_eq(facet_bf16_pair(1.0f + 0x3p-8f, 0.0f), 0x3f82u); /* tie to even: up */
    cr_expect_eq(facet_bf16_pair(one_and_half_ulp, -2.0f), 0xc0003f81u); /* odd half: -2 */
}

/* facet_erfcf (core/fastmath.h) and the GELU on it, against double-precision erfc, relatively.
 * erfc: (4 + 2 x^2) 2^-24: a few roundings, plus those of x^2 and of P - x^2 inside the exponent
 * (each moves the result by x^2 2^-24). GELU = 0.5 x erfc(z), z = -x / sqrt 2: erfc's bound at
 * z^2 = x^2 / 2, plus the rounding of z (2 z^2 2^-24 = x^2 2^-24) and of the two products (2^-23
 * each): (8 + 2 x^2) 2^-24. The old 0.5 x (1 + erff) lost everything to cancellation below about
 * x = -5, which this formula keeps. */
Test(nn_ops, erfc_and_gelu_keep_their_relative_precision) {
    double worst_erfc = 0.0, worst_gelu = 0.0;
    for (int i = 0; i <= 2000000; i++) {
        const float x = -10.0f + (float)i * (20.0f / 2000000.0f);
        const double want = erfc((double)x);
        if (want > 1e-37) { /* normal results */
            const double err = fabs(facet_erfcf(x) - want) / want;
            const double allowed = (4.0 + 2.0 * (double)x * x) * 0x1p-24;
            if (err / allowed > worst_erfc) worst_erfc = err / allowed;
        }
        const double g = 0.5 * (double)x * erfc(-(double)x / sqrt(2.0));
        if (x != 0.0f && fabs(g) > 1e-37) {
            const double err = fabs(facet_nn_gelu(x) - g) / fabs(g);
            const double allowed = (8.0 + 2.0 * (double)x * x) * 0x1p-24;
            if (err / allowed > worst_gelu) worst_gelu = err / allowed;
        }
    }
    cr_expect_leq(worst_erfc, 1.0, "erfc: worst error %.2f of its bound", worst_erfc);
    cr_expect_leq(worst_gelu, 1.0, "gelu: worst error %.2f of its bound", worst_gelu);
    cr_expect(fabsf(facet_erfcf(0.0f) - 1.0f) <= FLT_EPSILON);
    cr_expect_eq(facet_erfcf(INFINITY), 0.0f);
    cr_expect_eq(facet_erfcf(-INFINITY), 2.0f);
    cr_expect_eq(facet_erfcf(11.0f), 0.0f);
    cr_expect(isnan(facet_erfcf(NAN)) && isnan(facet_nn_gelu(NAN)));
    cr_expect_eq(facet_nn_gelu(INFINITY), INFINITY);
    cr_expect_eq(facet_nn_gelu(0.0f), 0.0f);
}

/* ---- cuBLAS, opened on first use (nn/cuda/cublas_loader.h); the real CUDA build only ------- */
#if defined(FACET_HAVE_CUDA) && !defined(FACET_CUDA_EMU)
#include "nn/cuda/cublas_loader.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether this process has any libcublas* file mapped (/proc/self/maps). */
static int cublas_objects_loaded(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    cr_assert_not_null(maps);
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, maps))
        if (strstr(line, "/libcublas")) found = 1;
    fclose(maps);
    return found;
}

Test(cublas_loader, nothing_of_cublas_is_loaded_until_asked_for) {
    /* a fresh test process that has used nn/ on the CPU, and asked for a CUDA context (which
     * cannot be made on a machine without a GPU: then nothing of cuBLAS is loaded either) */
    facet_nn *nn = NULL;
    cr_assert_eq(facet_nn_create(&nn, FACET_NN_CPU, FACET_NN_FP32), FACET_OK, "%s",
                 facet_last_error());
    facet_nn_destroy(nn);
    int devices = 0;
    const int usable = cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0;
    if (!usable) {
        cr_expect_eq(facet_nn_create(&nn, FACET_NN_CUDA, FACET_NN_FP32), FACET_ERR_CUDA);
        cr_expect_eq(cublas_objects_loaded(), 0, "libcublas is loaded without a CUDA context");
    }
    cr_expect_eq(cublas_objects_loaded(), 0, "libcublas is loaded before any CUDA context");
    const facet_cublas *cublas = NULL;
    cr_assert_eq(facet_cublas_get(&cublas), FACET_OK, "%s", facet_last_error());
    cr_expect(cublas_objects_loaded(), "facet_cublas_get loaded no libcublas");
}

Test(cublas_loader, finds_the_toolkit_cublas_and_every_function) {
    const facet_cublas *cublas = NULL, *again = NULL;
    cr_assert_eq(facet_cublas_get(&cublas), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(facet_cublas_get(&again), FACET_OK);
    cr_expect_eq(cublas, again, "opened twice");
    cr_expect(cublas->create && cublas->destroy && cublas->gemm_strided_batched_ex);
    cr_expect(strstr(cublas->path, FACET_CUBLAS_SONAME) && cublas->path[0] == '/', "path: %s",
              cublas->path);
    cr_expect_eq(access(cublas->path, R_OK), 0, "%s", cublas->path);
    /* callable with cuBLAS's ABI: a handle where a device is usable, an error status where not */
    cublasHandle_t handle = NULL;
    int devices = 0;
    const int usable = cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0;
    const cublasStatus_t created = cublas->create(&handle);
    cr_expect_eq(created == CUBLAS_STATUS_SUCCESS, usable, "cublasCreate: status %d, %d devices",
                 (int)created, devices);
    if (created == CUBLAS_STATUS_SUCCESS) cr_expect_eq(cublas->destroy(handle), 0);
}

Test(cublas_loader, the_cudart_path_is_the_loaded_cudart) {
    char path[4096], dir[4096];
    cr_assert(facet_cudart_path(path, sizeof path), "no libcudart found among loaded objects");
    cr_expect(strstr(path, "/libcudart.so"), "%s", path);
    cr_expect_eq(access(path, R_OK), 0, "%s", path);
    char tiny[4];
    cr_expect_eq(facet_cudart_path(tiny, sizeof tiny), 0, "a path into 4 bytes");
    /* facet_cublas_get's later candidates: cuBLAS beside that cudart (the toolkit's layout) */
    char beside[2][FACET_CUBLAS_PATH_MAX];
    const char *candidates[3];
    const int count = facet_cublas_candidates(path, beside, candidates);
    cr_assert_geq(count, 2);
    cr_expect_str_eq(candidates[0], FACET_CUBLAS_SONAME);
    snprintf(dir, sizeof dir, "%.*s/%s", (int)(strrchr(path, '/') - path), path,
             FACET_CUBLAS_SONAME);
    cr_expect_str_eq(candidates[1], dir);
    facet_cublas table;
    cr_assert_eq(facet_cublas_open(candidates + count - 1, 1, &table), FACET_OK, "%s",
                 facet_last_error());
    cr_expect(strstr(table.path, FACET_CUBLAS_SONAME), "%s", table.path);
}

/* A libcudart reached through a link in another directory (as /usr/local/lib/libcudart.so.13 can
 * be to the toolkit's lib/): cuBLAS is looked for beside the link, then beside its target. */
Test(cublas_loader, looks_beside_a_linked_cudart_and_its_target) {
    char root[] = "/tmp/facet-cublas-XXXXXX";
    cr_assert_not_null(mkdtemp(root));
    char links[4200], toolkit[4200], target[4300], link[4300];
    snprintf(links, sizeof links, "%s/links", root);
    snprintf(toolkit, sizeof toolkit, "%s/toolkit", root);
    cr_assert_eq(mkdir(links, 0700), 0);
    cr_assert_eq(mkdir(toolkit, 0700), 0);
    snprintf(target, sizeof target, "%s/libcudart.so.13.0.96", toolkit);
    snprintf(link, sizeof link, "%s/libcudart.so.13", links);
    FILE *f = fopen(target, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_eq(symlink(target, link), 0);
    char beside[2][FACET_CUBLAS_PATH_MAX], want[2][4400];
    const char *candidates[3];
    cr_assert_eq(facet_cublas_candidates(link, beside, candidates), 3);
    snprintf(want[0], sizeof want[0], "%s/%s", links, FACET_CUBLAS_SONAME);
    char real_toolkit[4096];
    cr_assert_not_null(realpath(toolkit, real_toolkit));
    snprintf(want[1], sizeof want[1], "%s/%s", real_toolkit, FACET_CUBLAS_SONAME);
    cr_expect_str_eq(candidates[0], FACET_CUBLAS_SONAME);
    cr_expect_str_eq(candidates[1], want[0]);
    cr_expect_str_eq(candidates[2], want[1]);
    /* the file itself: no second directory; no cudart: the soname alone */
    cr_expect_eq(facet_cublas_candidates(target, beside, candidates), 2);
    cr_expect_eq(facet_cublas_candidates(NULL, beside, candidates), 1);
    unlink(link);
    unlink(target);
    rmdir(links);
    rmdir(toolkit);
    rmdir(root);
}

Test(cublas_loader, names_every_candidate_and_why_when_none_opens) {
    char cudart_path[4096];
    cr_assert(facet_cudart_path(cudart_path, sizeof cudart_path));
    /* a missing file, and a library that opens but is not cuBLAS */
    const char *candidates[] = {"/nonexistent/libcublas.so.13", cudart_path};
    facet_cublas table;
    memset(&table, 0xab, sizeof table);
    const facet_cublas before = table;
    cr_assert_eq(facet_cublas_open(candidates, 2, &table), FACET_ERR_CUDA);
    const char *m = facet_last_error();
    cr_expect(strstr(m, "/nonexistent/libcublas.so.13") && strstr(m, "No such file"), "%s", m);
    cr_expect(strstr(m, cudart_path) && strstr(m, "lacks cublasCreate_v2, cublasDestroy_v2, "
                                                  "cublasGemmStridedBatchedEx"),
              "%s", m);
    cr_expect(strstr(m, "LD_LIBRARY_PATH"), "%s", m);
    cr_expect_eq(memcmp(&table, &before, sizeof table), 0, "the table was written on failure");
    cr_assert_eq(facet_cublas_open(candidates, 0, &table), FACET_ERR_CUDA);
    cr_expect(strstr(facet_last_error(), "no candidates"), "%s", facet_last_error());
}
#endif
