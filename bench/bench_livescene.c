/* Benchmark: LiveScene rendering throughput of facet (CPU with OpenMP, and CUDA when available)
 * on a weights file, for rays from a camera orbiting the scene's AABB.
 *
 *   bench_livescene WEIGHTS.safetensors [--rays N] [--device cpu|cuda|both] [--plane-dtype
 * f32|f16|bf16] [--mlp-dtype f32|f16]
 *
 * --mlp-dtype f16 runs the networks in their fp16 form (the scene option "mlp_dtype"): tensor
 * cores on CUDA, the per-point reference on the CPU.
 *
 * Prints one JSON line per device: rays/s, and the ms per 800x800 frame that rate implies. The
 * comparison against the PyTorch reference runs in bench/run_livescene.sh. */
#include "core/progress.h"
#include "core/status.h"
#include "fields/livescene.h"
#include "nodes/builtin.h"
#include "render/render.h"
#include "render/scene.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(void) {
    fprintf(stderr, "usage: bench_livescene WEIGHTS.safetensors|--random-default [--rays N]"
                    " [--device cpu|cuda|both] [--plane-dtype f32|f16|bf16]"
                    " [--mlp-dtype f32|f16]\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *weights = argv[1], *device = "cpu", *plane = "f32", *mlp = "f32";
    int rays = 16384;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--rays") && i + 1 < argc)
            rays = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--device") && i + 1 < argc)
            device = argv[++i];
        else if (!strcmp(argv[i], "--plane-dtype") && i + 1 < argc)
            plane = argv[++i];
        else if (!strcmp(argv[i], "--mlp-dtype") && i + 1 < argc)
            mlp = argv[++i];
        else
            return usage();
    }
    if (rays < 1) return usage();
    char random_path[] = "/tmp/facet-bench-weights-XXXXXX";
    if (!strcmp(weights, "--random-default")) {
        char config[2048];
        int fd = mkstemp(random_path);
        if (fd < 0) return 1;
        close(fd);
        if (facet_livescene_write_random(random_path,
                                         facet_livescene_default_config(2, config, sizeof config),
                                         1) != FACET_OK) {
            fprintf(stderr, "bench_livescene: %s\n", facet_last_error());
            remove(random_path);
            return 1;
        }
        weights = random_path;
    }
    /* a scene file next to nothing: the weights path is absolute or relative to the cwd */
    char scene_path[] = "/tmp/facet-bench-XXXXXX";
    int fd = mkstemp(scene_path);
    if (fd < 0) return 1;
    FILE *f = fdopen(fd, "w");
    char *absolute = realpath(weights, NULL);
    if (!absolute) {
        fprintf(stderr, "bench_livescene: cannot open '%s'\n", weights);
        return 1;
    }
    fprintf(f,
            "{\"version\": 1, \"nodes\": [{\"type\": \"livescene\", \"weights\": \"%s\", "
            "\"plane_dtype\": \"%s\", \"mlp_dtype\": \"%s\"}]}",
            absolute, plane, mlp);
    fclose(f);
    free(absolute);
    facet_scene scene;
    if (facet_register_builtin_node_kinds() != FACET_OK ||
        facet_scene_load(&scene, scene_path) != FACET_OK) {
        fprintf(stderr, "bench_livescene: %s\n", facet_last_error());
        remove(scene_path);
        if (weights == random_path) remove(random_path);
        return 1;
    }
    remove(scene_path);
    if (weights == random_path) remove(random_path);
    for (int i = 0; i < scene.nodes[0].object_count; i++) scene.nodes[0].kappa[i] = 0.5f;
    /* a 3/4 view of the AABB from outside, rays as a width x 1 image strip of the frame centre */
    facet_mat4 c2w = {{0.7071f, -0.4082f, 0.5774f, 3.5f, 0.7071f, 0.4082f, -0.5774f, -3.5f, 0.0f,
                       0.8165f, 0.5774f, 3.5f, 0, 0, 0, 1}};
    facet_camera full = facet_camera_from_fov(c2w, 0.9f, 800, 800);
    int rows = (rays + 799) / 800;
    facet_camera strip = full;
    strip.height = rows;
    strip.cy = full.cy - (float)(400 - rows / 2);
    int status = 0;
    for (int pass = 0; pass < 2 && status == 0; pass++) {
        const char *name = pass == 0 ? "cpu" : "cuda";
        if (strcmp(device, "both") != 0 && strcmp(device, name) != 0) continue;
        facet_render_options options = {.device = pass == 0 ? FACET_DEVICE_CPU : FACET_DEVICE_CUDA};
        facet_image img;
        if (facet_render_image(&scene, &strip, &options, &img) != FACET_OK) { /* warm-up */
            fprintf(stderr, "bench_livescene: %s\n", facet_last_error());
            status = 1;
            break;
        }
        facet_image_free(&img);
        double start = facet_seconds();
        int repeats = 0;
        do {
            if (facet_render_image(&scene, &strip, &options, &img) != FACET_OK) {
                fprintf(stderr, "bench_livescene: %s\n", facet_last_error());
                status = 1;
                break;
            }
            facet_image_free(&img);
            repeats++;
        } while (facet_seconds() - start < 3.0);
        double seconds = facet_seconds() - start;
        double rate = (double)repeats * 800.0 * rows / seconds;
        printf("{\"impl\": \"facet\", \"device\": \"%s\", \"plane_dtype\": \"%s\", "
               "\"mlp_dtype\": \"%s\", \"rays\": %d, \"rays_per_s\": %.1f, "
               "\"ms_per_800x800\": %.1f}\n",
               name, plane, mlp, 800 * rows * repeats, rate, 640000.0 / rate * 1000.0);
    }
    facet_scene_free(&scene);
    return status;
}
