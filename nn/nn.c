/* nn/ on the CPU and the device dispatch (nn/nn.h): linear layers and attention products on
 * nn/gemm.h's kernels (chosen from the CPU at run time), convolution products with OpenBLAS
 * cblas_sgemm, everything else OpenMP loops over the per-element functions of nn/nn_ops.h. CUDA
 * contexts go to nn/cuda/nn.cu.
 *
 * All parallelism is OpenMP: each thread calls OpenBLAS on its own part of a product, with
 * OpenBLAS single-threaded for the duration of the op (two thread pools spinning on the same
 * cores cost 2-4x). The previous OpenBLAS thread count is restored after each op. */
#include "nn/nn.h"

#include "core/alloc.h"
#include "core/parallel.h"
#include "nn/gemm.h"
#include "nn/gemm_bf16.h"
#include "nn/nn_internal.h"
#include "nn/nn_ops.h"

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

/* Query rows per attention task (each thread's score buffer holds this many rows of keys); rows
 * per linear task; columns per panel of a prepared (split) W^T, contiguous so that the products'
 * B tiles read rows 256 bytes apart rather than 4 out bytes; im2col floats per conv2d task (each
 * thread's block: 8 MB) and the fewest output pixels a block holds. */
enum {
    ATTENTION_ROWS = 64,
    LINEAR_ROWS = 64,
    LINEAR_PANEL = 64,
    CONV_BLOCK_FLOATS = 1 << 21,
    CONV_MIN_PIXELS = 64
};

/* 32-bit pairs of a prepared W^T: whole panels */
static size_t prepared_pair_count(int in, int out) {
    const size_t panels = (size_t)(out + LINEAR_PANEL - 1) / LINEAR_PANEL;
    return panels * LINEAR_PANEL * (size_t)facet_bf16_split_row_pairs(in);
}

int facet_nn_blas_serial_begin(void) {
    const int previous = openblas_get_num_threads();
    if (previous != 1) openblas_set_num_threads(1);
    return previous;
}

void facet_nn_blas_serial_end(int previous) {
    if (previous != 1) openblas_set_num_threads(previous);
}

facet_status facet_nn_create(facet_nn **out, facet_nn_device device, facet_nn_precision precision) {
    *out = NULL;
    facet_nn *nn = facet_alloc_zeroed(1, sizeof *nn);
    if (!nn) return facet_last_status();
    nn->device = device;
    nn->precision = device == FACET_NN_CUDA                                   ? precision
                    : precision == FACET_NN_SPLIT && facet_gemm_bf16_native() ? FACET_NN_SPLIT
                                                                              : FACET_NN_FP32;
#ifdef _OPENMP
    nn->threads = omp_get_max_threads();
#else
    nn->threads = 1;
#endif
    if (device == FACET_NN_CUDA) {
        facet_status s = facet_nn_cuda_create(nn);
        if (s != FACET_OK) {
            free(nn);
            return s;
        }
    }
    *out = nn;
    return FACET_OK;
}

void facet_nn_destroy(facet_nn *nn) {
    if (!nn) return;
    if (nn->cuda) facet_nn_cuda_destroy(nn);
    free(nn->scores);
    free(nn->cols);
    free(nn->linear);
    for (int i = 0; i < nn->prepared_count; i++) free(nn->prepared[i].pairs);
    free(nn->prepared);
    free(nn);
}

/* Grows a per-thread workspace (threads x *floats, 64-byte aligned) to `need` floats per thread;
 * `what` names it in the error. */
static facet_status reserve_per_thread(facet_nn *nn, float **buffer, size_t *floats, size_t need,
                                       const char *what) {
    if (need <= *floats) return FACET_OK;
    free(*buffer);
    *buffer = NULL;
    *floats = 0;
    void *p = NULL;
    const size_t bytes = (size_t)nn->threads * need * sizeof(float);
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        return facet_fail(FACET_ERR_OUT_OF_MEMORY, "nn: cannot allocate %zu bytes of %s", bytes,
                          what);
    *buffer = p;
    *floats = need;
    return FACET_OK;
}

/* Per-thread attention blocks over `len` keys of `dh` channels per head: score rows
 * [ATTENTION_ROWS, len] and the head's keys transposed, K^T [dh, len]. */
