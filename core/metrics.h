/* Image quality metrics, exactly as docs/formats.md defines them (the evaluation protocol).
 *
 * Images are facet_image with identical width, height and channels (1..4; every channel counts:
 * callers that want RGB only drop alpha first). Values are compared as stored, data range 1.
 *
 * PSNR: 10 log10(1 / MSE), MSE over all pixels and channels (scikit-image's
 *       peak_signal_noise_ratio(data_range=1)). Identical images (MSE 0) give +INFINITY and
 *       FACET_OK: callers writing JSON must map it (the CLI prints null plus "identical": true).
 * SSIM: Wang et al. 2004, K1 0.01, K2 0.03, data range 1, population (co)variances, computed per
 *       channel then averaged over channels, exactly what scikit-image 0.19's
 *       structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
 *       data_range=1, channel_axis=-1) computes:
 *       - local means and (co)variances from scipy.ndimage.gaussian_filter(sigma 1.5,
 *         truncate 3.5): an 11-tap separable kernel exp(-x^2 / (2 sigma^2)), x = -5..5,
 *         normalised to sum 1;
 *       - the SSIM map is averaged only over pixels at least 5 from every border (scikit-image
 *         crops (win_size - 1) / 2 = 5), where the 11x11 window lies entirely inside the image,
 *         so the filter's boundary mode ('reflect') never enters the result;
 *       - both sides must be at least 11 pixels (scikit-image raises otherwise).
 *       Accumulation is in double; results match scikit-image to ~1e-12.
 *
 * Masked variants average only over pixels whose mask value is > 0.5 (PSNR: MSE over the masked
 * pixels and all channels; SSIM: mean of each channel's SSIM map over the masked pixels of the
 * cropped map, then averaged over channels). A mask that selects no pixel (for SSIM: none at
 * least 5 from the border) is an error.
 *
 * median-ratio alignment (RISE-SDF relighting protocol, systems/split_occ.py test_step): per
 * channel c, over the mask pixels (all pixels when mask is NULL),
 *     s_c = median(gt_c / max(pred_c, 1e-6)),   pred_c <- clamp(s_c * pred_c, 0, 1),
 * in float32 arithmetic as the official torch code. The median is torch.median's: for an even
 * count the lower of the two middle values (element (n-1)/2 of the sorted ratios), not their
 * average. Pixels outside the mask are left untouched. The official code then scores PSNR and
 * SSIM over the whole image, and its mask is the ground truth's alpha > 0. */
#ifndef FACET_CORE_METRICS_H
#define FACET_CORE_METRICS_H

#include "image.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* mask: NULL for whole image, else a 1-channel image of the same size (value > 0.5 = inside). */
facet_status facet_psnr(const facet_image *a, const facet_image *b, const facet_image *mask,
                        double *out);
facet_status facet_ssim(const facet_image *a, const facet_image *b, const facet_image *mask,
                        double *out);

/* Scales pred in place per channel by the median ratio gt/pred over mask pixels (mask NULL: all
 * pixels), clamping the scaled mask pixels to [0,1]. scales_out (may be NULL) receives
 * pred->channels scales. On error pred is unchanged. */
facet_status facet_align_median_ratio(facet_image *pred, const facet_image *gt,
                                      const facet_image *mask, double *scales_out);

#ifdef __cplusplus
}
#endif
#endif
