/* safetensors reader and writer.
 *
 * Fixtures in tests/fixtures/safetensors/ come from tools/reference/make_safetensors_fixtures.py,
 * which writes the format by hand after the specification; expected.json holds every tensor's
 * dtype, shape, offsets and values. Malformed files are generated here, in a scratch directory. */
#include "core/alloc.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/safetensors.h"

#include "helpers.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------------------------------*/

/* Writes dir/name: the 8-byte little-endian length of `header`, the header, then `data_size`
 * bytes 0, 1, 2, ... Returns the path (static buffer of test_write_file). */
static const char *write_safetensors(const char *dir, const char *name, const char *header,
                                     size_t data_size) {
    size_t n = strlen(header);
    size_t total = 8 + n + data_size;
    unsigned char *bytes = malloc(total);
    cr_assert_not_null(bytes);
    for (int i = 0; i < 8; i++) bytes[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(bytes + 8, header, n);
    for (size_t i = 0; i < data_size; i++) bytes[8 + n + i] = (unsigned char)i;
    const char *path = test_write_file(dir, name, bytes, total);
    free(bytes);
    return path;
}

/* Opening `path` must fail with `status` and a message containing each of the `needles` (up to
 * three; NULL ends the list early). */
static void expect_open_error(const char *path, facet_status status, const char *needle1,
                              const char *needle2, const char *needle3) {
    facet_safetensors st;
    facet_status got = facet_safetensors_open(&st, path);
    const char *message = facet_last_error();
    cr_assert_eq(got, status, "status %s, expected %s (%s)", facet_status_name(got),
                 facet_status_name(status), message);
    const char *needles[3] = {needle1, needle2, needle3};
    for (int i = 0; i < 3 && needles[i]; i++)
        cr_assert(strstr(message, needles[i]), "message '%s' lacks '%s'", message, needles[i]);
    cr_assert_null(st.map, "a failed open releases everything");
    cr_assert_eq(st.count, 0);
}

static void expect_header_error(const char *test, const char *header, size_t data_size,
                                facet_status status, const char *needle1, const char *needle2,
                                const char *needle3) {
    const char *dir = test_scratch_dir(test);
    const char *path = write_safetensors(dir, "bad.safetensors", header, data_size);
    expect_open_error(path, status, needle1, needle2, needle3);
}

/* Reads expected.json of the fixtures. */
static void load_expected(facet_doc *doc) {
    cr_assert_eq(facet_json_load(doc, test_source_path("tests/fixtures/safetensors/expected.json")),
                 FACET_OK, "%s", facet_last_error());
}

/* Checks every tensor of `file` in expected.json against the opened file: header order, dtype,
 * shape, exact values, the offsets when `check_offsets`; and the metadata. */
static void check_against_expected(const facet_safetensors *st, const char *file,
                                   int check_offsets) {
    facet_doc doc;
    load_expected(&doc);
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(doc.root, file);
    cr_assert_not_null(info);
    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(info, "tensors");
    cr_assert_eq(st->count, cJSON_GetArraySize(tensors));
    int index = 0;
    const cJSON *want;
    cJSON_ArrayForEach(want, tensors) {
        const facet_safetensors_entry *e = &st->entries[index++];
        const char *name = cJSON_GetObjectItem(want, "name")->valuestring;
        cr_assert_str_eq(e->name, name, "entries keep the header order");
        cr_assert_eq(e->tensor.dtype,
                     facet_dtype_from_name(cJSON_GetObjectItem(want, "dtype")->valuestring), "%s",
                     name);
        const cJSON *shape = cJSON_GetObjectItem(want, "shape");
        cr_assert_eq(e->tensor.ndim, cJSON_GetArraySize(shape), "%s", name);
        for (int d = 0; d < e->tensor.ndim; d++)
            cr_assert_eq(e->tensor.shape[d], (int64_t)cJSON_GetArrayItem(shape, d)->valuedouble);
        const cJSON *offsets = cJSON_GetObjectItem(want, "data_offsets");
        if (check_offsets) {
            cr_assert_eq(e->begin, (uint64_t)cJSON_GetArrayItem(offsets, 0)->valuedouble, "%s",
                         name);
            cr_assert_eq(e->end, (uint64_t)cJSON_GetArrayItem(offsets, 1)->valuedouble, "%s", name);
        }
        cr_assert_eq((uintptr_t)e->tensor.data % facet_dtype_size(e->tensor.dtype), 0,
                     "'%s' is aligned for its dtype", name);
        const cJSON *values = cJSON_GetObjectItem(want, "values");
        cr_assert_eq(facet_tensor_numel(&e->tensor), cJSON_GetArraySize(values), "%s", name);
        int64_t i = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, values) {
            /* floats compare in their own precision: JSON holds the double nearest the value */
            double expected = cJSON_IsBool(v) ? (double)cJSON_IsTrue(v) : v->valuedouble;
            if (e->tensor.dtype == FACET_DTYPE_F32) expected = (double)(float)expected;
            cr_assert_eq(facet_tensor_get_f64(&e->tensor, i), expected,
                         "%s[%lld]: %.17g, expected %.17g", name, (long long)i,
                         facet_tensor_get_f64(&e->tensor, i), expected);
            i++;
        }
    }
    const cJSON *metadata = cJSON_GetObjectItemCaseSensitive(info, "metadata");
    cr_assert_eq(st->metadata_count, cJSON_GetArraySize(metadata));
    const cJSON *m;
    cJSON_ArrayForEach(m, metadata) {
        const char *value = facet_safetensors_metadata(st, m->string);
        cr_assert_not_null(value, "metadata '%s'", m->string);
        cr_assert_str_eq(value, m->valuestring);
    }
    facet_doc_free(&doc);
}

