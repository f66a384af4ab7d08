"""The FQGAN tokenizer (tokenizer/fqgan.h): images -> token grids per codebook branch -> images.

Tokens are exactly those `facet tokenize` writes for the same image file, and decode gives the
bytes `facet detokenize` writes.
"""
import os
import threading

import numpy as np

from ._lib import (FacetError, Handle, c_uint8, c_uint16, check, check_handle, last_error, lib,
                   path_bytes, ptr)

def _is_path(x):
    return isinstance(x, (str, bytes)) or hasattr(x, "__fspath__")


class Tokenizer(Handle):
    """Tokenizer(model, device="cpu", precision="fp32", batch=8).

    model: FQGAN weights converted by tools/convert_fqgan.py. device "cpu" or "cuda";
    precision "fp32" (CPU and CUDA), "tf32" (CUDA) or "bf16" (CUDA tensor cores; on the CPU, with
    AVX-512 BF16, the decoder's full-resolution convolutions in bf16, 46.7 dB from fp32; on AMX
    CPUs every other product as float32-grade split bf16, so tokens agree with PyTorch as fp32's
    do, encode about 1.4x and decode about 1.7x faster). batch: images per model call.
    One Tokenizer serves one call at a time (calls from several threads are serialised); use one
    per thread to run in parallel.
    """

    _close_fn = staticmethod(lib.facet_api_tokenizer_close)
    _what = "tokenizer"

    def __init__(self, model, device="cpu", precision="fp32", batch=8):
        if not isinstance(device, str) or not isinstance(precision, str):
            raise TypeError("device and precision must be str")
        # the CLI's rule (tokenizer/fqgan.h: facet_fqgan_backend_for), from the library
        backend = lib.facet_api_tokenizer_backend(device.encode(), precision.encode())
        if backend is None:
            raise ValueError(last_error())
        if not isinstance(batch, int) or batch < 1:
            raise ValueError("batch must be a positive int")
        if not os.path.exists(model):
            raise FileNotFoundError("%s: no such model file" % model)
        self._handle = check_handle(lib.facet_api_tokenizer_open(path_bytes(model), backend, batch))
        self._lock = threading.Lock()
        h = self._handle
        self.branches = [lib.facet_api_tokenizer_branch_name(h, b).decode()
                         for b in range(lib.facet_api_tokenizer_branch_count(h))]
        self.grid = lib.facet_api_tokenizer_grid(h)
        self.image_size = lib.facet_api_tokenizer_image_size(h)
        self.codebook_size = lib.facet_api_tokenizer_codebook_size(h)
        self.device, self.precision = device, precision


    def preprocess(self, image):
        """The official preprocessing (ADM center_crop_arr, Pillow-exact bicubic) of a path or an
        RGB uint8 array [H, W, 3]: uint8 [S, S, 3]."""
        S = self.image_size
        crop = np.empty((S, S, 3), np.uint8)
        if _is_path(image):
            check(lib.facet_api_preprocess_file(path_bytes(image), S, ptr(crop, c_uint8)))
            return crop
        a = np.asarray(image)
        if a.dtype != np.uint8:
            raise TypeError("images must be uint8 RGB arrays [H, W, 3], got dtype %s" % a.dtype)
        if a.ndim != 3 or a.shape[2] != 3:
            raise ValueError("images must be uint8 RGB arrays [H, W, 3], got shape %s" % (a.shape,))
        a = np.ascontiguousarray(a)
        check(lib.facet_api_preprocess_rgb(ptr(a, c_uint8), a.shape[1], a.shape[0], S, ptr(crop, c_uint8)))
        return crop

    def encode(self, images):
        """images: uint8 [N, H, W, 3], a list of paths and/or uint8 [H, W, 3] arrays, or one path.
        Returns {branch: uint16 [N, grid, grid]}."""
        if _is_path(images):
            images = [images]
        if isinstance(images, np.ndarray):
            if images.dtype != np.uint8:
                raise TypeError("images must be uint8, got %s" % images.dtype)
            if images.ndim != 4 or images.shape[3] != 3:
                raise ValueError("images must be [N, H, W, 3], got shape %s" % (images.shape,))
        crops = np.stack([self.preprocess(x) for x in images]) if len(images) else None
        n = 0 if crops is None else crops.shape[0]
        g = self.grid
        tokens = np.empty((len(self.branches), n, g, g), np.uint16)
        if n:
            with self._lock:
                check(lib.facet_api_tokenizer_encode(self._live(), ptr(crops, c_uint8), n, ptr(tokens, c_uint16)))
        return {name: tokens[b] for b, name in enumerate(self.branches)}

    def decode(self, tokens):
        """tokens: {branch: [N, grid, grid]} (every branch), or an array [branches, N, grid, grid].
        Returns uint8 [N, S, S, 3]."""
        if isinstance(tokens, dict):
            missing = [b for b in self.branches if b not in tokens]
            if missing:
                raise ValueError("tokens lack the branch(es) %s (model branches: %s)"
                                 % (missing, self.branches))
            arr = np.stack([np.asarray(tokens[b]) for b in self.branches])
        else:
            arr = np.asarray(tokens)
        g = self.grid
        if arr.ndim != 4 or arr.shape[0] != len(self.branches) or arr.shape[2:] != (g, g):
            raise ValueError("tokens must be [%d, N, %d, %d], got shape %s"
                             % (len(self.branches), g, g, arr.shape))
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError("tokens must be integers, got %s" % arr.dtype)
        if arr.size and (arr.min() < 0 or arr.max() >= self.codebook_size):
            raise ValueError("tokens must be in [0, %d)" % self.codebook_size)
        arr = np.ascontiguousarray(arr, dtype=np.uint16)
        n, S = arr.shape[1], self.image_size
        out = np.empty((n, S, S, 3), np.uint8)
        if n:
            with self._lock:
                check(lib.facet_api_tokenizer_decode(self._live(), ptr(arr, c_uint16), n, ptr(out, c_uint8)))
        return out


def write_random_weights(path, config, seed=0):
    """Writes FQGAN weights of the hash values facet's own tests use (tokenizer/fqgan.h
    facet_fqgan_write_random) for `config` (a dict or JSON text, tokenizer/fqgan_format.md):
    for tests and benchmarks, since no trained weights can be downloaded here."""
    import json
    text = config if isinstance(config, str) else json.dumps(config)
    check(lib.facet_api_tokenizer_write_random(path_bytes(path), text.encode(), int(seed)))


__all__ = ["Tokenizer", "write_random_weights"]
