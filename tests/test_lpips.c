/* lpips/: LPIPS against the PyPI package `lpips` 0.1.4 (tests/fixtures/lpips, made by
 * tools/reference/lpips_reference.py), on the CPU.
 *
 * The package ran with its real v0.1 heads on a random backbone given by a hash rule; this suite
 * writes the same weights with facet_lpips_write_random (the backbone from core/hash.h, the heads
 * from models/lpips_heads_<net>.safetensors, which scripts/setup.sh converts from the lpips wheel
 * without torch), checks every tensor's bytes against the sha256 the reference recorded from
 * tools/convert_lpips.py's output, and compares LPIPS and its five per-tap values for three image
 * pairs (64x64, 72x40, 31x31) under both conventions with |facet - package| <= 1e-5 (the brief's
 * bound; both compute the convolutions in float32, so the expected difference is float rounding
 * of the features, ~1e-7 of LPIPS's magnitude). Then the properties (zero for identical images,
 * symmetry) and every refusal: sizes, channels, values, weights files. The CUDA launcher is
 * checked against this one in gpu_parity (lpips). */
#include "helpers.h"

#include "core/cuda/device.h"
#include "core/json.h"
#include "core/safetensors.h"
#include "lpips/lpips.h"
#include "core/sha256.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARITY_BOUND 1e-5

static const char *models_file(const char *name) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/models/%s", FACET_SOURCE_DIR, name);
    return path;
}

static const char *heads_file(facet_lpips_net net) {
    return models_file(net == FACET_LPIPS_ALEX ? "lpips_heads_alex.safetensors"
                                               : "lpips_heads_vgg16.safetensors");
}

static facet_doc load_expected(void) {
    facet_doc doc;
    cr_assert_eq(facet_json_load(&doc, test_source_path("tests/fixtures/lpips/expected.json")),
                 FACET_OK, "%s", facet_last_error());
    return doc;
}

static const cJSON *net_entry(const facet_doc *doc, facet_lpips_net net) {
    const cJSON *nets = cJSON_GetObjectItemCaseSensitive(doc->root, "nets");
    const cJSON *entry = cJSON_GetObjectItemCaseSensitive(nets, facet_lpips_net_name(net));
    cr_assert(cJSON_IsObject(entry), "expected.json has no net %s", facet_lpips_net_name(net));
    return entry;
}

/* The reference's weights for `net`, written into the test's scratch directory. */
static const char *write_reference_weights(const facet_doc *doc, facet_lpips_net net,
                                           const char *dir) {
    static char path[1024];
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(net_entry(doc, net), "seed");
    cr_assert(cJSON_IsNumber(seed));
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, facet_lpips_net_name(net));
    cr_assert_eq(facet_lpips_write_random(path, net, (uint64_t)seed->valuedouble, heads_file(net)),
                 FACET_OK, "%s (scripts/setup.sh converts the heads into models/)",
                 facet_last_error());
    return path;
}

static facet_image read_image(const char *name) {
    char relative[256];
    snprintf(relative, sizeof relative, "tests/fixtures/lpips/%s", name);
    facet_image img;
    cr_assert_eq(facet_image_read(&img, test_source_path(relative), 0), FACET_OK, "%s",
                 facet_last_error());
    cr_assert_eq(img.channels, 3);
    return img;
}

static facet_lpips *load(const char *path) {
    facet_lpips *m = NULL;
    cr_assert_eq(facet_lpips_load(&m, path, FACET_NN_CPU), FACET_OK, "%s", facet_last_error());
    return m;
}

/* ---- the weights -------------------------------------------------------------------------- */

static void check_tensor_digests(facet_lpips_net net) {
    facet_doc doc = load_expected();
    const char *path = write_reference_weights(&doc, net, test_scratch_dir("lpips_digests"));
    const cJSON *digests = cJSON_GetObjectItemCaseSensitive(net_entry(&doc, net), "tensor_sha256");
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, path), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(st.count, cJSON_GetArraySize(digests), "%d tensors, the reference has %d",
                 st.count, cJSON_GetArraySize(digests));
    const cJSON *item;
    int i = 0;
    cJSON_ArrayForEach(item, digests) {
        /* the same tensors in the same order as tools/convert_lpips.py writes them */
        cr_assert_str_eq(st.entries[i].name, item->string);
        char hex[65];
        facet_sha256_hex(st.entries[i].tensor.data, facet_tensor_bytes(&st.entries[i].tensor), hex);
        cr_assert_str_eq(hex, item->valuestring, "%s: bytes differ from the converter's",
                         item->string);
        i++;
    }
    facet_safetensors_close(&st);
    facet_doc_free(&doc);
}