static facet_status cpu_reserve_scores(facet_nn *nn, int len, int dh) {
    const size_t rows = len < ATTENTION_ROWS ? (size_t)len : ATTENTION_ROWS;
    return reserve_per_thread(nn, &nn->scores, &nn->score_floats, (rows + (size_t)dh) * len,
                              "attention blocks");
}

facet_status facet_nn_reserve(facet_nn *nn, int heads, int len, int width, size_t operand_elems) {
    if (nn->device == FACET_NN_CUDA) return facet_nn_cuda_reserve(nn, heads, len, operand_elems);
    return cpu_reserve_scores(nn, len, heads > 0 ? width / heads : 0);
}

facet_status facet_nn_params(facet_nn *nn, const float *params, size_t count) {
    if (nn->device == FACET_NN_CUDA) return facet_nn_cuda_params(nn, params, count);
    return FACET_OK;
}

size_t facet_nn_memory_bytes(const facet_nn *nn) {
    if (nn->device == FACET_NN_CUDA) return facet_nn_cuda_memory_bytes(nn);
    size_t prepared = 0;
    for (int i = 0; i < nn->prepared_count; i++)
        prepared += prepared_pair_count(nn->prepared[i].in, nn->prepared[i].out) * sizeof(uint32_t);
    return (size_t)nn->threads * (nn->score_floats + nn->col_floats + nn->linear_floats) *
               sizeof(float) +
           prepared;
}

/* ---- linear --------------------------------------------------------------------------------- */

/* Per-thread blocks of the CPU linear layer: X^T [in, LINEAR_ROWS] and (W X^T) [out, LINEAR_ROWS],
 * then (split products) X^T as split pairs, [2 ceil(in / 2), LINEAR_ROWS]. */
static facet_status cpu_reserve_linear(facet_nn *nn, int in, int out, int split) {
    const size_t pairs = split ? (size_t)facet_bf16_split_row_pairs(in) : 0;
    return reserve_per_thread(nn, &nn->linear, &nn->linear_floats,
                              (size_t)LINEAR_ROWS * ((size_t)in + (size_t)out + pairs),
                              "linear blocks");
}

facet_status facet_nn_prepare_linear(facet_nn *nn, const float *w, int in, int out) {
    if (nn->device != FACET_NN_CPU || nn->precision != FACET_NN_SPLIT) return FACET_OK;
    if (in < 1 || out < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "nn prepare_linear: shape [%d, %d]", out, in);
    if (nn->prepared_count == nn->prepared_capacity) {
        const int capacity = nn->prepared_capacity ? 2 * nn->prepared_capacity : 16;
        facet_nn_split_linear *grown =
            realloc(nn->prepared, (size_t)capacity * sizeof *nn->prepared);
        if (!grown) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "nn prepare_linear: out of memory");
        nn->prepared = grown, nn->prepared_capacity = capacity;
    }
    /* W^T [in, out] as B's split pairs in panels of LINEAR_PANEL columns */
    const size_t panel_pairs = (size_t)facet_bf16_split_row_pairs(in) * LINEAR_PANEL;
    const int panels = (out + LINEAR_PANEL - 1) / LINEAR_PANEL;
    float *wt = facet_alloc((size_t)in * out, sizeof *wt);
    uint32_t *pairs = wt ? facet_alloc(prepared_pair_count(in, out), sizeof *pairs) : NULL;
    if (!pairs) {
        free(wt);
        return facet_last_status();
    }
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++) wt[(size_t)i * out + o] = w[(size_t)o * in + i];
    for (int p = 0; p < panels; p++) {
        const int o0 = p * LINEAR_PANEL, cols = out - o0 < LINEAR_PANEL ? out - o0 : LINEAR_PANEL;
        facet_bf16_pack_b_split(wt + o0, out, in, cols, pairs + p * panel_pairs, LINEAR_PANEL);
    }
    free(wt);
    nn->prepared[nn->prepared_count++] = (facet_nn_split_linear){w, in, out, pairs};
    return FACET_OK;
}

/* The split pack of w [out, in], or NULL when none was prepared. */
static const uint32_t *prepared_pairs(const facet_nn *nn, const float *w, int in, int out) {
    for (int i = 0; i < nn->prepared_count; i++)
        if (nn->prepared[i].w == w && nn->prepared[i].in == in && nn->prepared[i].out == out)
            return nn->prepared[i].pairs;
    return NULL;
}

/* One output row of a linear layer from its product row xw [out]: y = act(xw + b), or
 * y += xw + b (accumulate, no activation); b may be NULL. */
