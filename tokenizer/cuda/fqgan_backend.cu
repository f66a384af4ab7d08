/* FQGAN CUDA backend: matrix products with cuBLAS (fp32, TF32 tensor cores, or BF16 tensor cores
 * with fp32 accumulation) through the backend's nn context (nn/cuda/nn_cuda.h, which also runs
 * the adapters' LayerNorm, linear layers and attention), own kernels for the rest, all on the
 * per-element functions of tokenizer/fqgan_ops.h that the CPU backend
 * (tokenizer/fqgan_backend.c) uses:
 * - 3x3 convolutions: im2col of one image into a workspace (fp32, or bf16 in BF16 mode), then
 *   W [cout, cin*9] x col into the output pre-filled with bias (+ residual);
 * - GroupNorm(+swish): statistics per (image, group) accumulated in double across many blocks,
 *   then one element-wise pass;
 * - spatial attention: the products in the nn context, its softmax (one block per row);
 * - quantisation: a fused kernel normalises 16 feature vectors per block and scans the whole
 *   codebook, each thread keeping its best (score, index) in registers, then a block reduction
 *   with the CPU's tie rule: no per-pixel distance row ever reaches global memory.
 * In BF16 mode the nn context holds a bf16 copy of the parameter pack and converts activations
 * on the fly before each product. Memory is allocated at load for max_batch images and
 * reported. */
#include "core/cuda/check.h"
#include "core/cuda/launch.h"
#include "nn/cuda/nn_cuda.h"
#include "tokenizer/fqgan_internal.h"
#include "tokenizer/fqgan_ops.h"

#include <cuda_bf16.h>
#include <stdlib.h>
#include <string.h>

namespace {

#define LAUNCH_CHECK() FACET_CUDA_CHECK(cudaGetLastError())

const int THREADS = 256;
const int QUANT_PIXELS = 16; /* feature vectors per quantisation block */
const int QUANT_MAX_DIM = 64;

struct cuda_backend {
    fqgan_backend base;
    facet_fqgan_backend precision;
    void **allocs;
    int alloc_count, alloc_capacity;
    size_t allocated;
    void *col; /* im2col of one image: fp32 or bf16 */
    size_t col_elems;
    float *scores; /* spatial attention scores of one image: [L, L] */
    size_t score_elems;
    double *stats; /* GroupNorm sums [max_batch * 32][2] */
    float *coef;   /* GroupNorm scale, shift [max_batch * max channels][2] */
    size_t coef_elems;
};

cuda_backend *cu(fqgan_backend *be) {
    return (cuda_backend *)be;
}

unsigned blocks_for(size_t n) {
    size_t b = (n + THREADS - 1) / THREADS;
    return (unsigned)(b > 65535 * 16 ? 65535 * 16 : b);
}

/* ---- memory ---------------------------------------------------------------------------------- */

void cuda_destroy(fqgan_backend *be) {
    cuda_backend *c = cu(be);
    for (int i = 0; i < c->alloc_count; i++) cudaFree(c->allocs[i]);
    free(c->allocs);
    facet_nn_destroy(c->base.nn);
    free(c);
}

facet_status cuda_alloc(fqgan_backend *be, size_t bytes, void **out) {
    cuda_backend *c = cu(be);
    if (c->alloc_count == c->alloc_capacity) {
        const int cap = c->alloc_capacity ? 2 * c->alloc_capacity : 32;
        void **grown = (void **)realloc(c->allocs, (size_t)cap * sizeof *grown);
        if (!grown) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
        c->allocs = grown;
        c->alloc_capacity = cap;
    }
    *out = NULL;
    FACET_CUDA_CHECK(cudaMalloc(out, bytes ? bytes : 16));
    c->allocs[c->alloc_count++] = *out;
    c->allocated += bytes;
    return FACET_OK;
}

facet_status cuda_upload(fqgan_backend *be, void *dst, const void *host, size_t bytes) {
    (void)be;
    FACET_CUDA_CHECK(cudaMemcpy(dst, host, bytes, cudaMemcpyHostToDevice));
    return FACET_OK;
}

facet_status cuda_download(fqgan_backend *be, void *host, const void *src, size_t bytes) {
    (void)be;
    FACET_CUDA_CHECK(cudaMemcpy(host, src, bytes, cudaMemcpyDeviceToHost));
    return FACET_OK;
}

size_t cuda_memory_bytes(const fqgan_backend *be) {
    return ((const cuda_backend *)be)->allocated + facet_nn_memory_bytes(be->nn);
}

facet_status cuda_prepare(fqgan_backend *be, const float *params, size_t count) {
    return facet_nn_params(be->nn, params, count);
}

facet_status cuda_prepare_conv(fqgan_backend *be, fqgan_conv *conv) {
    (void)be;
    conv->aux = NULL;
    return FACET_OK;
}

/* ---- convolution ----------------------------------------------------------------------------- */

template <typename T> __device__ T from_float(float v);
template <> __device__ float from_float<float>(float v) {
    return v;
}
template <> __device__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
    return __float2bfloat16(v);
}

