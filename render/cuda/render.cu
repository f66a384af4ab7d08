/* CUDA renderer: the same per-pixel functions as render.c (camera.h, composite.h, envmap.h) in thin
 * kernels: primary rays for every pixel, each node's render_cuda on that ray batch, then one
 * compositing kernel. Everything stays on the device until the final image is copied back. The
 * environment map's texels are copied to the device once per map, not per frame (env_cache). */
#include "core/cuda/check.h"
#include "core/cuda/launch.h"
#include "render/composite.h"
#include "render/render.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

namespace {

enum { MAX_NODES = 16 };

/* ---- env_cache: the environment map's texels on the device --------------------------------------
 * A 2k HDRI is 24 MB; it was copied to the device for every frame. Now each scene's map is copied
 * once and kept while the scene shows it. An entry is keyed by the scene (its address) and the
 * identity of its map: the host texel buffer, the size, the path and a fingerprint of sampled
 * texels (a map replaced through facet_scene_set_environment has a new buffer; the fingerprint
 * and path guard against a new map that reuses a freed one's address). Rotation and strength are
 * not texels: they travel in the view and need no upload. A scene whose map changed drops its old
 * copy (at once, or when the last render using it ends). The scene graph has no hook for a render
 * cache, so a freed scene's copy stays until it is the least recently used of more than
 * ENV_CACHE_SCENES entries; an entry in use by a render is never freed. */
enum { ENV_CACHE_SCENES = 4 };

struct env_entry {
    const facet_scene *scene; /* NULL once replaced (freed by its last user) */
    const float *host;
    int width, height;
    uint64_t fingerprint;
    char *path;
    float *device;
    int users;
    unsigned long long last_use;
    env_entry *next;
};

pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;
env_entry *env_head;
unsigned long long env_clock;

/* Called with env_lock held. */
void env_unlink_free(env_entry *entry) {
    for (env_entry **p = &env_head; *p; p = &(*p)->next)
        if (*p == entry) {
            *p = entry->next;
            break;
        }
    cudaFree(entry->device);
    free(entry->path);
    free(entry);
}

/* The device copy of the scene's environment texels, uploaded if the scene has none for its
 * present map; *out holds one use until env_release. */
facet_status env_acquire(const facet_scene *scene, env_entry **out) {
    const facet_envmap_view *env = &scene->environment.view;
    const char *path = scene->environment.path ? scene->environment.path : "";
    const uint64_t fingerprint = facet_envmap_fingerprint(env);
    pthread_mutex_lock(&env_lock);
    env_entry *found = NULL;
    for (env_entry *e = env_head, *next; e; e = next) {
        next = e->next;
        if (e->scene != scene) continue;
        if (e->host == env->rgb && e->width == env->width && e->height == env->height &&
            e->fingerprint == fingerprint && !strcmp(e->path, path)) {
            found = e;
        } else { /* the scene shows another map now */
            e->scene = NULL;
            if (!e->users) env_unlink_free(e);
        }
    }
    if (!found) {
        const size_t bytes = (size_t)env->width * env->height * 3 * sizeof(float);
        env_entry *e = (env_entry *)calloc(1, sizeof *e);
        char *copy = e ? strdup(path) : NULL;
        cudaError_t err = e && copy ? cudaMalloc(&e->device, bytes) : cudaErrorMemoryAllocation;
        if (err == cudaSuccess)
            err = cudaMemcpy(e->device, env->rgb, bytes, cudaMemcpyHostToDevice);
        if (err != cudaSuccess) {
            if (e) cudaFree(e->device);
            free(copy);
            free(e);
            cudaGetLastError(); /* reported here: not the next launch's error */
            pthread_mutex_unlock(&env_lock);
            return facet_fail(FACET_ERR_CUDA,
                              "copying the environment map '%s' (%dx%d) to the "
                              "GPU: %s",
                              path, env->width, env->height, cudaGetErrorString(err));
        }
        e->scene = scene;
        e->host = env->rgb;
        e->width = env->width;
        e->height = env->height;
        e->fingerprint = fingerprint;
        e->path = copy;
        e->next = env_head;
        env_head = found = e;
    }
    found->users++;
    found->last_use = ++env_clock;
    /* at most ENV_CACHE_SCENES entries: the least recently used idle ones go */
    for (;;) {
        int entries = 0;
        env_entry *oldest = NULL;
        for (env_entry *e = env_head; e; e = e->next) {
            entries++;
            if (!e->users && (!oldest || e->last_use < oldest->last_use)) oldest = e;
        }
        if (entries <= ENV_CACHE_SCENES || !oldest) break;
        env_unlink_free(oldest);
    }
    pthread_mutex_unlock(&env_lock);
    *out = found;
    return FACET_OK;
}

void env_release(env_entry *entry) {
    if (!entry) return;
    pthread_mutex_lock(&env_lock);
    if (--entry->users == 0 && !entry->scene) env_unlink_free(entry);
    pthread_mutex_unlock(&env_lock);
}

struct node_results {
    const facet_ray_result *results[MAX_NODES]; /* per node: one result per pixel */
    int count;
};

__global__ void primary_rays_kernel(facet_camera camera, facet_ray *rays) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    if (i >= camera.width || j >= camera.height) return;
    rays[(size_t)j * camera.width + i] = facet_camera_ray(&camera, i, j);
}

