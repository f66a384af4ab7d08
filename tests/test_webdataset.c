/* datasets/ WebDataset inputs: brace expansion (against the braceexpand package's documented
 * outputs), the tar sample reader (WebDataset's grouping rules, image preference, .cls, hostile
 * and damaged tars, caps), tar lists (names relative to the common folder, list files, order),
 * and streaming selected samples. Tars are built by tests/tar_builder.h. */
#include "datasets/brace_expand.h"
#include "datasets/wds_tar.h"
#include "datasets/webdataset.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "helpers.h"
#include "tar_builder.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- brace expansion ------------------------------------------------------------------------ */

/* Expands `pattern` and checks the result against the space-separated `expected`. */
static void expect_expansion(const char *pattern, const char *expected) {
    char **items;
    int count;
    cr_assert_eq(facet_brace_expand(pattern, &items, &count), FACET_OK, "%s: %s", pattern,
                 facet_last_error());
    char joined[4096] = "";
    for (int i = 0; i < count; i++) {
        if (i) strcat(joined, " ");
        strcat(joined, items[i]);
    }
    cr_assert_str_eq(joined, expected, "%s", pattern);
    facet_brace_free(items, count);
}

Test(brace, zero_padded_shard_ranges_as_webdataset) {
    expect_expansion("data/shard-{000000..000003}.tar",
                     "data/shard-000000.tar data/shard-000001.tar data/shard-000002.tar "
                     "data/shard-000003.tar");
    expect_expansion("{07..10}", "07 08 09 10");
    expect_expansion("{8..11}", "8 9 10 11");
    expect_expansion("{-05..05..5}", "-05 000 005");
    expect_expansion("{0..2}", "0 1 2");
}

Test(brace, the_braceexpand_documentation_examples) {
    expect_expansion("item{1..3}", "item1 item2 item3");
    expect_expansion("{a..c}", "a b c");
    expect_expansion("index.html{,.backup}", "index.html index.html.backup");
    expect_expansion("python{2.{5..7},3.{2,3}}",
                     "python2.5 python2.6 python2.7 python3.2 python3.3");
    expect_expansion("{a..g..2}", "a c e g");
    expect_expansion("{4..1}", "4 3 2 1");
    expect_expansion("{2..-1}", "2 1 0 -1");
    expect_expansion("{1\\{2,3}", "1{2 3");
    expect_expansion("{Y..b}", "Y Z a b");
    expect_expansion("{c..a}", "c b a");
    expect_expansion("{1..10..-3}", "1 4 7 10");
}

Test(brace, lists_multiply_leftmost_slowest_and_non_expressions_stay_literal) {
    expect_expansion("{train,val}/part-{0..1}.tar",
                     "train/part-0.tar train/part-1.tar val/part-0.tar val/part-1.tar");
    expect_expansion("a{x}b", "a{x}b");
    expect_expansion("{}", "{}");
    expect_expansion("plain.tar", "plain.tar");
    expect_expansion("\\{0..2\\}", "{0..2}");
    cr_assert(facet_brace_has_pattern("a{0..1}.tar"));
    cr_assert(!facet_brace_has_pattern("a\\{0..1}.tar"));
    cr_assert(!facet_brace_has_pattern("a.tar"));
}

Test(brace, unbalanced_and_oversized_patterns_are_errors) {
    char **items;
    int count;
    cr_assert_neq(facet_brace_expand("{1{2,3}", &items, &count), FACET_OK);
    cr_assert(strstr(facet_last_error(), "unbalanced"), "%s", facet_last_error());
    cr_assert_neq(facet_brace_expand("x{0..9999999}", &items, &count), FACET_OK);
    cr_assert(strstr(facet_last_error(), "more than"), "%s", facet_last_error());
    cr_assert_neq(facet_brace_expand("{0..999}{0..999}{0..9}", &items, &count), FACET_OK);
    cr_assert_neq(facet_brace_expand("{0..99999999999999999999}", &items, &count), FACET_OK);
    cr_assert(strstr(facet_last_error(), "64 bits"), "%s", facet_last_error());
}

/* ---- the tar sample reader ------------------------------------------------------------------- */

typedef struct read_sample {
    char key[256], suffix[8], error[512];
    int64_t class_id, bytes;
    char first_byte;
} read_sample;

