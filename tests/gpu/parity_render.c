/* Render suite: every node kind and every render target on CUDA against the CPU renderer.
 *
 * Inputs: the forest HDRI (assets/demo), the LiveScene reference model
 * (tests/fixtures/livescene/small.safetensors), analytic SDF shapes and the small RISE-SDF field
 * (tests/fixtures/risesdf/small.safetensors). Images are small (48 x 36 to 64 x 48): the emulated
 * build runs every thread as a fiber on the CPU, and parity needs pixels of every kind, not many.
 *
 * Tolerances (elements are linear RGBA, masks, depths):
 * - environment background: per pixel a camera ray, atan2/acos to texel coordinates, a bilinear
 *   fetch. libdevice's atan2f/acosf are within 2 ulp, glibc's within 1, and FMA moves a ray by an
 *   ulp: texel coordinates move by ~4 ulp of 0.5 (2.4e-7) times the map width (2048 here), 5e-4
 *   texel, so a bilinear value moves by 5e-4 of its neighbours' difference. The HDRI's texel
 *   contrast is bounded by ~20 (sun disc edge): rel 1e-2 worst case, typically 1e-5. Tolerance
 *   rel 2e-3 + abs 1e-5 per channel, with 0.5% of pixels allowed beyond it (texels at the sun's
 *   edge): measured 0 flips.
 * - livescene: 48 + 48 proposal samples and 48 field samples per ray, exp density, a transmittance
 *   product and a PDF resampling step. The resampling is a search of a CDF (a threshold), and
 *   each sample's kappa is the argmax of the probability field: both are discrete decisions, so
 *   a pixel may flip when a sample crosses a bin edge. Continuous part: ~100 sequential float
 *   operations of condition ~1 (alpha compositing of weights in [0,1]) give ~1e-5 relative;
 *   tolerance rel 1e-4 + abs 1e-5, flips <= 1% of pixels.
 * - sdf, risesdf: sphere tracing stops within epsilon of the surface: a ray grazing a silhouette
 *   can hit on one device and miss on the other (a flip). Shading of a hit is split-sum with
 *   roughness-dependent level interpolation: ~1e-5 relative. Tolerance rel 2e-3 + abs 1e-4
 *   (the surface point moves by up to the march epsilon, 1e-4 scene units, which moves normals
 *   and lookups by that much), flips <= 1% of pixels.
 * - sdf reference lighting (nodes/sdf_reference.h): Monte Carlo with PCG32 seeded by the ray's
 *   bits, so both devices must see the same rays: the case renders one host-made ray list on
 *   each (camera rays made on the device differ from the host's by an ulp in some pixels, which
 *   reseeds them; the camera itself is checked above). The random integers, the environment
 *   tables (built on the host, uploaded) and the CDF searches are then exact on both devices;
 *   sample directions pass through sinf/cosf/sqrtf (libdevice within 2 ulp), so each sample
 *   moves like the surface case, and a shadow ray (a sphere trace from the surface) can flip
 *   between blocked and open at grazing directions, moving a pixel by one sample's share (1/8
 *   of its value here: two strategies x 4 pairs). Tolerance: the surface one with 1% of pixels
 *   allowed to flip; the exact build bit for bit.
 * - depth: where both devices cover a pixel, relative 1e-3 (march epsilon over distance ~5);
 *   a pixel covered on one device only is a flip.
 * - device-buffer target vs the host-image CUDA render: the same kernels, the same inputs: exact.
 * - ray list vs camera render on CUDA: the ray list's rays are made on the host, the camera's on
 *   the device (FMA in the camera transform): ray directions differ by an ulp, then as above.
 * - supersampled (".spp N" cases, render/pixel_filter.h): sample positions come from integer
 *   scrambles and the filter's inverse CDF (Newton on sinf/cosf or erff/expf: libdevice moves an
 *   offset by ~1e-7 px, far below the ray-direction ulps above); each pixel is the sum of its
 *   samples in sample order over N, the same additions on both devices. So each sample's
 *   tolerance carries over, and a flip (hit on one device, miss on the other) now moves a pixel by
 *   1/N of the flipped sample: the same tolerances apply, and the exact build must match bit for
 *   bit. */
#include "parity.h"

#include "core/cuda/device.h"
#include "core/fileio.h"
#include "core/status.h"
#include "render/render.h"
#include "render/scene.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const parity_tolerance ENV_TOL = {
    .abs = 1e-5, .rel = 2e-3, .group = 4, .max_flips = 0.005, .same_code = 1};
