/* tokenizer/ dataset tokenization: SHA-256, the official preprocessing against Pillow, token
 * shards and manifest, resume after kill -9, --shard K/N, MPI ranks, bad images, --eval,
 * detokenize, and the command-line help.
 *
 * Preprocessing fixtures (tests/fixtures/tokenize, tools/reference/preprocess_reference.py):
 * input files and, per file, what Pillow's Image.open().convert('RGB') + ADM center_crop_arr(256)
 * gives: the SHA-256 of the 256x256x3 crop, or the exception Pillow raises. The model is the
 * small Dual-16 configuration of tests/fixtures/fqgan (64x64 images, 4x4 grid, 512-code
 * codebooks) with the hash weights facet_fqgan_write_random makes. */
#include "tokenizer/detokenize.h"
#include "tokenizer/fqgan.h"
#include "tokenizer/npz.h"
#include "tokenizer/preprocess.h"
#include "core/sha256.h"
#include "nn/gemm.h"
#include "tokenizer/tokenize.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/image.h"
#include "core/json.h"
#include "core/metrics.h"
#include "core/npy.h"
#include "core/safetensors.h"
#include "helpers.h"
#include "tar_builder.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers -------------------------------------------------------------------------------- */

static const char *scratch(const char *name) {
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s", test_scratch_dir(name));
    return dir;
}

static char *fixture(const char *relative) {
    char *path = facet_format("%s/tests/fixtures/tokenize/%s", FACET_SOURCE_DIR, relative);
    cr_assert(path);
    return path;
}

/* The entry of cases.json for `input` ("inputs/<name>"); `doc` keeps it alive. */
static const cJSON *find_case(facet_doc *doc, const char *input) {
    char *path = fixture("cases.json");
    cr_assert_eq(facet_json_load(doc, path), FACET_OK, "%s", facet_last_error());
    free(path);
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(doc->root, "cases")) {
        if (!strcmp(cJSON_GetObjectItem(item, "input")->valuestring, input)) return item;
    }
    cr_assert_fail("no case '%s' in cases.json", input);
    return NULL;
}

