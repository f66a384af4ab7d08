/* The magnitudes behind a fit step's gradient sums, for the bound on sums taken in another order
 * (tests/gpu/parity_fit.c): the CPU's per-ray backward pass (fit/livescene_train.h) compiled here
 * with FACET_GRAD_ADD adding |term| instead of the term, so each gradient element receives
 * sum |t| over the same terms the signed pass adds. */
#include <math.h>

#define FACET_GRAD_ADD(ptr, value) (*(ptr) += fabsf(value))

#include "parity_fit_magnitude.h"

void parity_fit_gradient_magnitudes(const facet_livescene_field *f,
                                    const facet_livescene_field *magnitudes,
                                    facet_livescene_train_ray *rays, int batch,
                                    const facet_livescene_loss_weights *w) {
    const int levels = f->proposals;
    for (int i = 0; i < batch; i++) {
        float dw[FACET_LIVESCENE_MAX_LEVELS][FACET_LIVESCENE_MAX_SAMPLES], drgb[3];
        double interlevel = 0.0, distortion = 0.0;
        facet_livescene_ray_losses(&rays[i], levels, batch, w, dw, drgb, &interlevel, &distortion);
        facet_livescene_train_backward(f, magnitudes, levels, &rays[i], drgb, dw);
    }
}
