/* lpips/ without CUDA: every CUDA launcher of lpips/lpips_internal.h fails with FACET_ERR_CUDA. */
#include "lpips/lpips_internal.h"

#define NO_CUDA()                                                                                  \
    facet_fail(FACET_ERR_CUDA, "LPIPS: facet was built without CUDA (configure with nvcc "         \
                               "installed, or -DFACET_CUDA=ON)")

facet_status facet_lpips_cuda_input(const float *rgb, int h, int w, int convention, float *x) {
    (void)rgb, (void)h, (void)w, (void)convention, (void)x;
    return NO_CUDA();
}

facet_status facet_lpips_cuda_unit(const float *f, int channels, size_t hw, float *u) {
    (void)f, (void)channels, (void)hw, (void)u;
    return NO_CUDA();
}

facet_status facet_lpips_cuda_head(const float *ua, const float *fb, const float *w, int channels,
                                   size_t hw, float *d) {
    (void)ua, (void)fb, (void)w, (void)channels, (void)hw, (void)d;
    return NO_CUDA();
}