/* col [cin * 9, ho * wo] of one image x [cin, h, w] (row ci * 9 + ky * 3 + kx). */
template <typename T>
__global__ void im2col_kernel(const float *x, int cin, int h, int w, fqgan_conv_mode mode, int ho,
                              int wo, T *col) {
    const size_t hw_out = (size_t)ho * wo, n = (size_t)cin * 9 * hw_out;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const int kk = (int)(i / hw_out), p = (int)(i % hw_out);
        const int ci = kk / 9, ky = (kk % 9) / 3, kx = kk % 3, oy = p / wo, ox = p % wo;
        const int iy = fqgan_conv_source(mode, oy, ky, h), ix = fqgan_conv_source(mode, ox, kx, w);
        const float v = iy >= 0 && ix >= 0 ? x[((size_t)ci * h + iy) * w + ix] : 0.0f;
        col[i] = from_float<T>(v);
    }
}

/* y [B, C, hw] = bias[c] (+ add), in place when add == y. */
__global__ void bias_init_kernel(float *y, const float *bias, const float *add, int batch, int ch,
                                 size_t hw) {
    const size_t n = (size_t)batch * ch * hw;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const int c = (int)((i / hw) % ch);
        y[i] = bias[c] + (add ? add[i] : 0.0f);
    }
}

facet_status cuda_conv(fqgan_backend *be, const fqgan_conv *conv, const float *x, int batch, int h,
                       int w, const float *add, float *y) {
    cuda_backend *c = cu(be);
    int ho = h, wo = w;
    if (conv->mode == FQGAN_CONV_DOWNSAMPLE) ho = (h - 2) / 2 + 1, wo = (w - 2) / 2 + 1;
    if (conv->mode == FQGAN_CONV_UPSAMPLE) ho = 2 * h, wo = 2 * w;
    const size_t hw_in = (size_t)h * w, hw_out = (size_t)ho * wo;
    const int k = conv->cin * conv->k * conv->k;
    FACET_LAUNCH(bias_init_kernel, blocks_for((size_t)batch * conv->cout * hw_out), THREADS)
    (y, conv->b, add, batch, conv->cout, hw_out);
    LAUNCH_CHECK();
    const void *wt;
    facet_status s = facet_nn_cuda_operand(c->base.nn, conv->w, (size_t)conv->cout * k, 0, &wt);
    if (s != FACET_OK) return s;
    if (conv->k == 1) {
        const void *xs;
        s = facet_nn_cuda_operand(c->base.nn, x, (size_t)batch * conv->cin * hw_in, 1, &xs);
        if (s != FACET_OK) return s;
        return facet_nn_cuda_gemm(c->base.nn, false, false, conv->cout, (int)hw_out, conv->cin,
                                  1.0f, wt, conv->cin, 0, xs, (int)hw_in,
                                  (long long)(conv->cin * hw_in), 1.0f, y, (int)hw_out,
                                  (long long)(conv->cout * hw_out), batch);
    }
    if ((size_t)k * hw_out > c->col_elems)
        return facet_fail(FACET_ERR_INTERNAL, "im2col of %zu elements exceeds the workspace",
                          (size_t)k * hw_out);
    const bool bf16 = c->precision == FACET_FQGAN_CUDA_BF16;
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (size_t)b * conv->cin * hw_in;
        const unsigned grid = blocks_for((size_t)k * hw_out);
        if (bf16) FACET_LAUNCH(im2col_kernel<__nv_bfloat16>, grid, THREADS)
        (xb, conv->cin, h, w, conv->mode, ho, wo, (__nv_bfloat16 *)c->col);
        else FACET_LAUNCH(im2col_kernel<float>, grid, THREADS)(xb, conv->cin, h, w, conv->mode, ho,
                                                               wo, (float *)c->col);
        LAUNCH_CHECK();
        s = facet_nn_cuda_gemm(c->base.nn, false, false, conv->cout, (int)hw_out, k, 1.0f, wt, k, 0,
                               c->col, (int)hw_out, 0, 1.0f, y + (size_t)b * conv->cout * hw_out,
                               (int)hw_out, 0, 1);
        if (s != FACET_OK) return s;
    }
    return FACET_OK;
}

