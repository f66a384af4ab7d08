/* Training a network's fp16 form on tensor cores (fields/tcnn_mlp_half_backward.h, the per-point
 * reference): after a forward pass that keeps the hidden activations (facet_mlp_tensor_kernel
 * with keep), facet_mlp_tensor_backward_kernel carries the output gradients down the layers as
 * scaled halves, and facet_mlp_tensor_weight_gradient_kernel and
 * facet_mlp_tensor_bias_gradient_kernel reduce them with the layers' inputs into fp32 weight
 * gradients, as tiny-cuda-nn trains with fp32 master weights.
 *
 * CUDA only (C++). */
#ifndef FACET_FIELDS_CUDA_TCNN_MLP_TENSOR_TRAIN_CUH
#define FACET_FIELDS_CUDA_TCNN_MLP_TENSOR_TRAIN_CUH

#include "core/cuda/launch.h"
#include "fields/cuda/tcnn_mlp_tensor.cuh"
#include "fields/tcnn_mlp_half_backward.h"

/* Rows of a chunk of the weight-gradient sums (a multiple of 16): one warp adds a chunk's tile
 * products in a float accumulator before its one atomicAdd per element. */
enum { FACET_MLP_TENSOR_GRADIENT_CHUNK = 512 };

/* Halves per row before layer l's output gradients g_l in the backward pass's gradient buffer:
 * for each layer l = 0 .. layers - 1, [rows][pad16(width[l + 1])] halves at
 * gradients + rows * offset. */
static inline __host__ __device__ int64_t facet_mlp_tensor_gradient_offset(const facet_mlp *net,
                                                                           int l) {
    int64_t at = 0;
    for (int j = 0; j < l; j++) at += facet_mlp_pad16(net->width[j + 1]);
    return at;
}

/* The backward pass of fields/tcnn_mlp_half_backward.h over the rows of a training forward pass
 * (facet_mlp_tensor_kernel with keep): from the outputs y and their gradients dy (both
 * [rows][pad16(width[layers])] floats; dy zero in the padding rows and columns), every layer's
 * output gradient g_l (scaled by `scale`, in half) to `gradients`
 * (facet_mlp_tensor_gradient_offset) and, when dx is not NULL, dL/dinput to
 * dx[rows][pad16(width[0])] (fp32, unscaled). Each warp takes 32 rows: per layer, top down, g_l W_l
 * (W_l = (W^T_l)^T, a column-major view of the pack) in 16 x 16 x 16 half tiles with float
 * accumulators, then the hidden derivative from the kept activations and the rounding to half, the
 * next layer's operand in shared memory. Launch as facet_mlp_tensor_kernel. */
