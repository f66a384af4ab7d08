/* GPU parity: the CUDA renderer computes the same pixels as the CPU renderer (same per-pixel
 * functions in render/camera.h, envmap.h, composite.h) on an HDRI world, for both conventions,
 * a rotation and a constant background. Exits 77 (ctest: skipped) without a usable GPU. */
#include "core/cuda/device.h"
#include "core/fileio.h"
#include "render/builtin.h"
#include "render/render.h"
#include "render/scene.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SKIP = 77 };

static int compare(const char *label, const char *scene_json, const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/scene.json", dir);
    if (facet_write_file_atomic(path, scene_json, strlen(scene_json)) != FACET_OK) return 1;
    facet_scene scene;
    if (facet_scene_load(&scene, path) != FACET_OK) {
        fprintf(stderr, "%s: %s\n", label, facet_last_error());
        return 1;
    }
    facet_mat4 c2w = {
        {0.8f, -0.36f, 0.48f, 0.1f, 0.6f, 0.48f, -0.64f, 0.2f, 0.0f, 0.8f, 0.6f, 0.3f, 0, 0, 0, 1}};
    facet_camera cam = facet_camera_from_fov(c2w, 1.1f, 333, 211);
    facet_render_options cpu = {.device = FACET_DEVICE_CPU, .exposure = 0.5f},
                         gpu = {.device = FACET_DEVICE_CUDA, .exposure = 0.5f};
    facet_image a, b;
    if (facet_render_image(&scene, &cam, &cpu, &a) != FACET_OK ||
        facet_render_image(&scene, &cam, &gpu, &b) != FACET_OK) {
        fprintf(stderr, "%s: %s\n", label, facet_last_error());
        facet_scene_free(&scene);
        return 1;
    }
    double max_rel = 0;
    size_t n = (size_t)a.width * a.height * 4;
    for (size_t i = 0; i < n; i++) {
        double rel = fabs(a.data[i] - b.data[i]) / (1e-3 + fabs(a.data[i]));
        if (rel > max_rel) max_rel = rel;
    }
    /* same math, different libm (atan2f/acosf ulps) and FMA contraction: tiny texel-coordinate
     * differences move bilinear weights by ~1e-5 */
    int ok = max_rel < 1e-3;
    printf("%s %s: max relative difference CPU vs CUDA %.3g\n", ok ? "ok  " : "FAIL", label,
           max_rel);
    facet_image_free(&a);
    facet_image_free(&b);
    facet_scene_free(&scene);
    return ok ? 0 : 1;
}

/* The relighting demo (sdf nodes): CUDA depth equals CPU depth, and rendering into a device buffer
 * (the viewer's interop target) gives the same pixels as the host-image CUDA render. */
