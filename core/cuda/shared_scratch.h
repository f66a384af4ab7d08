/* Per-thread scratch in static shared memory, for kernels whose per-element functions take a
 * `float *scratch` (docs/architecture.md, "the twin rule"). A kernel declares the whole 48 KB of
 * static shared memory and hands thread t the slice that starts at t * stride floats:
 *
 *     FACET_SHARED_SCRATCH(scratch, stride); // float *scratch: this thread's `stride` floats
 *
 * `stride` is a kernel argument: facet_shared_scratch_stride(need) for a function that needs
 * `need` floats. It is odd, so the threads of a warp reading one offset fall in 32 different
 * banks. The block size to launch with is facet_shared_scratch_threads(stride): the most of 64,
 * 32, 16, 8, 4 whose slices fit the 48 KB (0 when not even 4 do).
 *
 * The stride is a run-time value, not a template parameter, so that each kernel is compiled once
 * for every field size: instantiating the per-ray passes for five scratch sizes made nvcc spend
 * about 9 of a clean build's 14 minutes in fit/cuda/livescene_fit.cu and nodes/cuda/. Every block
 * declares the same 48 KB that the largest slices of 64, 32, ... threads took before, so the
 * occupancy is the same. (The CPU emulator, tools/cuemu, has no dynamic shared memory: this shape
 * runs there unchanged.) */
#ifndef FACET_CORE_CUDA_SHARED_SCRATCH_H
#define FACET_CORE_CUDA_SHARED_SCRATCH_H

/* Floats of static shared memory a scratch kernel declares: 48 KB. */
#define FACET_SHARED_SCRATCH_FLOATS (48 * 1024 / 4)

#define FACET_SHARED_SCRATCH(name, stride)                                                         \
    __shared__ float name##_block[FACET_SHARED_SCRATCH_FLOATS];                                    \
    float *name = name##_block + threadIdx.x * (stride)

/* Floats per thread for a need of `need` floats: the odd number at or above it (at least 1). */
static inline constexpr int facet_shared_scratch_stride(int need) {
    return need < 1 ? 1 : need | 1;
}

/* Threads per block for slices of `stride` floats: 64, 32, 16, 8 or 4; 0 when 4 do not fit. */
static inline constexpr int facet_shared_scratch_threads(int stride) {
    return stride * 64 <= FACET_SHARED_SCRATCH_FLOATS   ? 64
           : stride * 32 <= FACET_SHARED_SCRATCH_FLOATS ? 32
           : stride * 16 <= FACET_SHARED_SCRATCH_FLOATS ? 16
           : stride * 8 <= FACET_SHARED_SCRATCH_FLOATS  ? 8
           : stride * 4 <= FACET_SHARED_SCRATCH_FLOATS  ? 4
                                                        : 0;
}

#endif