/* Sample k of every pixel (render/pixel_filter.h), one pass of a supersampled render. */
__global__ void sample_rays_kernel(facet_camera camera, facet_pixel_filter filter, int k,
                                   facet_ray *rays) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    if (i >= camera.width || j >= camera.height) return;
    rays[(size_t)j * camera.width + i] = facet_pixel_sample_ray(&camera, &filter, i, j, k);
}

/* Adds one pass's sample to each pixel's sums: rgba [pixels][4]; aux [channels * pixels] (the
 * per-node blocks are added element by element, whatever their layout; NULL: none); depth sums
 * and hit counts [pixels] (NULL: none). */
__global__ void accumulate_kernel(int64_t pixels, const float *rgba, float *rgba_sum,
                                  const float *aux, float *aux_sum, int aux_total,
                                  const float *depth, float *depth_sum, float *depth_hits) {
    int64_t p = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= pixels) return;
    facet_sample_add(rgba_sum + p * 4, rgba + p * 4, 4);
    if (aux)
        for (int c = 0; c < aux_total; c++)
            facet_sample_add(aux_sum + (size_t)c * pixels + p, aux + (size_t)c * pixels + p, 1);
    if (depth) facet_sample_add_depth(depth_sum + p, depth_hits + p, depth[p]);
}

/* The sums become means over `spp` samples (depth: over the hits). */
__global__ void mean_kernel(int64_t pixels, int spp, float *rgba_sum, float *aux_sum, int aux_total,
                            float *depth_sum, const float *depth_hits) {
    int64_t p = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= pixels) return;
    facet_sample_mean(rgba_sum + p * 4, 4, spp);
    if (aux_sum)
        for (int c = 0; c < aux_total; c++)
            facet_sample_mean(aux_sum + (size_t)c * pixels + p, 1, spp);
    if (depth_sum) depth_sum[p] = facet_sample_depth_mean(depth_sum[p], depth_hits[p]);
}

__global__ void composite_kernel(int64_t pixels, const facet_ray *rays, node_results nodes,
                                 facet_background_mode mode, float3 color, facet_envmap_view env,
                                 float scale, float *rgba, float *depth) {
    int64_t p = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= pixels) return;
    const float background_color[3] = {color.x, color.y, color.z};
    float background[3];
    facet_background_radiance(mode, background_color, &env, rays[p].direction, background);
    facet_ray_result pixel[MAX_NODES];
    for (int n = 0; n < nodes.count; n++) pixel[n] = nodes.results[n][p];
    float *px = rgba + p * 4;
    facet_composite(pixel, nodes.count, background, px);
    for (int k = 0; k < 3; k++) px[k] *= scale;
    if (depth) depth[p] = facet_composite_depth(pixel, nodes.count);
}

