/* core/: status and error context, allocation, files (atomic writes), JSON and YAML helpers,
 * f16/bf16 conversions, the RNG, vector math and the progress bar. */
#include "helpers.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/half.h"
#include "core/json.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/safe_name.h"
#include "core/status.h"
#include "core/tensor.h"
#include "core/vecmath.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ASSERT_ERROR(call, fragment)                                                               \
    do {                                                                                           \
        cr_assert_neq((call), FACET_OK, #call " succeeded");                                       \
        cr_assert(strstr(facet_last_error(), fragment), "message '%s' lacks '%s'",                 \
                  facet_last_error(), fragment);                                                   \
    } while (0)

/* ---- status ---------------------------------------------------------------------------------- */

Test(status, fail_sets_message_and_context_prefixes_it) {
    cr_assert_eq(facet_fail(FACET_ERR_FORMAT, "bad %s", "magic"), FACET_ERR_FORMAT);
    cr_assert_str_eq(facet_last_error(), "bad magic");
    cr_assert_eq(facet_error_context("reading '%s'", "x.bin"), FACET_ERR_FORMAT);
    cr_assert_str_eq(facet_last_error(), "reading 'x.bin': bad magic");
    facet_clear_error();
    cr_assert_str_eq(facet_last_error(), "");
    cr_assert_eq(facet_last_status(), FACET_OK);
}

Test(status, every_status_has_a_name) {
    for (int s = FACET_OK; s <= FACET_ERR_INTERNAL; s++)
        cr_assert_str_neq(facet_status_name((facet_status)s), "unknown status");
}

/* ---- allocation ------------------------------------------------------------------------------ */

Test(alloc, overflowing_sizes_fail_without_allocating) {
    cr_assert_null(facet_alloc(SIZE_MAX / 2, 4));
    cr_assert(strstr(facet_last_error(), "overflows"));
    size_t out;
    cr_assert_eq(facet_mul_size(SIZE_MAX, 2, &out), -1);
    cr_assert_eq(facet_mul_size(3, 4, &out), 0);
    cr_assert_eq(out, 12);
}

/* Tables (K-Planes grids): zeroed, 2 MiB-aligned from 2 MiB up (the huge pages themselves are
 * the kernel's choice and not asserted), and the same overflow error as the other helpers. */
Test(alloc, tables_are_zeroed_and_large_ones_huge_page_aligned) {
    const size_t large = 3 * 1024 * 1024 / sizeof(float) + 5;
    float *t = facet_alloc_table(large, sizeof(float));
    cr_assert_not_null(t);
    cr_assert_eq((uintptr_t)t % (2u << 20), 0);
    for (size_t i = 0; i < large; i++) cr_assert(t[i] == 0.0f, "element %zu", i);
    free(t);
    float *small = facet_alloc_table(100, sizeof(float));
    cr_assert_not_null(small);
    for (int i = 0; i < 100; i++) cr_assert(small[i] == 0.0f);
    free(small);
    cr_assert_null(facet_alloc_table(SIZE_MAX / 2, 4));
    cr_assert(strstr(facet_last_error(), "overflows"));
}

Test(alloc, format_builds_strings) {
    char *s = facet_format("%s-%03d", "frame", 7);
    cr_assert_str_eq(s, "frame-007");
    free(s);
}

/* ---- files ----------------------------------------------------------------------------------- */

Test(fileio, atomic_write_replaces_whole_file) {
    const char *dir = test_scratch_dir("atomic");
    char *path = facet_path_join(dir, "out.txt");
    cr_assert_eq(facet_write_file_atomic(path, "first", 5), FACET_OK);
    cr_assert_eq(facet_write_file_atomic(path, "second", 6), FACET_OK);
    char *data;
    size_t size;
    cr_assert_eq(facet_read_file(path, &data, &size), FACET_OK);
    cr_assert_str_eq(data, "second");
    free(data);
    free(path);
}

Test(fileio, aborted_write_leaves_old_file_and_no_temporary) {
    const char *dir = test_scratch_dir("atomic_abort");
    char *path = facet_path_join(dir, "keep.txt");
    cr_assert_eq(facet_write_file_atomic(path, "good", 4), FACET_OK);
    facet_atomic_file out;
    cr_assert_eq(facet_atomic_open(&out, path), FACET_OK);
    fputs("half-writ", out.file);
    facet_atomic_abort(&out);
    char *data;
    size_t size;
    cr_assert_eq(facet_read_file(path, &data, &size), FACET_OK);
    cr_assert_str_eq(data, "good");
    free(data);
    char command[2048];
    snprintf(command, sizeof command, "test $(ls '%s' | wc -l) = 1", dir);
    cr_assert_eq(test_run(command), 0, "a temporary file was left in %s", dir);
    free(path);
}

Test(fileio, write_into_missing_directory_names_the_path) {
    ASSERT_ERROR(facet_write_file_atomic("/nonexistent-dir/x.bin", "x", 1),
                 "/nonexistent-dir/x.bin");
}

Test(fileio, paths) {
    char *p = facet_path_relative_to_file("scenes/a/scene.json", "maps/sky.exr");
    cr_assert_str_eq(p, "scenes/a/maps/sky.exr");
    free(p);
    p = facet_path_relative_to_file("scenes/scene.json", "/abs/sky.exr");
    cr_assert_str_eq(p, "/abs/sky.exr");
    free(p);
    char stem[64];
    facet_path_stem("data/test/r_12.png", stem, sizeof stem);
    cr_assert_str_eq(stem, "r_12");
    cr_assert_str_eq(facet_path_extension("a.b/c"), "");
    cr_assert_str_eq(facet_path_extension("x/.hidden"), "");
}

Test(fileio, make_dirs_creates_nested_directories) {
    const char *dir = test_scratch_dir("mkdirs");
    char *nested = facet_format("%s/a/b/c", dir);
    cr_assert_eq(facet_make_dirs(nested), FACET_OK);
    cr_assert(facet_is_dir(nested));
    cr_assert_eq(facet_make_dirs(nested), FACET_OK, "idempotent");
    free(nested);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static facet_doc parse(const char *text) {
    facet_doc doc;
    cr_assert_eq(facet_json_parse(&doc, text, "t.json"), FACET_OK, "%s", facet_last_error());
    return doc;
}

Test(json, syntax_error_reports_line_and_column) {
    facet_doc doc;
    ASSERT_ERROR(facet_json_parse(&doc, "{\n  \"a\": 1,\n  \"b\": ]\n}", "t.json"), "t.json:3:");
}

Test(json, missing_file_is_an_io_error_naming_it) {
    facet_doc doc;
    cr_assert_eq(facet_json_load(&doc, "/nonexistent/scene.json"), FACET_ERR_IO);
    cr_assert(strstr(facet_last_error(), "/nonexistent/scene.json"));
}

Test(json, typed_lookups_name_file_and_key) {
    facet_doc doc = parse("{\"cam\": {\"fov\": \"wide\", \"size\": [1, 2], \"m\": [[1]]}}");
    const cJSON *cam = cJSON_GetObjectItem(doc.root, "cam");
    double v, three[3], m[16];
    ASSERT_ERROR(facet_json_get_number(&doc, cam, "fov", "cam", &v),
                 "t.json: key 'cam.fov': expected a number, got a string");
    ASSERT_ERROR(facet_json_get_number(&doc, cam, "near", "cam", &v),
                 "t.json: missing key 'cam.near'");
    ASSERT_ERROR(facet_json_get_numbers(&doc, cam, "size", "cam", three, 3),
                 "key 'cam.size': expected 3 numbers, got 2");
    ASSERT_ERROR(facet_json_get_mat4(&doc, cam, "m", "cam", m), "expected a 4x4 matrix");
    v = 7;
    cr_assert_eq(facet_json_opt_number(&doc, cam, "near", "cam", &v), FACET_OK);
    cr_assert_eq(v, 7, "an absent optional key leaves the value alone");
    facet_doc_free(&doc);
}

Test(json, check_keys_rejects_unknown_and_allows_extra) {
    facet_doc doc = parse("{\"a\": 1, \"extra\": {}, \"zz\": 2}");
    static const char *const allowed[] = {"a", NULL};
    ASSERT_ERROR(facet_json_check_keys(&doc, doc.root, "top", allowed), "unknown key 'top.zz'");
    facet_doc_free(&doc);
}

Test(json, write_atomic_round_trips) {
    const char *dir = test_scratch_dir("json_write");
    char *path = facet_path_join(dir, "m.json");
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "psnr", 31.25);
    cr_assert_eq(facet_json_write_atomic(path, root), FACET_OK);
    cJSON_Delete(root);
    facet_doc doc;
    cr_assert_eq(facet_json_load(&doc, path), FACET_OK);
    double v;
    cr_assert_eq(facet_json_get_number(&doc, doc.root, "psnr", "", &v), FACET_OK);
    cr_assert_eq(v, 31.25);
    facet_doc_free(&doc);
    free(path);
}

/* ---- YAML ------------------------------------------------------------------------------------ */

static const char *yaml_file(const char *text) {
    const char *dir = test_scratch_dir("yaml");
    return test_write_file(dir, "m.yaml", text, 0);
}

Test(yaml, mapping_yaml_becomes_an_object_with_string_keys) {
    facet_doc doc;
    cr_assert_eq(facet_yaml_load(&doc, yaml_file("0: drawer\n1: door\n")), FACET_OK, "%s",
                 facet_last_error());
    const cJSON *door = cJSON_GetObjectItem(doc.root, "1");
    cr_assert(cJSON_IsString(door));
    cr_assert_str_eq(door->valuestring, "door");
    facet_doc_free(&doc);
}

Test(yaml, scalars_are_typed_like_yaml) {
    facet_doc doc;
    cr_assert_eq(facet_yaml_load(&doc, yaml_file("a: 0.25\nb: true\nc: ~\nd: '12'\ne: [1, x]\n")),
                 FACET_OK);
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(doc.root, "a")));
    cr_assert_eq(cJSON_GetObjectItem(doc.root, "a")->valuedouble, 0.25);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(doc.root, "b")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(doc.root, "c")));
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(doc.root, "d")), "quoted numbers stay strings");
    cr_assert(cJSON_IsArray(cJSON_GetObjectItem(doc.root, "e")));
    facet_doc_free(&doc);
}

