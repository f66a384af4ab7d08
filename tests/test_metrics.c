/* PSNR, SSIM and median-ratio alignment (core/metrics.h) and `facet metrics`.
 *
 * Small hand-built images check each rule of the protocol; the PNG pairs in
 * tests/fixtures/metrics/ (tools/reference/metrics_reference.py) check agreement with
 * scikit-image 0.19 and with RISE-SDF's torch alignment code. */
#include "core/image.h"
#include "core/json.h"
#include "core/metrics.h"
#include "helpers.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Agreement with the references: the C code and the references compute in double from the same
 * float32 pixel values (byte / 255), so they agree to ~1e-14; 1e-9 leaves room for summation
 * order. The alignment scales are float32 in both, hence equal. */
static const double TOLERANCE = 1e-9;

static facet_image filled(int width, int height, int channels, float value) {
    facet_image img = {width, height, channels, NULL};
    size_t count = (size_t)width * height * channels;
    img.data = malloc(count * sizeof *img.data);
    cr_assert(img.data);
    for (size_t i = 0; i < count; i++) img.data[i] = value;
    return img;
}

static void release(facet_image *img) {
    free(img->data);
    img->data = NULL;
}

static float *at(const facet_image *img, int x, int y, int c) {
    return &img->data[((size_t)y * img->width + x) * img->channels + c];
}

static void assert_error(facet_status status, const char *text) {
    cr_assert_neq(status, FACET_OK, "expected an error containing '%s'", text);
    cr_assert(strstr(facet_last_error(), text), "message '%s' lacks '%s'", facet_last_error(),
              text);
}

/* ---- PSNR ------------------------------------------------------------------------------------ */

Test(metrics_psnr, constant_difference_of_0_1_is_20_db) {
    /* MSE = 0.1^2 = 0.01 -> 10 log10(1 / 0.01) = 20 dB. */
    facet_image a = filled(7, 5, 3, 0.5f), b = filled(7, 5, 3, 0.5f);
    for (int i = 0; i < 7 * 5 * 3; i++) b.data[i] = (float)(0.5 + 0.1);
    double psnr = 0.0;
    cr_assert_eq(facet_psnr(&a, &b, NULL, &psnr), FACET_OK);
    cr_assert_float_eq(psnr, 20.0, 1e-5); /* 0.6f - 0.5f is 0.1 only to float precision */
    release(&a);
    release(&b);
}

Test(metrics_psnr, averages_over_every_channel) {
    /* One channel of three off by 0.3: MSE = 0.09 / 3 = 0.03. */
    facet_image a = filled(4, 4, 3, 0.25f), b = filled(4, 4, 3, 0.25f);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) *at(&b, x, y, 1) = 0.55f;
    const double mse = pow((double)0.55f - 0.25, 2) / 3.0;
    double psnr = 0.0;
    cr_assert_eq(facet_psnr(&a, &b, NULL, &psnr), FACET_OK);
    cr_assert_float_eq(psnr, 10.0 * log10(1.0 / mse), 1e-12);
    release(&a);
    release(&b);
}

Test(metrics_psnr, identical_images_are_plus_infinity) {
    facet_image a = filled(3, 3, 1, 0.3f), b = filled(3, 3, 1, 0.3f);
    double psnr = 0.0;
    cr_assert_eq(facet_psnr(&a, &b, NULL, &psnr), FACET_OK);
    cr_assert(isinf(psnr) && psnr > 0, "PSNR of identical images is +inf, got %g", psnr);
    release(&a);
    release(&b);
}

Test(metrics_psnr, mask_scores_only_pixels_above_one_half) {
    /* Left half (mask 0.75) off by 0.25, right half (mask 0.5, not > 0.5) off by 0.75:
     * only the left half counts, MSE = 0.0625 -> 12.0412 dB. */
    facet_image a = filled(6, 4, 2, 0.0f), b = filled(6, 4, 2, 0.0f), mask = filled(6, 4, 1, 0.5f);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 6; x++)
            for (int c = 0; c < 2; c++) *at(&b, x, y, c) = x < 3 ? 0.25f : 0.75f;
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 3; x++) *at(&mask, x, y, 0) = 0.75f;
    double psnr = 0.0;
    cr_assert_eq(facet_psnr(&a, &b, &mask, &psnr), FACET_OK);
    cr_assert_float_eq(psnr, 10.0 * log10(1.0 / 0.0625), 1e-12);
    release(&a);
    release(&b);
    release(&mask);
}

