/* The `sdf` node kind: analytic signed-distance shapes with a simplified Disney material, lit by
 * the scene's environment through the split-sum (lighting/lighting.h, splitsum.h) and rendered by
 * sphere tracing (sphere_trace.h), on the CPU and on CUDA.
 *
 * Scene JSON (docs/formats.md; every key but "shape" optional):
 *   {"type": "sdf", "name": "ball",
 *    "shape": {"sphere": {"center": [0, 0, 0], "radius": 1}},    one shape, or an array of them
 *                                                               (their union, up to 8)
 *    "material": {"base_color": [0.8, 0.8, 0.8], "roughness": 0.5, "metallic": 0},
 *    "translate": [0, 0, 0], "rotate_deg": [0, 0, 0], "scale": 1,
 *    "normals": "analytic" | "central",
 *    "lighting": "quality" | "parity" | {"mode": ..., "size": 512, "samples": 64},
 *    "max_distance": 100}
 * Shapes and the transform: sdf_shapes.h (sphere center defaults to the origin, torus axis to
 * [0, 0, 1]). "lighting" picks the prefilter (prefilter.h): "quality" (default) filters the
 * unclamped map by importance sampling; "parity" is the official RISE-SDF/nvdiffrec path (map
 * clamped to [0,1], 99%-cone brute force); "size" is the cube face size, "samples" the quality
 * mode's samples per texel. "max_distance" bounds the march for unbounded shapes (planes).
 * Without an environment map the node is lit by a constant environment of the background colour.
 * The node reports premultiplied linear RGB, alpha 1 on a hit, and the hit distance as depth. */
#ifndef FACET_NODES_SDF_NODE_H
#define FACET_NODES_SDF_NODE_H

#include "render/scene.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const facet_node_kind facet_sdf_node_kind;

#ifdef __cplusplus
}
#endif
#endif
