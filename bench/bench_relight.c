/* Benchmark: split-sum relighting in facet.
 *   - prefilter: building the lighting of an HDRI (lat-long -> cube, box mips, irradiance, the
 *     GGX levels) for a size^2 cube, quality and parity modes;
 *   - frame: ms per width x height frame of the analytic sphere scene (one metallic sphere,
 *     roughness 0.4, sphere-traced, split-sum shaded, environment background), the lighting
 *     already built.
 *
 *   bench_relight HDRI [--size 512] [--samples 64] [--width 800 --height 800] [--frames 5]
 *                      [--device cpu|cuda|both] [--dump-map MAP.npy]
 *
 * --dump-map writes the decoded HDRI (H x W x 3 float32) for the reference, which cannot read
 * DWAB EXRs, and exits.
 *
 * Prints one JSON line per measurement. The PyTorch reference of the same math runs in
 * bench/run_relight.sh (tools/reference/splitsum_ref.py). */
#include "bench_frames.h"
#include "core/cuda/device.h"
#include "core/fileio.h"
#include "core/npy.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/status.h"
#include "nodes/builtin.h"
#include "lighting/dfg_lut.h"
#include "lighting/lighting.h"
#include "render/render.h"
#include "render/scene.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(void) {
    fprintf(stderr, "usage: bench_relight HDRI [--size N] [--samples N] [--width W --height H]"
                    " [--frames N] [--device cpu|cuda|both] [--dump-map MAP.npy]\n");
    return 2;
}

static int fail(void) {
    fprintf(stderr, "bench_relight: %s\n", facet_last_error());
    return 1;
}

static int bench_prefilter(const facet_envmap *env, facet_prefilter_mode mode, int size,
                           int samples, facet_device device) {
    facet_lighting_options options = {mode, size, samples, FACET_QUALITY_SAMPLED, 0};
    facet_lighting lighting;
    double t = facet_seconds();
    if (facet_lighting_build(&lighting, &env->view, &options, device) != FACET_OK) return fail();
    t = facet_seconds() - t;
    printf("{\"bench\": \"prefilter\", \"device\": \"%s\", \"mode\": \"%s\", \"size\": %d, "
           "\"samples\": %d, \"seconds\": %.4f}\n",
           facet_device_name(device), mode == FACET_PREFILTER_PARITY ? "parity" : "quality", size,
           mode == FACET_PREFILTER_PARITY ? 0 : samples, t);
    fflush(stdout);
    facet_lighting_free(&lighting);
    return 0;
}

static int bench_frame(const char *hdri, int size, int samples, int width, int height, int frames,
                       facet_device device) {
    char dir[] = "/tmp/facet-bench-relight-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[1100], json[6144], absolute[4096];
    snprintf(path, sizeof path, "%s/scene.json", dir);
    /* the scene file lives in a temporary directory: name the map absolutely */
    if (!realpath(hdri, absolute)) {
        rmdir(dir);
        fprintf(stderr, "bench_relight: cannot resolve '%s'\n", hdri);
        return 1;
    }
    hdri = absolute;
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": \"environment\", \"environment\": {\"map\": \"%s\"},"
             " \"nodes\": [{\"type\": \"sdf\", \"shape\": {\"sphere\": {\"radius\": 1}}, "
             "\"lighting\": {\"mode\": \"quality\", \"size\": %d, \"samples\": %d}, "
             "\"material\": {\"base_color\": [0.9, 0.6, 0.3], \"roughness\": 0.4, "
             "\"metallic\": 1}}]}",
             hdri, size, samples);
    facet_scene scene;
    int rc = 0;
    if (facet_write_file_atomic(path, json, strlen(json)) != FACET_OK ||
        facet_scene_load(&scene, path) != FACET_OK) {
        remove(path);
        rmdir(dir);
        return fail();
    }
    /* camera at (0, -3, 0) looking along +y, fov 45 degrees: the sphere fills 45% of the frame */
    facet_mat4 c2w = {{1, 0, 0, 0, 0, 0, -1, -3, 0, 1, 0, 0, 0, 0, 0, 1}};
    facet_camera cam = facet_camera_from_fov(c2w, 0.7853982f, width, height);
    facet_render_options options = {.device = device};
    facet_image img;
    /* the first frame builds the lighting; then the median of `frames` frames */
    if (facet_render_image(&scene, &cam, &options, &img) != FACET_OK) {
        rc = fail();
    } else {
        facet_image_free(&img);
        double median = 0;
        if (bench_median_frame(&scene, &cam, &options, frames, &median) != FACET_OK) rc = fail();
        if (rc == 0)
            printf("{\"bench\": \"frame\", \"device\": \"%s\", \"scene\": \"analytic sphere\", "
                   "\"width\": %d, \"height\": %d, \"ms\": %.2f, \"threads\": %d}\n",
                   facet_device_name(device), width, height, 1e3 * median, facet_thread_count());
    }
    facet_scene_free(&scene);
    remove(path);
    rmdir(dir);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *hdri = argv[1], *device = "cpu", *dump = NULL;
    int size = 512, samples = FACET_LIGHTING_DEFAULT_SAMPLES, width = 800, height = 800, frames = 5;
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc) return usage();
        if (!strcmp(argv[i], "--size"))
            size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--samples"))
            samples = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--width"))
            width = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--height"))
            height = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--frames"))
            frames = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--device"))
            device = argv[++i];
        else if (!strcmp(argv[i], "--dump-map"))
            dump = argv[++i];
        else
            return usage();
    }
    if (frames < 1 || frames > 64 || width < 1 || height < 1) return usage();
    if (facet_register_builtin_node_kinds() != FACET_OK) return fail();
    facet_envmap env;
    if (facet_envmap_load(&env, hdri, FACET_ENV_BLENDER, 0.0f, 1.0f) != FACET_OK) return fail();
    if (dump) {
        facet_tensor t = {0};
        t.dtype = FACET_DTYPE_F32;
        t.ndim = 3;
        t.shape[0] = env.image.height;
        t.shape[1] = env.image.width;
        t.shape[2] = 3;
        t.data = env.image.data;
        facet_status s = facet_npy_write(&t, dump);
        facet_envmap_free(&env);
        return s == FACET_OK ? 0 : fail();
    }
    double t = facet_seconds();
    facet_dfg_lut();
    printf("{\"bench\": \"dfg_table\", \"device\": \"cpu\", \"seconds\": %.4f}\n",
           facet_seconds() - t);
    int rc = 0;
    for (int d = 0; d < 2 && rc == 0; d++) {
        facet_device dev = d ? FACET_DEVICE_CUDA : FACET_DEVICE_CPU;
        if (strcmp(device, "both") != 0 && strcmp(device, facet_device_name(dev)) != 0) continue;
        if (dev == FACET_DEVICE_CUDA && !facet_cuda_available()) {
            fprintf(stderr, "bench_relight: no usable CUDA device, skipping cuda\n");
            continue;
        }
        rc = bench_prefilter(&env, FACET_PREFILTER_QUALITY, size, samples, dev);
        if (rc == 0) rc = bench_prefilter(&env, FACET_PREFILTER_PARITY, size, samples, dev);
        if (rc == 0) rc = bench_frame(hdri, size, samples, width, height, frames, dev);
    }
    facet_envmap_free(&env);
    return rc;
}
