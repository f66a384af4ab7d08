/* Adam, as torch.optim.Adam computes it (no weight decay, no amsgrad), for one element: the one
 * implementation the CPU fitting loop and the CUDA Adam kernel share.
 *
 *   m <- b1 m + (1 - b1) g            v <- b2 v + (1 - b2) g^2
 *   p <- p - lr (m / c1) / (sqrt(v / c2) + eps),   c1 = 1 - b1^t, c2 = 1 - b2^t, t = step + 1
 *
 * with b1 = 0.9, b2 = 0.999 and eps = 1e-12 (nerfstudio's Adam for the LiveScene fields). */
#ifndef FACET_FIT_ADAM_H
#define FACET_FIT_ADAM_H

#include "core/hd.h"

#include <math.h>

#define FACET_ADAM_BETA1 0.9f
#define FACET_ADAM_BETA2 0.999f
#define FACET_ADAM_EPS 1e-12f

/* Bias corrections of step `step` (0-based): c[0] = 1 - b1^(step+1), c[1] = 1 - b2^(step+1). */
static inline void facet_adam_corrections(int step, float c[2]) {
    c[0] = 1.0f - powf(FACET_ADAM_BETA1, (float)(step + 1));
    c[1] = 1.0f - powf(FACET_ADAM_BETA2, (float)(step + 1));
}

/* One element's update: moments *m, *v and parameter *p from gradient g. */
static inline FACET_HD void facet_adam_element(float *p, float g, float *m, float *v, float lr,
                                               float c1, float c2) {
    *m = FACET_ADAM_BETA1 * *m + (1.0f - FACET_ADAM_BETA1) * g;
    *v = FACET_ADAM_BETA2 * *v + (1.0f - FACET_ADAM_BETA2) * g * g;
    *p -= lr * (*m / c1) / (sqrtf(*v / c2) + FACET_ADAM_EPS);
}

#endif
