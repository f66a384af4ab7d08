/* CPU-only build: the lighting's CUDA functions report that CUDA is absent. */
#include "env_sampling.h"
#include "lighting.h"

#include <string.h>

static facet_status no_cuda(void) {
    return facet_fail(FACET_ERR_CUDA, "environment lighting on CUDA: facet was built without CUDA "
                                      "(configure with nvcc installed, or -DFACET_CUDA=ON)");
}

facet_status facet_lighting_prefilter_cuda(const facet_cube *chain, facet_lighting *out) {
    (void)chain, (void)out;
    return no_cuda();
}

facet_status facet_lighting_upload(const facet_lighting *lighting, facet_lighting_device *device) {
    (void)lighting;
    memset(device, 0, sizeof *device);
    return no_cuda();
}

void facet_lighting_device_free(facet_lighting_device *device) {
    memset(device, 0, sizeof *device);
}

facet_status facet_env_distribution_upload(const facet_env_distribution *dist,
                                           facet_env_distribution *device) {
    (void)dist;
    memset(device, 0, sizeof *device);
    return no_cuda();
}

void facet_env_distribution_device_free(facet_env_distribution *device) {
    memset(device, 0, sizeof *device);
}
