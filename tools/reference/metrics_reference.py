#!/usr/bin/python3
"""Writes the fixtures of tests/test_metrics.c into tests/fixtures/metrics/: small 8-bit PNG image
pairs and expected.json with PSNR/SSIM from scikit-image and median-ratio scales from torch, all
computed from the quantised values read back from the PNGs (byte / 255 in float32, as facet reads
them, then float64).

Images (64x48, deterministic from a fixed seed):
    rgb_ref.png     RGB reference: smooth gradients, a disc and a bar, mild noise
    rgb_noise.png   rgb_ref + Gaussian noise (sigma 0.05)
    rgb_blur.png    rgb_ref blurred (Gaussian sigma 1 per channel)
    rgb_shift.png   rgb_ref rolled by 1 row and 2 columns
    rgb_dark.png    rgb_ref scaled per channel by (0.55, 0.7, 0.85) plus noise (sigma 0.04), with
                    a few zero pixels inside the mask (exercises the 1e-6 clamp of the ratio)
    rgba_noise.png  RGBA: the RGB of rgb_noise.png and a random alpha (facet metrics ignores alpha)
    gray_ref.png    1-channel reference
    gray_noise.png  gray_ref + Gaussian noise (sigma 0.08)
    mask.png        1-channel mask: an ellipse (255 inside, 0 outside), an even pixel count so the
                    median of the ratios is the lower middle value (torch.median), which differs
                    from numpy's average of the two middle values

expected.json: {"pairs": {name: {"pred", "gt", "psnr", "ssim", "psnr_masked", "ssim_masked",
    "align_masked": {"scales", "psnr", "ssim", "psnr_masked", "ssim_masked"},
    "align_all": {"scales"}}}, "mask": {"file", "count"}, "protocol": ...}
PSNR: skimage.metrics.peak_signal_noise_ratio(gt, pred, data_range=1).
SSIM: skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
      use_sample_covariance=False, data_range=1.0, channel_axis=-1), full=True for the masked
      mean over the mask pixels of the map cropped by 5 on every side, per channel then averaged.
Alignment (RISE-SDF systems/split_occ.py test_step), in float32 torch:
      ratio = (gt[m] / pred[m].clamp(min=1e-6)).median(dim=0); pred[m] = (ratio*pred[m]).clamp(0,1)
      "align_masked" uses mask.png, "align_all" every pixel; the scores after alignment are over
      the whole image ("psnr", "ssim", the official protocol) and over the mask ("*_masked").

Usage: /usr/bin/python3 tools/reference/metrics_reference.py [OUT_DIR]
"""
import json
import os
import sys

import numpy as np
import scipy.ndimage as ndi
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

WIDTH, HEIGHT = 64, 48
CROP = 5  # (win_size - 1) // 2 with win_size = 2 * int(3.5 * 1.5 + 0.5) + 1 = 11


def to_u8(x):
    return np.clip(np.rint(np.clip(x, 0.0, 1.0) * 255.0), 0, 255).astype(np.uint8)


def save_png(out, name, values):
    mode = "L" if values.ndim == 2 else {3: "RGB", 4: "RGBA"}[values.shape[2]]
    Image.fromarray(to_u8(values), mode=mode).save(os.path.join(out, name), optimize=False)


def read_png(out, name):
    """Values as facet reads them: byte / 255 in float32."""
    u8 = np.asarray(Image.open(os.path.join(out, name)))
    return (u8.astype(np.float32) / np.float32(255.0))


def make_images(rng):
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    u, v = x / (WIDTH - 1), y / (HEIGHT - 1)
    disc = ((x - 40) ** 2 + (y - 20) ** 2 < 12 ** 2).astype(np.float64)
    bar = ((x > 8) & (x < 20) & (y > 10) & (y < 40)).astype(np.float64)
    ref = np.stack([0.15 + 0.6 * u + 0.2 * disc,
                    0.2 + 0.5 * v + 0.25 * bar,
                    0.4 + 0.3 * np.sin(6 * u) * np.cos(4 * v) - 0.2 * disc], axis=-1)
    ref = np.clip(ref + rng.normal(0, 0.01, ref.shape), 0.02, 0.98)
    images = {"rgb_ref": ref}
    images["rgb_noise"] = ref + rng.normal(0, 0.05, ref.shape)
    images["rgb_blur"] = ndi.gaussian_filter(ref, sigma=(1, 1, 0))
    images["rgb_shift"] = np.roll(ref, (1, 2), axis=(0, 1))
    dark = ref * np.array([0.55, 0.7, 0.85]) + rng.normal(0, 0.04, ref.shape)
    dark[22:25, 30:33, :] = 0.0
    images["rgb_dark"] = dark
    gray = 0.3 + 0.4 * u * v + 0.3 * disc
    images["gray_ref"] = gray
    images["gray_noise"] = gray + rng.normal(0, 0.08, gray.shape)
    mask = ((x - 33) / 22) ** 2 + ((y - 24) / 17) ** 2 < 1.0
    if mask.sum() % 2:
        mask[24, 33 - 21] = not mask[24, 33 - 21]
    images["mask"] = mask.astype(np.float64)
    return images


def psnr(pred, gt):
    return float(peak_signal_noise_ratio(gt, pred, data_range=1.0))


def ssim(pred, gt):
    return float(structural_similarity(gt, pred, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False, data_range=1.0,
                                       channel_axis=-1))


def psnr_masked(pred, gt, mask):
    d = (pred - gt)[mask]
    return float(10.0 * np.log10(1.0 / np.mean(d * d)))