/* ---- SSIM ------------------------------------------------------------------------------------ */

Test(metrics_ssim, identical_images_score_one) {
    facet_image a = filled(16, 12, 3, 0.0f);
    for (int i = 0; i < 16 * 12 * 3; i++) a.data[i] = (float)((i * 37) % 101) / 100.0f;
    double ssim = 0.0;
    cr_assert_eq(facet_ssim(&a, &a, NULL, &ssim), FACET_OK);
    cr_assert_float_eq(ssim, 1.0, 1e-12);
    release(&a);
}

Test(metrics_ssim, constant_images_reduce_to_the_luminance_term) {
    /* No variance: SSIM = (2 p q + C1) / (p^2 + q^2 + C1) * (C2 / C2), C1 = 0.01^2. */
    facet_image a = filled(11, 11, 1, 0.25f), b = filled(11, 11, 1, 0.75f);
    const double c1 = 1e-4, expected = (2 * 0.25 * 0.75 + c1) / (0.25 * 0.25 + 0.75 * 0.75 + c1);
    double ssim = 0.0;
    cr_assert_eq(facet_ssim(&a, &b, NULL, &ssim), FACET_OK);
    cr_assert_float_eq(ssim, expected, 1e-12);
    release(&a);
    release(&b);
}

Test(metrics_ssim, masked_windows_that_never_see_a_difference_score_one) {
    /* 40x20 images differing only in columns >= 30; the mask keeps columns < 20, whose 11-wide
     * windows reach column 24 at most. */
    facet_image a = filled(40, 20, 3, 0.4f), b = filled(40, 20, 3, 0.4f);
    facet_image mask = filled(40, 20, 1, 0.0f);
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 40; x++) {
            if (x >= 30) *at(&b, x, y, 1) = 0.9f;
            if (x < 20) *at(&mask, x, y, 0) = 1.0f;
        }
    double masked = 0.0, whole = 0.0;
    cr_assert_eq(facet_ssim(&a, &b, &mask, &masked), FACET_OK);
    cr_assert_eq(facet_ssim(&a, &b, NULL, &whole), FACET_OK);
    cr_assert_float_eq(masked, 1.0, 1e-12);
    cr_assert_lt(whole, 0.99, "the unmasked score sees the difference (got %g)", whole);
    release(&a);
    release(&b);
    release(&mask);
}

Test(metrics_ssim, needs_at_least_the_11x11_window) {
    facet_image a = filled(10, 30, 1, 0.5f);
    double ssim = 0.0;
    assert_error(facet_ssim(&a, &a, NULL, &ssim), "needs at least 11x11");
    release(&a);
}

Test(metrics_ssim, mask_only_on_the_cropped_border_is_an_error) {
    /* The map is averaged over pixels at least 5 from the border; a mask on column 2 selects
     * none of them. */
    facet_image a = filled(20, 20, 1, 0.5f), mask = filled(20, 20, 1, 0.0f);
    for (int y = 0; y < 20; y++) *at(&mask, 2, y, 0) = 1.0f;
    double ssim = 0.0;
    assert_error(facet_ssim(&a, &a, &mask, &ssim), "at least 5 pixels from the border");
    release(&a);
    release(&mask);
}

/* ---- input checks (shared by all three functions) ------------------------------------------- */

Test(metrics_errors, size_mismatch) {
    facet_image a = filled(12, 12, 3, 0.5f), b = filled(12, 13, 3, 0.5f);
    double value = 0.0;
    assert_error(facet_psnr(&a, &b, NULL, &value), "PSNR: image sizes differ (12x12 vs 12x13)");
    assert_error(facet_ssim(&a, &b, NULL, &value), "SSIM: image sizes differ");
    release(&a);
    release(&b);
}