/* ---- reading the reference fixtures -----------------------------------------------------------*/

Test(safetensors_read, reference_file_has_exact_values_in_header_order) {
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(
                     &st, test_source_path("tests/fixtures/safetensors/mixed.safetensors")),
                 FACET_OK, "%s", facet_last_error());
    check_against_expected(&st, "mixed.safetensors", 1);
    facet_safetensors_close(&st);
}

Test(safetensors_read, aligned_file_is_a_zero_copy_view_of_the_mapping) {
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(
                     &st, test_source_path("tests/fixtures/safetensors/mixed.safetensors")),
                 FACET_OK, "%s", facet_last_error());
    /* the reference writer pads the header so every tensor is aligned in the file: no copies */
    cr_assert_null(st.aligned_copies);
    const facet_tensor *w = facet_safetensors_get(&st, "weight");
    const facet_safetensors_entry *e = &st.entries[0];
    cr_assert_str_eq(e->name, "weight");
    uint64_t header_length;
    memcpy(&header_length, st.map, 8);
    cr_assert_eq((const char *)w->data, (const char *)st.map + 8 + header_length + e->begin);
    cr_assert_eq(w->owner, 0);
    facet_safetensors_close(&st);
}

Test(safetensors_read, metadata_values_are_utf8_strings) {
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(
                     &st, test_source_path("tests/fixtures/safetensors/mixed.safetensors")),
                 FACET_OK, "%s", facet_last_error());
    cr_assert_str_eq(facet_safetensors_metadata(&st, "format"), "pt");
    /* the config string holds JSON with a non-ASCII character (U+00E9, UTF-8 c3 a9) */
    cr_assert_str_eq(facet_safetensors_metadata(&st, "config"),
                     "{\"width\": 4, \"name\": \"t\xc3\xa9st\"}");
    cr_assert_null(facet_safetensors_metadata(&st, "absent"));
    facet_safetensors_close(&st);
}

Test(safetensors_read, misaligned_tensor_is_copied_to_aligned_memory) {
    const char *path = test_source_path("tests/fixtures/safetensors/unaligned.safetensors");
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, path), FACET_OK, "%s", facet_last_error());
    /* 'b' (F32) follows a 3-byte U8 tensor after an unpadded header: at an odd file offset */
    const facet_tensor *b = facet_safetensors_get(&st, "b");
    cr_assert_not_null(b);
    cr_assert_not_null(st.aligned_copies, "the misaligned tensor was copied");
    cr_assert_eq((uintptr_t)b->data % 4, 0);
    check_against_expected(&st, "unaligned.safetensors", 1);
    facet_safetensors_close(&st);
}

