#include "safetensors.h"

#include "alloc.h"
#include "fileio.h"
#include "json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; facet supports little-endian hosts only"
#endif

enum { LENGTH_FIELD_BYTES = 8, COPY_ALIGNMENT = 8 };
static const uint64_t MAX_HEADER_BYTES = FACET_SAFETENSORS_MAX_HEADER_BYTES;
/* JSON numbers are doubles: integers above 2^53 cannot be represented exactly. */
static const double MAX_JSON_INTEGER = 9007199254740992.0;
static const char METADATA_KEY[] = "__metadata__";

/* ---- shared helpers ---------------------------------------------------------------------------*/

/* Offset of the first byte of s[0..n) that is not valid UTF-8 (a NUL byte, a stray continuation
 * byte, a truncated or overlong sequence, a surrogate, a code point above U+10FFFF), or n. */
static size_t utf8_invalid_offset(const unsigned char *s, size_t n) {
    static const uint32_t min_code_point[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0) return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (n - i < len) return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min_code_point[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += len;
    }
    return n;
}

/* Byte size of a tensor with this dtype and shape; -1 when it does not fit in size_t. */
static int shape_bytes(facet_dtype dtype, int ndim, const int64_t *shape, size_t *out) {
    size_t bytes = facet_dtype_size(dtype);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || facet_mul_size(bytes, (size_t)shape[i], &bytes) != 0) return -1;
    *out = bytes;
    return 0;
}

/* ---- reader -----------------------------------------------------------------------------------*/

static facet_status map_file(facet_safetensors *st) {
    const char *path = st->path;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return facet_fail(FACET_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        close(fd);
        return facet_fail(FACET_ERR_IO, "'%s' is not a regular file", path);
    }
    size_t size = (size_t)info.st_size;
    if (size == 0) {
        close(fd);
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: file is empty (a safetensors file starts with an 8-byte header "
                          "length)",
                          path);
    }
    if (size < LENGTH_FIELD_BYTES) {
        close(fd);
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: file is %zu bytes, too short for the 8-byte header length", path,
                          size);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED)
        return facet_fail(FACET_ERR_IO, "cannot map '%s': %s", path, strerror(map_errno));
    st->map = map;
    st->map_size = size;
    return FACET_OK;
}

/* A JSON number that is a non-negative integer representable exactly. */
static int json_uint(const cJSON *item, uint64_t *out) {
    if (!cJSON_IsNumber(item)) return 0;
    double v = item->valuedouble;
    if (!(v >= 0.0) || v > MAX_JSON_INTEGER || floor(v) != v) return 0;
    *out = (uint64_t)v;
    return 1;
}

static facet_status parse_metadata(facet_safetensors *st, const cJSON *node) {
    const char *path = st->path;
    if (!cJSON_IsObject(node))
        return facet_fail(FACET_ERR_FORMAT, "%s: \"__metadata__\" must be an object, got %s", path,
                          facet_json_type_name(node));
    int count = cJSON_GetArraySize(node);
    if (count > FACET_SAFETENSORS_MAX_METADATA)
        return facet_fail(
            FACET_ERR_UNSUPPORTED,
            "%s: %d __metadata__ entries is too large a count (facet reads at most %d)", path,
            count, FACET_SAFETENSORS_MAX_METADATA);
    st->metadata_keys = facet_alloc_zeroed((size_t)count, sizeof *st->metadata_keys);
    st->metadata_values = facet_alloc_zeroed((size_t)count, sizeof *st->metadata_values);
    if (!st->metadata_keys || !st->metadata_values) return facet_error_context("%s", path);
    const cJSON *item;
    cJSON_ArrayForEach(item, node) {
        if (!cJSON_IsString(item))
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: __metadata__ value for '%s' is %s; metadata values must be "
                              "strings",
                              path, item->string, facet_json_type_name(item));
        for (int i = 0; i < st->metadata_count; i++)
            if (strcmp(st->metadata_keys[i], item->string) == 0)
                return facet_fail(FACET_ERR_FORMAT, "%s: __metadata__ key '%s' appears twice", path,
                                  item->string);
        int i = st->metadata_count;
        st->metadata_keys[i] = facet_strdup(item->string);
        st->metadata_values[i] = facet_strdup(item->valuestring);
        st->metadata_count++;
        if (!st->metadata_keys[i] || !st->metadata_values[i])
            return facet_error_context("%s", path);
    }
    return FACET_OK;
}

