/* NumPy .npy reader and writer.
 *
 * Fixtures in tests/fixtures/npy/ are written by NumPy (tools/reference/make_npy_fixtures.py);
 * expected.json holds each file's dtype string, shape and values in C order. Malformed files are
 * generated here, in a scratch directory. */
#include "core/fileio.h"
#include "core/json.h"
#include "core/npy.h"

#include "helpers.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------------------------------*/

/* Writes dir/name: magic, version major.0, the header length (u16 for 1.x, u32 otherwise), the
 * header text as given, then `data_size` bytes 0, 1, 2, ... */
static const char *write_npy(const char *dir, const char *name, int major, const char *header,
                             size_t data_size) {
    size_t n = strlen(header), length_bytes = major == 1 ? 2 : 4;
    size_t total = 8 + length_bytes + n + data_size;
    unsigned char *bytes = malloc(total);
    cr_assert_not_null(bytes);
    memcpy(bytes, "\x93NUMPY", 6);
    bytes[6] = (unsigned char)major;
    bytes[7] = 0;
    for (size_t i = 0; i < length_bytes; i++) bytes[8 + i] = (unsigned char)(n >> (8 * i));
    memcpy(bytes + 8 + length_bytes, header, n);
    for (size_t i = 0; i < data_size; i++) bytes[8 + length_bytes + n + i] = (unsigned char)i;
    const char *path = test_write_file(dir, name, bytes, total);
    free(bytes);
    return path;
}

/* Reading `path` must fail with `status` and a message containing both needles (needle2 may be
 * NULL); the tensor is left empty. */
static void expect_read_error(const char *path, facet_status status, const char *needle1,
                              const char *needle2) {
    facet_tensor t;
    facet_status got = facet_npy_read(&t, path);
    const char *message = facet_last_error();
    cr_assert_eq(got, status, "status %s, expected %s (%s)", facet_status_name(got),
                 facet_status_name(status), message);
    cr_assert(strstr(message, needle1), "message '%s' lacks '%s'", message, needle1);
    if (needle2) cr_assert(strstr(message, needle2), "message '%s' lacks '%s'", message, needle2);
    cr_assert_null(t.data);
}

static void expect_header_error(const char *test, const char *header, size_t data_size,
                                facet_status status, const char *needle1, const char *needle2) {
    const char *dir = test_scratch_dir(test);
    expect_read_error(write_npy(dir, "bad.npy", 1, header, data_size), status, needle1, needle2);
}

static const char *fixture(const char *name) {
    static char relative[256];
    snprintf(relative, sizeof relative, "tests/fixtures/npy/%s", name);
    return test_source_path(relative);
}

/* Reads fixture `name` and checks dtype, shape and every value against expected.json. */
static void check_fixture(const char *name, facet_dtype dtype) {
    facet_doc doc;
    cr_assert_eq(facet_json_load(&doc, fixture("expected.json")), FACET_OK, "%s",
                 facet_last_error());
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(doc.root, name);
    cr_assert_not_null(want, "%s in expected.json", name);
    facet_tensor t;
    cr_assert_eq(facet_npy_read(&t, fixture(name)), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(t.dtype, dtype, "%s: dtype %s", name, facet_dtype_name(t.dtype));
    cr_assert_eq(t.owner, 1);
    const cJSON *shape = cJSON_GetObjectItem(want, "shape");
    cr_assert_eq(t.ndim, cJSON_GetArraySize(shape), "%s", name);
    for (int d = 0; d < t.ndim; d++)
        cr_assert_eq(t.shape[d], (int64_t)cJSON_GetArrayItem(shape, d)->valuedouble, "%s", name);
    const cJSON *values = cJSON_GetObjectItem(want, "values");
    cr_assert_eq(facet_tensor_numel(&t), cJSON_GetArraySize(values), "%s", name);
    int64_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, values) {
        double expected = cJSON_IsBool(v) ? (double)cJSON_IsTrue(v) : v->valuedouble;
        if (t.dtype == FACET_DTYPE_F32) expected = (double)(float)expected;
        cr_assert_eq(facet_tensor_get_f64(&t, i), expected, "%s[%lld]: %.17g, expected %.17g", name,
                     (long long)i, facet_tensor_get_f64(&t, i), expected);
        i++;
    }
    facet_tensor_free(&t);
    facet_doc_free(&doc);
}

/* ---- NumPy-written fixtures -------------------------------------------------------------------*/

