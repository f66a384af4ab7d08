/* libfacet.so's C ABI (api/facet_api.h): thin wrappers over the libraries, no logic of their
 * own beyond shape checks and batching. */
#include "facet_api.h"

#include "core/alloc.h"
#include "core/color.h"
#include "core/image.h"
#include "core/metrics.h"
#include "core/status.h"
#include "language/control.h"
#include "lpips/lpips.h"
#include "nodes/builtin.h"
#include "render/batch.h"
#include "render/render.h"
#include "render/scene.h"
#include "tokenizer/fqgan.h"
#include "tokenizer/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int facet_api_version(void) {
    return FACET_API_VERSION;
}

const char *facet_api_last_error(void) {
    return facet_last_error();
}

void facet_api_free(void *p) {
    free(p);
}

static int parse_device(const char *name, facet_device *device);

static int check_pointer(const void *p, const char *what) {
    return p ? 0 : (int)facet_fail(FACET_ERR_INVALID_ARGUMENT, "%s is NULL", what);
}

/* ---- images and metrics ------------------------------------------------------------------------
 */

int facet_api_image_read(const char *path, float **data, int *width, int *height, int *channels) {
    if (check_pointer(path, "path") || check_pointer(data, "data")) return facet_last_status();
    facet_image img;
    facet_status s = facet_image_read(&img, path, 0);
    if (s != FACET_OK) return s;
    *data = img.data;
    *width = img.width;
    *height = img.height;
    *channels = img.channels;
    return 0;
}

/* A facet_image view over caller memory (never freed here). */
static facet_image view(const float *data, int width, int height, int channels) {
    facet_image img = {width, height, channels, (float *)data};
    return img;
}

static int metric(int ssim, const float *a, const float *b, int width, int height, int channels,
                  const float *mask, double *out) {
    if (check_pointer(a, "a") || check_pointer(b, "b") || check_pointer(out, "out"))
        return facet_last_status();
    if (width < 1 || height < 1 || channels < 1 || channels > 4)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "images must be [height, width, channels] with 1 to 4 channels, got "
                          "[%d, %d, %d]",
                          height, width, channels);
    facet_image ia = view(a, width, height, channels), ib = view(b, width, height, channels);
    facet_image im = view(mask, width, height, 1);
    return ssim ? facet_ssim(&ia, &ib, mask ? &im : NULL, out)
                : facet_psnr(&ia, &ib, mask ? &im : NULL, out);
}

int facet_api_psnr(const float *a, const float *b, int width, int height, int channels,
                   const float *mask, double *out) {
    return metric(0, a, b, width, height, channels, mask, out);
}

int facet_api_ssim(const float *a, const float *b, int width, int height, int channels,
                   const float *mask, double *out) {
    return metric(1, a, b, width, height, channels, mask, out);
}

struct facet_api_lpips {
    facet_lpips *model;
};

facet_api_lpips *facet_api_lpips_open(const char *weights, const char *device) {
    facet_device d = FACET_DEVICE_CPU;
    if (check_pointer(weights, "weights") || parse_device(device, &d)) return NULL;
    facet_api_lpips *l = facet_alloc_zeroed(1, sizeof *l);
    if (!l) return NULL;
    if (facet_lpips_load(&l->model, weights,
                         d == FACET_DEVICE_CUDA ? FACET_NN_CUDA : FACET_NN_CPU) != FACET_OK) {
        free(l);
        return NULL;
    }
    return l;
}

void facet_api_lpips_close(facet_api_lpips *l) {
    if (!l) return;
    facet_lpips_free(l->model);
    free(l);
}

int facet_api_lpips_distance(facet_api_lpips *l, const float *a, const float *b, int width,
                             int height, const char *convention, double *distance, double *taps) {
    if (check_pointer(l, "lpips") || check_pointer(a, "a") || check_pointer(b, "b") ||
        check_pointer(distance, "distance"))
        return facet_last_status();
    int c = facet_lpips_convention_from_name(convention ? convention : "nerfstudio");
    if (c < 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "LPIPS convention must be nerfstudio or risesdf, got '%s'", convention);
    facet_image ia = view(a, width, height, 3), ib = view(b, width, height, 3);
    facet_lpips_result r;
    facet_status s = facet_lpips_distance(l->model, &ia, &ib, (facet_lpips_convention)c, &r);
    if (s != FACET_OK) return s;
    *distance = r.distance;
    if (taps)
        for (int k = 0; k < FACET_LPIPS_TAPS; k++) taps[k] = r.taps[k];
    return 0;
}