Test(lpips_weights, random_alex_backbone_equals_the_converted_reference) {
    check_tensor_digests(FACET_LPIPS_ALEX);
}

Test(lpips_weights, random_vgg16_backbone_equals_the_converted_reference) {
    check_tensor_digests(FACET_LPIPS_VGG16);
}

Test(lpips_weights, smallest_inputs) {
    cr_assert_eq(facet_lpips_min_side(FACET_LPIPS_ALEX), 31);
    cr_assert_eq(facet_lpips_min_side(FACET_LPIPS_VGG16), 16);
}

/* ---- parity with the package ------------------------------------------------------------- */

static void check_parity(facet_lpips_net net) {
    facet_doc doc = load_expected();
    facet_lpips *m = load(write_reference_weights(&doc, net, test_scratch_dir("lpips_parity")));
    cr_assert_eq(facet_lpips_net_of(m), net);
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(doc.root, "pairs");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(net_entry(&doc, net), "cases");
    double worst = 0.0, worst_tap = 0.0;
    int count = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        const char *pair = cJSON_GetObjectItemCaseSensitive(c, "pair")->valuestring;
        const char *convention = cJSON_GetObjectItemCaseSensitive(c, "convention")->valuestring;
        const cJSON *files = cJSON_GetObjectItemCaseSensitive(pairs, pair);
        facet_image a = read_image(cJSON_GetObjectItemCaseSensitive(files, "a")->valuestring);
        facet_image b = read_image(cJSON_GetObjectItemCaseSensitive(files, "b")->valuestring);
        const int conv = facet_lpips_convention_from_name(convention);
        cr_assert_geq(conv, 0, "unknown convention %s", convention);
        facet_lpips_result r;
        cr_assert_eq(facet_lpips_distance(m, &a, &b, (facet_lpips_convention)conv, &r), FACET_OK,
                     "%s", facet_last_error());
        const double want = cJSON_GetObjectItemCaseSensitive(c, "distance")->valuedouble;
        const double err = fabs(r.distance - want);
        cr_assert(isfinite(r.distance) && err <= PARITY_BOUND,
                  "%s %s %s: LPIPS %.9f, the package %.9f", facet_lpips_net_name(net), pair,
                  convention, r.distance, want);
        worst = fmax(worst, err);
        const cJSON *taps = cJSON_GetObjectItemCaseSensitive(c, "taps");
        for (int k = 0; k < FACET_LPIPS_TAPS; k++) {
            const double tap = cJSON_GetArrayItem(taps, k)->valuedouble;
            cr_assert(fabs(r.taps[k] - tap) <= PARITY_BOUND, "%s %s %s tap %d: %.9f, want %.9f",
                      facet_lpips_net_name(net), pair, convention, k, r.taps[k], tap);
            worst_tap = fmax(worst_tap, fabs(r.taps[k] - tap));
        }
        facet_image_free(&a);
        facet_image_free(&b);
        count++;
    }
    cr_assert_eq(count, 6, "expected 3 pairs x 2 conventions");
    cr_log_info("LPIPS %s vs the lpips package: max |difference| %.3g (taps %.3g) over %d cases",
                facet_lpips_net_name(net), worst, worst_tap, count);
    fprintf(stderr, "lpips %s parity: max abs diff %.3g, taps %.3g\n", facet_lpips_net_name(net),
            worst, worst_tap);
    facet_lpips_free(m);
    facet_doc_free(&doc);
}

Test(lpips_parity, alex_matches_the_lpips_package) {
    check_parity(FACET_LPIPS_ALEX);
}

Test(lpips_parity, vgg16_matches_the_lpips_package) {
    check_parity(FACET_LPIPS_VGG16);
}

/* ---- properties ---------------------------------------------------------------------------- */

/* An alex model with hash heads (no file from models/ needed). */
static facet_lpips *hash_alex(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/alex_hash.safetensors", test_scratch_dir(dir));
    cr_assert_eq(facet_lpips_write_random(path, FACET_LPIPS_ALEX, 7, NULL), FACET_OK, "%s",
                 facet_last_error());
    return load(path);
}

