/* Regression checks, on the emulated GPU (-DFACET_CUDA_EMU=ON, tools/cuemu), for faults in the
 * CUDA render paths that a normal test cannot reach: races and failed uploads.
 *
 * The program is linked with --wrap=cudaMalloc,--wrap=cudaMemcpy (tests/CMakeLists.txt), so the
 * checks can fail one chosen device allocation (through the emulator itself, so that the error is
 * recorded for cudaGetLastError as on a GPU), pause a thread inside a weight upload, and count
 * host-to-device copies of a given host buffer. Neither the runtime nor the emulator carries a
 * test hook.
 *
 * Each check runs in a child process (a crash or a hang is a FAIL, not the end of the run) and
 * prints one line, `ok   name ...` or `FAIL name ...`. Exit status 0 when all pass, 1 otherwise.
 *
 *   livescene_concurrent_first_render: a second thread renders a fresh livescene node while the
 *     first is paused inside its weight upload; both images equal a single-thread render.
 *   livescene_failed_upload_retries: an upload that fails halfway leaves no device copy and the
 *     next render uploads again and is correct.
 *   risesdf_failed_upload_retries: the same for the risesdf node (the first render reports the
 *     allocation failure; no half-made copy is published; the second render is correct).
 *   environment_uploaded_once: three frames upload the environment map once; a new map (the
 *     viewer's facet_scene_set_environment) is uploaded once more and is what the frame shows.
 */
#define _POSIX_C_SOURCE 200809L
#include "nodes/builtin.h"
#include "nodes/livescene_state.h"
#include "render/render.h"
#include "nodes/risesdf_state.h"
#include "render/scene.h"

#include "core/fileio.h"
#include "core/status.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the wrapped runtime calls ------------------------------------------------------------------
 * cudaError_t is an int-sized enum (0: cudaSuccess); cudaMemcpyKind 1 is host to device. */
enum { CUDA_SUCCESS = 0, MEMCPY_HOST_TO_DEVICE = 1 };

int __real_cudaMalloc(void **p, size_t bytes);
int __real_cudaMemcpy(void *dst, const void *src, size_t bytes, int kind);
int __wrap_cudaMalloc(void **p, size_t bytes);
int __wrap_cudaMemcpy(void *dst, const void *src, size_t bytes, int kind);

static _Atomic size_t fail_malloc_bytes; /* the next cudaMalloc of exactly this size fails */

int __wrap_cudaMalloc(void **p, size_t bytes) {
    size_t armed = bytes;
    if (bytes && atomic_compare_exchange_strong(&fail_malloc_bytes, &armed, 0))
        return __real_cudaMalloc(p, SIZE_MAX); /* the emulator's own out-of-memory path */
    return __real_cudaMalloc(p, bytes);
}

/* Host-to-device copies from `counted_src` are counted; a copy from `pause_src` blocks the thread
 * that makes it until `pause_release` is set or pause_timeout_ms passes. */
static const void *_Atomic counted_src;
static atomic_int counted_copies;
static const void *_Atomic pause_src;
static atomic_int paused, pause_release;
static const int pause_timeout_ms = 400;