int facet_api_lpips_write_random(const char *path, const char *net, uint64_t seed,
                                 const char *heads) {
    if (check_pointer(path, "path") || check_pointer(net, "net")) return facet_last_status();
    int n = facet_lpips_net_from_name(net);
    if (n < 0) return facet_fail(FACET_ERR_INVALID_ARGUMENT, "LPIPS net must be alex or vgg16");
    return facet_lpips_write_random(path, (facet_lpips_net)n, seed, heads);
}

/* ---- the tokenizer -----------------------------------------------------------------------------
 */

struct facet_api_tokenizer {
    facet_fqgan *model;
    const facet_fqgan_config *config;
    int max_batch;
    float *chw;     /* [max_batch, 3, S, S] */
    float *decoded; /* [max_batch, 3, S, S] */
};

const char *facet_api_tokenizer_backend(const char *device, const char *precision) {
    facet_fqgan_backend b;
    if (facet_fqgan_backend_for(device, precision, &b) != FACET_OK) return NULL;
    return facet_fqgan_backend_name(b);
}

facet_api_tokenizer *facet_api_tokenizer_open(const char *model, const char *backend,
                                              int max_batch) {
    facet_fqgan_backend b;
    if (check_pointer(model, "model") ||
        facet_fqgan_backend_parse(backend ? backend : "cpu", &b) != FACET_OK)
        return NULL;
    if (max_batch < 1 || max_batch > 4096) {
        facet_fail(FACET_ERR_INVALID_ARGUMENT, "max_batch must be in [1, 4096], got %d", max_batch);
        return NULL;
    }
    facet_api_tokenizer *t = facet_alloc_zeroed(1, sizeof *t);
    if (!t) return NULL;
    if (facet_fqgan_load(&t->model, model, b, max_batch) != FACET_OK) {
        free(t);
        return NULL;
    }
    t->config = facet_fqgan_config_of(t->model);
    t->max_batch = max_batch;
    size_t n = (size_t)max_batch * 3 * t->config->image_size * t->config->image_size;
    t->chw = facet_alloc(n, sizeof *t->chw);
    t->decoded = facet_alloc(n, sizeof *t->decoded);
    if (!t->chw || !t->decoded) {
        facet_api_tokenizer_close(t);
        return NULL;
    }
    return t;
}

void facet_api_tokenizer_close(facet_api_tokenizer *t) {
    if (!t) return;
    facet_fqgan_free(t->model);
    free(t->chw);
    free(t->decoded);
    free(t);
}

int facet_api_tokenizer_branch_count(const facet_api_tokenizer *t) {
    return t->config->branch_count;
}

const char *facet_api_tokenizer_branch_name(const facet_api_tokenizer *t, int branch) {
    return branch >= 0 && branch < t->config->branch_count ? t->config->branch_names[branch] : NULL;
}

int facet_api_tokenizer_grid(const facet_api_tokenizer *t) {
    return t->config->grid;
}

int facet_api_tokenizer_image_size(const facet_api_tokenizer *t) {
    return t->config->image_size;
}

int facet_api_tokenizer_codebook_size(const facet_api_tokenizer *t) {
    return t->config->codebook_size;
}

static int copy_crop(const facet_rgb8 *img, uint8_t *crop) {
    memcpy(crop, img->data, (size_t)img->width * img->height * 3);
    return 0;
}