Test(yaml, malformed_yaml_reports_position) {
    facet_doc doc;
    ASSERT_ERROR(facet_yaml_load(&doc, yaml_file("a: [1, 2\nb: 3\n")), "m.yaml:");
    cr_assert(strstr(facet_last_error(), "invalid YAML"));
}

Test(yaml, duplicate_keys_are_rejected) {
    facet_doc doc;
    ASSERT_ERROR(facet_yaml_load(&doc, yaml_file("a: 1\na: 2\n")), "duplicate key 'a'");
}

Test(yaml, runaway_nesting_is_rejected) {
    char text[400];
    memset(text, '[', 100);
    memset(text + 100, ']', 100);
    text[200] = '\0';
    facet_doc doc;
    ASSERT_ERROR(facet_yaml_load(&doc, yaml_file(text)), "nested deeper than 64");
}

/* ---- f16 / bf16 ------------------------------------------------------------------------------ */

Test(half, f16_round_trips_every_finite_value) {
    for (uint32_t h = 0; h < 0x10000u; h++) {
        if ((h & 0x7c00u) == 0x7c00u) continue; /* inf / NaN checked below */
        float f = facet_f16_to_f32((uint16_t)h);
        cr_assert_eq(facet_f32_to_f16(f), h, "f16 0x%04x -> %g -> 0x%04x", h, (double)f,
                     facet_f32_to_f16(f));
    }
}

