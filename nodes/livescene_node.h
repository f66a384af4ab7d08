/* The `livescene` node kind: a LiveScene interactive radiance field in the scene graph.
 *
 * Scene JSON: {"type": "livescene", "name": "kitchen", "weights": "kitchen.safetensors",
 *              "kappa": {"drawer": 0.3}, "plane_dtype": "f32" | "f16" | "bf16",
 *              "mlp_dtype": "f32" | "f16",
 *              "descriptions": {"drawer": "the top drawer of the white cabinet"}}
 * Objects are the model's (mapping.yaml names); kappa defaults to 0. Rays are mapped into the
 * model frame with the weights' dataparser transform, so dataset cameras in their original frame
 * render correctly. "mlp_dtype": "f16" runs the networks as tiny-cuda-nn does, half operands, with
 * fp32 sums (fields/tcnn_mlp_half.h): on tensor cores in the CUDA renderer, per point on the CPU
 * (the reference, slower than the default f32 path's sample blocks).
 *
 * Colour: LiveScene predicts display-encoded (sRGB) colour and composites over its background in
 * that space (official eval: white, clamped). The node composites over the scene's background
 * (its radiance along the ray, sRGB-encoded), clamps, decodes to linear and reports full coverage,
 * so a LiveScene-only render writes back the official pixels. Auxiliary outputs: one probability
 * per object plus the background (softmax of the volume-rendered logits). */
#ifndef FACET_NODES_LIVESCENE_NODE_H
#define FACET_NODES_LIVESCENE_NODE_H

#include "fields/livescene.h"
#include "render/scene.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const facet_node_kind facet_livescene_node_kind;

/* The model behind a livescene node (read-only: weights, language features, object names), or
 * NULL when `node` is of another kind. For readers outside nodes/ (language grounding), which
 * must not see the node's private state. */
const facet_livescene_model *facet_livescene_node_model(const facet_node *node);

#ifdef __cplusplus
}
#endif
#endif