static __global__ void facet_mlp_tensor_backward_kernel(facet_mlp net, const __half *keep,
                                                        const float *y, const float *dy,
                                                        int64_t rows, float scale,
                                                        __half *gradients, float *dx) {
    using namespace nvcuda;
    typedef wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> tile_a;
    typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> tile_bt;
    typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> tile_acc;
    __shared__ __align__(32)
        __half rows_g[FACET_MLP_TENSOR_WARPS][2][FACET_MLP_TENSOR_ROWS * FACET_MLP_TENSOR_LD];
    __shared__ __align__(32) float stage[FACET_MLP_TENSOR_WARPS][16 * 16];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t row0 =
        ((int64_t)blockIdx.x * FACET_MLP_TENSOR_WARPS + warp) * FACET_MLP_TENSOR_ROWS;
    if (row0 >= rows) return; /* the whole warp: rows is a multiple of 32 */
    const int top = net.layers - 1, n_out = net.width[net.layers];
    const int ldy = facet_mlp_pad16(n_out), ldx = facet_mlp_pad16(net.width[0]);
    const float inverse = 1.0f / scale;
    /* the output layer's gradient */
    __half *g = rows_g[warp][0];
    __half *g_top = gradients + rows * facet_mlp_tensor_gradient_offset(&net, top) + row0 * ldy;
    for (int e = lane; e < FACET_MLP_TENSOR_ROWS * ldy; e += 32) {
        const int r = e / ldy, o = e % ldy;
        const int64_t at = (row0 + r) * ldy + o;
        const __half h = __float2half_rn(
            o < n_out ? facet_mlp_half_output_gradient(net.output, y[at], dy[at], scale) : 0.0f);
        g[r * FACET_MLP_TENSOR_LD + o] = h;
        g_top[r * ldy + o] = h;
    }
    __syncwarp();
    for (int l = top; l >= 0 && (l > 0 || dx); l--) {
        const int in_pad = facet_mlp_pad16(net.width[l]);
        const int out_pad = facet_mlp_pad16(net.width[l + 1]);
        const __half *w = (const __half *)facet_mlp_half_weights(&net, l);
        __half *next = rows_g[warp][(top - l + 1) & 1];
        const __half *kept =
            l > 0 ? keep + rows * facet_mlp_tensor_keep_offset(&net, l) + row0 * in_pad : nullptr;
        __half *g_next =
            l > 0 ? gradients + rows * facet_mlp_tensor_gradient_offset(&net, l - 1) + row0 * in_pad
                  : nullptr;
        for (int n = 0; n < in_pad / 16; n++) {
            tile_acc acc[2];
            for (int m = 0; m < 2; m++) wmma::fill_fragment(acc[m], 0.0f);
            for (int k = 0; k < out_pad / 16; k++) {
                tile_bt b; /* b[o][i] = W^T[n 16 + i][k 16 + o] */
                wmma::load_matrix_sync(b, w + (size_t)n * 16 * out_pad + k * 16, (unsigned)out_pad);
                for (int m = 0; m < 2; m++) {
                    tile_a a;
                    wmma::load_matrix_sync(a, g + m * 16 * FACET_MLP_TENSOR_LD + k * 16,
                                           (unsigned)FACET_MLP_TENSOR_LD);
                    wmma::mma_sync(acc[m], a, b, acc[m]);
                }
            }
            for (int m = 0; m < 2; m++) {
                wmma::store_matrix_sync(stage[warp], acc[m], 16, wmma::mem_row_major);
                __syncwarp();
                for (int e = lane; e < 256; e += 32) {
                    const int r = m * 16 + e / 16, i = n * 16 + e % 16;
                    if (l == 0) {
                        dx[(row0 + r) * ldx + i] = stage[warp][e] * inverse;
                        continue;
                    }
                    const __half h = __float2half_rn(facet_mlp_half_hidden_gradient(
                        net.hidden, __half2float(kept[r * in_pad + i]), stage[warp][e]));
                    next[r * FACET_MLP_TENSOR_LD + i] = h;
                    g_next[r * in_pad + i] = h;
                }
                __syncwarp();
            }
        }
        g = next;
    }
}

/* dW^T_l[i][o] += (1 / scale) sum_r x[r][i] g[r][o] over rows r: x the layer's inputs
 * [rows][ldx] (the network's input rows or a kept hidden layer), g its output gradients
 * [rows][ldg] (facet_mlp_tensor_backward_kernel), gw the float gradient W^T [n_in][n_out]. One
 * warp per 16 x 16 tile of W^T and chunk of `chunk` rows (a multiple of 16): x^T g in
 * 16 x 16 x 16 half tiles (x^T a column-major view of x) with a float accumulator, 16 rows at a
 * time in ascending order, then scaled and added with atomicAdd. Launch with 32 threads per block
 * and blocks (tiles, ceil(rows / chunk)), tiles = ldx / 16 * ldg / 16, tile t = (t / (ldg / 16),
 * t % (ldg / 16)). */
