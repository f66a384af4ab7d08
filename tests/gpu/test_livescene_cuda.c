/* GPU parity for LiveScene: the CUDA launcher runs the same per-ray function as the CPU path on
 * the reference fixture model; rgb, coverage and masks must agree within 1e-4 (expf/sqrtf ulps and
 * FMA contraction move the PDF samples slightly). Exits 77 without a usable GPU. */
#include "core/cuda/device.h"
#include "render/builtin.h"
#include "render/render.h"
#include "render/scene.h"

#include <math.h>
#include <stdio.h>

enum { SKIP = 77 };

int main(void) {
    if (!facet_cuda_available()) {
        printf("no usable CUDA device: skipped\n");
        return SKIP;
    }
    char name[256];
    if (facet_cuda_device_name(name, sizeof name) == FACET_OK) printf("device: %s\n", name);
    facet_scene scene;
    if (facet_register_builtin_node_kinds() != FACET_OK ||
        facet_scene_load(&scene, FACET_SOURCE_DIR "/tests/fixtures/livescene/scene.json") !=
            FACET_OK) {
        fprintf(stderr, "%s\n", facet_last_error());
        return 1;
    }
    facet_mat4 c2w = {{0.0235f, -0.1778f, 0.9838f, 4.2571f, 0.9961f, 0.0879f, -0.0079f, 0.2683f,
                       -0.0851f, 0.9801f, 0.1792f, 0.9f, 0, 0, 0, 1}};
    facet_camera cam = facet_camera_from_fov(c2w, 0.9f, 96, 72);
    facet_image a, b, ma, mb;
    facet_render_options cpu = {.device = FACET_DEVICE_CPU, .aux = &ma},
                         gpu = {.device = FACET_DEVICE_CUDA, .aux = &mb};
    if (facet_render_image(&scene, &cam, &cpu, &a) != FACET_OK ||
        facet_render_image(&scene, &cam, &gpu, &b) != FACET_OK) {
        fprintf(stderr, "%s\n", facet_last_error());
        return 1;
    }
    double worst = 0, worst_mask = 0;
    for (size_t i = 0; i < (size_t)a.width * a.height * 4; i++)
        worst = fmax(worst, fabs(a.data[i] - b.data[i]));
    for (size_t i = 0; i < (size_t)ma.width * ma.height * ma.channels; i++)
        worst_mask = fmax(worst_mask, fabs(ma.data[i] - mb.data[i]));
    int ok = worst < 1e-4 && worst_mask < 1e-4;
    printf("%s livescene CPU vs CUDA: max |rgba diff| %.3g, max |mask diff| %.3g\n",
           ok ? "ok  " : "FAIL", worst, worst_mask);
    facet_image_free(&a);
    facet_image_free(&b);
    facet_image_free(&ma);
    facet_image_free(&mb);
    facet_scene_free(&scene);
    return ok ? 0 : 1;
}