static void linear_row_epilogue(const float *xw, const float *b, int out, facet_nn_activation act,
                                int accumulate, float *y) {
    if (accumulate)
        for (int o = 0; o < out; o++) y[o] += xw[o] + (b ? b[o] : 0.0f);
    else if (act == FACET_NN_IDENTITY)
        for (int o = 0; o < out; o++) y[o] = xw[o] + (b ? b[o] : 0.0f);
    else if (act == FACET_NN_GELU)
        for (int o = 0; o < out; o++) y[o] = facet_nn_gelu(xw[o] + (b ? b[o] : 0.0f));
    else
        for (int o = 0; o < out; o++) y[o] = facet_nn_activate_one(xw[o] + (b ? b[o] : 0.0f), act);
}

facet_status facet_nn_linear(facet_nn *nn, const float *x, int rows, int in, const float *w,
                             const float *b, int out, facet_nn_activation act, int accumulate,
                             float *y) {
    if (accumulate && act != FACET_NN_IDENTITY)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "nn linear: a residual (accumulate) takes no activation");
    if (nn->device == FACET_NN_CUDA)
        return facet_nn_cuda_linear(nn, x, rows, in, w, b, out, act, accumulate, y);
    const uint32_t *w_pairs = prepared_pairs(nn, w, in, out);
    facet_status s = cpu_reserve_linear(nn, in, out, w_pairs != NULL);
    if (s != FACET_OK) return s;
    const int tasks = (rows + LINEAR_ROWS - 1) / LINEAR_ROWS;
    /* per task of n rows:
     * - float32: (W X^T) [out, n] = W [out, in] X^T [in, n] on nn/gemm.h's kernels (the weights
     *   read in place), then y = (W X^T)^T + b (+ y), activated;
     * - split (prepared W): (X W^T) [n, out] = X [n, in] W^T [in, out], X's rows packed as A
     *   (no transposes), then y = X W^T + b (+ y), activated, along contiguous rows.
     * Both apply the same per-element bias, activation and residual. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nn->threads)
    for (int t = 0; t < tasks; t++) {
        const int r0 = t * LINEAR_ROWS, n = r0 + LINEAR_ROWS <= rows ? LINEAR_ROWS : rows - r0;
        float *xt = nn->linear + (size_t)facet_thread_index() * nn->linear_floats;
        float *wx = xt + (size_t)in * LINEAR_ROWS;
        if (w_pairs) {
            uint32_t *xp = (uint32_t *)(wx + (size_t)out * LINEAR_ROWS);
            const int stride = facet_bf16_split_row_pairs(in);
            facet_bf16_pack_a_split(x + (size_t)r0 * in, in, n, in, xp, stride);
            const size_t panel_pairs = (size_t)stride * LINEAR_PANEL;
            for (int o0 = 0; o0 < out; o0 += LINEAR_PANEL)
                facet_gemm_bf16_split(xp, stride, n, (in + 1) / 2,
                                      w_pairs + o0 / LINEAR_PANEL * panel_pairs, LINEAR_PANEL,
                                      out - o0 < LINEAR_PANEL ? out - o0 : LINEAR_PANEL, wx + o0,
                                      out, 0);
            for (int r = 0; r < n; r++)
                linear_row_epilogue(wx + (size_t)r * out, b, out, act, accumulate,
                                    y + (size_t)(r0 + r) * out);
            continue;
        }
        for (int r = 0; r < n; r++) {
            const float *xr = x + (size_t)(r0 + r) * in;
            for (int i = 0; i < in; i++) xt[(size_t)i * n + r] = xr[i];
        }
        facet_gemm(w, in, out, in, xt, n, n, wx, n, 0);
        /* bias and activation along wx's contiguous rows (they vectorise), then the transpose */
        for (int o = 0; o < out; o++) {
            float *row = wx + (size_t)o * n;
            const float bias = b ? b[o] : 0.0f;
            if (act == FACET_NN_IDENTITY)
                for (int r = 0; r < n; r++) row[r] += bias;
            else if (act == FACET_NN_GELU) /* the one the models use: its own loop vectorises */
                for (int r = 0; r < n; r++) row[r] = facet_nn_gelu(row[r] + bias);
            else
                for (int r = 0; r < n; r++) row[r] = facet_nn_activate_one(row[r] + bias, act);
        }
        for (int r = 0; r < n; r++) {
            float *yr = y + (size_t)(r0 + r) * out;
            if (accumulate)
                for (int o = 0; o < out; o++) yr[o] += wx[(size_t)o * n + r];
            else
                for (int o = 0; o < out; o++) yr[o] = wx[(size_t)o * n + r];
        }
    }
    return FACET_OK;
}

