/* Sums of |term| of a fit step's ray gradients (tests/gpu/parity_fit_magnitude.c). */
#ifndef FACET_TESTS_GPU_PARITY_FIT_MAGNITUDE_H
#define FACET_TESTS_GPU_PARITY_FIT_MAGNITUDE_H

#include "fit/livescene_train.h"

/* Adds to `magnitudes` (a zeroed gradient field) sum |t| over the terms t that the backward pass
 * of the batch's rays adds to each gradient element. rays: after their forward pass and the batch
 * terms (facet_livescene_batch_backward leaves the logits' gradients in them); w as for that
 * step. The plane regularisers are not included. */
void parity_fit_gradient_magnitudes(const facet_livescene_field *f,
                                    const facet_livescene_field *magnitudes,
                                    facet_livescene_train_ray *rays, int batch,
                                    const facet_livescene_loss_weights *w);

#endif
