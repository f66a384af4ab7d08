/* The CUDA launchers of LiveScene fitting (fit/cuda/livescene_fit.cu): the same per-ray
 * forward/backward functions as the CPU path (fit/livescene_train.h) in one-thread-per-ray
 * kernels, gradients accumulated with atomicAdd in global memory, plane regularisers and Adam as
 * element-wise kernels. The batch-level terms (mask focal loss, repulsion) run on the host over a
 * compact per-ray array (facet_livescene_ray_terms), exactly as on the CPU. With fp16 networks the
 * passes run as stages over the batch instead, each network as tensor-core kernels
 * (fit/cuda/livescene_fit_tensor.cuh). Without CUDA every call reports FACET_ERR_CUDA. */
#ifndef FACET_FIT_LIVESCENE_FIT_CUDA_H
#define FACET_FIT_LIVESCENE_FIT_CUDA_H

#include "livescene_train.h"

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_livescene_cuda_trainer facet_livescene_cuda_trainer;

/* Copies the model's parameters (and Adam moments, per buffer, may be NULL for zeros) to the
 * device and allocates gradients and the state of `batch` rays; when the model's networks have
 * fp16 packs (facet_livescene_use_half), builds their packs on the device too. */
facet_status facet_livescene_cuda_trainer_create(facet_livescene_cuda_trainer **out,
                                                 const facet_livescene_model *model, void **adam_m,
                                                 void **adam_v, int batch);

/* One iteration: forward, batch terms (host), backward, regularisers, Adam with learning rate
 * lr; `step` seeds the rays' jitter and adam_step is Adam's count (bias correction uses
 * adam_step + 1; it trails step by the steps skipped for a half overflow). *loss and *mse as
 * facet_livescene_batch_backward. A model whose networks had fp16 packs at create time trains them
 * in fp16 with loss scale loss_scale (fit/loss_scale.h): when a gradient is then not finite, Adam
 * is skipped and *overflow set; the packs are rebuilt on the device after every update. fp32:
 * *overflow = 0. */
facet_status facet_livescene_cuda_step(facet_livescene_cuda_trainer *t,
                                       const facet_livescene_ray_input *inputs, const int *samples,
                                       float anneal, float lr, int step,
                                       const facet_livescene_loss_weights *w,
                                       unsigned long long seed, int adam_step, float loss_scale,
                                       double *loss, double *mse, int *overflow);

/* Copies parameters and Adam moments back to the host (for checkpoints and the output). */
facet_status facet_livescene_cuda_download(facet_livescene_cuda_trainer *t,
                                           facet_livescene_model *model, void **adam_m,
                                           void **adam_v);

/* Copies the gradients of the last step (rays, batch terms and regularisers, before Adam) into
 * host buffers laid out like the model's (grads[i] has model->buffer_info[i].count floats): for
 * checks against the CPU's gradients (the GPU parity harness). */
facet_status facet_livescene_cuda_download_gradients(const facet_livescene_cuda_trainer *t,
                                                     void **grads);

void facet_livescene_cuda_trainer_free(facet_livescene_cuda_trainer *t);

#ifdef __cplusplus
}
#endif
#endif