static void sleep_ms(int ms) {
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int __wrap_cudaMemcpy(void *dst, const void *src, size_t bytes, int kind) {
    if (kind == MEMCPY_HOST_TO_DEVICE && src) {
        if (src == atomic_load(&counted_src)) atomic_fetch_add(&counted_copies, 1);
        const void *expected = src;
        if (atomic_compare_exchange_strong(&pause_src, &expected, NULL)) {
            atomic_store(&paused, 1);
            for (int waited = 0; waited < pause_timeout_ms && !atomic_load(&pause_release);
                 waited++)
                sleep_ms(1);
        }
    }
    return __real_cudaMemcpy(dst, src, bytes, kind);
}

/* ---- helpers --------------------------------------------------------------------------------- */

static int report(int ok, const char *name, const char *detail) {
    printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", name, detail[0] ? ": " : "", detail);
    fflush(stdout);
    return ok ? 0 : 1;
}

static int load_scene(facet_scene *scene, const char *path) {
    if (facet_scene_load(scene, path) == FACET_OK) return 1;
    fprintf(stderr, "%s\n", facet_last_error());
    return 0;
}

/* Writes `json` to a scratch scene file and returns its path (static). */
static const char *scene_file(const char *name, const char *json) {
    static char path[512];
    snprintf(path, sizeof path, "/tmp/facet-emu-findings-%ld-%s.json", (long)getpid(), name);
    if (facet_write_file_atomic(path, json, strlen(json)) != FACET_OK)
        fprintf(stderr, "%s\n", facet_last_error());
    return path;
}

static double max_difference(const facet_image *a, const facet_image *b) {
    if (a->width != b->width || a->height != b->height || a->channels != b->channels)
        return INFINITY;
    double worst = 0;
    for (size_t i = 0; i < (size_t)a->width * a->height * a->channels; i++) {
        double d = fabs((double)a->data[i] - (double)b->data[i]);
        if (!(d <= worst)) worst = d; /* NaN counts as the worst */
    }
    return worst;
}

static facet_status render_cuda_rays(const facet_scene *scene, const facet_ray *rays, int count,
                                     facet_image *out) {
    facet_render_options options = {.device = FACET_DEVICE_CUDA};
    return facet_render_rays(scene, rays, count, &options, out);
}

static facet_status render_cuda_image(const facet_scene *scene, const facet_camera *camera,
                                      facet_image *out) {
    facet_render_options options = {.device = FACET_DEVICE_CUDA};
    return facet_render_image(scene, camera, &options, out);
}

/* ---- livescene ------------------------------------------------------------------------------- */

#define LIVESCENE_SCENE FACET_SOURCE_DIR "/tests/fixtures/livescene/scene.json"
enum { LS_RAYS = 40 };

static void livescene_rays(facet_ray *rays) {
    facet_mat4 c2w = {{0.0235f, -0.1778f, 0.9838f, 4.2571f, 0.9961f, 0.0879f, -0.0079f, 0.2683f,
                       -0.0851f, 0.9801f, 0.1792f, 0.9f, 0, 0, 0, 1}};
    facet_camera cam = facet_camera_from_fov(c2w, 0.9f, 8, 5);
    for (int j = 0; j < 5; j++)
        for (int i = 0; i < 8; i++) rays[j * 8 + i] = facet_camera_ray(&cam, i, j);
}

typedef struct render_job {
    const facet_scene *scene;
    const facet_ray *rays;
    facet_image image;
    facet_status status;
    char error[256];
} render_job;

static void *render_thread(void *arg) {
    render_job *job = arg;
    job->status = render_cuda_rays(job->scene, job->rays, LS_RAYS, &job->image);
    if (job->status != FACET_OK) snprintf(job->error, sizeof job->error, "%s", facet_last_error());
    return NULL;
}

static int livescene_concurrent_first_render(void) {
    const char *name = "livescene_concurrent_first_render";
    facet_ray rays[LS_RAYS];
    livescene_rays(rays);
    facet_scene scene;
    facet_image reference;
    if (!load_scene(&scene, LIVESCENE_SCENE)) return report(0, name, "scene");
    if (render_cuda_rays(&scene, rays, LS_RAYS, &reference) != FACET_OK) {
        report(0, name, facet_last_error());
        return 1;
    }
    facet_scene_free(&scene);

    int failures = 0;
    char detail[1200] = "";
    for (int round = 0; round < 3 && !failures; round++) {
        if (!load_scene(&scene, LIVESCENE_SCENE)) return report(0, name, "scene");
        const livescene_state *state = scene.nodes[0].state;
        if (state->model.buffer_count < 2) return report(0, name, "fixture has < 2 tensors");
        /* the first thread stops after its first tensor is on the device ... */
        atomic_store(&paused, 0);
        atomic_store(&pause_release, 0);
        atomic_store(&pause_src, state->model.buffers[1]);
        render_job a = {.scene = &scene, .rays = rays}, b = {.scene = &scene, .rays = rays};
        pthread_t ta, tb;
        pthread_create(&ta, NULL, render_thread, &a);
        while (!atomic_load(&paused)) sleep_ms(1);
        /* ... and a second render of the same node starts meanwhile: it must wait for (or make)
         * a complete copy, never use the half-made one */
        pthread_create(&tb, NULL, render_thread, &b);
        pthread_join(tb, NULL);
        atomic_store(&pause_release, 1);
        pthread_join(ta, NULL);
        atomic_store(&pause_src, NULL);
        if (a.status != FACET_OK || b.status != FACET_OK) {
            snprintf(detail, sizeof detail, "round %d: render failed: %s / %s", round,
                     a.status ? a.error : "ok", b.status ? b.error : "ok");
            failures++;
        } else {
            double da = max_difference(&a.image, &reference);
            double db = max_difference(&b.image, &reference);
            if (da != 0 || db != 0) {
                snprintf(detail, sizeof detail,
                         "round %d: max |difference| to the single-thread render: paused "
                         "thread %.3g, concurrent thread %.3g",
                         round, da, db);
                failures++;
            }
        }
        if (a.status == FACET_OK) facet_image_free(&a.image);
        if (b.status == FACET_OK) facet_image_free(&b.image);
        facet_scene_free(&scene);
    }
    facet_image_free(&reference);
    if (!failures) snprintf(detail, sizeof detail, "3 rounds equal a single-thread render");
    return report(!failures, name, detail);
}

static int livescene_failed_upload_retries(void) {
    const char *name = "livescene_failed_upload_retries";
    facet_ray rays[LS_RAYS];
    livescene_rays(rays);
    facet_scene scene;
    facet_image reference, image;
    if (!load_scene(&scene, LIVESCENE_SCENE)) return report(0, name, "scene");
    if (render_cuda_rays(&scene, rays, LS_RAYS, &reference) != FACET_OK)
        return report(0, name, facet_last_error());
    facet_scene_free(&scene);
    if (!load_scene(&scene, LIVESCENE_SCENE)) return report(0, name, "scene");
    const livescene_state *state = scene.nodes[0].state;
    const int last = state->model.buffer_count - 1;
    atomic_store(&fail_malloc_bytes, state->model.buffer_info[last].bytes);
    facet_status s = render_cuda_rays(&scene, rays, LS_RAYS, &image);
    char detail[1024];
    int ok =
        s == FACET_ERR_CUDA && strstr(facet_last_error(), "out of memory") && state->device == NULL;
    snprintf(detail, sizeof detail, "first render: status %d (%s), device copy %s", (int)s,
             s == FACET_OK ? "ok" : facet_last_error(), state->device ? "published" : "none");
    if (s == FACET_OK) facet_image_free(&image);
    atomic_store(&fail_malloc_bytes, 0);
    if (ok) {
        s = render_cuda_rays(&scene, rays, LS_RAYS, &image);
        double d = s == FACET_OK ? max_difference(&image, &reference) : INFINITY;
        ok = s == FACET_OK && d == 0;
        snprintf(detail + strlen(detail), sizeof detail - strlen(detail),
                 "; second render: %s, max |difference| %.3g",
                 s == FACET_OK ? "ok" : facet_last_error(), d);
        if (s == FACET_OK) facet_image_free(&image);
    }
    facet_scene_free(&scene);
    facet_image_free(&reference);
    return report(ok, name, detail);
}

/* ---- risesdf --------------------------------------------------------------------------------- */

static int risesdf_failed_upload_retries(void) {
    const char *name = "risesdf_failed_upload_retries";
    const char *path = scene_file(
        "risesdf", "{\"version\": 1, \"background\": [0.6, 0.7, 0.8], \"nodes\": [{\"type\": "
                   "\"risesdf\", \"name\": \"m\", \"weights\": \"" FACET_SOURCE_DIR
                   "/tests/fixtures/risesdf/small.safetensors\", \"lighting\": {\"mode\": "
                   "\"quality\", \"size\": 64, \"samples\": 1}}]}");
    facet_mat4 c2w = {{1, 0, 0, 0, 0, 0, -1, -3, 0, 1, 0, 0, 0, 0, 0, 1}};
    facet_camera cam = facet_camera_from_fov(c2w, 0.7f, 6, 6);
    facet_scene scene;
    facet_image reference, image;
    if (!load_scene(&scene, path)) return report(0, name, "scene");
    if (render_cuda_image(&scene, &cam, &reference) != FACET_OK)
        return report(0, name, facet_last_error());
    facet_scene_free(&scene);

    if (!load_scene(&scene, path)) return report(0, name, "scene");
    const risesdf_state *state = scene.nodes[0].state;
    atomic_store(&fail_malloc_bytes, state->model.memory_bytes);
    facet_status s = render_cuda_image(&scene, &cam, &image);
    char detail[1024];
    int ok =
        s == FACET_ERR_CUDA && strstr(facet_last_error(), "out of memory") && state->device == NULL;
    snprintf(detail, sizeof detail, "first render: status %d (%s), device copy %s", (int)s,
             s == FACET_OK ? "ok" : facet_last_error(),
             state->device ? "published (half-made)" : "none");
    if (s == FACET_OK) facet_image_free(&image);
    atomic_store(&fail_malloc_bytes, 0);
    /* the second call runs whatever the first left behind: in a child, so a crash is a FAIL */
    s = render_cuda_image(&scene, &cam, &image);
    double d = s == FACET_OK ? max_difference(&image, &reference) : INFINITY;
    ok = ok && s == FACET_OK && d == 0;
    snprintf(detail + strlen(detail), sizeof detail - strlen(detail),
             "; second render: %s, max |difference| to a clean render %.3g",
             s == FACET_OK ? "ok" : facet_last_error(), d);
    if (s == FACET_OK) facet_image_free(&image);
    facet_scene_free(&scene);
    facet_image_free(&reference);
    remove(path);
    return report(ok, name, detail);
}

/* ---- environment map upload ------------------------------------------------------------------ */

#define ENV_A FACET_SOURCE_DIR "/tests/fixtures/envmap_blender/view_0.exr"
#define ENV_B FACET_SOURCE_DIR "/tests/fixtures/envmap_blender/view_1.exr"

static const char *env_scene(const char *map) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": \"environment\", \"environment\": {\"map\": \"%s\", "
             "\"convention\": \"blender\", \"rotation_deg\": 30}, \"nodes\": [{\"type\": "
             "\"livescene\", \"name\": \"toy\", \"weights\": \"" FACET_SOURCE_DIR
             "/tests/fixtures/livescene/small.safetensors\"}]}",
             map);
    return scene_file(strcmp(map, ENV_A) == 0 ? "env_a" : "env_b", json);
}