static const parity_tolerance LIVESCENE_TOL = {
    .abs = 1e-5, .rel = 1e-4, .group = 4, .max_flips = 0.01, .same_code = 1};
/* livescene with fp16 networks: the CPU computes the per-point fp16 reference, CUDA the tensor
 * cores, whose sums may run in another order (fields/tcnn_mlp_half.h). A sum moves by ~1e-7
 * relative, but a hidden unit on a half rounding boundary moves by a half ulp (2^-11 relative), and
 * through the 64-wide layers (weights ~1/8) an output by ~1e-4; exp(raw - 1) and the compositing
 * keep that relative. Tolerance rel 1e-3 + abs 1e-4, with 2% of pixels allowed to flip (an argmax
 * or a resampling bin moved by such a change); the exact build bit for bit. */
static const parity_tolerance LIVESCENE_F16_TOL = {
    .abs = 1e-4, .rel = 1e-3, .group = 4, .max_flips = 0.02, .same_code = 1};
static const parity_tolerance SURFACE_TOL = {
    .abs = 1e-4, .rel = 2e-3, .group = 4, .max_flips = 0.01, .same_code = 1};
/* risesdf: the host's softplus is a polynomial expf/logf (vectorised), the device's log1pf(expf)
 * (fields/risesdf.h): not the same code, so never bit for bit */
static const parity_tolerance REFERENCE_TOL = {
    .abs = 1e-4, .rel = 2e-3, .group = 4, .max_flips = 0.01, .same_code = 1};
static const parity_tolerance RISESDF_TOL = {
    .abs = 1e-4, .rel = 2e-3, .group = 4, .max_flips = 0.01, .same_code = 0};
static const parity_tolerance DEPTH_TOL = {
    .abs = 1e-5, .rel = 1e-3, .group = 1, .max_flips = 0.01, .same_code = 1};
static const parity_tolerance EXACT = {.group = 4};

/* Writes `json` to the scratch directory as NAME.json and loads it. */
static int load_scene(facet_scene *scene, const char *name, const char *json) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.json", parity_scratch_dir(), name);
    return facet_write_file_atomic(path, json, strlen(json)) == FACET_OK &&
           facet_scene_load(scene, path) == FACET_OK;
}

/* Depth images hold +inf where nothing covers the pixel. Both uncovered: equal (0 and 0); one
 * uncovered: a flip (0 against 1e30); NaN stays NaN and fails. */
static void depth_for_comparison(float *ref, float *got, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const int ra = isinf(ref[i]) && ref[i] > 0, ga = isinf(got[i]) && got[i] > 0;
        if (ra && ga) {
            ref[i] = got[i] = 0.0f;
        } else if (ra || ga) {
            ref[i] = 0.0f;
            got[i] = 1e30f;
        }
    }
}

/* CPU vs CUDA image of `camera` (with `filter`, NULL: one ray per pixel centre): rgba, and aux /
 * depth when `aux` / `depth` are set. */
static int compare_filtered(const char *name, const facet_scene *scene, const facet_camera *camera,
                            const facet_pixel_filter *filter, const parity_tolerance *tol, int aux,
                            int depth) {
    facet_image a = {0}, b = {0}, ma = {0}, mb = {0}, da = {0}, db = {0};
    facet_render_options cpu = {.device = FACET_DEVICE_CPU, .exposure = 0.5f},
                         gpu = {.device = FACET_DEVICE_CUDA, .exposure = 0.5f};
    if (filter) cpu.filter = gpu.filter = *filter;
    if (aux) cpu.aux = &ma, gpu.aux = &mb;
    if (depth) cpu.depth = &da, gpu.depth = &db;
    char label[128];
    int failures = 0;
    snprintf(label, sizeof label, "%s.rgba", name);
    if (facet_render_image(scene, camera, &cpu, &a) != FACET_OK)
        return parity_error(label, "CPU render");
    if (facet_render_image(scene, camera, &gpu, &b) != FACET_OK) {
        failures = parity_error(label, "CUDA render");
    } else {
        failures += parity_check(label, a.data, b.data, (size_t)a.width * a.height * 4, tol);
        if (aux) {
            parity_tolerance t = *tol;
            t.group = (size_t)ma.channels;
            snprintf(label, sizeof label, "%s.mask", name);
            failures += parity_check(label, ma.data, mb.data,
                                     (size_t)ma.width * ma.height * ma.channels, &t);
        }
        if (depth) {
            const size_t n = (size_t)da.width * da.height;
            depth_for_comparison(da.data, db.data, n);
            snprintf(label, sizeof label, "%s.depth", name);
            parity_tolerance t = DEPTH_TOL;
            t.same_code = tol->same_code;
            failures += parity_check(label, da.data, db.data, n, &t);
        }
    }
    facet_image_free(&a);
    facet_image_free(&b);
    facet_image_free(&ma);
    facet_image_free(&mb);
    facet_image_free(&da);
    facet_image_free(&db);
    return failures;
}

