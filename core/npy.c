#include "npy.h"

#include "alloc.h"
#include "fileio.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error ".npy data is read and written little-endian; facet supports little-endian hosts only"
#endif

/* The file starts with "\x93NUMPY", a major and a minor version byte, then the header length:
 * u16 little-endian for version 1.0, u32 for 2.0 and 3.0. The header is a Python dict literal
 * padded with spaces and ending in '\n'; the array data follows in C order. */
static const unsigned char MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
enum { MAGIC_BYTES = 6, ARRAY_ALIGN = 64, GROWTH_AXIS_MAX_DIGITS = 21 };

static const struct {
    const char *descr;
    facet_dtype dtype;
} DTYPES[] = {
    {"|b1", FACET_DTYPE_BOOL}, {"|u1", FACET_DTYPE_U8},  {"<u2", FACET_DTYPE_U16},
    {"<i4", FACET_DTYPE_I32},  {"<i8", FACET_DTYPE_I64}, {"<f2", FACET_DTYPE_F16},
    {"<f4", FACET_DTYPE_F32},
};
enum { DTYPE_COUNT = sizeof DTYPES / sizeof DTYPES[0] };
static const char SUPPORTED_DTYPES[] = "|b1, |u1, <u2, <i4, <i8, <f2, <f4";

/* ---- header dictionary parser -----------------------------------------------------------------*/

/* The subset of Python literals NumPy writes: {'key': value, ...} where a value is a quoted
 * string, True/False or a tuple of non-negative integers; whitespace anywhere between tokens, an
 * optional trailing comma in the dict and the tuple. */
typedef struct header_parser {
    const char *path;
    const char *text; /* NUL-terminated header */
    const char *p;
} header_parser;

typedef enum value_kind { VALUE_STRING, VALUE_BOOL, VALUE_TUPLE } value_kind;

typedef struct header_value {
    value_kind kind;
    const char *string; /* VALUE_STRING: points into the header, `length` bytes */
    size_t length;
    int boolean;
    int ndim; /* VALUE_TUPLE */
    int64_t dims[FACET_MAX_DIMS];
} header_value;

