#include "render.h"

#include "composite.h"

#include "core/alloc.h"
#include "core/color.h"
#include "core/parallel.h"

#include <math.h>
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

/* Renders image row `row`: one batch of `width` rays per node, then per-pixel compositing.
 * aux_row (or NULL) receives the nodes' auxiliary channels, interleaved per pixel; aux_scratch
 * holds one node's channels for the row; depth_row (or NULL) the nearest covering depth. */
static facet_status render_row(const facet_scene *scene, const facet_camera *camera, int row,
                               float scale, facet_ray *rays, facet_ray_result *results,
                               float *out_row, float *aux_row, float *aux_scratch,
                               float *depth_row) {
    const int width = camera->width, nodes = scene->node_count;
    const int aux_total = aux_row ? facet_scene_aux_channels(scene) : 0;
    for (int i = 0; i < width; i++) rays[i] = facet_camera_ray(camera, i, row);
    for (int n = 0, aux_offset = 0; n < nodes; n++) {
        const facet_node *node = &scene->nodes[n];
        float *aux = aux_row && node->aux_channels ? aux_scratch : NULL;
        facet_status s =
            node->kind->render_cpu(node, scene, rays, width, results + (size_t)n * width, aux);
        if (s != FACET_OK) return facet_error_context("node '%s'", node->name);
        if (aux) {
            for (int i = 0; i < width; i++)
                for (int c = 0; c < node->aux_channels; c++)
                    aux_row[(size_t)i * aux_total + aux_offset + c] =
                        aux[(size_t)i * node->aux_channels + c];
            aux_offset += node->aux_channels;
        }
    }
    for (int i = 0; i < width; i++) {
        facet_ray_result pixel[MAX_NODES_PER_PIXEL];
        for (int n = 0; n < nodes; n++) pixel[n] = results[(size_t)n * width + i];
        float background[3];
        facet_background_radiance(scene->background_mode, scene->background,
                                  &scene->environment.view, rays[i].direction, background);
        float *px = out_row + (size_t)i * 4;
        facet_composite(pixel, nodes, background, px);
        for (int k = 0; k < 3; k++) px[k] *= scale;
        if (depth_row) depth_row[i] = facet_composite_depth(pixel, nodes);
    }
    return FACET_OK;
}

facet_status facet_render_image(const facet_scene *scene, const facet_camera *camera,
                                const facet_render_options *options, facet_image *out) {
    static const facet_render_options defaults = {0};
    if (!options) options = &defaults;
    if (options->device == FACET_DEVICE_CUDA)
        return facet_render_image_cuda(scene, camera, options, out);
    if (scene->node_count > MAX_NODES_PER_PIXEL)
        return facet_fail(FACET_ERR_UNSUPPORTED, "a scene holds at most %d nodes, this one %d",
                          MAX_NODES_PER_PIXEL, scene->node_count);
    if (camera->width < 1 || camera->height < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "camera resolution %dx%d is empty",
                          camera->width, camera->height);
    facet_status status = facet_image_alloc(out, camera->width, camera->height, 4);
    if (status != FACET_OK) return status;
    const int aux_total = options->aux ? facet_scene_aux_channels(scene) : 0;
    if (options->aux) {
        if (aux_total == 0) {
            facet_image_free(out);
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "no node in the scene has auxiliary outputs (masks)");
        }
        status = facet_image_alloc(options->aux, camera->width, camera->height, aux_total);
        if (status != FACET_OK) {
            facet_image_free(out);
            return status;
        }
    }
    if (options->depth &&
        (status = facet_image_alloc(options->depth, camera->width, camera->height, 1)) !=
            FACET_OK) {
        facet_image_free(out);
        if (options->aux) facet_image_free(options->aux);
        return status;
    }
    const float scale = exp2f(options->exposure);
    const int width = camera->width;
    int failed = 0;
    char failure[2048] = "";
    facet_status failure_status = FACET_OK;
#pragma omp parallel
    {
        facet_ray *rays = malloc((size_t)width * sizeof *rays);
        facet_ray_result *results = malloc(
            (size_t)width * (size_t)(scene->node_count ? scene->node_count : 1) * sizeof *results);
        float *aux_scratch = aux_total ? malloc((size_t)width * aux_total * sizeof(float)) : NULL;
#pragma omp for schedule(dynamic, 1)
        for (int row = 0; row < camera->height; row++) {
            if (failed) continue;
            facet_status s;
            if (!rays || !results || (aux_total && !aux_scratch))
                s = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory for a row of %d rays",
                               width);
            else
                s = render_row(
                    scene, camera, row, scale, rays, results, out->data + (size_t)row * width * 4,
                    aux_total ? options->aux->data + (size_t)row * width * aux_total : NULL,
                    aux_scratch,
                    options->depth ? options->depth->data + (size_t)row * width : NULL);
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
    }
    if (failed) {
        facet_image_free(out);
        if (options->aux) facet_image_free(options->aux);
        if (options->depth) facet_image_free(options->depth);
        return facet_fail(failure_status, "%s", failure);
    }
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
