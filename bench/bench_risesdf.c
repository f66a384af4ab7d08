/* Benchmark: ms per frame of the risesdf node (RISE-SDF neural field, material heads, split-sum
 * shading) in facet, sphere-traced or volume-rendered as the official code.
 *
 *   bench_risesdf WEIGHTS.safetensors [--width 800 --height 800] [--frames 3]
 *                 [--device cpu|cuda|both] [--mode sphere_trace|volume] [--indirect off|parity]
 *
 * Scene: the field alone, lit by a constant environment (0.9, 0.7, 0.5) (the scene background
 * colour; no map), camera at (0, -3, 0) looking along +y with a 45 degree field of view, as
 * tools/reference/risesdf_ref.py bench renders it. Prints one JSON line per device (median of
 * `frames` frames after one warm-up frame; "load_ms" is the scene load, which in volume mode
 * builds the 128^3 occupancy grid). bench/run_risesdf.sh runs it next to the PyTorch reference on
 * the default-size random field. */
#include "bench_frames.h"
#include "core/cuda/device.h"
#include "core/fileio.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/status.h"
#include "nodes/builtin.h"
#include "render/render.h"
#include "render/scene.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(void) {
    fprintf(stderr, "usage: bench_risesdf WEIGHTS.safetensors [--width W --height H] [--frames N]"
                    " [--device cpu|cuda|both] [--mode sphere_trace|volume] [--indirect "
                    "off|parity]\n");
    return 2;
}

/* What one run renders. */
typedef struct bench_config {
    const char *weights, *mode, *indirect;
    int width, height, frames;
} bench_config;

static int fail(void) {
    fprintf(stderr, "bench_risesdf: %s\n", facet_last_error());
    return 1;
}

static int bench_frame(const bench_config *cfg, facet_device device) {
    const int width = cfg->width, height = cfg->height, frames = cfg->frames;
    char dir[] = "/tmp/facet-bench-risesdf-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[1100], json[6144], absolute[4096];
    snprintf(path, sizeof path, "%s/scene.json", dir);
    if (!realpath(cfg->weights, absolute)) {
        rmdir(dir);
        fprintf(stderr, "bench_risesdf: cannot resolve '%s'\n", cfg->weights);
        return 1;
    }
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": [0.9, 0.7, 0.5], \"nodes\": [{\"type\": "
             "\"risesdf\", \"weights\": \"%s\", \"lighting\": {\"size\": 64}, \"mode\": \"%s\", "
             "\"indirect\": \"%s\"}]}",
             absolute, cfg->mode, cfg->indirect);
    facet_scene scene;
    int rc = 0;
    const double load_start = facet_seconds();
    if (facet_write_file_atomic(path, json, strlen(json)) != FACET_OK ||
        facet_scene_load(&scene, path) != FACET_OK) {
        remove(path);
        rmdir(dir);
        return fail();
    }
    const double load_ms = 1e3 * (facet_seconds() - load_start);
    facet_mat4 c2w = {{1, 0, 0, 0, 0, 0, -1, -3, 0, 1, 0, 0, 0, 0, 0, 1}};
    facet_camera cam = facet_camera_from_fov(c2w, 0.7853982f, width, height);
    facet_render_options options = {0};
    options.device = device;
    facet_image img;
    if (facet_render_image(&scene, &cam, &options, &img) != FACET_OK) {
        rc = fail();
    } else {
        double hits = 0;
        for (size_t p = 0; p < (size_t)width * height; p++) hits += img.data[4 * p + 3] > 0.5f;
        facet_image_free(&img);
        double median = 0;
        if (bench_median_frame(&scene, &cam, &options, frames, &median) != FACET_OK) rc = fail();
        if (rc == 0)
            printf("{\"bench\": \"risesdf_frame\", \"impl\": \"facet\", \"device\": \"%s\", "
                   "\"mode\": \"%s\", \"indirect\": \"%s\", \"width\": %d, \"height\": %d, "
                   "\"ms\": %.2f, \"load_ms\": %.1f, \"threads\": %d, \"hit_fraction\": %.4f}\n",
                   facet_device_name(device), cfg->mode, cfg->indirect, width, height, 1e3 * median,
                   load_ms, facet_thread_count(), hits / ((double)width * height));
    }
    facet_scene_free(&scene);
    remove(path);
    rmdir(dir);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    bench_config cfg = {argv[1], "sphere_trace", "off", 800, 800, 3};
    const char *device = "cpu";
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc) return usage();
        if (!strcmp(argv[i], "--width"))
            cfg.width = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--height"))
            cfg.height = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--frames"))
            cfg.frames = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--device"))
            device = argv[++i];
        else if (!strcmp(argv[i], "--mode"))
            cfg.mode = argv[++i];
        else if (!strcmp(argv[i], "--indirect"))
            cfg.indirect = argv[++i];
        else
            return usage();
    }
    if (cfg.width < 1 || cfg.height < 1 || cfg.frames < 1 || cfg.frames > 64) return usage();
    if (facet_register_builtin_node_kinds() != FACET_OK) return fail();
    int both = !strcmp(device, "both"), rc = 0;
    if (both || !strcmp(device, "cpu")) rc |= bench_frame(&cfg, FACET_DEVICE_CPU);
    if (both || !strcmp(device, "cuda")) {
        if (!facet_cuda_available()) {
            fprintf(stderr, "bench_risesdf: no usable CUDA device\n");
            return 1;
        }
        rc |= bench_frame(&cfg, FACET_DEVICE_CUDA);
    }
    return rc;
}
