#!/usr/bin/python3
"""Writes the .npy fixtures of tests/test_npy.c into tests/fixtures/npy/ with NumPy itself.

Files (all C order, little-endian, format 1.0 unless said otherwise):
    mask_bool.npy    bool (4,5,3): a LiveScene-style mask, (H, W, objects + 1) with the last
                     channel the background; pixel (i, j) belongs to object (i + j) % 3, where
                     object 2 is the background
    u8.npy           uint8 (3,)
    u16.npy          uint16 (2,2)
    i32.npy          int32 (2,3)
    i64.npy          int64 (4,)
    f16.npy          float16 (5,) including the smallest subnormal and the largest finite value
    f32.npy          float32 (2,3,2)
    scalar_f32.npy   float32 () (a 0-d array: shape is the empty tuple)
    empty_f32.npy    float32 (0,4)
    fortran_f32.npy  float32 (2,3) saved in Fortran order (facet rejects it)
    v2_i32.npy       int32 (3,) written as format version 2.0
    v3_u8.npy        uint8 (2,) written as format version 3.0
    expected.json    per file: dtype, shape and the values in C order

Usage: /usr/bin/python3 tools/reference/make_npy_fixtures.py [OUT_DIR]
"""
import json
import os
import sys

import numpy as np


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "npy")
    os.makedirs(out, exist_ok=True)

    i, j = np.meshgrid(np.arange(4), np.arange(5), indexing="ij")
    mask = np.stack([(i + j) % 3 == k for k in range(3)], axis=-1)
    arrays = {
        "mask_bool": mask,
        "u8": np.array([0, 7, 255], dtype=np.uint8),
        "u16": np.array([[0, 1], [40000, 65535]], dtype=np.uint16),
        "i32": np.array([[1, -2, 3], [2 ** 31 - 1, -(2 ** 31), 0]], dtype=np.int32),
        "i64": np.array([0, -1, 2 ** 40, -(2 ** 53)], dtype=np.int64),
        "f16": np.array([1.0, -2.5, 2.0 ** -24, 65504.0, 0.333251953125], dtype=np.float16),
        "f32": (np.arange(12, dtype=np.float32).reshape(2, 3, 2) - 5.5) / 4,
        "scalar_f32": np.array(3.25, dtype=np.float32),
        "empty_f32": np.zeros((0, 4), dtype=np.float32),
    }
    expected = {}
    for name, a in arrays.items():
        np.save(os.path.join(out, name + ".npy"), a)
        expected[name + ".npy"] = {"descr": a.dtype.str, "shape": list(a.shape),
                                   "values": a.ravel().tolist()}

    fortran = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert fortran.flags.f_contiguous and not fortran.flags.c_contiguous
    np.save(os.path.join(out, "fortran_f32.npy"), fortran)

    for name, a, version in [("v2_i32", np.array([5, -6, 7], dtype=np.int32), (2, 0)),
                             ("v3_u8", np.array([9, 250], dtype=np.uint8), (3, 0))]:
        with open(os.path.join(out, name + ".npy"), "wb") as f:
            np.lib.format.write_array(f, a, version=version)
        expected[name + ".npy"] = {"descr": a.dtype.str, "shape": list(a.shape),
                                   "values": a.ravel().tolist()}

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