/* ---- LayerNorm ------------------------------------------------------------------------------ */

facet_status facet_nn_layer_norm(facet_nn *nn, const float *x, const float *residual, int rows,
                                 int n, const float *gamma, const float *beta, float eps,
                                 float *y) {
    if (nn->device == FACET_NN_CUDA)
        return facet_nn_cuda_layer_norm(nn, x, residual, rows, n, gamma, beta, eps, y);
#pragma omp parallel for schedule(static) num_threads(nn->threads)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * n, *rr = residual ? residual + (size_t)r * n : NULL;
        float *yr = y + (size_t)r * n;
        double sum = 0.0;
        for (int i = 0; i < n; i++) sum += facet_nn_norm_input(xr, rr, i);
        const double mean = sum / n;
        double ss = 0.0;
        for (int i = 0; i < n; i++) {
            const float v = facet_nn_norm_input(xr, rr, i);
            ss += (v - mean) * (v - mean);
        }
        const float fmean = (float)mean, var = (float)(ss / n);
        for (int i = 0; i < n; i++) {
            float scale, shift;
            facet_nn_norm_coefficients(fmean, var, eps, gamma[i], beta[i], &scale, &shift);
            yr[i] = facet_nn_norm_apply(facet_nn_norm_input(xr, rr, i), scale, shift);
        }
    }
    return FACET_OK;
}

/* ---- activations and softmax ---------------------------------------------------------------- */

facet_status facet_nn_softmax(facet_nn *nn, float *x, int rows, int n) {
    if (nn->device == FACET_NN_CUDA) return facet_nn_cuda_softmax(nn, x, rows, n);
#pragma omp parallel for schedule(static) num_threads(nn->threads)
    for (int r = 0; r < rows; r++) facet_nn_softmax_row(x + (size_t)r * n, n, n);
    return FACET_OK;
}

/* ---- conv2d and max pooling ---------------------------------------------------------------- */

facet_status facet_nn_window_output(const facet_nn_window *win, int h, int w, int *oh, int *ow,
                                    const char *what) {
    *oh = *ow = 0;
    if (win->kernel_h < 1 || win->kernel_w < 1 || win->stride_h < 1 || win->stride_w < 1 ||
        win->pad_h < 0 || win->pad_w < 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "%s: kernel %dx%d, stride %dx%d, padding %dx%d (rows x columns): "
                          "kernels and strides must be at least 1, padding at least 0",
                          what, win->kernel_h, win->kernel_w, win->stride_h, win->stride_w,
                          win->pad_h, win->pad_w);
    const int rows = facet_nn_window_out(h, win->kernel_h, win->stride_h, win->pad_h);
    const int cols = facet_nn_window_out(w, win->kernel_w, win->stride_w, win->pad_w);
    if (h < 1 || w < 1 || rows < 1 || cols < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "%s: a %dx%d window (padding %dx%d) does not fit an input of %d rows "
                          "and %d columns",
                          what, win->kernel_h, win->kernel_w, win->pad_h, win->pad_w, h, w);
    *oh = rows;
    *ow = cols;
    return FACET_OK;
}

/* 1 when the convolution multiplies its input directly: a 1x1 kernel, stride 1, no padding. */
static int conv_is_pointwise(const facet_nn_window *win) {
    return win->kernel_h == 1 && win->kernel_w == 1 && win->stride_h == 1 && win->stride_w == 1 &&
           win->pad_h == 0 && win->pad_w == 0;
}

/* Output pixels per conv2d task for im2col rows of `k` floats. */
static size_t conv_block_pixels(size_t k, size_t pixels) {
    size_t block = CONV_BLOCK_FLOATS / k;
    if (block < CONV_MIN_PIXELS) block = CONV_MIN_PIXELS;
    return block < pixels ? block : pixels;
}

/* Per-thread im2col blocks of `floats` floats. */
static facet_status cpu_reserve_cols(facet_nn *nn, size_t floats) {
    return reserve_per_thread(nn, &nn->cols, &nn->col_floats, floats, "conv2d im2col blocks");
}