/* Reads every sample of the tar in `t` (with or without data) into out[]; returns the count. */
static int read_all(const tar_builder *t, int want_data, read_sample *out, int max) {
    facet_wds_reader *r;
    cr_assert_eq(facet_wds_open_memory(&r, t->data, t->size, "test.tar"), FACET_OK);
    int n = 0;
    for (;;) {
        facet_wds_sample s;
        int got;
        cr_assert_eq(facet_wds_next(r, want_data, &s, &got), FACET_OK, "%s", facet_last_error());
        if (!got) break;
        cr_assert(n < max);
        read_sample *o = &out[n++];
        snprintf(o->key, sizeof o->key, "%s", s.key);
        snprintf(o->suffix, sizeof o->suffix, "%s", s.image_suffix);
        snprintf(o->error, sizeof o->error, "%s", s.error ? s.error : "");
        o->class_id = s.class_id;
        o->bytes = s.image_bytes;
        o->first_byte = s.image ? (char)s.image[0] : 0;
        cr_assert(!want_data || s.error || (s.image != NULL), "data read");
        facet_wds_sample_free(&s);
    }
    facet_wds_close(r);
    return n;
}

Test(wds_tar, members_group_by_key_with_the_preferred_image_and_the_class) {
    tar_builder t = {0};
    tar_text(&t, "n01/a.png", "P-a");
    tar_text(&t, "n01/a.jpg", "J-a");
    tar_text(&t, "n01/a.cls", "  12\n");
    tar_text(&t, "n01/a.json", "{}");
    tar_text(&t, "b.webp", "W-b");
    tar_text(&t, "b.JPEG", "E-b");
    tar_text(&t, "c.seg.png", "not the image");
    tar_text(&t, "c.txt", "caption");
    tar_text(&t, "d.PNG", "P-d");
    tar_text(&t, "d.cls", "+3");
    tar_finish(&t);
    read_sample s[8];
    const int n = read_all(&t, 1, s, 8);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(s[0].key, "n01/a");
    cr_assert_str_eq(s[0].suffix, "jpg", "jpg before png");
    cr_assert_eq(s[0].first_byte, 'J');
    cr_assert_eq(s[0].class_id, 12);
    cr_assert_str_eq(s[0].error, "");
    cr_assert_str_eq(s[1].suffix, "jpeg", "jpeg before webp, suffixes lower-cased");
    cr_assert_eq(s[1].class_id, -1, "no .cls");
    cr_assert_str_eq(s[2].key, "c");
    cr_assert(strstr(s[2].error, "no image member"), "%s", s[2].error);
    cr_assert_str_eq(s[3].suffix, "png");
    cr_assert_eq(s[3].class_id, 3);
    /* without data: the same samples, no class */
    read_sample h[8];
    cr_assert_eq(read_all(&t, 0, h, 8), 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(h[i].key, s[i].key);
        cr_assert_str_eq(h[i].suffix, s[i].suffix);
        cr_assert_eq(h[i].class_id, -1);
    }
    tar_free(&t);
}

Test(wds_tar, links_folders_metadata_and_names_without_a_dot_are_skipped) {
    tar_builder t = {0};
    tar_member(&t, "dir", '5', NULL, 0, 0, NULL);
    tar_member(&t, "s.jpg", '2', NULL, 0, 0, "/etc/passwd");
    tar_member(&t, "h.jpg", '1', NULL, 0, 0, "a.jpg");
    tar_text(&t, "__meta__/x.jpg", "meta");
    tar_text(&t, "__index__", "meta");
    tar_text(&t, "README", "no suffix");
    tar_text(&t, ".hidden.jpg", "top-level dot file: no key");
    tar_text(&t, "a.jpg", "J");
    tar_finish(&t);
    read_sample s[4];
    cr_assert_eq(read_all(&t, 1, s, 4), 1);
    cr_assert_str_eq(s[0].key, "a");
    cr_assert_str_eq(s[0].error, "");
    tar_free(&t);
}

