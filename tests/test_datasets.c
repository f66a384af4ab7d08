/* datasets/: transforms.json (Blender, nerfstudio), split rules, LiveScene extras, image folders.
 * Every fixture is written by the test into its own scratch directory. */
#include "datasets/dataset.h"
#include "datasets/image_folder.h"

#include "core/fileio.h"
#include "core/image.h"
#include "core/npy.h"
#include "helpers.h"

#include "stb_image_write.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- fixture helpers ------------------------------------------------------------------------- */

#define IDENTITY "[[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]"

/* A fresh scratch directory for this test, copied out of the helper's static buffer. */
static const char *scratch(const char *name) {
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s", test_scratch_dir(name));
    return dir;
}

static void write_text(const char *dir, const char *name, const char *text) {
    test_write_file(dir, name, text, 0);
}

/* A grey PNG of width x height at dir/relative (parent directories created). */
static void write_png(const char *dir, const char *relative, int width, int height) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, relative);
    char parent[2048];
    snprintf(parent, sizeof parent, "%s", path);
    *strrchr(parent, '/') = '\0';
    cr_assert_eq(facet_make_dirs(parent), FACET_OK, "%s", facet_last_error());
    unsigned char pixels[64 * 64 * 3];
    memset(pixels, 128, sizeof pixels);
    cr_assert(width <= 64 && height <= 64);
    cr_assert(stbi_write_png(path, width, height, 3, pixels, width * 3), "cannot write %s", path);
}

/* transforms.json with `header` (global keys, each followed by a comma) and frames
 * "<dir>/<prefix><i>" for i in [0, count), all with the identity pose. */
static void write_frames(const char *dir, const char *file, const char *header, const char *prefix,
                         int count) {
    char text[16384];
    size_t n = (size_t)snprintf(text, sizeof text, "{%s \"frames\": [", header);
    for (int i = 0; i < count; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "%s{\"file_path\": \"%s%d\", \"transform_matrix\": " IDENTITY "}",
                              i ? "," : "", prefix, i);
    snprintf(text + n, sizeof text - n, "]}\n");
    write_text(dir, file, text);
}

static facet_dataset load_ok(const char *path, facet_split split,
                             const facet_dataset_options *options) {
    facet_dataset ds;
    facet_status s = facet_dataset_load_with(&ds, path, split, options);
    cr_assert_eq(s, FACET_OK, "loading %s: %s", path, facet_last_error());
    return ds;
}