static void skip_space(header_parser *h) {
    while (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r') h->p++;
}

static facet_status malformed(const header_parser *h, const char *expected) {
    int shown = (int)strcspn(h->text, "\n");
    return facet_fail(FACET_ERR_FORMAT,
                      "%s: malformed .npy header: expected %s at byte %d of \"%.*s\"", h->path,
                      expected, (int)(h->p - h->text), shown > 200 ? 200 : shown, h->text);
}

static facet_status parse_string(header_parser *h, const char **s, size_t *length) {
    char quote = *h->p;
    if (quote != '\'' && quote != '"') return malformed(h, "a quoted string");
    const char *start = ++h->p;
    while (*h->p && *h->p != quote && *h->p != '\\' && *h->p != '\n') h->p++;
    if (*h->p != quote) return malformed(h, "a closing quote (escapes are not supported)");
    *s = start;
    *length = (size_t)(h->p - start);
    h->p++;
    return FACET_OK;
}

/* ( int, int, ... ) with Python's rule that a one-element tuple needs its trailing comma. */
static facet_status parse_tuple(header_parser *h, header_value *v) {
    h->p++; /* '(' */
    v->kind = VALUE_TUPLE;
    v->ndim = 0;
    int trailing_comma = 0;
    for (;;) {
        skip_space(h);
        if (*h->p == ')') break;
        if (*h->p == '-')
            return facet_fail(FACET_ERR_FORMAT, "%s: .npy shape has a negative dimension", h->path);
        if (*h->p < '0' || *h->p > '9') return malformed(h, "a non-negative integer or ')'");
        int64_t value = 0;
        while (*h->p >= '0' && *h->p <= '9') {
            int digit = *h->p++ - '0';
            if (value > (INT64_MAX - digit) / 10)
                return facet_fail(FACET_ERR_FORMAT, "%s: .npy shape dimension is too large",
                                  h->path);
            value = value * 10 + digit;
        }
        if (*h->p == 'L') h->p++; /* Python 2 long literal */
        if (v->ndim == FACET_MAX_DIMS)
            return facet_fail(FACET_ERR_UNSUPPORTED, "%s: .npy shape has more than %d dimensions",
                              h->path, FACET_MAX_DIMS);
        v->dims[v->ndim++] = value;
        skip_space(h);
        trailing_comma = *h->p == ',';
        if (trailing_comma) {
            h->p++;
            continue;
        }
        if (*h->p != ')') return malformed(h, "',' or ')'");
    }
    if (v->ndim == 1 && !trailing_comma)
        return malformed(h, "a tuple (a one-element tuple needs a trailing comma, as in (3,))");
    h->p++; /* ')' */
    return FACET_OK;
}

static facet_status parse_value(header_parser *h, header_value *v) {
    memset(v, 0, sizeof *v);
    if (*h->p == '\'' || *h->p == '"') {
        v->kind = VALUE_STRING;
        return parse_string(h, &v->string, &v->length);
    }
    if (strncmp(h->p, "True", 4) == 0 || strncmp(h->p, "False", 5) == 0) {
        v->kind = VALUE_BOOL;
        v->boolean = h->p[0] == 'T';
        h->p += v->boolean ? 4 : 5;
        return FACET_OK;
    }
    if (*h->p == '(') return parse_tuple(h, v);
    return malformed(h, "a string, True, False or a tuple");
}

typedef struct npy_header {
    facet_dtype dtype;
    int fortran_order;
    int ndim;
    int64_t shape[FACET_MAX_DIMS];
} npy_header;

static facet_status interpret_descr(const header_parser *h, const header_value *v,
                                    npy_header *out) {
    if (v->kind != VALUE_STRING)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "%s: .npy 'descr' must be a dtype string (structured dtypes are not "
                          "supported)",
                          h->path);
    for (int i = 0; i < DTYPE_COUNT; i++)
        if (strlen(DTYPES[i].descr) == v->length &&
            memcmp(DTYPES[i].descr, v->string, v->length) == 0) {
            out->dtype = DTYPES[i].dtype;
            return FACET_OK;
        }
    int shown = v->length > 32 ? 32 : (int)v->length;
    if (v->length > 0 && v->string[0] == '>')
        for (int i = 0; i < DTYPE_COUNT; i++)
            if (strlen(DTYPES[i].descr) == v->length &&
                memcmp(DTYPES[i].descr + 1, v->string + 1, v->length - 1) == 0)
                return facet_fail(FACET_ERR_UNSUPPORTED,
                                  "%s: big-endian dtype '%.*s' is not supported; re-save with "
                                  "arr.astype('%s')",
                                  h->path, shown, v->string, DTYPES[i].descr);
    return facet_fail(FACET_ERR_UNSUPPORTED, "%s: unsupported .npy dtype '%.*s' (facet reads %s)",
                      h->path, shown, v->string, SUPPORTED_DTYPES);
}

static facet_status parse_header(const char *path, const char *text, npy_header *out) {
    header_parser h = {path, text, text};
    static const char *const KEYS[3] = {"descr", "fortran_order", "shape"};
    int seen[3] = {0, 0, 0};
    memset(out, 0, sizeof *out);
    skip_space(&h);
    if (*h.p != '{') return malformed(&h, "'{'");
    h.p++;
    for (;;) {
        skip_space(&h);
        if (*h.p == '}') break;
        const char *key = NULL;
        size_t key_length = 0;
        if (parse_string(&h, &key, &key_length) != FACET_OK) return facet_last_status();
        int k = 0;
        while (k < 3 && !(strlen(KEYS[k]) == key_length && memcmp(KEYS[k], key, key_length) == 0))
            k++;
        int shown = key_length > 32 ? 32 : (int)key_length;
        if (k == 3)
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: unexpected key '%.*s' in the .npy header (expected 'descr', "
                              "'fortran_order' and 'shape')",
                              path, shown, key);
        if (seen[k]++)
            return facet_fail(FACET_ERR_FORMAT, "%s: key '%s' appears twice in the .npy header",
                              path, KEYS[k]);
        skip_space(&h);
        if (*h.p != ':') return malformed(&h, "':'");
        h.p++;
        skip_space(&h);
        header_value v;
        if (parse_value(&h, &v) != FACET_OK) return facet_last_status();
        if (k == 0 && interpret_descr(&h, &v, out) != FACET_OK) return facet_last_status();
        if (k == 1) {
            if (v.kind != VALUE_BOOL)
                return facet_fail(FACET_ERR_FORMAT,
                                  "%s: .npy 'fortran_order' must be True or False", path);
            out->fortran_order = v.boolean;
        }
        if (k == 2) {
            if (v.kind != VALUE_TUPLE)
                return facet_fail(FACET_ERR_FORMAT,
                                  "%s: .npy 'shape' must be a tuple of non-negative integers",
                                  path);
            out->ndim = v.ndim;
            memcpy(out->shape, v.dims, sizeof v.dims);
        }
        skip_space(&h);
        if (*h.p == ',') {
            h.p++;
            continue;
        }
        if (*h.p != '}') return malformed(&h, "',' or '}'");
    }
    h.p++;
    skip_space(&h);
    if (*h.p) return malformed(&h, "the end of the header after '}'");
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            return facet_fail(FACET_ERR_FORMAT, "%s: .npy header has no '%s' key", path, KEYS[k]);
    if (out->fortran_order)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "%s: array is stored in Fortran order; facet reads C-order arrays only "
                          "(re-save it with np.save(path, np.ascontiguousarray(array)))",
                          path);
    return FACET_OK;
}