/* Every one of the 65536 halves against its definition: (-1)^s 2^(e-15) (1 + m/1024), subnormals
 * 2^-14 m/1024, e = 31 infinities (m = 0) and NaN with the payload kept. */
Test(half, f16_to_f32_matches_the_definition_for_every_half) {
    for (uint32_t h = 0; h < 0x10000u; h++) {
        const int e = (int)((h >> 10) & 0x1fu), m = (int)(h & 0x3ffu);
        const double sign = (h & 0x8000u) ? -1.0 : 1.0;
        const float got = facet_f16_to_f32((uint16_t)h);
        if (e == 31) {
            if (m == 0)
                cr_assert(isinf(got) && (got < 0) == (sign < 0), "0x%04x", h);
            else {
                cr_assert(isnan(got), "0x%04x", h);
                cr_assert_eq(facet_f32_bits(got) & 0x7fffffu, (uint32_t)m << 13, "payload 0x%04x",
                             h);
            }
            continue;
        }
        const double want =
            e ? sign * ldexp(1.0 + m / 1024.0, e - 15) : sign * ldexp(m / 1024.0, -14);
        cr_assert(got == (float)want && !signbit(got) == !signbit(want), "0x%04x: %a, want %a", h,
                  (double)got, want);
    }
}

Test(half, f16_rounds_to_nearest_even_and_saturates) {
    cr_assert_eq(facet_f16_to_f32(0x3c00), 1.0f);
    cr_assert_eq(facet_f32_to_f16(1.0f + 1.0f / 2048), 0x3c00, "tie goes to even (down)");
    cr_assert_eq(facet_f32_to_f16(1.0f + 3.0f / 2048), 0x3c02, "tie goes to even (up)");
    cr_assert_eq(facet_f32_to_f16(65520.0f), 0x7c00, "past the largest half: infinity");
    cr_assert_eq(facet_f32_to_f16(65504.0f), 0x7bff);
    cr_assert_eq(facet_f32_to_f16(5.9604644775390625e-8f), 0x0001, "smallest subnormal");
    cr_assert_eq(facet_f32_to_f16(2.98e-8f), 0x0000, "below half the smallest subnormal");
    cr_assert(isnan(facet_f16_to_f32(facet_f32_to_f16(NAN))));
    cr_assert(isinf(facet_f16_to_f32(0xfc00)) && facet_f16_to_f32(0xfc00) < 0);
}

