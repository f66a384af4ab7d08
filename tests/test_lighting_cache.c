/* The on-disk lighting cache (lighting/lighting_cache.h): a second scene load reads what the first
 * built, bit for bit; damaged, truncated and other-version files are rebuilt and replaced; the key
 * follows every input; a turned map shares its unturned file; "off" and unwritable directories;
 * pruning; the table files; the build in progress as progress displays see it; and the CLI,
 * whose cold and warm renders write the same bytes. */
#include "helpers.h"

#include "core/alloc.h"
#include "core/build_id.h"
#include "core/fileio.h"
#include "lighting/lighting.h"
#include "lighting/lighting_cache.h"
#include "nodes/builtin.h"
#include "render/scene.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* A cube small enough to prefilter in a fraction of a second. */
static const facet_lighting_options SMALL = {FACET_PREFILTER_QUALITY, 64, 16, FACET_QUALITY_SAMPLED,
                                             0};

/* FACET_CACHE_DIR = a fresh scratch folder; returns the lighting folder inside it. */
static char *use_cache(const char *name) {
    const char *root = test_scratch_dir(name);
    cr_assert_eq(setenv("FACET_CACHE_DIR", root, 1), 0);
    char *dir = facet_lighting_cache_dir();
    cr_assert_not_null(dir);
    return dir;
}

static void load_forest_scene(facet_scene *scene, const char *dir) {
    facet_register_builtin_node_kinds();
    char json[1024];
    snprintf(json, sizeof json,
             "{\"version\": 1, \"environment\": {\"map\": \"%s\"}, \"nodes\": ["
             "{\"type\": \"sdf\", \"shape\": {\"sphere\": {\"radius\": 1}}}]}",
             test_source_path("assets/demo/forest.exr"));
    const char *path = test_write_file(dir, "scene.json", json, 0);
    cr_assert_eq(facet_scene_load(scene, path), FACET_OK, "%s", facet_last_error());
}

static int count_files(const char *dir, const char *suffix) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const size_t len = strlen(e->d_name), m = strlen(suffix);
        n += len >= m && !strcmp(e->d_name + len - m, suffix);
    }
    closedir(d);
    return n;
}

static char *cache_file(const char *dir, const facet_scene *scene, const char *suffix) {
    char key[65];
    cr_assert(facet_lighting_cache_key(&scene->environment.view, &SMALL, FACET_DEVICE_CPU, key),
              "the test build has a build ID");
    return facet_format("%s/%s%s", dir, key, suffix);
}

/* Every level and the irradiance of a and b hold the same bits. */
static void assert_same_lighting(const facet_lighting *a, const facet_lighting *b) {
    cr_assert_eq(a->specular.levels, b->specular.levels);
    for (int i = 0; i < a->specular.levels; i++) {
        cr_assert_eq(a->specular.sizes[i], b->specular.sizes[i]);
        cr_assert_eq(memcmp(a->specular.level[i], b->specular.level[i],
                            facet_cube_level_floats(a->specular.sizes[i]) * sizeof(float)),
                     0, "specular level %d", i);
    }
    cr_assert_eq(a->view.diffuse_size, b->view.diffuse_size);
    cr_assert_eq(memcmp(a->diffuse, b->diffuse,
                        facet_cube_level_floats(a->view.diffuse_size) * sizeof(float)),
                 0, "irradiance");
}

/* Overwrites `count` bytes of `path` at `offset`. */
static void patch_file(const char *path, long offset, const void *bytes, size_t count) {
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, offset, SEEK_SET), 0);
    cr_assert_eq(fwrite(bytes, 1, count, f), count);
    fclose(f);
}

static long file_size(const char *path) {
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s", path);
    return (long)st.st_size;
}

Test(lighting_cache, the_build_has_an_id) {
    char id[129];
    static const int here = 0;
    cr_assert(facet_build_id(&here, id, sizeof id), "built with --build-id");
    cr_assert_geq(strlen(id), 16);
    for (const char *c = id; *c; c++) cr_assert(strchr("0123456789abcdef", *c), "%s", id);
    cr_assert(!facet_build_id(&here, id, 4), "a buffer too short for the ID");
}

