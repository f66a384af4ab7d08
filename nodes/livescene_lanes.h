/* LiveScene's ray rendering on the CPU with the samples of a level in blocks of FACET_LANES
 * (fields/tcnn_mlp_lanes.h): the same stages as facet_livescene_render_ray (nodes/livescene_ray.h),
 * the same result bit for bit, with the networks evaluated across the samples of a block at once.
 * The per-ray form stays the reference and the CUDA path. */
#ifndef FACET_NODES_LIVESCENE_LANES_H
#define FACET_NODES_LIVESCENE_LANES_H

#include "livescene_ray.h"

/* facet_livescene_render_ray, sample-batched: o, d (unit) in the model frame, kappa[alpha]. */
void facet_livescene_render_ray_lanes(const facet_livescene_field *f,
                                      const facet_livescene_sampling *sampling, const float *o,
                                      const float *d, const float *kappa,
                                      facet_livescene_ray_output *out);

#endif
