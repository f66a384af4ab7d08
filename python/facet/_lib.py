"""Loading libfacet.so and declaring its C ABI (api/facet_api.h) for ctypes.

ctypes releases the GIL for the duration of every call into the library, so long computations
(encoding, rendering, queries) let other Python threads run.
"""
import ctypes
import os
from ctypes import POINTER, c_char_p, c_double, c_float, c_int, c_int64, c_size_t, c_uint8, c_uint16, c_void_p

API_VERSION = 1


class FacetError(RuntimeError):
    """A facet library error; the message is facet's own (it names files and keys)."""


def _find_library():
    explicit = os.environ.get("FACET_LIBRARY")
    if explicit:
        return explicit
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_native", "libfacet.so")
    if os.path.exists(here):
        return here
    raise FacetError(
        "libfacet.so not found: run `make python` in the facet repository (it builds the library "
        "and installs this package with it), or set FACET_LIBRARY to its path"
    )


lib = ctypes.CDLL(_find_library())

_f = POINTER(c_float)
_d = POINTER(c_double)
_u8 = POINTER(c_uint8)
_u16 = POINTER(c_uint16)
_i = POINTER(c_int)

_SIGNATURES = {
    "facet_api_version": (c_int, []),
    "facet_api_last_error": (c_char_p, []),
    "facet_api_free": (None, [c_void_p]),
    "facet_api_image_read": (c_int, [c_char_p, POINTER(_f), _i, _i, _i]),
    "facet_api_psnr": (c_int, [_f, _f, c_int, c_int, c_int, _f, _d]),
    "facet_api_ssim": (c_int, [_f, _f, c_int, c_int, c_int, _f, _d]),
    "facet_api_lpips_open": (c_void_p, [c_char_p, c_char_p]),
    "facet_api_lpips_close": (None, [c_void_p]),
    "facet_api_lpips_distance": (c_int, [c_void_p, _f, _f, c_int, c_int, c_char_p, _d, _d]),
    "facet_api_lpips_write_random": (c_int, [c_char_p, c_char_p, ctypes.c_uint64, c_char_p]),
    "facet_api_tokenizer_backend": (c_char_p, [c_char_p, c_char_p]),
    "facet_api_tokenizer_open": (c_void_p, [c_char_p, c_char_p, c_int]),
    "facet_api_tokenizer_close": (None, [c_void_p]),
    "facet_api_tokenizer_branch_count": (c_int, [c_void_p]),
    "facet_api_tokenizer_branch_name": (c_char_p, [c_void_p, c_int]),
    "facet_api_tokenizer_grid": (c_int, [c_void_p]),
    "facet_api_tokenizer_image_size": (c_int, [c_void_p]),
    "facet_api_tokenizer_codebook_size": (c_int, [c_void_p]),
    "facet_api_preprocess_file": (c_int, [c_char_p, c_int, _u8]),
    "facet_api_preprocess_rgb": (c_int, [_u8, c_int, c_int, c_int, _u8]),
    "facet_api_tokenizer_encode": (c_int, [c_void_p, _u8, c_int, _u16]),
    "facet_api_tokenizer_decode": (c_int, [c_void_p, _u16, c_int, _u8]),
    "facet_api_tokenizer_write_random": (c_int, [c_char_p, c_char_p, ctypes.c_uint64]),
    "facet_api_scene_open": (c_void_p, [c_char_p]),
    "facet_api_scene_close": (None, [c_void_p]),
    "facet_api_scene_object_count": (c_int, [c_void_p]),
    "facet_api_scene_object_name": (c_char_p, [c_void_p, c_int]),
    "facet_api_scene_set_kappa": (c_int, [c_void_p, c_char_p, c_float]),
    "facet_api_scene_get_kappa": (c_int, [c_void_p, c_char_p, _f]),
    "facet_api_scene_control": (c_void_p, [c_void_p, c_char_p, c_char_p]),
    "facet_api_scene_camera": (c_int, [c_void_p, _d, _d, _i]),
    "facet_api_scene_aux_count": (c_int, [c_void_p]),
    "facet_api_scene_aux_name": (c_char_p, [c_void_p, c_int]),
    "facet_api_scene_render": (
        c_int, [c_void_p, c_char_p, _d, _d, c_int, c_int, c_int, _f, _u8, _f, _f]),
    "facet_api_scene_node_count": (c_int, [c_void_p]),
    "facet_api_scene_node_name": (c_char_p, [c_void_p, c_int]),
    "facet_api_scene_node_type": (c_char_p, [c_void_p, c_int]),
    "facet_api_scene_query_channels": (c_int, [c_void_p, c_int]),
    "facet_api_scene_query_name": (c_char_p, [c_void_p, c_int, c_int]),
    "facet_api_scene_query": (c_int, [c_void_p, c_int, _f, _f, c_int64, c_int, _f]),
}

for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes

if lib.facet_api_version() != API_VERSION:
    raise FacetError(
        "libfacet.so has API version %d, this package expects %d: rebuild with `make python`"
        % (lib.facet_api_version(), API_VERSION)
    )


def last_error():
    message = lib.facet_api_last_error()
    return message.decode("utf-8", "replace") if message else "unknown error"


def check(rc):
    """Raises FacetError with facet's message when a call failed."""
    if rc != 0:
        raise FacetError(last_error())


def check_handle(handle):
    if not handle:
        raise FacetError(last_error())
    return handle


class Handle:
    """An object owning one library handle: close() (also on `with` exit and garbage collection)
    frees it once with the subclass's `_close_fn`; _live() returns it or raises when closed."""

    _close_fn = None
    _what = "object"
    _handle = None

    def close(self):
        if self._handle:
            type(self)._close_fn(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _live(self):
        if not self._handle:
            raise FacetError("the %s is closed" % self._what)
        return self._handle


def path_bytes(path):
    return os.fsencode(os.fspath(path))


def ptr(array, ctype):
    """A ctypes pointer to a C-contiguous numpy array's data (no copy)."""
    return array.ctypes.data_as(POINTER(ctype))


__all__ = ["lib", "FacetError", "Handle", "check", "check_handle", "last_error", "path_bytes", "ptr",
           "c_float", "c_double", "c_uint8", "c_uint16", "c_int", "c_size_t"]