/* Loads `path` expecting failure with a message containing every non-NULL needle. */
static void expect_error(const char *path, facet_split split, const char *needle1,
                         const char *needle2) {
    facet_dataset ds;
    facet_status s = facet_dataset_load(&ds, path, split);
    cr_assert_neq(s, FACET_OK, "loading %s should fail", path);
    cr_assert_eq(ds.frame_count, 0, "a failed load leaves an empty dataset");
    const char *message = facet_last_error();
    cr_assert(strstr(message, needle1), "message '%s' lacks '%s'", message, needle1);
    if (needle2) cr_assert(strstr(message, needle2), "message '%s' lacks '%s'", message, needle2);
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---- split names ----------------------------------------------------------------------------- */

Test(datasets, split_names_round_trip) {
    for (int s = FACET_SPLIT_ALL; s <= FACET_SPLIT_TEST; s++)
        cr_assert_eq(facet_split_from_name(facet_split_name((facet_split)s)), s);
    cr_assert_eq(facet_split_from_name("validation"), -1);
}

/* ---- Blender --------------------------------------------------------------------------------- */

/* NeRF-synthetic layout in scratch directory `name`: transforms_{train,val,test}.json,
 * camera_angle_x, file_path without an extension, resolution read from the 8x6 PNGs. */
static const char *make_blender(const char *name) {
    const char *dir = scratch(name);
    write_frames(dir, "transforms_train.json", "\"camera_angle_x\": 0.6911112070083618,",
                 "./train/r_", 2);
    write_frames(dir, "transforms_val.json", "\"camera_angle_x\": 0.6911112070083618,", "./val/r_",
                 1);
    write_frames(dir, "transforms_test.json", "\"camera_angle_x\": 0.6911112070083618,",
                 "./test/r_", 1);
    write_png(dir, "train/r_0.png", 8, 6);
    write_png(dir, "train/r_1.png", 8, 6);
    write_png(dir, "val/r_0.png", 8, 6);
    write_png(dir, "test/r_0.png", 8, 6);
    return dir;
}

Test(datasets, blender_split_files_each_hold_one_split) {
    const char *dir = make_blender("blender_splits");
    int expected[4] = {4, 2, 1, 1}; /* all = train + val + test */
    for (int split = FACET_SPLIT_ALL; split <= FACET_SPLIT_TEST; split++) {
        facet_dataset ds = load_ok(dir, (facet_split)split, NULL);
        cr_assert_eq(ds.frame_count, expected[split], "%s", facet_split_name((facet_split)split));
        facet_dataset_free(&ds);
    }
    facet_dataset ds = load_ok(dir, FACET_SPLIT_ALL, NULL);
    cr_assert(ends_with(ds.frames[0].image_path, "/train/r_0.png"), "%s", ds.frames[0].image_path);
    cr_assert(ends_with(ds.frames[2].image_path, "/val/r_0.png"), "%s", ds.frames[2].image_path);
    cr_assert(ends_with(ds.frames[3].image_path, "/test/r_0.png"), "%s", ds.frames[3].image_path);
    facet_dataset_free(&ds);
}

Test(datasets, blender_camera_from_camera_angle_x_and_image_size) {
    const char *dir = make_blender("blender_camera");
    facet_dataset ds = load_ok(dir, FACET_SPLIT_TRAIN, NULL);
    const facet_frame *f = &ds.frames[1];
    cr_assert_str_eq(f->name, "r_1");
    cr_assert_eq(f->index, 1);
    cr_assert_eq(f->width, 8);
    cr_assert_eq(f->height, 6);
    /* fx = 0.5 * w / tan(0.5 * camera_angle_x); fy = fx; principal point at the centre. */
    double fx = 0.5 * 8 / tan(0.5 * 0.6911112070083618);
    cr_assert_float_eq(f->fx, fx, 1e-12);
    cr_assert_float_eq(f->fy, fx, 1e-12);
    cr_assert_float_eq(f->cx, 4.0, 1e-12);
    cr_assert_float_eq(f->cy, 3.0, 1e-12);
    cr_assert_eq(f->c2w[0], 1.0);
    cr_assert_eq(f->c2w[15], 1.0);
    cr_assert_null(f->kappa, "no key_frame_value.yaml, no kappa");
    cr_assert_eq(ds.object_count, 0);
    facet_dataset_free(&ds);
}

Test(datasets, split_file_given_directly_holds_its_split) {
    const char *dir = make_blender("blender_direct");
    char path[2048];
    snprintf(path, sizeof path, "%s/transforms_test.json", dir);
    facet_dataset ds = load_ok(path, FACET_SPLIT_TEST, NULL);
    cr_assert_eq(ds.frame_count, 1);
    facet_dataset_free(&ds);
    expect_error(path, FACET_SPLIT_TRAIN, "holds the test split, not train", NULL);
}

Test(datasets, missing_split_file_is_an_error) {
    const char *dir = scratch("blender_no_val");
    write_frames(dir, "transforms_train.json", "\"camera_angle_x\": 0.7, \"w\": 4, \"h\": 4,", "r_",
                 1);
    expect_error(dir, FACET_SPLIT_VAL, "no transforms_val.json", NULL);
}

Test(datasets, more_frames_than_the_cap_are_too_large) {
    const char *dir = scratch("too_many_frames");
    /* the cap plus one frames, each an empty object: refused before any frame is read */
    const size_t count = FACET_DATASET_MAX_FRAMES + 1, size = 3 * count + 64;
    char *text = malloc(size);
    cr_assert_not_null(text);
    size_t n = (size_t)snprintf(text, size, "{\"camera_angle_x\": 0.7, \"frames\": [");
    for (size_t i = 0; i < count; i++) n += (size_t)snprintf(text + n, size - n, i ? ",{}" : "{}");
    snprintf(text + n, size - n, "]}");
    write_text(dir, "transforms.json", text);
    free(text);
    expect_error(dir, FACET_SPLIT_ALL, "1048577 frames is too large", "at most 1048576 frames");
}

Test(datasets, image_sides_beyond_the_cap_are_too_large) {
    const char *dir = scratch("too_wide");
    write_frames(dir, "transforms.json", "\"camera_angle_x\": 0.7, \"w\": 40000, \"h\": 4,", "r_",
                 1);
    expect_error(dir, FACET_SPLIT_ALL, "'w': 40000 pixels is too large", "at most 32768 pixels");
}

/* ---- nerfstudio ------------------------------------------------------------------------------ */

Test(datasets, nerfstudio_per_frame_intrinsics_override_the_global_ones) {
    const char *dir = scratch("nerfstudio");
    write_text(dir, "transforms.json",
               "{\"camera_model\": \"OPENCV\", \"fl_x\": 100, \"fl_y\": 110, \"cx\": 50, "
               "\"cy\": 40, \"w\": 100, \"h\": 80, \"k1\": 0, \"p1\": 0,\n"
               " \"frames\": [\n"
               "  {\"file_path\": \"images/frame_00001.png\", \"transform_matrix\": " IDENTITY
               "},\n"
               "  {\"file_path\": \"images/frame_00002.png\", \"fl_x\": 200, \"w\": 120, "
               "\"cx\": 61, \"transform_matrix\": [[0,0,1,2],[1,0,0,3],[0,1,0,4],[0,0,0,1]]}]}");
    facet_dataset ds = load_ok(dir, FACET_SPLIT_ALL, NULL);
    cr_assert_eq(ds.frame_count, 2);
    const facet_frame *a = &ds.frames[0], *b = &ds.frames[1];
    cr_assert_str_eq(a->name, "frame_00001");
    cr_assert(ends_with(a->image_path, "/images/frame_00001.png"), "%s", a->image_path);
    cr_assert_eq(a->fx, 100.0);
    cr_assert_eq(a->fy, 110.0);
    cr_assert_eq(a->cx, 50.0);
    cr_assert_eq(a->cy, 40.0);
    cr_assert_eq(a->width, 100);
    cr_assert_eq(a->height, 80);
    /* Frame 2 overrides fl_x, w and cx; fl_y, cy and h stay global. */
    cr_assert_eq(b->fx, 200.0);
    cr_assert_eq(b->fy, 110.0);
    cr_assert_eq(b->cx, 61.0);
    cr_assert_eq(b->cy, 40.0);
    cr_assert_eq(b->width, 120);
    cr_assert_eq(b->height, 80);
    /* Row-major: row 0 is [0,0,1,2]. */
    cr_assert_eq(b->c2w[2], 1.0);
    cr_assert_eq(b->c2w[3], 2.0);
    cr_assert_eq(b->c2w[7], 3.0);
    facet_dataset_free(&ds);
}

Test(datasets, file_path_without_extension_gets_png) {
    const char *dir = scratch("no_extension");
    write_frames(dir, "transforms.json", "\"fl_x\": 10, \"w\": 4, \"h\": 2,", "./images/shot_", 1);
    facet_dataset ds = load_ok(dir, FACET_SPLIT_ALL, NULL);
    char expected[2048];
    snprintf(expected, sizeof expected, "%s/images/shot_0.png", dir);
    cr_assert_str_eq(ds.frames[0].image_path, expected, "'./' dropped, '.png' appended");
    cr_assert_str_eq(ds.frames[0].name, "shot_0");
    facet_dataset_free(&ds);
}

Test(datasets, resolution_read_from_the_image_header) {
    const char *dir = scratch("resolution");
    write_frames(dir, "transforms.json", "\"fl_x\": 10,", "img_", 1);
    write_png(dir, "img_0.png", 5, 3);
    facet_dataset ds = load_ok(dir, FACET_SPLIT_ALL, NULL);
    cr_assert_eq(ds.frames[0].width, 5);
    cr_assert_eq(ds.frames[0].height, 3);
    cr_assert_eq(ds.frames[0].cx, 2.5, "cx defaults to w / 2");
    cr_assert_eq(ds.frames[0].cy, 1.5, "cy defaults to h / 2");
    facet_dataset_free(&ds);
}

Test(datasets, resolution_read_from_an_exr_header) {
    const char *dir = scratch("resolution_exr");
    /* Named by file_path's extension; the header is recognised by the EXR magic. */
    write_text(dir, "transforms.json",
               "{\"fl_x\": 10, \"frames\": [{\"file_path\": \"img_0.exr\", "
               "\"transform_matrix\": " IDENTITY "}]}");
    facet_image image;
    cr_assert_eq(facet_image_alloc(&image, 6, 4, 3), FACET_OK);
    char path[2048];
    snprintf(path, sizeof path, "%s/img_0.exr", dir);
    cr_assert_eq(facet_image_write_exr(&image, path, 1), FACET_OK, "%s", facet_last_error());
    facet_image_free(&image);
    facet_dataset ds = load_ok(dir, FACET_SPLIT_ALL, NULL);
    cr_assert_eq(ds.frames[0].width, 6);
    cr_assert_eq(ds.frames[0].height, 4);
    cr_assert_str_eq(ds.frames[0].name, "img_0");
    facet_dataset_free(&ds);
}

/* ---- split rules for a single transforms.json ------------------------------------------------ */

Test(datasets, interval_split_puts_even_indices_in_test) {
    const char *dir = scratch("interval");
    write_frames(dir, "transforms.json", "\"fl_x\": 10, \"w\": 4, \"h\": 4,", "f_", 5);
    facet_dataset test = load_ok(dir, FACET_SPLIT_TEST, NULL);
    facet_dataset val = load_ok(dir, FACET_SPLIT_VAL, NULL);
    facet_dataset train = load_ok(dir, FACET_SPLIT_TRAIN, NULL);
    facet_dataset all = load_ok(dir, FACET_SPLIT_ALL, NULL);
    /* eval_interval 2: i % 2 == 0 -> test (0, 2, 4); val is the same set; train 1, 3. */
    cr_assert_eq(test.frame_count, 3);
    cr_assert_eq(val.frame_count, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(test.frames[i].index, 2 * i);
        cr_assert_eq(val.frames[i].index, 2 * i);
    }
    cr_assert_eq(train.frame_count, 2);
    cr_assert_eq(train.frames[0].index, 1);
    cr_assert_eq(train.frames[1].index, 3);
    cr_assert_str_eq(train.frames[1].name, "f_3");
    cr_assert_eq(all.frame_count, 5);
    facet_dataset_free(&test);
    facet_dataset_free(&val);
    facet_dataset_free(&train);
    facet_dataset_free(&all);
}

Test(datasets, explicit_split_filenames_override_the_interval_rule) {
    const char *dir = scratch("filenames");
    write_text(dir, "transforms.json",
               "{\"fl_x\": 10, \"w\": 4, \"h\": 4,\n"
               " \"train_filenames\": [\"images/a.png\", \"./images/b\"],\n"
               " \"test_filenames\": [\"images/c.png\"],\n"
               " \"frames\": [\n"
               "  {\"file_path\": \"images/a.png\", \"transform_matrix\": " IDENTITY "},\n"
               "  {\"file_path\": \"images/b.png\", \"transform_matrix\": " IDENTITY "},\n"
               "  {\"file_path\": \"images/c.png\", \"transform_matrix\": " IDENTITY "}]}");
    facet_dataset train = load_ok(dir, FACET_SPLIT_TRAIN, NULL);
    facet_dataset test = load_ok(dir, FACET_SPLIT_TEST, NULL);
    /* The interval rule would make frames 0 and 2 test; the lists say a, b train and c test. */
    cr_assert_eq(train.frame_count, 2);
    cr_assert_str_eq(train.frames[0].name, "a");
    cr_assert_str_eq(train.frames[1].name, "b", "'./images/b' matches 'images/b.png'");
    cr_assert_eq(test.frame_count, 1);
    cr_assert_str_eq(test.frames[0].name, "c");
    facet_dataset_free(&train);
    facet_dataset_free(&test);
    /* nerfstudio: a file that lists split filenames must list the one asked for. */
    expect_error(dir, FACET_SPLIT_VAL, "no 'val_filenames'", NULL);
}

Test(datasets, explicit_split_filename_matching_no_frame_is_an_error) {
    const char *dir = scratch("filenames_unmatched");
    write_text(dir, "transforms.json",
               "{\"fl_x\": 10, \"w\": 4, \"h\": 4, \"test_filenames\": [\"images/zz.png\"],\n"
               " \"frames\": [{\"file_path\": \"images/a.png\", \"transform_matrix\": " IDENTITY
               "}]}");
    expect_error(dir, FACET_SPLIT_TEST, "test_filenames[0]", "'images/zz.png' matches no frame");
}

Test(datasets, fraction_split_follows_nerfstudio_linspace_over_sorted_names) {
    const char *dir = scratch("fraction");
    /* 20 frames written in reverse name order: img_19 first ... img_00 last. */
    char text[16384];
    size_t n =
        (size_t)snprintf(text, sizeof text, "{\"fl_x\": 10, \"w\": 4, \"h\": 4, \"frames\": [");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "%s{\"file_path\": \"img_%02d\", \"transform_matrix\": " IDENTITY "}",
                              i ? "," : "", 19 - i);
    snprintf(text + n, sizeof text - n, "]}");
    write_text(dir, "transforms.json", text);
    facet_dataset_options options = {.split_mode = FACET_SPLIT_MODE_FRACTION};
    facet_dataset test = load_ok(dir, FACET_SPLIT_TEST, &options);
    facet_dataset train = load_ok(dir, FACET_SPLIT_TRAIN, &options);
    /* ceil(20 * 0.9) = 18 train: np.linspace(0, 19, 18, dtype=int) skips sorted positions 9 and 18
     * (the floor of i * 19/17 never lands there). Those names sit at file indices 10 and 1. */
    cr_assert_eq(test.frame_count, 2);
    cr_assert_str_eq(test.frames[0].name, "img_09");
    cr_assert_eq(test.frames[0].index, 10);
    cr_assert_str_eq(test.frames[1].name, "img_18");
    cr_assert_eq(test.frames[1].index, 1);
    cr_assert_eq(train.frame_count, 18);
    cr_assert_str_eq(train.frames[0].name, "img_00", "frames come back in name order");
    cr_assert_str_eq(train.frames[17].name, "img_19");
    facet_dataset_free(&test);
    facet_dataset_free(&train);

    /* train_fraction 0.5 over 7 sorted frames: linspace(0, 6, 4) = 0, 2, 4, 6 -> eval 1, 3, 5. */
    write_frames(dir, "transforms.json", "\"fl_x\": 10, \"w\": 4, \"h\": 4,", "s_", 7);
    options.train_fraction = 0.5;
    facet_dataset half = load_ok(dir, FACET_SPLIT_TEST, &options);
    cr_assert_eq(half.frame_count, 3);
    for (int i = 0; i < 3; i++) cr_assert_eq(half.frames[i].index, 2 * i + 1);
    facet_dataset_free(&half);
}