Test(metrics_errors, channel_mismatch) {
    facet_image a = filled(12, 12, 3, 0.5f), b = filled(12, 12, 1, 0.5f);
    double value = 0.0;
    assert_error(facet_psnr(&a, &b, NULL, &value), "channel counts differ (3 vs 1)");
    assert_error(facet_align_median_ratio(&a, &b, NULL, NULL), "channel counts differ");
    release(&a);
    release(&b);
}

Test(metrics_errors, mask_size_mismatch) {
    facet_image a = filled(12, 12, 3, 0.5f), mask = filled(12, 11, 1, 1.0f);
    double value = 0.0;
    assert_error(facet_ssim(&a, &a, &mask, &value), "mask is 12x11, images are 12x12");
    release(&a);
    release(&mask);
}

Test(metrics_errors, mask_must_have_one_channel) {
    facet_image a = filled(12, 12, 3, 0.5f), mask = filled(12, 12, 3, 1.0f);
    double value = 0.0;
    assert_error(facet_psnr(&a, &a, &mask, &value), "mask has 3 channels, expected 1");
    release(&a);
    release(&mask);
}

Test(metrics_errors, empty_mask) {
    facet_image a = filled(12, 12, 3, 0.5f), b = filled(12, 12, 3, 0.5f);
    facet_image mask = filled(12, 12, 1, 0.5f); /* 0.5 is not inside */
    double value = 0.0;
    assert_error(facet_psnr(&a, &b, &mask, &value), "PSNR: the mask selects no pixels");
    assert_error(facet_ssim(&a, &b, &mask, &value), "SSIM: the mask selects no pixels");
    assert_error(facet_align_median_ratio(&a, &b, &mask, NULL), "the mask selects no pixels");
    release(&a);
    release(&b);
    release(&mask);
}

/* ---- median-ratio alignment ------------------------------------------------------------------ */

/* A 1-row, 1-channel image holding `values`. */
static facet_image row(const float *values, int count) {
    facet_image img = filled(count, 1, 1, 0.0f);
    memcpy(img.data, values, (size_t)count * sizeof *values);
    return img;
}

Test(metrics_align, odd_count_takes_the_middle_ratio) {
    /* Ratios gt/pred: 2, 0.5, 1 -> sorted 0.5, 1, 2 -> median 1. */
    const float pred_values[] = {0.1f, 0.4f, 0.3f}, gt_values[] = {0.2f, 0.2f, 0.3f};
    facet_image pred = row(pred_values, 3), gt = row(gt_values, 3);
    double scale = 0.0;
    cr_assert_eq(facet_align_median_ratio(&pred, &gt, NULL, &scale), FACET_OK);
    cr_assert_eq(scale, 1.0);
    release(&pred);
    release(&gt);
}

Test(metrics_align, even_count_takes_the_lower_middle_ratio_as_torch_median) {
    /* Ratios 1, 2, 3, 4: torch.median gives 2 (numpy's np.median would give 2.5). */
    const float pred_values[] = {0.1f, 0.1f, 0.1f, 0.1f}, gt_values[] = {0.4f, 0.1f, 0.3f, 0.2f};
    facet_image pred = row(pred_values, 4), gt = row(gt_values, 4);
    double scale = 0.0;
    cr_assert_eq(facet_align_median_ratio(&pred, &gt, NULL, &scale), FACET_OK);
    cr_assert_eq(scale, 0.2f / 0.1f);
    cr_assert_eq(pred.data[0], scale * 0.1f);
    release(&pred);
    release(&gt);
}

Test(metrics_align, zero_predictions_count_with_the_1e_6_clamp) {
    /* pred 0 counts as 1e-6 (torch clamp(min=1e-6)): ratios 0.5e6, 0.6e6, 3 -> median 0.5e6.
     * Scaled pixels are clamped to [0,1]. */
    const float pred_values[] = {0.0f, 0.0f, 0.1f}, gt_values[] = {0.5f, 0.6f, 0.3f};
    facet_image pred = row(pred_values, 3), gt = row(gt_values, 3);
    double scale = 0.0;
    cr_assert_eq(facet_align_median_ratio(&pred, &gt, NULL, &scale), FACET_OK);
    cr_assert_eq(scale, 0.5f / 1e-6f);
    cr_assert_eq(pred.data[0], 0.0f);
    cr_assert_eq(pred.data[2], 1.0f, "0.1 * 5e5 is clamped to 1");
    release(&pred);
    release(&gt);
}

