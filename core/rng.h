/* A small seeded random number generator: PCG32 (O'Neill 2014, XSH-RR output, 64-bit LCG state).
 * Deterministic across platforms for a given (seed, stream); usable on host and device. */
#ifndef FACET_CORE_RNG_H
#define FACET_CORE_RNG_H

#include "hd.h"

#include <stdint.h>

typedef struct facet_rng {
    uint64_t state;
    uint64_t increment; /* odd: selects the stream */
} facet_rng;

static inline FACET_HD uint32_t facet_rng_u32(facet_rng *rng) {
    uint64_t old = rng->state;
    rng->state = old * 6364136223846793005ULL + rng->increment;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

/* Seeds per the PCG reference (pcg32_srandom_r). Different streams are independent sequences. */
static inline FACET_HD facet_rng facet_rng_seed(uint64_t seed, uint64_t stream) {
    facet_rng rng = {0u, (stream << 1u) | 1u};
    facet_rng_u32(&rng);
    rng.state += seed;
    facet_rng_u32(&rng);
    return rng;
}

/* Uniform float in [0, 1) with 24 random bits. */
static inline FACET_HD float facet_rng_uniform(facet_rng *rng) {
    return (float)(facet_rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

/* Uniform integer in [0, bound) without modulo bias (bound > 0). */
static inline FACET_HD uint32_t facet_rng_below(facet_rng *rng, uint32_t bound) {
    uint32_t threshold = (0u - bound) % bound;
    for (;;) {
        uint32_t r = facet_rng_u32(rng);
        if (r >= threshold) return r % bound;
    }
}

#endif