Test(safetensors_read, scalar_and_empty_tensors) {
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(
                     &st, test_source_path("tests/fixtures/safetensors/mixed.safetensors")),
                 FACET_OK, "%s", facet_last_error());
    const facet_tensor *scale = facet_safetensors_get(&st, "scale");
    cr_assert_eq(scale->ndim, 0, "shape [] is a scalar");
    cr_assert_eq(facet_tensor_numel(scale), 1);
    cr_assert_eq(((const float *)scale->data)[0], 2.5f);
    const facet_tensor *empty = facet_safetensors_get(&st, "empty");
    cr_assert_eq(empty->ndim, 2);
    cr_assert_eq(facet_tensor_numel(empty), 0, "shape [0,3] has no elements");
    facet_safetensors_close(&st);
}

Test(safetensors_read, get_unknown_tensor_names_file_and_tensor) {
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(
                     &st, test_source_path("tests/fixtures/safetensors/mixed.safetensors")),
                 FACET_OK, "%s", facet_last_error());
    cr_assert_null(facet_safetensors_get(&st, "missing"));
    cr_assert_eq(facet_last_status(), FACET_ERR_NOT_FOUND);
    cr_assert(strstr(facet_last_error(), "mixed.safetensors: no tensor 'missing'"), "%s",
              facet_last_error());
    facet_safetensors_close(&st);
}

Test(safetensors_read, expect_checks_dtype_and_shape) {
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(
                     &st, test_source_path("tests/fixtures/safetensors/mixed.safetensors")),
                 FACET_OK, "%s", facet_last_error());
    const facet_tensor *t = NULL;
    int64_t right[2] = {2, 3}, wrong[2] = {3, 2};
    cr_assert_eq(facet_safetensors_expect(&st, "weight", FACET_DTYPE_F32, 2, right, &t), FACET_OK);
    cr_assert_eq(t, facet_safetensors_get(&st, "weight"));
    cr_assert_eq(facet_safetensors_expect(&st, "weight", FACET_DTYPE_F32, 2, wrong, &t),
                 FACET_ERR_FORMAT);
    cr_assert_null(t);
    cr_assert(strstr(facet_last_error(),
                     "mixed.safetensors: 'weight': expected F32 [3,2], got F32 [2,3]"),
              "%s", facet_last_error());
    cr_assert_eq(facet_safetensors_expect(&st, "nope", FACET_DTYPE_F32, 2, right, &t),
                 FACET_ERR_NOT_FOUND);
    facet_safetensors_close(&st);
}

Test(safetensors_read, gaps_between_tensors_are_allowed) {
    const char *dir = test_scratch_dir("safetensors_gaps");
    /* header of 64 bytes (8-aligned); two U8 tensors with 4 unused bytes between them */
    const char *path = write_safetensors(dir, "gap.safetensors",
                                         "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":"
                                         "[0,2]},\"b\":{\"dtype\":\"U8\",\"shape\":[2],"
                                         "\"data_offsets\":[6,8]}}",
                                         8);
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, path), FACET_OK, "%s", facet_last_error());
    const unsigned char *b = facet_safetensors_get(&st, "b")->data;
    cr_assert_eq(b[0], 6, "data bytes are 0,1,2,...: 'b' starts at byte 6");
    cr_assert_eq(b[1], 7);
    facet_safetensors_close(&st);
}

/* ---- malformed files --------------------------------------------------------------------------*/

Test(safetensors_bad, missing_file) {
    expect_open_error("/nonexistent/model.safetensors", FACET_ERR_IO,
                      "cannot open '/nonexistent/model.safetensors'", NULL, NULL);
}

Test(safetensors_bad, empty_file) {
    const char *dir = test_scratch_dir("safetensors_empty");
    const char *path = test_write_file(dir, "model.safetensors", "", 0);
    expect_open_error(path, FACET_ERR_FORMAT, "model.safetensors: file is empty", NULL, NULL);
}