/* ---- LiveScene extras ------------------------------------------------------------------------ */

/* In scratch directory `name`: five frames frame_0000..frame_0004 (4x2 pixels); objects drawer (id
 * 0) and door (id 1), listed out of order; key values for frames 0, 2 and 4 (door only in 0 and 2);
 * a mask for frame 0. */
static const char *make_livescene(const char *name) {
    const char *dir = scratch(name);
    write_frames(dir, "transforms.json", "\"camera_angle_x\": 0.8, \"w\": 4, \"h\": 2,",
                 "./images/frame_000", 5);
    write_text(dir, "mapping.yaml", "1: door\n0: drawer\n");
    write_text(dir, "key_frame_value.yaml",
               "frame_0000: {drawer: 10, door: 0}\n"
               "frame_0002: {drawer: 30, door: 5}\n"
               "frame_0004: {drawer: 20}\n");
    char masks[1100];
    snprintf(masks, sizeof masks, "%s/masks", dir);
    cr_assert_eq(facet_make_dirs(masks), FACET_OK);
    facet_tensor mask;
    int64_t shape[3] = {2, 4, 3}; /* (H, W, objects + background) */
    cr_assert_eq(facet_tensor_alloc(&mask, FACET_DTYPE_BOOL, 3, shape), FACET_OK);
    ((unsigned char *)mask.data)[0 * 3 + 0] = 1; /* pixel (0,0): drawer */
    for (int p = 1; p < 8; p++) ((unsigned char *)mask.data)[p * 3 + 2] = 1; /* background */
    char path[2048];
    snprintf(path, sizeof path, "%s/0000.npy", masks);
    cr_assert_eq(facet_npy_write(&mask, path), FACET_OK, "%s", facet_last_error());
    facet_tensor_free(&mask);
    return dir;
}

