/* Benchmark: ms per frame of the risesdf node (sphere-traced RISE-SDF neural field, material
 * heads, split-sum shading) in facet.
 *
 *   bench_risesdf WEIGHTS.safetensors [--width 800 --height 800] [--frames 3]
 *                 [--device cpu|cuda|both]
 *
 * Scene: the field alone, lit by a constant environment (0.9, 0.7, 0.5) (the scene background
 * colour; no map), camera at (0, -3, 0) looking along +y with a 45 degree field of view, as
 * tools/reference/risesdf_ref.py bench renders it. Prints one JSON line per device (median of
 * `frames` frames after one warm-up frame). bench/run_risesdf.sh runs it next to the PyTorch
 * reference on the default-size random field. */
#include "core/cuda/device.h"
#include "core/fileio.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/status.h"
#include "render/builtin.h"
#include "render/render.h"
#include "render/scene.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(void) {
    fprintf(stderr, "usage: bench_risesdf WEIGHTS.safetensors [--width W --height H] [--frames N]"
                    " [--device cpu|cuda|both]\n");
    return 2;
}

static int fail(void) {
    fprintf(stderr, "bench_risesdf: %s\n", facet_last_error());
    return 1;
}

static int bench_frame(const char *weights, int width, int height, int frames,
                       facet_device device) {
    char dir[] = "/tmp/facet-bench-risesdf-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[1100], json[6144], absolute[4096];
    snprintf(path, sizeof path, "%s/scene.json", dir);
    if (!realpath(weights, absolute)) {
        rmdir(dir);
        fprintf(stderr, "bench_risesdf: cannot resolve '%s'\n", weights);
        return 1;
    }
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": [0.9, 0.7, 0.5], \"nodes\": [{\"type\": "
             "\"risesdf\", \"weights\": \"%s\", \"lighting\": {\"size\": 64}}]}",
             absolute);
    facet_scene scene;
    int rc = 0;
    if (facet_write_file_atomic(path, json, strlen(json)) != FACET_OK ||
        facet_scene_load(&scene, path) != FACET_OK) {
        remove(path);
        rmdir(dir);
        return fail();
    }
    facet_mat4 c2w = {{1, 0, 0, 0, 0, 0, -1, -3, 0, 1, 0, 0, 0, 0, 0, 1}};
    facet_camera cam = facet_camera_from_fov(c2w, 0.7853982f, width, height);
    facet_render_options options = {device, 0.0f, NULL};
    facet_image img;
    if (facet_render_image(&scene, &cam, &options, &img) != FACET_OK) {
        rc = fail();
    } else {
        double hits = 0;
        for (size_t p = 0; p < (size_t)width * height; p++) hits += img.data[4 * p + 3] > 0.5f;
        facet_image_free(&img);
        double times[64];
        for (int f = 0; f < frames && rc == 0; f++) {
            double t = facet_seconds();
            if (facet_render_image(&scene, &cam, &options, &img) != FACET_OK) {
                rc = fail();
                break;
            }
            times[f] = facet_seconds() - t;
            facet_image_free(&img);
        }
        for (int i = 1; rc == 0 && i < frames; i++)
            for (int j = i; j > 0 && times[j] < times[j - 1]; j--) {
                double x = times[j];
                times[j] = times[j - 1];
                times[j - 1] = x;
            }
        if (rc == 0)
            printf("{\"bench\": \"risesdf_frame\", \"impl\": \"facet\", \"device\": \"%s\", "
                   "\"width\": %d, \"height\": %d, \"ms\": %.2f, \"threads\": %d, "
                   "\"hit_fraction\": %.4f}\n",
                   facet_device_name(device), width, height, 1e3 * times[frames / 2],
                   facet_thread_count(), hits / ((double)width * height));
    }
    facet_scene_free(&scene);
    remove(path);
    rmdir(dir);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *weights = argv[1], *device = "cpu";
    int width = 800, height = 800, frames = 3;
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc) return usage();
        if (!strcmp(argv[i], "--width"))
            width = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--height"))
            height = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--frames"))
            frames = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--device"))
            device = argv[++i];
        else
            return usage();
    }
    if (width < 1 || height < 1 || frames < 1 || frames > 64) return usage();
    if (facet_register_builtin_node_kinds() != FACET_OK) return fail();
    int both = !strcmp(device, "both"), rc = 0;
    if (both || !strcmp(device, "cpu"))
        rc |= bench_frame(weights, width, height, frames, FACET_DEVICE_CPU);
    if (both || !strcmp(device, "cuda")) {
        if (!facet_cuda_available()) {
            fprintf(stderr, "bench_risesdf: no usable CUDA device\n");
            return 1;
        }
        rc |= bench_frame(weights, width, height, frames, FACET_DEVICE_CUDA);
    }
    return rc;
}