/* ---- normalisation --------------------------------------------------------------------------- */

/* sums[g] += (sum, sum of squares) of a slice of group g (blockIdx.y) of x [B * 32, count]. */
__global__ void group_stats_kernel(const float *x, size_t count, double *sums) {
    const float *xs = x + (size_t)blockIdx.y * count;
    double s = 0.0, ss = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x) {
        const double v = xs[i];
        s += v;
        ss += v * v;
    }
    __shared__ double red[2][THREADS];
    red[0][threadIdx.x] = s;
    red[1][threadIdx.x] = ss;
    __syncthreads();
    for (int stride = THREADS / 2; stride > 0; stride /= 2) {
        if ((int)threadIdx.x < stride) {
            red[0][threadIdx.x] += red[0][threadIdx.x + stride];
            red[1][threadIdx.x] += red[1][threadIdx.x + stride];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        atomicAdd(&sums[2 * blockIdx.y], red[0][0]);
        atomicAdd(&sums[2 * blockIdx.y + 1], red[1][0]);
    }
}

/* coef[b, c] = (scale, shift) of channel c from its group's sums. */
__global__ void group_coef_kernel(const double *sums, size_t count, const float *gamma,
                                  const float *beta, int batch, int ch, float *coef) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * ch) return;
    const int b = i / ch, c = i % ch, g = b * FQGAN_GROUPS + c / (ch / FQGAN_GROUPS);
    const double mean = sums[2 * g] / (double)count;
    const double var = fmax(sums[2 * g + 1] / (double)count - mean * mean, 0.0);
    facet_nn_norm_coefficients((float)mean, (float)var, FQGAN_GROUP_NORM_EPS, gamma[c], beta[c],
                               &coef[2 * i], &coef[2 * i + 1]);
}

__global__ void norm_apply_kernel(const float *x, const float *coef, size_t hw, size_t n, int swish,
                                  float *y) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t bc = i / hw;
        y[i] = fqgan_norm_apply(x[i], coef[2 * bc], coef[2 * bc + 1], swish);
    }
}

facet_status cuda_group_norm(fqgan_backend *be, const fqgan_norm *norm, const float *x, int batch,
                             int hw, int swish, float *y) {
    cuda_backend *c = cu(be);
    const size_t count = (size_t)(norm->channels / FQGAN_GROUPS) * hw;
    if ((size_t)batch * norm->channels > c->coef_elems)
        return facet_fail(FACET_ERR_INTERNAL, "GroupNorm of %d channels exceeds the workspace",
                          norm->channels);
    FACET_CUDA_CHECK(cudaMemsetAsync(c->stats, 0, sizeof(double) * 2 * batch * FQGAN_GROUPS));
    size_t slices = (count + THREADS * 8 - 1) / (THREADS * 8);
    if (slices > 1024) slices = 1024;
    FACET_LAUNCH(group_stats_kernel, dim3((unsigned)slices, (unsigned)(batch * FQGAN_GROUPS)),
                 THREADS)
    (x, count, c->stats);
    LAUNCH_CHECK();
    FACET_LAUNCH(group_coef_kernel, (batch * norm->channels + THREADS - 1) / THREADS, THREADS)
    (c->stats, count, norm->gamma, norm->beta, batch, norm->channels, c->coef);
    LAUNCH_CHECK();
    const size_t n = (size_t)batch * norm->channels * hw;
    FACET_LAUNCH(norm_apply_kernel, blocks_for(n), THREADS)(x, c->coef, (size_t)hw, n, swish, y);
    LAUNCH_CHECK();
    return FACET_OK;
}