Test(datasets, livescene_objects_come_in_ascending_id_order) {
    facet_dataset ds = load_ok(make_livescene("livescene_objects"), FACET_SPLIT_ALL, NULL);
    cr_assert_eq(ds.object_count, 2);
    cr_assert_str_eq(ds.object_names[0], "drawer");
    cr_assert_eq(ds.object_ids[0], 0);
    cr_assert_str_eq(ds.object_names[1], "door");
    cr_assert_eq(ds.object_ids[1], 1);
    cr_assert_eq(facet_dataset_object_index(&ds, "door"), 1);
    cr_assert_eq(facet_dataset_object_index(&ds, "lamp"), -1);
    facet_dataset_free(&ds);
}

Test(datasets, livescene_kappa_is_min_max_normalised_over_the_loaded_frames) {
    const char *dir = make_livescene("livescene_kappa");
    facet_dataset ds = load_ok(dir, FACET_SPLIT_ALL, NULL);
    /* LiveScene's default (fewshot): frames without a key value count as 0. drawer raw values
     * 10, 0, 30, 0, 20 -> min 0, max 30; door 0, 0, 5, 0, 0 -> min 0, max 5. float32 as upstream.
     */
    double drawer[5] = {(float)(10.0f / 30.0f), 0, 1, 0, (float)(20.0f / 30.0f)};
    double door[5] = {0, 0, 1, 0, 0};
    unsigned char drawer_known[5] = {1, 0, 1, 0, 1}, door_known[5] = {1, 0, 1, 0, 0};
    for (int f = 0; f < 5; f++) {
        cr_assert_not_null(ds.frames[f].kappa);
        cr_assert_eq(ds.frames[f].kappa[0], drawer[f], "drawer frame %d: %.9g", f,
                     ds.frames[f].kappa[0]);
        cr_assert_eq(ds.frames[f].kappa[1], door[f], "door frame %d", f);
        cr_assert_eq(ds.frames[f].kappa_known[0], drawer_known[f]);
        cr_assert_eq(ds.frames[f].kappa_known[1], door_known[f]);
    }
    facet_dataset_free(&ds);

    /* Normalised over the split, as upstream: test = frames 0, 2, 4 -> drawer 10, 30, 20. */
    ds = load_ok(dir, FACET_SPLIT_TEST, NULL);
    cr_assert_eq(ds.frame_count, 3);
    cr_assert_eq(ds.frames[0].kappa[0], 0.0);
    cr_assert_eq(ds.frames[1].kappa[0], 1.0);
    cr_assert_eq(ds.frames[2].kappa[0], 0.5);
    facet_dataset_free(&ds);
}

Test(datasets, livescene_kappa_interpolates_between_key_frames_when_asked) {
    facet_dataset_options options = {.interpolate_kappa = 1};
    facet_dataset ds = load_ok(make_livescene("livescene_interpolate"), FACET_SPLIT_ALL, &options);
    /* np.interp: drawer 10, 20, 30, 25, 20 -> (v - 10) / 20; door 0, 2.5, 5, 5, 5 (clamped past
     * the last key frame) -> v / 5. Every value is known. */
    double drawer[5] = {0, 0.5, 1, 0.75, 0.5}, door[5] = {0, 0.5, 1, 1, 1};
    for (int f = 0; f < 5; f++) {
        cr_assert_float_eq(ds.frames[f].kappa[0], drawer[f], 1e-7, "drawer frame %d", f);
        cr_assert_float_eq(ds.frames[f].kappa[1], door[f], 1e-7, "door frame %d", f);
        cr_assert_eq(ds.frames[f].kappa_known[1], 1);
    }
    facet_dataset_free(&ds);
}

