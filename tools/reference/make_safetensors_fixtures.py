#!/usr/bin/python3
"""Writes the safetensors fixtures of tests/test_safetensors.c into tests/fixtures/safetensors/.

The `safetensors` package is not a dependency, so the files are written by hand following the
format specification (https://github.com/huggingface/safetensors#format):

    8 bytes   N, the header length, unsigned little-endian 64-bit
    N bytes   UTF-8 JSON object {name: {"dtype", "shape", "data_offsets": [begin, end]},
                                 "__metadata__": {str: str}}
    rest      tensor bytes, little-endian, C order; offsets relative to the end of the header

Files:
    mixed.safetensors      F32, F16, BF16, I64, I32, U16, U8, BOOL tensors, a scalar, an empty
                           tensor and __metadata__; the header lists tensors in an order that
                           differs from their order in the data section, and is padded with
                           spaces so the data section starts 8-byte aligned (as the reference
                           writer does).
    unaligned.safetensors  the header is not padded, so the F32 data starts at an odd file offset:
                           readers must not assume alignment.
    expected.json          for each file: metadata, and per tensor dtype, shape, data_offsets and
                           the values in C order (floats are exactly representable in their dtype,
                           so the JSON numbers are exact).

Usage: /usr/bin/python3 tools/reference/make_safetensors_fixtures.py [OUT_DIR]
"""
import json
import os
import struct
import sys

import numpy as np

NUMPY_DTYPE = {
    "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}


def bf16_bytes(values):
    """float32 -> bfloat16 bytes; the values are chosen exactly representable (low 16 bits 0)."""
    bits = np.asarray(values, dtype="<f4").view("<u4")
    assert np.all(bits & 0xFFFF == 0), "bf16 fixture values must be exact"
    return (bits >> 16).astype("<u2").tobytes()


def tensor_bytes(dtype, values):
    if dtype == "BF16":
        return bf16_bytes(values)
    return np.asarray(values, dtype=NUMPY_DTYPE[dtype]).tobytes()


def write_file(path, tensors, data_order, metadata, pad):
    """tensors: list of (name, dtype, shape, flat values) in header order; data_order: the names
    in the order their bytes are laid out."""
    by_name = {t[0]: t for t in tensors}
    data = b""
    offsets = {}
    for name in data_order:
        _, dtype, shape, values = by_name[name]
        raw = tensor_bytes(dtype, values)
        assert len(raw) == int(np.prod(shape, dtype=np.int64)) * len(tensor_bytes(dtype, [0]))
        offsets[name] = [len(data), len(data) + len(raw)]
        data += raw
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, _ in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": offsets[name]}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if pad:
        text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    return {
        "metadata": metadata or {},
        "header_length": len(text),
        "tensors": [
            {"name": n, "dtype": d, "shape": s, "data_offsets": offsets[n],
             "values": [bool(v) if d == "BOOL" else v for v in vals]}
            for n, d, s, vals in tensors
        ],
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "safetensors")
    os.makedirs(out, exist_ok=True)
    expected = {}

    mixed = [
        ("weight", "F32", [2, 3], [0.5, -1.25, 3.0, 1e-3, -0.0, 65536.0]),
        # f16: 1, -2.5, smallest normal 2^-14, largest finite 65504, smallest subnormal 2^-24
        ("half", "F16", [5], [1.0, -2.5, 2.0 ** -14, 65504.0, 2.0 ** -24]),
        ("bf", "BF16", [3], [1.0, -3.140625, 2.0 ** 100]),
        ("index", "I64", [4], [0, -1, 2 ** 40, -(2 ** 53)]),
        ("counts", "I32", [2, 2], [7, -8, 2 ** 31 - 1, -(2 ** 31)]),
        ("tokens", "U16", [3], [0, 1234, 65535]),
        ("pixels", "U8", [2, 2], [0, 1, 128, 255]),
        ("mask", "BOOL", [2, 3], [1, 0, 0, 1, 1, 0]),
        ("scale", "F32", [], [2.5]),
        ("empty", "F32", [0, 3], []),
    ]
    # Data section order differs from header order (the spec allows any order).
    data_order = ["index", "weight", "bf", "half", "counts", "scale", "tokens", "pixels", "mask",
                  "empty"]
    metadata = {"format": "pt", "config": json.dumps({"width": 4, "name": "t\u00e9st"}, ensure_ascii=False)}
    expected["mixed.safetensors"] = write_file(os.path.join(out, "mixed.safetensors"), mixed,
                                               data_order, metadata, pad=True)

    unaligned = [
        ("a", "U8", [3], [1, 2, 3]),
        ("b", "F32", [2], [1.5, -2.0]),
    ]
    info = write_file(os.path.join(out, "unaligned.safetensors"), unaligned, ["a", "b"], None,
                      pad=False)
    # The F32 tensor must really start at an odd file offset for the fixture to mean anything.
    assert (8 + info["header_length"] + 3) % 4 != 0
    expected["unaligned.safetensors"] = info

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
