"""Image metrics, the same functions `facet metrics` and `facet eval` use (docs/formats.md,
"Image metrics"): values compared as stored, data range 1.

Arrays are float [H, W, C] in [0, 1] (uint8 arrays are divided by 255, as facet reads 8-bit
files), or paths, which are read as `facet metrics` reads them (alpha dropped).
"""
import numpy as np

from ._lib import FacetError, c_double, c_float, check, lib, path_bytes, ptr
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


__all__ = ["psnr", "ssim", "read_image", "FacetError"]