/* cols [k, count] = the im2col columns p0 .. p0 + count of image x [in, h, w]: per row of the
 * matrix and output row, the source row once (facet_nn_window_source), then the source columns:
 * with stride 1 they are the contiguous run ox - pad + j of the source row, copied whole, zeros
 * where window_source says padding (ox < pad - j or ox >= w + pad - j); otherwise one by one. */
static void im2col_block(const float *x, int in, int h, int w, const facet_nn_window *win, int ow,
                         size_t p0, size_t count, float *cols) {
    float *dst = cols;
    for (int c = 0; c < in; c++)
        for (int i = 0; i < win->kernel_h; i++)
            for (int j = 0; j < win->kernel_w; j++)
                for (size_t p = p0; p < p0 + count;) {
                    const int oy = (int)(p / (size_t)ow), ox0 = (int)(p % (size_t)ow);
                    const int ox1 =
                        p0 + count - p < (size_t)(ow - ox0) ? ox0 + (int)(p0 + count - p) : ow;
                    const int y = facet_nn_window_source(oy, i, win->stride_h, win->pad_h, h);
                    const float *row = x + ((size_t)c * h + (y < 0 ? 0 : y)) * w;
                    if (y < 0) {
                        memset(dst, 0, (size_t)(ox1 - ox0) * sizeof *dst);
                    } else if (win->stride_w == 1) {
                        const int shift = j - win->pad_w; /* source column = ox + shift */
                        const int lo = ox0 > -shift ? ox0 : -shift;
                        const int hi = ox1 < w - shift ? ox1 : w - shift;
                        int ox = ox0;
                        for (; ox < lo && ox < ox1; ox++) dst[ox - ox0] = 0.0f;
                        if (hi > ox) {
                            memcpy(dst + (ox - ox0), row + ox + shift,
                                   (size_t)(hi - ox) * sizeof *dst);
                            ox = hi;
                        }
                        for (; ox < ox1; ox++) dst[ox - ox0] = 0.0f;
                    } else {
                        for (int ox = ox0; ox < ox1; ox++) {
                            const int xx =
                                facet_nn_window_source(ox, j, win->stride_w, win->pad_w, w);
                            dst[ox - ox0] = xx < 0 ? 0.0f : row[xx];
                        }
                    }
                    dst += ox1 - ox0;
                    p += (size_t)(ox1 - ox0);
                }
}

/* Tasks of up to `block` output pixels of one image: y = b, im2col of the block (unless
 * pointwise), y_block [out, count] += W [out, k] cols [k, count] (rows of y strided by oh ow),
 * then the activation. */
facet_status facet_nn_conv2d(facet_nn *nn, const float *x, int batch, int in, int h, int w,
                             const float *weight, const float *bias, int out,
                             const facet_nn_window *window, facet_nn_activation act, float *y) {
    int oh, ow;
    facet_status s = facet_nn_window_output(window, h, w, &oh, &ow, "nn conv2d");
    if (s != FACET_OK) return s;
    if (batch < 1 || in < 1 || out < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "nn conv2d: batch %d, %d input and %d output channels: each must be at "
                          "least 1",
                          batch, in, out);
    if (nn->device == FACET_NN_CUDA)
        return facet_nn_cuda_conv2d(nn, x, batch, in, h, w, weight, bias, out, window, oh, ow, act,
                                    y);
    const size_t k = (size_t)in * window->kernel_h * window->kernel_w;
    const size_t pixels = (size_t)oh * ow, block = conv_block_pixels(k, pixels);
    const int pointwise = conv_is_pointwise(window);
    if (!pointwise && (s = cpu_reserve_cols(nn, k * block)) != FACET_OK) return s;
    const long long per_image = (long long)((pixels + block - 1) / block);
    const long long tasks = per_image * batch;
    const int previous = facet_nn_blas_serial_begin();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nn->threads)
    for (long long t = 0; t < tasks; t++) {
        const int n = (int)(t / per_image);
        const size_t p0 = (size_t)(t % per_image) * block;
        const size_t count = p0 + block <= pixels ? block : pixels - p0;
        const float *xn = x + (size_t)n * in * h * w;
        float *yt = y + (size_t)n * out * pixels + p0;
        for (int o = 0; o < out; o++)
            for (size_t q = 0; q < count; q++) yt[o * pixels + q] = bias ? bias[o] : 0.0f;
        const float *b = xn + p0;
        size_t ldb = pixels;
        if (!pointwise) {
            float *cols = nn->cols + (size_t)facet_thread_index() * nn->col_floats;
            im2col_block(xn, in, h, w, window, ow, p0, count, cols);
            b = cols;
            ldb = count;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, (int)count, (int)k, 1.0f,
                    weight, (int)k, b, (int)ldb, 1.0f, yt, (int)pixels);
        if (act != FACET_NN_IDENTITY)
            for (int o = 0; o < out; o++)
                for (size_t q = 0; q < count; q++)
                    yt[o * pixels + q] = facet_nn_activate_one(yt[o * pixels + q], act);
    }
    facet_nn_blas_serial_end(previous);
    return FACET_OK;
}