Test(lpips_properties, identical_images_score_zero_and_order_does_not_matter) {
    facet_lpips *m = hash_alex("lpips_properties");
    facet_image a = read_image("square_a.png"), b = read_image("square_b.png");
    for (int conv = 0; conv < 2; conv++) {
        facet_lpips_result same, ab, ba;
        cr_assert_eq(facet_lpips_distance(m, &a, &a, (facet_lpips_convention)conv, &same), FACET_OK,
                     "%s", facet_last_error());
        cr_assert_eq(same.distance, 0.0, "LPIPS(A, A) = %g", same.distance);
        cr_assert_eq(facet_lpips_distance(m, &a, &b, (facet_lpips_convention)conv, &ab), FACET_OK);
        cr_assert_eq(facet_lpips_distance(m, &b, &a, (facet_lpips_convention)conv, &ba), FACET_OK);
        cr_assert(ab.distance > 0.0);
        /* (u_a - u_b)^2 = (u_b - u_a)^2 exactly, and every pixel's sum runs in one order */
        cr_assert_eq(ab.distance, ba.distance, "%.17g vs %.17g", ab.distance, ba.distance);
    }
    facet_image_free(&a);
    facet_image_free(&b);
    facet_lpips_free(m);
}

Test(lpips_properties, work_memory_follows_the_image_size) {
    /* a large pair, then a small one, then the large one again: the same values */
    facet_lpips *m = hash_alex("lpips_sizes");
    facet_image a = read_image("square_a.png"), b = read_image("square_b.png");
    facet_image sa = read_image("small_a.png"), sb = read_image("small_b.png");
    facet_lpips_result first, small, again;
    cr_assert_eq(facet_lpips_distance(m, &a, &b, FACET_LPIPS_NERFSTUDIO, &first), FACET_OK);
    cr_assert_eq(facet_lpips_distance(m, &sa, &sb, FACET_LPIPS_NERFSTUDIO, &small), FACET_OK);
    cr_assert_eq(facet_lpips_distance(m, &a, &b, FACET_LPIPS_NERFSTUDIO, &again), FACET_OK);
    cr_assert_eq(first.distance, again.distance);
    facet_image_free(&a), facet_image_free(&b), facet_image_free(&sa), facet_image_free(&sb);
    facet_lpips_free(m);
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void expect_distance_error(facet_lpips *m, const facet_image *a, const facet_image *b,
                                  facet_lpips_convention conv, const char *words) {
    facet_lpips_result r;
    cr_assert_eq(facet_lpips_distance(m, a, b, conv, &r), FACET_ERR_INVALID_ARGUMENT,
                 "expected a refusal mentioning '%s'", words);
    cr_assert(strstr(facet_last_error(), words), "message: %s", facet_last_error());
}

Test(lpips_refusals, images_too_small_of_other_sizes_or_not_rgb) {
    facet_lpips *m = hash_alex("lpips_refusals");
    facet_image small, other, rgba;
    cr_assert_eq(facet_image_alloc(&small, 30, 40, 3), FACET_OK);
    cr_assert_eq(facet_image_alloc(&other, 40, 31, 3), FACET_OK);
    cr_assert_eq(facet_image_alloc(&rgba, 40, 40, 4), FACET_OK);
    expect_distance_error(m, &small, &small, FACET_LPIPS_NERFSTUDIO, "too small");
    cr_assert(strstr(facet_last_error(), "31x31"), "message: %s", facet_last_error());
    expect_distance_error(m, &other, &small, FACET_LPIPS_NERFSTUDIO, "one size");
    expect_distance_error(m, &rgba, &rgba, FACET_LPIPS_NERFSTUDIO, "3 channels");
    facet_image_free(&small), facet_image_free(&other), facet_image_free(&rgba);
    facet_lpips_free(m);
}

Test(lpips_refusals, values_outside_the_conventions_range) {
    facet_lpips *m = hash_alex("lpips_values");
    facet_image a = read_image("small_a.png"), b = read_image("small_b.png");
    b.data[5] = 1.5f;
    expect_distance_error(m, &a, &b, FACET_LPIPS_NERFSTUDIO, "[0, 1]");
    b.data[5] = -0.5f; /* in [-1, 1]: risesdf takes it, nerfstudio does not */
    expect_distance_error(m, &a, &b, FACET_LPIPS_NERFSTUDIO, "image B");
    facet_lpips_result r;
    cr_assert_eq(facet_lpips_distance(m, &a, &b, FACET_LPIPS_RISESDF, &r), FACET_OK, "%s",
                 facet_last_error());
    b.data[5] = 7.0f; /* above 1: torchmetrics checks only the minimum without normalize */
    cr_assert_eq(facet_lpips_distance(m, &a, &b, FACET_LPIPS_RISESDF, &r), FACET_OK, "%s",
                 facet_last_error());
    b.data[5] = -1.5f;
    expect_distance_error(m, &a, &b, FACET_LPIPS_RISESDF, ">= -1");
    b.data[5] = NAN;
    expect_distance_error(m, &a, &b, FACET_LPIPS_RISESDF, "finite");
    facet_image_free(&a), facet_image_free(&b);
    facet_lpips_free(m);
}

/* Writes an LPIPS-format file with `config` and the tensors of `source` (NULL: none). */
static const char *write_variant(const char *dir, const char *name, const char *config,
                                 const char *source) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    facet_safetensors st = {0};
    if (source) {
        cr_assert_eq(facet_safetensors_open(&st, source), FACET_OK);
        for (int i = 0; i < st.count; i++)
            cr_assert_eq(
                facet_safetensors_writer_add(&w, st.entries[i].name, &st.entries[i].tensor),
                FACET_OK);
    }
    cr_assert_eq(facet_safetensors_writer_metadata(&w, "format", "facet-lpips"), FACET_OK);
    cr_assert_eq(facet_safetensors_writer_metadata(&w, "version", "1"), FACET_OK);
    cr_assert_eq(facet_safetensors_writer_metadata(&w, "config", config), FACET_OK);
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
    if (source) facet_safetensors_close(&st);
    return path;
}

