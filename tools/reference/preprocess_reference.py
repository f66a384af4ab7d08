#!/usr/bin/python3
"""Fixtures for facet's FQGAN preprocessing (tokenizer/preprocess.c), made by the official pipeline.

The official code (showlab/FQGAN dataset/augmentation.py, torchvision ImageFolder) computes

    image = Image.open(path).convert('RGB')
    image = center_crop_arr(image, 256)          # ADM: BOX halving, BICUBIC resize, centre crop
    tensor = Normalize(0.5, 0.5)(ToTensor()(image))

This script writes small input images covering every decoding and resampling path (JPEG 4:2:0,
4:2:2, 4:4:4, progressive, gray, CMYK; PNG RGB, RGBA, gray, gray + alpha, palette with
transparency, 1-bit, 16-bit RGB and gray; BMP; sizes that need zero, one and two BOX halvings,
odd sizes, portrait, tiny images that are upscaled, exact 256 sides) plus damaged files, runs the
official pipeline on each with Pillow, and records

    tests/fixtures/tokenize/inputs/<name>  the input file
    tests/fixtures/tokenize/cases.json      per input: Pillow's outcome ("ok" or the exception),
                                            the decoded size and mode, and the SHA-256 of the
                                            256x256x3 crop center_crop_arr returns (raw RGB bytes)
    tests/fixtures/tokenize/normalize.npy   float32 [256]: ToTensor + Normalize of levels 0..255

The crops themselves are not stored (they would be most of the fixture's size); --crops DIR
writes them as PNGs for comparing a failing case pixel by pixel.

Run with the system Python (Debian python3-pil, python3-numpy, python3-torch, torchvision):
    /usr/bin/python3 tools/reference/preprocess_reference.py [--out DIR] [--crops DIR]
"""
import argparse
import hashlib
import io
import json
import os

import numpy as np
import PIL
from PIL import Image

SIZE = 256