/* A clean render of the scene file with environment `map` (a fresh scene, so no cache hit). */
static facet_status env_reference(const char *map, const facet_camera *cam, facet_image *out) {
    facet_scene scene;
    if (!load_scene(&scene, env_scene(map))) return facet_last_status();
    facet_status s = render_cuda_image(&scene, cam, out);
    facet_scene_free(&scene);
    return s;
}

static int environment_uploaded_once(void) {
    const char *name = "environment_uploaded_once";
    facet_mat4 c2w = {{0.0235f, -0.1778f, 0.9838f, 4.2571f, 0.9961f, 0.0879f, -0.0079f, 0.2683f,
                       -0.0851f, 0.9801f, 0.1792f, 0.9f, 0, 0, 0, 1}};
    facet_camera cam = facet_camera_from_fov(c2w, 1.2f, 8, 6);
    facet_image ref_a, ref_b, image;
    if (env_reference(ENV_A, &cam, &ref_a) != FACET_OK ||
        env_reference(ENV_B, &cam, &ref_b) != FACET_OK)
        return report(0, name, facet_last_error());
    facet_scene scene;
    if (!load_scene(&scene, env_scene(ENV_A))) return report(0, name, "scene");
    char detail[1024] = "";
    int ok = 1;
    atomic_store(&counted_copies, 0);
    atomic_store(&counted_src, scene.environment.view.rgb);
    double worst = 0;
    for (int frame = 0; frame < 3 && ok; frame++) {
        ok = render_cuda_image(&scene, &cam, &image) == FACET_OK;
        if (ok) {
            worst = fmax(worst, max_difference(&image, &ref_a));
            facet_image_free(&image);
        }
    }
    const int first = atomic_load(&counted_copies);
    snprintf(detail, sizeof detail,
             "3 frames: %d environment upload(s) (expected 1), max |diff| %.3g", first, worst);
    ok = ok && first == 1 && worst == 0;

    /* the viewer's way to change the map */
    if (ok &&
        facet_scene_set_environment(&scene, ENV_B, FACET_ENV_BLENDER, 30.0f, 1.0f) != FACET_OK)
        return report(0, name, facet_last_error());
    atomic_store(&counted_copies, 0);
    atomic_store(&counted_src, scene.environment.view.rgb);
    worst = 0;
    for (int frame = 0; frame < 2 && ok; frame++) {
        ok = render_cuda_image(&scene, &cam, &image) == FACET_OK;
        if (ok) {
            worst = fmax(worst, max_difference(&image, &ref_b));
            facet_image_free(&image);
        }
    }
    const int second = atomic_load(&counted_copies);
    if (ok || second) {
        snprintf(detail + strlen(detail), sizeof detail - strlen(detail),
                 "; new map, 2 frames: %d upload(s) (expected 1), max |diff| to a fresh scene %.3g",
                 second, worst);
        ok = ok && second == 1 && worst == 0;
    }
    if (!ok && !detail[0]) snprintf(detail, sizeof detail, "%s", facet_last_error());
    facet_scene_free(&scene);
    facet_image_free(&ref_a);
    facet_image_free(&ref_b);
    remove(env_scene(ENV_A));
    remove(env_scene(ENV_B));
    return report(ok, name, detail);
}