Test(lighting_cache, a_second_load_reads_the_file_the_first_wrote) {
    char *dir = use_cache("lc_read");
    facet_scene scene;
    load_forest_scene(&scene, test_scratch_dir("lc_read_scene"));
    facet_lighting *first = NULL;
    cr_assert_eq(facet_lighting_sync(&first, &scene, &SMALL, FACET_DEVICE_CPU), FACET_OK, "%s",
                 facet_last_error());
    cr_assert_eq(count_files(dir, ".lighting"), 1, "the first build is written");
    facet_lighting direct;
    cr_assert_eq(facet_lighting_build(&direct, &scene.environment.view, &SMALL, FACET_DEVICE_CPU),
                 FACET_OK);
    assert_same_lighting(first, &direct);
    facet_lighting_release(first); /* the last reference: the process forgets it */

    /* A file with other texels under the same key: a load that reads it returns them. */
    char key[65];
    cr_assert(facet_lighting_cache_key(&scene.environment.view, &SMALL, FACET_DEVICE_CPU, key));
    direct.specular.level[0][100] = 1234.5f;
    direct.diffuse[7] = -2.0f;
    cr_assert_eq(facet_lighting_cache_write(dir, key, &direct), FACET_OK, "%s", facet_last_error());
    facet_lighting *second = NULL;
    cr_assert_eq(facet_lighting_sync(&second, &scene, &SMALL, FACET_DEVICE_CPU), FACET_OK);
    cr_assert_eq(second->specular.level[0][100], 1234.5f, "read from the file, not rebuilt");
    cr_assert_eq(second->diffuse[7], -2.0f);
    assert_same_lighting(second, &direct);
    cr_assert_eq(second->view.dfg, direct.view.dfg);
    facet_lighting_release(second);
    facet_lighting_free(&direct);
    facet_scene_free(&scene);
    free(dir);
}

Test(lighting_cache, a_turned_map_reads_and_writes_the_unturned_file) {
    char *dir = use_cache("lc_turned");
    facet_scene scene;
    load_forest_scene(&scene, test_scratch_dir("lc_turned_scene"));
    facet_envmap_set_rotation(&scene.environment, 90.0f);
    facet_lighting *turned = NULL;
    cr_assert_eq(facet_lighting_sync(&turned, &scene, &SMALL, FACET_DEVICE_CPU), FACET_OK, "%s",
                 facet_last_error());
    cr_assert_eq(count_files(dir, ".lighting"), 1);
    /* the file is the unturned map's: its key, and its texels */
    facet_envmap_view unturned = scene.environment.view;
    unturned.rotation_cos = 1.0f;
    unturned.rotation_sin = 0.0f;
    char key[65], path[2048];
    cr_assert(facet_lighting_cache_key(&unturned, &SMALL, FACET_DEVICE_CPU, key));
    snprintf(path, sizeof path, "%s/%s.lighting", dir, key);
    cr_assert(facet_is_file(path), "%s", path);
    facet_lighting direct;
    cr_assert_eq(facet_lighting_build(&direct, &unturned, &SMALL, FACET_DEVICE_CPU), FACET_OK);
    assert_same_lighting(turned, &direct);
    facet_lighting_free(&direct);
    facet_lighting_release(turned);
    /* another angle in a process that has forgotten it: read, nothing new written */
    facet_envmap_set_rotation(&scene.environment, 217.0f);
    facet_lighting *again = NULL;
    cr_assert_eq(facet_lighting_sync(&again, &scene, &SMALL, FACET_DEVICE_CPU), FACET_OK);
    cr_assert_eq(count_files(dir, ".lighting"), 1, "one file serves every angle");
    cr_assert_eq(facet_lighting_building(NULL, 0), 0);
    facet_lighting_release(again);
    facet_scene_free(&scene);
    free(dir);
}

typedef struct build_in_thread {
    facet_scene *scene;
    facet_status status;
} build_in_thread;

static void *sync_scene(void *arg) {
    build_in_thread *job = arg;
    facet_lighting *lighting = NULL;
    const facet_lighting_options options = {FACET_PREFILTER_QUALITY, 128, 0, FACET_QUALITY_EXACT,
                                            0};
    job->status = facet_lighting_sync(&lighting, job->scene, &options, FACET_DEVICE_CPU);
    facet_lighting_release(lighting);
    return NULL;
}