static void crop_digest(const char *input, char hex[65]) {
    char *path = fixture(input);
    facet_rgb8 image, crop;
    cr_assert_eq(facet_rgb8_read(path, &image), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(facet_center_crop_arr(&image, 256, &crop), FACET_OK, "%s", facet_last_error());
    facet_sha256_hex(crop.data, (size_t)256 * 256 * 3, hex);
    facet_rgb8_free(&image);
    facet_rgb8_free(&crop);
    free(path);
}

/* Decoding + center_crop_arr(256) gives Pillow's crop, bit for bit. */
static void expect_matches_pillow(const char *input) {
    facet_doc doc;
    const cJSON *c = find_case(&doc, input);
    cr_assert_str_eq(cJSON_GetObjectItem(c, "pil")->valuestring, "ok");
    char *path = fixture(input);
    facet_rgb8 image;
    cr_assert_eq(facet_rgb8_read(path, &image), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(image.width, cJSON_GetObjectItem(c, "width")->valueint, "%s", input);
    cr_assert_eq(image.height, cJSON_GetObjectItem(c, "height")->valueint, "%s", input);
    facet_rgb8_free(&image);
    free(path);
    char hex[65];
    crop_digest(input, hex);
    cr_assert_str_eq(hex, cJSON_GetObjectItem(c, "crop_sha256")->valuestring,
                     "%s: the crop differs from Pillow's (tools/reference/preprocess_reference.py "
                     "--crops DIR writes Pillow's crops for a pixel comparison)",
                     input);
    facet_doc_free(&doc);
}

/* Pillow cannot read the file either, and facet says why. */
static void expect_fails_like_pillow(const char *input, const char *reason) {
    facet_doc doc;
    const cJSON *c = find_case(&doc, input);
    cr_assert_str_eq(cJSON_GetObjectItem(c, "pil")->valuestring, "error", "%s", input);
    char *path = fixture(input);
    facet_rgb8 image;
    cr_assert_neq(facet_rgb8_read(path, &image), FACET_OK, "%s decoded", input);
    cr_assert(strstr(facet_last_error(), reason), "%s: '%s' lacks '%s'", input, facet_last_error(),
              reason);
    cr_assert(strstr(facet_last_error(), path), "the message names the file");
    free(path);
    facet_doc_free(&doc);
}

/* A pattern image with edges (for resize checks). */
static facet_rgb8 pattern(int width, int height, unsigned seed) {
    facet_rgb8 img;
    cr_assert_eq(facet_rgb8_alloc(&img, width, height), FACET_OK);
    for (int i = 0; i < width * height * 3; i++) {
        seed = seed * 1103515245u + 12345u;
        int x = (i / 3) % width, y = (i / 3) / width;
        img.data[i] = (uint8_t)(((x / 7 + y / 5) % 2) * 160 + ((seed >> 16) % 96));
    }
    return img;
}

/* ---- SHA-256 --------------------------------------------------------------------------------- */

Test(sha256, fips_180_test_vectors) {
    char hex[65];
    facet_sha256_hex("", 0, hex);
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    facet_sha256_hex("abc", 3, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    facet_sha256_hex(two_blocks, strlen(two_blocks), hex);
    cr_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(sha256, million_a_streamed_in_uneven_pieces_equals_the_vector) {
    static char a[1000000];
    memset(a, 'a', sizeof a);
    facet_sha256 h;
    facet_sha256_init(&h);
    size_t done = 0, piece = 1;
    while (done < sizeof a) { /* pieces of 1, 2, 3, ... bytes cross every block boundary */
        size_t n = piece < sizeof a - done ? piece : sizeof a - done;
        facet_sha256_update(&h, a + done, n);
        done += n;
        piece = piece % 200 + 1;
    }
    unsigned char digest[32];
    facet_sha256_final(&h, digest);
    char hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(sha256, file_digest_equals_buffer_digest_and_missing_file_is_named) {
    const char *dir = scratch("sha256_file");
    const char *path = test_write_file(dir, "abc.txt", "abc", 0);
    char hex[65];
    cr_assert_eq(facet_sha256_file(path, hex), FACET_OK);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cr_assert_neq(facet_sha256_file("/nonexistent/model.safetensors", hex), FACET_OK);
    cr_assert(strstr(facet_last_error(), "/nonexistent/model.safetensors"));
}

/* ---- preprocessing: resampling paths vs Pillow ----------------------------------------------- */

Test(preprocess, one_box_halving_then_bicubic_matches_pillow) {
    expect_matches_pillow("inputs/jpeg420_1030x771.jpg"); /* 515x385 -> 342x256 */
}

Test(preprocess, two_box_halvings_match_pillow) {
    expect_matches_pillow("inputs/jpeg420_2100x1100.jpg"); /* 1050x550, 525x275 */
}

Test(preprocess, halving_boundary_short_side_512_matches_pillow) {
    expect_matches_pillow("inputs/jpeg_halve_512x520.jpg"); /* halved to 256x260: one pass */
}

Test(preprocess, odd_sizes_without_halving_match_pillow) {
    expect_matches_pillow("inputs/png_rgb_odd_301x257.png");
    expect_matches_pillow("inputs/jpeg422_511x600.jpg");
}

Test(preprocess, portrait_and_wide_images_crop_the_centre_like_pillow) {
    expect_matches_pillow("inputs/png_rgb_portrait_160x301.png");
    expect_matches_pillow("inputs/jpeg_wide_1500x260.jpg");
}

Test(preprocess, tiny_images_are_upscaled_like_pillow) {
    expect_matches_pillow("inputs/png_tiny_100x60.png");
    expect_matches_pillow("inputs/png_tiny_7x5.png");
    expect_matches_pillow("inputs/png_tiny_1x1.png");
}

Test(preprocess, unchanged_sides_are_copied_like_pillow) {
    expect_matches_pillow("inputs/png_rgb_exact_256x256.png"); /* resize is a copy */
    expect_matches_pillow("inputs/png_rgb_256x300.png");       /* only the vertical pass */
}

/* ---- preprocessing: decoding and convert('RGB') vs Pillow ------------------------------------ */

Test(preprocess, jpeg_subsamplings_and_progressive_decode_like_pillow) {
    expect_matches_pillow("inputs/jpeg444_300x300.jpg");
    expect_matches_pillow("inputs/jpeg_progressive_500x401.jpg");
}

Test(preprocess, gray_images_are_replicated_to_rgb) {
    expect_matches_pillow("inputs/jpeg_gray_400x300.jpg");
    expect_matches_pillow("inputs/png_gray_333x277.png");
    expect_matches_pillow("inputs/png_1bit_300x300.png");
}

Test(preprocess, cmyk_jpeg_is_converted_as_pillow_does) {
    expect_matches_pillow("inputs/jpeg_cmyk_320x260.jpg"); /* Adobe-inverted CMYK, cmyk2rgb */
}

Test(preprocess, alpha_is_dropped_not_composited) {
    expect_matches_pillow("inputs/png_rgba_300x290.png");
    expect_matches_pillow("inputs/png_la_260x270.png");
    /* a fully transparent red pixel stays red (no compositing onto a background) */
    const unsigned char png[] = {
        /* PIL: Image.new('RGBA', (1, 1), (255, 0, 0, 0)) */
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
        0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
        0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78,
        0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xc0, 0x00, 0x00, 0x04, 0x01, 0x01, 0x00, 0x47, 0x06,
        0xca, 0xde, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    facet_rgb8 img;
    cr_assert_eq(facet_rgb8_decode(png, sizeof png, &img), FACET_OK, "%s", facet_last_error());
    cr_assert(img.data[0] == 255 && img.data[1] == 0 && img.data[2] == 0,
              "got %d %d %d, expected 255 0 0", img.data[0], img.data[1], img.data[2]);
    facet_rgb8_free(&img);
}

Test(preprocess, palette_with_transparency_is_looked_up) {
    expect_matches_pillow("inputs/png_palette_trns_320x240.png");
}

Test(preprocess, sixteen_bit_png_colour_takes_the_high_byte) {
    expect_matches_pillow("inputs/png_rgb16_150x130.png");
}

Test(preprocess, sixteen_bit_gray_saturates_above_255_as_pillow) {
    expect_matches_pillow("inputs/png_gray16_280x300.png");
    /* rows 0, 3, 6, ... were multiplied by 200: PIL's I -> RGB clips them to 255 */
    char *path = fixture("inputs/png_gray16_280x300.png");
    facet_rgb8 img;
    cr_assert_eq(facet_rgb8_read(path, &img), FACET_OK);
    int saturated = 0;
    for (int x = 0; x < img.width; x++) saturated += img.data[x * 3] == 255;
    cr_assert_gt(saturated, img.width * 9 / 10, "row 0: %d of %d pixels at 255", saturated,
                 img.width);
    facet_rgb8_free(&img);
    free(path);
}

Test(preprocess, bmp_decodes_like_pillow) {
    expect_matches_pillow("inputs/bmp_rgb_130x97.bmp");
}

Test(preprocess, jpeg_with_corrupt_scan_data_decodes_like_pillow) {
    /* libjpeg only warns about the damaged entropy-coded data; Pillow shows the result */
    expect_matches_pillow("inputs/jpeg_corrupt_scan_300x300.jpg");
}

Test(preprocess, every_fixture_matches_pillow_or_fails_where_pillow_fails) {
    facet_doc doc;
    char *path = fixture("cases.json");
    cr_assert_eq(facet_json_load(&doc, path), FACET_OK);
    free(path);
    int matched = 0, failed = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc.root, "cases")) {
        const char *input = cJSON_GetObjectItem(c, "input")->valuestring;
        if (!strcmp(cJSON_GetObjectItem(c, "pil")->valuestring, "ok")) {
            char hex[65];
            crop_digest(input, hex);
            cr_expect_str_eq(hex, cJSON_GetObjectItem(c, "crop_sha256")->valuestring, "%s", input);
            matched++;
        } else {
            char *file = fixture(input);
            facet_rgb8 img;
            cr_expect_neq(facet_rgb8_read(file, &img), FACET_OK, "%s decoded", input);
            free(file);
            failed++;
        }
    }
    cr_assert_eq(matched, 25, "25 readable fixtures");
    cr_assert_eq(failed, 7, "7 unreadable fixtures");
    facet_doc_free(&doc);
}

/* ---- preprocessing: failures ----------------------------------------------------------------- */

Test(preprocess, empty_file_fails) {
    expect_fails_like_pillow("inputs/bad_empty.jpg", "empty file");
}

Test(preprocess, garbage_fails_as_unreadable) {
    expect_fails_like_pillow("inputs/bad_garbage.png", "not a readable image");
}

Test(preprocess, truncated_jpegs_fail) {
    expect_fails_like_pillow("inputs/bad_truncated.jpg", "truncated JPEG");
    expect_fails_like_pillow("inputs/bad_truncated_progressive.jpg", "truncated JPEG");
}

Test(preprocess, truncated_png_fails) {
    expect_fails_like_pillow("inputs/bad_truncated.png", "truncated PNG");
}

Test(preprocess, png_header_crc_mismatch_fails) {
    expect_fails_like_pillow("inputs/bad_crc.png", "bad CRC in chunk 'IHDR'");
}

Test(preprocess, corrupt_jpeg_tables_fail_with_libjpegs_reason) {
    expect_fails_like_pillow("inputs/bad_corrupt_tables.jpg", "corrupt JPEG: Bogus Huffman table");
}

/* ---- preprocessing: building blocks ---------------------------------------------------------- */

Test(preprocess, to_tensor_normalize_equals_torchvision_bit_for_bit) {
    facet_tensor expected;
    char *path = fixture("normalize.npy");
    cr_assert_eq(facet_npy_read(&expected, path), FACET_OK, "%s", facet_last_error());
    free(path);
    facet_rgb8 levels;
    cr_assert_eq(facet_rgb8_alloc(&levels, 256, 1), FACET_OK);
    for (int v = 0; v < 256; v++)
        levels.data[3 * v] = levels.data[3 * v + 1] = levels.data[3 * v + 2] = (uint8_t)v;
    float chw[3 * 256];
    facet_rgb8_to_tensor(&levels, chw);
    const float *want = expected.data;
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++)
            cr_assert(memcmp(&chw[c * 256 + v], &want[v], sizeof(float)) == 0,
                      "level %d: %.9g, torchvision %.9g", v, chw[c * 256 + v], want[v]);
    cr_assert_eq(chw[0], -1.0f);
    cr_assert_eq(chw[255], 1.0f);
    facet_rgb8_free(&levels);
    facet_tensor_free(&expected);
}

Test(preprocess, resize_window_equals_the_same_window_of_the_full_resize) {
    facet_rgb8 in = pattern(97, 61, 3);
    const struct {
        int w, h, x0, y0, ww, wh;
        facet_resample filter;
    } cases[] = {
        {256, 161, 0, 0, 256, 161, FACET_RESAMPLE_BICUBIC},  /* upscale */
        {256, 161, 40, 17, 31, 100, FACET_RESAMPLE_BICUBIC}, /* a window of it */
        {33, 20, 5, 3, 20, 11, FACET_RESAMPLE_BICUBIC},      /* downscale by ~3 */
        {48, 30, 7, 2, 30, 25, FACET_RESAMPLE_BOX},          /* halving */
        {97, 40, 10, 0, 50, 40, FACET_RESAMPLE_BICUBIC},     /* width unchanged */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        facet_rgb8 full, window;
        cr_assert_eq(facet_resize(&in, cases[i].w, cases[i].h, cases[i].filter, &full), FACET_OK);
        cr_assert_eq(facet_rgb8_alloc(&window, cases[i].ww, cases[i].wh), FACET_OK);
        cr_assert_eq(facet_resize_window(&in, cases[i].w, cases[i].h, cases[i].filter, cases[i].x0,
                                         cases[i].y0, &window),
                     FACET_OK, "%s", facet_last_error());
        for (int y = 0; y < cases[i].wh; y++)
            cr_assert(
                !memcmp(window.data + (size_t)y * cases[i].ww * 3,
                        full.data + ((size_t)(y + cases[i].y0) * cases[i].w + cases[i].x0) * 3,
                        (size_t)cases[i].ww * 3),
                "case %zu row %d", i, y);
        facet_rgb8_free(&full);
        facet_rgb8_free(&window);
    }
    facet_rgb8_free(&in);
}

Test(preprocess, resize_to_the_same_size_is_a_copy) {
    facet_rgb8 in = pattern(40, 30, 9), out;
    cr_assert_eq(facet_resize(&in, 40, 30, FACET_RESAMPLE_BICUBIC, &out), FACET_OK);
    cr_assert(!memcmp(in.data, out.data, 40 * 30 * 3));
    facet_rgb8_free(&in);
    facet_rgb8_free(&out);
}

Test(preprocess, resize_window_outside_the_output_is_refused) {
    facet_rgb8 in = pattern(10, 10, 1), out;
    cr_assert_eq(facet_rgb8_alloc(&out, 8, 8), FACET_OK);
    cr_assert_eq(facet_resize_window(&in, 20, 20, FACET_RESAMPLE_BICUBIC, 15, 0, &out),
                 FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "not inside 20x20"), "%s", facet_last_error());
    facet_rgb8_free(&in);
    facet_rgb8_free(&out);
}

Test(preprocess, preprocess_image_gives_the_crop_and_its_chw_tensor) {
    char *path = fixture("inputs/png_rgb_odd_301x257.png");
    char *data;
    size_t size;
    cr_assert_eq(facet_read_file(path, &data, &size), FACET_OK);
    facet_rgb8 crop;
    float *chw = malloc(sizeof(float) * 3 * 64 * 64);
    cr_assert_eq(facet_preprocess_image((unsigned char *)data, size, 64, &crop, chw), FACET_OK);
    cr_assert_eq(crop.width, 64);
    /* channel c of pixel (y, x) sits at chw[c][y][x] */
    const int y = 10, x = 37;
    for (int c = 0; c < 3; c++) {
        float v = (float)crop.data[(y * 64 + x) * 3 + c] / 255.0f;
        cr_assert_eq(chw[c * 64 * 64 + y * 64 + x], (v - 0.5f) / 0.5f);
    }
    facet_rgb8_free(&crop);
    free(chw);
    free(data);
    free(path);
}

Test(preprocess, images_beyond_pillows_decompression_bomb_limit_are_too_large) {
    /* PNG headers of 20000 x 10000 (2e8 pixels > 2 * 89478485) and 40000 x 40000, which stb's own
     * header reader refuses as "unknown image type": the size from IHDR comes first */
    const uint32_t sizes[2][2] = {{20000, 10000}, {40000, 40000}};
    for (int k = 0; k < 2; k++) {
        unsigned char png[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13,
                               'I',  'H', 'D', 'R', 0,    0,    0,    0,    0, 0, 0, 0,
                               8,    2,   0,   0,   0,    0,    0,    0,    0, 0, 0, 0,
                               0,    'I', 'D', 'A', 'T',  0,    0,    0,    0};
        for (int b = 0; b < 4; b++) {
            png[16 + b] = (unsigned char)(sizes[k][0] >> (24 - 8 * b));
            png[20 + b] = (unsigned char)(sizes[k][1] >> (24 - 8 * b));
        }
        /* IHDR CRC computed here so only the size is at fault */
        uint32_t crc = 0xFFFFFFFFu;
        for (int i = 12; i < 29; i++) {
            crc ^= png[i];
            for (int j = 0; j < 8; j++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
        crc ^= 0xFFFFFFFFu;
        for (int b = 0; b < 4; b++) png[29 + b] = (unsigned char)(crc >> (24 - 8 * b));
        facet_rgb8 img;
        cr_assert_neq(facet_rgb8_decode(png, sizeof png, &img), FACET_OK);
        const char *e = facet_last_error();
        char declared[32];
        snprintf(declared, sizeof declared, "%ux%u", sizes[k][0], sizes[k][1]);
        cr_assert(strstr(e, "too large") && strstr(e, "decompression-bomb limit of 178956970") &&
                      strstr(e, declared),
                  "%s", e);
    }
}

/* ---- the tokenization driver ----------------------------------------------------------------- */

/* Small Dual-16 weights at `path` (64x64 images, 4x4 grid, 512 codes; hash weights, seed 1). */
static void write_small_model(const char *path) {
    facet_doc meta;
    cr_assert_eq(
        facet_json_load(&meta, test_source_path("tests/fixtures/fqgan/small-dual16/meta.json")),
        FACET_OK, "%s", facet_last_error());
    char *config = cJSON_PrintUnformatted(cJSON_GetObjectItem(meta.root, "config"));
    cr_assert_eq(facet_fqgan_write_random(path, config, 1), FACET_OK, "%s", facet_last_error());
    cJSON_free(config);
    facet_doc_free(&meta);
}

static void copy_file(const char *from, const char *to) {
    char *data;
    size_t size;
    cr_assert_eq(facet_read_file(from, &data, &size), FACET_OK, "%s", facet_last_error());
    char *dir = strdup(to);
    *strrchr(dir, '/') = '\0';
    cr_assert_eq(facet_make_dirs(dir), FACET_OK);
    FILE *f = fopen(to, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(data, 1, size, f), size);
    fclose(f);
    free(dir);
    free(data);
}

typedef struct dataset_file {
    const char *path;    /* relative to the dataset root */
    const char *fixture; /* tests/fixtures/tokenize/inputs/<fixture> */
} dataset_file;

/* Sorted: cat/ (class 0), dog/ (class 1), then a root image (class -1). Every kind of image the
 * official pipeline converts: gray, CMYK, 16-bit, alpha, palette, tiny. */
static const dataset_file GOOD[] = {
    {"cat/a.jpg", "jpeg444_300x300.jpg"},          {"cat/b.png", "png_rgb_odd_301x257.png"},
    {"cat/c.jpg", "jpeg_cmyk_320x260.jpg"},        {"dog/d.png", "png_gray16_280x300.png"},
    {"dog/e.png", "png_rgba_300x290.png"},         {"dog/f.png", "png_tiny_7x5.png"},
    {"dog/g.png", "png_palette_trns_320x240.png"}, {"z.jpg", "jpeg_gray_400x300.jpg"},
};
enum { GOOD_COUNT = sizeof GOOD / sizeof GOOD[0] };

static void make_dataset(const char *root, const dataset_file *files, int count) {
    for (int i = 0; i < count; i++) {
        char *from = facet_format("%s/tests/fixtures/tokenize/inputs/%s", FACET_SOURCE_DIR,
                                  files[i].fixture);
        char *to = facet_path_join(root, files[i].path);
        copy_file(from, to);
        free(from);
        free(to);
    }
}

typedef struct tokenize_case {
    char dir[1024];
    char model[1100], data[1100], out[1100];
} tokenize_case;

static void setup_case(tokenize_case *t, const char *name) {
    snprintf(t->dir, sizeof t->dir, "%s", scratch(name));
    snprintf(t->model, sizeof t->model, "%s/small.safetensors", t->dir);
    snprintf(t->data, sizeof t->data, "%s/data", t->dir);
    snprintf(t->out, sizeof t->out, "%s/tokens", t->dir);
    write_small_model(t->model);
    make_dataset(t->data, GOOD, GOOD_COUNT);
}

static facet_status run_tokenize(const tokenize_case *t, const char *out, int shard_size,
                                 int shard_index, int shard_count, int eval,
                                 facet_tokenize_summary *summary) {
    facet_tokenize_options o = {.model_path = t->model,
                                .input = t->data,
                                .out_dir = out,
                                .batch = 3,
                                .shard_size = shard_size,
                                .shard_index = shard_index,
                                .shard_count = shard_count,
                                .workers = 2,
                                .eval = eval};
    return facet_tokenize(&o, summary);
}

static cJSON *load_manifest(const char *out, facet_doc *doc) {
    char *path = facet_path_join(out, "manifest.json");
    cr_assert_eq(facet_json_load(doc, path), FACET_OK, "%s", facet_last_error());
    free(path);
    return doc->root;
}

static int files_equal(const char *a, const char *b) {
    char *x, *y;
    size_t nx, ny;
    if (facet_read_file(a, &x, &nx) != FACET_OK) return 0;
    if (facet_read_file(b, &y, &ny) != FACET_OK) {
        free(x);
        return 0;
    }
    int same = nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return same;
}

/* Every shard file and the manifest of `a` equal those of `b`, byte for byte. */
static void expect_same_tokens(const char *a, const char *b, int shards) {
    for (int s = 0; s < shards; s++) {
        char name[64];
        snprintf(name, sizeof name, "shard-%05d.safetensors", s);
        char *x = facet_path_join(a, name), *y = facet_path_join(b, name);
        cr_assert(files_equal(x, y), "%s differs from %s", x, y);
        free(x);
        free(y);
    }
    char *x = facet_path_join(a, "manifest.json"), *y = facet_path_join(b, "manifest.json");
    cr_assert(files_equal(x, y), "%s differs from %s", x, y);
    free(x);
    free(y);
}

Test(tokenize, shards_and_manifest_follow_the_format) {
    tokenize_case t;
    setup_case(&t, "tokenize_format");
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, t.out, 3, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.images, GOOD_COUNT);
    cr_assert_eq(s.shards, 3, "8 images in shards of 3");
    cr_assert_eq(s.written_shards, 3);
    cr_assert_eq(s.encoded, GOOD_COUNT);
    cr_assert(s.complete);

    facet_doc doc;
    const cJSON *m = load_manifest(t.out, &doc);
    cr_assert_str_eq(cJSON_GetObjectItem(m, "format")->valuestring, "facet-tokens");
    cr_assert_eq(cJSON_GetObjectItem(m, "version")->valueint, 1);
    const cJSON *model = cJSON_GetObjectItem(m, "model");
    char sha[65];
    cr_assert_eq(facet_sha256_file(t.model, sha), FACET_OK);
    cr_assert_str_eq(cJSON_GetObjectItem(model, "sha256")->valuestring, sha);
    cr_assert_str_eq(cJSON_GetObjectItem(model, "file")->valuestring, t.model);
    cr_assert_str_eq(cJSON_GetObjectItem(model, "variant")->valuestring, "dual");
    cr_assert(
        strstr(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "preprocess"), "pipeline")->valuestring,
               "center_crop_arr"));
    const cJSON *branches = cJSON_GetObjectItem(m, "branches");
    cr_assert_str_eq(cJSON_GetArrayItem(branches, 0)->valuestring, "vis");
    cr_assert_str_eq(cJSON_GetArrayItem(branches, 1)->valuestring, "sem");
    cr_assert_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "grid"), 0)->valueint, 4);
    const cJSON *inputs = cJSON_GetObjectItem(m, "inputs");
    cr_assert_eq(cJSON_GetObjectItem(inputs, "count")->valueint, GOOD_COUNT);
    cr_assert_str_eq(cJSON_GetObjectItem(inputs, "listed")->valuestring, "folder");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(m, "failed")), 0);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(m, "complete")));
    /* the encoder: the CPU backend and its matrix kernel on this machine */
    char encoder[64];
    snprintf(encoder, sizeof encoder, "cpu/%s", facet_gemm_kernel_name());
    const cJSON *encoders = cJSON_GetObjectItem(m, "encoders");
    cr_assert_eq(cJSON_GetArraySize(encoders), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(encoders, 0)->valuestring, encoder);

    /* each shard: its sha256 and count as listed; rows in input order with paths and classes */
    const cJSON *shards = cJSON_GetObjectItem(m, "shards");
    cr_assert_eq(cJSON_GetArraySize(shards), 3);
    int64_t next = 0;
    for (int i = 0; i < 3; i++) {
        const cJSON *entry = cJSON_GetArrayItem(shards, i);
        char *path = facet_path_join(t.out, cJSON_GetObjectItem(entry, "file")->valuestring);
        cr_assert_eq(facet_sha256_file(path, sha), FACET_OK);
        cr_assert_str_eq(cJSON_GetObjectItem(entry, "sha256")->valuestring, sha);
        cr_assert_str_eq(cJSON_GetObjectItem(entry, "encoder")->valuestring, encoder);
        facet_safetensors st;
        cr_assert_eq(facet_safetensors_open(&st, path), FACET_OK, "%s", facet_last_error());
        cr_assert_str_eq(facet_safetensors_metadata(&st, "encoder"), encoder);
        const int64_t n = cJSON_GetObjectItem(entry, "count")->valueint;
        const int64_t shape[3] = {n, 4, 4};
        const facet_tensor *vis, *sem, *index, *classes;
        cr_assert_eq(facet_safetensors_expect(&st, "vis", FACET_DTYPE_U16, 3, shape, &vis),
                     FACET_OK, "%s", facet_last_error());
        cr_assert_eq(facet_safetensors_expect(&st, "sem", FACET_DTYPE_U16, 3, shape, &sem),
                     FACET_OK);
        cr_assert_eq(facet_safetensors_expect(&st, "index", FACET_DTYPE_I64, 1, shape, &index),
                     FACET_OK);
        cr_assert_eq(facet_safetensors_expect(&st, "class", FACET_DTYPE_I64, 1, shape, &classes),
                     FACET_OK);
        cJSON *paths = cJSON_Parse(facet_safetensors_metadata(&st, "paths"));
        for (int r = 0; r < n; r++, next++) {
            cr_assert_eq(((const int64_t *)index->data)[r], next);
            cr_assert_str_eq(cJSON_GetArrayItem(paths, r)->valuestring, GOOD[next].path);
            const int64_t want_class = GOOD[next].path[0] == 'c'   ? 0
                                       : GOOD[next].path[0] == 'd' ? 1
                                                                   : -1;
            cr_assert_eq(((const int64_t *)classes->data)[r], want_class, "%s", GOOD[next].path);
        }
        for (int k = 0; k < n * 16; k++) cr_assert_lt(((const uint16_t *)vis->data)[k], 512);
        cJSON_Delete(paths);
        facet_safetensors_close(&st);
        free(path);
    }
    cr_assert_eq(next, GOOD_COUNT);
    facet_doc_free(&doc);
}