Test(npy_read, bool_mask) {
    check_fixture("mask_bool.npy", FACET_DTYPE_BOOL);
}
Test(npy_read, uint8) {
    check_fixture("u8.npy", FACET_DTYPE_U8);
}
Test(npy_read, uint16) {
    check_fixture("u16.npy", FACET_DTYPE_U16);
}
Test(npy_read, int32) {
    check_fixture("i32.npy", FACET_DTYPE_I32);
}
Test(npy_read, int64) {
    check_fixture("i64.npy", FACET_DTYPE_I64);
}
Test(npy_read, float16) {
    check_fixture("f16.npy", FACET_DTYPE_F16);
}
Test(npy_read, float32) {
    check_fixture("f32.npy", FACET_DTYPE_F32);
}
Test(npy_read, scalar_has_rank_zero) {
    check_fixture("scalar_f32.npy", FACET_DTYPE_F32);
}
Test(npy_read, empty_array) {
    check_fixture("empty_f32.npy", FACET_DTYPE_F32);
}
Test(npy_read, format_version_2) {
    check_fixture("v2_i32.npy", FACET_DTYPE_I32);
}
Test(npy_read, format_version_3) {
    check_fixture("v3_u8.npy", FACET_DTYPE_U8);
}

Test(npy_read, livescene_mask_layout) {
    /* (H, W, objects + 1) = (4, 5, 3); pixel (i, j) belongs to channel (i + j) % 3, channel 2 being
     * the background: exactly one channel is set per pixel */
    facet_tensor t;
    cr_assert_eq(facet_npy_read(&t, fixture("mask_bool.npy")), FACET_OK, "%s", facet_last_error());
    const uint8_t *m = t.data;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++)
            for (int k = 0; k < 3; k++)
                cr_assert_eq(m[(i * 5 + j) * 3 + k], (i + j) % 3 == k, "pixel (%d,%d) channel %d",
                             i, j, k);
    facet_tensor_free(&t);
}

Test(npy_read, fortran_order_is_rejected) {
    expect_read_error(fixture("fortran_f32.npy"), FACET_ERR_UNSUPPORTED,
                      "fortran_f32.npy: array is stored in Fortran order", "np.ascontiguousarray");
}

Test(npy_read, missing_file) {
    expect_read_error("/nonexistent/mask.npy", FACET_ERR_IO, "cannot open '/nonexistent/mask.npy'",
                      NULL);
}

/* ---- header dictionary syntax -----------------------------------------------------------------*/

/* Reads a U8 file with this header and 6 data bytes; checks shape (2,3). */
static void expect_u8_2x3(const char *test, const char *header) {
    const char *dir = test_scratch_dir(test);
    facet_tensor t;
    cr_assert_eq(facet_npy_read(&t, write_npy(dir, "ok.npy", 1, header, 6)), FACET_OK, "%s",
                 facet_last_error());
    cr_assert_eq(t.dtype, FACET_DTYPE_U8);
    cr_assert_eq(t.ndim, 2);
    cr_assert_eq(t.shape[0], 2);
    cr_assert_eq(t.shape[1], 3);
    cr_assert_eq(((const uint8_t *)t.data)[5], 5, "data bytes are 0..5");
    facet_tensor_free(&t);
}

Test(npy_header, keys_in_any_order) {
    expect_u8_2x3("npy_key_order", "{'shape': (2, 3), 'fortran_order': False, 'descr': '|u1'}\n");
}

Test(npy_header, double_quotes_and_extra_whitespace) {
    expect_u8_2x3("npy_whitespace",
                  "  {  \"descr\" : \"|u1\" ,\n 'fortran_order':False,'shape':( 2 ,3 , ) , }   \n");
}

Test(npy_header, trailing_comma_after_one_element_tuple) {
    const char *dir = test_scratch_dir("npy_one_element");
    facet_tensor t;
    cr_assert_eq(facet_npy_read(&t, write_npy(dir, "one.npy", 1,
                                              "{'descr': '|u1', 'fortran_order': False, "
                                              "'shape': (4,), }",
                                              4)),
                 FACET_OK, "%s", facet_last_error());
    cr_assert_eq(t.ndim, 1);
    cr_assert_eq(t.shape[0], 4);
    facet_tensor_free(&t);
}

Test(npy_header, python2_long_literals) {
    /* NumPy under Python 2 wrote shapes as (2L, 3L) */
    expect_u8_2x3("npy_long", "{'descr': '|u1', 'fortran_order': False, 'shape': (2L, 3L), }");
}

