"""Image metrics, the same functions `facet metrics` and `facet eval` use (docs/formats.md,
"Image metrics"): values compared as stored, data range 1. LPIPS needs weights
(tools/convert_lpips.py): `LPIPS(weights)` or `lpips(a, b, weights=...)`, or the environment
variable FACET_LPIPS, as the CLI.

Arrays are float [H, W, C] in [0, 1] (uint8 arrays are divided by 255, as facet reads 8-bit
files), or paths, which are read as `facet metrics` reads them (alpha dropped).
"""
import numpy as np

from ._lib import FacetError, Handle, c_double, c_float, check, lib, path_bytes, ptr
from ctypes import POINTER, byref, c_int


def read_image(path):
    """An image file as facet reads it: float32 [H, W, C] in [0, 1] (EXR/HDR: as stored)."""
    data = POINTER(c_float)()
    w, h, c = c_int(), c_int(), c_int()
    check(lib.facet_api_image_read(path_bytes(path), byref(data), byref(w), byref(h), byref(c)))
    try:
        out = np.ctypeslib.as_array(data, shape=(h.value, w.value, c.value)).copy()
    finally:
        lib.facet_api_free(data)
    return out


def _as_image(x, what):
    if isinstance(x, (str, bytes)) or hasattr(x, "__fspath__"):
        x = read_image(x)
        if x.shape[2] in (2, 4):  # colour channels only, as `facet metrics`
            x = x[:, :, :-1]
        return np.ascontiguousarray(x, dtype=np.float32)
    x = np.asarray(x)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / np.float32(255.0)
    elif x.dtype not in (np.float32, np.float64):
        raise TypeError("%s: expected uint8 or float images, got %s" % (what, x.dtype))
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or not 1 <= x.shape[2] <= 4:
        raise ValueError("%s: expected an image [H, W] or [H, W, C] with C in 1..4, got shape %s"
                         % (what, x.shape))
    return np.ascontiguousarray(x, dtype=np.float32)


def _metric(fn, a, b, mask):
    a, b = _as_image(a, "a"), _as_image(b, "b")
    if a.shape != b.shape:
        raise ValueError("a and b differ in shape: %s vs %s" % (a.shape, b.shape))
    m = None
    if mask is not None:
        m = _as_image(mask, "mask")[:, :, 0]
        m = np.ascontiguousarray(m)
        if m.shape != a.shape[:2]:
            raise ValueError("mask is %s, the images %s" % (m.shape, a.shape[:2]))
    out = c_double()
    check(fn(ptr(a, c_float), ptr(b, c_float), a.shape[1], a.shape[0], a.shape[2],
             ptr(m, c_float) if m is not None else None, byref(out)))
    return out.value


def psnr(a, b, mask=None):
    """10 log10(1 / MSE) over all pixels and channels (masked: pixels with mask > 0.5); +inf for
    identical images."""
    return _metric(lib.facet_api_psnr, a, b, mask)


def ssim(a, b, mask=None):
    """SSIM as scikit-image 0.19 (gaussian 11x11, sigma 1.5, K1 0.01, K2 0.03, data range 1)."""
    return _metric(lib.facet_api_ssim, a, b, mask)


class LPIPS(Handle):
    """LPIPS v0.1 (lpips/lpips.h) with facet LPIPS weights (alex or vgg16), on "cpu" or "cuda":
    `LPIPS(weights)(a, b, convention="nerfstudio")` is what `facet metrics A B --lpips weights`
    reports. convention "nerfstudio" (images in [0, 1] mapped to [-1, 1], ns-eval and LiveScene)
    or "risesdf" (RISE-SDF's unmapped input and its reshape layout). Calls on one object are
    serialised."""

    _close_fn = staticmethod(lib.facet_api_lpips_close)
    _what = "LPIPS model"

    def __init__(self, weights=None, device="cpu"):
        import os
        import threading
        weights = weights or os.environ.get("FACET_LPIPS")
        if not weights:
            raise ValueError("LPIPS needs weights: pass weights= or set FACET_LPIPS")
        from ._lib import check_handle
        self._handle = check_handle(lib.facet_api_lpips_open(path_bytes(weights), device.encode()))
        self._lock = threading.Lock()

    def __call__(self, a, b, convention="nerfstudio", taps=False):
        a, b = _as_image(a, "a"), _as_image(b, "b")
        if a.shape != b.shape or a.shape[2] != 3:
            raise ValueError("LPIPS compares two RGB images of one size, got %s and %s"
                             % (a.shape, b.shape))
        out = c_double()
        per = (c_double * 5)()
        with self._lock:
            check(lib.facet_api_lpips_distance(self._live(), ptr(a, c_float), ptr(b, c_float),
                                               a.shape[1], a.shape[0], convention.encode(),
                                               byref(out), per))
        return (out.value, list(per)) if taps else out.value


def lpips(a, b, weights=None, convention="nerfstudio", device="cpu"):
    """LPIPS of a and b with `weights` (default: FACET_LPIPS), as `facet metrics --lpips`."""
    return LPIPS(weights, device)(a, b, convention)


def write_random_lpips_weights(path, net="alex", seed=0, heads=None):
    """LPIPS weights with a reproducible random backbone (the backbones cannot be downloaded
    here) and the heads of `heads` (facet LPIPS weights) or hash heads: for tests."""
    check(lib.facet_api_lpips_write_random(path_bytes(path), net.encode(), int(seed),
                                           path_bytes(heads) if heads else None))


__all__ = ["psnr", "ssim", "lpips", "LPIPS", "read_image", "FacetError",
           "write_random_lpips_weights"]