Test(lighting_cache, a_build_in_progress_is_reported_with_its_map, .timeout = 300) {
    cr_assert_eq(setenv("FACET_CACHE_DIR", "off", 1), 0); /* a build, never a read */
    char path[1024] = "stale";
    cr_assert_eq(facet_lighting_building(path, sizeof path), 0);
    cr_assert_str_eq(path, "");
    facet_scene scene;
    load_forest_scene(&scene, test_scratch_dir("lc_building"));
    build_in_thread job = {&scene, FACET_ERR_INTERNAL};
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, sync_scene, &job), 0);
    /* a 128^2 exact prefilter takes about half a second; the polls come every 50 us */
    int seen = 0;
    for (int i = 0; i < 200000 && !seen; i++) {
        seen = facet_lighting_building(path, sizeof path);
        if (!seen) usleep(50);
    }
    pthread_join(thread, NULL);
    cr_assert_eq(job.status, FACET_OK, "%s", facet_last_error());
    cr_assert(seen, "the build was never reported");
    const char *tail = strrchr(path, '/');
    cr_assert_str_eq(tail ? tail + 1 : path, "forest.exr");
    cr_assert_eq(facet_lighting_building(path, sizeof path), 0, "cleared when it ends");
    cr_assert_str_eq(path, "");
    facet_scene_free(&scene);
}

/* Damages the cache file in one way, loads again, and checks that the lighting is the built one
 * and the file whole again. */
static void check_rebuilt_after(const char *name, void (*damage)(const char *path)) {
    char *dir = use_cache(name);
    facet_scene scene;
    load_forest_scene(&scene, test_scratch_dir("lc_damage_scene"));
    facet_lighting *l = NULL;
    cr_assert_eq(facet_lighting_sync(&l, &scene, &SMALL, FACET_DEVICE_CPU), FACET_OK);
    facet_lighting_release(l);
    char *path = cache_file(dir, &scene, ".lighting");
    const long size = file_size(path);
    damage(path);
    l = NULL;
    cr_assert_eq(facet_lighting_sync(&l, &scene, &SMALL, FACET_DEVICE_CPU), FACET_OK, "%s",
                 facet_last_error());
    facet_lighting direct;
    cr_assert_eq(facet_lighting_build(&direct, &scene.environment.view, &SMALL, FACET_DEVICE_CPU),
                 FACET_OK);
    assert_same_lighting(l, &direct);
    cr_assert_eq(file_size(path), size, "the file is written again");
    char key[65];
    cr_assert(facet_lighting_cache_key(&scene.environment.view, &SMALL, FACET_DEVICE_CPU, key));
    cr_assert(facet_lighting_cache_read(dir, key, &direct), "and reads back intact");
    assert_same_lighting(l, &direct);
    facet_lighting_release(l);
    facet_lighting_free(&direct);
    facet_scene_free(&scene);
    free(path);
    free(dir);
}

static void flip_a_payload_byte(const char *path) {
    const unsigned char x = 0x5A;
    patch_file(path, file_size(path) - 1000, &x, 1);
}

static void truncate_it(const char *path) {
    cr_assert_eq(truncate(path, file_size(path) / 2), 0);
}

static void other_version(const char *path) {
    const uint32_t version = FACET_LIGHTING_CACHE_VERSION + 1;
    patch_file(path, 8, &version, sizeof version);
}

static void other_shape(const char *path) {
    const uint32_t diffuse_size = 16; /* the quality mode's is 32 */
    patch_file(path, 16, &diffuse_size, sizeof diffuse_size);
}

static void garbage(const char *path) {
    cr_assert_eq(facet_write_file_atomic(path, "not a cache file", 16), FACET_OK);
}

Test(lighting_cache, a_damaged_payload_is_rebuilt) {
    check_rebuilt_after("lc_flip", flip_a_payload_byte);
}
Test(lighting_cache, a_truncated_file_is_rebuilt) {
    check_rebuilt_after("lc_trunc", truncate_it);
}
Test(lighting_cache, another_version_is_rebuilt) {
    check_rebuilt_after("lc_ver", other_version);
}
Test(lighting_cache, another_shape_is_rebuilt) {
    check_rebuilt_after("lc_shape", other_shape);
}
Test(lighting_cache, a_foreign_file_is_rebuilt) {
    check_rebuilt_after("lc_junk", garbage);
}

