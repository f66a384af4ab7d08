/* nn/ on CUDA (nn/nn.h): matrix products with cuBLAS (fp32, TF32 tensor cores, or BF16 tensor
 * cores with fp32 accumulation), own kernels for the rest, all on the per-element functions of
 * nn/nn_ops.h that the CPU (nn/nn.c) uses:
 * - linear: the output pre-filled with the bias (+ itself when accumulating), one product with
 *   beta 1, then the activation;
 * - LayerNorm: one warp per row (float statistics, two passes); softmax: one block per row;
 * - attention: per sequence, one strided batched product over heads for the scores, a softmax
 *   over the visible keys, one for the output;
 * - conv2d: the output pre-filled with the bias, then per block of output pixels an im2col kernel
 *   (one thread per element) and one product with beta 1 (a pointwise kernel multiplies the input
 *   directly), then the activation; max pooling: one thread per output.
 * Row-major products map to column-major cuBLAS as C^T = B^T A^T. In BF16 mode the weights are
 * converted once (facet_nn_params), activations on the fly before each product. */
#include "core/cuda/check.h"
#include "core/cuda/launch.h"
#include "nn/cuda/block_reduce.cuh"
#include "nn/cuda/cublas_loader.h"
#include "nn/cuda/nn_cuda.h"
#include "nn/nn_internal.h"
#include "nn/nn_ops.h"

#include <cuda_bf16.h>
#include <stdlib.h>
#include <string.h>

struct facet_nn_cuda {
    const facet_cublas *cublas; /* opened on the first context (nn/cuda/cublas_loader.h) */
    cublasHandle_t blas;
    const float *params; /* the fp32 weights (for bf16 pointer translation) */
    size_t param_count;
    __nv_bfloat16 *params16; /* BF16 mode: the weights in bf16 */
    size_t params16_elems;
    __nv_bfloat16 *operand16[2];
    size_t operand_elems;
    float *scores; /* attention scores of one sequence: [heads, len, len] */
    size_t score_elems;
    float *cols; /* conv2d: one im2col block [k, pixels] */
    size_t col_elems;
    size_t allocated; /* bytes of the buffers above */
};

namespace {

#define CUBLAS_CHECK(call)                                                                         \
    do {                                                                                           \
        cublasStatus_t facet_cublas_status_ = (call);                                              \
        if (facet_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                         \
            return facet_fail(FACET_ERR_CUDA, "%s:%d: %s: cuBLAS status %d", __FILE__, __LINE__,   \
                              #call, (int)facet_cublas_status_);                                   \
    } while (0)

#define LAUNCH_CHECK() FACET_CUDA_CHECK(cudaGetLastError())

const int THREADS = 256;
/* Elements of a conv2d im2col block on the device (128 MB), and its fewest output pixels. */
const size_t CONV_BLOCK_ELEMS = (size_t)1 << 25;
const size_t CONV_MIN_PIXELS = 64;

unsigned blocks_for(size_t n) {
    size_t b = (n + THREADS - 1) / THREADS;
    return (unsigned)(b > 65535 * 16 ? 65535 * 16 : b);
}

/* Replaces *buffer by one of `elems` elements of `size` bytes when it holds fewer. */
facet_status grow(facet_nn_cuda *c, void **buffer, size_t *have, size_t elems, size_t size) {
    if (elems <= *have) return FACET_OK;
    if (*buffer) {
        FACET_CUDA_CHECK(cudaFree(*buffer));
        c->allocated -= *have * size;
    }
    *buffer = NULL;
    *have = 0;
    FACET_CUDA_CHECK(cudaMalloc(buffer, elems * size));
    *have = elems;
    c->allocated += elems * size;
    return FACET_OK;
}

facet_status grow_operands(facet_nn_cuda *c, size_t elems) {
    if (elems <= c->operand_elems) return FACET_OK;
    for (int i = 0; i < 2; i++) {
        size_t have = c->operand_elems;
        facet_status s = grow(c, (void **)&c->operand16[i], &have, elems, sizeof(__nv_bfloat16));
        if (s != FACET_OK) return s;
    }
    c->operand_elems = elems;
    return FACET_OK;
}

__global__ void to_bf16_kernel(const float *x, size_t n, __nv_bfloat16 *y) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = __float2bfloat16(x[i]);
}

/* y [rows, out] = b (0 without b), plus y when accumulating. */
__global__ void linear_init_kernel(float *y, const float *bias, size_t rows, int out,
                                   int accumulate) {
    const size_t n = rows * out;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = (accumulate ? y[i] : 0.0f) + (bias ? bias[i % out] : 0.0f);
}

__global__ void activate_kernel(float *y, size_t n, int act) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = facet_nn_activate_one(y[i], act);
}

__device__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

/* One warp per row of x (+ residual) [rows, n]: mean, biased variance (two passes), affine. */
__global__ void layer_norm_kernel(const float *x, const float *residual, int rows, int n,
                                  const float *gamma, const float *beta, float eps, float *y) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return;
    const float *xr = x + (size_t)row * n;
    const float *rr = residual ? residual + (size_t)row * n : NULL;
    float s = 0.0f;
    for (int i = lane; i < n; i += 32) s += facet_nn_norm_input(xr, rr, i);
    const float mean = warp_sum(s) / (float)n;
    float ss = 0.0f;
    for (int i = lane; i < n; i += 32) {
        const float v = facet_nn_norm_input(xr, rr, i);
        ss += (v - mean) * (v - mean);
    }
    const float var = warp_sum(ss) / (float)n;
    for (int i = lane; i < n; i += 32) {
        float scale, shift;
        facet_nn_norm_coefficients(mean, var, eps, gamma[i], beta[i], &scale, &shift);
        y[(size_t)row * n + i] = facet_nn_norm_apply(facet_nn_norm_input(xr, rr, i), scale, shift);
    }
}