Test(npy_header, empty_tuple_is_a_scalar) {
    const char *dir = test_scratch_dir("npy_scalar");
    facet_tensor t;
    cr_assert_eq(facet_npy_read(&t, write_npy(dir, "s.npy", 1,
                                              "{'descr': '<i4', 'fortran_order': False, "
                                              "'shape': (), }",
                                              4)),
                 FACET_OK, "%s", facet_last_error());
    cr_assert_eq(t.ndim, 0);
    cr_assert_eq(facet_tensor_numel(&t), 1);
    cr_assert_eq(((const int32_t *)t.data)[0], 0x03020100, "little-endian bytes 0,1,2,3");
    facet_tensor_free(&t);
}

/* ---- malformed files --------------------------------------------------------------------------*/

Test(npy_bad, bad_magic) {
    const char *dir = test_scratch_dir("npy_bad_magic");
    const char *path = test_write_file(dir, "mask.npy", "PK\x03\x04 this is a zip file", 0);
    expect_read_error(path, FACET_ERR_FORMAT, "mask.npy: not a .npy file (bad magic)", NULL);
}

Test(npy_bad, empty_file_has_bad_magic) {
    const char *dir = test_scratch_dir("npy_empty");
    const char *path = test_write_file(dir, "mask.npy", "", 0);
    expect_read_error(path, FACET_ERR_FORMAT, "not a .npy file (bad magic)", NULL);
}

Test(npy_bad, truncated_before_header_length) {
    const char *dir = test_scratch_dir("npy_truncated_prefix");
    const char *path = test_write_file(dir, "mask.npy", "\x93NUMPY\x01\x00\x76", 9);
    expect_read_error(path, FACET_ERR_FORMAT, "mask.npy: truncated .npy header", NULL);
}

Test(npy_bad, truncated_header) {
    const char *dir = test_scratch_dir("npy_truncated_header");
    /* the header length says 118 bytes, only 20 follow */
    const char *path =
        test_write_file(dir, "mask.npy", "\x93NUMPY\x01\x00\x76\x00{'descr': '|b1', 'fo", 30);
    expect_read_error(path, FACET_ERR_FORMAT, "mask.npy: truncated .npy header",
                      "header length 118 exceeds the file (30 bytes)");
}

Test(npy_bad, truncated_data) {
    /* (4, 5, 3) bool needs 60 bytes; 59 are present */
    expect_header_error("npy_truncated_data",
                        "{'descr': '|b1', 'fortran_order': False, 'shape': (4, 5, 3), }", 59,
                        FACET_ERR_FORMAT, "bad.npy: truncated data",
                        "BOOL [4,5,3] needs 60 bytes, the file has 59");
}

Test(npy_bad, trailing_bytes_after_data) {
    expect_header_error("npy_trailing", "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
                        12, FACET_ERR_FORMAT, "4 unexpected bytes after the data of I32 [2]", NULL);
}

Test(npy_bad, unsupported_version) {
    const char *dir = test_scratch_dir("npy_version");
    const char *path =
        write_npy(dir, "v4.npy", 4, "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", 1);
    expect_read_error(path, FACET_ERR_UNSUPPORTED, "unsupported .npy format version 4.0", NULL);
}

Test(npy_bad, float64_is_unsupported) {
    expect_header_error("npy_f8", "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 8,
                        FACET_ERR_UNSUPPORTED, "bad.npy: unsupported .npy dtype '<f8'",
                        "|b1, |u1, <u2, <i4, <i8, <f2, <f4");
}

Test(npy_bad, int8_is_unsupported) {
    expect_header_error("npy_i1", "{'descr': '|i1', 'fortran_order': False, 'shape': (1,), }", 1,
                        FACET_ERR_UNSUPPORTED, "unsupported .npy dtype '|i1'", NULL);
}

Test(npy_bad, big_endian_is_unsupported) {
    expect_header_error(
        "npy_big_endian", "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4,
        FACET_ERR_UNSUPPORTED, "big-endian dtype '>f4' is not supported", "arr.astype('<f4')");
}

Test(npy_bad, structured_dtype_is_unsupported) {
    expect_header_error(
        "npy_structured", "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4,
        FACET_ERR_FORMAT, "malformed .npy header", "expected a string, True, False or a tuple");
}