/* Validates one tensor entry against a data section of `data_size` bytes. */
static facet_status parse_entry(const char *path, const cJSON *node, uint64_t data_size,
                                facet_safetensors_entry *e) {
    const char *name = node->string;
    if (!cJSON_IsObject(node))
        return facet_fail(FACET_ERR_FORMAT, "%s: tensor '%s': expected an object, got %s", path,
                          name, facet_json_type_name(node));

    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(node, "dtype");
    if (!dtype)
        return facet_fail(FACET_ERR_FORMAT, "%s: tensor '%s': missing \"dtype\"", path, name);
    if (!cJSON_IsString(dtype))
        return facet_fail(FACET_ERR_FORMAT, "%s: tensor '%s': \"dtype\" must be a string, got %s",
                          path, name, facet_json_type_name(dtype));
    e->tensor.dtype = facet_dtype_from_name(dtype->valuestring);
    if (e->tensor.dtype == FACET_DTYPE_INVALID)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "%s: tensor '%s': unsupported dtype '%s' (facet reads BOOL, U8, U16, "
                          "I32, I64, F16, BF16, F32)",
                          path, name, dtype->valuestring);

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(node, "shape");
    if (!shape)
        return facet_fail(FACET_ERR_FORMAT, "%s: tensor '%s': missing \"shape\"", path, name);
    if (!cJSON_IsArray(shape))
        return facet_fail(FACET_ERR_FORMAT, "%s: tensor '%s': \"shape\" must be an array, got %s",
                          path, name, facet_json_type_name(shape));
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > FACET_MAX_DIMS)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "%s: tensor '%s': shape has %d dimensions, more than facet's %d", path,
                          name, ndim, FACET_MAX_DIMS);
    e->tensor.ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        const cJSON *dim = cJSON_GetArrayItem(shape, i);
        uint64_t value;
        if (!json_uint(dim, &value)) {
            if (cJSON_IsNumber(dim))
                return facet_fail(FACET_ERR_FORMAT,
                                  "%s: tensor '%s': shape[%d] is %.17g; dimensions must be "
                                  "non-negative integers",
                                  path, name, i, dim->valuedouble);
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: tensor '%s': shape[%d] is %s; dimensions must be "
                              "non-negative integers",
                              path, name, i, facet_json_type_name(dim));
        }
        e->tensor.shape[i] = (int64_t)value;
    }
    char shape_text[256];
    facet_shape_string(ndim, e->tensor.shape, shape_text, sizeof shape_text);
    size_t bytes;
    if (shape_bytes(e->tensor.dtype, ndim, e->tensor.shape, &bytes) != 0)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: tensor '%s': shape %s overflows: its byte size "
                          "does not fit in 64 bits",
                          path, name, shape_text);

    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(node, "data_offsets");
    if (!offsets)
        return facet_fail(FACET_ERR_FORMAT, "%s: tensor '%s': missing \"data_offsets\"", path,
                          name);
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !json_uint(cJSON_GetArrayItem(offsets, 0), &e->begin) ||
        !json_uint(cJSON_GetArrayItem(offsets, 1), &e->end))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: tensor '%s': \"data_offsets\" must be [begin, end], two "
                          "non-negative integers",
                          path, name);
    unsigned long long begin = e->begin, end = e->end;
    if (begin > end)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: tensor '%s': data_offsets [%llu,%llu] end before "
                          "they begin",
                          path, name, begin, end);
    if (end > data_size)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: tensor '%s': data_offsets [%llu,%llu] exceed the data section "
                          "(%llu bytes)",
                          path, name, begin, end, (unsigned long long)data_size);
    if (end - begin != bytes)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: tensor '%s': data_offsets [%llu,%llu] hold %llu bytes but %s %s "
                          "needs %zu",
                          path, name, begin, end, end - begin, dtype->valuestring, shape_text,
                          bytes);
    e->tensor.memory = FACET_MEMORY_HOST;
    e->tensor.owner = 0;
    e->name = facet_strdup(name);
    if (!e->name) return facet_error_context("%s", path);
    return FACET_OK;
}

