/* CUDA launcher of the livescene node: one thread per ray running the same per-ray function as
 * the CPU path (render/livescene_ray.h); the whole sample chain stays in registers and local
 * memory. The weights are copied to the device once, on the first CUDA render. */
#include "core/cuda/check.h"
#include "render/composite.h"
#include "render/livescene_state.h"

#include <stdlib.h>
#include <string.h>

namespace {

struct device_copy {
    facet_livescene_field field; /* the host view with every pointer replaced by its device copy */
    int count;
    void **buffers;
};

struct kappa_vector {
    float values[FACET_LS_MAX_OBJECTS];
};

struct frame_params {
    float transform[12];
    float scale;
    facet_background_mode background_mode;
    float background[3];
};

const void *translate(const facet_livescene_model *m, const device_copy *copy, const void *host) {
    for (int i = 0; i < m->buffer_count; i++)
        if (m->buffers[i] == host) return copy->buffers[i];
    return host; /* NULL stays NULL */
}

facet_status upload(livescene_state *state, const facet_node *node) {
    const facet_livescene_model *m = &state->model;
    device_copy *copy = (device_copy *)calloc(1, sizeof *copy);
    if (!copy) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    copy->buffers = (void **)calloc((size_t)m->buffer_count, sizeof(void *));
    if (!copy->buffers) {
        free(copy);
        return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    }
    state->device = copy;
    for (int i = 0; i < m->buffer_count; i++) {
        const size_t bytes = m->buffer_info[i].bytes;
        cudaError_t err = cudaMalloc(&copy->buffers[i], bytes);
        if (err == cudaSuccess) {
            copy->count++;
            err = cudaMemcpy(copy->buffers[i], m->buffers[i], bytes, cudaMemcpyHostToDevice);
        }
        if (err != cudaSuccess)
            return facet_fail(FACET_ERR_CUDA, "uploading node '%s' to the GPU: tensor '%s': %s",
                              node->name, m->buffer_info[i].name, cudaGetErrorString(err));
    }
    facet_livescene_field f = m->field;
    auto fix_kplanes = [&](facet_kplanes &k) {
        for (int p = 0; p < facet_kplanes_plane_count(k.dims); p++)
            k.planes[p] = translate(m, copy, k.planes[p]);
    };
    auto fix_mlp = [&](facet_mlp &n) {
        for (int l = 0; l < n.layers; l++)
            n.weight[l] = (const float *)translate(m, copy, n.weight[l]);
        n.bias0 = (const float *)translate(m, copy, n.bias0);
    };
    for (int i = 0; i < f.scales; i++) fix_kplanes(f.grids[i]);
    fix_mlp(f.sigma_net);
    fix_mlp(f.color_net);
    for (int i = 0; i < f.proposals; i++) {
        fix_kplanes(f.proposal_grids[i]);
        fix_mlp(f.density_net[i]);
    }
    fix_kplanes(f.probability_grid);
    fix_mlp(f.semantic_net);
    copy->field = f;
    return FACET_OK;
}

__global__ void livescene_kernel(facet_livescene_field field, facet_livescene_sampling sampling,
                                 kappa_vector kappa, frame_params frame, facet_envmap_view env,
                                 const facet_ray *rays, int64_t count, facet_ray_result *out,
                                 float *aux) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    float o[3], d[3], background[3];
    facet_ls_to_model_frame(frame.transform, frame.scale, rays[i].origin, rays[i].direction, o, d);
    facet_livescene_ray_output r;
    facet_ls_render_ray(&field, &sampling, o, d, kappa.values, &r);
    facet_background_radiance(frame.background_mode, frame.background, &env, rays[i].direction,
                              background);
    const int classes = field.objects + 1;
    facet_ls_finish(&r, background, frame.scale, classes, &out[i], aux ? aux + i * classes : NULL);
}

} // namespace

extern "C" facet_status facet_livescene_render_cuda(const facet_node *node,
                                                    const facet_scene *scene,
                                                    const facet_envmap_view *device_env,
                                                    const facet_ray *rays, int64_t count,
                                                    facet_ray_result *out, float *aux) {
    livescene_state *state = (livescene_state *)node->state;
    if (!state->device) {
        facet_status s = upload(state, node);
        if (s != FACET_OK) {
            facet_livescene_device_free(state);
            return s;
        }
    }
    const device_copy *copy = (const device_copy *)state->device;
    kappa_vector kappa = {};
    for (int i = 0; i < node->object_count; i++) kappa.values[i] = node->kappa[i];
    frame_params frame;
    memcpy(frame.transform, state->model.dataparser_transform, sizeof frame.transform);
    frame.scale = state->model.dataparser_scale;
    frame.background_mode = scene->background_mode;
    for (int c = 0; c < 3; c++) frame.background[c] = scene->background[c];
    const int threads = 128;
    const unsigned blocks = (unsigned)((count + threads - 1) / threads);
    livescene_kernel<<<blocks, threads>>>(copy->field, state->sampling, kappa, frame, *device_env,
                                          rays, count, out, aux);
    FACET_CUDA_CHECK(cudaGetLastError());
    return FACET_OK;
}

extern "C" void facet_livescene_device_free(livescene_state *state) {
    device_copy *copy = (device_copy *)state->device;
    if (!copy) return;
    for (int i = 0; i < state->model.buffer_count; i++)
        if (copy->buffers[i]) cudaFree(copy->buffers[i]);
    free(copy->buffers);
    free(copy);
    state->device = NULL;
}