Test(safetensors_bad, shorter_than_the_length_field) {
    const char *dir = test_scratch_dir("safetensors_short");
    const char *path = test_write_file(dir, "model.safetensors", "\x10\0\0\0\0", 5);
    expect_open_error(path, FACET_ERR_FORMAT, "model.safetensors: file is 5 bytes",
                      "too short for the 8-byte header length", NULL);
}

Test(safetensors_bad, header_length_past_end_of_file) {
    const char *dir = test_scratch_dir("safetensors_length_past_end");
    /* length 1000 but only the 2-byte header "{}" follows */
    unsigned char bytes[10] = {0xe8, 0x03, 0, 0, 0, 0, 0, 0, '{', '}'};
    const char *path = test_write_file(dir, "model.safetensors", bytes, sizeof bytes);
    expect_open_error(path, FACET_ERR_FORMAT, "header length 1000 exceeds the file",
                      "(2 bytes follow the length field)", NULL);
}

Test(safetensors_bad, absurd_header_length) {
    const char *dir = test_scratch_dir("safetensors_absurd_length");
    /* 0x7fffffffffffffff: a text or binary file that is not safetensors */
    unsigned char bytes[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    const char *path = test_write_file(dir, "model.safetensors", bytes, sizeof bytes);
    expect_open_error(path, FACET_ERR_FORMAT, "header length 9223372036854775807 is too large",
                      "at most 100000000 bytes", NULL);
}

/* A header of `count` empty tensors "t<i>": {"dtype": "U8", "shape": [0], ...} (or metadata). */
static char *many_entries(int count, int metadata) {
    size_t capacity = (size_t)count * 96 + 64, n = 0; /* >= 70 bytes an entry */
    char *text = malloc(capacity);
    cr_assert_not_null(text);
    n += (size_t)snprintf(text + n, capacity - n, metadata ? "{\"__metadata__\": {" : "{");
    for (int i = 0; i < count; i++)
        n += (size_t)snprintf(text + n, capacity - n,
                              metadata ? "%s\"k%d\": \"v\""
                                       : "%s\"t%d\": {\"dtype\": \"U8\", \"shape\": [0], "
                                         "\"data_offsets\": [0, 0]}",
                              i ? ", " : "", i);
    snprintf(text + n, capacity - n, metadata ? "}}" : "}");
    return text;
}

Test(safetensors_bad, more_tensors_than_the_cap_are_too_large) {
    char *header = many_entries(FACET_SAFETENSORS_MAX_TENSORS + 1, 0);
    expect_header_error("safetensors_many_tensors", header, 0, FACET_ERR_UNSUPPORTED,
                        "262145 tensors is too large", "at most 262144", NULL);
    free(header);
    /* a thousand tensors open */
    header = many_entries(1000, 0);
    const char *path =
        write_safetensors(test_scratch_dir("safetensors_many_ok"), "ok.safetensors", header, 0);
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, path), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(st.count, 1000);
    facet_safetensors_close(&st);
    free(header);
}

Test(safetensors_bad, more_metadata_than_the_cap_is_too_large) {
    char *header = many_entries(FACET_SAFETENSORS_MAX_METADATA + 1, 1);
    expect_header_error("safetensors_many_metadata", header, 0, FACET_ERR_UNSUPPORTED,
                        "4097 __metadata__ entries is too large", "at most 4096", NULL);
    free(header);
}

Test(safetensors_bad, a_nul_escape_in_a_name_is_refused) {
    /* "w\u0000x" would read as "w" */
    expect_header_error(
        "safetensors_nul",
        "{\"w\\u0000x\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1,
        FACET_ERR_FORMAT, "u0000", NULL, NULL);
}

Test(safetensors_bad, header_not_json) {
    expect_header_error("safetensors_not_json", "{\"w\": {\"dtype\": ", 0, FACET_ERR_FORMAT,
                        "bad.safetensors: header is not valid JSON", NULL, NULL);
}

Test(safetensors_bad, trailing_garbage_after_json) {
    expect_header_error("safetensors_trailing", "{} x", 0, FACET_ERR_FORMAT,
                        "header is not valid JSON", NULL, NULL);
}

