/* The `risesdf` node kind: a RISE-SDF neural signed-distance field with its material heads
 * (fields/risesdf.h), lit by the scene's environment through the split-sum (render/lighting.h,
 * splitsum.h) and rendered by sphere tracing (risesdf_ray.h), on the CPU and on CUDA.
 *
 * Scene JSON (every key but "weights" optional):
 *   {"type": "risesdf", "name": "model",
 *    "weights": "model.safetensors",       facet-risesdf weights (fields/risesdf_format.md),
 *                                          relative to the scene file
 *    "mode": "sphere_trace",               the only render mode of this version
 *    "lighting": "quality" | "parity" | {"mode": ..., "size": 512, "samples": 64},
 *    "max_steps": 256, "epsilon": 5e-4, "step_scale": 1,
 *    "indirect": "off" | "parity" | "quality", "indirect_max_roughness": 0.3}
 * The field lives in its own frame: world = model coordinates (the box [-1.5, 1.5]^3 of the
 * official training). "lighting" as the sdf node (sdf_node.h). "max_steps", "epsilon" (sdf hit
 * threshold, world units) and "step_scale" (fraction of the sdf stepped) tune the march.
 * "indirect" turns on the second split-sum (risesdf_ray.h) for hits with roughness <=
 * "indirect_max_roughness": "parity" looks the secondary specular up along the secondary ray
 * itself as the official code, "quality" along its reflection.
 * The node reports premultiplied linear RGB, alpha 1 on a hit, and the hit distance as depth. */
#ifndef FACET_RENDER_RISESDF_NODE_H
#define FACET_RENDER_RISESDF_NODE_H

#include "scene.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const facet_node_kind facet_risesdf_node_kind;

#ifdef __cplusplus
}
#endif
#endif