facet_status facet_nn_max_pool2d(facet_nn *nn, const float *x, int planes, int h, int w,
                                 const facet_nn_window *window, float *y) {
    int oh, ow;
    facet_status s = facet_nn_window_output(window, h, w, &oh, &ow, "nn max_pool2d");
    if (s != FACET_OK) return s;
    if (2 * window->pad_h > window->kernel_h || 2 * window->pad_w > window->kernel_w)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "nn max_pool2d: padding %dx%d is more than half the %dx%d window",
                          window->pad_h, window->pad_w, window->kernel_h, window->kernel_w);
    if (planes < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "nn max_pool2d: %d planes", planes);
    if (nn->device == FACET_NN_CUDA)
        return facet_nn_cuda_max_pool2d(nn, x, planes, h, w, window, oh, ow, y);
    const long long rows = (long long)planes * oh;
#pragma omp parallel for schedule(static) num_threads(nn->threads)
    for (long long r = 0; r < rows; r++) {
        const float *plane = x + (size_t)(r / oh) * h * w;
        float *yr = y + (size_t)r * ow;
        for (int ox = 0; ox < ow; ox++)
            yr[ox] = facet_nn_max_pool_element(plane, h, w, *window, (int)(r % oh), ox);
    }
    return FACET_OK;
}

/* ---- attention ------------------------------------------------------------------------------ */

/* Tasks of up to ATTENTION_ROWS query rows of one head of one sequence: scores = scale q k^T
 * into the thread's buffer, softmax per row over the visible keys, then y_h = scores v. */
facet_status facet_nn_attention(facet_nn *nn, const float *qkv, int batch, int len, int width,
                                int heads, int causal, float *y) {
    if (nn->device == FACET_NN_CUDA)
        return facet_nn_cuda_attention(nn, qkv, batch, len, width, heads, causal, y);
    const int dh = width / heads, ld = 3 * width;
    facet_status s = cpu_reserve_scores(nn, len, dh);
    if (s != FACET_OK) return s;
    const int rows = len < ATTENTION_ROWS ? len : ATTENTION_ROWS, tasks = batch * heads;
    const float scale = 1.0f / sqrtf((float)dh);
    /* per task one head: K^T once, then per block of `rows` queries S = (Q K^T) scale, softmax,
     * Y = S V on nn/gemm.h */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nn->threads)
    for (int t = 0; t < tasks; t++) {
        const int b = t / heads, hd = t % heads;
        const float *q = qkv + (size_t)b * len * ld + (size_t)hd * dh;
        const float *k = q + width, *v = q + 2 * width;
        float *sc = nn->scores + (size_t)facet_thread_index() * nn->score_floats;
        float *kt = sc + (size_t)rows * len;
        for (int j = 0; j < len; j++)
            for (int c = 0; c < dh; c++) kt[(size_t)c * len + j] = k[(size_t)j * ld + c];
        for (int i0 = 0; i0 < len; i0 += rows) {
            const int n = i0 + rows <= len ? rows : len - i0;
            facet_gemm(q + (size_t)i0 * ld, ld, n, dh, kt, len, len, sc, len, 0);
            for (int i = 0; i < n; i++) {
                float *row = sc + (size_t)i * len;
                for (int j = 0; j < len; j++) row[j] *= scale;
                facet_nn_softmax_row(row, facet_nn_visible_keys(i0 + i, len, causal), len);
            }
            facet_gemm(sc, len, n, len, v, ld, dh,
                       y + ((size_t)b * len + i0) * width + (size_t)hd * dh, width, 0);
        }
    }
    return FACET_OK;
}