static int compare_images(const char *name, const facet_scene *scene, const facet_camera *camera,
                          const parity_tolerance *tol, int aux, int depth) {
    return compare_filtered(name, scene, camera, NULL, tol, aux, depth);
}

/* A supersampled render (`spp` samples of `type` at its default width), CPU vs CUDA; and the
 * device-buffer target (the viewer's interop path) with the same filter against the host-image
 * CUDA render: exact. */
static int compare_supersampled(const char *name, const facet_scene *scene, const facet_camera *cam,
                                int spp, int type, const parity_tolerance *tol, int aux,
                                int depth) {
    const facet_pixel_filter filter = {spp, type, 0.0f};
    char label[128];
    snprintf(label, sizeof label, "%s.spp%d.%s", name, spp, facet_filter_type_name(type));
    int failures = compare_filtered(label, scene, cam, &filter, tol, aux, depth);
    const size_t floats = (size_t)cam->width * cam->height * 4;
    facet_render_options gpu = {.device = FACET_DEVICE_CUDA, .filter = filter};
    facet_image host = {0};
    facet_device_buffer target = {0};
    float *downloaded = malloc(floats * sizeof(float));
    snprintf(label, sizeof label, "%s.spp%d.%s.device_target", name, spp,
             facet_filter_type_name(type));
    if (!downloaded || facet_render_image(scene, cam, &gpu, &host) != FACET_OK ||
        facet_device_buffer_alloc(&target, floats * sizeof(float)) != FACET_OK ||
        facet_render_image_cuda_device(scene, cam, &gpu, (float *)target.data) != FACET_OK ||
        facet_device_buffer_download(&target, downloaded, floats * sizeof(float)) != FACET_OK)
        failures += parity_error(label, "CUDA render");
    else
        failures += parity_check(label, host.data, downloaded, floats, &EXACT);
    facet_device_buffer_free(&target);
    facet_image_free(&host);
    free(downloaded);
    return failures;
}

/* The viewer's targets on the same scene: a caller-owned device buffer (CUDA-GL interop path)
 * must equal the host-image CUDA render exactly; a ray list (the progressive refiner) must equal
 * the camera render within the ray-generation tolerance, on CUDA and against the CPU's ray list. */
static int compare_targets(const char *name, const facet_scene *scene, const facet_camera *cam,
                           const parity_tolerance *tol) {
    const size_t pixels = (size_t)cam->width * cam->height, floats = pixels * 4;
    facet_render_options gpu = {.device = FACET_DEVICE_CUDA}, cpu = {.device = FACET_DEVICE_CPU};
    facet_image host = {0}, list_gpu = {0}, list_cpu = {0};
    facet_device_buffer target = {0};
    float *downloaded = malloc(floats * sizeof(float));
    facet_ray *rays = malloc(pixels * sizeof *rays);
    char label[128];
    int failures = 0;
    snprintf(label, sizeof label, "%s.device_target", name);
    if (!downloaded || !rays) {
        failures += parity_error(label, "out of memory");
        goto done;
    }
    if (facet_render_image(scene, cam, &gpu, &host) != FACET_OK ||
        facet_device_buffer_alloc(&target, floats * sizeof(float)) != FACET_OK ||
        facet_render_image_cuda_device(scene, cam, &gpu, (float *)target.data) != FACET_OK ||
        facet_device_buffer_download(&target, downloaded, floats * sizeof(float)) != FACET_OK) {
        failures += parity_error(label, "CUDA render");
        goto done;
    }
    failures += parity_check(label, host.data, downloaded, floats, &EXACT);
    for (size_t p = 0; p < pixels; p++)
        rays[p] =
            facet_camera_ray(cam, (int)(p % (size_t)cam->width), (int)(p / (size_t)cam->width));
    snprintf(label, sizeof label, "%s.rays_vs_camera", name);
    if (facet_render_rays(scene, rays, (int64_t)pixels, &gpu, &list_gpu) != FACET_OK) {
        failures += parity_error(label, "CUDA ray list");
        goto done;
    }
    failures += parity_check(label, host.data, list_gpu.data, floats, tol);
    snprintf(label, sizeof label, "%s.rays", name);
    if (facet_render_rays(scene, rays, (int64_t)pixels, &cpu, &list_cpu) != FACET_OK) {
        failures += parity_error(label, "CPU ray list");
        goto done;
    }
    failures += parity_check(label, list_cpu.data, list_gpu.data, floats, tol);
done:
    facet_device_buffer_free(&target);
    facet_image_free(&host);
    facet_image_free(&list_gpu);
    facet_image_free(&list_cpu);
    free(downloaded);
    free(rays);
    return failures;
}

