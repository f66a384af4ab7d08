#include "render.h"

#include "composite.h"

#include "core/alloc.h"
#include "core/color.h"
#include "core/parallel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_NODES_PER_PIXEL = 64 };

int facet_device_from_name(const char *name) {
    if (!strcmp(name, "cpu")) return FACET_DEVICE_CPU;
    if (!strcmp(name, "cuda")) return FACET_DEVICE_CUDA;
    return -1;
}

const char *facet_device_name(facet_device device) {
    return device == FACET_DEVICE_CUDA ? "cuda" : "cpu";
}

int facet_scene_aux_channels(const facet_scene *scene) {
    int n = 0;
    for (int i = 0; i < scene->node_count; i++) n += scene->nodes[i].aux_channels;
    return n;
}

/* Renders one batch of `count` rays: one render_cpu call per node, then per-ray compositing into
 * out[count * 4]. aux_out (or NULL) receives the nodes' auxiliary channels, interleaved per ray;
 * aux_scratch holds one node's channels for the batch; depth_out (or NULL) the nearest covering
 * depth. */
static facet_status render_batch(const facet_scene *scene, const facet_ray *rays, int count,
                                 float scale, facet_ray_result *results, float *out, float *aux_out,
                                 float *aux_scratch, float *depth_out) {
    const int nodes = scene->node_count;
    const int aux_total = aux_out ? facet_scene_aux_channels(scene) : 0;
    for (int n = 0, aux_offset = 0; n < nodes; n++) {
        const facet_node *node = &scene->nodes[n];
        float *aux = aux_out && node->aux_channels ? aux_scratch : NULL;
        facet_status s =
            node->kind->render_cpu(node, scene, rays, count, results + (size_t)n * count, aux);
        if (s != FACET_OK) return facet_error_context("node '%s'", node->name);
        if (aux) {
            for (int i = 0; i < count; i++)
                for (int c = 0; c < node->aux_channels; c++)
                    aux_out[(size_t)i * aux_total + aux_offset + c] =
                        aux[(size_t)i * node->aux_channels + c];
            aux_offset += node->aux_channels;
        }
    }
    for (int i = 0; i < count; i++) {
        facet_ray_result pixel[MAX_NODES_PER_PIXEL];
        for (int n = 0; n < nodes; n++) pixel[n] = results[(size_t)n * count + i];
        float background[3];
        facet_background_radiance(scene->background_mode, scene->background,
                                  &scene->environment.view, rays[i].direction, background);
        float *px = out + (size_t)i * 4;
        facet_composite(pixel, nodes, background, px);
        for (int k = 0; k < 3; k++) px[k] *= scale;
        if (depth_out) depth_out[i] = facet_composite_depth(pixel, nodes);
    }
    return FACET_OK;
}

/* Where the rays come from: a camera's rows in segments of `batch` pixels (batch b = segment
 * b % segments of row b / segments, generated here; with spp > 1, the segment's sample k for
 * k = 0..spp-1 one after the other, summed into its pixels) or a caller's list (batch b = rays
 * [b * batch, (b + 1) * batch)). */
typedef struct ray_source {
    const facet_camera *camera;
    const facet_pixel_filter *filter; /* camera only */
    const facet_ray *rays;
    int64_t count; /* pixels (camera) or rays (list) */
    int batch;     /* pixels (at most a row) or rays per batch */
} ray_source;

/* Pixels per batch of a camera's rows: whole rows split into segments, so that a small image
 * still gives every thread batches to take. In whole rows, bench_livescene's 10-row strip of
 * 800-pixel rows rendered on two threads at 1.73x one thread's rate, and 100 rows at 1.99x
 * (a 2-core Zen 3): with ten batches, a 6/4 split leaves one thread idle for a row. */
enum { CAMERA_SEGMENT = 128 };

/* Segments per row of a camera source. */
static int camera_segments(const ray_source *source) {
    return (source->camera->width + source->batch - 1) / source->batch;
}

/* Batches of a source. */
static int64_t source_batches(const ray_source *source) {
    return source->camera ? (int64_t)source->camera->height * camera_segments(source)
                          : (source->count + source->batch - 1) / source->batch;
}

