/* Per-thread scratch in static shared memory, for kernels whose per-element functions take a
 * `float *scratch` (docs/architecture.md, "the twin rule"): a kernel instantiated for FLOATS floats
 * per thread declares `__shared__ float s[facet_shared_scratch<FLOATS>::threads * FLOATS]` and
 * hands thread t the slice s + t * FLOATS. FLOATS is odd, so the threads of a warp reading one
 * offset fall in 32 different banks; `threads` is the most of 64, 32, 16, 8, 4 whose slices fit the
 * 48 KB of static shared memory, and the block size to launch with. */
#ifndef FACET_CORE_CUDA_SHARED_SCRATCH_H
#define FACET_CORE_CUDA_SHARED_SCRATCH_H

template <int FLOATS> struct facet_shared_scratch {
    static_assert(FLOATS % 2 == 1, "an odd stride keeps a warp's slices in distinct banks");
    static const int fit = 48 * 1024 / (FLOATS * 4);
    static const int threads = fit >= 64 ? 64 : fit >= 32 ? 32 : fit >= 16 ? 16 : fit >= 8 ? 8 : 4;
    static_assert(threads * FLOATS * 4 <= 48 * 1024, "more scratch than static shared memory");
};

#endif
