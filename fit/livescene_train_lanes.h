/* The CPU trainer's forward pass of a ray with the samples of each level in blocks of
 * FACET_LANES (nodes/livescene_lanes.h): facet_livescene_train_ray_run_scratch
 * (fit/livescene_train.h), the same record bit for bit, with the per-sample networks vectorised
 * across samples. */
#ifndef FACET_FIT_LIVESCENE_TRAIN_LANES_H
#define FACET_FIT_LIVESCENE_TRAIN_LANES_H

#include "livescene_train.h"

void facet_livescene_train_ray_run_lanes(const facet_livescene_field *f, int levels,
                                         const int *samples, float anneal, unsigned long long seed,
                                         int step, int batch, int i,
                                         const facet_livescene_ray_input *in,
                                         facet_livescene_train_ray *r);

/* facet_livescene_train_backward_scratch (fit/livescene_train.h) with the networks' forward and
 * backward passes in blocks of FACET_LANES samples: the same gradients bit for bit (every buffer
 * receives the same terms in the same order). The planes' gradients stay per sample. */
void facet_livescene_train_backward_lanes(const facet_livescene_field *f,
                                          const facet_livescene_field *grad, int levels,
                                          facet_livescene_train_ray *r, const float *drgb,
                                          float (*dw)[FACET_LIVESCENE_MAX_SAMPLES]);

#endif