Test(tokenize, tokens_equal_encoding_the_preprocessed_images_directly) {
    tokenize_case t;
    setup_case(&t, "tokenize_direct");
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, t.out, 100, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    facet_fqgan *model;
    cr_assert_eq(facet_fqgan_load(&model, t.model, FACET_FQGAN_CPU, 1), FACET_OK);
    char *shard = facet_path_join(t.out, "shard-00000.safetensors");
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, shard), FACET_OK);
    const uint16_t *vis = facet_safetensors_get(&st, "vis")->data;
    const uint16_t *sem = facet_safetensors_get(&st, "sem")->data;
    for (int i = 0; i < GOOD_COUNT; i++) {
        char *path = facet_path_join(t.data, GOOD[i].path), *data;
        size_t size;
        cr_assert_eq(facet_read_file(path, &data, &size), FACET_OK);
        float chw[3 * 64 * 64];
        cr_assert_eq(facet_preprocess_image((unsigned char *)data, size, 64, NULL, chw), FACET_OK);
        uint16_t want_vis[16], want_sem[16];
        uint16_t *outs[2] = {want_vis, want_sem};
        cr_assert_eq(facet_fqgan_encode(model, chw, 1, outs, NULL), FACET_OK);
        cr_assert(!memcmp(want_vis, vis + 16 * i, sizeof want_vis), "%s: vis", GOOD[i].path);
        cr_assert(!memcmp(want_sem, sem + 16 * i, sizeof want_sem), "%s: sem", GOOD[i].path);
        free(data);
        free(path);
    }
    facet_safetensors_close(&st);
    free(shard);
    facet_fqgan_free(model);
}

Test(tokenize, bad_images_are_listed_in_failed_with_their_reason) {
    tokenize_case t;
    setup_case(&t, "tokenize_bad");
    const dataset_file bad[] = {
        {"bad/corrupt.jpg", "bad_corrupt_tables.jpg"},
        {"bad/crc.png", "bad_crc.png"},
        {"bad/empty.jpg", "bad_empty.jpg"},
        {"bad/garbage.png", "bad_garbage.png"},
        {"bad/truncated.jpg", "bad_truncated.jpg"},
        {"bad/truncated.png", "bad_truncated.png"},
    };
    make_dataset(t.data, bad, 6);
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, t.out, 4, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.images, GOOD_COUNT + 6);
    cr_assert_eq(s.failed, 6);
    cr_assert_eq(s.encoded, GOOD_COUNT, "gray, CMYK, 16-bit, alpha, palette, tiny convert");
    cr_assert(s.complete, "bad images never stop the run");
    facet_doc doc;
    const cJSON *failed = cJSON_GetObjectItem(load_manifest(t.out, &doc), "failed");
    cr_assert_eq(cJSON_GetArraySize(failed), 6);
    /* "bad/..." sorts first: indices 0..5 in byte order of the names */
    const char *reasons[6][2] = {
        {"bad/corrupt.jpg", "corrupt JPEG"},     {"bad/crc.png", "bad CRC"},
        {"bad/empty.jpg", "empty file"},         {"bad/garbage.png", "not a readable image"},
        {"bad/truncated.jpg", "truncated JPEG"}, {"bad/truncated.png", "truncated PNG"},
    };
    for (int i = 0; i < 6; i++) {
        const cJSON *entry = cJSON_GetArrayItem(failed, i);
        cr_assert_eq(cJSON_GetObjectItem(entry, "index")->valueint, i);
        cr_assert_str_eq(cJSON_GetObjectItem(entry, "path")->valuestring, reasons[i][0]);
        cr_assert(strstr(cJSON_GetObjectItem(entry, "reason")->valuestring, reasons[i][1]),
                  "%s: '%s'", reasons[i][0], cJSON_GetObjectItem(entry, "reason")->valuestring);
    }
    /* the shards hold the 8 convertible images, none of the bad ones */
    int64_t rows = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItem(doc.root, "shards")) {
        rows += cJSON_GetObjectItem(entry, "count")->valueint;
    }
    cr_assert_eq(rows, GOOD_COUNT);
    facet_doc_free(&doc);
}

