"""The counter-based hash of core/hash.h in NumPy: r_i in [-1, 1) for element i of the tensor
named `name`, a pure function of (seed, name, i), so the reference scripts and facet's C tests
compute the same random weights without sharing a file (fqgan_ref.py, lpips_reference.py).

    base = mix64(seed * 0x9E3779B97F4A7C15 + fnv1a64(name))      (uint64, wrapping)
    x_i  = mix64(base + (i + 1) * 0xD1B54A32D192ED03)
    r_i  = (x_i >> 40) * 2^-24 * 2 - 1                            (float32, exact)
"""
import numpy as np

M64 = (1 << 64) - 1


def mix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def fnv1a64(name):
    h = 0xCBF29CE484222325
    for byte in name.encode():
        h = ((h ^ byte) * 0x100000001B3) & M64
    return h


def signed_uniform(name, n, seed):
    """float32 [n]: r_0 .. r_{n-1} of tensor `name` under `seed`."""
    with np.errstate(over="ignore"):
        base = mix64(np.array([(seed * 0x9E3779B97F4A7C15 + fnv1a64(name)) & M64],
                              dtype=np.uint64))[0]
        x = mix64(np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03) + base)
    u = (x >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)
    return u * np.float32(2) - np.float32(1)