Test(wds_tar, hostile_names_are_unusable_samples_with_the_name_quoted) {
    tar_builder t = {0};
    tar_text(&t, "/etc/passwd.jpg", "x");
    tar_text(&t, "../../evil.jpg", "x");
    tar_text(&t, "a/\x1b[2J.jpg", "x");
    tar_text(&t, "d/.x.jpg", "x"); /* WebDataset's regex keys this on "d/" */
    tar_text(&t, "ok/fine.jpg", "x");
    tar_finish(&t);
    read_sample s[8];
    cr_assert_eq(read_all(&t, 1, s, 8), 5);
    cr_assert(strstr(s[0].error, "not a safe name") && strstr(s[0].error, "absolute"), "%s",
              s[0].error);
    cr_assert(strstr(s[1].error, "'..'"), "%s", s[1].error);
    cr_assert(strstr(s[2].key, "\\x1b") && !strchr(s[2].key, 0x1b), "quoted: %s", s[2].key);
    cr_assert_str_eq(s[3].key, "d/");
    cr_assert(strstr(s[3].error, "not a safe name"), "%s", s[3].error);
    cr_assert_str_eq(s[4].error, "");
    tar_free(&t);
}

Test(wds_tar, duplicates_bad_classes_and_oversized_members_are_unusable) {
    tar_builder t = {0};
    tar_text(&t, "a.jpg", "1");
    tar_text(&t, "a.jpg", "2");
    tar_text(&t, "b.jpg", "x");
    tar_text(&t, "b.cls", "seven");
    tar_text(&t, "c.jpg", "x");
    char big[100];
    memset(big, '1', sizeof big);
    tar_file(&t, "c.cls", big, sizeof big);
    tar_text(&t, "d.jpg", "x");
    tar_text(&t, "d.cls", "-1");
    tar_finish(&t);
    read_sample s[8];
    cr_assert_eq(read_all(&t, 1, s, 8), 4);
    cr_assert(strstr(s[0].error, "appears twice"), "%s", s[0].error);
    cr_assert(strstr(s[1].error, "not an integer"), "%s", s[1].error);
    cr_assert(strstr(s[2].error, "over 64 bytes"), "%s", s[2].error);
    cr_assert(strstr(s[3].error, "not an integer"), "negative: %s", s[3].error);
    tar_free(&t);

    /* an image member declared over the cap is never allocated */
    tar_builder u = {0};
    tar_member(&u, "huge.jpg", '0', "x", 1, (uint64_t)FACET_WDS_IMAGE_MAX + 1, NULL);
    read_sample h[2];
    cr_assert_eq(read_all(&u, 1, h, 2), 1);
    cr_assert(h[0].error[0], "huge member refused");
    cr_assert_eq(h[0].bytes, (int64_t)FACET_WDS_IMAGE_MAX + 1);
    tar_free(&u);
}

Test(wds_tar, a_truncated_tar_fails_the_sample_it_cuts_and_ends) {
    tar_builder t = {0};
    tar_text(&t, "a.jpg", "complete");
    tar_text(&t, "a.cls", "1");
    char data[3000];
    memset(data, 'z', sizeof data);
    tar_file(&t, "b.jpg", data, sizeof data);
    tar_text(&t, "c.jpg", "never reached");
    tar_finish(&t);
    t.size = 512 * 4 + 700; /* a.jpg, a.cls (2 blocks each), b.jpg's header and part of its data */
    for (int want = 0; want <= 1; want++) {
        read_sample s[4];
        cr_assert_eq(read_all(&t, want, s, 4), 2);
        cr_assert_str_eq(s[0].error, "");
        cr_assert_str_eq(s[1].key, "b");
        cr_assert(strstr(s[1].error, "truncated or damaged"), "%s", s[1].error);
    }
    tar_free(&t);
}

Test(wds_tar, damage_after_a_sample_and_garbage_tars) {
    tar_builder t = {0};
    tar_text(&t, "a.jpg", "x");
    tar_text(&t, "b.jpg", "x");
    tar_finish(&t);
    memset(t.data + 1024 + 148, '7', 6); /* b.jpg's header checksum */
    read_sample s[4];
    cr_assert_eq(read_all(&t, 1, s, 4), 1);
    cr_assert(strstr(s[0].error, "truncated or damaged"), "%s", s[0].error);
    tar_free(&t);

    /* libarchive reads the first header when opening: either step fails, naming the tar */
    const char garbage[2048] = "this is not a tar";
    facet_wds_reader *r;
    facet_status status = facet_wds_open_memory(&r, garbage, sizeof garbage, "garbage.tar");
    if (status == FACET_OK) {
        facet_wds_sample sample;
        int got;
        status = facet_wds_next(r, 1, &sample, &got);
        facet_wds_close(r);
    }
    cr_assert_neq(status, FACET_OK);
    cr_assert(strstr(facet_last_error(), "garbage.tar"), "%s", facet_last_error());

    tar_builder empty = {0};
    tar_finish(&empty);
    cr_assert_eq(read_all(&empty, 1, s, 4), 0, "an empty tar has no samples");
    tar_free(&empty);
}