Test(metrics_align, scales_each_channel_and_only_mask_pixels) {
    /* Two channels, mask on the first three pixels: channel 0 ratio 2, channel 1 ratio 0.5.
     * The fourth pixel (outside the mask) keeps its value. */
    facet_image pred = filled(4, 1, 2, 0.4f), gt = filled(4, 1, 2, 0.0f);
    facet_image mask = filled(4, 1, 1, 1.0f);
    *at(&mask, 3, 0, 0) = 0.0f;
    for (int x = 0; x < 4; x++) {
        *at(&gt, x, 0, 0) = 0.8f;
        *at(&gt, x, 0, 1) = 0.2f;
    }
    double scales[2] = {0.0, 0.0};
    cr_assert_eq(facet_align_median_ratio(&pred, &gt, &mask, scales), FACET_OK);
    cr_assert_eq(scales[0], 0.8f / 0.4f);
    cr_assert_eq(scales[1], 0.2f / 0.4f);
    cr_assert_eq(*at(&pred, 0, 0, 0), (float)scales[0] * 0.4f);
    cr_assert_eq(*at(&pred, 2, 0, 1), (float)scales[1] * 0.4f);
    cr_assert_eq(*at(&pred, 3, 0, 0), 0.4f);
    cr_assert_eq(*at(&pred, 3, 0, 1), 0.4f);
    release(&pred);
    release(&gt);
    release(&mask);
}

Test(metrics_align, failure_leaves_the_prediction_unchanged) {
    facet_image pred = filled(5, 5, 3, 0.3f), gt = filled(5, 4, 3, 0.6f);
    cr_assert_neq(facet_align_median_ratio(&pred, &gt, NULL, NULL), FACET_OK);
    for (int i = 0; i < 5 * 5 * 3; i++) cr_assert_eq(pred.data[i], 0.3f);
    release(&pred);
    release(&gt);
}

/* ---- fixtures: agreement with scikit-image and RISE-SDF's torch code ------------------------- */

static const char *fixture(const char *name) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/metrics/%s", FACET_SOURCE_DIR, name);
    return path;
}

static facet_image read_fixture(const char *name, int channels) {
    facet_image img = {0};
    cr_assert_eq(facet_image_read(&img, fixture(name), channels), FACET_OK, "%s",
                 facet_last_error());
    return img;
}

static facet_doc expected_doc(void) {
    facet_doc doc = {0};
    cr_assert_eq(facet_json_load(&doc, fixture("expected.json")), FACET_OK, "%s",
                 facet_last_error());
    return doc;
}

static double number(const cJSON *object, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    cr_assert(cJSON_IsNumber(item), "expected.json lacks number '%s'", key);
    return item->valuedouble;
}

static void assert_close(double got, double expected, const char *what, const char *pair) {
    cr_assert(fabs(got - expected) <= TOLERANCE, "%s of %s: %.12f, reference %.12f", what, pair,
              got, expected);
}

/* Every pair: whole-image and masked PSNR/SSIM, the masked and whole-image alignment scales,
 * and the scores after RISE-SDF's alignment (whole image, and masked). */