Test(datasets, livescene_mask_path_recorded_when_the_file_exists) {
    facet_dataset ds = load_ok(make_livescene("livescene_mask"), FACET_SPLIT_ALL, NULL);
    cr_assert_not_null(ds.frames[0].mask_path);
    cr_assert(ends_with(ds.frames[0].mask_path, "/masks/0000.npy"), "%s", ds.frames[0].mask_path);
    for (int f = 1; f < 5; f++) cr_assert_null(ds.frames[f].mask_path, "frame %d has no mask", f);

    facet_tensor mask;
    cr_assert_eq(facet_dataset_load_mask(&ds, 0, &mask), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(mask.shape[0], 2);
    cr_assert_eq(mask.shape[1], 4);
    cr_assert_eq(mask.shape[2], 3);
    cr_assert_eq(((unsigned char *)mask.data)[0], 1, "pixel (0,0) belongs to the drawer");
    facet_tensor_free(&mask);

    cr_assert_neq(facet_dataset_load_mask(&ds, 1, &mask), FACET_OK);
    cr_assert(strstr(facet_last_error(), "frame 'frame_0001' has no mask"), "%s",
              facet_last_error());
    facet_dataset_free(&ds);
}

Test(datasets, livescene_mask_of_the_wrong_shape_is_rejected) {
    const char *dir = make_livescene("livescene_mask_shape");
    char path[2048];
    snprintf(path, sizeof path, "%s/masks/0000.npy", dir);
    facet_tensor mask;
    int64_t shape[3] = {2, 4, 2}; /* one channel short: objects + background is 3 */
    cr_assert_eq(facet_tensor_alloc(&mask, FACET_DTYPE_BOOL, 3, shape), FACET_OK);
    cr_assert_eq(facet_npy_write(&mask, path), FACET_OK);
    facet_tensor_free(&mask);
    facet_dataset ds = load_ok(dir, FACET_SPLIT_ALL, NULL);
    cr_assert_neq(facet_dataset_load_mask(&ds, 0, &mask), FACET_OK);
    cr_assert(strstr(facet_last_error(), "expected BOOL [2,4,3], got BOOL [2,4,2]"), "%s",
              facet_last_error());
    facet_dataset_free(&ds);
}

/* ---- image folders --------------------------------------------------------------------------- */

Test(image_folder, lists_images_sorted_with_class_folders) {
    const char *dir = scratch("image_folder");
    write_png(dir, "b_cls/x.png", 2, 2);
    write_png(dir, "a_cls/sub/y.png", 2, 2);
    write_png(dir, "a_cls/z.JPG", 2, 2); /* PNG bytes, but listing goes by the extension */
    write_png(dir, "top.png", 2, 2);
    write_png(dir, ".hidden/h.png", 2, 2);
    write_text(dir, "notes.txt", "not an image");
    char path[2048];
    snprintf(path, sizeof path, "%s/empty_cls", dir);
    cr_assert_eq(facet_make_dirs(path), FACET_OK);
    snprintf(path, sizeof path, "%s/a_cls/loop", dir);
    cr_assert_eq(symlink("..", path), 0, "a symbolic link back to the root");

    facet_image_list list;
    cr_assert_eq(facet_image_folder_scan(&list, dir), FACET_OK, "%s", facet_last_error());
    /* Byte order of relative paths; classes a_cls 0, b_cls 1, empty_cls 2 (torchvision counts
     * every class folder); top.png sits in the root: class -1. */
    const char *paths[] = {"a_cls/sub/y.png", "a_cls/z.JPG", "b_cls/x.png", "top.png"};
    int classes[] = {0, 0, 1, -1};
    cr_assert_eq(list.count, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(list.paths[i], paths[i]);
        cr_assert_eq(list.class_ids[i], classes[i], "%s", paths[i]);
    }
    cr_assert_eq(list.class_count, 3);
    cr_assert_str_eq(list.class_names[2], "empty_cls");
    facet_image_list_free(&list);
}

Test(image_folder, list_file_paths_are_relative_to_its_directory) {
    const char *dir = scratch("image_list");
    write_text(dir, "inputs.txt",
               "# images to tokenize\r\n"
               "\n"
               "  ./b/2.png  \r\n"
               "a/1.png\n"
               "top.png");
    char path[2048];
    snprintf(path, sizeof path, "%s/inputs.txt", dir);
    facet_image_list list;
    cr_assert_eq(facet_image_list_open(&list, path), FACET_OK, "%s", facet_last_error());
    cr_assert_str_eq(list.root, dir);
    cr_assert_eq(list.count, 3);
    cr_assert_str_eq(list.paths[0], "a/1.png");
    cr_assert_str_eq(list.paths[1], "b/2.png", "'./' and surrounding blanks dropped");
    cr_assert_str_eq(list.paths[2], "top.png");
    cr_assert_eq(list.class_ids[0], 0);
    cr_assert_eq(list.class_ids[1], 1);
    cr_assert_eq(list.class_ids[2], -1);
    facet_image_list_free(&list);
}

Test(image_folder, list_file_rejects_paths_leaving_its_directory) {
    const char *dir = scratch("image_list_bad");
    char path[2048];
    snprintf(path, sizeof path, "%s/inputs.txt", dir);
    facet_image_list list;
    write_text(dir, "inputs.txt", "a.png\n../secret.png\n");
    cr_assert_neq(facet_image_list_read(&list, path), FACET_OK);
    cr_assert(strstr(facet_last_error(), "inputs.txt:2: '../secret.png' leaves"), "%s",
              facet_last_error());
    write_text(dir, "inputs.txt", "/etc/x.png\n");
    cr_assert_neq(facet_image_list_read(&list, path), FACET_OK);
    cr_assert(strstr(facet_last_error(), "inputs.txt:1: absolute path"), "%s", facet_last_error());
    write_text(dir, "inputs.txt", "a.png\n./a.png\n");
    cr_assert_neq(facet_image_list_read(&list, path), FACET_OK);
    cr_assert(strstr(facet_last_error(), "'a.png' is listed twice"), "%s", facet_last_error());
}

Test(image_folder, folder_without_images_is_an_error) {
    const char *dir = scratch("image_folder_empty");
    write_text(dir, "readme.md", "# nothing here");
    facet_image_list list;
    cr_assert_neq(facet_image_folder_scan(&list, dir), FACET_OK);
    cr_assert(strstr(facet_last_error(), "no image files"), "%s", facet_last_error());
}

/* ---- bad inputs ------------------------------------------------------------------------------ */

Test(datasets_errors, missing_transform_matrix) {
    const char *dir = scratch("bad_matrix_missing");
    write_text(dir, "transforms.json",
               "{\"fl_x\": 10, \"w\": 4, \"h\": 4, \"frames\": [\n"
               " {\"file_path\": \"a\", \"transform_matrix\": " IDENTITY "},\n"
               " {\"file_path\": \"b\"}]}");
    expect_error(dir, FACET_SPLIT_ALL, "transforms.json: frames[1]: missing key 'transform_matrix'",
                 NULL);
}

Test(datasets_errors, transform_matrix_of_the_wrong_size) {
    const char *dir = scratch("bad_matrix_size");
    write_text(dir, "transforms.json",
               "{\"fl_x\": 10, \"w\": 4, \"h\": 4, \"frames\": [\n"
               " {\"file_path\": \"a\", \"transform_matrix\": [[1,0,0,0],[0,1,0,0],[0,0,1,0]]}]}");
    expect_error(dir, FACET_SPLIT_ALL, "frames[0]: key 'transform_matrix'",
                 "expected a 4x4 matrix");
}

Test(datasets_errors, missing_camera_angle_x_and_fl_x) {
    const char *dir = scratch("bad_focal");
    write_frames(dir, "transforms.json", "\"w\": 4, \"h\": 4,", "a_", 1);
    expect_error(dir, FACET_SPLIT_ALL, "frames[0]: missing key 'fl_x'", "'camera_angle_x'");
}

Test(datasets_errors, non_zero_distortion) {
    const char *dir = scratch("bad_distortion");
    write_frames(dir, "transforms.json", "\"fl_x\": 10, \"w\": 4, \"h\": 4, \"k1\": 0.01,", "a_",
                 1);
    expect_error(dir, FACET_SPLIT_ALL, "distortion not supported", "'k1'");
}

Test(datasets_errors, fisheye_camera_model) {
    const char *dir = scratch("bad_camera_model");
    write_frames(dir, "transforms.json",
                 "\"fl_x\": 10, \"w\": 4, \"h\": 4, \"camera_model\": \"OPENCV_FISHEYE\",", "a_",
                 1);
    expect_error(dir, FACET_SPLIT_ALL, "camera_model 'OPENCV_FISHEYE' not supported", NULL);
}

Test(datasets_errors, missing_image_when_the_resolution_is_needed) {
    const char *dir = scratch("bad_no_image");
    write_frames(dir, "transforms.json", "\"camera_angle_x\": 0.7,", "r_", 1);
    expect_error(dir, FACET_SPLIT_ALL, "frames[0]: no 'w'/'h' given", "r_0.png");
}

Test(datasets_errors, malformed_json) {
    const char *dir = scratch("bad_json");
    write_text(dir, "transforms.json", "{\"fl_x\": 10,\n \"frames\": [\n  {\"file_path\": }]}");
    expect_error(dir, FACET_SPLIT_ALL, "transforms.json:3:", "invalid JSON");
}

Test(datasets_errors, malformed_yaml) {
    const char *dir = scratch("bad_yaml");
    write_frames(dir, "transforms.json", "\"fl_x\": 10, \"w\": 4, \"h\": 4,", "frame_", 1);
    write_text(dir, "mapping.yaml", "0: drawer\n1: [door\n");
    expect_error(dir, FACET_SPLIT_ALL, "mapping.yaml:", "invalid YAML");
}

Test(datasets_errors, key_frame_value_names_an_unknown_object) {
    const char *dir = scratch("bad_unknown_object");
    write_frames(dir, "transforms.json", "\"fl_x\": 10, \"w\": 4, \"h\": 4,", "frame_", 1);
    write_text(dir, "mapping.yaml", "0: drawer\n");
    write_text(dir, "key_frame_value.yaml", "frame_0: {drawer: 1, lamp: 0.5}\n");
    expect_error(dir, FACET_SPLIT_ALL, "key_frame_value.yaml: key 'frame_0.lamp'",
                 "unknown object 'lamp' (mapping.yaml has: drawer)");
}

Test(datasets_errors, nonexistent_dataset_path) {
    expect_error("/nonexistent/facet-dataset", FACET_SPLIT_TEST,
                 "dataset '/nonexistent/facet-dataset' not found", NULL);
}

Test(datasets_errors, directory_without_transforms) {
    const char *dir = scratch("bad_empty_dir");
    expect_error(dir, FACET_SPLIT_ALL, "no transforms.json", NULL);
}

/* ---- scene normalisation (datasets/normalise.h) ---------------------------------------------- */

#include "datasets/normalise.h"

static void v3_normalize(double v[3]) {
    const double n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    for (int k = 0; k < 3; k++) v[k] /= n;
}

static void v3_cross(const double a[3], const double b[3], double out[3]) {
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

/* NeRF camera-to-world at `eye` looking at `target` with world up `up`. */
static void look_at(const double eye[3], const double target[3], const double up[3],
                    double c2w[16]) {
    double f[3] = {target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]}, x[3], y[3];
    v3_normalize(f);
    v3_cross(f, up, x);
    v3_normalize(x);
    v3_cross(x, f, y);
    memset(c2w, 0, 16 * sizeof *c2w);
    for (int r = 0; r < 3; r++) {
        c2w[r * 4 + 0] = x[r];
        c2w[r * 4 + 1] = y[r];
        c2w[r * 4 + 2] = -f[r];
        c2w[r * 4 + 3] = eye[r];
    }
    c2w[15] = 1;
}

/* An orthonormal frame (e1, e2, u) with u tilted away from +z, and 24 cameras on the ellipse
 * centre + 4 cos(a) e1 + 2 sin(a) e2 (centre = target + 1.5 u) all looking at the target, a point
 * off the origin. */
enum { RIG = 24 };
static const double rig_target[3] = {3, -2, 5};
static void rig_frame(double e1[3], double e2[3], double u[3]) {
    u[0] = 0.3, u[1] = -0.2, u[2] = 1;
    v3_normalize(u);
    const double seed[3] = {1, 0.4, 0};
    v3_cross(u, seed, e2);
    v3_normalize(e2);
    v3_cross(e2, u, e1);
}
static void rig_poses(double *poses) {
    double e1[3], e2[3], u[3];
    rig_frame(e1, e2, u);
    for (int i = 0; i < RIG; i++) {
        const double a = 2 * M_PI * i / RIG;
        double eye[3];
        for (int k = 0; k < 3; k++)
            eye[k] = rig_target[k] + 1.5 * u[k] + 4 * cos(a) * e1[k] + 2 * sin(a) * e2[k];
        look_at(eye, rig_target, u, poses + 16 * i);
    }
}

static void apply(const double x[12], double scale, const double p[3], double out[3]) {
    for (int r = 0; r < 3; r++)
        out[r] =
            scale * (x[r * 4] * p[0] + x[r * 4 + 1] * p[1] + x[r * 4 + 2] * p[2] + x[r * 4 + 3]);
}
static void rotate(const double x[12], const double v[3], double out[3]) {
    for (int r = 0; r < 3; r++)
        out[r] = x[r * 4] * v[0] + x[r * 4 + 1] * v[1] + x[r * 4 + 2] * v[2];
}

static void check_rotation(const double x[12]) {
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double dot = 0;
            for (int k = 0; k < 3; k++) dot += x[a * 4 + k] * x[b * 4 + k];
            cr_assert_float_eq(dot, a == b ? 1.0 : 0.0, 1e-9, "R is not orthonormal");
        }
    const double det = x[0] * (x[5] * x[10] - x[6] * x[9]) - x[1] * (x[4] * x[10] - x[6] * x[8]) +
                       x[2] * (x[4] * x[9] - x[5] * x[8]);
    cr_assert_float_eq(det, 1.0, 1e-9, "det R = %g", det);
}

