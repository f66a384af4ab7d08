/* The sdf node's private state, shared by its CPU file and its CUDA file. */
#ifndef FACET_NODES_SDF_STATE_H
#define FACET_NODES_SDF_STATE_H

#include "lighting/lighting.h"
#include "render/scene.h"
#include "sdf_ray.h"
#include "sdf_reference.h"

#include "lighting/env_sampling.h"

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
    /* reference mode (lighting_options.reference_samples > 0): no split-sum lighting, but the
     * sampling tables of the environment of the last render, guarded by `lock` */
    facet_env_distribution dist;
    uint64_t dist_key; /* what `dist` was built from (0: nothing yet) */
} sdf_state;

/* Reference mode: brings state->dist up to date with the scene's environment (built on the
 * first render under a map) and fills *e with host pointers (map texels, tables), the scene's
 * background as the constant environment, the sample count and the scene's sample pass.
 * Thread-safe (takes state->lock). */
facet_status facet_sdf_reference_setup(sdf_state *state, const facet_scene *scene,
                                       facet_sdf_reference_env *e);

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