Test(half, bf16_truncates_mantissa_with_rounding) {
    cr_assert_eq(facet_f32_to_bf16(1.0f), 0x3f80);
    cr_assert_eq(facet_bf16_to_f32(0x3f80), 1.0f);
    cr_assert_eq(facet_f32_to_bf16(facet_bits_f32(0x3f808000u)), 0x3f80, "tie to even (down)");
    cr_assert_eq(facet_f32_to_bf16(facet_bits_f32(0x3f818000u)), 0x3f82, "tie to even (up)");
    cr_assert(isnan(facet_bf16_to_f32(facet_f32_to_bf16(NAN))));
}

/* ---- tensors --------------------------------------------------------------------------------- */

Test(tensor, expect_names_tensor_and_both_shapes) {
    facet_tensor t;
    int64_t shape[3] = {32, 64, 64};
    cr_assert_eq(facet_tensor_alloc(&t, FACET_DTYPE_F16, 3, shape), FACET_OK);
    int64_t want[3] = {32, 128, 128};
    ASSERT_ERROR(facet_tensor_expect(&t, "field.planes.0", FACET_DTYPE_F32, 3, want),
                 "'field.planes.0': expected F32 [32,128,128], got F16 [32,64,64]");
    cr_assert_eq(facet_tensor_numel(&t), 32 * 64 * 64);
    cr_assert_eq(facet_tensor_bytes(&t), 32 * 64 * 64 * 2);
    facet_tensor_free(&t);
    cr_assert_eq(facet_dtype_from_name("BF16"), FACET_DTYPE_BF16);
    cr_assert_eq(facet_dtype_from_name("F64"), FACET_DTYPE_INVALID);
}

/* ---- rng ------------------------------------------------------------------------------------- */

Test(rng, pcg32_matches_the_reference_sequence) {
    /* pcg32-global-demo with seed 42, stream 54 prints 0xa15c02b7 0x7b47f409 0xba1d3330 */
    facet_rng rng = facet_rng_seed(42u, 54u);
    cr_assert_eq(facet_rng_u32(&rng), 0xa15c02b7u);
    cr_assert_eq(facet_rng_u32(&rng), 0x7b47f409u);
    cr_assert_eq(facet_rng_u32(&rng), 0xba1d3330u);
}