def center_crop_arr(pil_image, image_size):
    """ADM's center_crop_arr, as in the official dataset/augmentation.py."""
    while min(*pil_image.size) >= 2 * image_size:
        pil_image = pil_image.resize(tuple(x // 2 for x in pil_image.size), resample=Image.BOX)
    scale = image_size / min(*pil_image.size)
    pil_image = pil_image.resize(tuple(round(x * scale) for x in pil_image.size),
                                 resample=Image.BICUBIC)
    arr = np.array(pil_image)
    crop_y = (arr.shape[0] - image_size) // 2
    crop_x = (arr.shape[1] - image_size) // 2
    return Image.fromarray(arr[crop_y:crop_y + image_size, crop_x:crop_x + image_size])


def pattern(width, height, seed, channels=3):
    """Deterministic content with edges, gradients and mid-frequency detail (uint8 HxWxC)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    out = np.empty((height, width, channels))
    for c in range(channels):
        fx, fy = rng.uniform(0.005, 0.05, 2)
        phase = rng.uniform(0, 6.28)
        wave = 0.5 + 0.35 * np.sin(fx * x + fy * y + phase)
        ramp = (x / max(width - 1, 1) + y / max(height - 1, 1)) * 0.25
        out[..., c] = wave + ramp
    out[(x // 37 + y // 29) % 2 == 0] += 0.12  # hard edges: checks the filter taps
    return np.clip(out * 200, 0, 255).astype(np.uint8)


def jpeg(image, **options):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def png(image, **options):
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def rgb(w, h, seed):
    return Image.fromarray(pattern(w, h, seed))


def gray(w, h, seed):
    return Image.fromarray(pattern(w, h, seed, 1)[..., 0])


def make_inputs():
    """name -> encoded bytes; each image converts and crops in the official pipeline."""
    inputs = {}
    inputs["jpeg420_1030x771.jpg"] = jpeg(rgb(1030, 771, 1), quality=75)  # one BOX halving
    inputs["jpeg420_2100x1100.jpg"] = jpeg(rgb(2100, 1100, 2), quality=30)  # two halvings
    inputs["jpeg422_511x600.jpg"] = jpeg(rgb(511, 600, 3), quality=85, subsampling=1)
    inputs["jpeg444_300x300.jpg"] = jpeg(rgb(300, 300, 4), quality=85, subsampling=0)
    inputs["jpeg_progressive_500x401.jpg"] = jpeg(rgb(500, 401, 5), quality=80,
                                                  progressive=True)
    inputs["jpeg_gray_400x300.jpg"] = jpeg(gray(400, 300, 6), quality=85)
    cmyk = Image.fromarray(pattern(320, 260, 7, 4), "CMYK")
    inputs["jpeg_cmyk_320x260.jpg"] = jpeg(cmyk, quality=90)  # Pillow writes Adobe CMYK
    inputs["jpeg_wide_1500x260.jpg"] = jpeg(rgb(1500, 260, 8), quality=70)
    inputs["png_rgb_portrait_160x301.png"] = png(rgb(160, 301, 9))
    inputs["png_rgb_odd_301x257.png"] = png(rgb(301, 257, 10))
    inputs["png_rgb_exact_256x256.png"] = png(rgb(256, 256, 11))  # resize is a copy
    inputs["png_rgb_256x300.png"] = png(rgb(256, 300, 12))  # width unchanged: one pass
    inputs["jpeg_halve_512x520.jpg"] = jpeg(rgb(512, 520, 13), quality=75)  # halving boundary
    inputs["png_tiny_100x60.png"] = png(rgb(100, 60, 14))  # upscaled
    inputs["png_tiny_7x5.png"] = png(rgb(7, 5, 15))
    inputs["png_tiny_1x1.png"] = png(rgb(1, 1, 16))
    inputs["png_gray_333x277.png"] = png(gray(333, 277, 17))
    rgba = Image.fromarray(pattern(300, 290, 18, 4), "RGBA")  # alpha dropped, not composited
    inputs["png_rgba_300x290.png"] = png(rgba)
    la = Image.fromarray(pattern(260, 270, 19, 2), "LA")
    inputs["png_la_260x270.png"] = png(la)
    palette = rgb(320, 240, 20).quantize(64)
    inputs["png_palette_trns_320x240.png"] = png(palette, transparency=3)
    bilevel = gray(300, 300, 21).point(lambda v: 255 if v > 128 else 0).convert("1")
    inputs["png_1bit_300x300.png"] = png(bilevel)
    rgb16 = pattern(150, 130, 22).astype(np.uint16) * 257 + np.uint16(77)
    inputs["png_rgb16_150x130.png"] = encode_png16(rgb16)
    gray16 = pattern(280, 300, 23, 1)[..., 0].astype(np.uint16)
    gray16[::3] *= 200  # every third row above 255: PIL saturates those at 255
    inputs["png_gray16_280x300.png"] = encode_png16(gray16)
    bmp = io.BytesIO()
    rgb(130, 97, 24).save(bmp, "BMP")
    inputs["bmp_rgb_130x97.bmp"] = bmp.getvalue()
    return inputs


def encode_png16(array):
    """16-bit PNG (gray: HxW, RGB: HxWx3) with a tiny writer: Pillow cannot write 16-bit RGB."""
    import struct
    import zlib
    height, width = array.shape[:2]
    color_type = 0 if array.ndim == 2 else 2
    raw = b"".join(b"\x00" + array[row].astype(">u2").tobytes() for row in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) +
            chunk(b"IEND", b""))


def make_damaged(inputs):
    """name -> bytes of files the official pipeline cannot read."""
    damaged = {}
    base_jpeg = inputs["jpeg444_300x300.jpg"]
    base_png = inputs["png_tiny_100x60.png"]
    damaged["bad_empty.jpg"] = b""
    damaged["bad_garbage.png"] = bytes(np.random.default_rng(30).integers(0, 256, 500,
                                                                          dtype=np.uint8))
    damaged["bad_truncated.jpg"] = base_jpeg[:len(base_jpeg) // 2]
    damaged["bad_truncated_progressive.jpg"] = inputs["jpeg_progressive_500x401.jpg"][:-2]
    damaged["bad_truncated.png"] = base_png[:len(base_png) // 2]
    crc = bytearray(base_png)
    crc[29] ^= 0xFF  # IHDR's CRC
    damaged["bad_crc.png"] = bytes(crc)
    corrupt = bytearray(base_jpeg)
    sos = corrupt.find(b"\xff\xc4")  # wreck the Huffman tables
    corrupt[sos + 4:sos + 40] = b"\xff" * 36
    damaged["bad_corrupt_tables.jpg"] = bytes(corrupt)
    return damaged


def make_readable_damage(inputs):
    """name -> bytes of damaged files that Pillow still reads (libjpeg only warns)."""
    scan = bytearray(inputs["jpeg444_300x300.jpg"])
    start = scan.find(b"\xff\xda") + 200
    scan[start:start + 64] = bytes(np.random.default_rng(31).integers(0, 255, 64,
                                                                      dtype=np.uint8))
    return {"jpeg_corrupt_scan_300x300.jpg": bytes(scan)}


def run_official(data):
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return image, center_crop_arr(image, SIZE)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(root, "tests/fixtures/tokenize"))
    parser.add_argument("--crops", help="also write the expected crops here as PNGs")
    args = parser.parse_args()
    out = args.out
    os.makedirs(os.path.join(out, "inputs"), exist_ok=True)
    if args.crops:
        os.makedirs(args.crops, exist_ok=True)
    inputs = make_inputs()
    inputs.update(make_readable_damage(inputs))
    damaged = make_damaged(inputs)
    cases = []
    for name, data in list(inputs.items()) + list(damaged.items()):
        path = os.path.join(out, "inputs", name)
        with open(path, "wb") as f:
            f.write(data)
        case = {"input": "inputs/" + name}
        try:
            image, crop = run_official(data)
        except Exception as error:  # what Pillow raises decides the expected failure
            message = str(error).replace(repr(io.BytesIO), "")
            if "cannot identify image file" in message:
                message = "cannot identify image file"
            case.update(pil="error", pil_error=f"{type(error).__name__}: {message}")
        else:
            pixels = np.asarray(crop, dtype=np.uint8)
            assert pixels.shape == (SIZE, SIZE, 3)
            if args.crops:
                crop.save(os.path.join(args.crops, os.path.splitext(name)[0] + ".png"))
            case.update(pil="ok", width=image.size[0], height=image.size[1],
                        mode=Image.open(io.BytesIO(data)).mode,
                        crop_sha256=hashlib.sha256(pixels.tobytes()).hexdigest())
        cases.append(case)
    import torch
    from torchvision import transforms
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    tensor = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5], inplace=True),
    ])(Image.fromarray(np.stack([levels] * 3, -1)))
    np.save(os.path.join(out, "normalize.npy"), tensor[0].reshape(256).numpy().astype("<f4"))
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"pillow": PIL.__version__, "torch": torch.__version__, "size": SIZE,
                   "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
