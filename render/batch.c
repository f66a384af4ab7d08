#include "batch.h"

#include "core/alloc.h"
#include "core/color.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/metrics.h"
#include "core/safe_name.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

facet_status facet_shard_parse(const char *text, facet_shard *shard) {
    int index, count, consumed = 0;
    if (sscanf(text, "%d/%d%n", &index, &count, &consumed) != 2 || text[consumed] != '\0' ||
        count < 1 || index < 0 || index >= count)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "--shard '%s': expected K/N with 0 <= K < N (for example 0/4)", text);
    shard->index = index;
    shard->count = count;
    return FACET_OK;
}

facet_status facet_write_render(const facet_image *linear_rgba, const char *path,
                                facet_output_format format) {
    if (format == FACET_OUTPUT_EXR) return facet_image_write_exr(linear_rgba, path, 1);
    facet_image srgb;
    facet_status s = facet_render_to_srgb(linear_rgba, &srgb);
    if (s == FACET_OK) s = facet_image_write_png(&srgb, path);
    facet_image_free(&srgb);
    return s;
}

facet_status facet_check_aux_names(const facet_scene *scene) {
    facet_status s = FACET_OK;
    for (int n = 0; s == FACET_OK && n < scene->node_count; n++)
        for (int c = 0; s == FACET_OK && c < scene->nodes[n].aux_channels; c++)
            s = facet_check_safe_name(scene->nodes[n].aux_names[c], FACET_NAME_FILE,
                                      "a mask channel (object name)");
    return s;
}

facet_status facet_write_aux_channels(const facet_scene *scene, const facet_image *aux,
                                      const char *dir, const char *stem) {
    facet_status s = facet_check_aux_names(scene);
    if (s != FACET_OK) return s;
    facet_image channel;
    s = facet_image_alloc(&channel, aux->width, aux->height, 1);
    const size_t pixels = (size_t)aux->width * aux->height;
    for (int n = 0, offset = 0; s == FACET_OK && n < scene->node_count; n++) {
        const facet_node *node = &scene->nodes[n];
        for (int c = 0; s == FACET_OK && c < node->aux_channels; c++, offset++) {
            for (size_t p = 0; p < pixels; p++)
                channel.data[p] = aux->data[p * aux->channels + offset];
            char *path = facet_format("%s/%s_%s.png", dir, stem, node->aux_names[c]);
            s = path ? facet_image_write_png(&channel, path) : facet_last_status();
            free(path);
        }
    }
    facet_image_free(&channel);
    return s;
}

facet_camera facet_frame_camera(const facet_frame *frame, int width, int height) {
    facet_camera cam = {0};
    for (int i = 0; i < 16; i++) cam.c2w.m[i] = (float)frame->c2w[i];
    cam.fx = (float)frame->fx;
    cam.fy = (float)frame->fy;
    cam.cx = (float)frame->cx;
    cam.cy = (float)frame->cy;
    cam.width = frame->width;
    cam.height = frame->height;
    if (width > 0 && height > 0) cam = facet_camera_resized(cam, width, height);
    return cam;
}

facet_status facet_scene_apply_frame_kappa(facet_scene *scene, const facet_dataset *ds,
                                           const facet_frame *frame) {
    if (!frame->kappa) return FACET_OK;
    for (int i = 0; i < ds->object_count; i++) {
        facet_status s = facet_scene_set_kappa(scene, ds->object_names[i], (float)frame->kappa[i]);
        if (s != FACET_OK)
            return facet_error_context("ground-truth kappa of frame '%s'", frame->name);
    }
    return FACET_OK;
}

static char *output_path(const char *dir, const char *name, facet_output_format format) {
    return facet_format("%s/%s.%s", dir, name, format == FACET_OUTPUT_EXR ? "exr" : "png");
}

static const facet_dataset *sort_frames_of;
static int compare_frames_by_name(const void *a, const void *b) {
    const int i = *(const int *)a, j = *(const int *)b;
    const int c = strcmp(sort_frames_of->frames[i].name, sort_frames_of->frames[j].name);
    return c ? c : (i > j) - (i < j);
}

/* Frame names come from the dataset's file names, and object names from the weights: both are
 * data (core/safe_name.h). Before anything is written: every output name of the shard is a safe
 * file name, and no two frames share one (images/0.png and other/0.png would overwrite). */
