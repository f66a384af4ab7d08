/* Image I/O (core/image.h) and the sRGB transfer functions (core/color.h). */
#include "core/alloc.h"
#include "core/color.h"
#include "core/exr_openexr.h"
#include "core/fileio.h"
#include "core/half.h"
#include "core/image.h"
#include "core/json.h"
#include "helpers.h"

#include <criterion/criterion.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stb_image_write.h>
#include <tinyexr.h>

/* ---- helpers ---- */

static const char *path_in(const char *dir, const char *name) {
    static char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void read_bytes(const char *path, char **data, size_t *size) {
    cr_assert_eq(facet_read_file(path, data, size), FACET_OK, "%s", facet_last_error());
}

/* An RGBA image whose 1024 values run through k/255 for every k in 0..255, four times. */
static facet_image make_8bit_ramp(void) {
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 16, 16, 4), FACET_OK);
    for (int i = 0; i < 16 * 16 * 4; i++) img.data[i] = (float)(i % 256) / 255.0f;
    return img;
}

/* Writes a valid 16x16 RGBA PNG into dir/name and returns its bytes. */
static void write_valid_png(const char *dir, const char *name, char **data, size_t *size) {
    facet_image img = make_8bit_ramp();
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(facet_image_write_png(&img, path), FACET_OK, "%s", facet_last_error());
    facet_image_free(&img);
    read_bytes(path, data, size);
}

static void assert_read_fails_naming(const char *path, const char *reason) {
    facet_image img;
    cr_assert_neq(facet_image_read(&img, path, 0), FACET_OK, "reading '%s' should fail", path);
    const char *message = facet_last_error();
    cr_assert(strstr(message, path), "error should name the file: %s", message);
    cr_assert(strstr(message, reason), "error should say '%s': %s", reason, message);
    cr_assert_null(img.data, "a failed read leaves the image empty");
}

/* ---- sRGB transfer functions ---- */

Test(color, srgb_to_linear_is_linear_up_to_the_0_04045_boundary) {
    /* IEC 61966-2-1: s / 12.92 for s <= 0.04045, ((s + 0.055) / 1.055)^2.4 above. */
    cr_assert_eq(facet_srgb_to_linear(0.04045f), 0.04045f / 12.92f);
    cr_assert_eq(facet_srgb_to_linear(0.02f), 0.02f / 12.92f);
    /* the two pieces meet: just above the boundary the power curve gives the same value */
    float above = facet_srgb_to_linear(nextafterf(0.04045f, 1.0f));
    cr_assert_float_eq(above, 0.04045f / 12.92f, 1e-7f);
}

Test(color, srgb_to_linear_of_half_is_0_21404114) {
    /* ((0.5 + 0.055) / 1.055)^2.4 = 0.214041140... */
    cr_assert_float_eq(facet_srgb_to_linear(0.5f), 0.21404114f, 1e-7f);
}

Test(color, endpoints_map_to_themselves) {
    cr_assert_eq(facet_srgb_to_linear(0.0f), 0.0f);
    cr_assert_float_eq(facet_srgb_to_linear(1.0f), 1.0f, 1e-7f);
    cr_assert_eq(facet_linear_to_srgb(0.0f), 0.0f);
    cr_assert_float_eq(facet_linear_to_srgb(1.0f), 1.0f, 1e-7f);
}

Test(color, linear_to_srgb_is_linear_up_to_0_0031308) {
    /* 12.92 * 0.0031308 = 0.04045 (the same boundary seen from the linear side) */
    cr_assert_eq(facet_linear_to_srgb(0.0031308f), 12.92f * 0.0031308f);
    cr_assert_float_eq(facet_linear_to_srgb(0.0031308f), 0.04045f, 1e-6f);
    cr_assert_float_eq(facet_linear_to_srgb(0.21404114f), 0.5f, 1e-6f);
}

Test(color, linear_to_srgb_clamps_to_unit_range) {
    cr_assert_eq(facet_linear_to_srgb(-0.5f), 0.0f);
    cr_assert_float_eq(facet_linear_to_srgb(7.0f), 1.0f, 1e-7f);
}

Test(color, srgb_linear_round_trip_within_1e_6) {
    for (int i = 0; i <= 10000; i++) {
        float s = (float)i / 10000.0f;
        float back = facet_linear_to_srgb(facet_srgb_to_linear(s));
        cr_assert(fabsf(back - s) <= 1e-6f, "s = %.6f came back as %.9f", s, back);
    }
}

/* ---- allocation ---- */

Test(image, alloc_gives_a_zeroed_image) {
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 3, 2, 4), FACET_OK);
    cr_assert_eq(img.width, 3);
    cr_assert_eq(img.height, 2);
    cr_assert_eq(img.channels, 4);
    for (int i = 0; i < 3 * 2 * 4; i++) cr_assert_eq(img.data[i], 0.0f);
    facet_image_free(&img);
    cr_assert_null(img.data);
}