int facet_api_preprocess_file(const char *path, int size, uint8_t *crop) {
    if (check_pointer(path, "path") || check_pointer(crop, "crop")) return facet_last_status();
    if (size < 1 || size > 8192)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "crop size %d is outside [1, 8192]", size);
    facet_rgb8 img, out;
    facet_status s = facet_rgb8_read(path, &img);
    if (s != FACET_OK) return s;
    s = facet_center_crop_arr(&img, size, &out);
    facet_rgb8_free(&img);
    if (s != FACET_OK) return facet_error_context("%s", path);
    copy_crop(&out, crop);
    facet_rgb8_free(&out);
    return 0;
}

int facet_api_preprocess_rgb(const uint8_t *rgb, int width, int height, int size, uint8_t *crop) {
    if (check_pointer(rgb, "rgb") || check_pointer(crop, "crop")) return facet_last_status();
    if (size < 1 || size > 8192)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "crop size %d is outside [1, 8192]", size);
    facet_status s = facet_image_check_size(width, height, "the image");
    if (s != FACET_OK) return s;
    facet_rgb8 img = {width, height, (uint8_t *)rgb}, out;
    s = facet_center_crop_arr(&img, size, &out);
    if (s != FACET_OK) return s;
    copy_crop(&out, crop);
    facet_rgb8_free(&out);
    return 0;
}

int facet_api_tokenizer_encode(facet_api_tokenizer *t, const uint8_t *crops, int count,
                               uint16_t *tokens) {
    if (check_pointer(t, "tokenizer") || check_pointer(crops, "crops") ||
        check_pointer(tokens, "tokens"))
        return facet_last_status();
    const int S = t->config->image_size, g = t->config->grid, B = t->config->branch_count;
    const size_t per_image = (size_t)S * S * 3, per_tokens = (size_t)g * g;
    for (int first = 0; first < count; first += t->max_batch) {
        int n = count - first < t->max_batch ? count - first : t->max_batch;
        for (int i = 0; i < n; i++) {
            facet_rgb8 img = {S, S, (uint8_t *)crops + (size_t)(first + i) * per_image};
            facet_rgb8_to_tensor(&img, t->chw + (size_t)i * per_image);
        }
        uint16_t *out[FACET_FQGAN_MAX_BRANCHES];
        for (int b = 0; b < B; b++) out[b] = tokens + ((size_t)b * count + first) * per_tokens;
        facet_status s = facet_fqgan_encode(t->model, t->chw, n, out, NULL);
        if (s != FACET_OK) return s;
    }
    return 0;
}

int facet_api_tokenizer_decode(facet_api_tokenizer *t, const uint16_t *tokens, int count,
                               uint8_t *images) {
    if (check_pointer(t, "tokenizer") || check_pointer(tokens, "tokens") ||
        check_pointer(images, "images"))
        return facet_last_status();
    const int S = t->config->image_size, g = t->config->grid, B = t->config->branch_count;
    const size_t per_tokens = (size_t)g * g, per_image = (size_t)S * S * 3;
    const size_t total = (size_t)B * count * per_tokens;
    for (size_t i = 0; i < total; i++)
        if (tokens[i] >= t->config->codebook_size)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "token %u of branch '%s' (image %zu) is outside the codebook of %d",
                              tokens[i], t->config->branch_names[i / ((size_t)count * per_tokens)],
                              i % ((size_t)count * per_tokens) / per_tokens,
                              t->config->codebook_size);
    for (int first = 0; first < count; first += t->max_batch) {
        int n = count - first < t->max_batch ? count - first : t->max_batch;
        const uint16_t *in[FACET_FQGAN_MAX_BRANCHES];
        for (int b = 0; b < B; b++) in[b] = tokens + ((size_t)b * count + first) * per_tokens;
        facet_status s = facet_fqgan_decode(t->model, in, n, t->decoded);
        if (s != FACET_OK) return s;
        for (int i = 0; i < n; i++)
            facet_fqgan_to_uint8(t->decoded + (size_t)i * per_image, S, S,
                                 images + (size_t)(first + i) * per_image);
    }
    return 0;
}

int facet_api_tokenizer_write_random(const char *path, const char *config_json, uint64_t seed) {
    if (check_pointer(path, "path") || check_pointer(config_json, "config_json"))
        return facet_last_status();
    return facet_fqgan_write_random(path, config_json, seed);
}