static facet_status check_output_names(const facet_scene *scene, const facet_dataset *ds,
                                       facet_shard shard, int masks) {
    facet_status s = masks ? facet_check_aux_names(scene) : FACET_OK;
    int *order = facet_alloc((size_t)ds->frame_count + 1, sizeof *order), count = 0;
    if (!order) return facet_last_status();
    for (int i = 0; s == FACET_OK && i < ds->frame_count; i++) {
        if (!facet_shard_contains(shard, i)) continue;
        char what[64];
        snprintf(what, sizeof what, "frame %d (its image's file name)", i);
        s = facet_check_safe_name(ds->frames[i].name, FACET_NAME_FILE, what);
        order[count++] = i;
    }
    sort_frames_of = ds;
    if (s == FACET_OK) qsort(order, (size_t)count, sizeof *order, compare_frames_by_name);
    for (int k = 0; s == FACET_OK && k + 1 < count; k++) {
        const facet_frame *a = &ds->frames[order[k]], *b = &ds->frames[order[k + 1]];
        char qa[512], qb[512], qn[256];
        if (!strcmp(a->name, b->name))
            s = facet_fail(FACET_ERR_FORMAT,
                           "frames %d ('%s') and %d ('%s') would both be written as '%s': "
                           "outputs are named after the image's file name without its folder",
                           order[k], facet_quote_name(a->image_path, qa, sizeof qa), order[k + 1],
                           facet_quote_name(b->image_path, qb, sizeof qb),
                           facet_quote_name(a->name, qn, sizeof qn));
    }
    free(order);
    return s;
}

static int frames_in_shard(const facet_dataset *ds, facet_shard shard) {
    int n = 0;
    for (int i = 0; i < ds->frame_count; i++) n += facet_shard_contains(shard, i);
    return n;
}

facet_status facet_batch_render(facet_scene *scene, const facet_dataset *ds,
                                const facet_batch_options *options, const char *out_dir,
                                int *rendered) {
    *rendered = 0;
    facet_status s = check_output_names(scene, ds, options->shard, options->masks);
    if (s == FACET_OK) s = facet_make_dirs(out_dir);
    if (s != FACET_OK) return s;
    if (options->progress)
        facet_progress_begin(options->progress, "render", "img",
                             frames_in_shard(ds, options->shard));
    for (int i = 0; i < ds->frame_count && s == FACET_OK; i++) {
        if (!facet_shard_contains(options->shard, i)) continue;
        const facet_frame *frame = &ds->frames[i];
        if (options->use_dataset_kappa) s = facet_scene_apply_frame_kappa(scene, ds, frame);
        facet_camera cam = facet_frame_camera(frame, options->width, options->height);
        facet_image img = {0}, aux = {0};
        facet_render_options render = options->render;
        if (options->masks) render.aux = &aux;
        if (s == FACET_OK) s = facet_render_image(scene, &cam, &render, &img);
        char *path = s == FACET_OK ? output_path(out_dir, frame->name, options->format) : NULL;
        if (s == FACET_OK && !path) s = facet_last_status();
        if (s == FACET_OK) s = facet_write_render(&img, path, options->format);
        if (s == FACET_OK && options->masks)
            s = facet_write_aux_channels(scene, &aux, out_dir, frame->name);
        free(path);
        facet_image_free(&img);
        facet_image_free(&aux);
        if (s != FACET_OK) return facet_error_context("frame '%s'", frame->name);
        (*rendered)++;
        if (options->progress) facet_progress_advance(options->progress, 1);
    }
    if (options->progress) facet_progress_end(options->progress);
    return s;
}

/* Ground truth as compared: RGB in [0,1] sRGB; RGBA composited over the background colour. */
static facet_status load_ground_truth(const facet_frame *frame, const float background_linear[3],
                                      int width, int height, facet_image *gt, facet_image *mask) {
    facet_image raw;
    facet_status s = facet_image_read(&raw, frame->image_path, 0);
    if (s != FACET_OK) return s;
    if (raw.width != width || raw.height != height) {
        s = facet_fail(FACET_ERR_FORMAT, "'%s' is %dx%d but the render is %dx%d", frame->image_path,
                       raw.width, raw.height, width, height);
        facet_image_free(&raw);
        return s;
    }
    s = facet_image_alloc(gt, width, height, 3);
    if (s != FACET_OK) {
        facet_image_free(&raw);
        return s;
    }
    /* mask (optional): 1 where the ground truth's alpha > 0 (all pixels without alpha) */
    if (mask && (s = facet_image_alloc(mask, width, height, 1)) != FACET_OK) {
        facet_image_free(&raw);
        facet_image_free(gt);
        return s;
    }
    float bg[3];
    for (int c = 0; c < 3; c++) bg[c] = facet_linear_to_srgb(background_linear[c]);
    const int ch = raw.channels;
    for (size_t p = 0; p < (size_t)width * height; p++) {
        const float *src = raw.data + p * ch;
        float alpha = (ch == 2 || ch == 4) ? src[ch - 1] : 1.0f;
        if (mask) mask->data[p] = alpha > 0.0f ? 1.0f : 0.0f;
        for (int c = 0; c < 3; c++) {
            float v = ch >= 3 ? src[c] : src[0];
            gt->data[p * 3 + c] = v * alpha + bg[c] * (1.0f - alpha);
        }
    }
    facet_image_free(&raw);
    return FACET_OK;
}