Test(tokenize, a_list_file_input_is_recorded_as_listed) {
    tokenize_case t;
    setup_case(&t, "tokenize_list");
    char *list = facet_path_join(t.data, "list.txt");
    FILE *f = fopen(list, "w");
    fprintf(f, "# two images\ncat/b.png\nz.jpg\n");
    fclose(f);
    facet_tokenize_options o = {.model_path = t.model, .input = list, .out_dir = t.out};
    facet_tokenize_summary s;
    cr_assert_eq(facet_tokenize(&o, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.encoded, 2);
    facet_doc doc;
    const cJSON *inputs = cJSON_GetObjectItem(load_manifest(t.out, &doc), "inputs");
    cr_assert_str_eq(cJSON_GetObjectItem(inputs, "listed")->valuestring, "list");
    cr_assert_eq(cJSON_GetObjectItem(inputs, "count")->valueint, 2);
    facet_doc_free(&doc);
    free(list);
}

Test(tokenize, a_rerun_keeps_complete_shards_and_redoes_a_missing_one) {
    tokenize_case t;
    setup_case(&t, "tokenize_resume");
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, t.out, 2, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    char *reference = facet_format("%s/reference", t.dir);
    cr_assert_eq(run_tokenize(&t, reference, 2, 0, 1, 0, &s), FACET_OK);
    char *shard = facet_path_join(t.out, "shard-00002.safetensors");
    cr_assert_eq(unlink(shard), 0);
    cr_assert_eq(run_tokenize(&t, t.out, 2, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.resumed_shards, 3);
    cr_assert_eq(s.written_shards, 1, "only the deleted shard is tokenized again");
    cr_assert_eq(s.encoded, 2);
    expect_same_tokens(t.out, reference, 4);
    cr_assert_eq(run_tokenize(&t, t.out, 2, 0, 1, 0, &s), FACET_OK);
    cr_assert_eq(s.written_shards, 0, "a complete output needs no work");
    cr_assert(s.complete);
    free(shard);
    free(reference);
}

static int encoder_warnings;
static char encoder_warning[2048];
static void keep_encoder_warning(const char *message) {
    encoder_warnings++;
    snprintf(encoder_warning, sizeof encoder_warning, "%s", message);
}

/* Rewrites OUT/manifest.json with shard 0's "encoder" set to `name` (NULL: removed, as a manifest
 * written before facet recorded encoders). */
static void set_first_encoder(const char *out, const char *name) {
    facet_doc doc;
    cJSON *m = load_manifest(out, &doc);
    cJSON *entry = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "shards"), 0);
    cJSON_DeleteItemFromObject(entry, "encoder");
    if (name) cJSON_AddStringToObject(entry, "encoder", name);
    char *path = facet_path_join(out, "manifest.json");
    cr_assert_eq(facet_json_write_atomic(path, m), FACET_OK);
    free(path);
    facet_doc_free(&doc);
}

Test(tokenize, a_resume_on_another_encoder_warns_and_keeps_each_shards_encoder) {
    tokenize_case t;
    setup_case(&t, "tokenize_encoders");
    facet_set_warning_handler(keep_encoder_warning);
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, t.out, 3, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(encoder_warnings, 0, "one encoder: nothing to say");
    char mine[64];
    snprintf(mine, sizeof mine, "cpu/%s", facet_gemm_kernel_name());

    /* shard 0 as if a GPU had written it, shard 2 gone: the resume redoes shard 2 here */
    set_first_encoder(t.out, "cuda-bf16");
    char *shard = facet_path_join(t.out, "shard-00002.safetensors");
    cr_assert_eq(unlink(shard), 0);
    cr_assert_eq(run_tokenize(&t, t.out, 3, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.written_shards, 1);
    cr_assert_eq(encoder_warnings, 1);
    cr_assert(strstr(encoder_warning, "cuda-bf16") && strstr(encoder_warning, mine) &&
                  strstr(encoder_warning, t.out),
              "%s", encoder_warning);
    facet_doc doc;
    const cJSON *m = load_manifest(t.out, &doc);
    const cJSON *shards = cJSON_GetObjectItem(m, "shards");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(shards, 0), "encoder")->valuestring,
                     "cuda-bf16", "an adopted shard keeps its encoder");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(shards, 2), "encoder")->valuestring,
                     mine);
    const cJSON *encoders = cJSON_GetObjectItem(m, "encoders");
    cr_assert_eq(cJSON_GetArraySize(encoders), 2);
    cr_assert_str_eq(cJSON_GetArrayItem(encoders, 0)->valuestring, "cuda-bf16");
    cr_assert_str_eq(cJSON_GetArrayItem(encoders, 1)->valuestring, mine);
    facet_doc_free(&doc);

    /* nothing to encode: nothing to warn about */
    cr_assert_eq(run_tokenize(&t, t.out, 3, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.written_shards, 0);
    cr_assert_eq(encoder_warnings, 1);

    /* a manifest from before encoders were recorded, and shard 1 to redo */
    set_first_encoder(t.out, NULL);
    free(shard);
    shard = facet_path_join(t.out, "shard-00001.safetensors");
    cr_assert_eq(unlink(shard), 0);
    cr_assert_eq(run_tokenize(&t, t.out, 3, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.written_shards, 1);
    cr_assert_eq(encoder_warnings, 2);
    cr_assert(strstr(encoder_warning, "an unrecorded encoder"), "%s", encoder_warning);
    m = load_manifest(t.out, &doc);
    cr_assert_null(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "shards"), 0), "encoder"));
    encoders = cJSON_GetObjectItem(m, "encoders");
    cr_assert_str_eq(cJSON_GetArrayItem(encoders, 0)->valuestring, "unrecorded");
    facet_doc_free(&doc);
    free(shard);
}

Test(tokenize, a_lost_manifest_is_rebuilt_from_the_shard_files_without_encoding) {
    tokenize_case t;
    setup_case(&t, "tokenize_rebuild");
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, t.out, 3, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    char *reference = facet_format("%s/reference", t.dir);
    cr_assert_eq(run_tokenize(&t, reference, 3, 0, 1, 0, &s), FACET_OK);
    /* what a kill -9 can leave: no manifest update yet, temporaries of both writers */
    char *manifest = facet_path_join(t.out, "manifest.json");
    cr_assert_eq(unlink(manifest), 0);
    test_write_file(t.out, "shard-00001.safetensors.tmp-99999", "partial", 0);
    test_write_file(t.out, "manifest.json.tmp-99999", "{\"format\":", 0);
    cr_assert_eq(run_tokenize(&t, t.out, 3, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.written_shards, 0, "the shard files are checked and kept");
    cr_assert_eq(s.resumed_shards, 3);
    expect_same_tokens(t.out, reference, 3);
    char *temp = facet_path_join(t.out, "shard-00001.safetensors.tmp-99999");
    cr_assert(!facet_is_file(temp), "stale shard temporary removed");
    free(temp);
    temp = facet_path_join(t.out, "manifest.json.tmp-99999");
    cr_assert(!facet_is_file(temp), "stale manifest temporary removed");
    free(temp);
    free(manifest);
    free(reference);
}

Test(tokenize, a_shard_file_of_another_model_is_refused) {
    tokenize_case t;
    setup_case(&t, "tokenize_foreign_shard");
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, t.out, 3, 0, 1, 0, &s), FACET_OK);
    /* the same input tokenized by other weights (seed 2) lands in a fresh directory */
    facet_doc meta;
    cr_assert_eq(
        facet_json_load(&meta, test_source_path("tests/fixtures/fqgan/small-dual16/meta.json")),
        FACET_OK);
    char *config = cJSON_PrintUnformatted(cJSON_GetObjectItem(meta.root, "config"));
    cr_assert_eq(facet_fqgan_write_random(t.model, config, 2), FACET_OK);
    char *fresh = facet_format("%s/fresh", t.dir);
    cr_assert_eq(facet_make_dirs(fresh), FACET_OK);
    char *from = facet_path_join(t.out, "shard-00000.safetensors");
    char *to = facet_path_join(fresh, "shard-00000.safetensors");
    copy_file(from, to);
    cr_assert_eq(run_tokenize(&t, fresh, 3, 0, 1, 0, &s), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "belongs to another tokenization: its model (sha256) "
                                         "differs"),
              "%s", facet_last_error());
    cr_assert(strstr(facet_last_error(), "shard-00000.safetensors"), "%s", facet_last_error());
    free(from);
    free(to);
    free(fresh);
    cJSON_free(config);
    facet_doc_free(&meta);
}

Test(tokenize, another_runs_output_directory_is_refused) {
    tokenize_case t;
    setup_case(&t, "tokenize_refuse");
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, t.out, 2, 0, 1, 0, &s), FACET_OK);
    cr_assert_eq(run_tokenize(&t, t.out, 3, 0, 1, 0, &s), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "belongs to another tokenization: its shard size differs"),
              "%s", facet_last_error());
}

Test(tokenize, shard_k_of_n_runs_together_equal_one_run) {
    tokenize_case t;
    setup_case(&t, "tokenize_shard");
    facet_tokenize_summary s;
    char *single = facet_format("%s/single", t.dir);
    cr_assert_eq(run_tokenize(&t, single, 2, 0, 1, 0, &s), FACET_OK);
    cr_assert_eq(run_tokenize(&t, t.out, 2, 1, 3, 0, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.written_shards, 1, "shards 0..3: 1/3 takes shard 1");
    cr_assert(!s.complete);
    char *other = facet_path_join(t.out, "shard-00000.safetensors");
    cr_assert(!facet_is_file(other), "1/3 leaves shard 0 to 0/3");
    cr_assert_eq(run_tokenize(&t, t.out, 2, 0, 3, 0, &s), FACET_OK);
    cr_assert_eq(s.written_shards, 2, "0/3 takes shards 0 and 3");
    cr_assert_eq(run_tokenize(&t, t.out, 2, 2, 3, 0, &s), FACET_OK);
    cr_assert_eq(s.written_shards, 1, "2/3 takes shard 2");
    cr_assert(s.complete, "the manifest gathers every process's shards");
    expect_same_tokens(t.out, single, 4);
    free(other);
    free(single);
}

Test(tokenize, shard_index_must_be_below_the_count) {
    tokenize_case t;
    setup_case(&t, "tokenize_shard_bad");
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, t.out, 2, 3, 3, 0, &s), FACET_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(facet_last_error(), "shard 3/3"), "%s", facet_last_error());
}

