/* The fp16 form of a facet_mlp (fields/tcnn_mlp_half.h) on tensor cores: one kernel runs the whole
 * network over a matrix of points, as tiny-cuda-nn's fully fused MLP does. Each warp takes 32
 * points (two 16-row tiles): per layer and per 16-wide tile of outputs it multiplies 16 x 16 x 16
 * half tiles with float accumulators (nvcuda::wmma), starting layer 0 from the bias rows; a hidden
 * tile is activated, rounded to half and kept in shared memory as the next layer's input, the
 * output tile is activated and stored to global memory in fp32. Each weight tile is loaded once per
 * warp and serves both row tiles.
 *
 * The same function as facet_mlp_half_forward_scratch, the per-point reference: the emulator
 * (tools/cuemu/include/mma.h) adds each tile's products in its order and matches it bit for bit;
 * on a GPU the sums differ by rounding within the bound that header states.
 *
 * CUDA only (C++). */
#ifndef FACET_FIELDS_CUDA_TCNN_MLP_TENSOR_CUH
#define FACET_FIELDS_CUDA_TCNN_MLP_TENSOR_CUH

#include "fields/tcnn_mlp.h"

#include <cuda_fp16.h>
#include <mma.h>
#include <stdint.h>

enum {
    FACET_MLP_TENSOR_ROWS = 32, /* points per warp: the matrices' rows come in multiples of this */
    FACET_MLP_TENSOR_WARPS = 2, /* warps per block (threads: 64) */
    /* a hidden activation row in shared memory: the widest hidden layer facet loads
     * (FACET_MLP_MAX_WIDTH) plus 8 halves, so the 16 rows of a tile start in different banks */
    FACET_MLP_TENSOR_LD = FACET_MLP_MAX_WIDTH + 8,
};

/* Halves per row before hidden layer h's activations (h = 1 .. layers - 1: the output of layer
 * h - 1) in a training forward pass's `keep` buffer: keep holds, for each hidden layer in turn,
 * [rows][pad16(width[h])] halves, so layer h's block starts at keep + rows * offset. */
static inline __host__ __device__ int64_t facet_mlp_tensor_keep_offset(const facet_mlp *net,
                                                                       int h) {
    int64_t at = 0;
    for (int j = 1; j < h; j++) at += facet_mlp_pad16(net->width[j]);
    return at;
}

/* y[rows][ldy] = the fp16 network of x[rows][ldx] (net.half set; ldx = pad16(width[0]) halves,
 * ldy = pad16(width[layers]) floats, both row-major; rows a multiple of FACET_MLP_TENSOR_ROWS).
 * Launch with FACET_MLP_TENSOR_WARPS * 32 threads per block and facet_mlp_tensor_blocks(rows)
 * blocks. Columns of y past width[layers] hold the padding's outputs. keep: NULL, or (training)
 * the buffer that receives every hidden activation (facet_mlp_tensor_keep_offset), which the
 * backward pass reads. */
static __global__ void facet_mlp_tensor_kernel(facet_mlp net, const __half *x, int64_t rows,
                                               float *y, __half *keep) {
    using namespace nvcuda;
    typedef wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> tile_a;
    typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> tile_b;
    typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> tile_acc;
    __shared__ __align__(32)
        __half hidden[FACET_MLP_TENSOR_WARPS][2][FACET_MLP_TENSOR_ROWS * FACET_MLP_TENSOR_LD];
    __shared__ __align__(32) float stage[FACET_MLP_TENSOR_WARPS][16 * 16];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t row0 =
        ((int64_t)blockIdx.x * FACET_MLP_TENSOR_WARPS + warp) * FACET_MLP_TENSOR_ROWS;
    if (row0 >= rows) return; /* the whole warp: rows is a multiple of 32 */
    const int ldx = facet_mlp_pad16(net.width[0]), ldy = facet_mlp_pad16(net.width[net.layers]);
    const __half *in = x + row0 * ldx;
    int ld_in = ldx;
    for (int l = 0; l < net.layers; l++) {
        const int k_tiles = facet_mlp_pad16(net.width[l]) / 16;
        const int out_pad = facet_mlp_pad16(net.width[l + 1]);
        const __half *w = (const __half *)facet_mlp_half_weights(&net, l);
        const int last = l == net.layers - 1;
        const facet_activation activation = last ? net.output : net.hidden;
        __half *out = hidden[warp][l & 1];
        for (int n = 0; n < out_pad / 16; n++) {
            tile_acc acc[2];
            for (int m = 0; m < 2; m++) {
                if (l == 0)
                    wmma::load_matrix_sync(acc[m], facet_mlp_half_bias_rows(&net) + n * 16,
                                           (unsigned)out_pad, wmma::mem_row_major);
                else
                    wmma::fill_fragment(acc[m], 0.0f);
            }
            for (int k = 0; k < k_tiles; k++) {
                tile_b b;
                wmma::load_matrix_sync(b, w + (size_t)k * 16 * out_pad + n * 16, (unsigned)out_pad);
                for (int m = 0; m < 2; m++) {
                    tile_a a;
                    wmma::load_matrix_sync(a, in + (size_t)m * 16 * ld_in + k * 16,
                                           (unsigned)ld_in);
                    wmma::mma_sync(acc[m], a, b, acc[m]);
                }
            }
            for (int m = 0; m < 2; m++) {
                for (int e = 0; e < acc[m].num_elements; e++)
                    acc[m].x[e] = facet_activate(activation, acc[m].x[e]);
                if (last) {
                    wmma::store_matrix_sync(y + (row0 + m * 16) * ldy + n * 16, acc[m],
                                            (unsigned)ldy, wmma::mem_row_major);
                    continue;
                }
                /* through the warp's stage tile: the accumulator layout is the hardware's */
                wmma::store_matrix_sync(stage[warp], acc[m], 16, wmma::mem_row_major);
                __syncwarp();
                __half *kept = keep ? keep + rows * facet_mlp_tensor_keep_offset(&net, l + 1) +
                                          (row0 + m * 16) * out_pad + n * 16
                                    : nullptr;
                for (int e = lane; e < 256; e += 32) {
                    const __half h = __float2half_rn(stage[warp][e]);
                    out[(m * 16 + e / 16) * FACET_MLP_TENSOR_LD + n * 16 + e % 16] = h;
                    if (kept) kept[(e / 16) * out_pad + e % 16] = h;
                }
                __syncwarp();
            }
        }
        in = out;
        ld_in = FACET_MLP_TENSOR_LD;
    }
}

/* A point's network input in[width] as a row of x: rounded to half (nearest even), zero-padded to
 * ld = pad16(width[0]) (width 0: a padding row of zeros). */
static __device__ inline void facet_mlp_tensor_input_row(__half *row, const float *in, int width,
                                                         int ld) {
    for (int c = 0; c < ld; c++) row[c] = __float2half_rn(c < width ? in[c] : 0.0f);
}

/* Blocks of facet_mlp_tensor_kernel for `rows` rows. */
static inline __host__ __device__ unsigned facet_mlp_tensor_blocks(int64_t rows) {
    const int64_t per_block = (int64_t)FACET_MLP_TENSOR_WARPS * FACET_MLP_TENSOR_ROWS;
    return (unsigned)((rows + per_block - 1) / per_block);
}

/* rows rounded up to a multiple of FACET_MLP_TENSOR_ROWS. */
static inline __host__ __device__ int64_t facet_mlp_tensor_rows(int64_t rows) {
    return (rows + FACET_MLP_TENSOR_ROWS - 1) / FACET_MLP_TENSOR_ROWS * FACET_MLP_TENSOR_ROWS;
}

#endif
