/* LiveScene's ray rendering on the CPU with the samples of a level in blocks of FACET_LANES
 * (fields/tcnn_mlp_lanes.h): the same stages as facet_livescene_render_ray (nodes/livescene_ray.h),
 * the same result bit for bit, with the networks evaluated across the samples of a block at once.
 * The per-ray form stays the reference and the CUDA path. */
#ifndef FACET_NODES_LIVESCENE_LANES_H
#define FACET_NODES_LIVESCENE_LANES_H

#include "livescene_ray.h"

#include "fields/kplanes_lanes.h"
#include "fields/tcnn_mlp_lanes.h"

/* A block of up to FACET_LANES samples: their positions (model frame) and the object the
 * probability field picks at each. Lanes past `count` repeat a valid sample; their results are
 * computed and dropped. */
typedef struct facet_livescene_block {
    int count;
    facet_lanes pos[3];      /* x, y, z */
    int object[FACET_LANES]; /* set by facet_livescene_block_objects */
} facet_livescene_block;

/* Work memory of the block functions, in lanes, at the loader's limits: the final stage holds the
 * features, the sigma net's outputs and then the colour net's inputs and hidden layers. */
enum {
    FACET_LIVESCENE_BLOCK_WORK = FACET_LIVESCENE_MAX_SCALES * FACET_KPLANES_MAX_CHANNELS +
                                 FACET_LIVESCENE_MAX_GEO + 1 + 16 + FACET_LIVESCENE_MAX_GEO +
                                 2 * FACET_MLP_MAX_WIDTH,
};

/* The semantic net's first inputs per lane: sigmoid of the probability grid's features at pos[3]
 * (lanes), features[channels] (facet_livescene_probability_input's first part). */
void facet_livescene_block_probability_features(const facet_livescene_field *f,
                                                const facet_lanes *pos, facet_lanes *features);

/* facet_livescene_block_probability_features that also keeps the grid's plane values (NULL: not
 * kept) and taps, for the fit's backward pass (facet_kplanes_sample_lanes_taps). */
void facet_livescene_block_probability_features_keep(const facet_livescene_field *f,
                                                     const facet_lanes *pos, facet_lanes *features,
                                                     float *plane_values, facet_plane_taps *taps);

/* facet_livescene_probability_scratch per lane: logits[alpha + 1] (lanes) and b->object. */
void facet_livescene_block_objects(const facet_livescene_field *f, facet_livescene_block *b,
                                   const float *kappa, facet_lanes *logits, facet_lanes *work);

/* facet_livescene_proposal_density_scratch per lane at the chosen objects' kappa:
 * sigma[b->count]. */
void facet_livescene_block_proposal(const facet_livescene_field *f, int level,
                                    const facet_livescene_block *b, const float *kappa,
                                    float *sigma, facet_lanes *work);

/* facet_livescene_field_density_scratch and facet_livescene_field_color_scratch per lane:
 * density[FACET_LANES] and rgb[3] (lanes, as the network gives them: no nan_to_num); sh[16] is
 * the ray direction's encoding (facet_sh4_tcnn). */
void facet_livescene_block_final(const facet_livescene_field *f, const facet_livescene_block *b,
                                 const float *kappa, const float *sh, float *density,
                                 facet_lanes *rgb, facet_lanes *work);

/* facet_livescene_render_ray, sample-batched: o, d (unit) in the model frame, kappa[alpha]. */
void facet_livescene_render_ray_lanes(const facet_livescene_field *f,
                                      const facet_livescene_sampling *sampling, const float *o,
                                      const float *d, const float *kappa,
                                      facet_livescene_ray_output *out);

#endif
