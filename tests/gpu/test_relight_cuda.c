/* GPU parity of split-sum relighting: the CUDA prefilter kernels compute the same levels as the
 * CPU loops (same per-texel functions in render/prefilter.h) in both modes, and the sdf node's
 * CUDA renderer the same pixels as its CPU renderer (render/sdf_ray.h) on the example scene
 * assets/relight/scene.json. Prints the prefilter time of a 512^2 cube and the ms per 800x800
 * frame on the device. Exits 77 (ctest: skipped) without a usable GPU. */
#include "core/cuda/device.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "render/builtin.h"
#include "render/lighting.h"
#include "render/render.h"
#include "render/scene.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SKIP = 77 };

/* Largest |a - b| / (1e-3 + |a|) over n floats. */
static double max_relative(const float *a, const float *b, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double r = fabs(a[i] - b[i]) / (1e-3 + fabs(a[i]));
        if (r > worst) worst = r;
    }
    return worst;
}

static int compare_lighting(const facet_envmap *env, facet_prefilter_mode mode, int size) {
    const char *name = mode == FACET_PREFILTER_PARITY ? "parity" : "quality";
    facet_lighting_options options = {mode, size, 64};
    facet_lighting cpu, gpu;
    double t0 = facet_seconds();
    if (facet_lighting_build(&cpu, &env->view, &options, FACET_DEVICE_CPU) != FACET_OK) {
        fprintf(stderr, "%s cpu: %s\n", name, facet_last_error());
        return 1;
    }
    double t1 = facet_seconds();
    if (facet_lighting_build(&gpu, &env->view, &options, FACET_DEVICE_CUDA) != FACET_OK) {
        fprintf(stderr, "%s cuda: %s\n", name, facet_last_error());
        facet_lighting_free(&cpu);
        return 1;
    }
    double t2 = facet_seconds();
    double worst =
        max_relative(cpu.diffuse, gpu.diffuse, facet_cube_level_floats(cpu.view.diffuse_size));
    for (int l = 0; l < cpu.specular.levels; l++)
        worst = fmax(worst, max_relative(cpu.specular.level[l], gpu.specular.level[l],
                                         facet_cube_level_floats(size >> l)));
    /* same sums in the same order; libm vs CUDA transcendentals and FMA contraction differ in
     * the last bits */
    int ok = worst < 1e-3;
    printf("%s %s prefilter %d^2: max relative difference CPU vs CUDA %.3g (CPU %.3f s, CUDA "
           "%.3f s)\n",
           ok ? "ok  " : "FAIL", name, size, worst, t1 - t0, t2 - t1);
    facet_lighting_free(&cpu);
    facet_lighting_free(&gpu);
    return ok ? 0 : 1;
}

static int compare_render(const char *scene_path) {
    facet_scene scene;
    if (facet_scene_load(&scene, scene_path) != FACET_OK) {
        fprintf(stderr, "%s\n", facet_last_error());
        return 1;
    }
    facet_camera cam = facet_camera_resized(scene.camera, 800, 450);
    facet_render_options cpu = {.device = FACET_DEVICE_CPU}, gpu = {.device = FACET_DEVICE_CUDA};
    facet_image a, b;
    if (facet_render_image(&scene, &cam, &cpu, &a) != FACET_OK ||
        facet_render_image(&scene, &cam, &gpu, &b) != FACET_OK) {
        fprintf(stderr, "render: %s\n", facet_last_error());
        facet_scene_free(&scene);
        return 1;
    }
    double t = facet_seconds();
    facet_image c;
    facet_camera square = facet_camera_resized(scene.camera, 800, 800);
    int frames = 0;
    for (; frames < 20 && facet_render_image(&scene, &square, &gpu, &c) == FACET_OK; frames++)
        facet_image_free(&c);
    double ms = 1e3 * (facet_seconds() - t) / (frames ? frames : 1);
    /* silhouette pixels may flip between hit and miss (FMA contraction in the march): count
     * pixels off by more than 1e-2 and require them to be rare */
    size_t pixels = (size_t)a.width * a.height, off = 0;
    double worst = 0;
    for (size_t p = 0; p < pixels; p++) {
        double r = max_relative(a.data + p * 4, b.data + p * 4, 4);
        if (r > 1e-2)
            off++;
        else if (r > worst)
            worst = r;
    }
    int ok = off <= pixels / 1000 && worst < 1e-2;
    printf("%s sdf scene 800x450: %zu of %zu pixels differ by > 1e-2, others max relative %.3g; "
           "CUDA %.2f ms per 800x800 frame\n",
           ok ? "ok  " : "FAIL", off, pixels, worst, ms);
    facet_image_free(&a);
    facet_image_free(&b);
    facet_scene_free(&scene);
    return ok ? 0 : 1;
}

int main(void) {
    if (!facet_cuda_available()) {
        printf("no usable CUDA device: skipped\n");
        return SKIP;
    }
    char name[256];
    if (facet_cuda_device_name(name, sizeof name) == FACET_OK) printf("device: %s\n", name);
    if (facet_register_builtin_node_kinds() != FACET_OK) return 1;
    facet_envmap env;
    if (facet_envmap_load(&env, FACET_SOURCE_DIR "/assets/demo/forest.exr", FACET_ENV_BLENDER,
                          30.0f, 1.0f) != FACET_OK) {
        fprintf(stderr, "%s\n", facet_last_error());
        return 1;
    }
    int failures = 0;
    failures += compare_lighting(&env, FACET_PREFILTER_QUALITY, 512);
    failures += compare_lighting(&env, FACET_PREFILTER_PARITY, 512);
    facet_envmap_free(&env);
    failures += compare_render(FACET_SOURCE_DIR "/assets/relight/scene.json");
    return failures ? 1 : 0;
}