Test(npy_bad, fortran_order_flag_is_rejected) {
    expect_header_error("npy_fortran", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                        24, FACET_ERR_UNSUPPORTED, "Fortran order", "np.ascontiguousarray");
}

Test(npy_bad, header_not_a_dict) {
    expect_header_error("npy_not_dict", "['descr', '<f4']", 0, FACET_ERR_FORMAT,
                        "malformed .npy header: expected '{' at byte 0", NULL);
}

Test(npy_bad, missing_colon) {
    expect_header_error("npy_no_colon", "{'descr' '<f4', 'fortran_order': False, 'shape': (1,), }",
                        4, FACET_ERR_FORMAT, "malformed .npy header: expected ':' at byte 9", NULL);
}

Test(npy_bad, unterminated_string) {
    expect_header_error("npy_unterminated", "{'descr': '<f4}", 4, FACET_ERR_FORMAT,
                        "malformed .npy header: expected a closing quote", NULL);
}

Test(npy_bad, missing_closing_brace) {
    expect_header_error("npy_no_brace", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4,
                        FACET_ERR_FORMAT, "expected ',' or '}'", NULL);
}

Test(npy_bad, text_after_the_dict) {
    expect_header_error("npy_after_dict",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} extra", 4,
                        FACET_ERR_FORMAT, "expected the end of the header after '}'", NULL);
}

Test(npy_bad, missing_shape_key) {
    expect_header_error("npy_no_shape", "{'descr': '<f4', 'fortran_order': False}", 4,
                        FACET_ERR_FORMAT, "bad.npy: .npy header has no 'shape' key", NULL);
}

Test(npy_bad, unknown_key) {
    expect_header_error("npy_unknown_key",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4,
                        FACET_ERR_FORMAT, "unexpected key 'x' in the .npy header", NULL);
}

Test(npy_bad, duplicate_key) {
    expect_header_error("npy_duplicate_key",
                        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
                        4, FACET_ERR_FORMAT, "key 'descr' appears twice", NULL);
}

Test(npy_bad, parenthesised_integer_is_not_a_tuple) {
    /* in Python (3) is the integer 3; NumPy itself rejects such a header */
    expect_header_error("npy_not_tuple", "{'descr': '|u1', 'fortran_order': False, 'shape': (3)}",
                        3, FACET_ERR_FORMAT, "a one-element tuple needs a trailing comma", NULL);
}

Test(npy_bad, negative_dimension) {
    expect_header_error("npy_negative", "{'descr': '|u1', 'fortran_order': False, 'shape': (-1,)}",
                        0, FACET_ERR_FORMAT, "negative dimension", NULL);
}

Test(npy_bad, shape_not_a_tuple) {
    expect_header_error("npy_shape_string",
                        "{'descr': '|u1', 'fortran_order': False, 'shape': '3'}", 3,
                        FACET_ERR_FORMAT, "'shape' must be a tuple of non-negative integers", NULL);
}

Test(npy_bad, fortran_order_not_a_bool) {
    expect_header_error("npy_fortran_string",
                        "{'descr': '|u1', 'fortran_order': 'no', 'shape': (3,)}", 3,
                        FACET_ERR_FORMAT, "'fortran_order' must be True or False", NULL);
}

Test(npy_bad, shape_overflows) {
    /* 2^32 * 2^32 * 2 bytes does not fit in 64 bits */
    expect_header_error("npy_overflow",
                        "{'descr': '<u2', 'fortran_order': False, 'shape': (4294967296, "
                        "4294967296), }",
                        0, FACET_ERR_FORMAT, ".npy shape [4294967296,4294967296] overflows", NULL);
}

Test(npy_bad, too_many_dimensions) {
    expect_header_error("npy_rank",
                        "{'descr': '|u1', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", 1,
                        FACET_ERR_UNSUPPORTED, "more than 8 dimensions", NULL);
}

/* ---- writer -----------------------------------------------------------------------------------*/