/* What every CUDA render needs first: a device, and a CUDA path for every node. */
facet_status check_scene(const facet_scene *scene) {
    int devices = 0;
    cudaError_t probe = cudaGetDeviceCount(&devices);
    if (probe != cudaSuccess || devices == 0)
        return facet_fail(FACET_ERR_CUDA, "--device cuda: no usable CUDA device (%s)",
                          probe != cudaSuccess ? cudaGetErrorString(probe) : "none found");
    if (scene->node_count > MAX_NODES)
        return facet_fail(FACET_ERR_UNSUPPORTED, "the CUDA renderer takes at most %d nodes",
                          MAX_NODES);
    for (int n = 0; n < scene->node_count; n++)
        if (!scene->nodes[n].kind->render_cuda)
            return facet_fail(FACET_ERR_UNSUPPORTED,
                              "node '%s' (type %s) has no CUDA renderer; use --device cpu",
                              scene->nodes[n].name, scene->nodes[n].kind->type);
    return FACET_OK;
}

/* One ray per pixel: `camera`'s pixel centres, or with a filter (not NULL) sample k of each
 * pixel, or with camera NULL the `pixels` host rays `host_rays`, rendered into device buffers:
 * d_rgba [pixels][4] (required), d_aux (per node [pixels][node channels], contiguous node after
 * node; NULL: none), d_depth [pixels] (NULL: none). Allocates and frees its own rays and node
 * results; the environment's texels come from env_cache. */
facet_status render_pass(const facet_scene *scene, const facet_camera *camera,
                         const facet_pixel_filter *filter, int k, const facet_ray *host_rays,
                         int64_t pixels, float exposure, float *d_rgba, float *d_aux,
                         float *d_depth) {
    const int nodes = scene->node_count;
    facet_ray *d_rays = NULL;
    facet_ray_result *d_results = NULL;
    env_entry *env_copy = NULL;
    facet_envmap_view env = scene->environment.view;
    facet_status s = FACET_OK;
    if (scene->has_environment) {
        if ((s = env_acquire(scene, &env_copy)) != FACET_OK) return s;
        env.rgb = env_copy->device;
    }
    cudaError_t err = cudaMalloc(&d_rays, (size_t)pixels * sizeof *d_rays);
    if (err == cudaSuccess && nodes)
        err = cudaMalloc(&d_results, (size_t)pixels * nodes * sizeof *d_results);
    if (err == cudaSuccess && camera) {
        dim3 block(16, 16);
        dim3 grid((camera->width + 15) / 16, (camera->height + 15) / 16);
        if (filter)
            FACET_LAUNCH(sample_rays_kernel, grid, block)(*camera, *filter, k, d_rays);
        else
            FACET_LAUNCH(primary_rays_kernel, grid, block)(*camera, d_rays);
        err = cudaGetLastError();
    } else if (err == cudaSuccess) {
        err =
            cudaMemcpy(d_rays, host_rays, (size_t)pixels * sizeof *d_rays, cudaMemcpyHostToDevice);
    }
    node_results results = {};
    results.count = nodes;
    for (int n = 0, aux_offset = 0; err == cudaSuccess && s == FACET_OK && n < nodes; n++) {
        const facet_node *node = &scene->nodes[n];
        facet_ray_result *node_out = d_results + (size_t)n * pixels;
        results.results[n] = node_out;
        /* node aux channels are written contiguously per node and interleaved on download */
        float *node_aux = d_aux && node->aux_channels ? d_aux + (size_t)aux_offset * pixels : NULL;
        s = node->kind->render_cuda(node, scene, &env, d_rays, pixels, node_out, node_aux);
        if (s != FACET_OK) s = facet_error_context("node '%s'", node->name);
        aux_offset += node->aux_channels;
    }
    if (err == cudaSuccess && s == FACET_OK) {
        const int threads = 256;
        float3 color =
            make_float3(scene->background[0], scene->background[1], scene->background[2]);
        FACET_LAUNCH(composite_kernel, (unsigned)((pixels + threads - 1) / threads), threads)
        (pixels, d_rays, results, scene->background_mode, color, env, exp2f(exposure), d_rgba,
         d_depth);
        err = cudaGetLastError();
    }
    cudaFree(d_rays);
    cudaFree(d_results);
    env_release(env_copy);
    if (err != cudaSuccess && s == FACET_OK)
        s = facet_fail(FACET_ERR_CUDA, "%s:%d: rendering on CUDA: %s", __FILE__, __LINE__,
                       cudaGetErrorString(err));
    return s;
}