/* ---- attention ------------------------------------------------------------------------------- */

facet_status cuda_spatial_attention(fqgan_backend *be, const float *qkv, int batch, int ch, int hw,
                                    float *y) {
    cuda_backend *c = cu(be);
    if ((size_t)hw * hw > c->score_elems)
        return facet_fail(FACET_ERR_INTERNAL, "attention over %d positions exceeds the workspace",
                          hw);
    const float scale = 1.0f / sqrtf((float)ch);
    for (int b = 0; b < batch; b++) {
        const float *q = qkv + (size_t)b * 3 * ch * hw;
        const void *qs, *ps;
        facet_status s = facet_nn_cuda_operand(c->base.nn, q, (size_t)3 * ch * hw, 1, &qs);
        if (s != FACET_OK) return s;
        const size_t elem = c->precision == FACET_FQGAN_CUDA_BF16 ? 2 : 4;
        const char *qb = (const char *)qs, *kb = qb + elem * ch * hw, *vb = kb + elem * ch * hw;
        /* scores [hw, hw] = scale q^T k, q and k stored [ch, hw] */
        s = facet_nn_cuda_gemm(c->base.nn, true, false, hw, hw, ch, scale, qb, hw, 0, kb, hw, 0,
                               0.0f, c->scores, hw, 0, 1);
        if (s != FACET_OK) return s;
        s = facet_nn_softmax(c->base.nn, c->scores, hw, hw);
        if (s != FACET_OK) return s;
        s = facet_nn_cuda_operand(c->base.nn, c->scores, (size_t)hw * hw, 0, &ps);
        if (s != FACET_OK) return s;
        /* y [ch, hw] = v [ch, hw] scores^T */
        s = facet_nn_cuda_gemm(c->base.nn, false, true, ch, hw, hw, 1.0f, vb, hw, 0, ps, hw, 0,
                               0.0f, y + (size_t)b * ch * hw, hw, 0, 1);
        if (s != FACET_OK) return s;
    }
    return FACET_OK;
}

/* ---- tokens
 * ---------------------------------------------------------------------------------------
 */

/* t [B, L, C] = x [B, C, L]^T + pos [L, C] (pos may be NULL); or the inverse transpose. */
__global__ void transpose_kernel(const float *in, const float *pos, int batch, int ch, int len,
                                 int to_tokens, float *out) {
    const size_t n = (size_t)batch * ch * len;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        /* i indexes the token layout [b, l, c] */
        const int c = (int)(i % ch), l = (int)((i / ch) % len), b = (int)(i / ((size_t)ch * len));
        const size_t chw = ((size_t)b * ch + c) * len + l;
        if (to_tokens)
            out[i] = in[chw] + pos[(size_t)l * ch + c];
        else
            out[chw] = in[i];
    }
}

facet_status cuda_to_tokens(fqgan_backend *be, const float *x, const float *pos, int batch, int ch,
                            int len, float *t) {
    (void)be;
    FACET_LAUNCH(transpose_kernel, blocks_for((size_t)batch * ch * len), THREADS)
    (x, pos, batch, ch, len, 1, t);
    LAUNCH_CHECK();
    return FACET_OK;
}

facet_status cuda_from_tokens(fqgan_backend *be, const float *t, int batch, int ch, int len,
                              float *x) {
    (void)be;
    FACET_LAUNCH(transpose_kernel, blocks_for((size_t)batch * ch * len), THREADS)
    (t, NULL, batch, ch, len, 0, x);
    LAUNCH_CHECK();
    return FACET_OK;
}

/* ---- codebooks ------------------------------------------------------------------------------- */

/* QUANT_PIXELS feature vectors of z [B, dim, hw] per block: normalise, scan every code with the
 * shared score and tie rule, reduce (score, index) over the block. */