static void expect_load_error(const char *path, const char *words) {
    facet_lpips *m = (facet_lpips *)1;
    cr_assert_neq(facet_lpips_load(&m, path, FACET_NN_CPU), FACET_OK, "%s loaded", path);
    cr_assert_null(m);
    cr_assert(strstr(facet_last_error(), words), "message: %s", facet_last_error());
    cr_assert(strstr(facet_last_error(), path), "the message names the file: %s",
              facet_last_error());
}

Test(lpips_refusals, weights_files) {
    const char *dir = test_scratch_dir("lpips_files");
    char alex[1024];
    snprintf(alex, sizeof alex, "%s/alex.safetensors", dir);
    cr_assert_eq(facet_lpips_write_random(alex, FACET_LPIPS_ALEX, 3, NULL), FACET_OK);

    char missing[1024];
    snprintf(missing, sizeof missing, "%s/none.safetensors", dir);
    expect_load_error(missing, "none.safetensors");
    expect_load_error(
        test_write_file(dir, "corrupt.safetensors", "\x10\0\0\0\0\0\0\0{not json", 17),
        "corrupt.safetensors");
    expect_load_error(test_source_path("tests/fixtures/safetensors/mixed.safetensors"),
                      "not facet LPIPS weights");
    expect_load_error(write_variant(dir, "squeeze.safetensors",
                                    "{\"net\":\"squeeze\",\"lpips_version\":\"0.1\"}", alex),
                      "'squeeze' is not supported");
    /* alex tensors under a vgg16 config: features.3 is a pooling layer of VGG16 */
    expect_load_error(write_variant(dir, "mislabelled.safetensors",
                                    "{\"net\":\"vgg16\",\"lpips_version\":\"0.1\"}", alex),
                      "another net");
    expect_load_error(write_variant(dir, "heads.safetensors",
                                    "{\"net\":\"alex\",\"lpips_version\":\"0.1\","
                                    "\"backbone\":false}",
                                    NULL),
                      "only the LPIPS heads");
    expect_load_error(write_variant(dir, "empty.safetensors",
                                    "{\"net\":\"alex\",\"lpips_version\":\"0.1\"}", NULL),
                      "features.0.weight");
}