/* Value `which` of an image: 0 PSNR, 1 SSIM, 2 the extra metric. */
static double image_value(const facet_eval_image *e, int which) {
    return which == 0 ? e->psnr : which == 1 ? e->ssim : e->metric;
}

static void mean_std(const facet_eval_image *images, int count, int which, double *mean,
                     double *std) {
    double sum = 0, sq = 0;
    for (int i = 0; i < count; i++) sum += image_value(&images[i], which);
    *mean = count ? sum / count : 0;
    for (int i = 0; i < count; i++) {
        double d = image_value(&images[i], which) - *mean;
        sq += d * d;
    }
    /* sample standard deviation (n - 1), as nerfstudio's ns-eval (torch.std_mean's default) */
    *std = count > 1 ? sqrt(sq / (count - 1)) : 0;
}

static facet_status write_metrics_json(const facet_scene *scene, const facet_dataset *ds,
                                       const facet_batch_options *options, const char *out_dir,
                                       const char *dataset_path, const char *split_name,
                                       const facet_eval_result *r) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "facet-metrics");
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "scene", scene->path ? scene->path : "");
    cJSON_AddStringToObject(root, "dataset", dataset_path);
    cJSON_AddStringToObject(root, "split", split_name);
    cJSON_AddStringToObject(root, "device", facet_device_name(options->render.device));
    cJSON *protocol = cJSON_AddObjectToObject(root, "protocol");
    cJSON_AddStringToObject(protocol, "color", "srgb");
    float bg_srgb[3];
    for (int c = 0; c < 3; c++) bg_srgb[c] = facet_linear_to_srgb(scene->background[c]);
    cJSON_AddItemToObject(protocol, "background", cJSON_CreateFloatArray(bg_srgb, 3));
    cJSON_AddStringToObject(protocol, "ssim", "gaussian 11x11 sigma 1.5");
    cJSON_AddStringToObject(protocol, "align", options->relight ? "median-ratio" : "none");
    const facet_pixel_filter *filter = &options->render.filter;
    cJSON *pixel = cJSON_AddObjectToObject(protocol, "pixel_filter");
    cJSON_AddNumberToObject(pixel, "spp", facet_pixel_filter_spp(filter));
    cJSON_AddStringToObject(
        pixel, "type",
        facet_pixel_filter_spp(filter) > 1 ? facet_filter_type_name(filter->type) : "pixel centre");
    if (facet_pixel_filter_spp(filter) > 1)
        cJSON_AddNumberToObject(pixel, "width", facet_pixel_filter_width(filter));
    const facet_eval_metric *metric = options->metric;
    if (metric && metric->protocol_json) {
        cJSON *described = cJSON_Parse(metric->protocol_json);
        if (!described) {
            cJSON_Delete(root);
            return facet_fail(FACET_ERR_INTERNAL, "metric %s: protocol is not JSON", metric->name);
        }
        cJSON_AddItemToObject(protocol, metric->name, described);
    }
    cJSON *results = cJSON_AddObjectToObject(root, "results");
    cJSON_AddNumberToObject(results, "psnr", r->psnr_mean);
    cJSON_AddNumberToObject(results, "psnr_std", r->psnr_std);
    cJSON_AddNumberToObject(results, "ssim", r->ssim_mean);
    cJSON_AddNumberToObject(results, "ssim_std", r->ssim_std);
    if (metric) {
        char key[96];
        cJSON_AddNumberToObject(results, metric->name, r->metric_mean);
        snprintf(key, sizeof key, "%s_std", metric->name);
        cJSON_AddNumberToObject(results, key, r->metric_std);
    }
    cJSON_AddNumberToObject(results, "num_images", r->count);
    cJSON_AddNumberToObject(results, "fps",
                            r->render_seconds > 0 ? r->count / r->render_seconds : 0);
    cJSON_AddNumberToObject(results, "num_rays_per_sec",
                            r->render_seconds > 0 ? r->rays / r->render_seconds : 0);
    cJSON *images = cJSON_AddArrayToObject(root, "images");
    int row = 0;
    for (int i = 0; i < ds->frame_count; i++) {
        if (!facet_shard_contains(options->shard, i)) continue;
        const facet_frame *frame = &ds->frames[i];
        const facet_eval_image *e = &r->images[row++];
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "name", e->name);
        cJSON_AddNumberToObject(item, "psnr", e->psnr);
        cJSON_AddNumberToObject(item, "ssim", e->ssim);
        if (metric) cJSON_AddNumberToObject(item, metric->name, e->metric);
        if (frame->kappa) {
            cJSON *kappa = cJSON_AddObjectToObject(item, "kappa");
            for (int k = 0; k < ds->object_count; k++)
                cJSON_AddNumberToObject(kappa, ds->object_names[k], frame->kappa[k]);
        }
        cJSON_AddItemToArray(images, item);
    }
    char *path = facet_path_join(out_dir, "metrics.json");
    facet_status s = path ? facet_json_write_atomic(path, root) : facet_last_status();
    free(path);
    cJSON_Delete(root);
    return s;
}