Test(tokenize, eval_reports_psnr_ssim_and_codebook_statistics) {
    tokenize_case t;
    setup_case(&t, "tokenize_eval");
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, t.out, 3, 0, 1, 1, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.eval_images, GOOD_COUNT);
    cr_assert_eq(s.branch_count, 2);
    cr_assert_str_eq(s.branches[0].name, "vis");
    for (int b = 0; b < 2; b++) {
        /* 8 images x 16 tokens: at most 128 distinct codes; perplexity <= codes used */
        cr_assert(s.branches[b].codes_used >= 1 && s.branches[b].codes_used <= 128);
        cr_assert_float_eq(s.branches[b].usage, s.branches[b].codes_used / 512.0, 1e-12);
        cr_assert(s.branches[b].perplexity >= 1.0 &&
                  s.branches[b].perplexity <= s.branches[b].codes_used + 1e-9);
    }

    /* the PSNR equals the mean PSNR of the detokenized images against the preprocessed crops */
    char *recon = facet_format("%s/recon", t.dir);
    facet_detokenize_options d = {.model_path = t.model, .tokens = t.out, .out_dir = recon};
    facet_detokenize_summary ds;
    cr_assert_eq(facet_detokenize(&d, &ds), FACET_OK, "%s", facet_last_error());
    double sum = 0.0;
    for (int i = 0; i < GOOD_COUNT; i++) {
        char *source = facet_path_join(t.data, GOOD[i].path), *data;
        size_t size;
        cr_assert_eq(facet_read_file(source, &data, &size), FACET_OK);
        facet_rgb8 crop;
        cr_assert_eq(facet_preprocess_image((unsigned char *)data, size, 64, &crop, NULL),
                     FACET_OK);
        facet_image reference, decoded;
        cr_assert_eq(facet_image_alloc(&reference, 64, 64, 3), FACET_OK);
        for (int k = 0; k < 64 * 64 * 3; k++) reference.data[k] = (float)crop.data[k] / 255.0f;
        char *png = facet_detokenize_output_path(recon, GOOD[i].path);
        cr_assert_eq(facet_image_read(&decoded, png, 3), FACET_OK, "%s", facet_last_error());
        double psnr;
        cr_assert_eq(facet_psnr(&decoded, &reference, NULL, &psnr), FACET_OK);
        sum += psnr;
        facet_image_free(&reference);
        facet_image_free(&decoded);
        facet_rgb8_free(&crop);
        free(png);
        free(data);
        free(source);
    }
    cr_assert_float_eq(s.psnr, sum / GOOD_COUNT, 1e-4, "eval %.6f, detokenized %.6f", s.psnr,
                       sum / GOOD_COUNT);

    facet_doc doc;
    char *eval = facet_path_join(t.out, "eval.json");
    cr_assert_eq(facet_json_load(&doc, eval), FACET_OK, "%s", facet_last_error());
    const cJSON *results = cJSON_GetObjectItem(doc.root, "results");
    cr_assert_float_eq(cJSON_GetObjectItem(results, "psnr")->valuedouble, s.psnr, 1e-9);
    cr_assert_float_eq(cJSON_GetObjectItem(results, "ssim")->valuedouble, s.ssim, 1e-9);
    const cJSON *sem = cJSON_GetObjectItem(cJSON_GetObjectItem(results, "branches"), "sem");
    cr_assert_float_eq(cJSON_GetObjectItem(sem, "perplexity")->valuedouble,
                       s.branches[1].perplexity, 1e-9);
    facet_doc_free(&doc);
    free(eval);
    free(recon);
}

/* ---- detokenize ------------------------------------------------------------------------------ */

Test(detokenize, output_path_replaces_the_extension_with_png) {
    char *p = facet_detokenize_output_path("out", "n01440764/img.JPEG");
    cr_assert_str_eq(p, "out/n01440764/img.png");
    free(p);
    p = facet_detokenize_output_path("out", "a.b/noext");
    cr_assert_str_eq(p, "out/a.b/noext.png", "a dot in a folder name is not an extension");
    free(p);
    p = facet_detokenize_output_path("out", ".hidden");
    cr_assert_str_eq(p, "out/.hidden.png");
    free(p);
}

Test(detokenize, decodes_every_row_to_a_png_at_its_relative_path) {
    tokenize_case t;
    setup_case(&t, "detokenize_round_trip");
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, t.out, 3, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    char *recon = facet_format("%s/recon", t.dir);
    facet_detokenize_options d = {
        .model_path = t.model, .tokens = t.out, .out_dir = recon, .batch = 2};
    facet_detokenize_summary ds;
    cr_assert_eq(facet_detokenize(&d, &ds), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(ds.images, GOOD_COUNT);
    cr_assert_eq(ds.shards, 3);

    /* image i is the model's decoding of its tokens, post-processed as the official code */
    facet_fqgan *model;
    cr_assert_eq(facet_fqgan_load(&model, t.model, FACET_FQGAN_CPU, 1), FACET_OK);
    for (int i = 0; i < GOOD_COUNT; i++) {
        char name[64];
        snprintf(name, sizeof name, "shard-%05d.safetensors", i / 3);
        char *shard = facet_path_join(t.out, name);
        facet_safetensors st;
        cr_assert_eq(facet_safetensors_open(&st, shard), FACET_OK);
        const uint16_t *tokens[2] = {
            (const uint16_t *)facet_safetensors_get(&st, "vis")->data + 16 * (i % 3),
            (const uint16_t *)facet_safetensors_get(&st, "sem")->data + 16 * (i % 3)};
        float chw[3 * 64 * 64];
        cr_assert_eq(facet_fqgan_decode(model, tokens, 1, chw), FACET_OK);
        uint8_t want[64 * 64 * 3];
        facet_fqgan_to_uint8(chw, 64, 64, want);
        char *png = facet_detokenize_output_path(recon, GOOD[i].path);
        facet_image got;
        cr_assert_eq(facet_image_read(&got, png, 3), FACET_OK, "%s: %s", png, facet_last_error());
        cr_assert_eq(got.width, 64);
        for (int k = 0; k < 64 * 64 * 3; k++)
            cr_assert_eq((int)lrintf(got.data[k] * 255.0f), want[k], "%s value %d", png, k);
        facet_image_free(&got);
        facet_safetensors_close(&st);
        free(png);
        free(shard);
    }
    facet_fqgan_free(model);

    /* one shard file alone decodes its own rows */
    char *single = facet_format("%s/single", t.dir);
    char *shard = facet_path_join(t.out, "shard-00001.safetensors");
    facet_detokenize_options one = {.model_path = t.model, .tokens = shard, .out_dir = single};
    cr_assert_eq(facet_detokenize(&one, &ds), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(ds.images, 3);
    char *png = facet_detokenize_output_path(single, "dog/d.png");
    cr_assert(facet_is_file(png), "rows 3..5 of the input: dog/d, dog/e, dog/f");
    free(png);
    free(shard);
    free(single);
    free(recon);
}

Test(detokenize, tokens_of_another_grid_are_refused) {
    tokenize_case t;
    setup_case(&t, "detokenize_mismatch");
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, t.out, 100, 0, 1, 0, &s), FACET_OK);
    /* small Dual-8: 8x8 grid */
    facet_doc meta;
    cr_assert_eq(
        facet_json_load(&meta, test_source_path("tests/fixtures/fqgan/small-dual8/meta.json")),
        FACET_OK);
    char *config = cJSON_PrintUnformatted(cJSON_GetObjectItem(meta.root, "config"));
    char *model8 = facet_format("%s/dual8.safetensors", t.dir);
    cr_assert_eq(facet_fqgan_write_random(model8, config, 1), FACET_OK);
    char *recon = facet_format("%s/recon", t.dir);
    facet_detokenize_options d = {.model_path = model8, .tokens = t.out, .out_dir = recon};
    facet_detokenize_summary ds;
    cr_assert_neq(facet_detokenize(&d, &ds), FACET_OK);
    cr_assert(strstr(facet_last_error(), "tokens do not fit the model"), "%s", facet_last_error());
    cr_assert(strstr(facet_last_error(), "[8,8,8]"), "%s", facet_last_error());
    free(recon);
    free(model8);
    cJSON_free(config);
    facet_doc_free(&meta);
}

/* ---- non-finite weights ---------------------------------------------------------------------- */

static char model_warning[2048];
static void keep_warning(const char *message) {
    snprintf(model_warning, sizeof model_warning, "%s", message);
}

Test(fqgan_load, weights_holding_nan_are_named_in_a_warning) {
    const char *dir = scratch("fqgan_nan");
    char *good = facet_format("%s/good.safetensors", dir),
         *bad = facet_format("%s/bad.safetensors", dir);
    write_small_model(good);
    /* the same weights with one NaN in the first F32 tensor */
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, good), FACET_OK);
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    for (int i = 0; i < st.metadata_count; i++)
        cr_assert_eq(
            facet_safetensors_writer_metadata(&w, st.metadata_keys[i], st.metadata_values[i]),
            FACET_OK);
    const char *poisoned = NULL;
    facet_tensor copy = {0};
    for (int i = 0; i < st.count; i++) {
        const facet_tensor *t = &st.entries[i].tensor;
        if (!poisoned && t->dtype == FACET_DTYPE_F32) {
            cr_assert_eq(facet_tensor_alloc(&copy, t->dtype, t->ndim, t->shape), FACET_OK);
            memcpy(copy.data, t->data, facet_tensor_bytes(t));
            ((float *)copy.data)[facet_tensor_numel(t) - 1] = NAN;
            poisoned = st.entries[i].name;
            t = &copy;
        }
        cr_assert_eq(facet_safetensors_writer_add(&w, st.entries[i].name, t), FACET_OK);
    }
    cr_assert_eq(facet_safetensors_write(&w, bad), FACET_OK, "%s", facet_last_error());

    facet_set_warning_handler(keep_warning);
    model_warning[0] = '\0';
    facet_fqgan *model;
    cr_assert_eq(facet_fqgan_load(&model, good, FACET_FQGAN_CPU, 1), FACET_OK);
    facet_fqgan_free(model);
    cr_assert_str_eq(model_warning, "", "finite weights: no warning");
    cr_assert_eq(facet_fqgan_load(&model, bad, FACET_FQGAN_CPU, 1), FACET_OK, "%s",
                 facet_last_error());
    facet_fqgan_free(model);
    facet_set_warning_handler(NULL);
    char want[512];
    snprintf(want, sizeof want, "%s (1 NaN, 0 Inf)", poisoned);
    cr_assert(strstr(model_warning, bad) && strstr(model_warning, want) &&
                  strstr(model_warning, "facet info --check"),
              "%s", model_warning);

    facet_tensor_free(&copy);
    facet_safetensors_writer_free(&w);
    facet_safetensors_close(&st);
    free(good);
    free(bad);
}

/* ---- detokenize: hostile token folders --------------------------------------------------------
 * Token folders come from other people: a shard's per-image paths and a manifest's shard files are
 * data, never paths (core/safe_name.h). */

/* Copies shard `from` to `to` with metadata "paths" replaced by `paths_json`. */
static void rewrite_paths(const char *from, const char *to, const char *paths_json) {
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, from), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    for (int i = 0; i < st.metadata_count; i++)
        cr_assert_eq(facet_safetensors_writer_metadata(
                         &w, st.metadata_keys[i],
                         strcmp(st.metadata_keys[i], "paths") ? st.metadata_values[i] : paths_json),
                     FACET_OK);
    for (int i = 0; i < st.count; i++)
        cr_assert_eq(facet_safetensors_writer_add(&w, st.entries[i].name, &st.entries[i].tensor),
                     FACET_OK);
    cr_assert_eq(facet_safetensors_write(&w, to), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
    facet_safetensors_close(&st);
}

/* The GOOD paths as a JSON array, with row `row` replaced by `name`. */
static char *paths_with(int row, const char *name) {
    cJSON *list = cJSON_CreateArray();
    for (int i = 0; i < GOOD_COUNT; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(i == row ? name : GOOD[i].path));
    char *text = cJSON_PrintUnformatted(list);
    cJSON_Delete(list);
    return text;
}

/* PNG files anywhere under `dir`, recursively. */
static int count_pngs(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *path = facet_path_join(dir, e->d_name);
        if (facet_is_dir(path))
            n += count_pngs(path);
        else
            n += !strcmp(facet_path_extension(e->d_name), ".png");
        free(path);
    }
    closedir(d);
    return n;
}

/* PNG files written under a case's folder: everything but the input dataset's own. */
static int written_pngs(const tokenize_case *t) {
    return count_pngs(t->dir) - count_pngs(t->data);
}

