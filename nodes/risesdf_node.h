/* The `risesdf` node kind: a RISE-SDF neural signed-distance field with its material heads
 * (fields/risesdf.h), lit by the scene's environment through the split-sum (lighting/lighting.h,
 * splitsum.h), sphere-traced (risesdf_ray.h) or volume-rendered as the official code
 * (risesdf_volume.h), on the CPU and on CUDA.
 *
 * Scene JSON (every key but "weights" optional):
 *   {"type": "risesdf", "name": "model",
 *    "weights": "model.safetensors",       facet-risesdf weights (fields/risesdf_format.md),
 *                                          relative to the scene file
 *    "mode": "sphere_trace" | "volume",    default "sphere_trace"
 *    "lighting": "quality" | "parity" | {"mode": ..., "size": 512, "samples": 64},
 *    "max_steps": 256, "epsilon": 5e-4, "step_scale": 1,
 *    "indirect": "off" | "parity" | "quality", "indirect_max_roughness": 0.3}
 * The field lives in its own frame: world = model coordinates (the box [-1.5, 1.5]^3 of the
 * official training). "lighting" as the sdf node (sdf_node.h).
 * "mode":
 *   "sphere_trace" (the fast path): march by the sdf to the surface ("max_steps", "epsilon": sdf
 *     hit threshold in world units, "step_scale": fraction of the sdf stepped), shade the hit;
 *     alpha 1 on a hit, 0 on a miss, depth the hit distance.
 *   "volume" (parity with the official renderer): NeuS volume rendering with the weights' NeuS
 *     variance, nerfacc's 128^3 occupancy grid (built at load from the sdf, ~1 s for the small
 *     test field and ~3 s for the official size on 2 cores), uniform steps of 1.732 * 3 / 1024
 *     over the occupied cells, every sample shaded and the results weight-summed; alpha is the
 *     opacity (the renderer composites the background through 1 - alpha, as the official white
 *     background), depth the weighted mean distance. The march keys are ignored.
 * "indirect" turns on the second split-sum (official relighting) for pixels with roughness <=
 * "indirect_max_roughness" (official 0.3): "parity" looks the secondary specular up along the
 * secondary ray itself as the official code, "quality" along its reflection. In "volume" mode the
 * secondary ray is the official one: from the accumulated depth along the reflection about the
 * accumulated normal, for pixels with opacity > 0.5, marched with the official 96 samples over
 * t in [0.05, 1.5], its transmittance blending the primary and secondary specular light. In
 * "sphere_trace" mode it is traced by the sdf instead (a hard hit or miss: transmittance 0 or 1).
 * The official relighting setting is {"mode": "volume", "lighting": "parity", "indirect":
 * "parity"}. The node reports premultiplied linear RGB. */
#ifndef FACET_NODES_RISESDF_NODE_H
#define FACET_NODES_RISESDF_NODE_H

#include "render/scene.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const facet_node_kind facet_risesdf_node_kind;

#ifdef __cplusplus
}
#endif
#endif