/* One block per row of s [rows, n], in place; row r is query r % len of its sequence and head
 * (len = n): with `causal` it sees keys 0..r % n, the others become 0. */
__global__ void softmax_kernel(float *s, int n, int causal) {
    __shared__ float shared[32];
    float *row = s + (size_t)blockIdx.x * n;
    const int valid = facet_nn_visible_keys((int)(blockIdx.x % (unsigned)n), n, causal);
    float max = -INFINITY;
    for (int j = threadIdx.x; j < valid; j += blockDim.x) max = fmaxf(max, row[j]);
    max = facet_block_reduce(max, true, shared);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < valid; j += blockDim.x) {
        const float e = facet_nn_softmax_term(row[j], max);
        row[j] = e;
        sum += e;
    }
    sum = facet_block_reduce(sum, false, shared);
    const float inv = 1.0f / sum;
    for (int j = threadIdx.x; j < valid; j += blockDim.x) row[j] *= inv;
    for (int j = valid + threadIdx.x; j < n; j += blockDim.x) row[j] = 0.0f;
}

/* y [batch, out, pixels] = bias[o] (0 without bias). */
__global__ void conv_bias_kernel(float *y, const float *bias, int out, size_t pixels, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = bias ? bias[(i / pixels) % (size_t)out] : 0.0f;
}

/* cols [k, count] = the im2col columns p0 .. p0 + count of image x [in, h, w] (k = in kh kw). */
__global__ void im2col_kernel(const float *x, int h, int w, facet_nn_window win, int ow, size_t p0,
                              size_t count, size_t n, float *cols) {
    const int taps = win.kernel_h * win.kernel_w;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n;
         e += (size_t)gridDim.x * blockDim.x) {
        const size_t row = e / count, p = p0 + e % count;
        const int c = (int)(row / taps), tap = (int)(row % taps);
        cols[e] = facet_nn_im2col_element(x, h, w, win, c, tap / win.kernel_w, tap % win.kernel_w,
                                          (int)(p / ow), (int)(p % ow));
    }
}

/* y [planes, oh, ow]: one thread per output. */
__global__ void max_pool_kernel(const float *x, int h, int w, facet_nn_window win, int oh, int ow,
                                size_t n, float *y) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t plane = i / ((size_t)oh * ow), at = i % ((size_t)oh * ow);
        y[i] =
            facet_nn_max_pool_element(x + plane * h * w, h, w, win, (int)(at / ow), (int)(at % ow));
    }
}

} // namespace

