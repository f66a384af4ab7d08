#!/usr/bin/env python3
"""Independent decode of one of Blender's DWAB world HDRIs (Debian package blender-data) for
tests/test_image.c, written to tests/fixtures/images/blender_hdri_reference.json.

It uses OpenEXR's own Python bindings from PyPI (a newer OpenEXR than Debian's 3.1.5, whose C core
decodes DWA itself), so facet's tinyexr -> OpenEXR C++ fallback is checked against a separate
implementation:

    python3 -m venv /tmp/exrvenv && /tmp/exrvenv/bin/pip install OpenEXR numpy
    /tmp/exrvenv/bin/python tools/reference/exr_reference.py [/usr/share/blender/.../forest.exr]

Recorded: the file's size (the test skips when the installed file differs), its compression,
width and height, the per-channel mean over all pixels (float64 sum of the float32 values), and
the R, G, B values of a few pixels at (x, y), row 0 being the first scanline of the file.
"""
import glob
import json
import os
import sys

import numpy as np
import OpenEXR

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures",
                   "images", "blender_hdri_reference.json")
RELATIVE = "datafiles/studiolights/world/forest.exr"
SAMPLES = [(0, 0), (1023, 511), (511, 255), (100, 37), (700, 400), (333, 111)]


def find_default():
    for pattern in ("/usr/share/blender/" + RELATIVE, "/usr/share/blender/*/" + RELATIVE):
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[0]
    sys.exit("forest.exr not found: install the Debian package blender-data or pass its path")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else find_default()
    part = OpenEXR.File(path, separate_channels=True)
    header = part.header()
    channels = part.channels()
    rgb = np.stack([np.asarray(channels[c].pixels, dtype=np.float32) for c in "RGB"], axis=-1)
    height, width, _ = rgb.shape
    reference = {
        "file": RELATIVE,
        "size": os.path.getsize(path),
        "compression": str(header["compression"]),
        "decoder": "OpenEXR Python bindings " + OpenEXR.__version__,
        "width": width,
        "height": height,
        "mean": [float(v) for v in rgb.astype(np.float64).mean(axis=(0, 1))],
        "pixels": [{"x": x, "y": y, "rgb": [float(v) for v in rgb[y, x]]} for x, y in SAMPLES],
    }
    with open(OUT, "w") as f:
        json.dump(reference, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