__global__ void quantize_kernel(const float *z, int pixels, int dim, int hw, const float *codebook,
                                int count, uint16_t *indices) {
    __shared__ float zn[QUANT_PIXELS][QUANT_MAX_DIM];
    __shared__ float best_score[QUANT_PIXELS][THREADS / 32];
    __shared__ int best_index[QUANT_PIXELS][THREADS / 32];
    const int first = blockIdx.x * QUANT_PIXELS;
    if (threadIdx.x < QUANT_PIXELS) {
        const int p = first + threadIdx.x;
        if (p < pixels) {
            const int b = p / hw, q = p % hw;
            float ss = 0.0f;
            for (int d = 0; d < dim; d++) {
                const float v = z[((size_t)b * dim + d) * hw + q];
                zn[threadIdx.x][d] = v;
                ss += v * v;
            }
            const float div = fqgan_l2_divisor(ss);
            for (int d = 0; d < dim; d++) zn[threadIdx.x][d] /= div;
        }
    }
    __syncthreads();
    float best[QUANT_PIXELS];
    int index[QUANT_PIXELS];
    for (int k = 0; k < QUANT_PIXELS; k++) best[k] = -INFINITY, index[k] = 0;
    for (int j = threadIdx.x; j < count; j += blockDim.x) {
        const float *row = codebook + (size_t)j * dim;
        for (int k = 0; k < QUANT_PIXELS; k++) {
            const float s = fqgan_code_score(zn[k], row, dim);
            if (fqgan_code_better(s, j, best[k], index[k])) best[k] = s, index[k] = j;
        }
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int k = 0; k < QUANT_PIXELS; k++) {
        float s = best[k];
        int i = index[k];
        for (int offset = 16; offset > 0; offset /= 2) {
            const float os = __shfl_xor_sync(0xffffffffu, s, offset);
            const int oi = __shfl_xor_sync(0xffffffffu, i, offset);
            if (fqgan_code_better(os, oi, s, i)) s = os, i = oi;
        }
        if (lane == 0) best_score[k][warp] = s, best_index[k][warp] = i;
    }
    __syncthreads();
    if (threadIdx.x < QUANT_PIXELS && first + (int)threadIdx.x < pixels) {
        const int k = threadIdx.x;
        float s = best_score[k][0];
        int i = best_index[k][0];
        for (int w = 1; w < THREADS / 32; w++)
            if (fqgan_code_better(best_score[k][w], best_index[k][w], s, i))
                s = best_score[k][w], i = best_index[k][w];
        indices[first + k] = (uint16_t)i;
    }
}

facet_status cuda_quantize(fqgan_backend *be, const float *z, int batch, int dim, int hw,
                           const float *codebook, int count, uint16_t *indices) {
    (void)be;
    if (dim > QUANT_MAX_DIM)
        return facet_fail(FACET_ERR_UNSUPPORTED, "CUDA quantisation supports codebook_dim <= %d",
                          QUANT_MAX_DIM);
    const int pixels = batch * hw;
    FACET_LAUNCH(quantize_kernel, (pixels + QUANT_PIXELS - 1) / QUANT_PIXELS, THREADS)
    (z, pixels, dim, hw, codebook, count, indices);
    LAUNCH_CHECK();
    return FACET_OK;
}

__global__ void embed_kernel(const uint16_t *indices, int batch, int hw, const float *codebook,
                             int dim, int offset, int channels, float *y) {
    const size_t n = (size_t)batch * hw * dim;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const int d = (int)(i % dim), p = (int)((i / dim) % hw), b = (int)(i / ((size_t)dim * hw));
        y[((size_t)b * channels + offset + d) * hw + p] =
            codebook[(size_t)indices[(size_t)b * hw + p] * dim + d];
    }
}

facet_status cuda_embed(fqgan_backend *be, const uint16_t *indices, int batch, int hw,
                        const float *codebook, int dim, int offset, int channels, float *y) {
    (void)be;
    FACET_LAUNCH(embed_kernel, blocks_for((size_t)batch * hw * dim), THREADS)
    (indices, batch, hw, codebook, dim, offset, channels, y);
    LAUNCH_CHECK();
    return FACET_OK;
}

fqgan_backend_ops make_ops() {
    fqgan_backend_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.name = "cuda";
    ops.destroy = cuda_destroy;
    ops.alloc = cuda_alloc;
    ops.upload = cuda_upload;
    ops.download = cuda_download;
    ops.prepare = cuda_prepare;
    ops.prepare_conv = cuda_prepare_conv;
    ops.memory_bytes = cuda_memory_bytes;
    ops.conv = cuda_conv;
    ops.group_norm = cuda_group_norm;
    ops.spatial_attention = cuda_spatial_attention;
    ops.to_tokens = cuda_to_tokens;
    ops.from_tokens = cuda_from_tokens;
    ops.quantize = cuda_quantize;
    ops.embed = cuda_embed;
    return ops;
}

