/* lpips/ internals: the backbones' layer tables, the model struct shared by the weights
 * (lpips/lpips_weights.c) and the forward pass (lpips/lpips.c), and the CUDA launchers of the
 * per-element ops (lpips/cuda/lpips.cu; FACET_ERR_CUDA from lpips/lpips_none.c without CUDA). Not
 * for callers outside lpips/. */
#ifndef FACET_LPIPS_LPIPS_INTERNAL_H
#define FACET_LPIPS_LPIPS_INTERNAL_H

#include "core/cuda/device.h"
#include "lpips/lpips.h"
#include "nn/nn.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { LPIPS_MAX_LAYERS = 20 };

/* One layer of torchvision's `features` up to the last tap. A convolution is followed by its
 * ReLU (fused: facet_nn_conv2d with FACET_NN_RELU); `tap` >= 0 when that ReLU's output is an
 * LPIPS tap. */
typedef struct lpips_layer {
    int pool;  /* 1: max pooling (window only), 0: convolution */
    int index; /* torchvision `features` index of the convolution (its tensors' names) */
    int in, out;
    facet_nn_window window;
    int tap; /* -1 or 0..4 */
} lpips_layer;

typedef struct lpips_arch {
    facet_lpips_net net;
    int layer_count;
    const lpips_layer *layers;
    int tap_channels[FACET_LPIPS_TAPS];
} lpips_arch;

const lpips_arch *lpips_arch_of(facet_lpips_net net);

/* The sides of every layer's output for an h x w input; 0 when the image is too small (some
 * output side below 1). sizes[i] = {height, width} after layer i. */
int lpips_arch_sizes(const lpips_arch *arch, int h, int w, int sizes[][2]);

struct facet_lpips {
    facet_lpips_net net;
    const lpips_arch *arch;
    facet_nn_device device;
    facet_nn *nn;
    char *path;
    /* every weight, packed (host memory, or device memory on CUDA: `device_params`) */
    float *params;
    size_t param_count;
    facet_device_buffer device_params;
    const float *weight[LPIPS_MAX_LAYERS], *bias[LPIPS_MAX_LAYERS]; /* per conv layer */
    const float *head[FACET_LPIPS_TAPS];                            /* [tap_channels[k]] */
    /* work memory, grown to the largest pair so far (host, or `device_work` on CUDA) */
    float *work;
    size_t work_floats;
    facet_device_buffer device_work;
    float *host_distances; /* a tap's per-pixel head values, on the host */
    size_t host_distance_count;
};

/* Reads and checks the weights of `path` into model (net, arch, path, params, weight/bias/head
 * pointers into params, host memory). */
facet_status lpips_weights_load(facet_lpips *model, const char *path);

/* CUDA launchers (device pointers), as the CPU loops of lpips.c. */
facet_status facet_lpips_cuda_input(const float *rgb, int h, int w, int convention, float *x);
facet_status facet_lpips_cuda_unit(const float *f, int channels, size_t hw, float *u);
facet_status facet_lpips_cuda_head(const float *ua, const float *fb, const float *w, int channels,
                                   size_t hw, float *d);

#ifdef __cplusplus
}
#endif
#endif
