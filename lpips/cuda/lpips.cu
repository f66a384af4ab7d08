/* LPIPS's per-element ops on CUDA (lpips/lpips_internal.h), one thread per element or pixel, on
 * the functions of lpips/lpips_ops.h that the CPU loops of lpips/lpips.c call. The backbone runs
 * on nn/'s CUDA ops. */
#include "core/cuda/check.h"
#include "core/cuda/launch.h"
#include "lpips/lpips_internal.h"
#include "lpips/lpips_ops.h"

namespace {

const int THREADS = 256;

unsigned blocks_for(size_t n) {
    size_t b = (n + THREADS - 1) / THREADS;
    return (unsigned)(b > 65535 * 16 ? 65535 * 16 : (b ? b : 1));
}

/* x [3, h, w] from the image rgb [h, w, 3]. */
__global__ void input_kernel(const float *rgb, int h, int w, int convention, float *x) {
    const size_t n = (size_t)3 * h * w;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t plane = (size_t)h * w;
        x[i] = facet_lpips_input(rgb, h, w, (int)(i / plane), (int)(i % plane / w), (int)(i % w),
                                 convention);
    }
}

__global__ void unit_kernel(const float *f, int channels, size_t hw, float *u) {
    for (size_t p = blockIdx.x * (size_t)blockDim.x + threadIdx.x; p < hw;
         p += (size_t)gridDim.x * blockDim.x)
        facet_lpips_unit_pixel(f, channels, hw, p, u);
}

__global__ void head_kernel(const float *ua, const float *fb, const float *w, int channels,
                            size_t hw, float *d) {
    for (size_t p = blockIdx.x * (size_t)blockDim.x + threadIdx.x; p < hw;
         p += (size_t)gridDim.x * blockDim.x)
        d[p] = facet_lpips_head_pixel(ua, fb, w, channels, hw, p);
}

} // namespace

extern "C" facet_status facet_lpips_cuda_input(const float *rgb, int h, int w, int convention,
                                               float *x) {
    FACET_LAUNCH(input_kernel, blocks_for((size_t)3 * h * w), THREADS)(rgb, h, w, convention, x);
    FACET_CUDA_CHECK(cudaGetLastError());
    return FACET_OK;
}

extern "C" facet_status facet_lpips_cuda_unit(const float *f, int channels, size_t hw, float *u) {
    FACET_LAUNCH(unit_kernel, blocks_for(hw), THREADS)(f, channels, hw, u);
    FACET_CUDA_CHECK(cudaGetLastError());
    return FACET_OK;
}

extern "C" facet_status facet_lpips_cuda_head(const float *ua, const float *fb, const float *w,
                                              int channels, size_t hw, float *d) {
    FACET_LAUNCH(head_kernel, blocks_for(hw), THREADS)(ua, fb, w, channels, hw, d);
    FACET_CUDA_CHECK(cudaGetLastError());
    return FACET_OK;
}