/* One shard of every GOOD row in t->out/shard-00000.safetensors. */
static void one_shard_case(tokenize_case *t, const char *name) {
    setup_case(t, name);
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(t, t->out, 100, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
}

Test(detokenize, a_shard_path_that_leaves_the_output_folder_writes_nothing) {
    tokenize_case t;
    one_shard_case(&t, "detokenize_hostile_paths");
    char long_component[300];
    memset(long_component, 'a', sizeof long_component - 1);
    long_component[sizeof long_component - 1] = '\0';
    const struct {
        const char *name, *reason;
    } cases[] = {
        {"../../../x.jpg", "'..' component"},
        {"cat/../../../../x.jpg", "'..' component"},
        {"/tmp/facet-escape.jpg", "is absolute"},
        {"cat//x.jpg", "empty component"},
        {"cat/x.jpg/", "empty component"},
        {"./x.jpg", "'.' component"},
        {"", "is empty"},
        {"cat/\x1b[2Jx.jpg", "control character"},
        {"cat/x\ny.jpg", "control character"},
        {"..\\..\\x.jpg", "backslash"},
        {long_component, "longer than"},
    };
    const char *shard = "shard-00000.safetensors";
    char *original = facet_format("%s/%s", t.out, shard);
    char *keep = facet_format("%s/original.safetensors", t.dir);
    cr_assert_eq(rename(original, keep), 0);
    /* the output folder two levels down, so that "../../../x" would land inside t.dir */
    char *recon = facet_format("%s/out/a/b", t.dir);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *paths = paths_with(2, cases[k].name);
        rewrite_paths(keep, original, paths);
        facet_detokenize_options d = {.model_path = t.model, .tokens = t.out, .out_dir = recon};
        facet_detokenize_summary ds;
        cr_assert_neq(facet_detokenize(&d, &ds), FACET_OK, "case %zu was accepted", k);
        const char *e = facet_last_error();
        cr_assert(strstr(e, "unsafe name") && strstr(e, cases[k].reason), "case %zu: %s", k, e);
        cr_assert(strstr(e, "metadata 'paths'[2]") && strstr(e, shard), "names the row: %s", e);
        cr_assert(!strchr(e, '\x1b') && !strchr(e, '\n'), "control bytes are escaped: %s", e);
        cr_assert_eq(written_pngs(&t), 0, "case %zu: a PNG was written", k);
        cr_assert_eq(ds.images, 0);
        cJSON_free(paths);
    }

    /* "\u0000" would cut the C string to a harmless-looking name: refused as such */
    char *paths = paths_with(2, "@");
    char *at = strchr(paths, '@');
    char *nul = facet_format("%.*s../x\\u0000.jpg%s", (int)(at - paths), paths, at + 1);
    rewrite_paths(keep, original, nul);
    facet_detokenize_options d = {.model_path = t.model, .tokens = t.out, .out_dir = recon};
    facet_detokenize_summary ds;
    cr_assert_neq(facet_detokenize(&d, &ds), FACET_OK);
    cr_assert(strstr(facet_last_error(), "metadata 'paths'"), "%s", facet_last_error());
    cr_assert_eq(written_pngs(&t), 0);
    free(nul);
    cJSON_free(paths);

    /* the same shard with its own paths decodes, inside the output folder only */
    paths = paths_with(-1, "");
    rewrite_paths(keep, original, paths);
    cJSON_free(paths);
    cr_assert_eq(facet_detokenize(&d, &ds), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(count_pngs(recon), GOOD_COUNT);
    cr_assert_eq(written_pngs(&t), GOOD_COUNT);
    free(recon);
    free(keep);
    free(original);
}

Test(detokenize, manifest_shard_files_must_stay_in_the_tokens_folder) {
    tokenize_case t;
    one_shard_case(&t, "detokenize_hostile_manifest");
    char *manifest = facet_path_join(t.out, "manifest.json");
    const char *bad[] = {"../tokens/shard-00000.safetensors", "/etc/passwd", "a//b.safetensors"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        facet_doc doc;
        cr_assert_eq(facet_json_load(&doc, manifest), FACET_OK);
        cJSON *entry = cJSON_GetArrayItem(cJSON_GetObjectItem(doc.root, "shards"), 0);
        cJSON_ReplaceItemInObject(entry, "file", cJSON_CreateString(bad[k]));
        char *other = facet_format("%s/manifest-%zu.json", t.out, k);
        cr_assert_eq(facet_json_write_atomic(other, doc.root), FACET_OK);
        char *recon = facet_format("%s/recon", t.dir);
        facet_detokenize_options d = {.model_path = t.model, .tokens = other, .out_dir = recon};
        facet_detokenize_summary ds;
        cr_assert_neq(facet_detokenize(&d, &ds), FACET_OK, "'%s' was followed", bad[k]);
        cr_assert(strstr(facet_last_error(), "shards[0].file") &&
                      strstr(facet_last_error(), "unsafe name"),
                  "%s", facet_last_error());
        cr_assert_eq(written_pngs(&t), 0);
        free(recon);
        free(other);
        facet_doc_free(&doc);
    }
    free(manifest);
}

Test(detokenize, names_that_differ_only_in_extension_keep_it_instead_of_overwriting) {
    tokenize_case t;
    one_shard_case(&t, "detokenize_collisions");
    char *original = facet_format("%s/shard-00000.safetensors", t.out);
    char *keep = facet_format("%s/original.safetensors", t.dir);
    cr_assert_eq(rename(original, keep), 0);
    /* rows 0 and 1 are cat/a.jpg and cat/b.png: make row 1 cat/a.png */
    char *paths = paths_with(1, "cat/a.png");
    rewrite_paths(keep, original, paths);
    char *recon = facet_format("%s/recon", t.dir);
    facet_detokenize_options d = {.model_path = t.model, .tokens = t.out, .out_dir = recon};
    facet_detokenize_summary ds;
    cr_assert_eq(facet_detokenize(&d, &ds), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(count_pngs(recon), GOOD_COUNT, "no reconstruction overwrote another");
    char *a_jpg = facet_path_join(recon, "cat/a.jpg.png"),
         *a_png = facet_path_join(recon, "cat/a.png.png");
    char *c = facet_path_join(recon, "cat/c.png");
    cr_assert(facet_is_file(a_jpg) && facet_is_file(a_png) && facet_is_file(c));
    cJSON_free(paths);

    /* names that still collide once extensions are kept: an error, nothing written */
    paths = paths_with(1, "cat/a.jpg");
    rewrite_paths(keep, original, paths);
    char *recon2 = facet_format("%s/recon2", t.dir);
    d.out_dir = recon2;
    cr_assert_neq(facet_detokenize(&d, &ds), FACET_OK);
    cr_assert(strstr(facet_last_error(), "would both be written to 'cat/a.jpg.png'"), "%s",
              facet_last_error());
    cr_assert_eq(count_pngs(recon2), 0);
    free(recon2);
    free(a_jpg);
    free(a_png);
    free(c);
    free(recon);
    cJSON_free(paths);
    free(keep);
    free(original);
}

/* ---- WebDataset tar inputs ------------------------------------------------------------------ */

/* A tar of dataset files in the given order: member "<path>" (key: the path without its
 * extension) and, for files in a class folder, "<key>.cls" holding the folder's class id as the
 * folder input numbers it (cat 0, dog 1). */
static void make_tar(const char *tar_path, const dataset_file *files, int first, int end) {
    tar_builder tar = {0};
    for (int i = first; i < end; i++) {
        char *from = facet_format("%s/tests/fixtures/tokenize/inputs/%s", FACET_SOURCE_DIR,
                                  files[i].fixture);
        char *data;
        size_t size;
        cr_assert_eq(facet_read_file(from, &data, &size), FACET_OK);
        tar_file(&tar, files[i].path, data, size);
        const char *slash = strchr(files[i].path, '/');
        if (slash) {
            char key[256], cls[264];
            snprintf(key, sizeof key, "%s", files[i].path);
            *strrchr(key, '.') = '\0';
            snprintf(cls, sizeof cls, "%s.cls", key);
            tar_text(&tar, cls, files[i].path[0] == 'c' ? "0\n" : "1\n");
        }
        free(data);
        free(from);
    }
    tar_finish(&tar);
    tar_save(&tar, tar_path);
    tar_free(&tar);
}

static facet_status tokenize_input(const tokenize_case *t, const char *input, const char *out,
                                   int shard_size, int shard_index, int shard_count,
                                   facet_tokenize_summary *summary) {
    facet_tokenize_options o = {.model_path = t->model,
                                .input = input,
                                .out_dir = out,
                                .batch = 3,
                                .shard_size = shard_size,
                                .shard_index = shard_index,
                                .shard_count = shard_count,
                                .workers = 2};
    return facet_tokenize(&o, summary);
}

/* Every tensor of shard s in `a` equals the one in `b` (metadata aside: paths differ). */
static void expect_same_tensors(const char *a, const char *b, int shards) {
    const char *names[] = {"vis", "sem", "index", "class"};
    for (int s = 0; s < shards; s++) {
        char name[64];
        snprintf(name, sizeof name, "shard-%05d.safetensors", s);
        char *x = facet_path_join(a, name), *y = facet_path_join(b, name);
        facet_safetensors sx, sy;
        cr_assert_eq(facet_safetensors_open(&sx, x), FACET_OK, "%s", facet_last_error());
        cr_assert_eq(facet_safetensors_open(&sy, y), FACET_OK, "%s", facet_last_error());
        for (int k = 0; k < 4; k++) {
            const facet_tensor *tx = facet_safetensors_get(&sx, names[k]);
            const facet_tensor *ty = facet_safetensors_get(&sy, names[k]);
            cr_assert(tx && ty && tx->shape[0] == ty->shape[0], "%s %s", name, names[k]);
            const size_t bytes = facet_tensor_bytes(tx);
            cr_assert_eq(bytes, facet_tensor_bytes(ty));
            cr_assert(!memcmp(tx->data, ty->data, bytes), "%s: '%s' differs", name, names[k]);
        }
        facet_safetensors_close(&sx);
        facet_safetensors_close(&sy);
        free(x);
        free(y);
    }
}

Test(webdataset, tar_shards_tokenize_to_the_tokens_of_the_same_image_folder) {
    tokenize_case t;
    setup_case(&t, "wds_equal");
    char *tars = facet_format("%s/tars", t.dir), *folder = facet_format("%s/folder", t.dir);
    cr_assert_eq(facet_make_dirs(tars), FACET_OK);
    char *a = facet_format("%s/shard-000000.tar", tars),
         *b = facet_format("%s/shard-000001.tar", tars);
    make_tar(a, GOOD, 0, 5);
    make_tar(b, GOOD, 5, GOOD_COUNT);
    facet_tokenize_summary s;
    cr_assert_eq(run_tokenize(&t, folder, 3, 0, 1, 0, &s), FACET_OK, "%s", facet_last_error());
    char *pattern = facet_format("%s/shard-{000000..000001}.tar", tars);
    cr_assert_eq(tokenize_input(&t, pattern, t.out, 3, 0, 1, &s), FACET_OK, "%s",
                 facet_last_error());
    cr_assert_eq(s.images, GOOD_COUNT);
    cr_assert_eq(s.encoded, GOOD_COUNT);
    cr_assert_eq(s.failed, 0);
    cr_assert_eq(s.stages[FACET_STAGE_READ].threads, 1, "one tar reader");
    expect_same_tensors(folder, t.out, 3);

    facet_doc doc;
    const cJSON *m = load_manifest(t.out, &doc);
    const cJSON *inputs = cJSON_GetObjectItem(m, "inputs");
    cr_assert_str_eq(cJSON_GetObjectItem(inputs, "listed")->valuestring, "webdataset");
    cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(inputs, "tars"), 1)->valuestring,
                     "shard-000001.tar");
    facet_doc_free(&doc);
    char *shard = facet_path_join(t.out, "shard-00001.safetensors");
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, shard), FACET_OK);
    cJSON *paths = cJSON_Parse(facet_safetensors_metadata(&st, "paths"));
    cr_assert_str_eq(cJSON_GetArrayItem(paths, 0)->valuestring, "shard-000000.tar#dog/d");
    cr_assert_str_eq(cJSON_GetArrayItem(paths, 2)->valuestring, "shard-000001.tar#dog/f");
    cJSON_Delete(paths);
    facet_safetensors_close(&st);

    /* the same tars through a list file are the same input: identical shard files */
    char *list = facet_format("%s/list.txt", tars), *listed = facet_format("%s/listed", t.dir);
    FILE *f = fopen(list, "w");
    fprintf(f, "shard-000000.tar\n# comment\nshard-000001.tar\n");
    fclose(f);
    cr_assert_eq(tokenize_input(&t, list, listed, 3, 0, 1, &s), FACET_OK, "%s", facet_last_error());
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "shard-%05d.safetensors", k);
        char *x = facet_path_join(t.out, name), *y = facet_path_join(listed, name);
        cr_assert(files_equal(x, y), "%s", name);
        free(x);
        free(y);
    }
    free(listed);
    free(list);
    free(shard);
    free(pattern);
    free(a);
    free(b);
    free(folder);
    free(tars);
}