/* The key of (env, options, device) differs from `base`. */
static void assert_key_differs(const char *base, const facet_envmap_view *env,
                               const facet_lighting_options *options, facet_device device,
                               const char *what) {
    char other[65];
    cr_assert(facet_lighting_cache_key(env, options, device, other));
    cr_assert_str_neq(base, other, "%s", what);
}

Test(lighting_cache, the_key_follows_the_map_the_options_and_the_device) {
    float rgb[8 * 4 * 3];
    for (int i = 0; i < 8 * 4 * 3; i++) rgb[i] = 0.25f * (float)(i % 7);
    const facet_envmap_view env = {rgb, 8, 4, FACET_ENV_BLENDER, 1.0f, 0.0f, 1.0f};
    char base[65], again[65];
    cr_assert(facet_lighting_cache_key(&env, &SMALL, FACET_DEVICE_CPU, base));
    cr_assert_eq(strlen(base), 64);
    cr_assert(facet_lighting_cache_key(&env, &SMALL, FACET_DEVICE_CPU, again));
    cr_assert_str_eq(base, again, "deterministic");

    facet_envmap_view e = env;
    float changed[8 * 4 * 3];
    memcpy(changed, rgb, sizeof rgb);
    changed[50] = nextafterf(changed[50], 10.0f);
    e.rgb = changed;
    assert_key_differs(base, &e, &SMALL, FACET_DEVICE_CPU, "one texel, one ulp");
    e = env, e.rotation_cos = 0.0f, e.rotation_sin = 1.0f;
    assert_key_differs(base, &e, &SMALL, FACET_DEVICE_CPU, "rotation");
    e = env, e.strength = 2.0f;
    assert_key_differs(base, &e, &SMALL, FACET_DEVICE_CPU, "strength");
    e = env, e.convention = FACET_ENV_NVDIFFREC;
    assert_key_differs(base, &e, &SMALL, FACET_DEVICE_CPU, "convention");
    e = env, e.width = 4, e.height = 8;
    assert_key_differs(base, &e, &SMALL, FACET_DEVICE_CPU, "shape");

    facet_lighting_options o = SMALL;
    o.size = 128;
    assert_key_differs(base, &env, &o, FACET_DEVICE_CPU, "size");
    o = SMALL, o.samples = 17;
    assert_key_differs(base, &env, &o, FACET_DEVICE_CPU, "samples");
    o = SMALL, o.filter = FACET_QUALITY_EXACT;
    assert_key_differs(base, &env, &o, FACET_DEVICE_CPU, "filter");
    o = SMALL, o.mode = FACET_PREFILTER_PARITY;
    assert_key_differs(base, &env, &o, FACET_DEVICE_CPU, "mode");
    assert_key_differs(base, &env, &SMALL, FACET_DEVICE_CUDA,
                       "device: the CUDA prefilter's bits are its own");
}

Test(lighting_cache, the_folder_follows_the_environment) {
    cr_assert_eq(setenv("FACET_CACHE_DIR", "/some/where", 1), 0);
    char *dir = facet_lighting_cache_dir();
    cr_assert_str_eq(dir, "/some/where/lighting");
    free(dir);
    cr_assert_eq(setenv("FACET_CACHE_DIR", "off", 1), 0);
    cr_assert_null(facet_lighting_cache_dir(), "off");
    unsetenv("FACET_CACHE_DIR");
    cr_assert_eq(setenv("XDG_CACHE_HOME", "/xdg", 1), 0);
    dir = facet_lighting_cache_dir();
    cr_assert_str_eq(dir, "/xdg/facet/lighting");
    free(dir);
    unsetenv("XDG_CACHE_HOME");
    cr_assert_eq(setenv("HOME", "/home/u", 1), 0);
    dir = facet_lighting_cache_dir();
    cr_assert_str_eq(dir, "/home/u/.cache/facet/lighting");
    free(dir);
    unsetenv("HOME");
    cr_assert_null(facet_lighting_cache_dir(), "nowhere to put it");
}

