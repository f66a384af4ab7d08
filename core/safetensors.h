/* safetensors files: an 8-byte little-endian header length N, N bytes of JSON
 * {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, then the
 * tensor bytes (offsets relative to the end of the header).
 *
 * The reader mmaps the file and validates everything before returning: header length within the
 * file, valid UTF-8 JSON object, known dtype names, non-negative shapes whose byte size equals the
 * offset range, offsets within the data section, no overlapping tensors, no size overflow,
 * metadata values are strings; a tensor name that appears twice is an error; the "\u0000" escape
 * (which would cut a name short) is refused. Keys of a tensor entry
 * other than dtype, shape and data_offsets are ignored (as the reference implementation does).
 *
 * Tensors are zero-copy views into the mapping wherever that is aligned for their dtype. The
 * format does not promise alignment (writers pad the header so the data section starts 8-byte
 * aligned, but a file may pack a U8[3] before an F32): a tensor whose bytes do not start at a
 * multiple of its element size is copied into an aligned allocation instead, so every view may be
 * dereferenced as its C type. Multi-byte values are little-endian (facet requires a little-endian
 * host). */
#ifndef FACET_CORE_SAFETENSORS_H
#define FACET_CORE_SAFETENSORS_H

#include "status.h"
#include "tensor.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Caps, checked before anything is allocated for them; beyond one, open fails with "too large"
 * and the cap. Tensor byte sizes need no cap of their own: each must lie inside the file. */
#define FACET_SAFETENSORS_MAX_HEADER_BYTES 100000000 /* as the reference implementation */
#define FACET_SAFETENSORS_MAX_TENSORS 262144
#define FACET_SAFETENSORS_MAX_METADATA 4096

typedef struct facet_safetensors_entry {
    char *name;
    facet_tensor tensor; /* view into the mapping or aligned_copies (owner = 0) */
    uint64_t begin, end; /* byte range within the data section */
} facet_safetensors_entry;

typedef struct facet_safetensors {
    char *path;
    void *map;       /* the whole file, read-only */
    size_t map_size; /* bytes */
    int count;
    facet_safetensors_entry *entries; /* in header order */
    int metadata_count;
    char **metadata_keys; /* __metadata__ (may be empty) */
    char **metadata_values;
    void *aligned_copies; /* copies of the misaligned tensors, 8-byte aligned each (or NULL) */
} facet_safetensors;

facet_status facet_safetensors_open(facet_safetensors *st, const char *path);
void facet_safetensors_close(facet_safetensors *st);

/* The tensor named `name`, or NULL (with a not-found error naming the file and the tensor). */
const facet_tensor *facet_safetensors_get(const facet_safetensors *st, const char *name);
/* Like get, then facet_tensor_expect on dtype and shape. */
facet_status facet_safetensors_expect(const facet_safetensors *st, const char *name,
                                      facet_dtype dtype, int ndim, const int64_t *shape,
                                      const facet_tensor **out);
/* Scans every floating-point tensor for NaN and Inf. Returns how many tensors hold any, and
 * writes "name (2 NaN, 1 Inf), ..." for the first few of them into `summary` (NUL-terminated,
 * cut with "..." when long; may be NULL). */
int facet_safetensors_nonfinite(const facet_safetensors *st, char *summary, size_t size);
/* facet_safetensors_nonfinite, then facet_warn naming the file and the tensors, ending with
 * "(facet info --check FILE lists them)". For loaders of weights. Returns the tensor count. */
int facet_safetensors_warn_nonfinite(const facet_safetensors *st);

/* The metadata value for `key`, or NULL when absent (no error set). */
const char *facet_safetensors_metadata(const facet_safetensors *st, const char *key);

/* Checks facet's weights header: __metadata__ "format" equals `format` and "version" equals
 * `version`, and returns the "config" text in *config. Failures name the file: "not facet <what>
 * weights (__metadata__.format is 'x', expected '<format>'; <hint>)", "<what> weights format
 * version 2, this facet reads version 1", "__metadata__ has no 'config'". */
facet_status facet_safetensors_check_header(const facet_safetensors *st, const char *what,
                                            const char *format, int version, const char *hint,
                                            const char **config);

/* Writing: collect named host tensors and metadata, then write atomically. Tensors are stored in
 * the order added; names must be unique. The writer copies nothing until write: keep the tensor
 * data alive until facet_safetensors_write returns.
 *
 * The header is compact JSON with "__metadata__" first (when any was added), then the tensors in
 * the order added, padded with spaces to a multiple of 8 bytes so that the data section starts
 * 8-byte aligned; the tensor bytes follow contiguously in the same order. Names and metadata must
 * be valid UTF-8 ("__metadata__" is reserved). */
typedef struct facet_safetensors_writer {
    int count, capacity;
    char **names;
    facet_tensor *tensors;
    int metadata_count, metadata_capacity;
    char **metadata_keys;
    char **metadata_values;
} facet_safetensors_writer;

void facet_safetensors_writer_init(facet_safetensors_writer *w);
facet_status facet_safetensors_writer_add(facet_safetensors_writer *w, const char *name,
                                          const facet_tensor *t);
facet_status facet_safetensors_writer_metadata(facet_safetensors_writer *w, const char *key,
                                               const char *value);
facet_status facet_safetensors_write(const facet_safetensors_writer *w, const char *path);
void facet_safetensors_writer_free(facet_safetensors_writer *w);

#ifdef __cplusplus
}
#endif
#endif