/* ---- scenes -------------------------------------------------------------------------------------
 */

struct facet_api_scene {
    facet_scene scene;
};

facet_api_scene *facet_api_scene_open(const char *path) {
    if (check_pointer(path, "path") || facet_register_builtin_node_kinds() != FACET_OK) return NULL;
    facet_api_scene *s = facet_alloc_zeroed(1, sizeof *s);
    if (!s) return NULL;
    if (facet_scene_load(&s->scene, path) != FACET_OK) {
        free(s);
        return NULL;
    }
    return s;
}

void facet_api_scene_close(facet_api_scene *s) {
    if (!s) return;
    facet_scene_free(&s->scene);
    free(s);
}

int facet_api_scene_object_count(const facet_api_scene *s) {
    return facet_scene_object_count(&s->scene);
}

const char *facet_api_scene_object_name(const facet_api_scene *s, int i) {
    for (int n = 0; n < s->scene.node_count; n++) {
        const facet_node *node = &s->scene.nodes[n];
        if (i < node->object_count) return i >= 0 ? node->object_names[i] : NULL;
        i -= node->object_count;
    }
    return NULL;
}

int facet_api_scene_set_kappa(facet_api_scene *s, const char *object, float kappa) {
    if (check_pointer(object, "object")) return facet_last_status();
    return facet_scene_set_kappa(&s->scene, object, kappa);
}

int facet_api_scene_get_kappa(const facet_api_scene *s, const char *object, float *kappa) {
    if (check_pointer(object, "object")) return facet_last_status();
    return facet_scene_get_kappa(&s->scene, object, kappa);
}

static int parse_device(const char *name, facet_device *device) {
    int d = facet_device_from_name(name ? name : "cpu");
    if (d < 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "device must be cpu or cuda, got '%s'", name);
    *device = (facet_device)d;
    return 0;
}

char *facet_api_scene_control(facet_api_scene *s, const char *text, const char *device) {
    facet_device d = FACET_DEVICE_CPU;
    if (check_pointer(text, "text") || parse_device(device, &d)) return NULL;
    facet_control_options options = {0};
    options.cuda = d == FACET_DEVICE_CUDA;
    facet_ground_result result;
    if (facet_control(&s->scene, text, &options, &result) != FACET_OK) return NULL;
    return facet_ground_result_json(text, &result);
}

int facet_api_scene_camera(const facet_api_scene *s, double c2w[16], double intrinsics[4],
                           int size[2]) {
    if (!s->scene.has_camera) return 0;
    const facet_camera *c = &s->scene.camera;
    for (int i = 0; i < 16; i++) c2w[i] = c->c2w.m[i];
    intrinsics[0] = c->fx, intrinsics[1] = c->fy, intrinsics[2] = c->cx, intrinsics[3] = c->cy;
    size[0] = c->width, size[1] = c->height;
    return 1;
}

int facet_api_scene_aux_count(const facet_api_scene *s) {
    return facet_scene_aux_channels(&s->scene);
}

const char *facet_api_scene_aux_name(const facet_api_scene *s, int i) {
    for (int n = 0; n < s->scene.node_count; n++) {
        const facet_node *node = &s->scene.nodes[n];
        if (i < node->aux_channels) return i >= 0 ? node->aux_names[i] : NULL;
        i -= node->aux_channels;
    }
    return NULL;
}