Test(safetensors_bad, header_json_not_an_object) {
    expect_header_error("safetensors_not_object", "[1, 2, 3]", 0, FACET_ERR_FORMAT,
                        "header must be a JSON object, got an array", NULL, NULL);
}

Test(safetensors_bad, header_not_utf8) {
    /* 0xff never occurs in UTF-8 */
    expect_header_error("safetensors_not_utf8", "{\"w\xff\":{}}", 0, FACET_ERR_FORMAT,
                        "header is not valid UTF-8", "byte 0xff at header offset 3", NULL);
}

Test(safetensors_bad, entry_not_an_object) {
    expect_header_error("safetensors_entry_not_object", "{\"w\": [1]}", 0, FACET_ERR_FORMAT,
                        "tensor 'w': expected an object, got an array", NULL, NULL);
}

Test(safetensors_bad, entry_missing_dtype) {
    expect_header_error("safetensors_no_dtype", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                        FACET_ERR_FORMAT, "bad.safetensors: tensor 'w': missing \"dtype\"", NULL,
                        NULL);
}

Test(safetensors_bad, entry_missing_shape) {
    expect_header_error("safetensors_no_shape",
                        "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, FACET_ERR_FORMAT,
                        "tensor 'w': missing \"shape\"", NULL, NULL);
}

Test(safetensors_bad, entry_missing_data_offsets) {
    expect_header_error("safetensors_no_offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8,
                        FACET_ERR_FORMAT, "tensor 'w': missing \"data_offsets\"", NULL, NULL);
}

Test(safetensors_bad, unknown_dtype_f64) {
    expect_header_error("safetensors_f64",
                        "{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
                        FACET_ERR_UNSUPPORTED, "tensor 'w': unsupported dtype 'F64'", NULL, NULL);
}

Test(safetensors_bad, numpy_style_dtype_name) {
    expect_header_error("safetensors_float32",
                        "{\"w\":{\"dtype\":\"float32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                        FACET_ERR_UNSUPPORTED, "tensor 'w': unsupported dtype 'float32'", NULL,
                        NULL);
}

Test(safetensors_bad, negative_shape) {
    expect_header_error("safetensors_negative_shape",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,8]}}", 8,
                        FACET_ERR_FORMAT, "tensor 'w': shape[1] is -3",
                        "dimensions must be non-negative integers", NULL);
}

Test(safetensors_bad, fractional_shape) {
    expect_header_error("safetensors_fractional_shape",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
                        FACET_ERR_FORMAT, "tensor 'w': shape[0] is 1.5", NULL, NULL);
}

Test(safetensors_bad, shape_not_an_array) {
    expect_header_error("safetensors_shape_string",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8,
                        FACET_ERR_FORMAT, "tensor 'w': \"shape\" must be an array, got a string",
                        NULL, NULL);
}

Test(safetensors_bad, rank_above_max_dims) {
    expect_header_error(
        "safetensors_rank",
        "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
        FACET_ERR_UNSUPPORTED, "tensor 'w': shape has 9 dimensions, more than facet's 8", NULL,
        NULL);
}

Test(safetensors_bad, huge_shape_overflows) {
    /* 2^32 * 2^32 * 2^32 elements: the byte count does not fit in 64 bits */
    expect_header_error("safetensors_overflow",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
                        "\"data_offsets\":[0,4]}}",
                        4, FACET_ERR_FORMAT,
                        "tensor 'w': shape [4294967296,4294967296,4294967296] overflows", NULL,
                        NULL);
}

Test(safetensors_bad, offsets_out_of_range) {
    expect_header_error("safetensors_out_of_range",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":[0,64]}}", 32,
                        FACET_ERR_FORMAT,
                        "bad.safetensors: tensor 'w': data_offsets [0,64] exceed the data section "
                        "(32 bytes)",
                        NULL, NULL);
}

Test(safetensors_bad, offsets_end_before_begin) {
    expect_header_error(
        "safetensors_reversed", "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,4]}}",
        8, FACET_ERR_FORMAT, "tensor 'w': data_offsets [8,4] end before they begin", NULL, NULL);
}