/* ---- reader -----------------------------------------------------------------------------------*/

static facet_status read_npy(FILE *f, const char *path, facet_tensor *t) {
    struct stat info;
    if (fstat(fileno(f), &info) != 0 || !S_ISREG(info.st_mode))
        return facet_fail(FACET_ERR_IO, "'%s' is not a regular file", path);
    unsigned long long file_size = (unsigned long long)info.st_size;

    unsigned char prefix[12];
    size_t got = fread(prefix, 1, 8, f);
    if (got < MAGIC_BYTES || memcmp(prefix, MAGIC, MAGIC_BYTES) != 0)
        return facet_fail(FACET_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
    if (got < 8)
        return facet_fail(FACET_ERR_FORMAT, "%s: truncated .npy header (file is %llu bytes)", path,
                          file_size);
    int major = prefix[6], minor = prefix[7];
    if (!((major == 1 || major == 2 || major == 3) && minor == 0))
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "%s: unsupported .npy format version %d.%d (facet reads 1.0, 2.0 and "
                          "3.0)",
                          path, major, minor);
    size_t length_bytes = major == 1 ? 2 : 4;
    if (fread(prefix + 8, 1, length_bytes, f) != length_bytes)
        return facet_fail(FACET_ERR_FORMAT, "%s: truncated .npy header (file is %llu bytes)", path,
                          file_size);
    unsigned long long header_length = 0;
    for (size_t i = 0; i < length_bytes; i++)
        header_length |= (unsigned long long)prefix[8 + i] << (8 * i);
    unsigned long long data_start = 8 + length_bytes + header_length;
    if (data_start > file_size)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: truncated .npy header: header length %llu exceeds the file (%llu "
                          "bytes)",
                          path, header_length, file_size);

    char *text = facet_alloc((size_t)header_length + 1, 1);
    if (!text) return facet_error_context("%s", path);
    if (fread(text, 1, (size_t)header_length, f) != header_length) {
        free(text);
        return facet_fail(FACET_ERR_IO, "cannot read '%s'", path);
    }
    text[header_length] = '\0';
    if (strlen(text) != header_length) {
        free(text);
        return facet_fail(FACET_ERR_FORMAT, "%s: malformed .npy header: contains a NUL byte", path);
    }
    npy_header header;
    facet_status status = parse_header(path, text, &header);
    free(text);
    if (status != FACET_OK) return status;

    char shape_text[256];
    facet_shape_string(header.ndim, header.shape, shape_text, sizeof shape_text);
    size_t bytes = facet_dtype_size(header.dtype);
    for (int i = 0; i < header.ndim; i++)
        if (facet_mul_size(bytes, (size_t)header.shape[i], &bytes) != 0)
            return facet_fail(FACET_ERR_FORMAT, "%s: .npy shape %s overflows", path, shape_text);
    unsigned long long remainder = file_size - data_start;
    if (remainder < bytes)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: truncated data: %s %s needs %zu bytes, the file has %llu", path,
                          facet_dtype_name(header.dtype), shape_text, bytes, remainder);
    if (remainder > bytes)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: %llu unexpected bytes after the data of %s %s (%zu bytes)", path,
                          remainder - bytes, facet_dtype_name(header.dtype), shape_text, bytes);

    if (facet_tensor_alloc(t, header.dtype, header.ndim, header.shape) != FACET_OK)
        return facet_error_context("%s", path);
    if (bytes && fread(t->data, 1, bytes, f) != bytes) {
        facet_tensor_free(t);
        return facet_fail(FACET_ERR_IO, "cannot read '%s'", path);
    }
    if (header.dtype == FACET_DTYPE_BOOL) {
        /* NumPy booleans are 0 or 1; normalise any other byte so the values are canonical */
        unsigned char *b = t->data;
        for (size_t i = 0; i < bytes; i++) b[i] = b[i] != 0;
    }
    return FACET_OK;
}