Test(metrics_fixtures, pairs_match_scikit_image_and_torch_alignment) {
    facet_doc doc = expected_doc();
    facet_image mask = read_fixture("mask.png", 1);
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(doc.root, "pairs");
    int checked = 0;
    const cJSON *pair;
    cJSON_ArrayForEach(pair, pairs) {
        const char *name = pair->string;
        facet_image pred = read_fixture(cJSON_GetObjectItem(pair, "pred")->valuestring, 0);
        facet_image gt = read_fixture(cJSON_GetObjectItem(pair, "gt")->valuestring, 0);
        double value = 0.0;
        cr_assert_eq(facet_psnr(&pred, &gt, NULL, &value), FACET_OK);
        assert_close(value, number(pair, "psnr"), "psnr", name);
        cr_assert_eq(facet_ssim(&pred, &gt, NULL, &value), FACET_OK);
        assert_close(value, number(pair, "ssim"), "ssim", name);
        cr_assert_eq(facet_psnr(&pred, &gt, &mask, &value), FACET_OK);
        assert_close(value, number(pair, "psnr_masked"), "masked psnr", name);
        cr_assert_eq(facet_ssim(&pred, &gt, &mask, &value), FACET_OK);
        assert_close(value, number(pair, "ssim_masked"), "masked ssim", name);

        facet_image copy = read_fixture(cJSON_GetObjectItem(pair, "pred")->valuestring, 0);
        double scales[4];
        cr_assert_eq(facet_align_median_ratio(&copy, &gt, NULL, scales), FACET_OK);
        const cJSON *all = cJSON_GetObjectItem(cJSON_GetObjectItem(pair, "align_all"), "scales");
        for (int c = 0; c < pred.channels; c++)
            assert_close(scales[c], cJSON_GetArrayItem(all, c)->valuedouble, "scale", name);
        release(&copy);

        const cJSON *aligned = cJSON_GetObjectItem(pair, "align_masked");
        cr_assert_eq(facet_align_median_ratio(&pred, &gt, &mask, scales), FACET_OK);
        const cJSON *masked_scales = cJSON_GetObjectItem(aligned, "scales");
        for (int c = 0; c < pred.channels; c++)
            assert_close(scales[c], cJSON_GetArrayItem(masked_scales, c)->valuedouble,
                         "masked scale", name);
        cr_assert_eq(facet_psnr(&pred, &gt, NULL, &value), FACET_OK);
        assert_close(value, number(aligned, "psnr"), "aligned psnr", name);
        cr_assert_eq(facet_ssim(&pred, &gt, NULL, &value), FACET_OK);
        assert_close(value, number(aligned, "ssim"), "aligned ssim", name);
        cr_assert_eq(facet_psnr(&pred, &gt, &mask, &value), FACET_OK);
        assert_close(value, number(aligned, "psnr_masked"), "aligned masked psnr", name);
        cr_assert_eq(facet_ssim(&pred, &gt, &mask, &value), FACET_OK);
        assert_close(value, number(aligned, "ssim_masked"), "aligned masked ssim", name);
        release(&pred);
        release(&gt);
        checked++;
    }
    cr_assert_eq(checked, 5, "expected.json lists 5 pairs");
    release(&mask);
    facet_doc_free(&doc);
}

/* ---- the CLI --------------------------------------------------------------------------------- */

/* Runs `facet metrics ARGS` with stdout to out.json and stderr to err.txt in a scratch dir;
 * returns the exit status. */
static int run_metrics(const char *scratch, const char *args) {
    char command[4096];
    snprintf(command, sizeof command, "'%s' metrics %s > '%s/out.json' 2> '%s/err.txt'",
             FACET_EXECUTABLE, args, scratch, scratch);
    return test_run(command);
}

static facet_doc cli_output(const char *scratch) {
    char path[1100];
    snprintf(path, sizeof path, "%s/out.json", scratch);
    facet_doc doc = {0};
    cr_assert_eq(facet_json_load(&doc, path), FACET_OK, "%s", facet_last_error());
    return doc;
}

static int stderr_contains(const char *scratch, const char *text) {
    char path[1100], buffer[4096] = {0};
    snprintf(path, sizeof path, "%s/err.txt", scratch);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buffer, 1, sizeof buffer - 1, f);
    buffer[n] = '\0';
    fclose(f);
    return strstr(buffer, text) != NULL;
}

/* Appends "'path'" to the command line in buffer. */
static void append_quoted(char *buffer, size_t size, const char *path) {
    const size_t used = strlen(buffer);
    snprintf(buffer + used, size - used, "'%s'", path);
}