Test(rng, uniform_is_in_unit_interval_with_the_right_mean) {
    facet_rng rng = facet_rng_seed(1, 1);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        float u = facet_rng_uniform(&rng);
        cr_assert(u >= 0.0f && u < 1.0f);
        sum += u;
    }
    cr_assert_float_eq(sum / 100000, 0.5, 0.005);
    for (int i = 0; i < 1000; i++) cr_assert_lt(facet_rng_below(&rng, 7), 7u);
}

/* ---- vector math ----------------------------------------------------------------------------- */

Test(vecmath, rotation_and_products) {
    facet_mat4 r = facet_mat4_rotation_z(3.14159265f / 2);
    facet_vec3 p = facet_mat4_point(r, facet_v3(1, 0, 0));
    cr_assert_float_eq(p.x, 0, 1e-6);
    cr_assert_float_eq(p.y, 1, 1e-6);
    facet_mat4 twice = facet_mat4_mul(r, r);
    p = facet_mat4_direction(twice, facet_v3(1, 0, 0));
    cr_assert_float_eq(p.x, -1, 1e-6);
    facet_vec3 c = facet_v3_cross(facet_v3(1, 0, 0), facet_v3(0, 1, 0));
    cr_assert_float_eq(c.z, 1, 1e-6);
    cr_assert_float_eq(facet_v3_length(facet_v3_normalize(facet_v3(3, 4, 12))), 1, 1e-6);
}

/* ---- parallel and progress ------------------------------------------------------------------- */

Test(parallel, parallel_for_visits_every_index_once) {
    enum { N = 10000 };
    static int hits[N];
    FACET_PARALLEL_FOR(i, 0, N) {
        hits[i]++;
    }
    for (int i = 0; i < N; i++) cr_assert_eq(hits[i], 1);
    cr_assert_geq(facet_thread_count(), 1);
}

Test(progress, line_shows_count_rate_and_eta) {
    facet_progress p = {.quiet = 1};
    facet_progress_begin(&p, "render", "img", 100);
    p.start_seconds = 0;
    p.done = 25;
    char line[256];
    facet_progress_format(&p, 5.0, line, sizeof line); /* 25 in 5 s: 5 img/s, 75 left: 15 s */
    cr_assert(strstr(line, "render 25/100  25%"), "%s", line);
    cr_assert(strstr(line, "5 img/s"), "%s", line);
    cr_assert(strstr(line, "ETA 0:15"), "%s", line);
    p.done = 100;
    facet_progress_format(&p, 20.0, line, sizeof line);
    cr_assert(strstr(line, "100%") && strstr(line, "took 0:20"), "%s", line);
}

Test(progress, non_tty_prints_plain_lines) {
    const char *dir = test_scratch_dir("progress");
    char *path = facet_path_join(dir, "log.txt");
    FILE *log = fopen(path, "w");
    facet_progress p = {.out = log, .interval_seconds = 1e-9};
    facet_progress_begin(&p, "eval", "img", 3);
    for (int i = 0; i < 3; i++) facet_progress_advance(&p, 1);
    facet_progress_end(&p);
    fclose(log);
    char *text;
    size_t size;
    cr_assert_eq(facet_read_file(path, &text, &size), FACET_OK);
    cr_assert_null(strchr(text, '\r'), "no carriage returns outside a terminal");
    cr_assert(strstr(text, "eval 3/3 100%"), "%s", text);
    free(text);
    free(path);
}

/* ---- safe names: data-derived output names never leave the output folder ------------------- */