static int compare_by_name(const void *a, const void *b) {
    const facet_safetensors_entry *x = *(const facet_safetensors_entry *const *)a;
    const facet_safetensors_entry *y = *(const facet_safetensors_entry *const *)b;
    return strcmp(x->name, y->name);
}

static int compare_by_range(const void *a, const void *b) {
    const facet_safetensors_entry *x = *(const facet_safetensors_entry *const *)a;
    const facet_safetensors_entry *y = *(const facet_safetensors_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Rejects duplicate names and overlapping byte ranges (empty tensors overlap nothing). */
static facet_status check_entries(const facet_safetensors *st) {
    if (st->count < 2) return FACET_OK;
    facet_safetensors_entry **order = facet_alloc((size_t)st->count, sizeof *order);
    if (!order) return facet_error_context("%s", st->path);
    for (int i = 0; i < st->count; i++) order[i] = &st->entries[i];
    facet_status status = FACET_OK;

    qsort(order, (size_t)st->count, sizeof *order, compare_by_name);
    for (int i = 1; i < st->count && status == FACET_OK; i++)
        if (strcmp(order[i - 1]->name, order[i]->name) == 0)
            status = facet_fail(FACET_ERR_FORMAT, "%s: tensor '%s' appears twice in the header",
                                st->path, order[i]->name);

    qsort(order, (size_t)st->count, sizeof *order, compare_by_range);
    const facet_safetensors_entry *last = NULL; /* the non-empty tensor ending furthest */
    for (int i = 0; i < st->count && status == FACET_OK; i++) {
        const facet_safetensors_entry *e = order[i];
        if (e->begin == e->end) continue;
        if (last && e->begin < last->end)
            status = facet_fail(FACET_ERR_FORMAT,
                                "%s: tensors '%s' [%llu,%llu] and '%s' [%llu,%llu] overlap",
                                st->path, last->name, (unsigned long long)last->begin,
                                (unsigned long long)last->end, e->name,
                                (unsigned long long)e->begin, (unsigned long long)e->end);
        if (!last || e->end > last->end) last = e;
    }
    free(order);
    return status;
}

/* 1 when the tensor's bytes can be viewed in place: aligned for its dtype in the (page-aligned)
 * mapping. Empty tensors always can: they point at the start of the mapping. */
static int viewable_in_place(const facet_safetensors_entry *e, size_t data_start) {
    return e->begin == e->end || (data_start + e->begin) % facet_dtype_size(e->tensor.dtype) == 0;
}

/* Points every tensor view at its bytes: in the mapping when aligned for its dtype, otherwise at
 * a copy in st->aligned_copies. */
static facet_status place_tensors(facet_safetensors *st, size_t data_start) {
    const unsigned char *data = (const unsigned char *)st->map + data_start;
    size_t copy_bytes = 0;
    for (int i = 0; i < st->count; i++) {
        const facet_safetensors_entry *e = &st->entries[i];
        if (viewable_in_place(e, data_start)) continue;
        size_t size = (size_t)(e->end - e->begin);
        copy_bytes += (size + COPY_ALIGNMENT - 1) / COPY_ALIGNMENT * COPY_ALIGNMENT;
    }
    unsigned char *copies = NULL;
    if (copy_bytes) {
        copies = facet_alloc(copy_bytes, 1);
        if (!copies) return facet_error_context("%s", st->path);
        st->aligned_copies = copies;
    }
    for (int i = 0; i < st->count; i++) {
        facet_safetensors_entry *e = &st->entries[i];
        size_t size = (size_t)(e->end - e->begin);
        if (size == 0) {
            e->tensor.data = st->map;
            continue;
        }
        if (viewable_in_place(e, data_start)) {
            e->tensor.data = (void *)(data + e->begin);
            continue;
        }
        memcpy(copies, data + e->begin, size);
        e->tensor.data = copies;
        copies += (size + COPY_ALIGNMENT - 1) / COPY_ALIGNMENT * COPY_ALIGNMENT;
    }
    return FACET_OK;
}

static facet_status parse_header(facet_safetensors *st) {
    const char *path = st->path;
    const unsigned char *bytes = st->map;
    uint64_t header_length = 0;
    for (int i = 0; i < LENGTH_FIELD_BYTES; i++) header_length |= (uint64_t)bytes[i] << (8 * i);
    uint64_t available = st->map_size - LENGTH_FIELD_BYTES;
    if (header_length > MAX_HEADER_BYTES)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: header length %llu is too large (facet reads at most 100000000 "
                          "bytes, as the reference implementation); not a safetensors file?",
                          path, (unsigned long long)header_length);
    if (header_length > available)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: header length %llu exceeds the file (%llu bytes follow the length "
                          "field)",
                          path, (unsigned long long)header_length, (unsigned long long)available);
    size_t n = (size_t)header_length;
    const unsigned char *header = bytes + LENGTH_FIELD_BYTES;
    size_t bad = utf8_invalid_offset(header, n);
    if (bad < n)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: header is not valid UTF-8 (byte 0x%02x at header offset %zu)", path,
                          header[bad], bad);

    char *text = facet_alloc(n + 1, 1);
    if (!text) return facet_error_context("%s", path);
    memcpy(text, header, n);
    text[n] = '\0';
    const char *parse_end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &parse_end, 1);
    if (!root) {
        size_t at = parse_end ? (size_t)(parse_end - text) : 0;
        free(text);
        return facet_fail(FACET_ERR_FORMAT, "%s: header is not valid JSON (error near byte %zu)",
                          path, at);
    }
    const int nul_escape = facet_json_has_nul_escape(text);
    free(text);
    if (nul_escape) {
        cJSON_Delete(root);
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: header holds the escape \\u0000 (NUL), which would cut a name",
                          path);
    }

    facet_status status = FACET_OK;
    if (!cJSON_IsObject(root)) {
        status = facet_fail(FACET_ERR_FORMAT, "%s: header must be a JSON object, got %s", path,
                            facet_json_type_name(root));
        cJSON_Delete(root);
        return status;
    }
    int tensors = 0, metadata_seen = 0;
    const cJSON *node;
    cJSON_ArrayForEach(node, root) {
        if (strcmp(node->string, METADATA_KEY) != 0) tensors++;
    }
    if (tensors > FACET_SAFETENSORS_MAX_TENSORS) {
        cJSON_Delete(root);
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "%s: %d tensors is too large a count (facet reads at most %d)", path,
                          tensors, FACET_SAFETENSORS_MAX_TENSORS);
    }
    st->entries = facet_alloc_zeroed((size_t)tensors, sizeof *st->entries);
    if (!st->entries) status = facet_error_context("%s", path);
    uint64_t data_size = available - header_length;
    cJSON_ArrayForEach(node, root) {
        if (status != FACET_OK) break;
        if (strcmp(node->string, METADATA_KEY) == 0) {
            if (metadata_seen++)
                status = facet_fail(FACET_ERR_FORMAT, "%s: \"__metadata__\" appears twice", path);
            else
                status = parse_metadata(st, node);
            continue;
        }
        status = parse_entry(path, node, data_size, &st->entries[st->count]);
        if (status == FACET_OK) st->count++;
    }
    cJSON_Delete(root);
    if (status == FACET_OK) status = check_entries(st);
    if (status == FACET_OK) status = place_tensors(st, LENGTH_FIELD_BYTES + n);
    return status;
}

