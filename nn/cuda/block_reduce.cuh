/* A block-wide reduction (sum or maximum) of one float per thread, for the row kernels of
 * nn/cuda/nn.cu (LayerNorm statistics, softmax): xor shuffles inside each warp, the warp results
 * through `shared` (at least blockDim.x / 32 floats), then one more warp of shuffles. blockDim.x is
 * a multiple of 32 and at most 1024. Every thread gets the result. Also compiled into the CUDA
 * emulator's warp test (tools/cuemu/tests/test_warp.cu), which checks it under the emulator. */
#ifndef FACET_NN_CUDA_BLOCK_REDUCE_CUH
#define FACET_NN_CUDA_BLOCK_REDUCE_CUH

#include <math.h>

static __device__ inline float facet_block_reduce(float v, bool is_max, float *shared) {
    for (int offset = 16; offset > 0; offset /= 2) {
        const float o = __shfl_xor_sync(0xffffffffu, v, offset);
        v = is_max ? fmaxf(v, o) : v + o;
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < (int)(blockDim.x / 32) ? shared[lane] : (is_max ? -INFINITY : 0.0f);
        for (int offset = 16; offset > 0; offset /= 2) {
            const float o = __shfl_xor_sync(0xffffffffu, v, offset);
            v = is_max ? fmaxf(v, o) : v + o;
        }
        if (lane == 0) shared[0] = v;
    }
    __syncthreads();
    v = shared[0];
    __syncthreads();
    return v;
}

#endif