Test(normalise, up_rotates_the_mean_up_vector_onto_z_and_poses_centres_the_mean) {
    double poses[16 * RIG], x[12], scale, e1[3], e2[3], u[3], ru[3], mean[3] = {0}, m[3];
    rig_poses(poses);
    rig_frame(e1, e2, u);
    facet_normalisation method = {FACET_ORIENT_UP, FACET_CENTER_POSES, 0, 0};
    cr_assert_eq(facet_poses_normalisation(poses, RIG, &method, "rig", x, &scale), FACET_OK, "%s",
                 facet_last_error());
    check_rotation(x);
    cr_assert_float_eq(scale, 1.0, 0);
    rotate(x, u, ru); /* the rig's mean camera up is u by symmetry */
    cr_assert_float_eq(ru[2], 1.0, 1e-9, "R u = (%g, %g, %g)", ru[0], ru[1], ru[2]);
    for (int i = 0; i < RIG; i++)
        for (int k = 0; k < 3; k++) mean[k] += poses[16 * i + k * 4 + 3] / RIG;
    apply(x, scale, mean, m);
    for (int k = 0; k < 3; k++) cr_assert_float_eq(m[k], 0.0, 1e-9, "mean camera -> %g", m[k]);
    /* the transformed poses: camera up vectors average to +z, positions to 0 */
    double up[3] = {0}, pos[3] = {0};
    for (int i = 0; i < RIG; i++) {
        double p[16];
        facet_pose_normalise(x, scale, poses + 16 * i, p);
        for (int k = 0; k < 3; k++) {
            up[k] += p[k * 4 + 1] / RIG;
            pos[k] += p[k * 4 + 3] / RIG;
        }
    }
    cr_assert_float_eq(up[0], 0.0, 1e-9);
    cr_assert_float_eq(up[1], 0.0, 1e-9);
    cr_assert(up[2] > 0.5);
    for (int k = 0; k < 3; k++) cr_assert_float_eq(pos[k], 0.0, 1e-9);
}