/* render_pass for the pixel centres or the host rays, or with a camera and filter->spp > 1,
 * supersampled: pass k = 0..spp-1 renders sample k of every pixel into scratch buffers and
 * accumulate_kernel adds it to d_rgba / d_aux / d_depth (zeroed first), then mean_kernel makes the
 * means (render/pixel_filter.h: the same sums in the same order as the CPU renderer). Memory: one
 * pass's buffers, whatever spp. */
facet_status render_on_device(const facet_scene *scene, const facet_camera *camera,
                              const facet_pixel_filter *filter, const facet_ray *host_rays,
                              int64_t pixels, float exposure, float *d_rgba, float *d_aux,
                              float *d_depth) {
    const int spp = camera && filter ? facet_pixel_filter_spp(filter) : 1;
    if (spp == 1)
        return render_pass(scene, camera, NULL, 0, host_rays, pixels, exposure, d_rgba, d_aux,
                           d_depth);
    const int aux_total = d_aux ? facet_scene_aux_channels(scene) : 0;
    float *d_rgba_k = NULL, *d_aux_k = NULL, *d_depth_k = NULL, *d_hits = NULL;
    cudaError_t err = cudaMalloc(&d_rgba_k, (size_t)pixels * 4 * sizeof(float));
    if (err == cudaSuccess && d_aux)
        err = cudaMalloc(&d_aux_k, (size_t)pixels * aux_total * sizeof(float));
    if (err == cudaSuccess && d_depth) err = cudaMalloc(&d_depth_k, (size_t)pixels * sizeof(float));
    if (err == cudaSuccess && d_depth) err = cudaMalloc(&d_hits, (size_t)pixels * sizeof(float));
    if (err == cudaSuccess) err = cudaMemset(d_rgba, 0, (size_t)pixels * 4 * sizeof(float));
    if (err == cudaSuccess && d_aux)
        err = cudaMemset(d_aux, 0, (size_t)pixels * aux_total * sizeof(float));
    if (err == cudaSuccess && d_depth) err = cudaMemset(d_depth, 0, (size_t)pixels * sizeof(float));
    if (err == cudaSuccess && d_depth) err = cudaMemset(d_hits, 0, (size_t)pixels * sizeof(float));
    const int threads = 256;
    const unsigned blocks = (unsigned)((pixels + threads - 1) / threads);
    facet_status s = FACET_OK;
    for (int k = 0; err == cudaSuccess && s == FACET_OK && k < spp; k++) {
        s = render_pass(scene, camera, filter, k, NULL, pixels, exposure, d_rgba_k, d_aux_k,
                        d_depth_k);
        if (s != FACET_OK) break;
        FACET_LAUNCH(accumulate_kernel, blocks, threads)
        (pixels, d_rgba_k, d_rgba, d_aux_k, d_aux, aux_total, d_depth_k, d_depth, d_hits);
        err = cudaGetLastError();
    }
    if (err == cudaSuccess && s == FACET_OK) {
        FACET_LAUNCH(mean_kernel, blocks, threads)
        (pixels, spp, d_rgba, d_aux, aux_total, d_depth, d_hits);
        err = cudaGetLastError();
    }
    cudaFree(d_rgba_k);
    cudaFree(d_aux_k);
    cudaFree(d_depth_k);
    cudaFree(d_hits);
    if (err != cudaSuccess && s == FACET_OK)
        s = facet_fail(FACET_ERR_CUDA, "%s:%d: supersampling on CUDA: %s", __FILE__, __LINE__,
                       cudaGetErrorString(err));
    return s;
}

/* facet_render_image_cuda and facet_render_rays_cuda: renders `camera` (or the host rays) into
 * host images of width x height. */
