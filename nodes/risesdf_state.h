/* The risesdf node's private state, shared by its CPU file and its CUDA file. */
#ifndef FACET_NODES_RISESDF_STATE_H
#define FACET_NODES_RISESDF_STATE_H

#include "lighting/lighting.h"
#include "risesdf_ray.h"
#include "risesdf_volume.h"
#include "render/scene.h"

#include "fields/risesdf.h"

#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct risesdf_state {
    facet_risesdf_model model;       /* host weights; params.field points into it */
    facet_risesdf_ray_params params; /* host views */
    uint32_t *occupied;              /* "volume" mode: the occupancy bits (params.occupied) */
    int64_t occupied_count;          /* occupied cells */
    facet_lighting_options lighting_options;
    pthread_mutex_t lock;     /* guards `lighting` and `device` during renders */
    facet_lighting *lighting; /* shared, for the environment of the last render (NULL before) */
    void *device;             /* CUDA copies of the weights and lighting (NULL until first use) */
} risesdf_state;

/* Releases the CUDA copies (no-op without CUDA or when none was made). */
void facet_risesdf_device_free(risesdf_state *state);

/* The node kind's render_cuda (nodes/cuda/risesdf_node.cu). */
facet_status facet_risesdf_render_cuda(const facet_node *node, const facet_scene *scene,
                                       const facet_envmap_view *device_env, const facet_ray *rays,
                                       int64_t count, facet_ray_result *out, float *aux);

#ifdef __cplusplus
}
#endif
#endif
