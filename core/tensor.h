/* Tensor views: a dtype, a shape (row-major, C order) and a pointer to host or device memory.
 * A view does not own its data unless `owner` is set (then facet_tensor_free releases it). */
#ifndef FACET_CORE_TENSOR_H
#define FACET_CORE_TENSOR_H

#include "status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { FACET_MAX_DIMS = 8 };

typedef enum facet_dtype {
    FACET_DTYPE_INVALID = 0,
    FACET_DTYPE_BOOL,
    FACET_DTYPE_U8,
    FACET_DTYPE_U16,
    FACET_DTYPE_I32,
    FACET_DTYPE_I64,
    FACET_DTYPE_F16,
    FACET_DTYPE_BF16,
    FACET_DTYPE_F32,
} facet_dtype;

typedef enum facet_memory { FACET_MEMORY_HOST = 0, FACET_MEMORY_DEVICE = 1 } facet_memory;

typedef struct facet_tensor {
    facet_dtype dtype;
    int ndim;
    int64_t shape[FACET_MAX_DIMS];
    void *data;
    facet_memory memory;
    int owner; /* 1: data was allocated for this tensor (host: facet_alloc, device: cudaMalloc) */
} facet_tensor;

/* Bytes per element (0 for FACET_DTYPE_INVALID). */
size_t facet_dtype_size(facet_dtype dtype);
/* safetensors dtype names: "BOOL", "U8", "U16", "I32", "I64", "F16", "BF16", "F32". */
const char *facet_dtype_name(facet_dtype dtype);
/* Inverse of facet_dtype_name; FACET_DTYPE_INVALID for unknown names. */
facet_dtype facet_dtype_from_name(const char *name);

/* Number of elements (product of the shape; 1 for a scalar). */
int64_t facet_tensor_numel(const facet_tensor *t);
size_t facet_tensor_bytes(const facet_tensor *t);

/* Allocates a zeroed host tensor of the given shape. */
facet_status facet_tensor_alloc(facet_tensor *t, facet_dtype dtype, int ndim, const int64_t *shape);
void facet_tensor_free(facet_tensor *t);

/* Formats a shape as "[32,128,128]" into buf (always NUL-terminated). */
const char *facet_shape_string(int ndim, const int64_t *shape, char *buf, size_t size);

/* Checks dtype and shape; on mismatch fails with
 * "'<name>': expected F32 [32,128,128], got F16 [32,64,64]". */
facet_status facet_tensor_expect(const facet_tensor *t, const char *name, facet_dtype dtype,
                                 int ndim, const int64_t *shape);

/* Element i of a host tensor of any dtype converted to f32. */
float facet_tensor_get_f32(const facet_tensor *t, int64_t i);
/* Element i as a double: exact for every dtype except I64 beyond 2^53. */
double facet_tensor_get_f64(const facet_tensor *t, int64_t i);

/* Non-finite values of a host tensor: NaN and +-Inf counts, and the flat index of the first
 * (-1 when none). Integer and bool tensors have none. F16/BF16/F32 are tested on their exponent
 * bits, so the scan is one pass over the bytes. */
typedef struct facet_nonfinite {
    int64_t nan, inf, first;
} facet_nonfinite;
facet_nonfinite facet_tensor_count_nonfinite(const facet_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