Test(lpips_refusals, cuda_without_a_device) {
    if (facet_cuda_available()) cr_skip_test("a CUDA device is present");
    const char *dir = test_scratch_dir("lpips_cuda");
    char path[1024];
    snprintf(path, sizeof path, "%s/alex.safetensors", dir);
    cr_assert_eq(facet_lpips_write_random(path, FACET_LPIPS_ALEX, 3, NULL), FACET_OK);
    facet_lpips *m = NULL;
    cr_assert_eq(facet_lpips_load(&m, path, FACET_NN_CUDA), FACET_ERR_CUDA);
    cr_assert_null(m);
}

Test(lpips_names, nets_and_conventions) {
    cr_assert_eq(facet_lpips_net_from_name("alex"), FACET_LPIPS_ALEX);
    cr_assert_eq(facet_lpips_net_from_name("vgg"), FACET_LPIPS_VGG16);
    cr_assert_eq(facet_lpips_net_from_name("squeeze"), -1);
    cr_assert_eq(facet_lpips_convention_from_name("risesdf"), FACET_LPIPS_RISESDF);
    cr_assert_eq(facet_lpips_convention_from_name("torchmetrics"), -1);
    cr_assert_str_eq(facet_lpips_convention_name(FACET_LPIPS_NERFSTUDIO), "nerfstudio");
}

/* ---- the CLI: facet metrics and facet eval -------------------------------------------------- */

/* Runs `[ENV] facet ARGS` with stdout and stderr to files of `scratch`; returns the exit status. */
static int run_facet(const char *scratch, const char *env, const char *args) {
    char command[6000];
    snprintf(command, sizeof command, "%s '%s' %s > '%s/out.txt' 2> '%s/err.txt'",
             env ? env : "env -u FACET_LPIPS", FACET_EXECUTABLE, args, scratch, scratch);
    return test_run(command);
}

static char *read_text(const char *scratch, const char *name) {
    static char buffer[65536];
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    FILE *f = fopen(path, "r");
    buffer[0] = '\0';
    if (f) {
        buffer[fread(buffer, 1, sizeof buffer - 1, f)] = '\0';
        fclose(f);
    }
    return buffer;
}

/* The source tree's path of `relative` in a buffer of the caller's (test_source_path's is one
 * static buffer). */
static const char *source_path(char *buffer, size_t size, const char *relative) {
    snprintf(buffer, size, "%s", test_source_path(relative));
    return buffer;
}

/* `facet metrics` on the fixture pair <pair>_a.png, <pair>_b.png with extra arguments. */
static int run_metrics(const char *scratch, const char *env, const char *pair, const char *extra) {
    char a[1024], b[1024], relative[256], args[4096];
    snprintf(relative, sizeof relative, "tests/fixtures/lpips/%s_a.png", pair);
    source_path(a, sizeof a, relative);
    snprintf(relative, sizeof relative, "tests/fixtures/lpips/%s_b.png", pair);
    source_path(b, sizeof b, relative);
    snprintf(args, sizeof args, "metrics '%s' '%s' %s", a, b, extra);
    return run_facet(scratch, env, args);
}

static double package_value(const facet_doc *doc, const char *pair, const char *convention) {
    const cJSON *c;
    cJSON_ArrayForEach(
        c, cJSON_GetObjectItemCaseSensitive(net_entry(doc, FACET_LPIPS_ALEX), "cases")) {
        if (!strcmp(cJSON_GetObjectItemCaseSensitive(c, "pair")->valuestring, pair) &&
            !strcmp(cJSON_GetObjectItemCaseSensitive(c, "convention")->valuestring, convention))
            return cJSON_GetObjectItemCaseSensitive(c, "distance")->valuedouble;
    }
    cr_assert_fail("no case %s %s", pair, convention);
    return 0.0;
}

static const cJSON *lpips_of_output(cJSON **root, const char *text) {
    *root = cJSON_Parse(text);
    cr_assert_not_null(*root, "not JSON: %s", text);
    return cJSON_GetObjectItemCaseSensitive(*root, "lpips");
}