/* facet's writer must produce exactly NumPy's bytes: read a fixture, write it, compare files. */
static void expect_identical_to_numpy(const char *name) {
    facet_tensor t;
    cr_assert_eq(facet_npy_read(&t, fixture(name)), FACET_OK, "%s", facet_last_error());
    const char *dir = test_scratch_dir("npy_identical");
    char *path = facet_path_join(dir, name);
    cr_assert_eq(facet_npy_write(&t, path), FACET_OK, "%s", facet_last_error());
    facet_tensor_free(&t);
    char *mine, *numpy;
    size_t mine_size, numpy_size;
    cr_assert_eq(facet_read_file(path, &mine, &mine_size), FACET_OK);
    cr_assert_eq(facet_read_file(fixture(name), &numpy, &numpy_size), FACET_OK);
    cr_assert_eq(mine_size, numpy_size, "%s: %zu bytes, NumPy wrote %zu", name, mine_size,
                 numpy_size);
    cr_assert(memcmp(mine, numpy, mine_size) == 0, "%s: facet wrote\n%s\nNumPy wrote\n%s", name,
              mine + 10, numpy + 10);
    free(mine);
    free(numpy);
    free(path);
}

Test(npy_write, bytes_identical_to_numpy) {
    /* every format-1.0 C-order fixture: each dtype, rank 0 to 3, an empty array */
    const char *names[] = {"mask_bool.npy", "u8.npy",  "u16.npy",        "i32.npy",      "i64.npy",
                           "f16.npy",       "f32.npy", "scalar_f32.npy", "empty_f32.npy"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) expect_identical_to_numpy(names[i]);
}

Test(npy_write, header_is_64_byte_aligned_and_ends_in_newline) {
    int64_t shape[4] = {7, 1, 2, 3};
    facet_tensor t;
    cr_assert_eq(facet_tensor_alloc(&t, FACET_DTYPE_F32, 4, shape), FACET_OK);
    float *v = t.data;
    for (int i = 0; i < 42; i++) v[i] = (float)i * 0.25f - 3.0f;
    const char *dir = test_scratch_dir("npy_round_trip");
    char *path = facet_path_join(dir, "x.npy");
    cr_assert_eq(facet_npy_write(&t, path), FACET_OK, "%s", facet_last_error());

    char *bytes;
    size_t size;
    cr_assert_eq(facet_read_file(path, &bytes, &size), FACET_OK);
    size_t header_length = (unsigned char)bytes[8] | (size_t)(unsigned char)bytes[9] << 8;
    cr_assert_eq((10 + header_length) % 64, 0, "data starts 64-byte aligned");
    cr_assert_eq(bytes[10 + header_length - 1], '\n');
    cr_assert_eq(bytes[6], 1, "format version 1.0");
    cr_assert_eq(bytes[7], 0);
    cr_assert(strstr(bytes + 10, "'shape': (7, 1, 2, 3), }"));
    free(bytes);

    facet_tensor back;
    cr_assert_eq(facet_npy_read(&back, path), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(facet_tensor_expect(&back, "x", FACET_DTYPE_F32, 4, shape), FACET_OK);
    cr_assert(memcmp(back.data, t.data, 42 * sizeof(float)) == 0);
    facet_tensor_free(&back);
    facet_tensor_free(&t);
    free(path);
}

Test(npy_write, bf16_has_no_numpy_dtype) {
    uint16_t v = 0x3f80;
    facet_tensor t = {.dtype = FACET_DTYPE_BF16, .ndim = 0, .data = &v};
    const char *dir = test_scratch_dir("npy_bf16");
    char *path = facet_path_join(dir, "x.npy");
    cr_assert_eq(facet_npy_write(&t, path), FACET_ERR_UNSUPPORTED);
    cr_assert(strstr(facet_last_error(), "BF16 has no .npy dtype"), "%s", facet_last_error());
    cr_assert(!facet_is_file(path));
    free(path);
}

Test(npy_write, device_tensor_is_rejected) {
    float v = 1.0f;
    facet_tensor t = {
        .dtype = FACET_DTYPE_F32, .ndim = 0, .data = &v, .memory = FACET_MEMORY_DEVICE};
    cr_assert_eq(facet_npy_write(&t, "/tmp/never-written.npy"), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "device memory"), "%s", facet_last_error());
}

Test(npy_write, failed_write_leaves_the_destination_untouched) {
    /* a directory in the way makes the rename fail: it is left as it was, no temporary remains */
    const char *dir = test_scratch_dir("npy_atomic");
    char *path = facet_path_join(dir, "sub");
    cr_assert_eq(facet_make_dirs(path), FACET_OK);
    uint8_t v[2] = {1, 2};
    facet_tensor t = {.dtype = FACET_DTYPE_U8, .ndim = 1, .shape = {2}, .data = v};
    cr_assert_neq(facet_npy_write(&t, path), FACET_OK);
    cr_assert(facet_is_dir(path), "the directory is untouched");
    free(path);
}