static const facet_mat4 ORBIT = {
    {0.8f, -0.36f, 0.48f, 0.1f, 0.6f, 0.48f, -0.64f, 0.2f, 0.0f, 0.8f, 0.6f, 0.3f, 0, 0, 0, 1}};

static int environment_cases(void) {
    const char *src = parity_source_dir();
    const facet_camera cam = facet_camera_from_fov(ORBIT, 1.1f, 64, 48);
    char json[1024];
    int failures = 0;
    facet_scene scene;
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": \"environment\", \"environment\": {\"map\": "
             "\"%s/assets/demo/forest.exr\", \"convention\": \"blender\", \"rotation_deg\": 33, "
             "\"strength\": 1.5}}",
             src);
    if (!load_scene(&scene, "env_blender", json)) return parity_error("render.env.blender", "load");
    failures += compare_images("render.env.blender", &scene, &cam, &ENV_TOL, 0, 0);
    failures += compare_targets("render.env.blender", &scene, &cam, &ENV_TOL);
    for (int type = FACET_FILTER_BOX; type <= FACET_FILTER_BLACKMAN_HARRIS; type++)
        failures +=
            compare_supersampled("render.env.blender", &scene, &cam, 8, type, &ENV_TOL, 0, 0);
    facet_scene_free(&scene);
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": \"environment\", \"environment\": {\"map\": "
             "\"%s/assets/demo/forest.exr\", \"convention\": \"nvdiffrec\"}}",
             src);
    if (!load_scene(&scene, "env_nvdiffrec", json))
        return failures + parity_error("render.env.nvdiffrec", "load");
    failures += compare_images("render.env.nvdiffrec", &scene, &cam, &ENV_TOL, 0, 0);
    facet_scene_free(&scene);
    if (!load_scene(&scene, "env_constant", "{\"version\": 1, \"background\": [0.2, 0.4, 0.8]}"))
        return failures + parity_error("render.env.constant", "load");
    failures += compare_images("render.env.constant", &scene, &cam, &ENV_TOL, 0, 0);
    facet_scene_free(&scene);
    return failures;
}

static int livescene_cases(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/livescene/scene.json", parity_source_dir());
    facet_scene scene;
    if (facet_scene_load(&scene, path) != FACET_OK) return parity_error("render.livescene", "load");
    const facet_mat4 c2w = {{0.0235f, -0.1778f, 0.9838f, 4.2571f, 0.9961f, 0.0879f, -0.0079f,
                             0.2683f, -0.0851f, 0.9801f, 0.1792f, 0.9f, 0, 0, 0, 1}};
    const facet_camera cam = facet_camera_from_fov(c2w, 0.9f, 48, 36);
    int failures = compare_images("render.livescene", &scene, &cam, &LIVESCENE_TOL, 1, 1);
    failures += compare_targets("render.livescene", &scene, &cam, &LIVESCENE_TOL);
    /* the CUDA stages in batches of 97 rays: every batch boundary and the short last batch */
    setenv("FACET_CUDA_BATCH_RAYS", "97", 1);
    failures += compare_images("render.livescene.batch97", &scene, &cam, &LIVESCENE_TOL, 1, 1);
    unsetenv("FACET_CUDA_BATCH_RAYS");
    /* masks and depth averaged over samples; half size: the emulator runs 4 samples per pixel */
    const facet_camera half = facet_camera_resized(cam, 24, 18);
    failures += compare_supersampled("render.livescene", &scene, &half, 4,
                                     FACET_FILTER_BLACKMAN_HARRIS, &LIVESCENE_TOL, 1, 1);
    facet_scene_free(&scene);
    /* fp16 networks: tensor cores on CUDA, the per-point fp16 reference on the CPU; batches of 97
     * rays, so the tensor-core matrices have padding rows */
    char json[1024];
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": [1, 1, 1], \"nodes\": [{\"type\": \"livescene\", "
             "\"name\": \"toy\", \"weights\": \"%s/tests/fixtures/livescene/small.safetensors\", "
             "\"kappa\": {\"drawer\": 0.25, \"door\": 1.0}, \"mlp_dtype\": \"f16\"}]}",
             parity_source_dir());
    if (!load_scene(&scene, "livescene_f16", json))
        return failures + parity_error("render.livescene.f16", "load");
    setenv("FACET_CUDA_BATCH_RAYS", "97", 1);
    failures += compare_images("render.livescene.f16", &scene, &half, &LIVESCENE_F16_TOL, 1, 1);
    unsetenv("FACET_CUDA_BATCH_RAYS");
    facet_scene_free(&scene);
    return failures;
}