Test(lighting_cache, off_writes_nothing) {
    const char *root = test_scratch_dir("lc_off");
    char *lighting_dir = facet_path_join(root, "lighting");
    cr_assert_eq(setenv("FACET_CACHE_DIR", "off", 1), 0);
    cr_assert_eq(setenv("HOME", root, 1), 0); /* where it would go otherwise: nowhere */
    unsetenv("XDG_CACHE_HOME");
    facet_scene scene;
    load_forest_scene(&scene, test_scratch_dir("lc_off_scene"));
    facet_lighting *l = NULL;
    cr_assert_eq(facet_lighting_sync(&l, &scene, &SMALL, FACET_DEVICE_CPU), FACET_OK);
    facet_lighting_release(l);
    char *home_cache = facet_path_join(root, ".cache");
    cr_assert(!facet_is_dir(home_cache) && !facet_is_dir(lighting_dir));
    free(home_cache);
    free(lighting_dir);
    facet_scene_free(&scene);
}

static int warnings;
static char last_warning[1024];
static void count_warning(const char *message) {
    warnings++;
    snprintf(last_warning, sizeof last_warning, "%s", message);
}

Test(lighting_cache, an_unwritable_folder_warns_once_and_lights_the_scene) {
    const char *root = test_scratch_dir("lc_unwritable");
    /* a regular file where the cache folder would have to be made */
    const char *blocker = test_write_file(root, "blocker", "x", 0);
    char *cache = facet_path_join(blocker, "cache");
    cr_assert_eq(setenv("FACET_CACHE_DIR", cache, 1), 0);
    facet_set_warning_handler(count_warning);
    facet_scene scene;
    load_forest_scene(&scene, test_scratch_dir("lc_unwritable_scene"));
    facet_lighting *a = NULL, *b = NULL;
    cr_assert_eq(facet_lighting_sync(&a, &scene, &SMALL, FACET_DEVICE_CPU), FACET_OK, "%s",
                 facet_last_error());
    facet_lighting_options other = SMALL;
    other.samples = 8;
    cr_assert_eq(facet_lighting_sync(&b, &scene, &other, FACET_DEVICE_CPU), FACET_OK);
    cr_assert_eq(warnings, 1, "one warning per process");
    cr_assert(strstr(last_warning, "lighting cache") && strstr(last_warning, "blocker") &&
                  strstr(last_warning, "forest.exr"),
              "%s", last_warning);
    cr_assert_str_eq(facet_last_error(), "", "the failure is not left as the last error");
    facet_lighting direct;
    cr_assert_eq(facet_lighting_build(&direct, &scene.environment.view, &SMALL, FACET_DEVICE_CPU),
                 FACET_OK);
    assert_same_lighting(a, &direct);
    facet_lighting_free(&direct);
    facet_lighting_release(a);
    facet_lighting_release(b);
    facet_scene_free(&scene);
    free(cache);
}

static void touch(const char *dir, const char *name, time_t age_s) {
    const char *path = test_write_file(dir, name, "old", 0);
    struct timeval when[2];
    when[0].tv_sec = when[1].tv_sec = time(NULL) - age_s;
    when[0].tv_usec = when[1].tv_usec = 0;
    cr_assert_eq(utimes(path, when), 0);
}

Test(lighting_cache, a_write_keeps_the_newest_files_and_drops_dead_temporaries) {
    char *dir = use_cache("lc_prune");
    cr_assert_eq(facet_make_dirs(dir), FACET_OK);
    char name[64];
    for (int i = 0; i < 10; i++) { /* f0 the oldest */
        snprintf(name, sizeof name, "f%d.lighting", i);
        touch(dir, name, 1000 - 10 * i);
    }
    touch(dir, "dead.lighting.tmp-12345", 7200);
    touch(dir, "live.lighting.tmp-12346", 10);
    touch(dir, "notes.txt", 9000);
    facet_lighting l;
    cr_assert_eq(facet_lighting_build_uniform(&l, (const float[3]){1, 2, 3}, &SMALL), FACET_OK);
    cr_assert_eq(facet_lighting_cache_write(dir, "new", &l), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(count_files(dir, ".lighting"), FACET_LIGHTING_CACHE_KEEP);
    char *path;
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "f%d.lighting", i);
        path = facet_path_join(dir, name);
        cr_assert_eq(facet_is_file(path), i >= 3, "%s", name); /* f0..f2 go, new + f3..f9 stay */
        free(path);
    }
    const char *kept[] = {"new.lighting", "live.lighting.tmp-12346", "notes.txt"};
    for (int i = 0; i < 3; i++) {
        path = facet_path_join(dir, kept[i]);
        cr_assert(facet_is_file(path), "%s", kept[i]);
        free(path);
    }
    path = facet_path_join(dir, "dead.lighting.tmp-12345");
    cr_assert(!facet_is_file(path), "a temporary an hour old is a killed writer's");
    free(path);
    facet_lighting_free(&l);
    free(dir);
}

