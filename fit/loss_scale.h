/* Dynamic loss scaling for fitting with fp16 networks (fields/tcnn_mlp_half_backward.h), as
 * PyTorch's GradScaler runs it (its defaults): the backward pass multiplies the networks'
 * gradients by a scale S so that small ones do not underflow in half; a step whose gradients are
 * not all finite (a half overflowed) is skipped and S halves; after FACET_LOSS_SCALE_INTERVAL
 * finite steps in a row S doubles. S stays a power of two, so unscaling is exact. A skipped step
 * leaves Adam's moments and its step count alone, as GradScaler skips optimizer.step(). */
#ifndef FACET_FIT_LOSS_SCALE_H
#define FACET_FIT_LOSS_SCALE_H

#define FACET_LOSS_SCALE_INITIAL 65536.0f /* torch.cuda.amp.GradScaler init_scale, 2^16 */
#define FACET_LOSS_SCALE_MAX 16777216.0f  /* 2^24: fields/tcnn_mlp_half_backward.h's range */
#define FACET_LOSS_SCALE_INTERVAL 2000    /* GradScaler growth_interval */

typedef struct facet_loss_scaler {
    float scale;    /* the next step's S */
    int good_steps; /* finite steps since the last change */
    int skipped;    /* steps skipped for overflow since the fit started (or restarted from
                       its initial state); Adam's count is the iteration less this */
} facet_loss_scaler;

/* After a step: overflow (its gradients not all finite) halves S and counts a skipped step;
 * otherwise S doubles after FACET_LOSS_SCALE_INTERVAL finite steps. Returns 0 when S would fall
 * below 1: the gradients are not finite at any scale, the fit has diverged. */
static inline int facet_loss_scaler_update(facet_loss_scaler *s, int overflow) {
    if (overflow) {
        s->skipped++;
        s->good_steps = 0;
        if (s->scale <= 1.0f) return 0;
        s->scale *= 0.5f;
        return 1;
    }
    if (++s->good_steps >= FACET_LOSS_SCALE_INTERVAL) {
        s->good_steps = 0;
        if (s->scale < FACET_LOSS_SCALE_MAX) s->scale *= 2.0f;
    }
    return 1;
}

#endif
