/* The sdf node's private state, shared by its CPU file and its CUDA file. */
#ifndef FACET_NODES_SDF_STATE_H
#define FACET_NODES_SDF_STATE_H

#include "lighting/lighting.h"
#include "render/scene.h"
#include "sdf_ray.h"

#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sdf_state {
    facet_sdf_ray_params params;
    facet_lighting_options lighting_options;
    pthread_mutex_t lock;     /* guards `lighting` and `device` during renders */
    facet_lighting *lighting; /* shared, for the environment of the last render (NULL before) */
    void *device;             /* CUDA copy of `lighting` (NULL until the first CUDA render) */
} sdf_state;

/* Releases the CUDA copy (no-op without CUDA or when none was made). */
void facet_sdf_device_free(sdf_state *state);

/* The node kind's render_cuda (nodes/cuda/sdf_node.cu). */
facet_status facet_sdf_render_cuda(const facet_node *node, const facet_scene *scene,
                                   const facet_envmap_view *device_env, const facet_ray *rays,
                                   int64_t count, facet_ray_result *out, float *aux);

#ifdef __cplusplus
}
#endif
#endif
