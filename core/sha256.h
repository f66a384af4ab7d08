/* SHA-256 (FIPS 180-4): the model and shard digests of token manifests, the keys of the
 * lighting cache. */
#ifndef FACET_CORE_SHA256_H
#define FACET_CORE_SHA256_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_sha256 {
    uint32_t state[8];
    uint64_t length; /* bytes hashed so far */
    unsigned char block[64];
    size_t block_used; /* bytes waiting in block */
} facet_sha256;

void facet_sha256_init(facet_sha256 *h);
void facet_sha256_update(facet_sha256 *h, const void *data, size_t size);
/* Writes the 32-byte digest. */
void facet_sha256_final(facet_sha256 *h, unsigned char digest[32]);

/* Digest of a buffer as 64 lowercase hex characters plus NUL. */
void facet_sha256_hex(const void *data, size_t size, char hex[65]);
/* Digest of a whole file, read in chunks. Errors name the file. */
facet_status facet_sha256_file(const char *path, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
