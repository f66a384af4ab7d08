/* The livescene node's private state, shared by its CPU file and its CUDA file. */
#ifndef FACET_NODES_LIVESCENE_STATE_H
#define FACET_NODES_LIVESCENE_STATE_H

#include "livescene_ray.h"
#include "render/scene.h"

#include "fields/livescene.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct livescene_state {
    facet_livescene_model model;
    facet_livescene_sampling sampling;
    /* "mlp_dtype": "f16": every network's fp16 pack (fields/tcnn_mlp_half.h), one 32-byte aligned
     * block of mlp_pack_bytes that model.field's networks point into (NULL for "f32"). */
    void *mlp_pack;
    size_t mlp_pack_bytes;
    /* CUDA copy of the weights, made on the first CUDA render (NULL until then). Published only
     * complete, under cuda/livescene_node.cu's upload lock, with release semantics: readers load it
     * with acquire semantics. */
    void *device;
} livescene_state;

/* Releases the CUDA copy (no-op without CUDA or when none was made). */
void facet_livescene_device_free(livescene_state *state);

/* The node kind's render_cuda (nodes/cuda/livescene_node.cu). */
facet_status facet_livescene_render_cuda(const facet_node *node, const facet_scene *scene,
                                         const facet_envmap_view *device_env, const facet_ray *rays,
                                         int64_t count, facet_ray_result *out, float *aux);

#ifdef __cplusplus
}
#endif
#endif