/* ---- products ----------------------------------------------------------------------------- */

facet_status facet_nn_cuda_operand(facet_nn *nn, const float *p, size_t count, int slot,
                                   const void **out) {
    facet_nn_cuda *c = nn->cuda;
    if (nn->precision != FACET_NN_BF16) {
        *out = p;
        return FACET_OK;
    }
    if (c->params16 && p >= c->params && p < c->params + c->param_count) {
        *out = c->params16 + (p - c->params);
        return FACET_OK;
    }
    facet_status s = grow_operands(c, count);
    if (s != FACET_OK) return s;
    FACET_LAUNCH(to_bf16_kernel, blocks_for(count), THREADS)(p, count, c->operand16[slot]);
    LAUNCH_CHECK();
    *out = c->operand16[slot];
    return FACET_OK;
}

size_t facet_nn_cuda_operand_bytes(const facet_nn *nn) {
    return nn->precision == FACET_NN_BF16 ? sizeof(__nv_bfloat16) : sizeof(float);
}

facet_status facet_nn_cuda_gemm(facet_nn *nn, bool trans_a, bool trans_b, int m, int n, int k,
                                float alpha, const void *a, int lda, long long stride_a,
                                const void *b, int ldb, long long stride_b, float beta, float *out,
                                int ldc, long long stride_c, int batch) {
    const bool bf16 = nn->precision == FACET_NN_BF16;
    const cudaDataType_t type = bf16 ? CUDA_R_16BF : CUDA_R_32F;
    const cublasComputeType_t compute =
        nn->precision == FACET_NN_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    /* column-major: C^T [n, m] = op(B)^T [n, k] op(A)^T [k, m] */
    CUBLAS_CHECK(nn->cuda->cublas->gemm_strided_batched_ex(
        nn->cuda->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n,
        m, k, &alpha, b, type, ldb, stride_b, a, type, lda, stride_a, &beta, out, CUDA_R_32F, ldc,
        stride_c, batch, compute, CUBLAS_GEMM_DEFAULT));
    return FACET_OK;
}

/* ---- the context -------------------------------------------------------------------------- */

extern "C" facet_status facet_nn_cuda_create(facet_nn *nn) {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0)
        return facet_fail(FACET_ERR_CUDA, "nn: no usable CUDA device");
    facet_nn_cuda *c = (facet_nn_cuda *)calloc(1, sizeof *c);
    if (!c) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    facet_status s = facet_cublas_get(&c->cublas);
    if (s != FACET_OK) {
        free(c);
        return facet_error_context("nn");
    }
    const facet_cublas *cublas = c->cublas;
    const cublasStatus_t created = cublas->create(&c->blas);
    if (created != CUBLAS_STATUS_SUCCESS) {
        free(c);
        return facet_fail(FACET_ERR_CUDA, "nn: cannot create a cuBLAS handle (%s, status %d)",
                          cublas->path, (int)created);
    }
    nn->cuda = c;
    return FACET_OK;
}

extern "C" void facet_nn_cuda_destroy(facet_nn *nn) {
    facet_nn_cuda *c = nn->cuda;
    if (!c) return;
    cudaFree(c->params16);
    cudaFree(c->operand16[0]);
    cudaFree(c->operand16[1]);
    cudaFree(c->scores);
    cudaFree(c->cols);
    if (c->blas) c->cublas->destroy(c->blas);
    free(c);
    nn->cuda = NULL;
}

extern "C" facet_status facet_nn_cuda_reserve(facet_nn *nn, int heads, int len,
                                              size_t operand_elems) {
    facet_nn_cuda *c = nn->cuda;
    const size_t scores = (size_t)(heads > 1 ? heads : 1) * len * len;
    facet_status s = grow(c, (void **)&c->scores, &c->score_elems, scores, sizeof(float));
    if (s == FACET_OK && nn->precision == FACET_NN_BF16)
        s = grow_operands(c, operand_elems > scores ? operand_elems : scores);
    return s;
}

