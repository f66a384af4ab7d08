#!/usr/bin/env python3
"""Writes the small image fixtures of tests/test_image.c into tests/fixtures/images/.

    /usr/bin/python3 tools/reference/make_image_fixtures.py

- gradient16.png: 4x3 RGB, 16 bits per channel, written by hand (zlib + CRC), because
  stb_image_write only writes 8-bit PNG. Sample i = (y * 4 + x) * 3 + c holds (i * 1873) % 65536,
  except the last pixel, which is 65535 in every channel.
- flat.jpg: 16x16 RGB, every pixel (200, 100, 50), quality 100 without chroma subsampling, so
  any JPEG decoder returns the colour within 1-2 levels (Pillow).
- radiance.hdr: 4x2 Radiance RGBE, flat (non-RLE) scanlines, values chosen to be exact in RGBE:
  row 0 (1, 0.5, 0.25) (2, 2, 2) (0.125, 0.25, 0.5) (3, 1.5, 0.75);
  row 1 the same values times 4.
"""
import math
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures",
                   "images")


def png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xffffffff)


def write_png16(path, pixels):
    """pixels: uint16 array [height, width, 3]."""
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].astype(">u2").tobytes() for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)  # 16-bit truecolour
    data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(data)


def rgbe(rgb):
    """Exact RGBE encoding for values m * 2^(e-136) with integer mantissas below 256."""
    top = max(rgb)
    exponent = math.frexp(top)[1]  # top = f * 2^exponent, f in [0.5, 1)
    scale = 2.0 ** (8 - exponent)
    mantissas = [v * scale for v in rgb]
    assert all(m == int(m) and m < 256 for m in mantissas), rgb
    return bytes([int(m) for m in mantissas] + [exponent + 128])


def write_hdr(path, rows):
    height, width = len(rows), len(rows[0])
    header = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n" % (height, width)
    body = b"".join(rgbe(p) for row in rows for p in row)
    with open(path, "wb") as f:
        f.write(header + body)


def main():
    os.makedirs(OUT, exist_ok=True)

    values = (np.arange(4 * 3 * 3, dtype=np.int64) * 1873) % 65536
    pixels = values.reshape(3, 4, 3).astype(np.uint16)
    pixels[2, 3, :] = 65535
    write_png16(os.path.join(OUT, "gradient16.png"), pixels)

    flat = np.zeros((16, 16, 3), dtype=np.uint8)
    flat[:, :] = (200, 100, 50)
    Image.fromarray(flat).save(os.path.join(OUT, "flat.jpg"), quality=100, subsampling=0)

    row = [(1.0, 0.5, 0.25), (2.0, 2.0, 2.0), (0.125, 0.25, 0.5), (3.0, 1.5, 0.75)]
    write_hdr(os.path.join(OUT, "radiance.hdr"), [row, [tuple(4 * v for v in p) for p in row]])


if __name__ == "__main__":
    main()