Test(safetensors_bad, offsets_not_a_pair) {
    expect_header_error("safetensors_offsets_triple",
                        "{\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4,8]}}", 8,
                        FACET_ERR_FORMAT, "tensor 'w': \"data_offsets\" must be [begin, end]", NULL,
                        NULL);
}

Test(safetensors_bad, size_mismatch_with_shape) {
    /* F32 [2,3] is 24 bytes, the offsets give 20 */
    expect_header_error(
        "safetensors_size_mismatch",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24, FACET_ERR_FORMAT,
        "tensor 'w': data_offsets [0,20] hold 20 bytes but F32 [2,3] needs 24", NULL, NULL);
}

Test(safetensors_bad, overlapping_tensors) {
    /* 'a' is bytes [0,8), 'b' bytes [4,12) */
    expect_header_error("safetensors_overlap",
                        "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
                        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                        12, FACET_ERR_FORMAT, "tensors 'a' [0,8] and 'b' [4,12] overlap", NULL,
                        NULL);
}

Test(safetensors_bad, tensor_inside_another) {
    /* 'inner' [4,8) lies inside 'outer' [0,16) though it does not overlap the tensor before it */
    expect_header_error("safetensors_nested",
                        "{\"outer\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,16]},"
                        "\"mid\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]},"
                        "\"inner\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}",
                        16, FACET_ERR_FORMAT, "overlap", "'outer' [0,16]", NULL);
}

Test(safetensors_bad, duplicate_tensor_name) {
    expect_header_error("safetensors_duplicate",
                        "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                        "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                        2, FACET_ERR_FORMAT, "tensor 'w' appears twice", NULL, NULL);
}

Test(safetensors_bad, metadata_value_not_a_string) {
    expect_header_error("safetensors_metadata_number", "{\"__metadata__\":{\"layers\":4}}", 0,
                        FACET_ERR_FORMAT, "__metadata__ value for 'layers' is a number",
                        "metadata values must be strings", NULL);
}

Test(safetensors_bad, metadata_not_an_object) {
    expect_header_error("safetensors_metadata_string", "{\"__metadata__\":\"pt\"}", 0,
                        FACET_ERR_FORMAT, "\"__metadata__\" must be an object, got a string", NULL,
                        NULL);
}

/* ---- writer -----------------------------------------------------------------------------------*/

Test(safetensors_write, header_layout_is_metadata_first_then_tensors_padded_to_8) {
    const char *dir = test_scratch_dir("safetensors_write_layout");
    char *path = facet_path_join(dir, "out.safetensors");
    float x[2] = {1.0f, -2.0f};
    uint8_t y[3] = {7, 8, 9};
    facet_tensor tx = {.dtype = FACET_DTYPE_F32, .ndim = 1, .shape = {2}, .data = x};
    facet_tensor ty = {.dtype = FACET_DTYPE_U8, .ndim = 2, .shape = {1, 3}, .data = y};
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    cr_assert_eq(facet_safetensors_writer_add(&w, "x", &tx), FACET_OK);
    cr_assert_eq(facet_safetensors_writer_add(&w, "y", &ty), FACET_OK);
    cr_assert_eq(facet_safetensors_writer_metadata(&w, "k", "v"), FACET_OK);
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);

    char *bytes;
    size_t size;
    cr_assert_eq(facet_read_file(path, &bytes, &size), FACET_OK);
    const char *json = "{\"__metadata__\":{\"k\":\"v\"},"
                       "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"y\":{\"dtype\":\"U8\",\"shape\":[1,3],\"data_offsets\":[8,11]}}";
    size_t n = strlen(json), padded = (n + 7) / 8 * 8;
    uint64_t header_length;
    memcpy(&header_length, bytes, 8);
    cr_assert_eq(header_length, padded, "header padded with spaces to a multiple of 8");
    cr_assert(memcmp(bytes + 8, json, n) == 0, "header: %.*s", (int)header_length, bytes + 8);
    for (size_t i = n; i < padded; i++) cr_assert_eq(bytes[8 + i], ' ');
    cr_assert_eq(size, 8 + padded + 11, "data is contiguous: 8 bytes of x, 3 of y");
    cr_assert(memcmp(bytes + 8 + padded, x, 8) == 0);
    cr_assert(memcmp(bytes + 8 + padded + 8, y, 3) == 0);
    free(bytes);
    free(path);
}