Test(image, alloc_rejects_five_channels) {
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 3, 2, 5), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "5 channels"), "%s", facet_last_error());
}

/* ---- PNG ---- */

Test(image, png_8bit_round_trip_is_exact_for_every_k_over_255) {
    const char *dir = test_scratch_dir("image_png_round_trip");
    facet_image img = make_8bit_ramp();
    const char *path = path_in(dir, "ramp.png");
    cr_assert_eq(facet_image_write_png(&img, path), FACET_OK, "%s", facet_last_error());
    facet_image back;
    cr_assert_eq(facet_image_read(&back, path, 0), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(back.width, 16);
    cr_assert_eq(back.height, 16);
    cr_assert_eq(back.channels, 4);
    for (int i = 0; i < 16 * 16 * 4; i++)
        cr_assert_eq(back.data[i], img.data[i], "value %d: wrote %.9g read %.9g", i, img.data[i],
                     back.data[i]);
    facet_image_free(&img);
    facet_image_free(&back);
}

Test(image, png_write_clamps_and_rounds_to_nearest_level) {
    const char *dir = test_scratch_dir("image_png_clamp");
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 6, 1, 1), FACET_OK);
    /* -0.2 -> 0, 1.7 -> 255, 0.5*255 = 127.5 -> 128, 0.498*255 = 126.99 -> 127,
     * 0.502*255 = 128.01 -> 128, NaN -> 0 */
    const float in[6] = {-0.2f, 1.7f, 0.5f, 0.498f, 0.502f, NAN};
    const int levels[6] = {0, 255, 128, 127, 128, 0};
    memcpy(img.data, in, sizeof in);
    const char *path = path_in(dir, "clamp.png");
    cr_assert_eq(facet_image_write_png(&img, path), FACET_OK, "%s", facet_last_error());
    facet_image back;
    cr_assert_eq(facet_image_read(&back, path, 0), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(back.channels, 1);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(back.data[i], (float)levels[i] / 255.0f, "value %d", i);
    facet_image_free(&img);
    facet_image_free(&back);
}

Test(image, png_16bit_is_normalised_by_65535) {
    /* gradient16.png (tools/reference/make_image_fixtures.py): 4x3 RGB, sample i holds
     * (i * 1873) % 65536, the last pixel 65535 in every channel. */
    facet_image img;
    const char *path = test_source_path("tests/fixtures/images/gradient16.png");
    cr_assert_eq(facet_image_read(&img, path, 0), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(img.width, 4);
    cr_assert_eq(img.height, 3);
    cr_assert_eq(img.channels, 3);
    for (int i = 0; i < 4 * 3 * 3; i++) {
        int v = i >= 33 ? 65535 : (i * 1873) % 65536;
        cr_assert_eq(img.data[i], (float)v / 65535.0f, "sample %d: expected %d/65535, got %.9g", i,
                     v, img.data[i]);
    }
    cr_assert_eq(img.data[0], 0.0f);
    cr_assert_eq(img.data[35], 1.0f);
    facet_image_free(&img);
}

Test(image, gray_png_read_as_rgba_replicates_and_adds_opaque_alpha) {
    const char *dir = test_scratch_dir("image_gray_to_rgba");
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 2, 1, 1), FACET_OK);
    img.data[0] = 51.0f / 255.0f;
    img.data[1] = 1.0f;
    const char *path = path_in(dir, "gray.png");
    cr_assert_eq(facet_image_write_png(&img, path), FACET_OK, "%s", facet_last_error());
    facet_image rgba;
    cr_assert_eq(facet_image_read(&rgba, path, 4), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(rgba.channels, 4);
    const float expected[8] = {51.0f / 255.0f, 51.0f / 255.0f, 51.0f / 255.0f, 1.0f,
                               1.0f,           1.0f,           1.0f,           1.0f};
    for (int i = 0; i < 8; i++) cr_assert_eq(rgba.data[i], expected[i], "value %d", i);
    facet_image_free(&img);
    facet_image_free(&rgba);
}

Test(image, rgba_png_read_as_rgb_drops_alpha) {
    const char *dir = test_scratch_dir("image_rgba_to_rgb");
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 1, 1, 4), FACET_OK);
    const float pixel[4] = {10.0f / 255.0f, 20.0f / 255.0f, 30.0f / 255.0f, 40.0f / 255.0f};
    memcpy(img.data, pixel, sizeof pixel);
    const char *path = path_in(dir, "rgba.png");
    cr_assert_eq(facet_image_write_png(&img, path), FACET_OK, "%s", facet_last_error());
    facet_image rgb;
    cr_assert_eq(facet_image_read(&rgb, path, 3), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(rgb.channels, 3);
    for (int c = 0; c < 3; c++) cr_assert_eq(rgb.data[c], pixel[c]);
    facet_image_free(&img);
    facet_image_free(&rgb);
}