facet_status render_to_host(const facet_scene *scene, const facet_camera *camera,
                            const facet_ray *host_rays, int width, int height,
                            const facet_render_options *options, facet_image *out) {
    facet_status s = check_scene(scene);
    if (s != FACET_OK) return s;
    const int64_t pixels = (int64_t)width * height;
    const int aux_total = options->aux ? facet_scene_aux_channels(scene) : 0;
    if (options->aux && aux_total == 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "no node in the scene has auxiliary outputs (masks)");
    if ((s = facet_image_alloc(out, width, height, 4)) != FACET_OK) return s;
    if (options->aux &&
        (s = facet_image_alloc(options->aux, width, height, aux_total)) != FACET_OK) {
        facet_image_free(out);
        return s;
    }
    if (options->depth && (s = facet_image_alloc(options->depth, width, height, 1)) != FACET_OK) {
        facet_image_free(out);
        if (options->aux) facet_image_free(options->aux);
        return s;
    }

    float *d_rgba = NULL, *d_aux = NULL, *d_depth = NULL;
    const size_t image_bytes = (size_t)pixels * 4 * sizeof(float);
    const int nodes = scene->node_count;
    cudaError_t err = cudaMalloc(&d_rgba, image_bytes);
    if (err == cudaSuccess && aux_total)
        err = cudaMalloc(&d_aux, (size_t)pixels * aux_total * sizeof(float));
    if (err == cudaSuccess && options->depth)
        err = cudaMalloc(&d_depth, (size_t)pixels * sizeof(float));
    if (err == cudaSuccess)
        s = render_on_device(scene, camera, &options->filter, host_rays, pixels, options->exposure,
                             d_rgba, d_aux, d_depth);
    if (err == cudaSuccess && s == FACET_OK)
        err = cudaMemcpy(out->data, d_rgba, image_bytes, cudaMemcpyDeviceToHost);
    if (err == cudaSuccess && s == FACET_OK && d_depth)
        err = cudaMemcpy(options->depth->data, d_depth, (size_t)pixels * sizeof(float),
                         cudaMemcpyDeviceToHost);
    if (err == cudaSuccess && s == FACET_OK && aux_total) {
        float *host = (float *)malloc((size_t)pixels * aux_total * sizeof(float));
        if (!host) {
            s = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory for %d mask channels",
                           aux_total);
        } else {
            err = cudaMemcpy(host, d_aux, (size_t)pixels * aux_total * sizeof(float),
                             cudaMemcpyDeviceToHost);
            /* device layout: per node [pixels][node channels]; host: [pixels][all channels] */
            for (int n = 0, offset = 0; err == cudaSuccess && n < nodes; n++) {
                const int ch = scene->nodes[n].aux_channels;
                const float *block = host + (size_t)offset * pixels;
                for (int64_t p = 0; p < pixels; p++)
                    for (int c = 0; c < ch; c++)
                        options->aux->data[p * aux_total + offset + c] = block[p * ch + c];
                offset += ch;
            }
            free(host);
        }
    }
    cudaFree(d_rgba);
    cudaFree(d_aux);
    cudaFree(d_depth);
    if (err != cudaSuccess && s == FACET_OK)
        s = facet_fail(FACET_ERR_CUDA, "%s:%d: rendering on CUDA: %s", __FILE__, __LINE__,
                       cudaGetErrorString(err));
    if (s != FACET_OK) {
        facet_image_free(out);
        if (options->aux) facet_image_free(options->aux);
        if (options->depth) facet_image_free(options->depth);
    }
    return s;
}

} // namespace

extern "C" facet_status facet_render_image_cuda(const facet_scene *scene,
                                                const facet_camera *camera,
                                                const facet_render_options *options,
                                                facet_image *out) {
    facet_status s = facet_pixel_filter_check(&options->filter);
    if (s != FACET_OK) return s;
    if (camera->width < 1 || camera->height < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "camera resolution %dx%d is empty",
                          camera->width, camera->height);
    return render_to_host(scene, camera, NULL, camera->width, camera->height, options, out);
}

extern "C" facet_status facet_render_rays_cuda(const facet_scene *scene, const facet_ray *rays,
                                               int64_t count, const facet_render_options *options,
                                               facet_image *out) {
    return render_to_host(scene, NULL, rays, (int)count, 1, options, out);
}

extern "C" facet_status facet_render_image_cuda_device(const facet_scene *scene,
                                                       const facet_camera *camera,
                                                       const facet_render_options *options,
                                                       float *device_rgba) {
    if (options->aux || options->depth)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "rendering into a CUDA buffer takes no masks or depth output");
    if (camera->width < 1 || camera->height < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "camera resolution %dx%d is empty",
                          camera->width, camera->height);
    facet_status s = facet_pixel_filter_check(&options->filter);
    if (s == FACET_OK) s = check_scene(scene);
    if (s != FACET_OK) return s;
    return render_on_device(scene, camera, &options->filter, NULL,
                            (int64_t)camera->width * camera->height, options->exposure, device_rgba,
                            NULL, NULL);
}