/* "'<fixtures>/a' '<fixtures>/b'" */
static const char *quoted_pair(const char *a, const char *b) {
    static char args[3000];
    args[0] = '\0';
    append_quoted(args, sizeof args, fixture(a));
    strncat(args, " ", sizeof args - strlen(args) - 1);
    append_quoted(args, sizeof args, fixture(b));
    return args;
}

Test(metrics_cli, prints_psnr_ssim_and_the_protocol) {
    const char *scratch = test_scratch_dir("metrics_cli_basic");
    cr_assert_eq(run_metrics(scratch, quoted_pair("rgb_noise.png", "rgb_ref.png")), 0);
    facet_doc doc = cli_output(scratch);
    facet_doc expected = expected_doc();
    const cJSON *pair =
        cJSON_GetObjectItem(cJSON_GetObjectItem(expected.root, "pairs"), "rgb_noise");
    assert_close(number(doc.root, "psnr"), number(pair, "psnr"), "cli psnr", "rgb_noise");
    assert_close(number(doc.root, "ssim"), number(pair, "ssim"), "cli ssim", "rgb_noise");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(doc.root, "identical")));
    const cJSON *protocol = cJSON_GetObjectItem(doc.root, "protocol");
    cr_assert_str_eq(cJSON_GetObjectItem(protocol, "ssim")->valuestring,
                     "gaussian 11x11 sigma 1.5");
    cr_assert_str_eq(cJSON_GetObjectItem(protocol, "align")->valuestring, "none");
    facet_doc_free(&expected);
    facet_doc_free(&doc);
}

Test(metrics_cli, identical_images_print_null_psnr_and_identical_true) {
    /* JSON has no infinity: PSNR +inf is printed as null with "identical": true. */
    const char *scratch = test_scratch_dir("metrics_cli_identical");
    cr_assert_eq(run_metrics(scratch, quoted_pair("rgb_ref.png", "rgb_ref.png")), 0);
    facet_doc doc = cli_output(scratch);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(doc.root, "psnr")));
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(doc.root, "identical")));
    cr_assert_float_eq(number(doc.root, "ssim"), 1.0, 1e-12);
    facet_doc_free(&doc);
}

Test(metrics_cli, rgba_alpha_is_ignored) {
    /* rgba_noise.png holds rgb_noise.png's colour and a random alpha. */
    const char *scratch = test_scratch_dir("metrics_cli_rgba");
    cr_assert_eq(run_metrics(scratch, quoted_pair("rgba_noise.png", "rgb_ref.png")), 0);
    facet_doc doc = cli_output(scratch);
    facet_doc expected = expected_doc();
    const cJSON *pair =
        cJSON_GetObjectItem(cJSON_GetObjectItem(expected.root, "pairs"), "rgb_noise");
    assert_close(number(doc.root, "psnr"), number(pair, "psnr"), "cli psnr", "rgba_noise");
    assert_close(number(doc.root, "ssim"), number(pair, "ssim"), "cli ssim", "rgba_noise");
    cr_assert_eq(number(doc.root, "channels"), 3);
    facet_doc_free(&expected);
    facet_doc_free(&doc);
}

Test(metrics_cli, mask_and_median_ratio_alignment) {
    /* --mask scores the mask pixels and aligns over them. */
    const char *scratch = test_scratch_dir("metrics_cli_align");
    char args[4000];
    snprintf(args, sizeof args, "%s --mask ", quoted_pair("rgb_dark.png", "rgb_ref.png"));
    append_quoted(args, sizeof args, fixture("mask.png"));
    strncat(args, " --align median-ratio", sizeof args - strlen(args) - 1);
    cr_assert_eq(run_metrics(scratch, args), 0);
    facet_doc doc = cli_output(scratch);
    facet_doc expected = expected_doc();
    const cJSON *aligned = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(expected.root, "pairs"), "rgb_dark"),
        "align_masked");
    assert_close(number(doc.root, "psnr"), number(aligned, "psnr_masked"), "cli psnr", "rgb_dark");
    assert_close(number(doc.root, "ssim"), number(aligned, "ssim_masked"), "cli ssim", "rgb_dark");
    const cJSON *scales = cJSON_GetObjectItem(doc.root, "scales");
    for (int c = 0; c < 3; c++)
        assert_close(cJSON_GetArrayItem(scales, c)->valuedouble,
                     cJSON_GetArrayItem(cJSON_GetObjectItem(aligned, "scales"), c)->valuedouble,
                     "cli scale", "rgb_dark");
    const cJSON *protocol = cJSON_GetObjectItem(doc.root, "protocol");
    cr_assert_str_eq(cJSON_GetObjectItem(protocol, "align")->valuestring, "median-ratio");
    facet_doc_free(&expected);
    facet_doc_free(&doc);
}