/* Batch b of a source: returns its ray count; *first is its first output pixel, and for a
 * camera (x0, y) that pixel's position. */
static int source_batch(const ray_source *source, int64_t b, int64_t *first, int *x0, int *y) {
    if (!source->camera) {
        *first = b * source->batch, *x0 = 0, *y = 0;
        const int64_t left = source->count - *first;
        return left < source->batch ? (int)left : source->batch;
    }
    const int width = source->camera->width, segments = camera_segments(source);
    *y = (int)(b / segments);
    *x0 = (int)(b % segments) * source->batch;
    *first = (int64_t)*y * width + *x0;
    return width - *x0 < source->batch ? width - *x0 : source->batch;
}

/* Per-thread buffers of the supersampled segments: one sample of a segment's pixels at a time. */
typedef struct sample_scratch {
    float *rgba, *aux, *depth, *hits; /* [batch * 4], [batch * aux_total], [batch], [batch] */
} sample_scratch;

/* Renders pixels [x0, x0 + n) of row `row` of a camera with spp > 1 samples per pixel into
 * rgba[n * 4], aux[n * aux_total] (or NULL) and depth[n] (or NULL): for k = 0..spp-1, sample k of
 * every pixel is rendered into the scratch and added to the pixel's sums; then the sums become
 * means (render/pixel_filter.h). */
static facet_status render_supersampled_segment(const facet_scene *scene, const ray_source *source,
                                                int x0, int row, int n, float scale,
                                                facet_ray *rays, facet_ray_result *results,
                                                float *aux_scratch, const sample_scratch *sample,
                                                int aux_total, float *rgba, float *aux,
                                                float *depth) {
    const int spp = facet_pixel_filter_spp(source->filter);
    memset(rgba, 0, (size_t)n * 4 * sizeof *rgba);
    if (aux) memset(aux, 0, (size_t)n * aux_total * sizeof *aux);
    if (depth) {
        memset(depth, 0, (size_t)n * sizeof *depth);
        memset(sample->hits, 0, (size_t)n * sizeof *sample->hits);
    }
    for (int k = 0; k < spp; k++) {
        for (int i = 0; i < n; i++)
            rays[i] = facet_pixel_sample_ray(source->camera, source->filter, x0 + i, row, k);
        facet_status s =
            render_batch(scene, rays, n, scale, results, sample->rgba, aux ? sample->aux : NULL,
                         aux_scratch, depth ? sample->depth : NULL);
        if (s != FACET_OK) return s;
        for (int i = 0; i < n; i++) {
            facet_sample_add(rgba + (size_t)i * 4, sample->rgba + (size_t)i * 4, 4);
            if (aux)
                facet_sample_add(aux + (size_t)i * aux_total, sample->aux + (size_t)i * aux_total,
                                 aux_total);
            if (depth) facet_sample_add_depth(&depth[i], &sample->hits[i], sample->depth[i]);
        }
    }
    for (int i = 0; i < n; i++) {
        facet_sample_mean(rgba + (size_t)i * 4, 4, spp);
        if (aux) facet_sample_mean(aux + (size_t)i * aux_total, aux_total, spp);
        if (depth) depth[i] = facet_sample_depth_mean(depth[i], sample->hits[i]);
    }
    return FACET_OK;
}

/* Renders every batch of `source` in parallel into rgba[count * 4], aux[count * aux_total] (or
 * NULL) and depth[count] (or NULL). */