Test(webdataset, shard_halves_together_equal_one_run_and_a_rerun_resumes) {
    tokenize_case t;
    setup_case(&t, "wds_shards");
    char *tar = facet_format("%s/all.tar", t.dir), *halves = facet_format("%s/halves", t.dir);
    make_tar(tar, GOOD, 0, GOOD_COUNT);
    facet_tokenize_summary s;
    cr_assert_eq(tokenize_input(&t, tar, t.out, 2, 0, 1, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(tokenize_input(&t, tar, halves, 2, 1, 2, &s), FACET_OK, "%s", facet_last_error());
    cr_assert(!s.complete);
    cr_assert_eq(tokenize_input(&t, tar, halves, 2, 0, 2, &s), FACET_OK, "%s", facet_last_error());
    cr_assert(s.complete);
    expect_same_tokens(t.out, halves, 4);
    char *shard = facet_path_join(halves, "shard-00002.safetensors");
    cr_assert_eq(unlink(shard), 0);
    cr_assert_eq(tokenize_input(&t, tar, halves, 2, 0, 1, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.written_shards, 1);
    cr_assert_eq(s.encoded, 2, "only the missing shard's samples are read and encoded");
    expect_same_tokens(t.out, halves, 4);
    free(shard);
    free(halves);
    free(tar);
}

Test(webdataset, corrupt_members_webp_and_imageless_samples_are_listed_in_failed) {
    tokenize_case t;
    setup_case(&t, "wds_failed");
    tar_builder tar = {0};
    const char *fixtures[] = {"jpeg444_300x300.jpg", "bad_truncated.jpg", "png_tiny_7x5.png"};
    const char *names[] = {"good.jpg", "cut.jpg", "also.png"};
    for (int i = 0; i < 3; i++) {
        char *from =
            facet_format("%s/tests/fixtures/tokenize/inputs/%s", FACET_SOURCE_DIR, fixtures[i]);
        char *data;
        size_t size;
        cr_assert_eq(facet_read_file(from, &data, &size), FACET_OK);
        tar_file(&tar, names[i], data, size);
        free(data);
        free(from);
    }
    tar_text(&tar, "caption.txt", "no image");
    tar_file(&tar, "photo.webp", "RIFF\x10\0\0\0WEBPVP8 ", 16);
    tar_text(&tar, "../escape.jpg", "x");
    tar_finish(&tar);
    char *path = facet_format("%s/mixed.tar", t.dir);
    tar_save(&tar, path);
    tar_free(&tar);
    facet_tokenize_summary s;
    cr_assert_eq(tokenize_input(&t, path, t.out, 4, 0, 1, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.images, 6);
    cr_assert_eq(s.encoded, 2);
    cr_assert_eq(s.failed, 4);
    facet_doc doc;
    const cJSON *failed = cJSON_GetObjectItem(load_manifest(t.out, &doc), "failed");
    const char *expected[4][2] = {{"mixed.tar#cut", "truncated JPEG"},
                                  {"mixed.tar#caption", "no image member"},
                                  {"mixed.tar#photo", "WebP"},
                                  {"mixed.tar#../escape", "not a safe name"}};
    cr_assert_eq(cJSON_GetArraySize(failed), 4);
    for (int i = 0; i < 4; i++) {
        const cJSON *entry = cJSON_GetArrayItem(failed, i);
        cr_assert_str_eq(cJSON_GetObjectItem(entry, "path")->valuestring, expected[i][0]);
        cr_assert(strstr(cJSON_GetObjectItem(entry, "reason")->valuestring, expected[i][1]), "%s",
                  cJSON_GetObjectItem(entry, "reason")->valuestring);
    }
    facet_doc_free(&doc);
    free(path);
}

Test(webdataset, a_tar_that_cannot_be_opened_is_an_error_naming_it) {
    tokenize_case t;
    setup_case(&t, "wds_missing");
    char *pattern = facet_format("%s/none-{0..1}.tar", t.dir);
    facet_tokenize_summary s;
    cr_assert_neq(tokenize_input(&t, pattern, t.out, 4, 0, 1, &s), FACET_OK);
    cr_assert(strstr(facet_last_error(), "none-0.tar"), "%s", facet_last_error());
    char *garbage = facet_format("%s/garbage.tar", t.dir);
    FILE *f = fopen(garbage, "wb");
    for (int i = 0; i < 4096; i++) fputc('g', f);
    fclose(f);
    cr_assert_neq(tokenize_input(&t, garbage, t.out, 4, 0, 1, &s), FACET_OK);
    cr_assert(strstr(facet_last_error(), "garbage.tar"), "%s", facet_last_error());
    free(garbage);
    free(pattern);
}

/* ---- .npz batches (ADM evaluator) --------------------------------------------------------------
 */

Test(npz, the_npy_header_is_numpys_and_the_zip_opens_in_numpy) {
    const char *dir = scratch("npz_numpy");
    /* the header equals the one facet_npy_write (numpy.save's) gives the same array */
    uint8_t pixels[2 * 4 * 5 * 3];
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (uint8_t)(i * 7);
    facet_tensor t = {FACET_DTYPE_U8, 4, {2, 4, 5, 3}, pixels, FACET_MEMORY_HOST, 0};
    char *npy = facet_path_join(dir, "ref.npy");
    cr_assert_eq(facet_npy_write(&t, npy), FACET_OK);
    char *written;
    size_t size;
    cr_assert_eq(facet_read_file(npy, &written, &size), FACET_OK);
    char header[256];
    const size_t n = facet_npz_npy_header(2, 4, 5, header, sizeof header);
    cr_assert_eq(n + sizeof pixels, size);
    cr_assert(!memcmp(header, written, n), "header differs from numpy's");
    free(written);
    for (int zip64 = 0; zip64 <= 1; zip64++) {
        char name[32];
        snprintf(name, sizeof name, "batch%d.npz", zip64);
        char *path = facet_path_join(dir, name);
        facet_npz_writer w;
        cr_assert_eq(facet_npz_begin(&w, path, 4, 5), FACET_OK);
        w.force_zip64 = zip64;
        cr_assert_eq(facet_npz_append(&w, pixels, 1), FACET_OK);
        cr_assert(!facet_is_file(path), "nothing under the name before commit");
        cr_assert_eq(facet_npz_append(&w, pixels + 60, 1), FACET_OK);
        cr_assert_eq(facet_npz_commit(&w), FACET_OK, "%s", facet_last_error());
        char *command = facet_format(
            "/usr/bin/python3 -c \"import numpy, zipfile, sys; a = "
            "numpy.load(sys.argv[1])['arr_0']; "
            "assert zipfile.ZipFile(sys.argv[1]).testzip() is None; "
            "assert a.dtype == numpy.uint8 and a.shape == (2, 4, 5, 3); "
            "assert (a.reshape(-1) == numpy.load(sys.argv[2]).reshape(-1)).all()\" '%s' '%s'",
            path, npy);
        cr_assert_eq(test_run(command), 0, "numpy.load(%s)['arr_0'] (zip64 %d)", path, zip64);
        free(command);
        free(path);
    }
    free(npy);
}

/* The rows of an .npz facet wrote: [rows, S, S, 3] bytes after the local header and .npy header. */
static uint8_t *npz_rows(const char *path, int size, int64_t *rows) {
    char *data;
    size_t bytes;
    cr_assert_eq(facet_read_file(path, &data, &bytes), FACET_OK);
    char header[256];
    const size_t n = facet_npz_npy_header(0, size, size, header, sizeof header);
    const size_t start = 30 + 9 + 20 + n, row = (size_t)size * size * 3;
    const char *shape = strstr(data + 59 + 10, "'shape': (");
    cr_assert(shape);
    const long long count = atoll(shape + 10);
    cr_assert(start + (size_t)count * row <= bytes);
    uint8_t *out = malloc((size_t)count * row + 1);
    memcpy(out, data + start, (size_t)count * row);
    free(data);
    *rows = count;
    return out;
}

Test(npz, save_inputs_npz_holds_the_crops_in_input_order_also_after_a_resume) {
    tokenize_case t;
    setup_case(&t, "npz_inputs");
    const dataset_file bad[] = {{"dog/zz_bad.jpg", "bad_truncated.jpg"}};
    make_dataset(t.data, bad, 1);
    char *npz = facet_format("%s/ref.npz", t.dir);
    facet_tokenize_options o = {.model_path = t.model,
                                .input = t.data,
                                .out_dir = t.out,
                                .batch = 3,
                                .shard_size = 3,
                                .workers = 2,
                                .save_inputs_npz = npz};
    facet_tokenize_summary s;
    cr_assert_eq(facet_tokenize(&o, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.npz_rows, GOOD_COUNT, "the failed image has no row");
    int64_t rows;
    uint8_t *got = npz_rows(npz, 64, &rows);
    cr_assert_eq(rows, GOOD_COUNT);
    /* input order: cat/a..c, dog/d..g, (dog/zz_bad failed), z */
    const int order[GOOD_COUNT] = {0, 1, 2, 3, 4, 5, 6, 7};
    for (int i = 0; i < GOOD_COUNT; i++) {
        char *path = facet_path_join(t.data, GOOD[order[i]].path), *data;
        size_t size;
        cr_assert_eq(facet_read_file(path, &data, &size), FACET_OK);
        facet_rgb8 crop;
        cr_assert_eq(facet_preprocess_image((unsigned char *)data, size, 64, &crop, NULL),
                     FACET_OK);
        cr_assert(!memcmp(crop.data, got + (size_t)i * 64 * 64 * 3, 64 * 64 * 3), "row %d", i);
        facet_rgb8_free(&crop);
        free(data);
        free(path);
    }
    /* a resumed run decodes the complete shards again: the same file */
    char *shard = facet_path_join(t.out, "shard-00001.safetensors");
    cr_assert_eq(unlink(shard), 0);
    char *again = facet_format("%s/again.npz", t.dir);
    o.save_inputs_npz = again;
    cr_assert_eq(facet_tokenize(&o, &s), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.written_shards, 1);
    cr_assert(files_equal(npz, again), "resumed reference batch differs");

    /* detokenize --npz: the reconstructions, one row per image, in the same order */
    char *rec = facet_format("%s/rec.npz", t.dir);
    facet_detokenize_options d = {.model_path = t.model, .tokens = t.out, .npz_path = rec};
    facet_detokenize_summary ds;
    cr_assert_eq(facet_detokenize(&d, &ds), FACET_OK, "%s", facet_last_error());
    int64_t rec_rows;
    uint8_t *reconstructed = npz_rows(rec, 64, &rec_rows);
    cr_assert_eq(rec_rows, GOOD_COUNT);
    facet_fqgan *model;
    cr_assert_eq(facet_fqgan_load(&model, t.model, FACET_FQGAN_CPU, 1), FACET_OK);
    char *first = facet_path_join(t.out, "shard-00000.safetensors");
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, first), FACET_OK);
    const uint16_t *tokens[2] = {facet_safetensors_get(&st, "vis")->data,
                                 facet_safetensors_get(&st, "sem")->data};
    float image[3 * 64 * 64];
    uint8_t pixels[64 * 64 * 3];
    cr_assert_eq(facet_fqgan_decode(model, tokens, 1, image), FACET_OK);
    facet_fqgan_to_uint8(image, 64, 64, pixels);
    cr_assert(!memcmp(pixels, reconstructed, sizeof pixels), "row 0 is image 0 decoded");
    facet_safetensors_close(&st);
    facet_fqgan_free(model);
    free(first);
    free(reconstructed);
    free(rec);
    free(again);
    free(shard);
    free(got);
    free(npz);
}

/* ---- the command line: kill -9 and resume, MPI, help ----------------------------------------- */

/* Runs `facet ARGS...` to completion with quiet output; returns its exit status. */
static int run_facet(const char *args) {
    char *command = facet_format("OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 '%s' %s "
                                 ">/dev/null 2>&1",
                                 FACET_EXECUTABLE, args);
    int status = test_run(command);
    free(command);
    return status;
}

/* Every shard file in `dir` is a complete safetensors file, every shard the manifest lists is
 * present with its sha256; returns the number of shard files. */
static int expect_only_complete_shards(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert(d);
    struct dirent *e;
    int shards = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "shard-", 6) || strstr(e->d_name, ".tmp-")) continue;
        char *path = facet_path_join(dir, e->d_name);
        facet_safetensors st;
        cr_assert_eq(facet_safetensors_open(&st, path), FACET_OK, "partial shard: %s",
                     facet_last_error());
        facet_safetensors_close(&st);
        free(path);
        shards++;
    }
    closedir(d);
    char *manifest = facet_path_join(dir, "manifest.json");
    if (facet_is_file(manifest)) {
        facet_doc doc;
        cr_assert_eq(facet_json_load(&doc, manifest), FACET_OK, "%s", facet_last_error());
        const cJSON *entry;
        cJSON_ArrayForEach(entry, cJSON_GetObjectItem(doc.root, "shards")) {
            char *path = facet_path_join(dir, cJSON_GetObjectItem(entry, "file")->valuestring);
            char sha[65];
            cr_assert_eq(facet_sha256_file(path, sha), FACET_OK, "listed but absent: %s", path);
            cr_assert_str_eq(sha, cJSON_GetObjectItem(entry, "sha256")->valuestring);
            free(path);
        }
        facet_doc_free(&doc);
    }
    free(manifest);
    return shards;
}