static int compare_depth_and_device_target(void) {
    facet_scene scene;
    if (facet_register_builtin_node_kinds() != FACET_OK ||
        facet_scene_load(&scene, FACET_SOURCE_DIR "/assets/relight/scene.json") != FACET_OK) {
        fprintf(stderr, "relight scene: %s\n", facet_last_error());
        return 1;
    }
    facet_camera cam = facet_camera_resized(scene.camera, 320, 180);
    facet_image a = {0}, b = {0}, da = {0}, db = {0};
    facet_render_options cpu = {.device = FACET_DEVICE_CPU, .depth = &da},
                         gpu = {.device = FACET_DEVICE_CUDA, .depth = &db},
                         target = {.device = FACET_DEVICE_CUDA};
    int failures = 0;
    float *d_rgba = NULL;
    const size_t floats = (size_t)cam.width * cam.height * 4;
    float *host = malloc(floats * sizeof(float));
    if (!host || facet_render_image(&scene, &cam, &cpu, &a) != FACET_OK ||
        facet_render_image(&scene, &cam, &gpu, &b) != FACET_OK ||
        cudaMalloc((void **)&d_rgba, floats * sizeof(float)) != cudaSuccess ||
        facet_render_image_cuda_device(&scene, &cam, &target, d_rgba) != FACET_OK ||
        cudaMemcpy(host, d_rgba, floats * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess) {
        fprintf(stderr, "depth/device target: %s\n", facet_last_error());
        failures = 1;
    } else {
        double depth_max = 0, target_max = 0;
        int coverage_mismatch = 0;
        for (int p = 0; p < cam.width * cam.height; p++) {
            if (isinf(da.data[p]) != isinf(db.data[p]))
                coverage_mismatch++;
            else if (!isinf(da.data[p]))
                depth_max = fmax(depth_max, fabs(da.data[p] - db.data[p]) / da.data[p]);
        }
        for (size_t i = 0; i < floats; i++)
            target_max = fmax(target_max, fabs(host[i] - b.data[i]));
        /* sphere tracing stops within epsilon of the surface; a silhouette pixel may flip */
        int ok = depth_max < 1e-3 && coverage_mismatch <= cam.width * cam.height / 1000;
        printf("%s depth CPU vs CUDA: max relative %.3g, %d coverage flips\n", ok ? "ok  " : "FAIL",
               depth_max, coverage_mismatch);
        failures += !ok;
        ok = target_max == 0.0;
        printf("%s device-buffer target vs host CUDA render: max difference %.3g\n",
               ok ? "ok  " : "FAIL", target_max);
        failures += !ok;
        /* the same pixels as a ray list (the viewer's refiner) */
        const int count = cam.width * cam.height;
        facet_ray *rays = malloc((size_t)count * sizeof *rays);
        facet_image c = {0};
        facet_render_options list = {.device = FACET_DEVICE_CUDA};
        double rays_max = -1;
        if (rays) {
            for (int p = 0; p < count; p++)
                rays[p] = facet_camera_ray(&cam, p % cam.width, p / cam.width);
            if (facet_render_rays(&scene, rays, count, &list, &c) == FACET_OK) {
                rays_max = 0;
                for (size_t i = 0; i < floats; i++)
                    rays_max =
                        fmax(rays_max, fabs(c.data[i] - b.data[i]) / (1e-3 + fabs(b.data[i])));
            } else {
                fprintf(stderr, "rays on CUDA: %s\n", facet_last_error());
            }
        }
        /* host-made rays vs the device's (FMA contraction): relative, as above */
        ok = rays_max >= 0 && rays_max < 1e-3;
        printf("%s ray list vs camera render on CUDA: max relative difference %.3g\n",
               ok ? "ok  " : "FAIL", rays_max);
        failures += !ok;
        facet_image_free(&c);
        free(rays);
    }
    cudaFree(d_rgba);
    free(host);
    facet_image_free(&a);
    facet_image_free(&b);
    facet_image_free(&da);
    facet_image_free(&db);
    facet_scene_free(&scene);
    return failures;
}

int main(void) {
    if (!facet_cuda_available()) {
        printf("no usable CUDA device: skipped\n");
        return SKIP;
    }
    char name[256];
    if (facet_cuda_device_name(name, sizeof name) == FACET_OK) printf("device: %s\n", name);
    const char *hdri = FACET_SOURCE_DIR "/assets/demo/forest.exr";
    char dir[] = "/tmp/facet-gpu-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char json[1024];
    int failures = 0;
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": \"environment\", \"environment\": {\"map\": \"%s\", "
             "\"convention\": \"blender\", \"rotation_deg\": 33, \"strength\": 1.5}}",
             hdri);
    failures += compare("blender convention, rotated", json, dir);
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": \"environment\", \"environment\": {\"map\": \"%s\", "
             "\"convention\": \"nvdiffrec\"}}",
             hdri);
    failures += compare("nvdiffrec convention", json, dir);
    failures +=
        compare("constant background", "{\"version\": 1, \"background\": [0.2, 0.4, 0.8]}", dir);
    failures += compare_depth_and_device_target();
    return failures ? 1 : 0;
}
