/* CPU-only build: CUDA fitting reports that CUDA is absent. */
#include "livescene_fit_cuda.h"

static facet_status no_cuda(void) {
    return facet_fail(FACET_ERR_CUDA, "--device cuda: facet was built without CUDA (configure "
                                      "with nvcc installed, or -DFACET_CUDA=ON)");
}

facet_status facet_livescene_cuda_trainer_create(facet_livescene_cuda_trainer **out,
                                                 const facet_livescene_model *model, void **adam_m,
                                                 void **adam_v, int batch) {
    (void)model, (void)adam_m, (void)adam_v, (void)batch;
    *out = NULL;
    return no_cuda();
}

facet_status facet_livescene_cuda_step(facet_livescene_cuda_trainer *t,
                                       const facet_livescene_ray_input *inputs, const int *samples,
                                       float anneal, float lr, int step,
                                       const facet_livescene_loss_weights *w,
                                       unsigned long long seed, int adam_step, float loss_scale,
                                       double *loss, double *mse, int *overflow) {
    (void)t, (void)inputs, (void)samples, (void)anneal, (void)lr, (void)step, (void)w, (void)seed;
    (void)adam_step, (void)loss_scale;
    *loss = *mse = 0.0;
    *overflow = 0;
    return no_cuda();
}

facet_status facet_livescene_cuda_download(facet_livescene_cuda_trainer *t,
                                           facet_livescene_model *model, void **adam_m,
                                           void **adam_v) {
    (void)t, (void)model, (void)adam_m, (void)adam_v;
    return no_cuda();
}

facet_status facet_livescene_cuda_download_gradients(const facet_livescene_cuda_trainer *t,
                                                     void **grads) {
    (void)t, (void)grads;
    return no_cuda();
}

void facet_livescene_cuda_trainer_free(facet_livescene_cuda_trainer *t) {
    (void)t;
}