def ssim_masked(pred, gt, mask):
    _, smap = structural_similarity(gt, pred, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, data_range=1.0,
                                    channel_axis=-1, full=True)
    inner = (slice(CROP, -CROP), slice(CROP, -CROP))
    m = mask[inner]
    return float(np.mean([smap[inner + (c,)][m].mean() for c in range(smap.shape[2])]))


def ssim_valid(pred, gt):
    """core/metrics.c's definition: 11-tap kernel exp(-x^2 / 4.5) / sum, applied only where the
    window fits (no boundary mode at all), mean over channels. Checks that scikit-image's reflect
    padding never reaches the cropped map."""
    t = np.arange(-CROP, CROP + 1)
    k = np.exp(-0.5 / 1.5 ** 2 * t ** 2)
    k /= k.sum()

    def filt(z):
        rows = sum(k[i] * z[i:z.shape[0] - 2 * CROP + i, :] for i in range(2 * CROP + 1))
        return sum(k[i] * rows[:, i:rows.shape[1] - 2 * CROP + i] for i in range(2 * CROP + 1))

    values = []
    for c in range(pred.shape[2]):
        x, y = pred[:, :, c], gt[:, :, c]
        ux, uy = filt(x), filt(y)
        vx, vy, vxy = filt(x * x) - ux * ux, filt(y * y) - uy * uy, filt(x * y) - ux * uy
        c1, c2 = 0.01 ** 2, 0.03 ** 2
        values.append(np.mean((2 * ux * uy + c1) * (2 * vxy + c2)
                              / ((ux * ux + uy * uy + c1) * (vx + vy + c2))))
    return float(np.mean(values))


def align(pred32, gt32, mask):
    """RISE-SDF's median-ratio alignment in torch float32; returns (aligned float32, scales)."""
    pred = torch.from_numpy(pred32.reshape(-1, pred32.shape[2]).copy())
    gt = torch.from_numpy(gt32.reshape(-1, gt32.shape[2]))
    m = torch.from_numpy(mask.reshape(-1))
    ratio, _ = (gt[m] / pred[m].clamp(min=1e-6)).median(dim=0)
    pred[m] = (ratio * pred[m]).clamp(min=0.0, max=1.0)
    # Cross-check the definition in core/metrics.h with numpy: lower middle of the sorted ratios.
    r = np.sort(gt32.reshape(-1, gt32.shape[2])[mask.reshape(-1)]
                / np.maximum(pred32.reshape(-1, pred32.shape[2])[mask.reshape(-1)],
                             np.float32(1e-6)), axis=0)
    assert np.array_equal(r[(len(r) - 1) // 2], ratio.numpy())
    return pred.numpy().reshape(pred32.shape), [float(s) for s in ratio]


def channels_last(a):
    return a if a.ndim == 3 else a[:, :, None]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "metrics")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240611)
    images = make_images(rng)
    for name, values in images.items():
        save_png(out, name + ".png", values)
    noise = to_u8(images["rgb_noise"])
    alpha = rng.integers(0, 256, (HEIGHT, WIDTH, 1), dtype=np.uint8)
    Image.fromarray(np.concatenate([noise, alpha], axis=-1), mode="RGBA").save(
        os.path.join(out, "rgba_noise.png"), optimize=False)

    mask = read_png(out, "mask.png") > 0.5
    assert mask.sum() % 2 == 0
    pairs = {"rgb_noise": ("rgb_noise.png", "rgb_ref.png"),
             "rgb_blur": ("rgb_blur.png", "rgb_ref.png"),
             "rgb_shift": ("rgb_shift.png", "rgb_ref.png"),
             "rgb_dark": ("rgb_dark.png", "rgb_ref.png"),
             "gray_noise": ("gray_noise.png", "gray_ref.png")}
    expected = {"pairs": {}, "mask": {"file": "mask.png", "count": int(mask.sum())},
                "protocol": {"psnr": "skimage peak_signal_noise_ratio data_range 1",
                             "ssim": "skimage structural_similarity gaussian sigma 1.5, "
                                     "population covariance, data_range 1",
                             "align": "torch median-ratio (RISE-SDF)"}}
    for name, (pred_file, gt_file) in pairs.items():
        pred32 = channels_last(read_png(out, pred_file))
        gt32 = channels_last(read_png(out, gt_file))
        pred, gt = pred32.astype(np.float64), gt32.astype(np.float64)
        entry = {"pred": pred_file, "gt": gt_file, "psnr": psnr(pred, gt), "ssim": ssim(pred, gt),
                 "psnr_masked": psnr_masked(pred, gt, mask),
                 "ssim_masked": ssim_masked(pred, gt, mask)}
        assert abs(ssim_valid(pred, gt) - entry["ssim"]) < 1e-12
        aligned32, scales = align(pred32, gt32, mask)
        aligned = aligned32.astype(np.float64)
        entry["align_masked"] = {"scales": scales, "psnr": psnr(aligned, gt),
                                 "ssim": ssim(aligned, gt),
                                 "psnr_masked": psnr_masked(aligned, gt, mask),
                                 "ssim_masked": ssim_masked(aligned, gt, mask)}
        _, scales_all = align(pred32, gt32, np.ones_like(mask))
        entry["align_all"] = {"scales": scales_all}
        expected["pairs"][name] = entry
    # The fixture must tell torch's lower median from numpy's average of the two middle values.
    dark, ref = read_png(out, "rgb_dark.png"), read_png(out, "rgb_ref.png")
    r = ref[mask] / np.maximum(dark[mask], np.float32(1e-6))
    assert not np.allclose(np.median(r, axis=0), expected["pairs"]["rgb_dark"]["align_masked"][
        "scales"], rtol=0, atol=1e-7)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