facet_status facet_safetensors_open(facet_safetensors *st, const char *path) {
    memset(st, 0, sizeof *st);
    st->path = facet_strdup(path);
    if (!st->path) return facet_last_status();
    facet_status status = map_file(st);
    if (status == FACET_OK) status = parse_header(st);
    if (status != FACET_OK) facet_safetensors_close(st);
    return status;
}

void facet_safetensors_close(facet_safetensors *st) {
    if (st->map) munmap(st->map, st->map_size);
    free(st->aligned_copies);
    for (int i = 0; i < st->count; i++) free(st->entries[i].name);
    free(st->entries);
    for (int i = 0; i < st->metadata_count; i++) {
        free(st->metadata_keys[i]);
        free(st->metadata_values[i]);
    }
    free(st->metadata_keys);
    free(st->metadata_values);
    free(st->path);
    memset(st, 0, sizeof *st);
}

const facet_tensor *facet_safetensors_get(const facet_safetensors *st, const char *name) {
    for (int i = 0; i < st->count; i++)
        if (strcmp(st->entries[i].name, name) == 0) return &st->entries[i].tensor;
    facet_fail(FACET_ERR_NOT_FOUND, "%s: no tensor '%s'", st->path, name);
    return NULL;
}

facet_status facet_safetensors_expect(const facet_safetensors *st, const char *name,
                                      facet_dtype dtype, int ndim, const int64_t *shape,
                                      const facet_tensor **out) {
    *out = NULL;
    const facet_tensor *t = facet_safetensors_get(st, name);
    if (!t) return facet_last_status();
    if (facet_tensor_expect(t, name, dtype, ndim, shape) != FACET_OK)
        return facet_error_context("%s", st->path);
    *out = t;
    return FACET_OK;
}