Test(safetensors_write, round_trip_of_the_reference_file) {
    /* read the Python-made fixture, write every tensor and the metadata again, read it back */
    facet_safetensors in;
    cr_assert_eq(facet_safetensors_open(
                     &in, test_source_path("tests/fixtures/safetensors/mixed.safetensors")),
                 FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    for (int i = 0; i < in.metadata_count; i++)
        cr_assert_eq(
            facet_safetensors_writer_metadata(&w, in.metadata_keys[i], in.metadata_values[i]),
            FACET_OK);
    for (int i = 0; i < in.count; i++)
        cr_assert_eq(facet_safetensors_writer_add(&w, in.entries[i].name, &in.entries[i].tensor),
                     FACET_OK, "%s", facet_last_error());
    const char *dir = test_scratch_dir("safetensors_round_trip");
    char *path = facet_path_join(dir, "copy.safetensors");
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
    facet_safetensors_close(&in);

    facet_safetensors out;
    cr_assert_eq(facet_safetensors_open(&out, path), FACET_OK, "%s", facet_last_error());
    /* same order, names, dtypes, shapes, values and metadata; the offsets differ because facet
     * lays the data out in insertion order, contiguously */
    check_against_expected(&out, "mixed.safetensors", 0);
    uint64_t next = 0;
    for (int i = 0; i < out.count; i++) {
        cr_assert_eq(out.entries[i].begin, next, "tensors are contiguous in insertion order");
        next = out.entries[i].end;
    }
    cr_assert_null(out.aligned_copies, "facet's writer keeps every tensor aligned");
    facet_safetensors_close(&out);
    free(path);
}

Test(safetensors_write, names_and_metadata_are_json_escaped) {
    const char *dir = test_scratch_dir("safetensors_escape");
    char *path = facet_path_join(dir, "escape.safetensors");
    int32_t v = -5;
    facet_tensor t = {.dtype = FACET_DTYPE_I32, .ndim = 0, .data = &v};
    const char *name = "a \"quoted\" \\ name\twith tab and \xc3\xa9";
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    cr_assert_eq(facet_safetensors_writer_add(&w, name, &t), FACET_OK);
    cr_assert_eq(facet_safetensors_writer_metadata(&w, "line\nbreak", "{\"json\": [1]}"), FACET_OK);
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, path), FACET_OK, "%s", facet_last_error());
    const facet_tensor *back = facet_safetensors_get(&st, name);
    cr_assert_not_null(back, "%s", facet_last_error());
    cr_assert_eq(*(const int32_t *)back->data, -5);
    cr_assert_str_eq(facet_safetensors_metadata(&st, "line\nbreak"), "{\"json\": [1]}");
    facet_safetensors_close(&st);
    free(path);
}

Test(safetensors_write, no_tensors_gives_a_valid_empty_file) {
    const char *dir = test_scratch_dir("safetensors_write_empty");
    char *path = facet_path_join(dir, "empty.safetensors");
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, path), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(st.count, 0);
    cr_assert_eq(st.metadata_count, 0);
    cr_assert_eq(st.map_size, 16, "8-byte length + \"{}\" padded to 8 bytes");
    facet_safetensors_close(&st);
    free(path);
}

Test(safetensors_write, rejects_duplicate_names) {
    float x = 1.0f;
    facet_tensor t = {.dtype = FACET_DTYPE_F32, .ndim = 0, .data = &x};
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    cr_assert_eq(facet_safetensors_writer_add(&w, "w", &t), FACET_OK);
    cr_assert_eq(facet_safetensors_writer_add(&w, "w", &t), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "tensor 'w' added twice"), "%s", facet_last_error());
    cr_assert_eq(w.count, 1);
    facet_safetensors_writer_free(&w);
}