Test(cli, kill_9_mid_run_then_rerun_equals_an_uninterrupted_run, .timeout = 240) {
    tokenize_case t;
    setup_case(&t, "cli_kill_resume");
    /* 48 images in 24 shards of 2, one image per model call: slow enough to interrupt */
    for (int copy = 0; copy < 5; copy++) {
        dataset_file more[GOOD_COUNT];
        char names[GOOD_COUNT][64];
        for (int i = 0; i < GOOD_COUNT; i++) {
            snprintf(names[i], sizeof names[i], "copy%d/%s", copy, GOOD[i].path);
            more[i] = (dataset_file){names[i], GOOD[i].fixture};
        }
        make_dataset(t.data, more, GOOD_COUNT);
    }
    char *args = facet_format("tokenize '%s' '%s' --out '%s' --shard-size 2 --batch 1 "
                              "--workers 1 --quiet",
                              t.model, t.data, t.out);
    char *reference = facet_format("%s/reference", t.dir);
    char *reference_args = facet_format("tokenize '%s' '%s' --out '%s' --shard-size 2 --batch 1 "
                                        "--workers 1 --quiet",
                                        t.model, t.data, reference);
    cr_assert_eq(run_facet(reference_args), 0);

    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        char *command = facet_format("exec '%s' %s >/dev/null 2>&1", FACET_EXECUTABLE, args);
        setenv("OMP_NUM_THREADS", "1", 1);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    char *second = facet_path_join(t.out, "shard-00001.safetensors");
    int status, exited = 0;
    for (int i = 0; i < 60000 && !facet_is_file(second); i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = 1;
            break;
        }
        usleep(1000);
    }
    cr_assert(!exited, "the run finished before it could be interrupted");
    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    int shards = expect_only_complete_shards(t.out);
    cr_assert(shards >= 2 && shards < 24, "%d of 24 shards at the kill", shards);
    cr_assert_eq(run_facet(args), 0, "the re-run resumes");
    cr_assert_eq(expect_only_complete_shards(t.out), 24);
    expect_same_tokens(t.out, reference, 24);
    DIR *d = opendir(t.out);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        cr_assert(!strstr(e->d_name, ".tmp-"), "stale temporary %s", e->d_name);
    closedir(d);
    free(second);
    free(reference_args);
    free(reference);
    free(args);
}

Test(cli, kill_9_mid_run_over_tar_shards_then_rerun_equals_an_uninterrupted_run, .timeout = 240) {
    tokenize_case t;
    setup_case(&t, "cli_kill_tars");
    /* 48 samples in 3 tars, 24 token shards of 2, one image per model call */
    dataset_file all[6 * GOOD_COUNT];
    char names[6 * GOOD_COUNT][64];
    for (int copy = 0; copy < 6; copy++)
        for (int i = 0; i < GOOD_COUNT; i++) {
            const int k = copy * GOOD_COUNT + i;
            snprintf(names[k], sizeof names[k], "copy%d/%s", copy, GOOD[i].path);
            all[k] = (dataset_file){names[k], GOOD[i].fixture};
        }
    for (int part = 0; part < 3; part++) {
        char *tar = facet_format("%s/part-%02d.tar", t.dir, part);
        make_tar(tar, all, part * 16, (part + 1) * 16);
        free(tar);
    }
    char *input = facet_format("%s/part-{00..02}.tar", t.dir);
    char *args = facet_format("tokenize '%s' '%s' --out '%s' --shard-size 2 --batch 1 "
                              "--workers 1 --quiet",
                              t.model, input, t.out);
    char *reference = facet_format("%s/reference", t.dir);
    char *reference_args = facet_format("tokenize '%s' '%s' --out '%s' --shard-size 2 --batch 1 "
                                        "--workers 1 --quiet",
                                        t.model, input, reference);
    cr_assert_eq(run_facet(reference_args), 0);

    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        char *command = facet_format("exec '%s' %s >/dev/null 2>&1", FACET_EXECUTABLE, args);
        setenv("OMP_NUM_THREADS", "1", 1);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    char *second = facet_path_join(t.out, "shard-00001.safetensors");
    int status, exited = 0;
    for (int i = 0; i < 60000 && !facet_is_file(second); i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = 1;
            break;
        }
        usleep(1000);
    }
    cr_assert(!exited, "the run finished before it could be interrupted");
    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    const int shards = expect_only_complete_shards(t.out);
    cr_assert(shards >= 2 && shards < 24, "%d of 24 shards at the kill", shards);
    cr_assert_eq(run_facet(args), 0, "the re-run resumes");
    cr_assert_eq(expect_only_complete_shards(t.out), 24);
    expect_same_tokens(t.out, reference, 24);
    free(second);
    free(reference_args);
    free(reference);
    free(args);
    free(input);
}

Test(cli, mpirun_with_two_ranks_equals_one_process, .timeout = 240) {
    if (test_run("command -v mpirun >/dev/null 2>&1") != 0)
        cr_skip_test("mpirun is not installed (Debian openmpi-bin)");
    tokenize_case t;
    setup_case(&t, "cli_mpi");
    char *single = facet_format("%s/single", t.dir);
    char *args = facet_format("tokenize '%s' '%s' --out '%s' --shard-size 2 --quiet", t.model,
                              t.data, single);
    cr_assert_eq(run_facet(args), 0);
    /* Open MPI refuses root unless told; leak checkers do not apply to Open MPI's own memory */
    char *command = facet_format(
        "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 "
        "OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=0 mpirun -np 2 --oversubscribe "
        "-x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS -x ASAN_OPTIONS "
        "'%s' tokenize '%s' '%s' --out '%s' --shard-size 2 --quiet > '%s/mpi.log' 2>&1",
        FACET_EXECUTABLE, t.model, t.data, t.out, t.dir);
    int status = test_run(command);
    char *log = facet_format("%s/mpi.log", t.dir), *text = NULL;
    size_t size;
    facet_read_file(log, &text, &size);
    cr_assert_eq(status, 0, "mpirun failed:\n%s", text ? text : "");
    cr_assert(strstr(text, "tokenized 8 of 8 images"), "rank 0 reports all ranks:\n%s", text);
    expect_same_tokens(t.out, single, 4);
    free(text);
    free(log);
    free(command);
    free(args);
    free(single);
}

Test(cli, tokenize_and_detokenize_help_describe_their_options) {
    const char *dir = scratch("cli_help");
    char *command = facet_format("'%s' tokenize --help > '%s/t.txt' && '%s' detokenize --help > "
                                 "'%s/d.txt'",
                                 FACET_EXECUTABLE, dir, FACET_EXECUTABLE, dir);
    cr_assert_eq(test_run(command), 0);
    char *path = facet_format("%s/t.txt", dir), *text;
    size_t size;
    cr_assert_eq(facet_read_file(path, &text, &size), FACET_OK);
    const char *tokenize_words[] = {"--out DIR",
                                    "--batch N",
                                    "--shard K/N",
                                    "--device cpu|cuda",
                                    "--eval",
                                    "mpirun",
                                    "manifest.json",
                                    "failed",
                                    "--save-inputs-npz",
                                    "shard-{000000..000099}.tar",
                                    "bottleneck"};
    for (size_t i = 0; i < sizeof tokenize_words / sizeof tokenize_words[0]; i++)
        cr_assert(strstr(text, tokenize_words[i]), "tokenize --help lacks '%s'", tokenize_words[i]);
    free(text);
    free(path);
    path = facet_format("%s/d.txt", dir);
    cr_assert_eq(facet_read_file(path, &text, &size), FACET_OK);
    cr_assert(strstr(text, "usage: facet detokenize MODEL TOKENS [--out DIR] [--npz FILE]"));
    cr_assert(strstr(text, ".png"));
    free(text);
    free(path);
    free(command);
}

Test(cli, usage_errors_exit_with_status_2) {
    cr_assert_eq(run_facet("tokenize model.safetensors images"), 2, "--out is required");
    cr_assert_eq(run_facet("tokenize m i --out o --shard 2/2"), 2, "K must be below N");
    cr_assert_eq(run_facet("tokenize m i --out o --device tpu"), 2);
    cr_assert_eq(run_facet("tokenize m i --out o --precision tf32"), 2, "tf32 needs cuda");
    cr_assert_eq(run_facet("tokenize m i --out o --precision fp8"), 2);
    cr_assert_eq(run_facet("detokenize m"), 2, "TOKENS is required");
    cr_assert_eq(run_facet("tokenize /nonexistent/m.safetensors /nonexistent/images --out o"), 1,
                 "a missing input is a runtime error");
}