Test(lpips_cli, metrics_reports_the_package_value_under_each_convention) {
    facet_doc doc = load_expected();
    const char *scratch = test_scratch_dir("lpips_cli_metrics");
    char weights[1100], extra[1300], env[1300];
    snprintf(weights, sizeof weights, "%s",
             write_reference_weights(&doc, FACET_LPIPS_ALEX, scratch));
    /* --lpips, default convention (nerfstudio) */
    snprintf(extra, sizeof extra, "--lpips '%s'", weights);
    cr_assert_eq(run_metrics(scratch, NULL, "square", extra), 0, "%s",
                 read_text(scratch, "err.txt"));
    cJSON *root;
    const cJSON *lpips = lpips_of_output(&root, read_text(scratch, "out.txt"));
    cr_assert(cJSON_IsNumber(lpips));
    cr_assert(fabs(lpips->valuedouble - package_value(&doc, "square", "nerfstudio")) <=
              PARITY_BOUND);
    const cJSON *protocol = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "protocol"), "lpips");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(protocol, "net")->valuestring, "alex");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(protocol, "convention")->valuestring,
                     "nerfstudio");
    cJSON_Delete(root);
    /* FACET_LPIPS, risesdf */
    snprintf(env, sizeof env, "env FACET_LPIPS='%s'", weights);
    cr_assert_eq(run_metrics(scratch, env, "wide", "--lpips-convention risesdf"), 0, "%s",
                 read_text(scratch, "err.txt"));
    lpips = lpips_of_output(&root, read_text(scratch, "out.txt"));
    cr_assert(fabs(lpips->valuedouble - package_value(&doc, "wide", "risesdf")) <= PARITY_BOUND);
    cJSON_Delete(root);
    /* --no-lpips wins over FACET_LPIPS; without weights there is no lpips key at all */
    cr_assert_eq(run_metrics(scratch, env, "wide", "--no-lpips"), 0);
    cr_assert_null(lpips_of_output(&root, read_text(scratch, "out.txt")));
    cr_assert_null(strstr(read_text(scratch, "out.txt"), "\"lpips"));
    cJSON_Delete(root);
    cr_assert_eq(run_metrics(scratch, NULL, "wide", ""), 0);
    cr_assert_null(strstr(read_text(scratch, "out.txt"), "\"lpips"));
    facet_doc_free(&doc);
}

Test(lpips_cli, metrics_refusals_name_the_file) {
    const char *scratch = test_scratch_dir("lpips_cli_refusals");
    char weights[1100], extra[1300];
    snprintf(weights, sizeof weights, "%s/alex.safetensors", scratch);
    cr_assert_eq(facet_lpips_write_random(weights, FACET_LPIPS_ALEX, 3, NULL), FACET_OK);
    /* usage errors: exit 2 */
    cr_assert_eq(run_metrics(scratch, NULL, "square", "--lpips-convention risesdf"), 2);
    cr_assert(strstr(read_text(scratch, "err.txt"), "FACET_LPIPS"));
    snprintf(extra, sizeof extra, "--lpips '%s' --lpips-convention torchmetrics", weights);
    cr_assert_eq(run_metrics(scratch, NULL, "square", extra), 2);
    cr_assert(strstr(read_text(scratch, "err.txt"), "torchmetrics"));
    /* a missing weights file, from --lpips and from FACET_LPIPS */
    cr_assert_eq(run_metrics(scratch, NULL, "square", "--lpips /nonexistent/lpips.safetensors"), 1);
    cr_assert(strstr(read_text(scratch, "err.txt"), "/nonexistent/lpips.safetensors"), "%s",
              read_text(scratch, "err.txt"));
    cr_assert_eq(run_metrics(scratch, "env FACET_LPIPS=/nonexistent/env.safetensors", "square", ""),
                 1);
    cr_assert(strstr(read_text(scratch, "err.txt"), "FACET_LPIPS"));
    cr_assert(strstr(read_text(scratch, "err.txt"), "/nonexistent/env.safetensors"));
    /* a corrupt file, a file of an unknown net */
    const char *corrupt = test_write_file(scratch, "corrupt.safetensors", "garbage", 0);
    snprintf(extra, sizeof extra, "--lpips '%s'", corrupt);
    cr_assert_eq(run_metrics(scratch, NULL, "square", extra), 1);
    cr_assert(strstr(read_text(scratch, "err.txt"), "corrupt.safetensors"));
    const char *squeeze = write_variant(scratch, "squeeze.safetensors",
                                        "{\"net\":\"squeeze\",\"lpips_version\":\"0.1\"}", weights);
    snprintf(extra, sizeof extra, "--lpips '%s'", squeeze);
    cr_assert_eq(run_metrics(scratch, NULL, "square", extra), 1);
    cr_assert(strstr(read_text(scratch, "err.txt"), "squeeze.safetensors"));
    cr_assert(strstr(read_text(scratch, "err.txt"), "'squeeze' is not supported"));
    /* images too small for the backbone (20x20, though enough for PSNR and SSIM) */
    facet_image tiny;
    cr_assert_eq(facet_image_alloc(&tiny, 20, 20, 3), FACET_OK);
    char tiny_path[1100], args[4000];
    snprintf(tiny_path, sizeof tiny_path, "%s/tiny.png", scratch);
    cr_assert_eq(facet_image_write_png(&tiny, tiny_path), FACET_OK);
    facet_image_free(&tiny);
    snprintf(args, sizeof args, "metrics '%s' '%s' --lpips '%s'", tiny_path, tiny_path, weights);
    cr_assert_eq(run_facet(scratch, NULL, args), 1);
    cr_assert(strstr(read_text(scratch, "err.txt"), "too small for LPIPS"), "%s",
              read_text(scratch, "err.txt"));
    cr_assert(strstr(read_text(scratch, "err.txt"), "tiny.png"));
    /* images of different sizes */
    char a[1024], b[1024];
    snprintf(args, sizeof args, "metrics '%s' '%s' --lpips '%s'",
             source_path(a, sizeof a, "tests/fixtures/lpips/square_a.png"),
             source_path(b, sizeof b, "tests/fixtures/lpips/wide_a.png"), weights);
    cr_assert_eq(run_facet(scratch, NULL, args), 1);
    cr_assert(strstr(read_text(scratch, "err.txt"), "wide_a.png"));
}