/* ---- tar lists and streaming ----------------------------------------------------------------- */

static void save_tar(const char *dir, const char *name, const char *const *members, int n) {
    tar_builder t = {0};
    for (int i = 0; i < n; i++) tar_text(&t, members[i], members[i]);
    tar_finish(&t);
    char *path = facet_path_join(dir, name);
    char *folder = facet_strdup(path);
    *strrchr(folder, '/') = '\0';
    cr_assert_eq(facet_make_dirs(folder), FACET_OK);
    tar_save(&t, path);
    free(folder);
    free(path);
    tar_free(&t);
}

Test(webdataset, a_brace_pattern_lists_samples_in_shard_then_member_order) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", test_scratch_dir("wds_brace"));
    const char *one[] = {"z.jpg", "a.jpg", "a.png"}, *two[] = {"m.png"};
    save_tar(dir, "train/part-0.tar", one, 3);
    save_tar(dir, "val/part-0.tar", two, 1);
    char *pattern = facet_format("%s/{train,val}/part-{0..0}.tar", dir);
    cr_assert(facet_wds_is_input(pattern));
    facet_wds_list list;
    cr_assert_eq(facet_wds_list_open(&list, pattern), FACET_OK, "%s", facet_last_error());
    cr_assert_str_eq(list.root, dir);
    cr_assert_eq(list.tar_count, 2);
    cr_assert_str_eq(list.tar_names[0], "train/part-0.tar");
    cr_assert_eq(list.count, 3);
    cr_assert_str_eq(list.paths[0], "train/part-0.tar#z", "member order, not sorted");
    cr_assert_str_eq(list.paths[1], "train/part-0.tar#a");
    cr_assert_str_eq(list.paths[2], "val/part-0.tar#m");
    cr_assert_eq(list.tar_first[1], 2);
    facet_wds_list_free(&list);
    free(pattern);
}

Test(webdataset, list_files_single_tars_and_their_errors) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", test_scratch_dir("wds_list"));
    const char *m[] = {"a.jpg", "b.jpg"};
    save_tar(dir, "s/x.tar", m, 2);
    save_tar(dir, "s/y.tar", m, 1);
    test_write_file(dir, "tars.txt", "# shards\ns/y.tar\n\n  s/x.tar  \n", 0);
    char *list_file = facet_path_join(dir, "tars.txt");
    cr_assert(facet_wds_is_input(list_file));
    facet_wds_list list;
    cr_assert_eq(facet_wds_list_open(&list, list_file), FACET_OK, "%s", facet_last_error());
    cr_assert_str_eq(list.paths[0], "y.tar#a", "line order; names relative to the common folder");
    cr_assert_str_eq(list.paths[2], "x.tar#b");
    facet_wds_list_free(&list);

    char *tar = facet_format("%s/s/x.tar", dir);
    cr_assert(facet_wds_is_input(tar));
    cr_assert_eq(facet_wds_list_open(&list, tar), FACET_OK);
    cr_assert_str_eq(list.paths[1], "x.tar#b");
    facet_wds_list_free(&list);

    test_write_file(dir, "twice.txt", "s/x.tar\ns/./x.tar\n", 0);
    char *twice = facet_path_join(dir, "twice.txt");
    cr_assert_neq(facet_wds_list_open(&list, twice), FACET_OK);
    cr_assert(strstr(facet_last_error(), "given twice"), "%s", facet_last_error());

    test_write_file(dir, "mixed.txt", "s/x.tar\nimage.jpg\n", 0);
    char *mixed = facet_path_join(dir, "mixed.txt");
    cr_assert_neq(facet_wds_list_open(&list, mixed), FACET_OK);
    cr_assert(strstr(facet_last_error(), "not a tar"), "%s", facet_last_error());

    test_write_file(dir, "missing.txt", "s/x.tar\ns/none.tar\n", 0);
    char *missing = facet_path_join(dir, "missing.txt");
    cr_assert_neq(facet_wds_list_open(&list, missing), FACET_OK);
    cr_assert(strstr(facet_last_error(), "none.tar"), "names the file: %s", facet_last_error());

    test_write_file(dir, "images.txt", "a.jpg\nb.png\n", 0);
    char *images = facet_path_join(dir, "images.txt");
    cr_assert(!facet_wds_is_input(images), "an image list stays an image list");
    cr_assert(!facet_wds_is_input(dir), "a folder is a folder");
    free(images);
    free(missing);
    free(mixed);
    free(twice);
    free(tar);
    free(list_file);
}