static facet_status render_batches(const facet_scene *scene, const ray_source *source,
                                   float exposure, float *rgba, float *aux, int aux_total,
                                   float *depth) {
    if (scene->node_count > MAX_NODES_PER_PIXEL)
        return facet_fail(FACET_ERR_UNSUPPORTED, "a scene holds at most %d nodes, this one %d",
                          MAX_NODES_PER_PIXEL, scene->node_count);
    const float scale = exp2f(exposure);
    const int batch = source->batch;
    const int64_t batches = source_batches(source);
    const int supersampled = source->camera && facet_pixel_filter_spp(source->filter) > 1;
    int failed = 0;
    char failure[2048] = "";
    facet_status failure_status = FACET_OK;
#pragma omp parallel
    {
        facet_ray *rays = source->camera ? malloc((size_t)batch * sizeof *rays) : NULL;
        facet_ray_result *results = malloc(
            (size_t)batch * (size_t)(scene->node_count ? scene->node_count : 1) * sizeof *results);
        float *aux_scratch = aux_total ? malloc((size_t)batch * aux_total * sizeof(float)) : NULL;
        sample_scratch sample = {0};
        if (supersampled) {
            sample.rgba = malloc((size_t)batch * 4 * sizeof(float));
            sample.aux = aux_total ? malloc((size_t)batch * aux_total * sizeof(float)) : NULL;
            sample.depth = depth ? malloc((size_t)batch * sizeof(float)) : NULL;
            sample.hits = depth ? malloc((size_t)batch * sizeof(float)) : NULL;
        }
        const int sample_missing = supersampled && (!sample.rgba || (aux_total && !sample.aux) ||
                                                    (depth && (!sample.depth || !sample.hits)));
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < batches; b++) {
            if (failed) continue;
            int64_t first;
            int x0, y;
            const int n = source_batch(source, b, &first, &x0, &y);
            facet_status s;
            if ((source->camera && !rays) || !results || (aux_total && !aux_scratch) ||
                sample_missing) {
                s = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory for a batch of %d rays",
                               batch);
            } else if (supersampled) {
                s = render_supersampled_segment(scene, source, x0, y, n, scale, rays, results,
                                                aux_scratch, &sample, aux_total, rgba + first * 4,
                                                aux ? aux + first * aux_total : NULL,
                                                depth ? depth + first : NULL);
            } else {
                if (source->camera)
                    for (int i = 0; i < n; i++)
                        rays[i] = facet_camera_ray(source->camera, x0 + i, y);
                s = render_batch(scene, source->camera ? rays : source->rays + first, n, scale,
                                 results, rgba + first * 4, aux ? aux + first * aux_total : NULL,
                                 aux_scratch, depth ? depth + first : NULL);
            }
            if (s != FACET_OK) {
#pragma omp critical(facet_render_failure)
                if (!failed) {
                    failed = 1;
                    failure_status = s;
                    strncpy(failure, facet_last_error(), sizeof failure - 1);
                }
            }
        }
        free(rays);
        free(results);
        free(aux_scratch);
        free(sample.rgba);
        free(sample.aux);
        free(sample.depth);
        free(sample.hits);
    }
    return failed ? facet_fail(failure_status, "%s", failure) : FACET_OK;
}

/* Allocates out (4 channels), options->aux and options->depth for width x height. */
static facet_status alloc_outputs(const facet_scene *scene, const facet_render_options *options,
                                  int width, int height, facet_image *out, int *aux_total) {
    *aux_total = options->aux ? facet_scene_aux_channels(scene) : 0;
    if (options->aux && *aux_total == 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "no node in the scene has auxiliary outputs (masks)");
    facet_status s = facet_image_alloc(out, width, height, 4);
    if (s == FACET_OK && options->aux)
        s = facet_image_alloc(options->aux, width, height, *aux_total);
    if (s == FACET_OK && options->depth) s = facet_image_alloc(options->depth, width, height, 1);
    return s;
}

static void free_outputs(const facet_render_options *options, facet_image *out) {
    facet_image_free(out);
    if (options->aux) facet_image_free(options->aux);
    if (options->depth) facet_image_free(options->depth);
}

facet_status facet_render_image(const facet_scene *scene, const facet_camera *camera,
                                const facet_render_options *options, facet_image *out) {
    static const facet_render_options defaults = {0};
    if (!options) options = &defaults;
    if (options->device == FACET_DEVICE_CUDA)
        return facet_render_image_cuda(scene, camera, options, out);
    if (camera->width < 1 || camera->height < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "camera resolution %dx%d is empty",
                          camera->width, camera->height);
    facet_status s = facet_pixel_filter_check(&options->filter);
    if (s != FACET_OK) return s;
    int aux_total;
    s = alloc_outputs(scene, options, camera->width, camera->height, out, &aux_total);
    const ray_source rows = {camera, &options->filter, NULL,
                             (int64_t)camera->width * camera->height,
                             camera->width < CAMERA_SEGMENT ? camera->width : CAMERA_SEGMENT};
    if (s == FACET_OK)
        s = render_batches(scene, &rows, options->exposure, out->data,
                           options->aux ? options->aux->data : NULL, aux_total,
                           options->depth ? options->depth->data : NULL);
    if (s != FACET_OK) free_outputs(options, out);
    return s;
}