extern "C" facet_status facet_nn_cuda_params(facet_nn *nn, const float *params, size_t count) {
    facet_nn_cuda *c = nn->cuda;
    c->params = params;
    c->param_count = count;
    if (nn->precision != FACET_NN_BF16) return FACET_OK;
    facet_status s = grow(c, (void **)&c->params16, &c->params16_elems, count ? count : 1,
                          sizeof(__nv_bfloat16));
    if (s != FACET_OK) return s;
    FACET_LAUNCH(to_bf16_kernel, blocks_for(count), THREADS)(params, count, c->params16);
    LAUNCH_CHECK();
    return FACET_OK;
}

extern "C" size_t facet_nn_cuda_memory_bytes(const facet_nn *nn) {
    return nn->cuda->allocated;
}

/* ---- ops ---------------------------------------------------------------------------------- */

extern "C" facet_status facet_nn_cuda_linear(facet_nn *nn, const float *x, int rows, int in,
                                             const float *w, const float *b, int out,
                                             facet_nn_activation act, int accumulate, float *y) {
    const size_t n = (size_t)rows * out;
    FACET_LAUNCH(linear_init_kernel, blocks_for(n), THREADS)(y, b, (size_t)rows, out, accumulate);
    LAUNCH_CHECK();
    const void *xs, *ws;
    facet_status s = facet_nn_cuda_operand(nn, x, (size_t)rows * in, 1, &xs);
    if (s == FACET_OK) s = facet_nn_cuda_operand(nn, w, (size_t)out * in, 0, &ws);
    if (s == FACET_OK)
        s = facet_nn_cuda_gemm(nn, false, true, rows, out, in, 1.0f, xs, in, 0, ws, in, 0, 1.0f, y,
                               out, 0, 1);
    if (s != FACET_OK) return s;
    if (act != FACET_NN_IDENTITY) {
        FACET_LAUNCH(activate_kernel, blocks_for(n), THREADS)(y, n, (int)act);
        LAUNCH_CHECK();
    }
    return FACET_OK;
}

extern "C" facet_status facet_nn_cuda_layer_norm(facet_nn *nn, const float *x,
                                                 const float *residual, int rows, int n,
                                                 const float *gamma, const float *beta, float eps,
                                                 float *y) {
    (void)nn;
    const int warps = THREADS / 32;
    FACET_LAUNCH(layer_norm_kernel, (rows + warps - 1) / warps, THREADS)
    (x, residual, rows, n, gamma, beta, eps, y);
    LAUNCH_CHECK();
    return FACET_OK;
}

extern "C" facet_status facet_nn_cuda_softmax(facet_nn *nn, float *x, int rows, int n) {
    (void)nn;
    if (rows == 0) return FACET_OK;
    FACET_LAUNCH(softmax_kernel, rows, THREADS)(x, n, 0);
    LAUNCH_CHECK();
    return FACET_OK;
}

extern "C" facet_status facet_nn_cuda_attention(facet_nn *nn, const float *qkv, int batch, int len,
                                                int width, int heads, int causal, float *y) {
    facet_nn_cuda *c = nn->cuda;
    facet_status s = facet_nn_cuda_reserve(nn, heads, len, 0);
    if (s != FACET_OK) return s;
    const int dh = width / heads, ld = 3 * width;
    const float scale = 1.0f / sqrtf((float)dh);
    const size_t elem = facet_nn_cuda_operand_bytes(nn);
    for (int b = 0; b < batch; b++) {
        const void *qs, *ps;
        s = facet_nn_cuda_operand(nn, qkv + (size_t)b * len * ld, (size_t)len * ld, 1, &qs);
        if (s != FACET_OK) return s;
        const char *qb = (const char *)qs, *kb = qb + elem * width, *vb = kb + elem * width;
        /* per head: scores [len, len] = scale q_h k_h^T (rows of ld elements) */
        s = facet_nn_cuda_gemm(nn, false, true, len, len, dh, scale, qb, ld, dh, kb, ld, dh, 0.0f,
                               c->scores, len, (long long)len * len, heads);
        if (s != FACET_OK) return s;
        FACET_LAUNCH(softmax_kernel, heads * len, THREADS)(c->scores, len, causal);
        LAUNCH_CHECK();
        s = facet_nn_cuda_operand(nn, c->scores, (size_t)heads * len * len, 0, &ps);
        if (s != FACET_OK) return s;
        /* y_h [len, dh] = scores_h v_h, written at column h * dh of y [len, width] */
        s = facet_nn_cuda_gemm(nn, false, false, len, dh, len, 1.0f, ps, len, (long long)len * len,
                               vb, ld, dh, 0.0f, y + (size_t)b * len * width, width, dh, heads);
        if (s != FACET_OK) return s;
    }
    return FACET_OK;
}