Test(image, rgb_png_read_as_gray_takes_rec709_luma) {
    const char *dir = test_scratch_dir("image_rgb_to_gray");
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 1, 1, 3), FACET_OK);
    img.data[0] = 1.0f; /* pure red: luma 0.2126 */
    const char *path = path_in(dir, "red.png");
    cr_assert_eq(facet_image_write_png(&img, path), FACET_OK, "%s", facet_last_error());
    facet_image gray;
    cr_assert_eq(facet_image_read(&gray, path, 1), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(gray.channels, 1);
    cr_assert_float_eq(gray.data[0], 0.2126f, 1e-7f);
    facet_image_free(&img);
    facet_image_free(&gray);
}

/* ---- JPEG and Radiance HDR (fixtures from tools/reference/make_image_fixtures.py) ---- */

Test(image, jpeg_read_gives_the_flat_colour) {
    /* flat.jpg: 16x16, every pixel (200, 100, 50), quality 100, no chroma subsampling; a JPEG
     * decoder may be off by a level or two. */
    facet_image img;
    const char *path = test_source_path("tests/fixtures/images/flat.jpg");
    cr_assert_eq(facet_image_read(&img, path, 0), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(img.width, 16);
    cr_assert_eq(img.height, 16);
    cr_assert_eq(img.channels, 3);
    const float colour[3] = {200.0f / 255.0f, 100.0f / 255.0f, 50.0f / 255.0f};
    for (int i = 0; i < 16 * 16 * 3; i++)
        cr_assert_float_eq(img.data[i], colour[i % 3], 2.0f / 255.0f, "value %d", i);
    facet_image_free(&img);
}

Test(image, hdr_read_gives_linear_radiance_above_one) {
    /* radiance.hdr: 4x2 RGBE, values exact in RGBE; row 1 is row 0 times 4. */
    const float row[12] = {1, 0.5f, 0.25f, 2, 2, 2, 0.125f, 0.25f, 0.5f, 3, 1.5f, 0.75f};
    facet_image img;
    const char *path = test_source_path("tests/fixtures/images/radiance.hdr");
    cr_assert_eq(facet_image_read(&img, path, 0), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(img.width, 4);
    cr_assert_eq(img.height, 2);
    cr_assert_eq(img.channels, 3);
    for (int i = 0; i < 12; i++) {
        cr_assert_eq(img.data[i], row[i], "row 0 value %d: %.9g", i, img.data[i]);
        cr_assert_eq(img.data[12 + i], 4.0f * row[i], "row 1 value %d: %.9g", i, img.data[12 + i]);
    }
    facet_image_free(&img);
}

/* ---- EXR ---- */

Test(image, exr_float_round_trip_is_bit_exact) {
    const char *dir = test_scratch_dir("image_exr_float");
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 7, 5, 4), FACET_OK);
    /* arbitrary floats, negative, tiny and large: f32 storage keeps every bit */
    for (int i = 0; i < 7 * 5 * 4; i++) img.data[i] = (float)(i - 40) * 0.0371f * powf(1.7f, i % 9);
    const char *path = path_in(dir, "float.exr");
    cr_assert_eq(facet_image_write_exr(&img, path, 0), FACET_OK, "%s", facet_last_error());
    facet_image back;
    cr_assert_eq(facet_image_read(&back, path, 0), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(back.width, 7);
    cr_assert_eq(back.height, 5);
    cr_assert_eq(back.channels, 4);
    for (int i = 0; i < 7 * 5 * 4; i++)
        cr_assert_eq(back.data[i], img.data[i], "value %d: wrote %.9g read %.9g", i, img.data[i],
                     back.data[i]);
    facet_image_free(&img);
    facet_image_free(&back);
}

Test(image, exr_half_round_trip_is_exact_for_f16_values) {
    const char *dir = test_scratch_dir("image_exr_half");
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 8, 4, 3), FACET_OK);
    /* multiples of 1/64 in [-2, 4) are exact in f16; plus the largest f16 (65504) and the
     * smallest subnormal (2^-24) */
    for (int i = 0; i < 8 * 4 * 3; i++) img.data[i] = (float)(i - 32) / 16.0f;
    img.data[0] = 65504.0f;
    img.data[1] = 5.9604644775390625e-8f;
    const char *path = path_in(dir, "half.exr");
    cr_assert_eq(facet_image_write_exr(&img, path, 1), FACET_OK, "%s", facet_last_error());
    facet_image back;
    cr_assert_eq(facet_image_read(&back, path, 0), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(back.channels, 3);
    for (int i = 0; i < 8 * 4 * 3; i++)
        cr_assert_eq(back.data[i], img.data[i], "value %d: wrote %.9g read %.9g", i, img.data[i],
                     back.data[i]);
    facet_image_free(&img);
    facet_image_free(&back);
}

