/* nn/ on the CPU and the device dispatch (nn/nn.h): matrix products with OpenBLAS cblas_sgemm,
 * everything else OpenMP loops over the per-element functions of nn/nn_ops.h. CUDA contexts go
 * to nn/cuda/nn.cu.
 *
 * All parallelism is OpenMP: each thread calls OpenBLAS on its own part of a product, with
 * OpenBLAS single-threaded for the duration of the op (two thread pools spinning on the same
 * cores cost 2-4x). The previous OpenBLAS thread count is restored after each op. */
#include "nn/nn.h"

#include "core/alloc.h"
#include "core/parallel.h"
#include "nn/nn_internal.h"
#include "nn/nn_ops.h"

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

/* Query rows per attention task (each thread's score buffer holds this many rows of keys). */
enum { ATTENTION_ROWS = 64, LINEAR_ROWS = 32 };

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
    nn->precision = device == FACET_NN_CUDA ? precision : FACET_NN_FP32;
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
    free(nn);
}

/* Per-thread score rows for attention over `len` keys. */
static facet_status cpu_reserve_scores(facet_nn *nn, int len) {
    const size_t rows = len < ATTENTION_ROWS ? (size_t)len : ATTENTION_ROWS;
    const size_t need = rows * (size_t)len;
    if (need <= nn->score_floats) return FACET_OK;
    free(nn->scores);
    nn->scores = NULL;
    nn->score_floats = 0;
    void *p = NULL;
    const size_t bytes = (size_t)nn->threads * need * sizeof(float);
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        return facet_fail(FACET_ERR_OUT_OF_MEMORY,
                          "nn: cannot allocate %zu bytes of attention "
                          "scores",
                          bytes);
    nn->scores = p;
    nn->score_floats = need;
    return FACET_OK;
}

facet_status facet_nn_reserve(facet_nn *nn, int heads, int len, size_t operand_elems) {
    if (nn->device == FACET_NN_CUDA) return facet_nn_cuda_reserve(nn, heads, len, operand_elems);
    return cpu_reserve_scores(nn, len);
}

facet_status facet_nn_params(facet_nn *nn, const float *params, size_t count) {
    if (nn->device == FACET_NN_CUDA) return facet_nn_cuda_params(nn, params, count);
    return FACET_OK;
}

size_t facet_nn_memory_bytes(const facet_nn *nn) {
    if (nn->device == FACET_NN_CUDA) return facet_nn_cuda_memory_bytes(nn);
    return (size_t)nn->threads * nn->score_floats * sizeof(float);
}

/* ---- linear --------------------------------------------------------------------------------- */

facet_status facet_nn_linear(facet_nn *nn, const float *x, int rows, int in, const float *w,
                             const float *b, int out, facet_nn_activation act, int accumulate,
                             float *y) {
    if (accumulate && act != FACET_NN_IDENTITY)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "nn linear: a residual (accumulate) takes no activation");
    if (nn->device == FACET_NN_CUDA)
        return facet_nn_cuda_linear(nn, x, rows, in, w, b, out, act, accumulate, y);
    const int tasks = (rows + LINEAR_ROWS - 1) / LINEAR_ROWS;
    const int previous = facet_nn_blas_serial_begin();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nn->threads)
    for (int t = 0; t < tasks; t++) {
        const int r0 = t * LINEAR_ROWS, n = r0 + LINEAR_ROWS <= rows ? LINEAR_ROWS : rows - r0;
        float *yt = y + (size_t)r0 * out;
        /* y = b (+ y), then the product accumulates into it */
        for (int r = 0; r < n; r++) {
            float *yr = yt + (size_t)r * out;
            if (accumulate) {
                if (b)
                    for (int o = 0; o < out; o++) yr[o] += b[o];
            } else if (b) {
                memcpy(yr, b, (size_t)out * sizeof *yr);
            } else {
                memset(yr, 0, (size_t)out * sizeof *yr);
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x + (size_t)r0 * in,
                    in, w, in, 1.0f, yt, out);
        if (act != FACET_NN_IDENTITY)
            for (size_t i = 0; i < (size_t)n * out; i++) yt[i] = facet_nn_activate_one(yt[i], act);
    }
    facet_nn_blas_serial_end(previous);
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

/* ---- attention ------------------------------------------------------------------------------ */

/* Tasks of up to ATTENTION_ROWS query rows of one head of one sequence: scores = scale q k^T
 * into the thread's buffer, softmax per row over the visible keys, then y_h = scores v. */
facet_status facet_nn_attention(facet_nn *nn, const float *qkv, int batch, int len, int width,
                                int heads, int causal, float *y) {
    if (nn->device == FACET_NN_CUDA)
        return facet_nn_cuda_attention(nn, qkv, batch, len, width, heads, causal, y);
    facet_status s = cpu_reserve_scores(nn, len);
    if (s != FACET_OK) return s;
    const int rows = len < ATTENTION_ROWS ? len : ATTENTION_ROWS;
    const int dh = width / heads, ld = 3 * width, per_head = (len + rows - 1) / rows;
    const int tasks = batch * heads * per_head;
    const float scale = 1.0f / sqrtf((float)dh);
    const int previous = facet_nn_blas_serial_begin();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nn->threads)
    for (int t = 0; t < tasks; t++) {
        const int b = t / (heads * per_head), hd = (t / per_head) % heads;
        const int i0 = (t % per_head) * rows, n = i0 + rows <= len ? rows : len - i0;
        const float *q = qkv + (size_t)b * len * ld + (size_t)hd * dh;
        const float *k = q + width, *v = q + 2 * width;
        float *sc = nn->scores + (size_t)facet_thread_index() * nn->score_floats;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, len, dh, scale, q + (size_t)i0 * ld,
                    ld, k, ld, 0.0f, sc, len);
        for (int i = 0; i < n; i++)
            facet_nn_softmax_row(sc + (size_t)i * len, facet_nn_visible_keys(i0 + i, len, causal),
                                 len);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dh, len, 1.0f, sc, len, v, ld,
                    0.0f, y + ((size_t)b * len + i0) * width + (size_t)hd * dh, width);
    }
    facet_nn_blas_serial_end(previous);
    return FACET_OK;
}