Test(webdataset, a_name_outside_the_common_folder_and_a_returning_key_are_refused) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", test_scratch_dir("wds_names"));
    const char *m[] = {"a.jpg", "b.jpg", "a.png"};
    save_tar(dir, "x/in.tar", m, 3);
    facet_wds_list list;
    char *tar = facet_format("%s/x/in.tar", dir);
    cr_assert_eq(facet_wds_list_open(&list, tar), FACET_OK);
    cr_assert_eq(list.count, 3, "a, b, then a again: three samples, as WebDataset");
    cr_assert_null(list.errors[0]);
    cr_assert(list.errors[2] && strstr(list.errors[2], "came earlier"), "%s",
              list.errors[2] ? list.errors[2] : "(none)");
    facet_wds_list_free(&list);
    free(tar);
}

typedef struct received {
    int64_t k[16];
    char key[16][64], error[16][256];
    int64_t class_id[16];
    int count;
} received;

static int receive(void *context, int64_t k, facet_wds_sample *s) {
    received *r = context;
    r->k[r->count] = k;
    snprintf(r->key[r->count], 64, "%s", s->key);
    snprintf(r->error[r->count], 256, "%s", s->error ? s->error : "");
    r->class_id[r->count] = s->class_id;
    r->count++;
    facet_wds_sample_free(s);
    return 0;
}

Test(webdataset, streaming_delivers_exactly_the_requested_samples_with_data) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", test_scratch_dir("wds_stream"));
    tar_builder t = {0};
    tar_text(&t, "a.jpg", "x");
    tar_text(&t, "a.cls", "5");
    tar_text(&t, "b.txt", "no image");
    tar_text(&t, "c.jpg", "x");
    tar_text(&t, "c.cls", "9");
    tar_finish(&t);
    char *first = facet_path_join(dir, "s0.tar"), *second = facet_path_join(dir, "s1.tar");
    tar_save(&t, first);
    tar_save(&t, second);
    tar_free(&t);
    char *pattern = facet_format("%s/s{0..1}.tar", dir);
    facet_wds_list list;
    cr_assert_eq(facet_wds_list_open(&list, pattern), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(list.count, 6);
    const int64_t want[] = {1, 2, 5};
    received r = {0};
    cr_assert_eq(facet_wds_list_stream(&list, want, 3, receive, &r), FACET_OK);
    cr_assert_eq(r.count, 3);
    cr_assert(strstr(r.error[0], "no image"), "%s", r.error[0]);
    cr_assert_str_eq(r.key[1], "c");
    cr_assert_eq(r.class_id[1], 9);
    cr_assert_eq(r.k[2], 2);
    cr_assert_eq(r.class_id[2], 9);

    /* a tar that changed or vanished after listing: its requested samples say so */
    tar_builder other = {0};
    tar_text(&other, "q.jpg", "x");
    tar_finish(&other);
    tar_save(&other, second);
    tar_free(&other);
    const int64_t later[] = {0, 3, 5};
    memset(&r, 0, sizeof r);
    cr_assert_eq(facet_wds_list_stream(&list, later, 3, receive, &r), FACET_OK);
    cr_assert_eq(r.count, 3);
    cr_assert_str_eq(r.error[0], "");
    cr_assert_eq(r.class_id[0], 5);
    cr_assert(strstr(r.error[1], "changed since it was listed"), "%s", r.error[1]);
    cr_assert(strstr(r.error[2], "changed since it was listed"), "%s", r.error[2]);
    remove(second);
    memset(&r, 0, sizeof r);
    cr_assert_eq(facet_wds_list_stream(&list, later + 1, 2, receive, &r), FACET_OK);
    cr_assert_eq(r.count, 2);
    cr_assert(strstr(r.error[0], "s1.tar"), "names the tar: %s", r.error[0]);
    facet_wds_list_free(&list);
    free(pattern);
    free(first);
    free(second);
}