Test(image, exr_half_rounds_other_values_to_the_nearest_f16) {
    const char *dir = test_scratch_dir("image_exr_half_rounding");
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 1, 1, 3), FACET_OK);
    const float in[3] = {0.1f, 3.14159265f, -1234.567f};
    memcpy(img.data, in, sizeof in);
    const char *path = path_in(dir, "rounding.exr");
    cr_assert_eq(facet_image_write_exr(&img, path, 1), FACET_OK, "%s", facet_last_error());
    facet_image back;
    cr_assert_eq(facet_image_read(&back, path, 0), FACET_OK, "%s", facet_last_error());
    for (int c = 0; c < 3; c++) {
        float nearest = facet_f16_to_f32(facet_f32_to_f16(in[c]));
        cr_assert_eq(back.data[c], nearest, "%.9g stored as %.9g, nearest f16 %.9g", in[c],
                     back.data[c], nearest);
    }
    facet_image_free(&img);
    facet_image_free(&back);
}

Test(image, exr_keeps_channel_order_despite_alphabetical_storage) {
    /* EXR stores A, B, G, R; a pixel (1, 2, 3, 4) must come back as (1, 2, 3, 4) */
    const char *dir = test_scratch_dir("image_exr_order");
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 1, 1, 4), FACET_OK);
    const float pixel[4] = {1, 2, 3, 4};
    memcpy(img.data, pixel, sizeof pixel);
    const char *path = path_in(dir, "order.exr");
    cr_assert_eq(facet_image_write(&img, path), FACET_OK, "%s", facet_last_error());
    facet_image back;
    cr_assert_eq(facet_image_read(&back, path, 0), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(back.channels, 4);
    for (int c = 0; c < 4; c++) cr_assert_eq(back.data[c], pixel[c], "channel %d", c);
    facet_image_free(&img);
    facet_image_free(&back);
}

Test(image, exr_luminance_reads_back_as_rgb) {
    /* a 1-channel image is stored as Y; EXR reads give R, G, B (+A), so Y is replicated */
    const char *dir = test_scratch_dir("image_exr_y");
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 2, 1, 1), FACET_OK);
    img.data[0] = 0.25f;
    img.data[1] = 8.0f;
    const char *path = path_in(dir, "y.exr");
    cr_assert_eq(facet_image_write_exr(&img, path, 0), FACET_OK, "%s", facet_last_error());
    facet_image back;
    cr_assert_eq(facet_image_read(&back, path, 0), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(back.channels, 3);
    const float expected[6] = {0.25f, 0.25f, 0.25f, 8, 8, 8};
    for (int i = 0; i < 6; i++) cr_assert_eq(back.data[i], expected[i], "value %d", i);
    facet_image_free(&img);
    facet_image_free(&back);
}

Test(image, exr_write_rejects_two_channels) {
    const char *dir = test_scratch_dir("image_exr_two_channels");
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 1, 1, 2), FACET_OK);
    const char *path = path_in(dir, "ga.exr");
    cr_assert_eq(facet_image_write_exr(&img, path, 1), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), path), "%s", facet_last_error());
    cr_assert(strstr(facet_last_error(), "1, 3 or 4 channels"), "%s", facet_last_error());
    cr_assert_not(facet_is_file(path));
    facet_image_free(&img);
}

Test(image, write_rejects_unknown_extension) {
    const char *dir = test_scratch_dir("image_write_extension");
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 1, 1, 3), FACET_OK);
    const char *path = path_in(dir, "out.tiff");
    cr_assert_eq(facet_image_write(&img, path), FACET_ERR_UNSUPPORTED);
    cr_assert(strstr(facet_last_error(), "'.tiff'"), "%s", facet_last_error());
    facet_image_free(&img);
}

/* ---- Blender's DWAB world HDRIs: tinyexr cannot decode them, OpenEXR's C++ reader can ---- */

/* Path of blender-data's forest.exr, or NULL when the package is not installed. */
static const char *find_blender_forest(void) {
    static char path[1024];
    static const char *const patterns[] = {
        "/usr/share/blender/datafiles/studiolights/world/forest.exr",
        "/usr/share/blender/*/datafiles/studiolights/world/forest.exr"};
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        glob_t found;
        if (glob(patterns[i], 0, NULL, &found) == 0 && found.gl_pathc > 0) {
            snprintf(path, sizeof path, "%s", found.gl_pathv[0]);
            globfree(&found);
            return path;
        }
        globfree(&found);
    }
    return NULL;
}

/* forest.exr and its reference decode (tools/reference/exr_reference.py), or skips. */
static const char *blender_forest_or_skip(facet_doc *reference) {
    const char *path = find_blender_forest();
    if (!path) {
        cr_skip_test("Blender's world HDRIs are absent: install the Debian package blender-data "
                     "(scripts/setup.sh does)");
    }
    const char *ref_path = test_source_path("tests/fixtures/images/blender_hdri_reference.json");
    cr_assert_eq(facet_json_load(reference, ref_path), FACET_OK, "%s", facet_last_error());
    double size = 0;
    cr_assert_eq(facet_json_get_number(reference, reference->root, "size", "size", &size),
                 FACET_OK);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    if ((double)st.st_size != size) {
        facet_doc_free(reference);
        cr_skip_test("%s has %lld bytes, the reference was made from a %.0f-byte version: rerun "
                     "tools/reference/exr_reference.py",
                     path, (long long)st.st_size, size);
    }
    return path;
}