const char *facet_safetensors_metadata(const facet_safetensors *st, const char *key) {
    for (int i = 0; i < st->metadata_count; i++)
        if (strcmp(st->metadata_keys[i], key) == 0) return st->metadata_values[i];
    return NULL;
}

/* ---- writer -----------------------------------------------------------------------------------*/

void facet_safetensors_writer_init(facet_safetensors_writer *w) {
    memset(w, 0, sizeof *w);
}

static facet_status check_utf8_string(const char *what, const char *s) {
    size_t n = strlen(s);
    if (utf8_invalid_offset((const unsigned char *)s, n) < n)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "safetensors writer: %s is not valid UTF-8",
                          what);
    return FACET_OK;
}

facet_status facet_safetensors_writer_add(facet_safetensors_writer *w, const char *name,
                                          const facet_tensor *t) {
    if (!name[0])
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "safetensors writer: empty tensor name");
    if (strcmp(name, METADATA_KEY) == 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "safetensors writer: the name '__metadata__' is reserved");
    if (check_utf8_string("a tensor name", name) != FACET_OK) return facet_last_status();
    for (int i = 0; i < w->count; i++)
        if (strcmp(w->names[i], name) == 0)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "safetensors writer: tensor '%s' added twice", name);
    if (t->memory != FACET_MEMORY_HOST)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "safetensors writer: tensor '%s' is in device memory; copy it to the "
                          "host first",
                          name);
    if (facet_dtype_size(t->dtype) == 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "safetensors writer: tensor '%s' has no dtype", name);
    if (t->ndim < 0 || t->ndim > FACET_MAX_DIMS)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "safetensors writer: tensor '%s' has rank %d, outside [0,%d]", name,
                          t->ndim, FACET_MAX_DIMS);
    size_t bytes;
    if (shape_bytes(t->dtype, t->ndim, t->shape, &bytes) != 0) {
        char shape_text[256];
        facet_shape_string(t->ndim, t->shape, shape_text, sizeof shape_text);
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "safetensors writer: tensor '%s' has invalid shape %s (negative or "
                          "overflowing)",
                          name, shape_text);
    }
    if (bytes && !t->data)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s' has no data",
                          name);
    if (w->count == w->capacity) {
        int capacity = w->capacity ? 2 * w->capacity : 8;
        char **names = facet_realloc(w->names, (size_t)capacity, sizeof *names);
        if (!names) return facet_last_status();
        w->names = names;
        facet_tensor *tensors = facet_realloc(w->tensors, (size_t)capacity, sizeof *tensors);
        if (!tensors) return facet_last_status();
        w->tensors = tensors;
        w->capacity = capacity;
    }
    char *copy = facet_strdup(name);
    if (!copy) return facet_last_status();
    w->names[w->count] = copy;
    w->tensors[w->count] = *t;
    w->count++;
    return FACET_OK;
}