static int sdf_cases(void) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": \"environment\", \"environment\": {\"map\": "
             "\"%s/assets/demo/forest.exr\", \"convention\": \"blender\", \"rotation_deg\": 40}, "
             "\"nodes\": ["
             "{\"type\": \"sdf\", \"name\": \"mirror\", \"lighting\": {\"mode\": \"parity\", "
             "\"size\": 64}, \"shape\": {\"sphere\": {\"center\": [-0.9, 0, 0.8], \"radius\": "
             "0.8}}, \"material\": {\"base_color\": [0.95, 0.95, 0.95], \"roughness\": 0.08, "
             "\"metallic\": 1.0}},"
             "{\"type\": \"sdf\", \"name\": \"plastic\", \"lighting\": {\"mode\": \"parity\", "
             "\"size\": 64}, \"shape\": {\"sphere\": {\"center\": [0.9, 0, 0.8], \"radius\": "
             "0.8}}, \"material\": {\"base_color\": [0.7, 0.06, 0.05], \"roughness\": 0.4, "
             "\"metallic\": 0.0}},"
             "{\"type\": \"sdf\", \"name\": \"ring\", \"lighting\": {\"mode\": \"parity\", "
             "\"size\": 64}, \"shape\": {\"torus\": {\"major\": 0.55, \"minor\": 0.16, \"axis\": "
             "[0, 0, 1]}}, \"translate\": [0, -1.5, 0.75], \"rotate_deg\": [70, 0, 20], "
             "\"material\": {\"base_color\": [0.1, 0.5, 0.2], \"roughness\": 0.2, \"metallic\": "
             "0.0}},"
             "{\"type\": \"sdf\", \"name\": \"floor\", \"lighting\": {\"mode\": \"parity\", "
             "\"size\": 64}, \"shape\": {\"box\": {\"half_size\": [3.0, 3.0, 0.05]}}, "
             "\"translate\": [0, 0, -0.05], \"material\": {\"base_color\": [0.3, 0.3, 0.28], "
             "\"roughness\": 0.7, \"metallic\": 0.0}}]}",
             parity_source_dir());
    facet_scene scene;
    if (!load_scene(&scene, "sdf", json)) return parity_error("render.sdf", "load");
    const facet_mat4 c2w = {
        {1, 0, 0, 0, 0, 0.322462f, -0.946582f, -6.5f, 0, 0.946582f, 0.322462f, 2.6f, 0, 0, 0, 1}};
    const facet_camera cam = facet_camera_from_fov(c2w, 0.69f, 64, 36);
    int failures = compare_images("render.sdf", &scene, &cam, &SURFACE_TOL, 0, 1);
    failures += compare_targets("render.sdf", &scene, &cam, &SURFACE_TOL);
    failures += compare_supersampled("render.sdf", &scene, &cam, 4, FACET_FILTER_GAUSSIAN,
                                     &SURFACE_TOL, 0, 1);
    facet_scene_free(&scene);
    return failures;
}

