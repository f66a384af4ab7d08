/* Device copies of the environment sampling tables (lighting/env_sampling.h). */
#include "core/cuda/check.h"
#include "lighting/env_sampling.h"

#include <string.h>

extern "C" facet_status facet_env_distribution_upload(const facet_env_distribution *dist,
                                                      facet_env_distribution *device) {
    memset(device, 0, sizeof *device);
    device->view = dist->view;
    if (dist->view.uniform) return FACET_OK;
    const size_t floats =
        (size_t)(dist->view.height + 1) + (size_t)dist->view.height * (dist->view.width + 1);
    float *memory = nullptr;
    FACET_CUDA_CHECK(cudaMalloc(&memory, floats * sizeof(float)));
    cudaError_t err =
        cudaMemcpy(memory, dist->memory, floats * sizeof(float), cudaMemcpyHostToDevice);
    if (err != cudaSuccess) {
        cudaFree(memory);
        return facet_fail(FACET_ERR_CUDA, "%s:%d: uploading the environment sampling tables: %s",
                          __FILE__, __LINE__, cudaGetErrorString(err));
    }
    device->memory = memory;
    device->view.row_cdf = memory;
    device->view.col_cdf = memory + dist->view.height + 1;
    return FACET_OK;
}

extern "C" void facet_env_distribution_device_free(facet_env_distribution *device) {
    cudaFree(device->memory);
    memset(device, 0, sizeof *device);
}