facet_status facet_safetensors_writer_metadata(facet_safetensors_writer *w, const char *key,
                                               const char *value) {
    if (check_utf8_string("a metadata key", key) != FACET_OK ||
        check_utf8_string("a metadata value", value) != FACET_OK)
        return facet_last_status();
    for (int i = 0; i < w->metadata_count; i++)
        if (strcmp(w->metadata_keys[i], key) == 0)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "safetensors writer: metadata key '%s' set twice", key);
    if (w->metadata_count == w->metadata_capacity) {
        int capacity = w->metadata_capacity ? 2 * w->metadata_capacity : 8;
        char **keys = facet_realloc(w->metadata_keys, (size_t)capacity, sizeof *keys);
        if (!keys) return facet_last_status();
        w->metadata_keys = keys;
        char **values = facet_realloc(w->metadata_values, (size_t)capacity, sizeof *values);
        if (!values) return facet_last_status();
        w->metadata_values = values;
        w->metadata_capacity = capacity;
    }
    char *key_copy = facet_strdup(key);
    char *value_copy = key_copy ? facet_strdup(value) : NULL;
    if (!value_copy) {
        free(key_copy);
        return facet_last_status();
    }
    w->metadata_keys[w->metadata_count] = key_copy;
    w->metadata_values[w->metadata_count] = value_copy;
    w->metadata_count++;
    return FACET_OK;
}

/* A growing text buffer; `failed` records an allocation failure (the error is already set). */
typedef struct text_buffer {
    char *data;
    size_t length, capacity;
    int failed;
} text_buffer;

static void text_append(text_buffer *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->length + n + 1 > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 256;
        while (b->length + n + 1 > capacity) capacity *= 2;
        char *data = facet_realloc(b->data, capacity, 1);
        if (!data) {
            b->failed = 1;
            return;
        }
        b->data = data;
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, s, n);
    b->length += n;
    b->data[b->length] = '\0';
}

static void text_printf(text_buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(text_buffer *b, const char *fmt, ...) {
    char small[128];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(small, sizeof small, fmt, args);
    va_end(args);
    /* only short fixed-format pieces go through here */
    text_append(b, small, (size_t)n < sizeof small ? (size_t)n : sizeof small - 1);
}

/* Appends s as a JSON string literal: quotes, backslashes and control characters escaped. */
static void text_json_string(text_buffer *b, const char *s) {
    text_append(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            char escaped[2] = {'\\', (char)c};
            text_append(b, escaped, 2);
        } else if (c < 0x20) {
            text_printf(b, "\\u%04x", c);
        } else {
            text_append(b, p, 1);
        }
    }
    text_append(b, "\"", 1);
}