Test(normalise, pca_aligns_the_principal_axes_largest_first_with_up_on_plus_z) {
    double poses[16 * RIG], x[12], scale, e1[3], e2[3], u[3], r1[3], r2[3], ru[3];
    rig_poses(poses);
    rig_frame(e1, e2, u);
    facet_normalisation method = {FACET_ORIENT_PCA, FACET_CENTER_NONE, 0, 0};
    cr_assert_eq(facet_poses_normalisation(poses, RIG, &method, "rig", x, &scale), FACET_OK, "%s",
                 facet_last_error());
    check_rotation(x);
    rotate(x, e1, r1); /* spread 4: x */
    rotate(x, e2, r2); /* spread 2: y */
    rotate(x, u, ru);  /* no spread: z, and the cameras' up stays up */
    cr_assert_float_eq(fabs(r1[0]), 1.0, 1e-9, "R e1 = (%g, %g, %g)", r1[0], r1[1], r1[2]);
    cr_assert_float_eq(fabs(r2[1]), 1.0, 1e-9, "R e2 = (%g, %g, %g)", r2[0], r2[1], r2[2]);
    cr_assert_float_eq(ru[2], 1.0, 1e-9, "R u = (%g, %g, %g)", ru[0], ru[1], ru[2]);
    for (int r = 0; r < 3; r++) cr_assert_float_eq(x[r * 4 + 3], 0.0, 0, "center none: t = 0");
}

Test(normalise, focus_centres_the_point_the_optical_axes_meet) {
    double poses[16 * RIG], x[12], scale, p[3];
    rig_poses(poses);
    facet_normalisation method = {FACET_ORIENT_NONE, FACET_CENTER_FOCUS, 0, 0};
    cr_assert_eq(facet_poses_normalisation(poses, RIG, &method, "rig", x, &scale), FACET_OK, "%s",
                 facet_last_error());
    apply(x, scale, rig_target, p);
    for (int k = 0; k < 3; k++) cr_assert_float_eq(p[k], 0.0, 1e-9, "target -> %g", p[k]);
    for (int k = 0; k < 3; k++)
        for (int c = 0; c < 3; c++) cr_assert_float_eq(x[k * 4 + c], k == c ? 1.0 : 0.0, 0);
}

Test(normalise, auto_scale_makes_the_largest_translation_component_exactly_one) {
    double poses[16 * RIG], x[12], scale;
    rig_poses(poses);
    for (int i = 0; i < RIG; i++) /* an un-normalised scene: x25 and far from the origin */
        for (int k = 0; k < 3; k++) poses[16 * i + k * 4 + 3] = 25 * poses[16 * i + k * 4 + 3] + 37;
    for (int o = 0; o < 3; o++)
        for (int c = 0; c < 3; c++) {
            facet_normalisation method = {(facet_orientation)o, (facet_centering)c, 1, 0};
            cr_assert_eq(facet_poses_normalisation(poses, RIG, &method, "rig", x, &scale), FACET_OK,
                         "%s", facet_last_error());
            double largest = 0;
            for (int i = 0; i < RIG; i++) {
                double p[16];
                facet_pose_normalise(x, scale, poses + 16 * i, p);
                for (int k = 0; k < 3; k++) largest = fmax(largest, fabs(p[k * 4 + 3]));
            }
            cr_assert_float_eq(largest, 1.0, 1e-12, "%s/%s: max |t| = %.17g",
                               facet_orientation_name(method.orientation),
                               facet_centering_name(method.center), largest);
        }
    facet_normalisation twice = {FACET_ORIENT_NONE, FACET_CENTER_POSES, 1, 2.0};
    double s1;
    cr_assert_eq(facet_poses_normalisation(poses, RIG, &twice, "rig", x, &s1), FACET_OK);
    twice.scale_factor = 0;
    cr_assert_eq(facet_poses_normalisation(poses, RIG, &twice, "rig", x, &scale), FACET_OK);
    cr_assert_float_eq(s1, 2 * scale, 1e-15);
}