int facet_api_scene_render(facet_api_scene *s, const char *device, const double c2w[16],
                           const double intrinsics[4], int width, int height, int projection,
                           float *rgba, uint8_t *srgb8, float *depth, float *aux) {
    facet_render_options options = {0};
    if (check_pointer(c2w, "c2w") || parse_device(device, &options.device))
        return facet_last_status();
    if (projection != FACET_PROJECTION_PINHOLE && projection != FACET_PROJECTION_EQUIRECTANGULAR)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "unknown projection %d", projection);
    if (projection == FACET_PROJECTION_PINHOLE &&
        (!intrinsics || !(intrinsics[0] > 0 && intrinsics[1] > 0) || !isfinite(intrinsics[2]) ||
         !isfinite(intrinsics[3])))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "a pinhole camera needs focal lengths > 0 and a finite principal point");
    facet_status st = facet_image_check_size(width, height, "the render");
    if (st != FACET_OK) return st;
    for (int i = 0; i < 16; i++)
        if (!isfinite(c2w[i]))
            return facet_fail(FACET_ERR_INVALID_ARGUMENT, "c2w[%d] is not finite", i);
    facet_camera cam = {0};
    for (int i = 0; i < 16; i++) cam.c2w.m[i] = (float)c2w[i];
    if (intrinsics) {
        cam.fx = (float)intrinsics[0], cam.fy = (float)intrinsics[1];
        cam.cx = (float)intrinsics[2], cam.cy = (float)intrinsics[3];
    }
    cam.width = width;
    cam.height = height;
    cam.projection = projection;
    facet_image img = {0}, dimg = {0}, aimg = {0};
    if (depth) options.depth = &dimg;
    if (aux) options.aux = &aimg;
    st = facet_render_image(&s->scene, &cam, &options, &img);
    size_t pixels = (size_t)width * height;
    if (st == FACET_OK && rgba) memcpy(rgba, img.data, pixels * 4 * sizeof *rgba);
    if (st == FACET_OK && depth) memcpy(depth, dimg.data, pixels * sizeof *depth);
    if (st == FACET_OK && aux && aimg.data)
        memcpy(aux, aimg.data, pixels * (size_t)aimg.channels * sizeof *aux);
    if (st == FACET_OK && srgb8) {
        facet_image srgb;
        st = facet_render_to_srgb(&img, &srgb);
        /* quantised as facet_image_write_png quantises */
        for (size_t i = 0; st == FACET_OK && i < pixels * 3; i++)
            srgb8[i] = facet_unorm8(srgb.data[i]);
        if (st == FACET_OK) facet_image_free(&srgb);
    }
    facet_image_free(&img);
    facet_image_free(&dimg);
    facet_image_free(&aimg);
    return st;
}

static const facet_node *node_at(const facet_api_scene *s, int node) {
    if (node < 0 || node >= s->scene.node_count) {
        facet_fail(FACET_ERR_INVALID_ARGUMENT, "node %d is outside the scene's %d nodes", node,
                   s->scene.node_count);
        return NULL;
    }
    return &s->scene.nodes[node];
}

int facet_api_scene_node_count(const facet_api_scene *s) {
    return s->scene.node_count;
}

const char *facet_api_scene_node_name(const facet_api_scene *s, int node) {
    const facet_node *n = node_at(s, node);
    return n ? n->name : NULL;
}

const char *facet_api_scene_node_type(const facet_api_scene *s, int node) {
    const facet_node *n = node_at(s, node);
    return n ? n->kind->type : NULL;
}

int facet_api_scene_query_channels(const facet_api_scene *s, int node) {
    const facet_node *n = node_at(s, node);
    return n ? facet_node_query_channels(n) : 0;
}

const char *facet_api_scene_query_name(const facet_api_scene *s, int node, int channel) {
    const facet_node *n = node_at(s, node);
    if (!n || channel < 0 || channel >= facet_node_query_channels(n)) return NULL;
    return n->kind->query_names[channel];
}

int facet_api_scene_query(const facet_api_scene *s, int node, const float *points,
                          const float *directions, int64_t count, int model_frame, float *out) {
    const facet_node *n = node_at(s, node);
    if (!n) return facet_last_status();
    if (check_pointer(points, "points") || check_pointer(out, "out")) return facet_last_status();
    if (!n->kind->query)
        return facet_fail(FACET_ERR_UNSUPPORTED, "node '%s' (%s) has no field query", n->name,
                          n->kind->type);
    for (int64_t i = 0; i < 3 * count; i++)
        if (!isfinite(points[i]) || (directions && !isfinite(directions[i])))
            return facet_fail(FACET_ERR_INVALID_ARGUMENT, "point or direction %lld is not finite",
                              (long long)(i / 3));
    return n->kind->query(n, points, directions, count, model_frame, out);
}