static __global__ void facet_mlp_tensor_weight_gradient_kernel(const __half *x, int ldx,
                                                               const __half *g, int ldg,
                                                               int64_t rows, int64_t chunk,
                                                               int n_in, int n_out, float inverse,
                                                               float *gw) {
    using namespace nvcuda;
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::col_major> a;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> b;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    __shared__ __align__(32) float stage[16 * 16];
    const int ti = (int)blockIdx.x / (ldg / 16), to = (int)blockIdx.x % (ldg / 16);
    const int64_t r0 = (int64_t)blockIdx.y * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
    wmma::fill_fragment(acc, 0.0f);
    for (int64_t r = r0; r < r1; r += 16) {
        wmma::load_matrix_sync(a, x + r * ldx + ti * 16, (unsigned)ldx);
        wmma::load_matrix_sync(b, g + r * ldg + to * 16, (unsigned)ldg);
        wmma::mma_sync(acc, a, b, acc);
    }
    wmma::store_matrix_sync(stage, acc, 16, wmma::mem_row_major);
    __syncwarp();
    for (int e = threadIdx.x; e < 256; e += 32) {
        const int i = ti * 16 + e / 16, o = to * 16 + e % 16;
        if (i < n_in && o < n_out && stage[e] != 0.0f)
            atomicAdd(&gw[(int64_t)i * n_out + o], stage[e] * inverse);
    }
}

/* dbias0[o] += (1 / scale) sum_r g_0[r][o] (g_0 [rows][ldg] halves), in fp32 over each chunk of
 * `chunk` rows in ascending order, then atomicAdd. One thread per (o, chunk): blocks
 * (ceil(n_out / 32), ceil(rows / chunk)) of 32 threads. */
static __global__ void facet_mlp_tensor_bias_gradient_kernel(const __half *g, int ldg, int64_t rows,
                                                             int64_t chunk, int n_out,
                                                             float inverse, float *gb) {
    const int o = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (o >= n_out) return;
    const int64_t r0 = (int64_t)blockIdx.y * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
    float sum = 0.0f;
    for (int64_t r = r0; r < r1; r++) sum += __half2float(g[r * ldg + o]);
    if (sum != 0.0f) atomicAdd(&gb[o], sum * inverse);
}

/* Launches the weight and bias0 gradient kernels of every layer of `net` after its backward pass
 * over `rows` rows (device arrays): x the network's input rows [rows][pad16(width[0])] halves,
 * keep and gradients as the forward (facet_mlp_tensor_kernel) and backward
 * (facet_mlp_tensor_backward_kernel) kernels left them. Adds (1 / scale) sum x g into grad's
 * weight[l] and bias0 (device fp32 arrays shaped like net's). */
static inline void facet_mlp_tensor_parameter_gradients(const facet_mlp &net, const __half *x,
                                                        const __half *keep, const __half *gradients,
                                                        int64_t rows, float scale,
                                                        const facet_mlp &grad) {
    /* chunks along the grid's y, which holds at most 65535 blocks: beyond 65535 x 512 rows (a fit
     * of more than 131,000 rays at 256 samples) the chunks grow in powers of two */
    int64_t chunk = FACET_MLP_TENSOR_GRADIENT_CHUNK;
    while ((rows + chunk - 1) / chunk > 65535) chunk *= 2;
    const unsigned chunks = (unsigned)((rows + chunk - 1) / chunk);
    for (int l = 0; l < net.layers; l++) {
        const int ld_in = facet_mlp_pad16(net.width[l]), ld_g = facet_mlp_pad16(net.width[l + 1]);
        const __half *x_l = l == 0 ? x : keep + rows * facet_mlp_tensor_keep_offset(&net, l);
        const __half *g_l = gradients + rows * facet_mlp_tensor_gradient_offset(&net, l);
        FACET_LAUNCH(facet_mlp_tensor_weight_gradient_kernel,
                     dim3((unsigned)(ld_in / 16 * (ld_g / 16)), chunks), 32)
        (x_l, ld_in, g_l, ld_g, rows, chunk, net.width[l], net.width[l + 1], 1.0f / scale,
         (float *)grad.weight[l]);
        if (l == 0)
            FACET_LAUNCH(facet_mlp_tensor_bias_gradient_kernel,
                         dim3((unsigned)((net.width[1] + 31) / 32), chunks), 32)
        (g_l, ld_g, rows, chunk, net.width[1], 1.0f / scale, (float *)grad.bias0);
    }
}

#endif