facet_status facet_npy_read(facet_tensor *t, const char *path) {
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) return facet_fail(FACET_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    facet_status status = read_npy(f, path, t);
    fclose(f);
    return status;
}

/* ---- writer -----------------------------------------------------------------------------------*/

facet_status facet_npy_write(const facet_tensor *t, const char *path) {
    if (t->memory != FACET_MEMORY_HOST)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "writing '%s': the tensor is in device memory; copy it to the host first",
                          path);
    const char *descr = NULL;
    for (int i = 0; i < DTYPE_COUNT; i++)
        if (DTYPES[i].dtype == t->dtype) descr = DTYPES[i].descr;
    if (!descr)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "writing '%s': %s has no .npy dtype facet writes (%s); convert it first",
                          path, facet_dtype_name(t->dtype), SUPPORTED_DTYPES);
    if (t->ndim < 0 || t->ndim > FACET_MAX_DIMS)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "writing '%s': tensor rank %d outside [0,%d]",
                          path, t->ndim, FACET_MAX_DIMS);
    size_t bytes = facet_dtype_size(t->dtype);
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] < 0 || facet_mul_size(bytes, (size_t)t->shape[i], &bytes) != 0)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "writing '%s': invalid tensor shape (negative or overflowing)", path);
    if (bytes && !t->data)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "writing '%s': the tensor has no data", path);

    /* Exactly what numpy.lib.format writes: the dict with sorted keys and Python's tuple repr,
     * spare spaces so the first dimension can grow to 21 digits in place, then spaces and '\n' so
     * that the data starts at a multiple of 64 bytes. */
    char header[512];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     descr);
    for (int i = 0; i < t->ndim; i++)
        n += snprintf(header + n, sizeof header - (size_t)n, "%s%lld", i ? ", " : "",
                      (long long)t->shape[i]);
    n += snprintf(header + n, sizeof header - (size_t)n, "%s), }", t->ndim == 1 ? "," : "");
    if (t->ndim > 0) {
        int digits = snprintf(NULL, 0, "%lld", (long long)t->shape[0]);
        for (int i = digits; i < GROWTH_AXIS_MAX_DIGITS; i++) header[n++] = ' ';
    }
    int padding = ARRAY_ALIGN - (MAGIC_BYTES + 2 + 2 + n + 1) % ARRAY_ALIGN;
    for (int i = 0; i < padding; i++) header[n++] = ' ';
    header[n++] = '\n';

    unsigned char prefix[10];
    memcpy(prefix, MAGIC, MAGIC_BYTES);
    prefix[6] = 1;
    prefix[7] = 0;
    prefix[8] = (unsigned char)(n & 0xff);
    prefix[9] = (unsigned char)(n >> 8);

    facet_atomic_file out;
    facet_status status = facet_atomic_open(&out, path);
    if (status != FACET_OK) return status;
    if (fwrite(prefix, 1, sizeof prefix, out.file) != sizeof prefix ||
        fwrite(header, 1, (size_t)n, out.file) != (size_t)n ||
        (bytes && fwrite(t->data, 1, bytes, out.file) != bytes)) {
        status = facet_fail(FACET_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        facet_atomic_abort(&out);
        return status;
    }
    return facet_atomic_commit(&out);
}
