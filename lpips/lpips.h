/* LPIPS, the learned perceptual image patch similarity of Zhang et al. 2018 ("The Unreasonable
 * Effectiveness of Deep Features as a Perceptual Metric"), as the PyPI package `lpips` 0.1.4
 * computes lpips.LPIPS(net='alex' or 'vgg', version='0.1', lpips=True, spatial=False), on the CPU
 * (OpenBLAS) or CUDA (cuBLAS) through nn/.
 *
 * For two RGB images A and B of the same size H x W, each mapped to the network's input x
 * (per the convention, below) as a [3, H, W] tensor with values in [-1, 1]:
 *
 *   1. ScalingLayer: x_c <- (x_c - shift_c) / scale_c, shift = (-0.030, -0.088, -0.188),
 *      scale = (0.458, 0.448, 0.450) (float32, a true division);
 *   2. the backbone's features at five ReLU taps k = 0..4 (torchvision's `features` modules):
 *        alex:  relu1, relu2, relu3, relu4, relu5 = after features.1, .4, .7, .9, .11
 *               (conv 11x11/4 pad 2 -> 64, maxpool 3/2, conv 5x5 pad 2 -> 192, maxpool 3/2,
 *               conv 3x3 pad 1 -> 384, -> 256, -> 256)
 *        vgg16: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 = after features.3, .8, .15, .22,
 *               .29 (3x3 convs pad 1, 64-64, pool, 128-128, pool, 256 x3, pool, 512 x3, pool,
 *               512 x3; pools 2x2/2)
 *      with maxpools in torch's floor mode;
 *   3. per tap and pixel p, the unit feature u_c(p) = f_c(p) / (sqrt(sum_c f_c(p)^2) + 1e-10);
 *   4. d_k = mean over the tap's pixels of sum_c w_kc (u_c^A(p) - u_c^B(p))^2, w_k the tap's
 *      1x1 head (the package's lin<k>, no bias, weights/v0.1/<net>.pth);
 *   5. LPIPS = d_0 + d_1 + d_2 + d_3 + d_4.
 *
 * Symmetric in A and B; 0 for identical images. Accumulation: each pixel's channel sums and the
 * spatial means in double, the convolutions in float32 (as torch).
 *
 * Conventions: how facet_image pixels (RGB, values as stored, [0, 1] for 8-bit files) become x.
 * Both evaluation codes call torchmetrics' LPIPS (alex), which wraps the same network:
 *
 *   FACET_LPIPS_NERFSTUDIO  x = 2 v - 1 for v in [0, 1] (torchmetrics normalize=True), the
 *                           image laid out [3, H, W] (torch.moveaxis of H x W x 3). What
 *                           nerfstudio's models (nerfacto, splatfacto, mipnerf, ...) and
 *                           LiveScene's model (livescene/livescene_model.py) report in ns-eval.
 *                           (nerfstudio's surface models, base_surface_model.py, use
 *                           normalize=False instead.)
 *   FACET_LPIPS_RISESDF     RISE-SDF's test_step (systems/split_occ.py): v in [0, 1] fed
 *                           unmapped (normalize=False, x = v), and the image's H x W x 3
 *                           buffer read as [3, H, W] by `.reshape(1, 3, H, W)` (not a permute):
 *                           x[c, y, x'] = buffer[(c H + y) W + x'] of the interleaved pixels.
 *                           This reproduces the official numbers, layout quirk included.
 *
 * Values are checked as torchmetrics checks them: in [0, 1] for nerfstudio; >= -1 for risesdf
 * (torchmetrics checks only the minimum without normalize), and finite; NaN is refused.
 *
 * Not modelled: torchmetrics >= 1.3 normalises each feature by sqrt(sum_c f_c^2 + 1e-8) instead
 * of sqrt(sum_c f_c^2) + 1e-10 (the lpips package, torchmetrics 1.0-1.2); the difference is
 * below 1e-8 / |f|^2 relative per pixel (docs/formats.md, "LPIPS", gives the measured effect).
 *
 * Weights: one safetensors file (docs/formats.md "LPIPS weights"; tools/convert_lpips.py). */
#ifndef FACET_LPIPS_LPIPS_H
#define FACET_LPIPS_LPIPS_H

#include "core/image.h"
#include "core/status.h"
#include "nn/nn.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FACET_LPIPS_FORMAT "facet-lpips"
#define FACET_LPIPS_VERSION 1
#define FACET_LPIPS_TAPS 5

typedef enum facet_lpips_net {
    FACET_LPIPS_ALEX = 0,  /* "alex": torchvision alexnet, 2.47M backbone parameters */
    FACET_LPIPS_VGG16 = 1, /* "vgg16" (the package's net='vgg'): 14.7M */
} facet_lpips_net;

typedef enum facet_lpips_convention {
    FACET_LPIPS_NERFSTUDIO = 0,
    FACET_LPIPS_RISESDF = 1,
} facet_lpips_convention;

/* "alex", "vgg16"; NULL for another value. */
const char *facet_lpips_net_name(facet_lpips_net net);
/* Inverse of facet_lpips_net_name ("vgg" is accepted too); -1 for an unknown name. */
int facet_lpips_net_from_name(const char *name);
/* "nerfstudio", "risesdf"; NULL for another value. */
const char *facet_lpips_convention_name(facet_lpips_convention convention);
/* Inverse of facet_lpips_convention_name; -1 for an unknown name. */
int facet_lpips_convention_from_name(const char *name);

/* The smallest height (and width) the backbone takes: every layer's output must be at least one
 * pixel. alex 31, vgg16 16. */
int facet_lpips_min_side(facet_lpips_net net);

typedef struct facet_lpips facet_lpips;

/* Loads facet LPIPS weights (docs/formats.md) for `device` (FACET_NN_CUDA: the weights go to the
 * GPU once; FACET_ERR_CUDA without CUDA). Errors name the file: not facet-lpips weights, another
 * version, an unknown net, a missing or misshaped tensor. Warns about NaN/Inf weights. */
facet_status facet_lpips_load(facet_lpips **out, const char *path, facet_nn_device device);
void facet_lpips_free(facet_lpips *model);

facet_lpips_net facet_lpips_net_of(const facet_lpips *model);

typedef struct facet_lpips_result {
    double distance;               /* LPIPS: the sum of taps */
    double taps[FACET_LPIPS_TAPS]; /* d_0 .. d_4 (the package's retPerLayer values) */
} facet_lpips_result;

/* LPIPS between images a and b (3 channels each, the same size, at least
 * facet_lpips_min_side on both sides, values in the convention's range). Errors
 * (FACET_ERR_INVALID_ARGUMENT) say which condition fails; CUDA errors pass up. Not thread-safe
 * per model (its work buffers are reused between calls). */
facet_status facet_lpips_distance(facet_lpips *model, const facet_image *a, const facet_image *b,
                                  facet_lpips_convention convention, facet_lpips_result *result);

/* Writes LPIPS weights for `net` with a reproducible random backbone (the hash rule of
 * tools/reference/lpips_reference.py, core/hash.h, `seed`) and the heads of `heads_path` (facet
 * LPIPS weights of the same net, e.g. models/lpips_heads_alex.safetensors from
 * `tools/convert_lpips.py --heads-only`), or hash heads (uniform in [0, 0.5)) when NULL. For
 * tests: the real backbones are ImageNet-trained and not redistributable here. */
facet_status facet_lpips_write_random(const char *path, facet_lpips_net net, uint64_t seed,
                                      const char *heads_path);

#ifdef __cplusplus
}
#endif
#endif