Test(safe_name, every_kind_of_escape_is_refused_with_its_reason) {
    char long_component[FACET_SAFE_COMPONENT_MAX + 2], long_name[FACET_SAFE_NAME_MAX + 10];
    memset(long_component, 'c', sizeof long_component - 1);
    long_component[sizeof long_component - 1] = '\0';
    for (size_t i = 0; i + 1 < sizeof long_name; i++) long_name[i] = i % 100 == 99 ? '/' : 'n';
    long_name[sizeof long_name - 1] = '\0';
    const struct {
        const char *name, *reason;
    } bad[] = {
        {NULL, "is empty"},
        {"", "is empty"},
        {"/etc/passwd", "is absolute"},
        {"//server/x", "is absolute"},
        {"..", "'..' component"},
        {"../x.png", "'..' component"},
        {"a/../../x.png", "'..' component"},
        {"a/..", "'..' component"},
        {".", "'.' component"},
        {"./x.png", "'.' component"},
        {"a/./x.png", "'.' component"},
        {"a//x.png", "empty component"},
        {"a/", "empty component"},
        {"x\x01.png", "control character"},
        {"x\t.png", "control character"},
        {"x\n.png", "control character"},
        {"x\x1b[2J.png", "control character"},
        {"x\x7f.png", "control character"},
        {"..\\..\\x.png", "backslash"},
        {"a\\b.png", "backslash"},
        {long_component, "component longer than"},
        {long_name, "longer than"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const char *reason = facet_unsafe_name_reason(bad[k].name, FACET_NAME_RELATIVE);
        cr_assert(reason && strstr(reason, bad[k].reason), "case %zu: got '%s', want '%s'", k,
                  reason ? reason : "(safe)", bad[k].reason);
        char *path = (char *)"untouched";
        cr_assert_eq(facet_output_path_for("out", bad[k].name, ".png", FACET_NAME_RELATIVE,
                                           "shard.safetensors row 3", &path),
                     FACET_ERR_FORMAT, "case %zu", k);
        cr_assert_null(path, "case %zu: no path on failure", k);
        const char *e = facet_last_error();
        cr_assert(strstr(e, "shard.safetensors row 3: unsafe name '") && strstr(e, bad[k].reason),
                  "case %zu: %s", k, e);
        for (const char *p = e; *p; p++)
            cr_assert((unsigned char)*p >= 0x20 && *p != 0x7f, "case %zu: raw control byte", k);
    }
}

Test(safe_name, ordinary_names_pass_and_join_under_the_folder) {
    const char *good[] = {"x.png", "n01440764/ILSVRC2012_val_00000293.JPEG",
                          "a.b/c", ".hidden",
                          "..x",   "x..",
                          "...",   "a b/ü.png",
                          "-rf"};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        cr_assert_null(facet_unsafe_name_reason(good[k], FACET_NAME_RELATIVE), "'%s': %s", good[k],
                       facet_unsafe_name_reason(good[k], FACET_NAME_RELATIVE));
        char *path;
        cr_assert_eq(
            facet_output_path_for("out/", good[k], ".png", FACET_NAME_RELATIVE, "t", &path),
            FACET_OK);
        char *want = facet_format("out/%s.png", good[k]);
        cr_assert_str_eq(path, want);
        free(want);
        free(path);
    }
    /* a single file name: no folders */
    cr_assert_null(facet_unsafe_name_reason("drawer", FACET_NAME_FILE));
    cr_assert(strstr(facet_unsafe_name_reason("a/b", FACET_NAME_FILE), "'/'"));
    /* the longest allowed component and name */
    char edge[FACET_SAFE_COMPONENT_MAX + 1];
    memset(edge, 'e', sizeof edge - 1);
    edge[sizeof edge - 1] = '\0';
    cr_assert_null(facet_unsafe_name_reason(edge, FACET_NAME_FILE));
}

Test(safe_name, quoting_escapes_bytes_and_cuts_long_names) {
    char buf[32];
    cr_assert_str_eq(facet_quote_name("a\x1b[2J\\b\xc3\xbc", buf, sizeof buf),
                     "a\\x1b[2J\\x5cb\\xc3\\xbc");
    char many[100];
    memset(many, 'x', sizeof many - 1);
    many[sizeof many - 1] = '\0';
    facet_quote_name(many, buf, sizeof buf);
    cr_assert_lt(strlen(buf), sizeof buf);
    cr_assert_str_eq(buf + strlen(buf) - 3, "...");
    facet_quote_name("\x01\x02\x03\x04\x05\x06\x07\x08\x09", buf, 16);
    cr_assert_lt(strlen(buf), 16);
}