const fqgan_backend_ops CUDA_OPS = make_ops();

} // namespace

extern "C" facet_status fqgan_cuda_backend_create(fqgan_backend **out, const fqgan_arch *arch,
                                                  int max_batch, facet_fqgan_backend precision) {
    *out = NULL;
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0)
        return facet_fail(FACET_ERR_CUDA, "FQGAN backend '%s': no usable CUDA device",
                          facet_fqgan_backend_name(precision));
    if ((long)max_batch * FQGAN_GROUPS > 65535) /* GroupNorm statistics grid: y <= 65535 */
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "FQGAN CUDA backend: max_batch %d exceeds 2047", max_batch);
    cuda_backend *c = (cuda_backend *)calloc(1, sizeof *c);
    if (!c) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    c->base.ops = &CUDA_OPS;
    c->precision = precision;
    const facet_nn_precision nn_precision = precision == FACET_FQGAN_CUDA_BF16   ? FACET_NN_BF16
                                            : precision == FACET_FQGAN_CUDA_TF32 ? FACET_NN_TF32
                                                                                 : FACET_NN_FP32;
    facet_status s = facet_nn_create(&c->base.nn, FACET_NN_CUDA, nn_precision);
    if (s != FACET_OK) {
        free(c);
        return s;
    }
    /* workspaces: im2col of the widest 3x3 conv of one image, spatial attention scores of one
     * image (AttnBlocks run at the grid resolution), GroupNorm statistics; in the nn context the
     * adapters' attention scores of one image and bf16 operands as large as an activation */
    size_t widest = (size_t)arch->z_channels, col = 0, act = 0;
    for (int i = 0; i < arch->levels; i++)
        if ((size_t)arch->ch * arch->ch_mult[i] > widest)
            widest = (size_t)arch->ch * arch->ch_mult[i];
    for (int i = 0; i < arch->levels; i++) {
        const size_t c_here = (size_t)arch->ch * arch->ch_mult[i];
        const size_t c_prev = (size_t)arch->ch * arch->ch_mult[i > 0 ? i - 1 : 0];
        const size_t c_next = (size_t)arch->ch * arch->ch_mult[i + 1 < arch->levels ? i + 1 : i];
        size_t cin = c_here > c_prev ? c_here : c_prev;
        if (c_next > cin) cin = c_next;
        const size_t res = (size_t)(arch->image_size >> i);
        if (cin * 9 * res * res > col) col = cin * 9 * res * res;
        if (cin * 3 * res * res > act) act = cin * 3 * res * res;
    }
    const size_t len = (size_t)arch->grid * arch->grid, d = (size_t)arch->adapter_width;
    if (widest * 9 * len > col) col = widest * 9 * len;
    if (4 * d * len > act) act = 4 * d * len;
    c->col_elems = col;
    c->score_elems = len * len;
    c->coef_elems = (size_t)max_batch * widest;
    const bool bf16 = precision == FACET_FQGAN_CUDA_BF16;
    s = facet_nn_reserve(c->base.nn, arch->adapter_heads, (int)len, arch->adapter_width,
                         act * (size_t)max_batch);
    if (s == FACET_OK) s = cuda_alloc(&c->base, col * (bf16 ? 2 : 4), &c->col);
    if (s == FACET_OK)
        s = cuda_alloc(&c->base, c->score_elems * sizeof(float), (void **)&c->scores);
    if (s == FACET_OK)
        s = cuda_alloc(&c->base, sizeof(double) * 2 * FQGAN_GROUPS * (size_t)max_batch,
                       (void **)&c->stats);
    if (s == FACET_OK)
        s = cuda_alloc(&c->base, sizeof(float) * 2 * c->coef_elems, (void **)&c->coef);
    if (s != FACET_OK) {
        cuda_destroy(&c->base);
        return s;
    }
    *out = &c->base;
    return FACET_OK;
}
