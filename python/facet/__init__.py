"""facet: factorized neural rendering and visual tokenization, from Python.

    import facet
    tok = facet.Tokenizer("models/fqgan_dual16.safetensors")
    tokens = tok.encode(["a.jpg", "b.png"])            # {"vis": uint16 [2, 16, 16], "sem": ...}
    images = tok.decode(tokens)                        # uint8 [2, 256, 256, 3]
    shards = facet.TokenShards("out/tokens")           # a `facet tokenize` output
    scene = facet.Scene("assets/cabinet/scene.json")
    image = scene.render()["srgb8"]                    # what `facet render` writes
    facet.metrics.psnr(image, "reference.png")

Errors raise facet.FacetError with facet's message (it names files and keys); wrong dtypes and
shapes raise TypeError and ValueError. Every call into the library releases the GIL. One object
serves one call at a time (calls from several threads on it are serialised); separate objects run
in parallel.
"""
from ._lib import FacetError
from . import metrics
from .metrics import LPIPS, lpips, psnr, ssim, read_image
from .scene import Scene
from .shards import TokenShards
from .tokenizer import Tokenizer

__version__ = "0.1.0"
__all__ = ["FacetError", "LPIPS", "Scene", "TokenShards", "Tokenizer", "metrics", "lpips", "psnr",
           "ssim", "read_image"]