Test(blender_hdri, tinyexr_alone_cannot_decode_dwab) {
    /* the precondition for the fallback: tinyexr rejects the compression in the header */
    facet_doc reference;
    const char *path = blender_forest_or_skip(&reference);
    EXRVersion version;
    cr_assert_eq(ParseEXRVersionFromFile(&version, path), TINYEXR_SUCCESS);
    EXRHeader header;
    InitEXRHeader(&header);
    const char *err = NULL;
    cr_assert_eq(ParseEXRHeaderFromFile(&header, &version, path, &err),
                 TINYEXR_ERROR_UNSUPPORTED_FORMAT);
    cr_assert(err && strstr(err, "compression"), "tinyexr said: %s", err ? err : "(nothing)");
    FreeEXRErrorMessage(err);
    FreeEXRHeader(&header);
    facet_doc_free(&reference);
}

Test(blender_hdri, read_falls_back_to_openexr_and_matches_an_independent_decode) {
    facet_doc reference;
    const char *path = blender_forest_or_skip(&reference);
    facet_image img, fallback;
    cr_assert_eq(facet_image_read(&img, path, 0), FACET_OK, "%s", facet_last_error());
    /* the result is the OpenEXR C++ reader's, value for value */
    cr_assert_eq(facet_exr_read_openexr(path, &fallback), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(img.width, fallback.width);
    cr_assert_eq(img.height, fallback.height);
    cr_assert_eq(img.channels, 3);
    cr_assert_eq(fallback.channels, 3);
    size_t count = (size_t)img.width * (size_t)img.height * 3;
    cr_assert_eq(memcmp(img.data, fallback.data, count * sizeof(float)), 0);

    /* and agrees with OpenEXR 3.5's Python bindings to 1e-6 relative */
    double width, height, mean_ref[3];
    const cJSON *root = reference.root;
    cr_assert_eq(facet_json_get_number(&reference, root, "width", "width", &width), FACET_OK);
    cr_assert_eq(facet_json_get_number(&reference, root, "height", "height", &height), FACET_OK);
    cr_assert_eq(facet_json_get_numbers(&reference, root, "mean", "mean", mean_ref, 3), FACET_OK);
    cr_assert_eq(img.width, (int)width);
    cr_assert_eq(img.height, (int)height);
    double mean[3] = {0, 0, 0};
    for (size_t i = 0; i < count; i++) mean[i % 3] += img.data[i];
    for (int c = 0; c < 3; c++) {
        mean[c] /= (double)(count / 3);
        cr_assert(fabs(mean[c] - mean_ref[c]) <= 1e-6 * fabs(mean_ref[c]),
                  "channel %d mean %.9g, reference %.9g", c, mean[c], mean_ref[c]);
    }
    const cJSON *pixels = cJSON_GetObjectItemCaseSensitive(root, "pixels");
    cr_assert(cJSON_IsArray(pixels) && cJSON_GetArraySize(pixels) > 0);
    const cJSON *pixel;
    cJSON_ArrayForEach(pixel, pixels) {
        double x, y, rgb[3];
        cr_assert_eq(facet_json_get_number(&reference, pixel, "x", "pixels[].x", &x), FACET_OK);
        cr_assert_eq(facet_json_get_number(&reference, pixel, "y", "pixels[].y", &y), FACET_OK);
        cr_assert_eq(facet_json_get_numbers(&reference, pixel, "rgb", "pixels[].rgb", rgb, 3),
                     FACET_OK);
        const float *got = img.data + ((size_t)y * (size_t)img.width + (size_t)x) * 3;
        for (int c = 0; c < 3; c++)
            cr_assert(fabs(got[c] - rgb[c]) <= 1e-6 * fabs(rgb[c]),
                      "pixel (%.0f, %.0f) channel %d: %.9g, reference %.9g", x, y, c, got[c],
                      rgb[c]);
    }
    facet_image_free(&img);
    facet_image_free(&fallback);
    facet_doc_free(&reference);
}

/* ---- bad inputs ---- */

Test(bad_input, nonexistent_file) {
    const char *dir = test_scratch_dir("image_bad_missing");
    char path[2048];
    snprintf(path, sizeof path, "%s/missing.png", dir);
    assert_read_fails_naming(path, "No such file");
}

Test(bad_input, empty_file) {
    const char *dir = test_scratch_dir("image_bad_empty");
    char path[2048];
    snprintf(path, sizeof path, "%s", test_write_file(dir, "empty.png", "", 0));
    assert_read_fails_naming(path, "empty file");
}

Test(bad_input, text_file_with_png_extension) {
    const char *dir = test_scratch_dir("image_bad_text");
    char path[2048];
    snprintf(path, sizeof path, "%s", test_write_file(dir, "notes.png", "just some text\n", 0));
    assert_read_fails_naming(path, "unknown image type");
}

Test(bad_input, truncated_png) {
    const char *dir = test_scratch_dir("image_bad_truncated_png");
    char *data;
    size_t size;
    write_valid_png(dir, "good.png", &data, &size);
    char path[2048];
    snprintf(path, sizeof path, "%s", test_write_file(dir, "cut.png", data, size / 2));
    free(data);
    assert_read_fails_naming(path, "truncated PNG");
}

Test(bad_input, png_cut_just_before_iend) {
    /* all pixel data present, only the 12-byte IEND chunk missing */
    const char *dir = test_scratch_dir("image_bad_no_iend");
    char *data;
    size_t size;
    write_valid_png(dir, "good.png", &data, &size);
    char path[2048];
    snprintf(path, sizeof path, "%s", test_write_file(dir, "no_iend.png", data, size - 12));
    free(data);
    assert_read_fails_naming(path, "truncated PNG");
}

Test(bad_input, png_with_flipped_idat_bytes) {
    const char *dir = test_scratch_dir("image_bad_corrupt_png");
    char *data;
    size_t size;
    write_valid_png(dir, "good.png", &data, &size);
    char *idat = NULL;
    for (size_t i = 8; i + 4 <= size && !idat; i++)
        if (memcmp(data + i, "IDAT", 4) == 0) idat = data + i;
    cr_assert_not_null(idat, "the PNG has an IDAT chunk");
    /* one bit of the compressed pixel data: stb_image alone would decode this file silently
     * to wrong pixels, only the chunk CRC reveals the damage */
    idat[4 + 6] ^= 0x01;
    char path[2048];
    snprintf(path, sizeof path, "%s", test_write_file(dir, "flipped.png", data, size));
    free(data);
    assert_read_fails_naming(path, "CRC mismatch in chunk 'IDAT'");
}

Test(bad_input, truncated_exr_gives_both_readers_reasons) {
    const char *dir = test_scratch_dir("image_bad_truncated_exr");
    facet_image img = make_8bit_ramp();
    const char *good = path_in(dir, "good.exr");
    cr_assert_eq(facet_image_write_exr(&img, good, 0), FACET_OK, "%s", facet_last_error());
    facet_image_free(&img);
    char *data;
    size_t size;
    read_bytes(good, &data, &size);
    char path[2048];
    snprintf(path, sizeof path, "%s", test_write_file(dir, "cut.exr", data, size * 2 / 3));
    free(data);
    assert_read_fails_naming(path, "tinyexr: ");
    assert_read_fails_naming(path, "OpenEXR cannot read");
}

Test(bad_input, exr_with_corrupt_pixel_data) {
    /* complete file, but bytes of the ZIP-compressed scanlines flipped: zlib rejects them */
    const char *dir = test_scratch_dir("image_bad_corrupt_exr");
    facet_image img = make_8bit_ramp();
    const char *good = path_in(dir, "good.exr");
    cr_assert_eq(facet_image_write_exr(&img, good, 0), FACET_OK, "%s", facet_last_error());
    facet_image_free(&img);
    char *data;
    size_t size;
    read_bytes(good, &data, &size);
    for (size_t i = size - 40; i < size - 30; i++) data[i] = (char)(data[i] ^ 0xa5);
    char path[2048];
    snprintf(path, sizeof path, "%s", test_write_file(dir, "flipped.exr", data, size));
    free(data);
    assert_read_fails_naming(path, "cannot read EXR");
}

Test(bad_input, exr_magic_alone) {
    const char *dir = test_scratch_dir("image_bad_exr_magic");
    const unsigned char magic[4] = {0x76, 0x2f, 0x31, 0x01};
    char path[2048];
    snprintf(path, sizeof path, "%s", test_write_file(dir, "magic.exr", magic, sizeof magic));
    assert_read_fails_naming(path, "cannot read EXR");
}

/* ---- failed writes ---- */

Test(bad_output, write_into_missing_directory_names_the_path) {
    const char *dir = test_scratch_dir("image_out_missing_dir");
    facet_image img;
    cr_assert_eq(facet_image_alloc(&img, 2, 2, 3), FACET_OK);
    char path[2048];
    snprintf(path, sizeof path, "%s/no/such/dir/out.png", dir);
    cr_assert_eq(facet_image_write_png(&img, path), FACET_ERR_IO);
    cr_assert(strstr(facet_last_error(), path), "%s", facet_last_error());
    cr_assert_eq(facet_image_write_exr(&img, path, 1), FACET_ERR_IO);
    cr_assert(strstr(facet_last_error(), path), "%s", facet_last_error());
    cr_assert_not(facet_is_file(path));
    facet_image_free(&img);
}

Test(bad_output, failed_rename_leaves_no_partial_file) {
    /* the final name is a directory: the temporary file is written, the rename fails, and
     * neither a partial file nor the temporary stays behind */
    const char *dir = test_scratch_dir("image_out_rename");
    char target[2048];
    snprintf(target, sizeof target, "%s/out.png", dir);
    cr_assert_eq(facet_make_dirs(target), FACET_OK);
    facet_image img = make_8bit_ramp();
    cr_assert_neq(facet_image_write_png(&img, target), FACET_OK);
    cr_assert(strstr(facet_last_error(), target), "%s", facet_last_error());
    cr_assert(facet_is_dir(target));
    char command[4200];
    snprintf(command, sizeof command, "test -z \"$(ls -A '%s' | grep -v '^out.png$')\"", dir);
    cr_assert_eq(test_run(command), 0, "only the directory out.png remains in %s", dir);
    facet_image_free(&img);
}

Test(bad_output, failed_write_keeps_the_previous_file) {
    const char *dir = test_scratch_dir("image_out_keep");
    facet_image img = make_8bit_ramp();
    const char *path = path_in(dir, "keep.exr");
    cr_assert_eq(facet_image_write_exr(&img, path, 1), FACET_OK, "%s", facet_last_error());
    facet_image_free(&img);
    char *before;
    size_t before_size;
    read_bytes(path, &before, &before_size);
    facet_image two;
    cr_assert_eq(facet_image_alloc(&two, 4, 4, 2), FACET_OK);
    cr_assert_neq(facet_image_write_exr(&two, path, 1), FACET_OK);
    char *after;
    size_t after_size;
    read_bytes(path, &after, &after_size);
    cr_assert_eq(after_size, before_size);
    cr_assert_eq(memcmp(before, after, before_size), 0);
    free(before);
    free(after);
    facet_image_free(&two);
}

/* ---- size caps: checked from the header, before any decoding ---- */

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static void put_le32(unsigned char *p, int32_t value) {
    const uint32_t v = (uint32_t)value;
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
}

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

/* Writes `data` (a real file with its header's size patched) and expects "too large" with the
 * caps, and no decoding attempt's message. */
static void expect_too_large(const char *dir, const char *name, const void *data, size_t size,
                             const char *declared) {
    const char *path = test_write_file(dir, name, data, size);
    facet_image img;
    cr_assert_eq(facet_image_read(&img, path, 0), FACET_ERR_UNSUPPORTED, "%s decoded", name);
    const char *e = facet_last_error();
    cr_assert(strstr(e, path) && strstr(e, declared) && strstr(e, "is too large") &&
                  strstr(e, "32768 pixels a side") && strstr(e, "268435456 pixels"),
              "%s: %s", name, e);
    cr_assert_null(img.data);
}

Test(image, every_format_declaring_more_than_the_caps_is_too_large) {
    const char *dir = test_scratch_dir("image_caps");
    char *data;
    size_t size;

    /* PNG: IHDR width/height and its CRC (the rest of the file is the real one) */
    write_valid_png(dir, "real.png", &data, &size);
    unsigned char *png = (unsigned char *)data;
    put_be32(png + 16, 40000), put_be32(png + 20, 40000);
    put_be32(png + 29, crc32_of(png + 12, 17));
    expect_too_large(dir, "big.png", png, size, "40000x40000");
    /* each side within 32768, the pixel count not */
    put_be32(png + 16, 20000), put_be32(png + 20, 20000);
    put_be32(png + 29, crc32_of(png + 12, 17));
    expect_too_large(dir, "wide.png", png, size, "20000x20000");
    free(data);

    /* JPEG (libjpeg-made fixture): the SOF0 frame header */
    read_bytes(test_source_path("tests/fixtures/images/flat.jpg"), &data, &size);
    unsigned char *jpg = (unsigned char *)data;
    size_t sof = 2;
    while (!(jpg[sof] == 0xFF && jpg[sof + 1] >= 0xC0 && jpg[sof + 1] <= 0xC2))
        sof += 2 + ((size_t)jpg[sof + 2] << 8 | jpg[sof + 3]);
    jpg[sof + 5] = jpg[sof + 6] = jpg[sof + 7] = jpg[sof + 8] = 0xFF;
    expect_too_large(dir, "big.jpg", jpg, size, "65535x65535");
    free(data);

    /* Radiance HDR: the resolution line */
    read_bytes(test_source_path("tests/fixtures/images/radiance.hdr"), &data, &size);
    char *line = strstr(data, "\n-Y ");
    cr_assert(line);
    char *end = strchr(line + 1, '\n');
    char *hdr = facet_format("%.*s\n-Y 40000 +X 50000%s", (int)(line - data), data, end);
    const size_t hdr_size = size - (size_t)(end - data) + (size_t)(line - data) + 18;
    expect_too_large(dir, "big.hdr", hdr, hdr_size, "50000x40000");
    free(hdr);
    free(data);

    /* BMP and TGA from stb_image_write: the header's width and height fields */
    facet_image ramp = make_8bit_ramp();
    unsigned char rgba[16 * 16 * 4];
    for (int i = 0; i < 16 * 16 * 4; i++) rgba[i] = (unsigned char)(ramp.data[i] * 255.0f);
    facet_image_free(&ramp);
    cr_assert(stbi_write_bmp(path_in(dir, "real.bmp"), 16, 16, 4, rgba));
    read_bytes(path_in(dir, "real.bmp"), &data, &size);
    put_le32((unsigned char *)data + 18, 40000), put_le32((unsigned char *)data + 22, 40000);
    expect_too_large(dir, "big.bmp", data, size, "40000x40000");
    free(data);
    cr_assert(stbi_write_tga(path_in(dir, "real.tga"), 16, 16, 4, rgba));
    read_bytes(path_in(dir, "real.tga"), &data, &size);
    unsigned char *tga = (unsigned char *)data;
    tga[12] = tga[14] = 0x40, tga[13] = tga[15] = 0x9C; /* 0x9C40 = 40000 */
    expect_too_large(dir, "big.tga", tga, size, "40000x40000");
    free(data);

    /* EXR rendered by Blender: dataWindow; neither tinyexr nor OpenEXR get to decode it */
    read_bytes(test_source_path("tests/fixtures/envmap_blender/view_0.exr"), &data, &size);
    unsigned char *exr = (unsigned char *)data;
    unsigned char *window = NULL;
    for (size_t i = 0; i + 32 < size && !window; i++)
        if (!memcmp(exr + i, "dataWindow\0box2i", 17)) window = exr + i + 17 + 4;
    cr_assert(window);
    put_le32(window, 0), put_le32(window + 4, 0);
    put_le32(window + 8, 39999), put_le32(window + 12, 39999);
    expect_too_large(dir, "big.exr", exr, size, "40000x40000");
    free(data);
}

Test(image, header_size_reads_what_the_decoders_find) {
    const char *files[] = {"tests/fixtures/images/flat.jpg", "tests/fixtures/images/gradient16.png",
                           "tests/fixtures/images/radiance.hdr",
                           "tests/fixtures/envmap_blender/view_0.exr"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char *data;
        size_t size;
        read_bytes(test_source_path(files[k]), &data, &size);
        int64_t w, h;
        cr_assert(facet_image_header_size((unsigned char *)data, size, &w, &h), "%s", files[k]);
        facet_image img;
        cr_assert_eq(facet_image_read(&img, test_source_path(files[k]), 0), FACET_OK, "%s",
                     facet_last_error());
        cr_assert(w == img.width && h == img.height, "%s: header %lldx%lld, decoded %dx%d",
                  files[k], (long long)w, (long long)h, img.width, img.height);
        facet_image_free(&img);
        free(data);
    }
}

/* tinyexr asserts (aborts the process) on a scanline file whose "type" attribute names another
 * kind of image (a fuzzing finding, docs/fuzzing.md): facet screens the header and lets OpenEXR
 * report such files. Each case must come back as a status, whatever it is. */
Test(image, an_exr_type_attribute_tinyexr_would_abort_on_comes_back_as_an_error) {
    const char *dir = test_scratch_dir("image_exr_type");
    char *data;
    size_t size;
    read_bytes(test_source_path("tests/fixtures/envmap_blender/view_0.exr"), &data, &size);
    const struct {
        const char *value;
        size_t length; /* bytes of the attribute value */
    } types[] = {{"tiledimage", 11}, {"deeptile", 9}, {"bogus", 6}, {"scanlineimage", 13}};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        /* magic + version, then "type\0string\0" <int32 length> <value>, then the real header */
        unsigned char attribute[64];
        size_t n = 0;
        memcpy(attribute, "type\0string\0", 12), n = 12;
        put_le32(attribute + n, (int32_t)types[k].length), n += 4;
        memcpy(attribute + n, types[k].value, types[k].length), n += types[k].length;
        unsigned char *file = malloc(size + n);
        cr_assert_not_null(file);
        memcpy(file, data, 8);
        memcpy(file + 8, attribute, n);
        memcpy(file + 8 + n, data + 8, size - 8);
        char name[32];
        snprintf(name, sizeof name, "type%zu.exr", k);
        const char *path = test_write_file(dir, name, file, size + n);
        facet_image img;
        const facet_status s = facet_image_read(&img, path, 0);
        if (s != FACET_OK) cr_assert(strstr(facet_last_error(), path), "%s", facet_last_error());
        facet_image_free(&img);
        free(file);
    }
    free(data);
}

/* The fuzzing reproducers of the image readers (tests/fuzz/regressions, docs/fuzzing.md R1-R6):
 * each is refused with a message naming the file, none aborts, none decodes. */
Test(image, fuzzing_reproducers_are_refused_by_name) {
    const char *dirs[] = {"tests/fuzz/regressions/exr", "tests/fuzz/regressions/image"};
    int files = 0;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        char pattern[2048];
        snprintf(pattern, sizeof pattern, "%s/*", test_source_path(dirs[d]));
        glob_t found;
        cr_assert_eq(glob(pattern, 0, NULL, &found), 0, "%s", pattern);
        for (size_t i = 0; i < found.gl_pathc; i++, files++)
            assert_read_fails_naming(found.gl_pathv[i], "");
        globfree(&found);
    }
    cr_assert_geq(files, 9);
}