/* CPU vs CUDA on one ray list made on the host (the camera's pixel-centre rays). */
static int compare_ray_list(const char *name, const facet_scene *scene, const facet_camera *cam,
                            const parity_tolerance *tol) {
    const size_t pixels = (size_t)cam->width * cam->height;
    facet_render_options gpu = {.device = FACET_DEVICE_CUDA}, cpu = {.device = FACET_DEVICE_CPU};
    facet_image a = {0}, b = {0};
    facet_ray *rays = malloc(pixels * sizeof *rays);
    char label[128];
    snprintf(label, sizeof label, "%s.rays", name);
    if (!rays) return parity_error(label, "out of memory");
    for (size_t p = 0; p < pixels; p++)
        rays[p] =
            facet_camera_ray(cam, (int)(p % (size_t)cam->width), (int)(p / (size_t)cam->width));
    int failures = 0;
    if (facet_render_rays(scene, rays, (int64_t)pixels, &cpu, &a) != FACET_OK)
        failures = parity_error(label, "CPU ray list");
    else if (facet_render_rays(scene, rays, (int64_t)pixels, &gpu, &b) != FACET_OK)
        failures = parity_error(label, "CUDA ray list");
    else
        failures = parity_check(label, a.data, b.data, pixels * 4, tol);
    facet_image_free(&a);
    facet_image_free(&b);
    free(rays);
    return failures;
}

/* The reference lighting mode: one object (a sphere on a slab with a ring leaning on it, so
 * shadow rays meet the object) under the forest HDRI, 4 sample pairs per pixel; then pass 1. */
static int sdf_reference_cases(void) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": \"environment\", \"environment\": {\"map\": "
             "\"%s/assets/demo/forest.exr\", \"convention\": \"blender\"}, \"nodes\": ["
             "{\"type\": \"sdf\", \"name\": \"group\", \"lighting\": {\"mode\": \"reference\", "
             "\"samples\": 4}, \"shape\": [{\"sphere\": {\"center\": [-0.6, 0, 0.8], "
             "\"radius\": 0.8}}, {\"box\": {\"center\": [0, 0, -0.05], \"half_size\": [3, 3, "
             "0.05]}}, {\"torus\": {\"center\": [1.0, 0, 0.5], \"major\": 0.5, \"minor\": "
             "0.15, \"axis\": [1, 0, 0.3]}}], \"material\": {\"base_color\": [0.9, 0.6, 0.3], "
             "\"roughness\": 0.35, \"metallic\": 0.5}}]}",
             parity_source_dir());
    facet_scene scene;
    if (!load_scene(&scene, "sdf_reference", json))
        return parity_error("render.sdf.reference", "load");
    const facet_mat4 c2w = {
        {1, 0, 0, 0, 0, 0.322462f, -0.946582f, -6.5f, 0, 0.946582f, 0.322462f, 2.6f, 0, 0, 0, 1}};
    const facet_camera cam = facet_camera_from_fov(c2w, 0.69f, 48, 27);
    int failures = compare_ray_list("render.sdf.reference", &scene, &cam, &REFERENCE_TOL);
    scene.sample_pass = 1;
    failures += compare_ray_list("render.sdf.reference.pass1", &scene, &cam, &REFERENCE_TOL);
    facet_scene_free(&scene);
    return failures;
}

static int risesdf_case(const char *name, const char *node_options) {
    char json[2048];
    const char *src = parity_source_dir();
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": \"environment\", \"environment\": {\"map\": "
             "\"%s/assets/demo/forest.exr\", \"convention\": \"blender\", \"rotation_deg\": "
             "-25}, \"nodes\": [{\"type\": \"risesdf\", \"name\": \"m\", \"weights\": "
             "\"%s/tests/fixtures/risesdf/small.safetensors\", \"lighting\": {\"mode\": "
             "\"parity\", \"size\": 64}%s}]}",
             src, src, node_options);
    facet_scene scene;
    if (!load_scene(&scene, "risesdf", json)) return parity_error(name, "load");
    const facet_mat4 c2w = {{1, 0, 0, 0, 0, 0, -1, -3, 0, 1, 0, 0, 0, 0, 0, 1}};
    const facet_camera cam = facet_camera_from_fov(c2w, 0.7f, 40, 40);
    int failures = compare_images(name, &scene, &cam, &RISESDF_TOL, 0, 1);
    if (!strcmp(name, "render.risesdf.sphere_trace")) { /* every node kind supersampled */
        const facet_camera half = facet_camera_resized(cam, 20, 20);
        failures +=
            compare_supersampled(name, &scene, &half, 4, FACET_FILTER_BOX, &RISESDF_TOL, 0, 1);
    }
    facet_scene_free(&scene);
    return failures;
}

int parity_suite_render(void) {
    int failures = environment_cases();
    failures += livescene_cases();
    failures += sdf_cases();
    failures += sdf_reference_cases();
    failures += risesdf_case("render.risesdf.sphere_trace", "");
    failures +=
        risesdf_case("render.risesdf.volume", ", \"mode\": \"volume\", \"indirect\": \"parity\", "
                                              "\"indirect_max_roughness\": 1");
    return failures;
}
