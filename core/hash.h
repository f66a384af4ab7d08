/* Counter-based hashing for reproducible pseudo-random weights: element i of a tensor is a pure
 * function of (seed, tensor name, i), so a C test and a Python reference script compute the same
 * tensors without sharing a file (tokenizer/fqgan.c's facet_fqgan_write_random and
 * tools/reference/fqgan_ref.py; lpips/lpips_weights.c and tools/reference/lpips_reference.py).
 *
 *   base   = mix64(seed * 0x9E3779B97F4A7C15 + fnv1a64(name))          (uint64, wrapping)
 *   x_i    = mix64(base + (i + 1) * 0xD1B54A32D192ED03)                  i = 0, 1, ...
 *   r_i    = (x_i >> 40) * 2^-24 * 2 - 1                                 float, exact, in [-1, 1)
 *
 * mix64 is SplitMix64's finaliser (Steele et al. 2014), fnv1a64 the 64-bit FNV-1a hash of the
 * name's bytes. Every step of r_i is exact in float32, so any IEEE implementation agrees bit for
 * bit. */
#ifndef FACET_CORE_HASH_H
#define FACET_CORE_HASH_H

#include <stdint.h>

static inline uint64_t facet_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t facet_fnv1a64(const char *s) {
    uint64_t h = 0xCBF29CE484222325ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001B3ULL;
    return h;
}

/* The per-tensor base of (seed, name). */
static inline uint64_t facet_hash_base(uint64_t seed, const char *name) {
    return facet_mix64(seed * 0x9E3779B97F4A7C15ULL + facet_fnv1a64(name));
}

/* r_i in [-1, 1) for element i of the tensor with `base`. */
static inline float facet_hash_signed(uint64_t base, int64_t i) {
    const uint64_t x = facet_mix64(base + (uint64_t)(i + 1) * 0xD1B54A32D192ED03ULL);
    return (float)(x >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f;
}

#endif