Test(lpips_cli, eval_records_lpips_in_metrics_json) {
    TEST_SKIP_UNDER_SANITIZER("renders the demo split");
    const char *scratch = test_scratch_dir("lpips_cli_eval");
    char weights[1100], args[4000], scene[1024], data[1024];
    snprintf(weights, sizeof weights, "%s/alex.safetensors", scratch);
    cr_assert_eq(facet_lpips_write_random(weights, FACET_LPIPS_ALEX, 3, NULL), FACET_OK);
    source_path(scene, sizeof scene, "assets/demo/scene.json");
    source_path(data, sizeof data, "assets/demo/data");
    snprintf(args, sizeof args, "eval '%s' --data '%s' --out '%s/eval' --lpips '%s'", scene, data,
             scratch, weights);
    cr_assert_eq(run_facet(scratch, NULL, args), 0, "%s", read_text(scratch, "err.txt"));
    cr_assert(strstr(read_text(scratch, "out.txt"), "LPIPS"), "the table has an LPIPS column");
    char path[1100];
    snprintf(path, sizeof path, "%s/eval/metrics.json", scratch);
    facet_doc doc;
    cr_assert_eq(facet_json_load(&doc, path), FACET_OK, "%s", facet_last_error());
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(doc.root, "results");
    const cJSON *mean = cJSON_GetObjectItemCaseSensitive(results, "lpips");
    cr_assert(cJSON_IsNumber(mean) && mean->valuedouble > 0.0);
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(results, "lpips_std")));
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(doc.root, "version")->valueint, 1);
    double sum = 0.0;
    int count = 0;
    const cJSON *image;
    cJSON_ArrayForEach(image, cJSON_GetObjectItemCaseSensitive(doc.root, "images")) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(image, "lpips");
        cr_assert(cJSON_IsNumber(v), "every image has lpips");
        sum += v->valuedouble;
        count++;
    }
    cr_assert_eq(count, 8);
    cr_assert(fabs(sum / count - mean->valuedouble) <= 1e-12);
    const cJSON *protocol = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc.root, "protocol"), "lpips");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(protocol, "net")->valuestring, "alex");
    facet_doc_free(&doc);
    /* the same eval without weights: metrics.json has no lpips anywhere */
    snprintf(args, sizeof args, "eval '%s' --data '%s' --out '%s/plain' --quiet", scene, data,
             scratch);
    cr_assert_eq(run_facet(scratch, NULL, args), 0, "%s", read_text(scratch, "err.txt"));
    snprintf(path, sizeof path, "%s/plain/metrics.json", scratch);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char text[65536];
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    cr_assert_null(strstr(text, "\"lpips"), "no lpips key: %s", text);
}