Test(lighting_cache, tables_round_trip_and_damage_is_caught) {
    char *dir = use_cache("lc_table");
    float table[1000], back[1000];
    for (int i = 0; i < 1000; i++) table[i] = (float)i * 0.37f;
    cr_assert(!facet_lighting_cache_read_table("t", back, sizeof back), "nothing yet");
    facet_lighting_cache_write_table("t", table, sizeof table);
    memset(back, 0, sizeof back);
    cr_assert(facet_lighting_cache_read_table("t", back, sizeof back));
    cr_assert_eq(memcmp(table, back, sizeof table), 0);
    cr_assert(!facet_lighting_cache_read_table("t", back, sizeof back - 4), "another size");
    cr_assert(!facet_lighting_cache_read_table("u", back, sizeof back), "another name");
    char build[129], *path;
    static const int here = 0;
    cr_assert(facet_build_id(&here, build, sizeof build));
    path = facet_format("%s/t-%s.table", dir, build);
    cr_assert(facet_is_file(path), "named for the build: %s", path);
    const float x = -1.0f;
    patch_file(path, 400, &x, sizeof x);
    cr_assert(!facet_lighting_cache_read_table("t", back, sizeof back), "a changed value");
    free(path);
    free(dir);
}

Test(lighting_cache, the_cli_renders_the_same_bytes_cold_and_warm, .timeout = 300) {
    const char *root = test_scratch_dir("lc_cli");
    char json[1024];
    snprintf(
        json, sizeof json,
        "{\"version\": 1, \"background\": \"environment\", \"environment\": {\"map\": \"%s\"},"
        " \"camera\": {\"transform_matrix\": [[1,0,0,0],[0,0,-1,-4],[0,1,0,0],[0,0,0,1]],"
        " \"camera_angle_x\": 0.7, \"width\": 48, \"height\": 32}, \"nodes\": ["
        "{\"type\": \"sdf\", \"shape\": {\"sphere\": {\"radius\": 1}}, \"lighting\": {\"size\":"
        " 64}, \"material\": {\"base_color\": [0.9, 0.9, 0.9], \"roughness\": 0.2,"
        " \"metallic\": 1}}]}",
        test_source_path("assets/demo/forest.exr"));
    test_write_file(root, "scene.json", json, 0);
    char command[2048];
    for (int run = 0; run < 2; run++) {
        snprintf(command, sizeof command,
                 "FACET_CACHE_DIR=%s/cache %s render %s/scene.json --out %s/out%d --quiet", root,
                 FACET_EXECUTABLE, root, root, run);
        cr_assert_eq(test_run(command), 0, "%s", command);
    }
    char *cache = facet_format("%s/cache/lighting", root);
    cr_assert_eq(count_files(cache, ".lighting"), 1, "the cold run filled the cache");
    cr_assert_eq(count_files(cache, ".table"), 1, "and the DFG table");
    snprintf(command, sizeof command, "cmp -s %s/out0/camera.png %s/out1/camera.png", root, root);
    cr_assert_eq(test_run(command), 0, "cold and warm renders differ");
    /* and the same as a render that never sees a cache */
    snprintf(command, sizeof command,
             "FACET_CACHE_DIR=off %s render %s/scene.json --out %s/out2 --quiet && "
             "cmp -s %s/out0/camera.png %s/out2/camera.png",
             FACET_EXECUTABLE, root, root, root, root);
    cr_assert_eq(test_run(command), 0, "%s", command);
    free(cache);
}