facet_status facet_eval_run(facet_scene *scene, const facet_dataset *ds,
                            const facet_batch_options *options, const char *out_dir,
                            const char *dataset_path, const char *split_name,
                            facet_eval_result *r) {
    memset(r, 0, sizeof *r);
    int total = frames_in_shard(ds, options->shard);
    if (total == 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "%s: the %s split has no frames",
                          dataset_path, split_name);
    facet_status s = check_output_names(scene, ds, options->shard, 0);
    if (s == FACET_OK) s = facet_make_dirs(out_dir);
    if (s != FACET_OK) return s;
    r->images = facet_alloc_zeroed((size_t)total, sizeof *r->images);
    if (!r->images) return facet_last_status();
    if (options->progress) facet_progress_begin(options->progress, "eval", "img", total);
    for (int i = 0; i < ds->frame_count; i++) {
        if (!facet_shard_contains(options->shard, i)) continue;
        const facet_frame *frame = &ds->frames[i];
        facet_camera cam = facet_frame_camera(frame, 0, 0);
        facet_image render = {0}, srgb = {0}, gt = {0}, mask = {0};
        s = facet_scene_apply_frame_kappa(scene, ds, frame);
        double start = facet_seconds();
        if (s == FACET_OK) s = facet_render_image(scene, &cam, &options->render, &render);
        r->render_seconds += facet_seconds() - start;
        r->rays += (double)cam.width * cam.height * facet_pixel_filter_spp(&options->render.filter);
        if (s == FACET_OK) s = facet_render_to_srgb(&render, &srgb);
        if (s == FACET_OK)
            s = load_ground_truth(frame, scene->background, cam.width, cam.height, &gt,
                                  options->relight ? &mask : NULL);
        if (s == FACET_OK && options->relight)
            s = facet_align_median_ratio(&srgb, &gt, &mask, NULL);
        facet_eval_image *e = &r->images[r->count];
        if (s == FACET_OK) s = facet_psnr(&srgb, &gt, NULL, &e->psnr);
        if (s == FACET_OK) s = facet_ssim(&srgb, &gt, NULL, &e->ssim);
        const facet_eval_metric *metric = options->metric;
        if (s == FACET_OK && metric &&
            (s = metric->score(metric->user, &srgb, &gt, &e->metric)) != FACET_OK)
            facet_error_context("%s against '%s'", metric->name, frame->image_path);
        char *path = s == FACET_OK ? output_path(out_dir, frame->name, FACET_OUTPUT_PNG) : NULL;
        if (s == FACET_OK && !path) s = facet_last_status();
        if (s == FACET_OK) s = facet_image_write_png(&srgb, path);
        free(path);
        facet_image_free(&render);
        facet_image_free(&srgb);
        facet_image_free(&gt);
        facet_image_free(&mask);
        if (s == FACET_OK && !(e->name = facet_strdup(frame->name))) s = facet_last_status();
        if (s != FACET_OK) {
            facet_error_context("frame '%s'", frame->name);
            facet_eval_result_free(r);
            return facet_last_status();
        }
        r->count++;
        if (options->progress) facet_progress_advance(options->progress, 1);
    }
    if (options->progress) facet_progress_end(options->progress);
    mean_std(r->images, r->count, 0, &r->psnr_mean, &r->psnr_std);
    mean_std(r->images, r->count, 1, &r->ssim_mean, &r->ssim_std);
    if (options->metric) mean_std(r->images, r->count, 2, &r->metric_mean, &r->metric_std);
    s = write_metrics_json(scene, ds, options, out_dir, dataset_path, split_name, r);
    if (s != FACET_OK) facet_eval_result_free(r);
    return s;
}

void facet_eval_result_free(facet_eval_result *r) {
    for (int i = 0; i < r->count; i++) free(r->images[i].name);
    free(r->images);
    memset(r, 0, sizeof *r);
}