facet_status facet_render_rays(const facet_scene *scene, const facet_ray *rays, int64_t count,
                               const facet_render_options *options, facet_image *out) {
    static const facet_render_options defaults = {0};
    if (!options) options = &defaults;
    if (count < 1 || count > INT32_MAX)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "cannot render %lld rays", (long long)count);
    if (options->device == FACET_DEVICE_CUDA)
        return facet_render_rays_cuda(scene, rays, count, options, out);
    int aux_total;
    facet_status s = alloc_outputs(scene, options, (int)count, 1, out, &aux_total);
    const ray_source list = {NULL, NULL, rays, count, 256};
    if (s == FACET_OK)
        s = render_batches(scene, &list, options->exposure, out->data,
                           options->aux ? options->aux->data : NULL, aux_total,
                           options->depth ? options->depth->data : NULL);
    if (s != FACET_OK) free_outputs(options, out);
    return s;
}

facet_status facet_render_resolve(int spp, facet_image *rgba, facet_image *aux,
                                  facet_image *depth) {
    if (spp <= 1) return FACET_OK;
    const int64_t rays = (int64_t)rgba->width * rgba->height, count = rays / spp;
    if (rgba->channels != 4 || rays % spp != 0 ||
        (aux && (int64_t)aux->width * aux->height != rays) ||
        (depth && ((int64_t)depth->width * depth->height != rays || depth->channels != 1)))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "resolving %d samples per pixel: %lld RGBA samples (%d channels) do not "
                          "make whole pixels, or the masks or depth do not match them",
                          spp, (long long)rays, rgba->channels);
    const int aux_channels = aux ? aux->channels : 0;
    float *aux_sum = aux ? facet_alloc((size_t)aux_channels, sizeof *aux_sum) : NULL;
    if (aux && !aux_sum) return facet_last_status();
    /* in place: pixel p's samples (from p * spp on) are read before pixel p is written */
    for (int64_t p = 0; p < count; p++) {
        float sum[4] = {0, 0, 0, 0};
        for (int k = 0; k < spp; k++) facet_sample_add(sum, rgba->data + (p * spp + k) * 4, 4);
        facet_sample_mean(sum, 4, spp);
        memcpy(rgba->data + p * 4, sum, sizeof sum);
        if (aux) {
            memset(aux_sum, 0, (size_t)aux_channels * sizeof *aux_sum);
            for (int k = 0; k < spp; k++)
                facet_sample_add(aux_sum, aux->data + (p * spp + k) * aux_channels, aux_channels);
            facet_sample_mean(aux_sum, aux_channels, spp);
            memcpy(aux->data + p * aux_channels, aux_sum, (size_t)aux_channels * sizeof *aux_sum);
        }
        if (depth) {
            float d = 0.0f, hits = 0.0f;
            for (int k = 0; k < spp; k++)
                facet_sample_add_depth(&d, &hits, depth->data[p * spp + k]);
            depth->data[p] = facet_sample_depth_mean(d, hits);
        }
    }
    free(aux_sum);
    rgba->width = (int)count;
    rgba->height = 1;
    if (aux) aux->width = (int)count, aux->height = 1;
    if (depth) depth->width = (int)count, depth->height = 1;
    return FACET_OK;
}

facet_status facet_render_to_srgb(const facet_image *linear_rgba, facet_image *srgb_rgb) {
    facet_status s = facet_image_alloc(srgb_rgb, linear_rgba->width, linear_rgba->height, 3);
    if (s != FACET_OK) return s;
    const int64_t pixels = (int64_t)linear_rgba->width * linear_rgba->height;
    const int in_channels = linear_rgba->channels;
    FACET_PARALLEL_FOR(p, 0, pixels) {
        for (int c = 0; c < 3; c++)
            srgb_rgb->data[p * 3 + c] = facet_linear_to_srgb(
                linear_rgba->data[p * in_channels + (c < in_channels ? c : 0)]);
    }
    return FACET_OK;
}