/* The header JSON, padded with spaces to a multiple of 8 bytes. */
static facet_status build_header(const facet_safetensors_writer *w, text_buffer *b) {
    text_append(b, "{", 1);
    if (w->metadata_count) {
        text_append(b, "\"__metadata__\":{", 16);
        for (int i = 0; i < w->metadata_count; i++) {
            if (i) text_append(b, ",", 1);
            text_json_string(b, w->metadata_keys[i]);
            text_append(b, ":", 1);
            text_json_string(b, w->metadata_values[i]);
        }
        text_append(b, "}", 1);
    }
    unsigned long long offset = 0;
    for (int i = 0; i < w->count; i++) {
        const facet_tensor *t = &w->tensors[i];
        if (i || w->metadata_count) text_append(b, ",", 1);
        text_json_string(b, w->names[i]);
        text_printf(b, ":{\"dtype\":\"%s\",\"shape\":[", facet_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++)
            text_printf(b, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        unsigned long long bytes = facet_tensor_bytes(t);
        text_printf(b, "],\"data_offsets\":[%llu,%llu]}", offset, offset + bytes);
        offset += bytes;
    }
    text_append(b, "}", 1);
    while (!b->failed && b->length % 8 != 0) text_append(b, " ", 1);
    return b->failed ? facet_last_status() : FACET_OK;
}

facet_status facet_safetensors_write(const facet_safetensors_writer *w, const char *path) {
    text_buffer header = {0};
    if (build_header(w, &header) != FACET_OK) {
        free(header.data);
        return facet_error_context("writing '%s'", path);
    }
    unsigned char length[LENGTH_FIELD_BYTES];
    for (int i = 0; i < LENGTH_FIELD_BYTES; i++)
        length[i] = (unsigned char)((uint64_t)header.length >> (8 * i));

    facet_atomic_file out;
    facet_status status = facet_atomic_open(&out, path);
    if (status != FACET_OK) {
        free(header.data);
        return status;
    }
    int ok = fwrite(length, 1, sizeof length, out.file) == sizeof length &&
             fwrite(header.data, 1, header.length, out.file) == header.length;
    free(header.data);
    for (int i = 0; ok && i < w->count; i++) {
        size_t bytes = facet_tensor_bytes(&w->tensors[i]);
        ok = bytes == 0 || fwrite(w->tensors[i].data, 1, bytes, out.file) == bytes;
    }
    if (!ok) {
        status = facet_fail(FACET_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        facet_atomic_abort(&out);
        return status;
    }
    return facet_atomic_commit(&out);
}

void facet_safetensors_writer_free(facet_safetensors_writer *w) {
    for (int i = 0; i < w->count; i++) free(w->names[i]);
    free(w->names);
    free(w->tensors);
    for (int i = 0; i < w->metadata_count; i++) {
        free(w->metadata_keys[i]);
        free(w->metadata_values[i]);
    }
    free(w->metadata_keys);
    free(w->metadata_values);
    memset(w, 0, sizeof *w);
}

facet_status facet_safetensors_check_header(const facet_safetensors *st, const char *what,
                                            const char *format, int version, const char *hint,
                                            const char **config) {
    const char *got = facet_safetensors_metadata(st, "format");
    const char *got_version = facet_safetensors_metadata(st, "version");
    *config = facet_safetensors_metadata(st, "config");
    if (!got || strcmp(got, format) != 0)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: not facet %s weights (__metadata__.format is '%s', expected '%s'; "
                          "%s)",
                          st->path, what, got ? got : "(missing)", format, hint);
    if (!got_version || atoi(got_version) != version)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "%s: %s weights format version %s, this facet reads version %d", st->path,
                          what, got_version ? got_version : "(missing)", version);
    if (!*config) return facet_fail(FACET_ERR_FORMAT, "%s: __metadata__ has no 'config'", st->path);
    return FACET_OK;
}

int facet_safetensors_nonfinite(const facet_safetensors *st, char *summary, size_t size) {
    int tensors = 0;
    size_t n = 0;
    if (summary && size) summary[0] = '\0';
    for (int i = 0; i < st->count; i++) {
        const facet_nonfinite r = facet_tensor_count_nonfinite(&st->entries[i].tensor);
        if (!r.nan && !r.inf) continue;
        if (summary && n + 4 < size) {
            int w =
                snprintf(summary + n, size - n, "%s%s (%lld NaN, %lld Inf)", tensors ? ", " : "",
                         st->entries[i].name, (long long)r.nan, (long long)r.inf);
            n = w < 0 || (size_t)w >= size - n ? size : n + (size_t)w;
            if (n >= size) memcpy(summary + size - 4, "...", 4); /* cut */
        }
        tensors++;
    }
    return tensors;
}

int facet_safetensors_warn_nonfinite(const facet_safetensors *st) {
    char summary[512];
    const int tensors = facet_safetensors_nonfinite(st, summary, sizeof summary);
    if (tensors)
        facet_warn("'%s': %d tensor%s hold%s NaN or Inf values, so outputs will be wrong: %s "
                   "(facet info --check %s lists them)",
                   st->path, tensors, tensors == 1 ? "" : "s", tensors == 1 ? "s" : "", summary,
                   st->path);
    return tensors;
}
