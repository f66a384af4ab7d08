#include "tensor.h"

#include "alloc.h"
#include "half.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    facet_dtype dtype;
    const char *name;
    size_t size;
} dtype_table[] = {
    {FACET_DTYPE_BOOL, "BOOL", 1}, {FACET_DTYPE_U8, "U8", 1},   {FACET_DTYPE_U16, "U16", 2},
    {FACET_DTYPE_I32, "I32", 4},   {FACET_DTYPE_I64, "I64", 8}, {FACET_DTYPE_F16, "F16", 2},
    {FACET_DTYPE_BF16, "BF16", 2}, {FACET_DTYPE_F32, "F32", 4},
};

size_t facet_dtype_size(facet_dtype dtype) {
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
        if (dtype_table[i].dtype == dtype) return dtype_table[i].size;
    return 0;
}

const char *facet_dtype_name(facet_dtype dtype) {
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
        if (dtype_table[i].dtype == dtype) return dtype_table[i].name;
    return "INVALID";
}

facet_dtype facet_dtype_from_name(const char *name) {
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
        if (strcmp(dtype_table[i].name, name) == 0) return dtype_table[i].dtype;
    return FACET_DTYPE_INVALID;
}

int64_t facet_tensor_numel(const facet_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t facet_tensor_bytes(const facet_tensor *t) {
    return (size_t)facet_tensor_numel(t) * facet_dtype_size(t->dtype);
}

facet_status facet_tensor_alloc(facet_tensor *t, facet_dtype dtype, int ndim,
                                const int64_t *shape) {
    memset(t, 0, sizeof *t);
    if (ndim < 0 || ndim > FACET_MAX_DIMS)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "tensor rank %d outside [0,%d]", ndim,
                          FACET_MAX_DIMS);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT, "negative tensor dimension %lld",
                              (long long)shape[i]);
        if (facet_mul_size(count, (size_t)shape[i], &count) != 0)
            return facet_fail(FACET_ERR_OUT_OF_MEMORY, "tensor size overflows");
        t->shape[i] = shape[i];
    }
    t->data = facet_alloc_zeroed(count, facet_dtype_size(dtype));
    if (!t->data) return facet_last_status();
    t->dtype = dtype;
    t->ndim = ndim;
    t->memory = FACET_MEMORY_HOST;
    t->owner = 1;
    return FACET_OK;
}

void facet_tensor_free(facet_tensor *t) {
    if (t->owner && t->memory == FACET_MEMORY_HOST) free(t->data);
    memset(t, 0, sizeof *t);
}

const char *facet_shape_string(int ndim, const int64_t *shape, char *buf, size_t size) {
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used +=
            (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

facet_status facet_tensor_expect(const facet_tensor *t, const char *name, facet_dtype dtype,
                                 int ndim, const int64_t *shape) {
    int same = t->dtype == dtype && t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (same) return FACET_OK;
    char want[128], got[128];
    facet_shape_string(ndim, shape, want, sizeof want);
    facet_shape_string(t->ndim, t->shape, got, sizeof got);
    return facet_fail(FACET_ERR_FORMAT, "'%s': expected %s %s, got %s %s", name,
                      facet_dtype_name(dtype), want, facet_dtype_name(t->dtype), got);
}

float facet_tensor_get_f32(const facet_tensor *t, int64_t i) {
    switch (t->dtype) {
    case FACET_DTYPE_F32:
        return ((const float *)t->data)[i];
    case FACET_DTYPE_F16:
        return facet_f16_to_f32(((const uint16_t *)t->data)[i]);
    case FACET_DTYPE_BF16:
        return facet_bf16_to_f32(((const uint16_t *)t->data)[i]);
    case FACET_DTYPE_BOOL:
    case FACET_DTYPE_U8:
        return (float)((const uint8_t *)t->data)[i];
    case FACET_DTYPE_U16:
        return (float)((const uint16_t *)t->data)[i];
    case FACET_DTYPE_I32:
        return (float)((const int32_t *)t->data)[i];
    case FACET_DTYPE_I64:
        return (float)((const int64_t *)t->data)[i];
    case FACET_DTYPE_INVALID:
        break;
    }
    return 0.0f;
}

double facet_tensor_get_f64(const facet_tensor *t, int64_t i) {
    switch (t->dtype) {
    case FACET_DTYPE_I64:
        return (double)((const int64_t *)t->data)[i];
    case FACET_DTYPE_I32:
        return (double)((const int32_t *)t->data)[i];
    default:
        return (double)facet_tensor_get_f32(t, i);
    }
}

/* Exponent all ones: Inf when the mantissa is zero, NaN otherwise. */
#define COUNT_NONFINITE(type, exponent, mantissa)                                                  \
    do {                                                                                           \
        const type *v = t->data;                                                                   \
        for (int64_t i = 0; i < n; i++) {                                                          \
            if ((v[i] & (exponent)) != (exponent)) continue;                                       \
            if (v[i] & (mantissa))                                                                 \
                r.nan++;                                                                           \
            else                                                                                   \
                r.inf++;                                                                           \
            if (r.first < 0) r.first = i;                                                          \
        }                                                                                          \
    } while (0)

facet_nonfinite facet_tensor_count_nonfinite(const facet_tensor *t) {
    facet_nonfinite r = {0, 0, -1};
    const int64_t n = facet_tensor_numel(t);
    if (!t->data || t->memory != FACET_MEMORY_HOST) return r;
    switch (t->dtype) {
    case FACET_DTYPE_F16:
        COUNT_NONFINITE(uint16_t, 0x7c00u, 0x03ffu);
        break;
    case FACET_DTYPE_BF16:
        COUNT_NONFINITE(uint16_t, 0x7f80u, 0x007fu);
        break;
    case FACET_DTYPE_F32:
        COUNT_NONFINITE(uint32_t, 0x7f800000u, 0x007fffffu);
        break;
    default:
        break;
    }
    return r;
}
