/* CUDA launchers of the split-sum prefilter (lighting/prefilter.h): one thread per output texel
 * running the same per-texel functions as the CPU loops, and the device copy of a lighting. */
#include "core/cuda/check.h"
#include "core/cuda/launch.h"
#include "lighting/dfg_lut.h"
#include "lighting/lighting.h"

#include <stdlib.h>
#include <string.h>

namespace {

__global__ void prefilter_kernel(facet_prefilter_level p, float *out) {
    const int n = p.size;
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= 6 * (int64_t)n * n) return;
    int face = (int)(i / ((int64_t)n * n)), y = (int)(i / n % n), x = (int)(i % n);
    facet_prefilter_texel(&p, face, x, y, out + facet_cube_texel_offset(n, face, x, y));
}

__global__ void irradiance_kernel(facet_irradiance_source source, int n, float *out) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= 6 * (int64_t)n * n) return;
    int face = (int)(i / ((int64_t)n * n)), y = (int)(i / n % n), x = (int)(i % n);
    facet_irradiance_texel(&source, n, face, x, y, out + facet_cube_texel_offset(n, face, x, y));
}

unsigned blocks_for(int n, int threads) {
    return (unsigned)((6 * (int64_t)n * n + threads - 1) / threads);
}

struct device_scratch {
    float *chain = nullptr, *area = nullptr, *table = nullptr, *out = nullptr;
    ~device_scratch() {
        cudaFree(chain);
        cudaFree(area);
        cudaFree(table);
        cudaFree(out);
    }
};

} // namespace

extern "C" facet_status facet_lighting_prefilter_cuda(const facet_cube *chain,
                                                      facet_lighting *out) {
    const int size = out->options.size, levels = out->specular.levels;
    device_scratch d;
    size_t chain_floats = 0;
    for (int l = 0; l < chain->levels; l++)
        chain_floats += facet_cube_level_floats(chain->sizes[l]);
    FACET_CUDA_CHECK(cudaMalloc(&d.chain, chain_floats * sizeof(float)));
    /* the level pointer is replaced by its device copy below */
    facet_irradiance_source irradiance = facet_lighting_irradiance_source(out, &chain->view);
    const int dm = irradiance.size, dn = out->view.diffuse_size;
    const size_t area_floats = (size_t)(size > dm * dm ? size : dm * dm);
    FACET_CUDA_CHECK(cudaMalloc(&d.area, area_floats * sizeof(float)));
    const int samples = out->options.samples;
    FACET_CUDA_CHECK(cudaMalloc(&d.table, (size_t)(samples + 1) * 5 * sizeof(float)));
    FACET_CUDA_CHECK(cudaMalloc(&d.out, facet_cube_level_floats(size) * sizeof(float)));
    facet_cube_view device_chain = chain->view;
    size_t offset = 0;
    for (int l = 0; l < chain->levels; l++) {
        size_t floats = facet_cube_level_floats(chain->sizes[l]);
        FACET_CUDA_CHECK(cudaMemcpy(d.chain + offset, chain->level[l], floats * sizeof(float),
                                    cudaMemcpyHostToDevice));
        device_chain.level[l] = d.chain + offset;
        offset += floats;
    }
    float *area = (float *)malloc(area_floats * sizeof(float));
    float *table = (float *)malloc((size_t)(samples + 1) * 5 * sizeof(float));
    if (!area || !table) {
        free(area);
        free(table);
        return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    }
    const int threads = 128;
    /* diffuse irradiance (parity: the 16^2 box level; quality: the 64^2 one) */
    facet_cube_texel_weights(dm, !irradiance.official, area);
    irradiance = facet_lighting_irradiance_source(out, &device_chain);
    irradiance.weight = d.area;
    cudaError_t err =
        cudaMemcpy(d.area, area, (size_t)dm * dm * sizeof(float), cudaMemcpyHostToDevice);
    if (err == cudaSuccess) {
        FACET_LAUNCH(irradiance_kernel, blocks_for(dn, threads), threads)
        (irradiance, dn, d.out);
        err = cudaGetLastError();
    }
    if (err == cudaSuccess)
        err = cudaMemcpy(out->diffuse, d.out, facet_cube_level_floats(dn) * sizeof(float),
                         cudaMemcpyDeviceToHost);
    for (int i = 0; err == cudaSuccess && i < levels; i++) {
        facet_prefilter_level p;
        facet_lighting_level_setup(out, i, &p);
        if (p.mode == FACET_PREFILTER_PARITY) {
            facet_cube_area_table(p.size, area);
            err = cudaMemcpy(d.area, area, (size_t)p.size * sizeof(float), cudaMemcpyHostToDevice);
            p.source = device_chain.level[i];
            p.area = d.area;
        } else {
            p.chain = device_chain;
            if (!out->view.ladder) {
                p.samples = facet_prefilter_sample_table(p.alpha2, samples, size, table);
                p.table = d.table;
                err = cudaMemcpy(d.table, table, (size_t)p.samples * 5 * sizeof(float),
                                 cudaMemcpyHostToDevice);
            }
        }
        if (err != cudaSuccess) break;
        FACET_LAUNCH(prefilter_kernel, blocks_for(p.size, threads), threads)(p, d.out);
        err = cudaGetLastError();
        if (err == cudaSuccess)
            err =
                cudaMemcpy(out->specular.level[i], d.out,
                           facet_cube_level_floats(p.size) * sizeof(float), cudaMemcpyDeviceToHost);
    }
    free(area);
    free(table);
    if (err != cudaSuccess)
        return facet_fail(FACET_ERR_CUDA, "%s:%d: prefiltering the environment on CUDA: %s",
                          __FILE__, __LINE__, cudaGetErrorString(err));
    /* the kernels write interior texels; borders come from the neighbouring faces */
    facet_cube_fill_borders(out->diffuse, dn);
    for (int i = 0; i < levels; i++)
        facet_cube_fill_borders(out->specular.level[i], out->specular.sizes[i]);
    return FACET_OK;
}