Test(json, a_nul_escape_is_refused_not_cut) {
    cr_assert(facet_json_has_nul_escape("{\"a\": \"x\\u0000/../y\"}"));
    cr_assert(!facet_json_has_nul_escape("{\"a\": \"x\\\\u0000\"}"), "an escaped backslash");
    cr_assert(!facet_json_has_nul_escape("{\"a\": \"\\u00e9\"}"));
    facet_doc doc;
    cr_assert_eq(facet_json_parse(&doc, "[\"a\\u0000b\"]", "m.json"), FACET_ERR_FORMAT);
    cr_assert(strstr(facet_last_error(), "m.json") && strstr(facet_last_error(), "u0000"));
}

/* ---- non-finite values -------------------------------------------------------------------- */

Test(tensor, count_nonfinite_tells_nan_from_inf_in_every_float_dtype) {
    /* F32: NaN (quiet, signalling, negative), +-Inf, the largest finite value, a subnormal */
    const uint32_t f32[] = {0x3f800000u, 0x7fc00000u, 0x7f800001u, 0xffc00000u,
                            0x7f800000u, 0xff800000u, 0x7f7fffffu, 0x00000001u};
    /* F16 and BF16: 1, NaN, +Inf, -Inf, largest finite */
    const uint16_t f16[] = {0x3c00u, 0x7e00u, 0x7c00u, 0xfc00u, 0x7bffu};
    const uint16_t bf16[] = {0x3f80u, 0x7fc0u, 0x7f80u, 0xff80u, 0x7f7fu};
    facet_tensor t = {.dtype = FACET_DTYPE_F32, .ndim = 1, .shape = {8}, .data = (void *)f32};
    facet_nonfinite r = facet_tensor_count_nonfinite(&t);
    cr_assert(r.nan == 3 && r.inf == 2 && r.first == 1, "F32: %lld NaN %lld Inf first %lld",
              (long long)r.nan, (long long)r.inf, (long long)r.first);
    t = (facet_tensor){.dtype = FACET_DTYPE_F16, .ndim = 1, .shape = {5}, .data = (void *)f16};
    r = facet_tensor_count_nonfinite(&t);
    cr_assert(r.nan == 1 && r.inf == 2 && r.first == 1);
    t = (facet_tensor){.dtype = FACET_DTYPE_BF16, .ndim = 1, .shape = {5}, .data = (void *)bf16};
    r = facet_tensor_count_nonfinite(&t);
    cr_assert(r.nan == 1 && r.inf == 2 && r.first == 1);
    /* integers have no non-finite values, whatever their bits */
    t = (facet_tensor){.dtype = FACET_DTYPE_U16, .ndim = 1, .shape = {5}, .data = (void *)f16};
    r = facet_tensor_count_nonfinite(&t);
    cr_assert(r.nan == 0 && r.inf == 0 && r.first == -1);
    /* every finite f16 bit pattern is finite, as the converter says */
    for (uint32_t bits = 0; bits < 0x10000u; bits++) {
        const uint16_t h = (uint16_t)bits;
        t = (facet_tensor){.dtype = FACET_DTYPE_F16, .ndim = 0, .data = (void *)&h};
        r = facet_tensor_count_nonfinite(&t);
        const float f = facet_f16_to_f32(h);
        cr_assert_eq(r.nan, isnan(f) ? 1 : 0, "0x%04x", bits);
        cr_assert_eq(r.inf, isinf(f) ? 1 : 0, "0x%04x", bits);
    }
}

static char last_warning[1024];
static void capture_warning(const char *message) {
    snprintf(last_warning, sizeof last_warning, "%s", message);
}

Test(status, warnings_reach_the_handler_and_are_dropped_without_one) {
    last_warning[0] = '\0';
    facet_warn("dropped %d", 1);
    facet_set_warning_handler(capture_warning);
    facet_warn("weights '%s' hold %d NaN", "m.safetensors", 3);
    facet_set_warning_handler(NULL);
    cr_assert_str_eq(last_warning, "weights 'm.safetensors' hold 3 NaN");
    facet_warn("dropped again");
    cr_assert_str_eq(last_warning, "weights 'm.safetensors' hold 3 NaN");
}