Test(safetensors_write, rejects_the_reserved_metadata_name) {
    float x = 1.0f;
    facet_tensor t = {.dtype = FACET_DTYPE_F32, .ndim = 0, .data = &x};
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    cr_assert_eq(facet_safetensors_writer_add(&w, "__metadata__", &t), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "'__metadata__' is reserved"), "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
}

Test(safetensors_write, rejects_invalid_tensors) {
    float x[4] = {0};
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    facet_tensor negative = {.dtype = FACET_DTYPE_F32, .ndim = 2, .shape = {2, -2}, .data = x};
    cr_assert_eq(facet_safetensors_writer_add(&w, "neg", &negative), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "tensor 'neg' has invalid shape [2,-2]"), "%s",
              facet_last_error());
    facet_tensor no_dtype = {.ndim = 1, .shape = {4}, .data = x};
    cr_assert_eq(facet_safetensors_writer_add(&w, "nodtype", &no_dtype),
                 FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "tensor 'nodtype' has no dtype"), "%s",
              facet_last_error());
    facet_tensor device = {.dtype = FACET_DTYPE_F32,
                           .ndim = 1,
                           .shape = {4},
                           .data = x,
                           .memory = FACET_MEMORY_DEVICE};
    cr_assert_eq(facet_safetensors_writer_add(&w, "dev", &device), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "tensor 'dev' is in device memory"), "%s",
              facet_last_error());
    facet_tensor no_data = {.dtype = FACET_DTYPE_F32, .ndim = 1, .shape = {4}};
    cr_assert_eq(facet_safetensors_writer_add(&w, "nodata", &no_data), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "tensor 'nodata' has no data"), "%s", facet_last_error());
    facet_tensor ok = {.dtype = FACET_DTYPE_F32, .ndim = 1, .shape = {4}, .data = x};
    cr_assert_eq(facet_safetensors_writer_add(&w, "bad\xff", &ok), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "a tensor name is not valid UTF-8"), "%s",
              facet_last_error());
    cr_assert_eq(w.count, 0, "nothing was added");
    facet_safetensors_writer_free(&w);
}

Test(safetensors_write, rejects_duplicate_metadata_keys) {
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    cr_assert_eq(facet_safetensors_writer_metadata(&w, "format", "pt"), FACET_OK);
    cr_assert_eq(facet_safetensors_writer_metadata(&w, "format", "np"), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "metadata key 'format' set twice"), "%s",
              facet_last_error());
    facet_safetensors_writer_free(&w);
}

Test(safetensors_write, many_tensors_grow_the_writer) {
    /* 100 scalars, more than the initial capacity, keep their insertion order */
    int64_t values[100];
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    for (int i = 0; i < 100; i++) {
        values[i] = 1000 - i;
        facet_tensor t = {.dtype = FACET_DTYPE_I64, .ndim = 0, .data = &values[i]};
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        cr_assert_eq(facet_safetensors_writer_add(&w, name, &t), FACET_OK);
    }
    const char *dir = test_scratch_dir("safetensors_many");
    char *path = facet_path_join(dir, "many.safetensors");
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, path), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(st.count, 100);
    for (int i = 0; i < 100; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        cr_assert_str_eq(st.entries[i].name, name);
        cr_assert_eq(*(const int64_t *)st.entries[i].tensor.data, 1000 - i);
    }
    facet_safetensors_close(&st);
    free(path);
}

Test(safetensors_write, failed_write_leaves_no_file) {
    float x = 1.0f;
    facet_tensor t = {.dtype = FACET_DTYPE_F32, .ndim = 0, .data = &x};
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    cr_assert_eq(facet_safetensors_writer_add(&w, "x", &t), FACET_OK);
    const char *dir = test_scratch_dir("safetensors_write_fail");
    char *path = facet_path_join(dir, "missing-dir/out.safetensors");
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_ERR_IO);
    cr_assert(strstr(facet_last_error(), "cannot create"), "%s", facet_last_error());
    cr_assert(!facet_is_file(path));
    facet_safetensors_writer_free(&w);
    free(path);
}