Test(metrics_cli, align_mask_scores_the_whole_image_as_rise_sdf) {
    const char *scratch = test_scratch_dir("metrics_cli_align_mask");
    char args[4000];
    snprintf(args, sizeof args, "%s --align median-ratio --align-mask ",
             quoted_pair("rgb_dark.png", "rgb_ref.png"));
    append_quoted(args, sizeof args, fixture("mask.png"));
    cr_assert_eq(run_metrics(scratch, args), 0);
    facet_doc doc = cli_output(scratch);
    facet_doc expected = expected_doc();
    const cJSON *aligned = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(expected.root, "pairs"), "rgb_dark"),
        "align_masked");
    assert_close(number(doc.root, "psnr"), number(aligned, "psnr"), "cli psnr", "rgb_dark");
    assert_close(number(doc.root, "ssim"), number(aligned, "ssim"), "cli ssim", "rgb_dark");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(doc.root, "protocol"), "mask")));
    facet_doc_free(&expected);
    facet_doc_free(&doc);
}

Test(metrics_cli, help_explains_the_protocol) {
    const char *scratch = test_scratch_dir("metrics_cli_help");
    cr_assert_eq(run_metrics(scratch, "--help"), 0);
    char path[1100], text[8192] = {0};
    snprintf(path, sizeof path, "%s/out.json", scratch);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    cr_assert(strstr(text, "Gaussian window 11x11 sigma 1.5"));
    cr_assert(strstr(text, "median-ratio"));
    cr_assert(strstr(text, "\"psnr\": null"));
}

Test(metrics_cli, usage_errors_exit_2) {
    const char *scratch = test_scratch_dir("metrics_cli_usage");
    cr_assert_eq(run_metrics(scratch, "only_one.png"), 2);
    cr_assert(stderr_contains(scratch, "two images expected"));
    cr_assert_eq(run_metrics(scratch, "a.png b.png --align mean"), 2);
    cr_assert(stderr_contains(scratch, "unknown --align 'mean'"));
    cr_assert_eq(run_metrics(scratch, "a.png b.png --mask"), 2);
    cr_assert(stderr_contains(scratch, "--mask needs a value"));
    cr_assert_eq(run_metrics(scratch, "a.png b.png --align-mask m.png"), 2);
    cr_assert(stderr_contains(scratch, "--align-mask needs --align median-ratio"));
    cr_assert_eq(run_metrics(scratch, "a.png b.png --fast"), 2);
    cr_assert(stderr_contains(scratch, "unknown option '--fast'"));
}

Test(metrics_cli, missing_file_exits_1_naming_it) {
    const char *scratch = test_scratch_dir("metrics_cli_missing");
    char args[3000];
    snprintf(args, sizeof args, "'%s/absent.png' '%s'", scratch, fixture("rgb_ref.png"));
    cr_assert_eq(run_metrics(scratch, args), 1);
    cr_assert(stderr_contains(scratch, "facet: error: "));
    cr_assert(stderr_contains(scratch, "absent.png"));
}

Test(metrics_cli, channel_mismatch_exits_1) {
    const char *scratch = test_scratch_dir("metrics_cli_channels");
    cr_assert_eq(run_metrics(scratch, quoted_pair("gray_ref.png", "rgb_ref.png")), 1);
    cr_assert(stderr_contains(scratch, "channel counts differ (1 vs 3)"));
}