/* ---- driver ---------------------------------------------------------------------------------- */

typedef struct check {
    const char *name;
    int (*run)(void);
} check;

int main(int argc, char **argv) {
    static const check checks[] = {
        {"livescene_concurrent_first_render", livescene_concurrent_first_render},
        {"livescene_failed_upload_retries", livescene_failed_upload_retries},
        {"risesdf_failed_upload_retries", risesdf_failed_upload_retries},
        {"environment_uploaded_once", environment_uploaded_once},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (argc > 1 && strcmp(argv[1], checks[i].name) != 0) continue;
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            alarm(300);
            if (facet_register_builtin_node_kinds() != FACET_OK) {
                fprintf(stderr, "%s\n", facet_last_error());
                _exit(1);
            }
            _exit(checks[i].run());
        }
        int status = 0;
        if (child < 0 || waitpid(child, &status, 0) != child) {
            printf("FAIL %s: could not run it\n", checks[i].name);
            failed++;
        } else if (WIFSIGNALED(status)) {
            printf("FAIL %s: crashed (signal %d: %s)\n", checks[i].name, WTERMSIG(status),
                   strsignal(WTERMSIG(status)));
            failed++;
        } else if (WEXITSTATUS(status) != 0) {
            failed++;
        }
    }
    printf("%d check(s) failed\n", failed);
    return failed ? 1 : 0;
}