extern "C" facet_status facet_lighting_upload(const facet_lighting *lighting,
                                              facet_lighting_device *device) {
    memset(device, 0, sizeof *device);
    const facet_cube *spec = &lighting->specular;
    const size_t diffuse_floats = facet_cube_level_floats(lighting->view.diffuse_size);
    const size_t dfg_floats = (size_t)FACET_DFG_SIZE * FACET_DFG_SIZE * 2;
    size_t total = diffuse_floats + dfg_floats;
    for (int l = 0; l < spec->levels; l++) total += facet_cube_level_floats(spec->sizes[l]);
    float *memory = nullptr;
    FACET_CUDA_CHECK(cudaMalloc(&memory, total * sizeof(float)));
    device->memory = memory;
    device->view = lighting->view;
    size_t offset = 0;
    cudaError_t err = cudaSuccess;
    for (int l = 0; err == cudaSuccess && l < spec->levels; l++) {
        size_t floats = facet_cube_level_floats(spec->sizes[l]);
        err = cudaMemcpy(memory + offset, spec->level[l], floats * sizeof(float),
                         cudaMemcpyHostToDevice);
        device->view.specular.level[l] = memory + offset;
        offset += floats;
    }
    if (err == cudaSuccess)
        err = cudaMemcpy(memory + offset, lighting->diffuse, diffuse_floats * sizeof(float),
                         cudaMemcpyHostToDevice);
    device->view.diffuse = memory + offset;
    offset += diffuse_floats;
    if (err == cudaSuccess)
        err = cudaMemcpy(memory + offset, lighting->view.dfg, dfg_floats * sizeof(float),
                         cudaMemcpyHostToDevice);
    device->view.dfg = memory + offset;
    if (err != cudaSuccess) {
        facet_lighting_device_free(device);
        return facet_fail(FACET_ERR_CUDA, "%s:%d: uploading the environment lighting: %s", __FILE__,
                          __LINE__, cudaGetErrorString(err));
    }
    return FACET_OK;
}

extern "C" void facet_lighting_device_free(facet_lighting_device *device) {
    cudaFree(device->memory);
    memset(device, 0, sizeof *device);
}