Test(normalise, degenerate_camera_sets_fail_with_the_file_named) {
    double poses[16 * 5], x[12], scale;
    const double eye[3] = {1, 2, 3}, target[3] = {0, 0, 0}, up[3] = {0, 0, 1};
    for (int i = 0; i < 5; i++) look_at(eye, target, up, poses + 16 * i);
    facet_normalisation pca = {FACET_ORIENT_PCA, FACET_CENTER_POSES, 0, 0};
    cr_assert_neq(facet_poses_normalisation(poses, 5, &pca, "/d/transforms.json", x, &scale),
                  FACET_OK);
    cr_assert(strstr(facet_last_error(), "/d/transforms.json") && strstr(facet_last_error(), "pca"),
              "%s", facet_last_error());
    facet_normalisation focus = {FACET_ORIENT_NONE, FACET_CENTER_FOCUS, 0, 0};
    cr_assert_neq(facet_poses_normalisation(poses, 5, &focus, "/d/transforms.json", x, &scale),
                  FACET_OK);
    cr_assert(strstr(facet_last_error(), "/d/transforms.json") &&
                  strstr(facet_last_error(), "focus"),
              "%s", facet_last_error());
    facet_normalisation scaled = {FACET_ORIENT_UP, FACET_CENTER_POSES, 1, 0};
    cr_assert_neq(facet_poses_normalisation(poses, 5, &scaled, "/d/transforms.json", x, &scale),
                  FACET_OK);
    cr_assert(strstr(facet_last_error(), "auto_scale"), "%s", facet_last_error());
    /* parallel optical axes at distinct positions: focus undefined too */
    for (int i = 0; i < 5; i++) poses[16 * i + 3] += i;
    cr_assert_neq(facet_poses_normalisation(poses, 5, &focus, "/d/transforms.json", x, &scale),
                  FACET_OK);
    /* the same set is fine for the methods that are defined on it */
    facet_normalisation none = {FACET_ORIENT_UP, FACET_CENTER_NONE, 1, 0};
    cr_assert_eq(facet_poses_normalisation(poses, 5, &none, "/d/transforms.json", x, &scale),
                 FACET_OK, "%s", facet_last_error());
    cr_assert(isfinite(scale) && scale > 0);
}

/* The rig's cameras as pinhole views: 64 x 64 pixels, horizontal field of view 0.6 rad. */
static void rig_views(const double *poses, double spread, const double offset[3],
                      facet_view_camera *cams) {
    for (int i = 0; i < RIG; i++) {
        memcpy(cams[i].c2w, poses + 16 * i, sizeof cams[i].c2w);
        for (int k = 0; k < 3; k++)
            cams[i].c2w[k * 4 + 3] =
                rig_target[k] + spread * (poses[16 * i + k * 4 + 3] - rig_target[k]) + offset[k];
        cams[i].fx = cams[i].fy = 32 / tan(0.3);
        cams[i].cx = cams[i].cy = 32;
        cams[i].width = cams[i].height = 64;
    }
}

Test(normalise, view_box_holds_what_every_camera_sees_and_scales_with_the_scene) {
    double poses[16 * RIG], box[6];
    rig_poses(poses);
    facet_view_camera cams[RIG];
    rig_views(poses, 1, (const double[3]){0, 0, 0}, cams);
    cr_assert_eq(facet_view_box(cams, RIG, 0.5, "rig", box), FACET_OK, "%s", facet_last_error());
    /* every camera looks at the target from at least d_min away, so the ball of radius
       d_min sin(0.3) about it lies in every frustum (the image is square: 0.3 rad is the
       smallest half-angle of the pyramid); and no point farther than d_max / cos(0.3) * 2 from
       the target is seen by half of them */
    double dmin = INFINITY, dmax = 0;
    for (int i = 0; i < RIG; i++) {
        double d2 = 0;
        for (int k = 0; k < 3; k++) d2 += pow(cams[i].c2w[k * 4 + 3] - rig_target[k], 2);
        dmin = fmin(dmin, sqrt(d2));
        dmax = fmax(dmax, sqrt(d2));
    }
    const double inner = dmin * sin(0.3);
    for (int k = 0; k < 3; k++) {
        cr_assert_leq(box[k], rig_target[k] - inner, "axis %d: %g > %g", k, box[k],
                      rig_target[k] - inner);
        cr_assert_geq(box[3 + k], rig_target[k] + inner, "axis %d: %g < %g", k, box[3 + k],
                      rig_target[k] + inner);
        cr_assert_lt(box[3 + k] - box[k], 2 * dmax, "axis %d: extent %g", k, box[3 + k] - box[k]);
    }
    /* the same rig 25 times larger and moved: the box follows, to within a grid cell */
    const double offset[3] = {37, -12, 400};
    facet_view_camera big[RIG];
    rig_views(poses, 25, offset, big);
    double big_box[6];
    cr_assert_eq(facet_view_box(big, RIG, 0.5, "rig", big_box), FACET_OK, "%s", facet_last_error());
    for (int j = 0; j < 6; j++) {
        const int k = j % 3;
        const double expect = rig_target[k] + 25 * (box[j] - rig_target[k]) + offset[k];
        const double cell = 2 * 25 * dmax / 48;
        cr_assert(fabs(big_box[j] - expect) <= cell, "bound %d: %g, expected %g within %g", j,
                  big_box[j], expect, cell);
    }
    /* more cameras required: a smaller region */
    double all_box[6];
    cr_assert_eq(facet_view_box(cams, RIG, 1.0, "rig", all_box), FACET_OK);
    for (int k = 0; k < 3; k++) {
        cr_assert_geq(all_box[k], box[k] - 1e-9);
        cr_assert_leq(all_box[3 + k], box[3 + k] + 1e-9);
    }
}

Test(normalise, view_box_of_cameras_that_share_no_view_fails_with_the_file_named) {
    /* two cameras back to back: nothing is in front of both */
    double poses[32], box[6];
    const double up[3] = {0, 0, 1};
    look_at((const double[3]){0, 0, 0}, (const double[3]){1, 0.2, 0}, up, poses);
    look_at((const double[3]){0, 0.1, 0}, (const double[3]){-1, 0.4, 0}, up, poses + 16);
    facet_view_camera cams[2];
    for (int i = 0; i < 2; i++) {
        memcpy(cams[i].c2w, poses + 16 * i, sizeof cams[i].c2w);
        cams[i].fx = cams[i].fy = 50;
        cams[i].cx = cams[i].cy = 32;
        cams[i].width = cams[i].height = 64;
    }
    cr_assert_neq(facet_view_box(cams, 2, 1.0, "/d/transforms.json", box), FACET_OK);
    cr_assert(strstr(facet_last_error(), "/d/transforms.json") &&
                  strstr(facet_last_error(), "seen by 2 of the 2 cameras") &&
                  strstr(facet_last_error(), "--aabb"),
              "%s", facet_last_error());
}