extern "C" facet_status facet_nn_cuda_conv2d(facet_nn *nn, const float *x, int batch, int in, int h,
                                             int w, const float *weight, const float *bias, int out,
                                             const facet_nn_window *window, int oh, int ow,
                                             facet_nn_activation act, float *y) {
    facet_nn_cuda *c = nn->cuda;
    const size_t k = (size_t)in * window->kernel_h * window->kernel_w, pixels = (size_t)oh * ow;
    const size_t n = (size_t)batch * out * pixels;
    const bool pointwise = window->kernel_h == 1 && window->kernel_w == 1 &&
                           window->stride_h == 1 && window->stride_w == 1 && window->pad_h == 0 &&
                           window->pad_w == 0;
    size_t block = CONV_BLOCK_ELEMS / k;
    if (block < CONV_MIN_PIXELS) block = CONV_MIN_PIXELS;
    if (block > pixels) block = pixels;
    facet_status s = FACET_OK;
    if (!pointwise) s = grow(c, (void **)&c->cols, &c->col_elems, k * block, sizeof(float));
    if (s != FACET_OK) return s;
    FACET_LAUNCH(conv_bias_kernel, blocks_for(n), THREADS)(y, bias, out, pixels, n);
    LAUNCH_CHECK();
    const void *ws;
    s = facet_nn_cuda_operand(nn, weight, (size_t)out * k, 0, &ws);
    if (s != FACET_OK) return s;
    const size_t elem = facet_nn_cuda_operand_bytes(nn);
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (size_t)b * in * h * w;
        float *yb = y + (size_t)b * out * pixels;
        const void *xs = NULL;
        if (pointwise && (s = facet_nn_cuda_operand(nn, xb, k * pixels, 1, &xs)) != FACET_OK)
            return s;
        for (size_t p0 = 0; p0 < pixels; p0 += block) {
            const size_t count = p0 + block <= pixels ? block : pixels - p0;
            const void *bs;
            size_t ldb;
            if (pointwise) {
                bs = (const char *)xs + p0 * elem;
                ldb = pixels;
            } else {
                const size_t e = k * count;
                FACET_LAUNCH(im2col_kernel, blocks_for(e), THREADS)
                (xb, h, w, *window, ow, p0, count, e, c->cols);
                LAUNCH_CHECK();
                if ((s = facet_nn_cuda_operand(nn, c->cols, e, 1, &bs)) != FACET_OK) return s;
                ldb = count;
            }
            s = facet_nn_cuda_gemm(nn, false, false, out, (int)count, (int)k, 1.0f, ws, (int)k, 0,
                                   bs, (int)ldb, 0, 1.0f, yb + p0, (int)pixels, 0, 1);
            if (s != FACET_OK) return s;
        }
    }
    if (act != FACET_NN_IDENTITY) {
        FACET_LAUNCH(activate_kernel, blocks_for(n), THREADS)(y, n, (int)act);
        LAUNCH_CHECK();
    }
    return FACET_OK;
}

extern "C" facet_status facet_nn_cuda_max_pool2d(facet_nn *nn, const float *x, int planes, int h,
                                                 int w, const facet_nn_window *window, int oh,
                                                 int ow, float *y) {
    (void)nn;
    const size_t n = (size_t)planes * oh * ow;
    FACET_LAUNCH(max_pool_kernel, blocks_for(n), THREADS)(x, h, w, *window, oh, ow, n, y);
    LAUNCH_CHECK();
    return FACET_OK;
}
