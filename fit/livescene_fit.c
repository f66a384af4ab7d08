#include "livescene_fit.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/image.h"
#include "core/json.h"
#include "core/npy.h"
#include "core/parallel.h"
#include "core/safetensors.h"
#include "datasets/dataset.h"
#include "datasets/normalise.h"
#include "adam.h"
#include "livescene_fit_cuda.h"
#include "livescene_train_lanes.h"
#include "loss_scale.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHECKPOINT_VERSION = 1 };

facet_livescene_loss_weights facet_livescene_default_loss_weights(void) {
    facet_livescene_loss_weights w;
    w.rgb = 1.0f;
    w.interlevel = 1.0f;
    w.distortion = 1e-3f;
    w.ray_mask = 1e-3f;
    w.repulsion = 1e-3f;
    w.plane_tv = 0.1f;
    w.plane_tv_proposal = 1e-4f;
    w.plane_tv_probability = 1e-4f;
    w.l1_time_planes = 1e-3f;
    w.l1_time_planes_proposal = 1e-4f;
    w.time_smoothness = 0.1f;
    w.time_smoothness_proposal = 1e-3f;
    return w;
}

/* ---- training data --------------------------------------------------------------------------- */

typedef struct fit_image {
    facet_camera camera; /* model frame */
    float *rgb;          /* height * width * 3, display space, alpha composited over white */
    signed char *labels; /* height * width class ids, or NULL without a mask */
    float kappa[FACET_LIVESCENE_MAX_OBJECTS];
} fit_image;

typedef struct fit_data {
    int count, objects;
    fit_image *images;
    int64_t pixels;       /* over all images */
    int64_t *first_pixel; /* [count + 1] prefix sums */
    char *object_names[FACET_LIVESCENE_MAX_OBJECTS];
    /* scene normalisation (datasets/normalise.h): model frame p' = scale * (R p + t) */
    facet_normalisation method;
    double transform[12], scale;
    float aabb[6];      /* the scene box in the model frame */
    int box_from_views; /* 1: aabb is facet_view_box of all frames (no box was given) */
} fit_data;

static void fit_data_free(fit_data *d) {
    for (int i = 0; i < d->count; i++) {
        free(d->images[i].rgb);
        free(d->images[i].labels);
    }
    for (int i = 0; i < FACET_LIVESCENE_MAX_OBJECTS; i++) free(d->object_names[i]);
    free(d->images);
    free(d->first_pixel);
    memset(d, 0, sizeof *d);
}

static facet_status load_image(const facet_dataset *ds, int f, const fit_data *d, fit_image *out) {
    const facet_frame *frame = &ds->frames[f];
    facet_image img;
    facet_status s = facet_image_read(&img, frame->image_path, 0);
    if (s != FACET_OK) return s;
    if (img.width != frame->width || img.height != frame->height) {
        s = facet_fail(FACET_ERR_FORMAT, "'%s' is %dx%d, transforms.json says %dx%d",
                       frame->image_path, img.width, img.height, frame->width, frame->height);
        facet_image_free(&img);
        return s;
    }
    const int64_t n = (int64_t)img.width * img.height;
    out->rgb = facet_alloc((size_t)n * 3, sizeof(float));
    if (!out->rgb) {
        facet_image_free(&img);
        return facet_last_status();
    }
    const int ch = img.channels;
    for (int64_t p = 0; p < n; p++) {
        const float *src = img.data + p * ch;
        float alpha = (ch == 2 || ch == 4) ? src[ch - 1] : 1.0f;
        for (int c = 0; c < 3; c++) {
            float v = ch >= 3 ? src[c] : src[0];
            out->rgb[p * 3 + c] = v * alpha + 1.0f * (1.0f - alpha); /* white, as LiveScene */
        }
    }
    facet_image_free(&img);
    double c2w[16];
    facet_pose_normalise(d->transform, d->scale, frame->c2w, c2w);
    out->camera.projection = FACET_PROJECTION_PINHOLE;
    for (int i = 0; i < 16; i++) out->camera.c2w.m[i] = (float)c2w[i];
    out->camera.fx = (float)frame->fx;
    out->camera.fy = (float)frame->fy;
    out->camera.cx = (float)frame->cx;
    out->camera.cy = (float)frame->cy;
    out->camera.width = frame->width;
    out->camera.height = frame->height;
    for (int k = 0; k < ds->object_count; k++)
        out->kappa[k] = frame->kappa ? (float)frame->kappa[k] : 0.0f;
    if (frame->mask_path && ds->object_count > 0) {
        facet_tensor mask;
        s = facet_dataset_load_mask(ds, f, &mask);
        if (s != FACET_OK) return s;
        out->labels = facet_alloc((size_t)n, 1);
        if (!out->labels) {
            facet_tensor_free(&mask);
            return facet_last_status();
        }
        const int classes = ds->object_count + 1;
        const uint8_t *m = mask.data;
        for (int64_t p = 0; p < n; p++) {
            int label = classes - 1; /* no channel set: background */
            for (int c = 0; c < classes; c++)
                if (m[p * classes + c]) {
                    label = c;
                    break;
                }
            out->labels[p] = (signed char)label;
        }
        facet_tensor_free(&mask);
    }
    return FACET_OK;
}

/* The transform from the poses of every frame (all splits), as nerfstudio's dataparsers compute it
 * before splitting. Errors name the transforms file. */
static facet_status normalise_dataset(const char *path, fit_data *d) {
    facet_dataset all;
    facet_status s = facet_dataset_load(&all, path, FACET_SPLIT_ALL);
    if (s != FACET_OK) return s;
    char *file = NULL;
    if (facet_is_dir(path)) {
        file = facet_path_join(path, "transforms.json");
        if (file && !facet_is_file(file)) {
            free(file);
            file = NULL;
        }
    }
    double *poses =
        facet_alloc((size_t)(all.frame_count > 0 ? all.frame_count : 1) * 16, sizeof *poses);
    if (!poses) s = facet_last_status();
    for (int f = 0; s == FACET_OK && f < all.frame_count; f++)
        memcpy(poses + 16 * f, all.frames[f].c2w, sizeof all.frames[f].c2w);
    if (s == FACET_OK)
        s = facet_poses_normalisation(poses, all.frame_count, &d->method, file ? file : path,
                                      d->transform, &d->scale);
    free(poses);
    if (s == FACET_OK && d->box_from_views) {
        /* the region that at least half of the cameras see, in the normalised frame */
        facet_view_camera *cams = facet_alloc((size_t)all.frame_count, sizeof *cams);
        if (!cams) s = facet_last_status();
        for (int f = 0; s == FACET_OK && f < all.frame_count; f++) {
            const facet_frame *fr = &all.frames[f];
            facet_pose_normalise(d->transform, d->scale, fr->c2w, cams[f].c2w);
            cams[f].fx = fr->fx;
            cams[f].fy = fr->fy;
            cams[f].cx = fr->cx;
            cams[f].cy = fr->cy;
            cams[f].width = fr->width;
            cams[f].height = fr->height;
        }
        double box[6];
        if (s == FACET_OK) s = facet_view_box(cams, all.frame_count, 0.5, file ? file : path, box);
        for (int k = 0; s == FACET_OK && k < 6; k++) d->aabb[k] = (float)box[k];
        free(cams);
    }
    free(file);
    facet_dataset_free(&all);
    return s;
}

static facet_status load_data(const char *path, fit_data *d) {
    facet_status s = normalise_dataset(path, d);
    if (s != FACET_OK) return s;
    facet_dataset ds;
    s = facet_dataset_load(&ds, path, FACET_SPLIT_TRAIN);
    if (s != FACET_OK) return s;
    if (ds.frame_count == 0) {
        facet_dataset_free(&ds);
        return facet_fail(FACET_ERR_FORMAT, "%s: the train split has no frames", path);
    }
    if (ds.object_count > FACET_LIVESCENE_MAX_OBJECTS) {
        facet_dataset_free(&ds);
        return facet_fail(FACET_ERR_UNSUPPORTED, "%s: %d objects, facet fits at most %d", path,
                          ds.object_count, FACET_LIVESCENE_MAX_OBJECTS);
    }
    d->objects = ds.object_count;
    for (int k = 0; k < ds.object_count; k++)
        if (!(d->object_names[k] = facet_strdup(ds.object_names[k]))) s = facet_last_status();
    d->images = facet_alloc_zeroed((size_t)ds.frame_count, sizeof *d->images);
    d->first_pixel = facet_alloc_zeroed((size_t)ds.frame_count + 1, sizeof *d->first_pixel);
    if (!d->images || !d->first_pixel) s = facet_last_status();
    for (int f = 0; s == FACET_OK && f < ds.frame_count; f++) {
        s = load_image(&ds, f, d, &d->images[f]);
        d->count = f + 1;
        d->first_pixel[f + 1] =
            d->first_pixel[f] + (int64_t)ds.frames[f].width * ds.frames[f].height;
    }
    d->pixels = d->first_pixel[d->count];
    facet_dataset_free(&ds);
    if (s != FACET_OK) fit_data_free(d);
    return s;
}

/* ---- model configuration and initialisation -------------------------------------------------- */

static char *make_config(const facet_fit_options *o, const fit_data *d) {
    const float *aabb = d->aabb;
    const double *x = d->transform;
    static const struct {
        const char *base, *multiscale, *proposal0, *proposal1, *probability, *samples;
        int channels, final_samples;
    } sizes[3] = {
        [FACET_FIT_SMALL] = {"[64, 64, 64, 16]", "[1, 2]", "[32, 32, 32, 16]", "[64, 64, 64, 16]",
                             "[64, 64, 64]", "[64, 32]", 16, 24},
        [FACET_FIT_DEFAULT] = {"[128, 128, 128, 32]", "[1, 2, 4]", "[64, 64, 64, 32]",
                               "[128, 128, 128, 32]", "[128, 128, 128]", "[256, 128]", 32, 48},
        [FACET_FIT_TINY] = {"[16, 16, 16, 8]", "[1, 2]", "[8, 8, 8, 8]", "[16, 16, 16, 8]",
                            "[16, 16, 16]", "[16, 8]", 4, 8},
    };
    const int size = o->size >= 0 && o->size <= FACET_FIT_TINY ? (int)o->size : FACET_FIT_SMALL;
    char objects[1024] = "";
    size_t used = 0;
    for (int k = 0; k < d->objects; k++)
        used += (size_t)snprintf(objects + used, sizeof objects - used, "%s\"%s\"", k ? ", " : "",
                                 d->object_names[k]);
    if (d->objects == 0) snprintf(objects, sizeof objects, "\"object0\"");
    return facet_format(
        "{\"aabb\": [[%.9g, %.9g, %.9g], [%.9g, %.9g, %.9g]], "
        "\"grid_base_resolution\": %s, \"multiscale_res\": %s, \"grid_feature_dim\": %d, "
        "\"geo_feat_dim\": 15, \"proposals\": [{\"resolution\": %s, \"feature_dim\": 8}, "
        "{\"resolution\": %s, \"feature_dim\": 8}], \"probability\": {\"resolution\": %s, "
        "\"feature_dim\": 8}, \"num_proposal_samples\": %s, \"num_samples\": %d, "
        "\"near_plane\": 0.0, \"background_color\": [1, 1, 1], \"objects\": [%s], "
        "\"dataparser_transform\": [[%.17g, %.17g, %.17g, %.17g], [%.17g, %.17g, %.17g, %.17g], "
        "[%.17g, %.17g, %.17g, %.17g]], \"dataparser_scale\": %.17g}",
        (double)aabb[0], (double)aabb[1], (double)aabb[2], (double)aabb[3], (double)aabb[4],
        (double)aabb[5], sizes[size].base, sizes[size].multiscale, sizes[size].channels,
        sizes[size].proposal0, sizes[size].proposal1, sizes[size].probability, sizes[size].samples,
        sizes[size].final_samples, objects, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8],
        x[9], x[10], x[11], d->scale);
}

static void init_planes(const facet_kplanes *k, float lo, float hi, facet_rng *rng) {
    for (int p = 0; p < facet_kplanes_plane_count(k->dims); p++) {
        int a, b;
        facet_kplanes_axes(k->dims, p, &a, &b);
        float *plane = (float *)k->planes[p];
        const int64_t n = (int64_t)k->resolution[a] * k->resolution[b] * k->channels;
        const int kappa_plane = k->dims == 4 && b == 3; /* nerfstudio: time planes start at 1 */
        for (int64_t i = 0; i < n; i++)
            plane[i] = kappa_plane ? 1.0f : lo + (hi - lo) * facet_rng_uniform(rng);
    }
}

/* tiny-cuda-nn's initialisation: uniform +-sqrt(6 / (fan_in + fan_out)) over the padded matrices;
 * the padded input columns (inputs fixed at 1) are the first layer's bias. */
static void init_mlp(const facet_mlp *m, facet_rng *rng) {
    for (int l = 0; l < m->layers; l++) {
        const int in = m->width[l], out = m->width[l + 1];
        const int in_padded = (in + 15) / 16 * 16, out_padded = (out + 15) / 16 * 16;
        const float bound = sqrtf(6.0f / (float)(in_padded + out_padded));
        float *w = (float *)m->weight[l];
        for (int i = 0; i < in * out; i++) w[i] = bound * (2.0f * facet_rng_uniform(rng) - 1.0f);
        if (l == 0)
            for (int o = 0; o < out; o++) {
                float sum = 0.0f;
                for (int pad = in; pad < in_padded; pad++)
                    sum += bound * (2.0f * facet_rng_uniform(rng) - 1.0f);
                ((float *)m->bias0)[o] = sum;
            }
    }
}

static void init_model(facet_livescene_model *m, unsigned long long seed) {
    facet_rng rng = facet_rng_seed(seed, 11);
    facet_livescene_field *f = &m->field;
    for (int s = 0; s < f->scales; s++) init_planes(&f->grids[s], 0.1f, 0.5f, &rng);
    for (int i = 0; i < f->proposals; i++) init_planes(&f->proposal_grids[i], 0.1f, 0.15f, &rng);
    init_planes(&f->probability_grid, 0.1f, 0.15f, &rng);
    init_mlp(&f->sigma_net, &rng);
    init_mlp(&f->color_net, &rng);
    for (int i = 0; i < f->proposals; i++) init_mlp(&f->density_net[i], &rng);
    init_mlp(&f->semantic_net, &rng);
}

/* ---- plane regularisers (livescene_model.py) ------------------------------------------------- */

/* The regularisers of every plane of the field, proposal and probability grids as per-plane
 * coefficient sets (facet_livescene_plane_reg); shared by the CPU loop and the CUDA kernels. */
int facet_livescene_regularizer_planes(const facet_livescene_field *f,
                                       const facet_livescene_loss_weights *w,
                                       facet_livescene_plane_task *tasks) {
    int n = 0;
    const facet_kplanes *groups[3][FACET_LIVESCENE_MAX_SCALES + FACET_LIVESCENE_MAX_PROPOSALS];
    int counts[3] = {f->scales, f->proposals, 1};
    for (int i = 0; i < f->scales; i++) groups[0][i] = &f->grids[i];
    for (int i = 0; i < f->proposals; i++) groups[1][i] = &f->proposal_grids[i];
    groups[2][0] = &f->probability_grid;
    const float tv[3] = {w->plane_tv, w->plane_tv_proposal, w->plane_tv_probability};
    const float l1[3] = {w->l1_time_planes, w->l1_time_planes_proposal, 0.0f};
    const float smooth[3] = {w->time_smoothness, w->time_smoothness_proposal, 0.0f};
    for (int group = 0; group < 3; group++) {
        int planes = 0, kappa_planes = 0;
        for (int g = 0; g < counts[group]; g++) {
            planes += facet_kplanes_plane_count(groups[group][g]->dims);
            kappa_planes += groups[group][g]->dims == 4 ? 3 : 0;
        }
        for (int g = 0; g < counts[group]; g++) {
            const facet_kplanes *k = groups[group][g];
            for (int p = 0; p < facet_kplanes_plane_count(k->dims); p++) {
                int a, b;
                facet_kplanes_axes(k->dims, p, &a, &b);
                const int kappa_plane = k->dims == 4 && b == 3;
                facet_livescene_plane_task *task = &tasks[n++];
                task->grid = group == 0 ? g : (group == 1 ? FACET_LIVESCENE_MAX_SCALES + g : -1);
                task->plane = p;
                facet_livescene_plane_reg *r = &task->reg;
                r->h = k->resolution[b];
                r->w = k->resolution[a];
                r->c = k->channels;
                const float nw = (float)r->c * r->h * (r->w - 1),
                            nh = (float)r->c * (r->h - 1) * r->w;
                const float nall = (float)r->c * r->h * r->w;
                r->tv_w = tv[group] / (float)planes / nw;
                r->tv_h = kappa_plane ? 0.0f : tv[group] / (float)planes / nh;
                r->l1 = kappa_plane && kappa_planes ? l1[group] / (float)kappa_planes / nall : 0.0f;
                r->smooth =
                    kappa_plane && kappa_planes && r->h >= 3
                        ? smooth[group] / (float)kappa_planes / ((float)r->c * (r->h - 2) * r->w)
                        : 0.0f;
            }
        }
    }
    return n;
}

/* The plane a task refers to, in `f`. */
static const float *task_plane(const facet_livescene_field *f,
                               const facet_livescene_plane_task *t) {
    const facet_kplanes *k = t->grid < 0 ? &f->probability_grid
                             : t->grid >= FACET_LIVESCENE_MAX_SCALES
                                 ? &f->proposal_grids[t->grid - FACET_LIVESCENE_MAX_SCALES]
                                 : &f->grids[t->grid];
    return k->planes[t->plane];
}

/* Elements per partial sum of the regularisers' loss. Each chunk of a plane is summed in element
 * order and the chunks' sums in chunk order, so the loss is the same for any thread count and on
 * every run (an OpenMP reduction combines the threads' sums in an order it leaves open). */
#define REGULARIZER_CHUNK 32768
/* Chunks per parallel region (8 KB of partial sums on the stack). */
#define REGULARIZER_ROUND 1024

/* The task and element range of chunk `c`, given each task's first chunk (first[n] = total). */
static int regularizer_chunk(const int64_t *first, int n, const facet_livescene_plane_task *tasks,
                             int64_t c, int64_t *begin, int64_t *end) {
    int i = 0;
    while (i + 1 < n && first[i + 1] <= c) i++;
    const facet_livescene_plane_reg *r = &tasks[i].reg;
    const int64_t count = (int64_t)r->h * r->w * r->c;
    *begin = (c - first[i]) * REGULARIZER_CHUNK;
    *end = *begin + REGULARIZER_CHUNK < count ? *begin + REGULARIZER_CHUNK : count;
    return i;
}

/* The regulariser terms of elements [begin, end) of task i's plane: gradients added into `grad`'s
 * plane, the loss returned (summed in element order). */
static double regularize_range(const facet_livescene_field *f, const facet_livescene_field *grad,
                               const facet_livescene_plane_task *task, int64_t begin, int64_t end) {
    const float *t = task_plane(f, task);
    float *g = (float *)task_plane(grad, task);
    double sum = 0.0;
    for (int64_t e = begin; e < end; e++) {
        float l;
        g[e] += facet_livescene_plane_reg_element(t, &task->reg, e, &l);
        sum += l;
    }
    return sum;
}

double facet_livescene_regularize(const facet_livescene_field *f, const facet_livescene_field *grad,
                                  const facet_livescene_loss_weights *w) {
    return facet_livescene_regularize_rounds(f, grad, w, REGULARIZER_ROUND);
}

double facet_livescene_regularize_rounds(const facet_livescene_field *f,
                                         const facet_livescene_field *grad,
                                         const facet_livescene_loss_weights *w, int round) {
    round = round < 1 ? 1 : (round > REGULARIZER_ROUND ? REGULARIZER_ROUND : round);
    facet_livescene_plane_task tasks[FACET_LIVESCENE_MAX_REG_PLANES];
    const int n = facet_livescene_regularizer_planes(f, w, tasks);
    int64_t first[FACET_LIVESCENE_MAX_REG_PLANES + 1];
    first[0] = 0;
    for (int i = 0; i < n; i++) {
        const facet_livescene_plane_reg *r = &tasks[i].reg;
        const int64_t count = (int64_t)r->h * r->w * r->c;
        first[i + 1] = first[i] + (count + REGULARIZER_CHUNK - 1) / REGULARIZER_CHUNK;
    }
    /* the chunks in rounds (REGULARIZER_ROUND: 33.5 million elements), each round's partial sums
     * on the stack, added in chunk order */
    const int64_t chunks = first[n];
    double partial[REGULARIZER_ROUND], loss = 0.0;
    for (int64_t c0 = 0; c0 < chunks; c0 += round) {
        const int64_t count = chunks - c0 < round ? chunks - c0 : round;
#pragma omp parallel for schedule(static)
        for (int64_t c = 0; c < count; c++) {
            int64_t begin, end;
            const int i = regularizer_chunk(first, n, tasks, c0 + c, &begin, &end);
            partial[c] = regularize_range(f, grad, &tasks[i], begin, end);
        }
        for (int64_t c = 0; c < count; c++) loss += partial[c];
    }
    return loss;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

typedef struct trainer {
    facet_livescene_model model;
    int threads;
    void ***thread_grads; /* [threads][buffer] */
    void **grad;          /* reduced gradient, [buffer] */
    void **adam_m, **adam_v;
    facet_livescene_field *thread_fields; /* [threads] views over thread_grads */
    facet_livescene_field grad_field;
    int step;
    char *signature; /* options that must match to resume */
    /* history, kept in the checkpoint so that a resumed fit reports the whole run */
    float lr_scale;             /* 0.5^restarts: --on-divergence restart halves the learning rate */
    double last_loss, last_mse; /* of the last completed iteration (NaN: unknown) */
    cJSON *curve;               /* [[iteration, loss, train psnr], ...] */
    cJSON *restarts; /* [{"iteration", "restored_from", "learning_rate_scale", "reason"}, ...] */
    /* fp16 networks (options mlp_half): the model's networks point into `pack`, re-packed from
     * the fp32 weights after every update; the loss scaler is kept in the checkpoint */
    unsigned char *pack;
    facet_loss_scaler scaler;
} trainer;

/* Re-packs the fp16 networks from the fp32 weights, with the scaler's loss scale (fp16 fits). */
static void repack(trainer *t) {
    if (t->pack) facet_livescene_use_half(&t->model.field, t->pack, t->scaler.scale, 1);
}

/* Zeroed buffers shaped like the model's (gradients, Adam moments), as tables: the per-thread
 * gradient planes take the backward's scatter at random over megabytes, and on 4 KiB pages
 * nearly every texel was a TLB miss (huge pages: +15-17% fit rays/s, bench/RESULTS.md). */
static facet_status alloc_like(const facet_livescene_model *m, void ***out) {
    *out = facet_alloc_zeroed((size_t)m->buffer_count + 1, sizeof(void *));
    if (!*out) return facet_last_status();
    for (int i = 0; i < m->buffer_count; i++)
        if (!((*out)[i] = facet_alloc_table(m->buffer_info[i].count, sizeof(float))))
            return facet_last_status();
    return FACET_OK;
}

static void free_like(const facet_livescene_model *m, void **buffers) {
    if (!buffers) return;
    for (int i = 0; i < m->buffer_count; i++) free(buffers[i]);
    free(buffers);
}

static facet_status save_checkpoint(const trainer *t, const char *path) {
    const facet_livescene_model *m = &t->model;
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    facet_tensor *views = facet_alloc_zeroed((size_t)m->buffer_count * 3 + 1, sizeof *views);
    char(*names)[160] = facet_alloc_zeroed((size_t)m->buffer_count * 3 + 1, sizeof *names);
    facet_status s = views && names ? FACET_OK : facet_last_status();
    static const char *const kinds[3] = {"param", "adam_m", "adam_v"};
    for (int i = 0; s == FACET_OK && i < m->buffer_count; i++)
        for (int k = 0; s == FACET_OK && k < 3; k++) {
            facet_tensor *v = &views[i * 3 + k];
            v->dtype = FACET_DTYPE_F32;
            v->ndim = 1;
            v->shape[0] = (int64_t)m->buffer_info[i].count;
            v->data = k == 0 ? m->buffers[i] : (k == 1 ? t->adam_m[i] : t->adam_v[i]);
            snprintf(names[i * 3 + k], sizeof names[0], "%s.%s", kinds[k], m->buffer_info[i].name);
            s = facet_safetensors_writer_add(&w, names[i * 3 + k], v);
        }
    char step[32];
    snprintf(step, sizeof step, "%d", t->step);
    if (s == FACET_OK)
        s = facet_safetensors_writer_metadata(&w, "format", "facet-livescene-checkpoint");
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "version", "1");
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "step", step);
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "config", m->config_json);
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "signature", t->signature);
    char scale[32];
    snprintf(scale, sizeof scale, "%.9g", (double)t->lr_scale);
    char *curve = cJSON_PrintUnformatted(t->curve), *restarts = cJSON_PrintUnformatted(t->restarts);
    if (s == FACET_OK && (!curve || !restarts))
        s = facet_fail(FACET_ERR_OUT_OF_MEMORY, "writing the loss curve");
    char last[64];
    snprintf(last, sizeof last, "%.17g %.17g", t->last_loss, t->last_mse);
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "learning_rate_scale", scale);
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "last_loss_mse", last);
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "loss_curve", curve);
    if (s == FACET_OK) s = facet_safetensors_writer_metadata(&w, "restarts", restarts);
    char scaler[64];
    snprintf(scaler, sizeof scaler, "%.9g %d %d", (double)t->scaler.scale, t->scaler.good_steps,
             t->scaler.skipped);
    if (s == FACET_OK && t->pack) s = facet_safetensors_writer_metadata(&w, "loss_scaler", scaler);
    if (s == FACET_OK) s = facet_safetensors_write(&w, path);
    facet_safetensors_writer_free(&w);
    cJSON_free(curve);
    cJSON_free(restarts);
    free(views);
    free(names);
    return s;
}

/* Restores parameters, Adam state and step from `path` when it exists. */
static facet_status load_checkpoint(trainer *t, const char *path, int *resumed) {
    *resumed = 0;
    if (!facet_is_file(path)) return FACET_OK;
    facet_safetensors st;
    facet_status s = facet_safetensors_open(&st, path);
    if (s != FACET_OK) return s;
    const char *format = facet_safetensors_metadata(&st, "format");
    const char *config = facet_safetensors_metadata(&st, "config");
    const char *signature = facet_safetensors_metadata(&st, "signature");
    const char *step = facet_safetensors_metadata(&st, "step");
    const facet_livescene_model *m = &t->model;
    if (!format || strcmp(format, "facet-livescene-checkpoint") != 0 || !config || !signature ||
        !step)
        s = facet_fail(FACET_ERR_FORMAT, "%s: not a facet fit checkpoint", path);
    else if (strcmp(config, m->config_json) != 0 || strcmp(signature, t->signature) != 0)
        s = facet_fail(FACET_ERR_INVALID_ARGUMENT,
                       "%s was written by a fit with other options or data (%s); resume with the "
                       "same options, or delete it to start over",
                       path, signature);
    static const char *const kinds[3] = {"param", "adam_m", "adam_v"};
    for (int i = 0; s == FACET_OK && i < m->buffer_count; i++)
        for (int k = 0; s == FACET_OK && k < 3; k++) {
            char name[160];
            snprintf(name, sizeof name, "%s.%s", kinds[k], m->buffer_info[i].name);
            const facet_tensor *tensor;
            const int64_t shape[1] = {(int64_t)m->buffer_info[i].count};
            s = facet_safetensors_expect(&st, name, FACET_DTYPE_F32, 1, shape, &tensor);
            if (s == FACET_OK)
                memcpy(k == 0 ? m->buffers[i] : (k == 1 ? t->adam_m[i] : t->adam_v[i]),
                       tensor->data, m->buffer_info[i].count * sizeof(float));
        }
    if (s == FACET_OK) {
        t->step = atoi(step);
        *resumed = 1;
        /* history (absent from checkpoints of older versions: scale 1, empty curve) */
        const char *scale = facet_safetensors_metadata(&st, "learning_rate_scale");
        const char *curve = facet_safetensors_metadata(&st, "loss_curve");
        const char *restarts = facet_safetensors_metadata(&st, "restarts");
        const char *last = facet_safetensors_metadata(&st, "last_loss_mse");
        t->lr_scale = scale ? strtof(scale, NULL) : 1.0f;
        if (!last || sscanf(last, "%lf %lf", &t->last_loss, &t->last_mse) != 2)
            t->last_loss = t->last_mse = NAN;
        if (!(t->lr_scale > 0.0f && t->lr_scale <= 1.0f)) t->lr_scale = 1.0f;
        /* fp16 fits: "scale good_steps skipped" (the signature holds the precision) */
        const char *scaler = facet_safetensors_metadata(&st, "loss_scaler");
        facet_loss_scaler ls = {0};
        if (t->pack &&
            (!scaler || sscanf(scaler, "%f %d %d", &ls.scale, &ls.good_steps, &ls.skipped) != 3 ||
             !facet_mlp_half_loss_scale_valid(ls.scale) || ls.good_steps < 0 || ls.skipped < 0))
            s = facet_fail(FACET_ERR_FORMAT, "%s: missing or malformed loss_scaler metadata", path);
        else if (t->pack)
            t->scaler = ls;
        repack(t);
        cJSON *c = curve ? cJSON_Parse(curve) : cJSON_CreateArray();
        cJSON *r = restarts ? cJSON_Parse(restarts) : cJSON_CreateArray();
        if (!cJSON_IsArray(c) || !cJSON_IsArray(r)) {
            cJSON_Delete(c);
            cJSON_Delete(r);
            s = facet_fail(FACET_ERR_FORMAT, "%s: malformed loss_curve or restarts metadata", path);
        } else {
            cJSON_Delete(t->curve);
            cJSON_Delete(t->restarts);
            t->curve = c;
            t->restarts = r;
        }
    }
    facet_safetensors_close(&st);
    return s;
}

/* ---- the fit --------------------------------------------------------------------------------- */

static float learning_factor(int step, int warmup, int iterations) {
    if (step < warmup) return (float)step / (float)warmup;
    const float alpha = 0.05f; /* nerfstudio CosineDecayScheduler learning_rate_alpha */
    float progress =
        (float)(step - warmup) / (float)(iterations - warmup > 0 ? iterations - warmup : 1);
    return (cosf(3.14159265f * progress) + 1.0f) / 2.0f * (1.0f - alpha) + alpha;
}

/* Proposal weight annealing (mip-NeRF 360 eq. 18), slope 10 over 1000 iterations. */
static float anneal_exponent(int step) {
    float x = fminf(fmaxf((float)step / 1000.0f, 0.0f), 1.0f);
    return 10.0f * x / (9.0f * x + 1.0f);
}

static void trainer_free(trainer *t) {
    for (int i = 0; t->thread_grads && i < t->threads; i++)
        free_like(&t->model, t->thread_grads[i]);
    free(t->thread_grads);
    free_like(&t->model, t->grad);
    free_like(&t->model, t->adam_m);
    free_like(&t->model, t->adam_v);
    free(t->thread_fields);
    free(t->signature);
    free(t->pack);
    cJSON_Delete(t->curve);
    cJSON_Delete(t->restarts);
    facet_livescene_free(&t->model);
    memset(t, 0, sizeof *t);
}

/* Samples the batch's pixels (deterministic for seed and step) into ray inputs. */
static void fill_batch(const fit_data *d, unsigned long long seed, int step, int batch,
                       facet_livescene_ray_input *inputs, int objects) {
    facet_rng rng = facet_rng_seed(seed ^ 0x5eedULL, (uint64_t)step * 2 + 1);
    for (int i = 0; i < batch; i++) {
        int64_t pixel = (int64_t)(((uint64_t)facet_rng_u32(&rng) << 32 | facet_rng_u32(&rng)) %
                                  (uint64_t)d->pixels);
        int image = 0;
        while (d->first_pixel[image + 1] <= pixel) image++;
        const fit_image *im = &d->images[image];
        int64_t local = pixel - d->first_pixel[image];
        int x = (int)(local % im->camera.width), y = (int)(local / im->camera.width);
        facet_ray ray = facet_camera_ray(&im->camera, x, y);
        facet_livescene_ray_input *in = &inputs[i];
        memset(in, 0, sizeof *in);
        in->o[0] = ray.origin.x, in->o[1] = ray.origin.y, in->o[2] = ray.origin.z;
        in->d[0] = ray.direction.x, in->d[1] = ray.direction.y, in->d[2] = ray.direction.z;
        for (int c = 0; c < 3; c++) in->target[c] = im->rgb[local * 3 + c];
        for (int k = 0; k < objects; k++) in->kappa[k] = im->kappa[k];
        in->label = im->labels ? im->labels[local] : -1;
    }
}

/* The i-th ray's terms in an array of structs with `stride` bytes per ray. */
static facet_livescene_ray_terms *terms_at(facet_livescene_ray_terms *terms, size_t stride, int i) {
    return (facet_livescene_ray_terms *)((char *)terms + (size_t)i * stride);
}

/* repulsion_loss of one level over the batch's labelled rays; adds scaled gradients. */
static double repulsion(facet_livescene_ray_terms *terms, size_t stride, int batch, int level,
                        int classes, unsigned long long seed, int step, float weight) {
    if (weight == 0.0f) return 0.0;
    int *valid = malloc((size_t)batch * sizeof *valid);
    if (!valid) return 0.0;
    int n = 0;
    for (int i = 0; i < batch; i++)
        if (terms_at(terms, stride, i)->label >= 0) valid[n++] = i;
    facet_rng rng = facet_rng_seed(seed ^ 0x7e9ULL, (uint64_t)step * 8 + (uint64_t)level);
    for (int i = n - 1; i > 0; i--) { /* Fisher-Yates: torch.randperm */
        int j = (int)facet_rng_below(&rng, (uint32_t)i + 1);
        int tmp = valid[i];
        valid[i] = valid[j];
        valid[j] = tmp;
    }
    int pairs = n / 2;
    double sum = 0.0;
    int count = 0;
    for (int k = 0; k < pairs; k++) {
        const facet_livescene_ray_terms *a = terms_at(terms, stride, valid[k]),
                                        *b = terms_at(terms, stride, valid[k + pairs]);
        for (int c = 0; c < classes; c++)
            if ((a->label == c) != (b->label == c)) {
                sum += fabsf(a->rendered_logits[level][c] - b->rendered_logits[level][c]);
                count++;
            }
    }
    double loss = 0.0;
    if (count > 0) {
        double distance = sum / count, x = 10.0 - distance; /* elu(thresh - d) + 1, thresh 10 */
        loss = (x > 0 ? x : exp(x) - 1.0) + 1.0;
        float dloss = -(float)(x > 0 ? 1.0 : exp(x)) * weight / (float)count;
        for (int k = 0; k < pairs; k++) {
            facet_livescene_ray_terms *a = terms_at(terms, stride, valid[k]),
                                      *b = terms_at(terms, stride, valid[k + pairs]);
            for (int c = 0; c < classes; c++)
                if ((a->label == c) != (b->label == c)) {
                    float diff = a->rendered_logits[level][c] - b->rendered_logits[level][c];
                    float sign = diff > 0 ? 1.0f : (diff < 0 ? -1.0f : 0.0f);
                    a->drendered_logits[level][c] += dloss * sign;
                    b->drendered_logits[level][c] -= dloss * sign;
                }
        }
    }
    free(valid);
    return loss;
}

/* The weighted loss terms of one iteration, as the divergence check names them. */
typedef struct loss_parts {
    double rgb, interlevel, distortion, mask, repulsion, regularisers;
} loss_parts;

static double parts_sum(const loss_parts *p) {
    return p->rgb + p->mask + p->repulsion + p->interlevel + p->distortion + p->regularisers;
}

static double batch_terms(facet_livescene_ray_terms *terms, size_t stride, int batch, int levels,
                          int classes, const facet_livescene_loss_weights *w,
                          unsigned long long seed, int step, double *mse_out, loss_parts *parts) {
    int labelled = 0;
    double mse = 0.0, loss = 0.0;
    for (int i = 0; i < batch; i++) {
        facet_livescene_ray_terms *t = terms_at(terms, stride, i);
        memset(t->drendered_logits, 0, sizeof t->drendered_logits);
        labelled += t->label >= 0;
        for (int c = 0; c < 3; c++) {
            double e = t->rgb[c] - t->target[c];
            mse += e * e;
        }
    }
    mse /= 3.0 * batch;
    *mse_out = mse;
    parts->rgb = w->rgb * mse;
    parts->mask = parts->repulsion = 0.0;
    for (int level = 0; level <= levels && labelled > 0; level++) {
        double focal = 0.0;
        for (int i = 0; i < batch; i++)
            focal += facet_livescene_mask_loss(terms_at(terms, stride, i), level, classes,
                                               w->ray_mask / (float)labelled);
        parts->mask += w->ray_mask * focal / labelled;
        parts->repulsion += w->repulsion * repulsion(terms, stride, batch, level, classes, seed,
                                                     step, w->repulsion);
    }
    loss = parts->rgb + parts->mask + parts->repulsion;
    return loss;
}

double facet_livescene_batch_terms(facet_livescene_ray_terms *terms, size_t stride, int batch,
                                   int levels, int classes, const facet_livescene_loss_weights *w,
                                   unsigned long long seed, int step, double *mse) {
    loss_parts parts = {0};
    return batch_terms(terms, stride, batch, levels, classes, w, seed, step, mse, &parts);
}

static double batch_backward(const facet_livescene_field *f, const facet_livescene_field *grads,
                             int threads, facet_livescene_train_ray *rays, int batch,
                             const facet_livescene_loss_weights *w, unsigned long long seed,
                             int step, double *mse, loss_parts *parts) {
    const int levels = f->proposals, classes = f->objects + 1;
    batch_terms(&rays[0].terms, sizeof rays[0], batch, levels, classes, w, seed, step, mse, parts);
    /* per-ray terms and the backward pass, statically partitioned over threads (deterministic) */
    double interlevel = 0.0, distortion = 0.0;
    const int final_samples = rays[0].n[levels];
    const int per_sample = f->sigma_net.half != NULL; /* fp16 networks: the per-sample pass */
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : interlevel, distortion)
    for (int i = 0; i < batch; i++) {
        const int thread = facet_thread_index();
        facet_livescene_train_ray *r = &rays[i];
        float dw[FACET_LIVESCENE_MAX_LEVELS][FACET_LIVESCENE_MAX_SAMPLES];
        float drgb[3];
        facet_livescene_ray_losses(r, levels, batch, w, dw, drgb, &interlevel, &distortion);
        if (per_sample)
            facet_livescene_train_backward(f, &grads[thread], levels, r, drgb, dw);
        else
            facet_livescene_train_backward_lanes(f, &grads[thread], levels, r, drgb, dw);
    }
    parts->interlevel = w->interlevel * interlevel / ((double)batch * final_samples);
    parts->distortion = w->distortion * distortion / batch;
    return parts->rgb + parts->mask + parts->repulsion + parts->interlevel + parts->distortion;
}

double facet_livescene_batch_backward(const facet_livescene_field *f,
                                      const facet_livescene_field *grads, int threads,
                                      facet_livescene_train_ray *rays, int batch,
                                      const facet_livescene_loss_weights *w,
                                      unsigned long long seed, int step, double *mse) {
    loss_parts parts = {0};
    return batch_backward(f, grads, threads, rays, batch, w, seed, step, mse, &parts);
}

static double train_psnr(double mse) {
    /* honest: an exact fit is +inf dB, a non-finite mse gives NaN (and stops the fit) */
    if (mse == 0.0) return INFINITY;
    return mse > 0.0 ? -10.0 * log10(mse) : NAN;
}

/* A number in fit.json: JSON has no infinity, so +inf (mse exactly 0) is the string "inf". */
static cJSON *json_number(double v) {
    return isinf(v) && v > 0 ? cJSON_CreateString("inf") : cJSON_CreateNumber(v);
}

static const char *size_name(facet_fit_size size) {
    return size == FACET_FIT_DEFAULT ? "default" : (size == FACET_FIT_TINY ? "tiny" : "small");
}

static cJSON *normalisation_json(const fit_data *d) {
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "orientation", facet_orientation_name(d->method.orientation));
    cJSON_AddStringToObject(n, "center", facet_centering_name(d->method.center));
    cJSON_AddBoolToObject(n, "auto_scale", d->method.auto_scale);
    cJSON_AddStringToObject(n, "box", d->box_from_views ? "views" : "given");
    cJSON *box = cJSON_AddArrayToObject(n, "aabb");
    for (int k = 0; k < 2; k++) {
        const double v[3] = {d->aabb[3 * k], d->aabb[3 * k + 1], d->aabb[3 * k + 2]};
        cJSON_AddItemToArray(box, cJSON_CreateDoubleArray(v, 3));
    }
    cJSON *rows = cJSON_AddArrayToObject(n, "dataparser_transform");
    for (int r = 0; r < 3; r++)
        cJSON_AddItemToArray(rows, cJSON_CreateDoubleArray(d->transform + 4 * r, 4));
    cJSON_AddNumberToObject(n, "dataparser_scale", d->scale);
    return n;
}

static facet_status write_outputs(const trainer *t, const char *out_dir, const char *dataset,
                                  const facet_fit_options *o, const fit_data *d,
                                  const facet_fit_result *r) {
    char *weights = facet_path_join(out_dir, "model.safetensors");
    char *scene = facet_path_join(out_dir, "scene.json");
    char *summary = facet_path_join(out_dir, "fit.json");
    facet_status s = weights && scene && summary ? FACET_OK : facet_last_status();
    char source[1200];
    snprintf(source, sizeof source, "facet fit %s (%s config, %d iterations, seed %llu)", dataset,
             size_name(o->size), r->iterations, o->seed);
    if (s == FACET_OK) s = facet_livescene_save(&t->model, weights, source);
    if (s == FACET_OK) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddNumberToObject(root, "version", 1);
        cJSON_AddItemToObject(root, "background", cJSON_CreateIntArray((const int[]){1, 1, 1}, 3));
        cJSON *nodes = cJSON_AddArrayToObject(root, "nodes");
        cJSON *node = cJSON_CreateObject();
        cJSON_AddStringToObject(node, "type", "livescene");
        cJSON_AddStringToObject(node, "name", "fit");
        cJSON_AddStringToObject(node, "weights", "model.safetensors");
        if (t->pack) cJSON_AddStringToObject(node, "mlp_dtype", "f16"); /* as it was trained */
        cJSON_AddItemToArray(nodes, node);
        s = facet_json_write_atomic(scene, root);
        cJSON_Delete(root);
    }
    if (s == FACET_OK) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "format", "facet-fit");
        cJSON_AddNumberToObject(root, "version", 1);
        cJSON_AddStringToObject(root, "dataset", dataset);
        cJSON_AddStringToObject(root, "config", size_name(o->size));
        cJSON_AddNumberToObject(root, "iterations", r->iterations);
        cJSON_AddNumberToObject(root, "batch", o->batch);
        cJSON_AddNumberToObject(root, "seed", (double)o->seed);
        cJSON_AddNumberToObject(root, "threads", t->threads);
        cJSON_AddNumberToObject(root, "parameters", (double)t->model.parameter_count);
        cJSON_AddStringToObject(root, "mlp_dtype", t->pack ? "f16" : "f32");
        if (t->pack) {
            cJSON_AddNumberToObject(root, "loss_scale", t->scaler.scale);
            cJSON_AddNumberToObject(root, "skipped_steps", t->scaler.skipped);
        }
        /* model frame = dataparser_scale * (R p + t) of the dataset's frame; the same transform
           is in model.safetensors' config */
        cJSON_AddItemToObject(root, "normalisation", normalisation_json(d));
        /* unknown only when resumed at the end from a checkpoint of an older version */
        if (isfinite(r->final_loss) && isfinite(r->final_mse)) {
            cJSON_AddNumberToObject(root, "final_loss", r->final_loss);
            cJSON_AddNumberToObject(root, "final_train_mse", r->final_mse);
            cJSON_AddItemToObject(root, "final_train_psnr", json_number(r->final_psnr));
        }
        cJSON_AddNumberToObject(root, "seconds", r->seconds);
        cJSON_AddNumberToObject(root, "rays_per_second", r->rays_per_second);
        cJSON_AddNumberToObject(root, "resumed_from", r->resumed_from);
        char lr[32];
        snprintf(lr, sizeof lr, "%.7g", (double)o->learning_rate);
        cJSON_AddNumberToObject(root, "learning_rate", strtod(lr, NULL));
        cJSON_AddNumberToObject(root, "learning_rate_scale", r->learning_rate_scale);
        cJSON_AddStringToObject(root, "on_divergence",
                                o->on_divergence == FACET_FIT_DIVERGENCE_RESTART ? "restart"
                                                                                 : "stop");
        cJSON_AddItemToObject(root, "restarts", cJSON_Duplicate(t->restarts, 1));
        cJSON_AddNumberToObject(root, "loss_curve_every", o->curve_every);
        cJSON_AddItemToObject(root, "loss_curve", cJSON_Duplicate(t->curve, 1));
        s = facet_json_write_atomic(summary, root);
        cJSON_Delete(root);
    }
    free(weights);
    free(scene);
    free(summary);
    return s;
}

/* DIR/snapshots/model-NNNNNN.safetensors and a "step seconds" line in DIR/snapshots/times.tsv
 * (the file is rewritten atomically with the line appended). */
static facet_status write_snapshot(const facet_livescene_model *m, const char *out_dir, int step,
                                   double seconds) {
    char *dir = facet_path_join(out_dir, "snapshots");
    facet_status s = dir ? facet_make_dirs(dir) : facet_last_status();
    char *path = s == FACET_OK ? facet_format("%s/model-%06d.safetensors", dir, step) : NULL;
    char *times = s == FACET_OK ? facet_path_join(dir, "times.tsv") : NULL;
    if (s == FACET_OK && (!path || !times)) s = facet_last_status();
    if (s == FACET_OK) s = facet_livescene_save(m, path, "facet fit snapshot");
    char *old = NULL;
    size_t size = 0;
    if (s == FACET_OK && facet_is_file(times)) s = facet_read_file(times, &old, &size);
    if (s == FACET_OK) {
        char *text = facet_format("%s%d\t%.3f\n", old ? old : "step\tseconds\n", step, seconds);
        s = text ? facet_write_file_atomic(times, text, strlen(text)) : facet_last_status();
        free(text);
    }
    free(old);
    free(path);
    free(times);
    free(dir);
    return s;
}

/* Dataset defaults from DATASET/facet.json: {"aabb": [[..],[..]], "center": "poses" | "focus" |
 * "none", "orientation": "up" | "pca" | "none", "auto_scale": bool, "scene_scale": number}.
 * Fields the file leaves out keep their value; an "aabb" there (a box in the dataset's own frame)
 * turns the orientation and auto_scale defaults off. */
typedef struct dataset_setup {
    int orientation, center, auto_scale; /* -1: not given */
    double scene_scale;                  /* <= 0: not given */
    int has_aabb;
    float aabb[6];
} dataset_setup;

static facet_status dataset_defaults(const char *dataset, dataset_setup *out) {
    char *path = facet_is_dir(dataset) ? facet_path_join(dataset, "facet.json") : NULL;
    if (!path || !facet_is_file(path)) {
        free(path);
        return FACET_OK;
    }
    facet_doc doc;
    facet_status s = facet_json_load(&doc, path);
    static const char *const keys[] = {"aabb",       "center",      "orientation",
                                       "auto_scale", "scene_scale", NULL};
    if (s == FACET_OK) s = facet_json_object(&doc, doc.root, "(top level)");
    if (s == FACET_OK) s = facet_json_check_keys(&doc, doc.root, "", keys);
    const cJSON *box = s == FACET_OK ? cJSON_GetObjectItemCaseSensitive(doc.root, "aabb") : NULL;
    if (box) {
        double lo[3], hi[3];
        cJSON *wrap = cJSON_CreateObject();
        cJSON_AddItemReferenceToObject(wrap, "min", cJSON_GetArrayItem(box, 0));
        cJSON_AddItemReferenceToObject(wrap, "max", cJSON_GetArrayItem(box, 1));
        s = facet_json_get_numbers(&doc, wrap, "min", "aabb", lo, 3);
        if (s == FACET_OK) s = facet_json_get_numbers(&doc, wrap, "max", "aabb", hi, 3);
        cJSON_Delete(wrap);
        for (int i = 0; s == FACET_OK && i < 3; i++) {
            out->aabb[i] = (float)lo[i];
            out->aabb[3 + i] = (float)hi[i];
        }
        if (s == FACET_OK) {
            out->has_aabb = 1;
            out->orientation = FACET_ORIENT_NONE;
            out->auto_scale = 0;
        }
    }
    const char *name = NULL;
    if (s == FACET_OK) s = facet_json_opt_string(&doc, doc.root, "center", "", &name);
    if (s == FACET_OK && name && (out->center = facet_centering_from_name(name)) < 0)
        s = facet_fail(FACET_ERR_FORMAT,
                       "%s: key 'center': expected \"poses\", \"focus\" or \"none\"", path);
    name = NULL;
    if (s == FACET_OK) s = facet_json_opt_string(&doc, doc.root, "orientation", "", &name);
    if (s == FACET_OK && name && (out->orientation = facet_orientation_from_name(name)) < 0)
        s = facet_fail(FACET_ERR_FORMAT,
                       "%s: key 'orientation': expected \"up\", \"pca\" or \"none\"", path);
    const cJSON *flag =
        s == FACET_OK ? cJSON_GetObjectItemCaseSensitive(doc.root, "auto_scale") : NULL;
    if (flag && !cJSON_IsBool(flag))
        s = facet_fail(FACET_ERR_FORMAT, "%s: key 'auto_scale': expected true or false", path);
    else if (flag)
        out->auto_scale = cJSON_IsTrue(flag);
    const cJSON *scale =
        s == FACET_OK ? cJSON_GetObjectItemCaseSensitive(doc.root, "scene_scale") : NULL;
    if (scale && (!cJSON_IsNumber(scale) || !(scale->valuedouble > 0)))
        s = facet_fail(FACET_ERR_FORMAT, "%s: key 'scene_scale': expected a positive number", path);
    else if (scale)
        out->scene_scale = scale->valuedouble;
    facet_doc_free(&doc);
    free(path);
    return s;
}

/* ---- divergence ------------------------------------------------------------------------------ */

static void appendf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t size, const char *fmt, ...) {
    size_t used = strlen(buf);
    if (used + 1 >= size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

static int64_t count_nonfinite(const float *x, int64_t n) {
    int64_t bad = 0;
#pragma omp parallel for schedule(static) reduction(+ : bad) if (n > 65536)
    for (int64_t i = 0; i < n; i++) bad += !isfinite(x[i]);
    return bad;
}

/* Appends "<what> <first tensor> (k of n values[; m tensors in all])" when any of `buffers` (laid
 * out like the model's) holds a non-finite value; returns the number of such tensors. */
static int describe_nonfinite(const facet_livescene_model *m, void **buffers, const char *what,
                              char *msg, size_t size) {
    int tensors = 0, first = -1;
    int64_t first_count = 0;
    for (int b = 0; b < m->buffer_count; b++) {
        int64_t bad = count_nonfinite(buffers[b], (int64_t)m->buffer_info[b].count);
        if (bad && first < 0) first = b, first_count = bad;
        tensors += bad > 0;
    }
    if (first < 0) return 0;
    appendf(msg, size, "; non-finite %s: %s (%lld of %zu values", what, m->buffer_info[first].name,
            (long long)first_count, m->buffer_info[first].count);
    if (tensors > 1) appendf(msg, size, "; %d tensors in all", tensors);
    appendf(msg, size, ")");
    return tensors;
}

/* The model's buffer index of a pointer, or -1. */
static int buffer_index(const facet_livescene_model *m, const void *p) {
    for (int b = 0; b < m->buffer_count; b++)
        if (m->buffers[b] == p) return b;
    return -1;
}

/* Names the first plane regulariser whose sum is non-finite ("time_smoothness on
 * field.grids.0.plane.2"). */
static void describe_regularisers(const facet_livescene_model *m,
                                  const facet_livescene_loss_weights *w, char *msg, size_t size) {
    static const char *const kinds[3][3] = {
        {"plane_tv", "l1_time_planes", "time_smoothness"},
        {"plane_tv_proposal", "l1_time_planes_proposal", "time_smoothness_proposal"},
        {"plane_tv_probability", "l1", "time_smoothness"}};
    facet_livescene_plane_task tasks[FACET_LIVESCENE_MAX_REG_PLANES];
    const int n = facet_livescene_regularizer_planes(&m->field, w, tasks);
    for (int i = 0; i < n; i++) {
        const float *t = task_plane(&m->field, &tasks[i]);
        const int group =
            tasks[i].grid < 0 ? 2 : (tasks[i].grid >= FACET_LIVESCENE_MAX_SCALES ? 1 : 0);
        for (int kind = 0; kind < 3; kind++) {
            facet_livescene_plane_reg r = tasks[i].reg;
            if (kind != 0) r.tv_w = r.tv_h = 0.0f;
            if (kind != 1) r.l1 = 0.0f;
            if (kind != 2) r.smooth = 0.0f;
            const int64_t count = (int64_t)r.h * r.w * r.c;
            double sum = 0.0;
            for (int64_t e = 0; e < count; e++) {
                float l;
                facet_livescene_plane_reg_element(t, &r, e, &l);
                sum += l;
            }
            if (!isfinite(sum)) {
                const int b = buffer_index(m, t);
                appendf(msg, size, " (%s on %s)", kinds[group][kind],
                        b >= 0 ? m->buffer_info[b].name : "?");
                return;
            }
        }
    }
}

/* "the fit diverged at iteration N: non-finite loss term interlevel = nan (rgb .., ...)". */
static void describe_loss(char *msg, size_t size, const loss_parts *p,
                          const facet_livescene_model *m, const facet_livescene_loss_weights *w) {
    const struct {
        const char *name;
        double value;
    } terms[6] = {
        {"rgb", p->rgb},   {"interlevel", p->interlevel}, {"distortion", p->distortion},
        {"mask", p->mask}, {"repulsion", p->repulsion},   {"regularisers", p->regularisers}};
    int bad = 0;
    for (int i = 0; i < 6; i++)
        if (!isfinite(terms[i].value)) {
            appendf(msg, size, "%s%s = %g", bad ? ", " : "non-finite loss term ", terms[i].name,
                    terms[i].value);
            if (i == 5) describe_regularisers(m, w, msg, size);
            bad++;
        }
    if (!bad) appendf(msg, size, "loss terms finite");
    appendf(msg, size, " (");
    for (int i = 0; i < 6; i++)
        appendf(msg, size, "%s%s %.6g", i ? ", " : "", terms[i].name, terms[i].value);
    appendf(msg, size, ")");
}

/* Parameters and Adam moments all finite (before anything is written from them). */
static int state_finite(const trainer *t) {
    const facet_livescene_model *m = &t->model;
    for (int b = 0; b < m->buffer_count; b++) {
        const int64_t n = (int64_t)m->buffer_info[b].count;
        if (count_nonfinite(m->buffers[b], n) || count_nonfinite(t->adam_m[b], n) ||
            count_nonfinite(t->adam_v[b], n))
            return 0;
    }
    return 1;
}

/* Back to the last checkpoint (or the initial state when none was written) with the learning rate
 * halved; records the restart. */
static facet_status restart_fit(trainer *t, const char *checkpoint, unsigned long long seed,
                                int iteration, const char *reason) {
    cJSON *restarts = t->restarts;
    const float scale = t->lr_scale * 0.5f;
    t->restarts = NULL;
    facet_status s = FACET_OK;
    if (facet_is_file(checkpoint)) {
        int resumed;
        s = load_checkpoint(t, checkpoint, &resumed);
    } else {
        const facet_livescene_model *m = &t->model;
        init_model(&t->model, seed);
        for (int b = 0; b < m->buffer_count; b++) {
            memset(t->adam_m[b], 0, m->buffer_info[b].count * sizeof(float));
            memset(t->adam_v[b], 0, m->buffer_info[b].count * sizeof(float));
        }
        t->step = 0;
        t->last_loss = t->last_mse = NAN;
        cJSON_Delete(t->curve);
        t->curve = cJSON_CreateArray();
        t->scaler.good_steps = t->scaler.skipped = 0; /* the scale carries on */
        repack(t);
    }
    cJSON_Delete(t->restarts);
    t->restarts = restarts;
    t->lr_scale = scale;
    if (s != FACET_OK) return facet_error_context("restarting after a divergence");
    cJSON *record = cJSON_CreateObject();
    cJSON_AddNumberToObject(record, "iteration", iteration);
    cJSON_AddNumberToObject(record, "restored_from", t->step);
    cJSON_AddNumberToObject(record, "learning_rate_scale", scale);
    cJSON_AddStringToObject(record, "reason", reason);
    cJSON_AddItemToArray(t->restarts, record);
    return FACET_OK;
}

/* The options with every unset (zero) value replaced by its default. */
static facet_fit_options options_with_defaults(const facet_fit_options *options) {
    facet_fit_options o = *options;
    const int official = o.size == FACET_FIT_DEFAULT;
    if (o.iterations <= 0) o.iterations = official ? 30000 : 3000;
    if (o.batch <= 0) o.batch = official ? 4096 : 1024;
    if (o.checkpoint_every <= 0) o.checkpoint_every = 500;
    if (o.learning_rate <= 0) o.learning_rate = 0.02f;
    if (o.warmup <= 0) o.warmup = o.iterations / 10 < 512 ? o.iterations / 10 : 512;
    if (o.warmup < 1) o.warmup = 1;
    if (o.max_restarts <= 0) o.max_restarts = 3;
    if (o.curve_every <= 0) o.curve_every = o.iterations / 150 > 1 ? o.iterations / 150 : 1;
    if (o.use_default_weights) o.weights = facet_livescene_default_loss_weights();
    if (o.mlp_half && o.loss_scale <= 0) o.loss_scale = FACET_LOSS_SCALE_INITIAL;
    return o;
}

/* Chooses the scene normalisation and box (option > DATASET/facet.json > nerfstudio-data
 * defaults) and loads the training images into the model frame. */
static facet_status prepare_data(const char *dataset, const facet_fit_options *o, fit_data *data) {
    memset(data, 0, sizeof *data);
    dataset_setup setup = {.orientation = -1, .center = -1, .auto_scale = -1};
    facet_status s = dataset_defaults(dataset, &setup);
    if (s != FACET_OK) return s;
    data->method.orientation = setup.orientation >= 0 ? setup.orientation : FACET_ORIENT_UP;
    data->method.center = setup.center >= 0 ? setup.center : FACET_CENTER_POSES;
    data->method.auto_scale = setup.auto_scale >= 0 ? setup.auto_scale : 1;
    if (o->orientation &&
        (int)(data->method.orientation = facet_orientation_from_name(o->orientation)) < 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "orientation '%s': expected up, pca or none",
                          o->orientation);
    if (o->center) {
        if ((int)(data->method.center = facet_centering_from_name(o->center)) < 0)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "center '%s': expected poses, focus or none", o->center);
    } else if (o->center_poses >= 0) {
        data->method.center = o->center_poses ? FACET_CENTER_POSES : FACET_CENTER_NONE;
    }
    if (o->auto_scale) data->method.auto_scale = o->auto_scale > 0;
    const double scene_scale = o->scene_scale > 0      ? o->scene_scale
                               : setup.scene_scale > 0 ? setup.scene_scale
                                                       : 1.0;
    for (int i = 0; i < 3; i++) {
        data->aabb[i] = (float)-scene_scale;
        data->aabb[3 + i] = (float)scene_scale;
    }
    if (o->has_aabb)
        memcpy(data->aabb, o->aabb, sizeof data->aabb);
    else if (setup.has_aabb && !(o->scene_scale > 0))
        memcpy(data->aabb, setup.aabb, sizeof data->aabb);
    /* no box given anywhere: the region the cameras look at (facet_view_box) */
    data->box_from_views =
        !o->has_aabb && !(o->scene_scale > 0) && !setup.has_aabb && !(setup.scene_scale > 0);
    return load_data(dataset, data);
}

/* A freshly initialised model for the data, with its gradient and Adam buffers (per-thread
 * gradients for the CPU's deterministic reduction). On failure everything is freed. */
static facet_status trainer_create(trainer *t, const facet_fit_options *o, const fit_data *data) {
    memset(t, 0, sizeof *t);
    t->lr_scale = 1.0f;
    t->last_loss = t->last_mse = NAN;
    t->curve = cJSON_CreateArray();
    t->restarts = cJSON_CreateArray();
    facet_status s = FACET_OK;
    if (!t->curve || !t->restarts)
        s = facet_fail(FACET_ERR_OUT_OF_MEMORY, "allocating the fit's history");
    char *config = s == FACET_OK ? make_config(o, data) : NULL;
    if (s == FACET_OK && !config) s = facet_last_status();
    if (s == FACET_OK) s = facet_livescene_create(&t->model, config);
    free(config);
    if (s != FACET_OK) {
        cJSON_Delete(t->curve);
        cJSON_Delete(t->restarts);
        memset(t, 0, sizeof *t);
        return s;
    }
    init_model(&t->model, o->seed);
    t->threads = facet_thread_count();
    t->signature =
        facet_format("seed %llu, batch %d, iterations %d, checkpoint every %d, %d "
                     "threads, lr %g, warmup %d%s",
                     o->seed, o->batch, o->iterations, o->checkpoint_every, t->threads,
                     (double)o->learning_rate, o->warmup, o->mlp_half ? ", fp16 networks" : "");
    if (o->mlp_half) {
        const size_t bytes = facet_livescene_half_bytes(&t->model.field);
        t->pack = aligned_alloc(256, (bytes + 255) / 256 * 256);
        if (!t->pack) s = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory (fp16 networks)");
        t->scaler.scale = o->loss_scale;
        repack(t);
    }
    t->thread_grads = facet_alloc_zeroed((size_t)t->threads, sizeof *t->thread_grads);
    t->thread_fields = facet_alloc_zeroed((size_t)t->threads, sizeof *t->thread_fields);
    if (!t->signature || !t->thread_grads || !t->thread_fields) s = facet_last_status();
    for (int i = 0; s == FACET_OK && i < t->threads; i++)
        if ((s = alloc_like(&t->model, &t->thread_grads[i])) == FACET_OK)
            t->thread_fields[i] = facet_livescene_field_over(&t->model, t->thread_grads[i]);
    if (s == FACET_OK) s = alloc_like(&t->model, &t->grad);
    if (s == FACET_OK) s = alloc_like(&t->model, &t->adam_m);
    if (s == FACET_OK) s = alloc_like(&t->model, &t->adam_v);
    if (s == FACET_OK) t->grad_field = facet_livescene_field_over(&t->model, t->grad);
    if (s != FACET_OK) trainer_free(t);
    return s;
}

/* What one iteration needs besides the trainer: its inputs and the sampler settings. */
typedef struct step_plan {
    int step, batch;
    int adam_step; /* Adam's own count (bias correction): step less the steps skipped for a half
                      overflow, which PyTorch's GradScaler keeps from the optimizer */
    const facet_livescene_ray_input *inputs; /* [batch] */
    const int *samples;                      /* [levels + 1] */
    float anneal, lr;
    const facet_livescene_loss_weights *w;
    unsigned long long seed;
} step_plan;

/* One iteration on the CPU, mirroring facet_livescene_cuda_step (fit/cuda/livescene_fit.cu): every
 * ray's forward pass (facet_livescene_train_ray_run_lanes: the same record, sixteen samples at a
 * time), the batch terms and the backward pass into
 * per-thread gradients reduced in thread order (deterministic), the plane regularisers, then
 * Adam (fit/adam.h). A non-finite loss term or gradient skips Adam; that, or a non-finite value
 * Adam writes, is described in `diverged` (left empty when the step is finite). */
static void cpu_step(trainer *t, const step_plan *p, facet_livescene_train_ray *rays, double *loss,
                     double *mse, char *diverged, size_t size) {
    const facet_livescene_model *m = &t->model;
    const facet_livescene_field *f = &m->field;
    const int levels = f->proposals;
    /* rays in chunks of 8: a ray is its own record, so any schedule gives the same values; chunks
     * of 64 (FACET_PARALLEL_FOR's) left one of two threads idle for up to a chunk at the end */
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t i = 0; i < p->batch; i++) {
        if (f->sigma_net.half) /* fp16 networks: per sample (fields/tcnn_mlp_half.h) */
            facet_livescene_train_ray_run(f, levels, p->samples, p->anneal, p->seed, p->step,
                                          p->batch, (int)i, &p->inputs[i], &rays[i]);
        else
            facet_livescene_train_ray_run_lanes(f, levels, p->samples, p->anneal, p->seed, p->step,
                                                p->batch, (int)i, &p->inputs[i], &rays[i]);
    }
    /* the per-thread gradients are zero here: allocated zeroed, and zeroed by each reduction */
    loss_parts parts = {0};
    batch_backward(f, t->thread_fields, t->threads, rays, p->batch, p->w, p->seed, p->step, mse,
                   &parts);
    /* reduce in thread order, leaving the per-thread buffers zero for the next step: one parallel
     * region over every buffer, each buffer split statically (no barrier between buffers) */
#pragma omp parallel
    for (int b = 0; b < m->buffer_count; b++) {
        float *g = t->grad[b];
        const int64_t n = (int64_t)m->buffer_info[b].count;
#pragma omp for schedule(static) nowait
        for (int64_t e = 0; e < n; e++) {
            float sum = 0.0f;
            for (int k = 0; k < t->threads; k++) {
                float *partial = t->thread_grads[k][b];
                sum += partial[e];
                partial[e] = 0.0f;
            }
            g[e] = sum;
        }
    }
    parts.regularisers = facet_livescene_regularize(f, &t->grad_field, p->w);
    *loss = parts_sum(&parts);
    /* never silent: a non-finite loss term or gradient stops this step before Adam */
    int bad_gradients = 0;
    for (int b = 0; b < m->buffer_count && !bad_gradients; b++)
        bad_gradients = count_nonfinite(t->grad[b], (int64_t)m->buffer_info[b].count) > 0;
    if (t->pack && isfinite(*loss) && bad_gradients) {
        /* fp16 networks: a half gradient overflowed at this loss scale; skip the step */
        if (facet_loss_scaler_update(&t->scaler, 1)) {
            repack(t);
            return;
        }
        appendf(diverged, size, "gradients not finite at loss scale 1, ");
    }
    if (!isfinite(*loss) || bad_gradients) {
        describe_loss(diverged, size, &parts, m, p->w);
        describe_nonfinite(m, t->grad, "gradient", diverged, size);
        describe_nonfinite(m, m->buffers, "parameter", diverged, size);
        return;
    }
    /* Adam (fit/adam.h: torch.optim.Adam, eps 1e-12), checking what it writes */
    float c[2];
    facet_adam_corrections(p->adam_step, c);
    int64_t bad = 0;
#pragma omp parallel reduction(+ : bad) /* one region, every buffer split statically */
    for (int b = 0; b < m->buffer_count; b++) {
        float *param = m->buffers[b], *g = t->grad[b], *mm = t->adam_m[b], *vv = t->adam_v[b];
        const int64_t n = (int64_t)m->buffer_info[b].count;
#pragma omp for schedule(static) nowait
        for (int64_t e = 0; e < n; e++) {
            facet_adam_element(&param[e], g[e], &mm[e], &vv[e], p->lr, c[0], c[1]);
            bad += !isfinite(param[e]) || !isfinite(vv[e]);
        }
    }
    if (bad) {
        appendf(diverged, size, "non-finite weights after the Adam update (learning rate %g), ",
                (double)p->lr);
        describe_loss(diverged, size, &parts, m, p->w);
        describe_nonfinite(m, m->buffers, "parameter", diverged, size);
        describe_nonfinite(m, t->adam_v, "second moment", diverged, size);
        return;
    }
    if (t->pack) {
        facet_loss_scaler_update(&t->scaler, 0);
        repack(t);
    }
}

/* One iteration on CUDA (facet_livescene_cuda_step applies Adam on the device); a non-finite loss
 * is described in `diverged` with the first non-finite gradient and parameter (the state is not
 * used again: the fit stops or restarts). */
static facet_status cuda_step(trainer *t, facet_livescene_cuda_trainer *gpu, const step_plan *p,
                              double *loss, double *mse, char *diverged, size_t size) {
    int overflow = 0;
    facet_status s =
        facet_livescene_cuda_step(gpu, p->inputs, p->samples, p->anneal, p->lr, p->step, p->w,
                                  p->seed, p->adam_step, t->scaler.scale, loss, mse, &overflow);
    if (s == FACET_OK && t->pack && isfinite(*loss) && isfinite(*mse)) {
        /* fp16 networks: an overflowed step was skipped on the device */
        if (facet_loss_scaler_update(&t->scaler, overflow)) return FACET_OK;
        appendf(diverged, size, "gradients not finite at loss scale 1 (loss %g)", *loss);
        return FACET_OK;
    }
    if (s != FACET_OK || (isfinite(*loss) && isfinite(*mse))) return s;
    const facet_livescene_model *m = &t->model;
    appendf(diverged, size,
            "non-finite loss %g (the CUDA path sums the terms on the device; rgb mse %g)", *loss,
            *mse);
    if (facet_livescene_cuda_download_gradients(gpu, t->grad) == FACET_OK)
        describe_nonfinite(m, t->grad, "gradient", diverged, size);
    if (facet_livescene_cuda_download(gpu, &t->model, t->adam_m, t->adam_v) == FACET_OK)
        describe_nonfinite(m, m->buffers, "parameter after the update", diverged, size);
    facet_clear_error();
    return FACET_OK;
}

/* After iteration `iteration` diverged (`diverged` says how): with --on-divergence restart and
 * restarts left, back to the last checkpoint with the learning rate halved (the CUDA trainer, when
 * gpu is not NULL, re-created from the restored state) and FACET_OK; otherwise an error naming
 * what diverged. Nothing is written from the non-finite state. */
static facet_status recover_from_divergence(trainer *t, facet_fit_options *o,
                                            const char *checkpoint, int iteration,
                                            const char *diverged,
                                            facet_livescene_cuda_trainer **gpu) {
    const int restarts = cJSON_GetArraySize(t->restarts);
    if (o->on_divergence == FACET_FIT_DIVERGENCE_RESTART && restarts < o->max_restarts) {
        facet_status s = restart_fit(t, checkpoint, o->seed, iteration, diverged);
        if (s == FACET_OK && gpu) {
            facet_livescene_cuda_trainer_free(*gpu);
            *gpu = NULL;
            s = facet_livescene_cuda_trainer_create(gpu, &t->model, t->adam_m, t->adam_v, o->batch);
        }
        if (s == FACET_OK && o->progress) {
            facet_progress_note(o->progress,
                                "fit: diverged at iteration %d: %s; restart %d of %d from "
                                "iteration %d with the learning rate halved (x%g)",
                                iteration, diverged, restarts + 1, o->max_restarts, t->step,
                                (double)t->lr_scale);
            o->progress->done = t->step;
        }
        return s;
    }
    if (o->on_divergence == FACET_FIT_DIVERGENCE_RESTART)
        return facet_fail(FACET_ERR_INTERNAL,
                          "the fit diverged at iteration %d after %d restarts (learning rate "
                          "x%g): %s; nothing was written from the non-finite state",
                          iteration, restarts, (double)t->lr_scale, diverged);
    return facet_fail(FACET_ERR_INTERNAL,
                      "the fit diverged at iteration %d: %s; nothing was written from the "
                      "non-finite state (--on-divergence restart retries from the last "
                      "checkpoint with a halved learning rate)",
                      iteration, diverged);
}

/* Appends a training-curve point every curve_every iterations (and at the last). */
static void record_curve(trainer *t, const facet_fit_options *o, double loss, double psnr) {
    if (t->step % o->curve_every != 0 && t->step != o->iterations) return;
    cJSON *point = cJSON_CreateArray();
    cJSON_AddItemToArray(point, cJSON_CreateNumber(t->step));
    cJSON_AddItemToArray(point, cJSON_CreateNumber(loss));
    cJSON_AddItemToArray(point, json_number(psnr));
    cJSON_AddItemToArray(t->curve, point);
}

facet_status facet_livescene_fit(const char *dataset, const char *out_dir,
                                 const facet_fit_options *options, facet_fit_result *result) {
    memset(result, 0, sizeof *result);
    facet_fit_options o = options_with_defaults(options);
    if (o.mlp_half && !facet_mlp_half_loss_scale_valid(o.loss_scale))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "loss scale %g: expected a power of two from 1 to 16777216 (2^24)",
                          (double)o.loss_scale);
    fit_data data;
    facet_status s = prepare_data(dataset, &o, &data);
    if (s != FACET_OK) {
        fit_data_free(&data);
        return s;
    }
    s = facet_make_dirs(out_dir);
    trainer t;
    if (s == FACET_OK) s = trainer_create(&t, &o, &data);
    if (s != FACET_OK) {
        fit_data_free(&data);
        return s;
    }
    char *checkpoint = facet_path_join(out_dir, "checkpoint.safetensors");
    if (!checkpoint) s = facet_last_status();
    int resumed = 0;
    if (s == FACET_OK) s = load_checkpoint(&t, checkpoint, &resumed);
    if (resumed) result->resumed_from = t.step;
    if (s == FACET_OK && resumed && !state_finite(&t))
        s = facet_fail(FACET_ERR_FORMAT, "%s holds non-finite weights or Adam moments", checkpoint);
    const int cuda = o.device == FACET_FIT_CUDA;
    facet_livescene_train_ray *rays =
        s == FACET_OK && !cuda ? facet_alloc((size_t)o.batch, sizeof *rays) : NULL;
    facet_livescene_ray_input *inputs =
        s == FACET_OK ? facet_alloc((size_t)o.batch, sizeof *inputs) : NULL;
    if (s == FACET_OK && ((!cuda && !rays) || !inputs)) s = facet_last_status();
    facet_livescene_cuda_trainer *gpu = NULL;
    if (s == FACET_OK && cuda)
        s = facet_livescene_cuda_trainer_create(&gpu, &t.model, t.adam_m, t.adam_v, o.batch);

    const facet_livescene_model *m = &t.model;
    const int levels = m->field.proposals;
    int samples[FACET_LIVESCENE_MAX_LEVELS];
    for (int i = 0; i < levels; i++) samples[i] = m->num_proposal_samples[i];
    samples[levels] = m->num_samples;
    if (o.progress && s == FACET_OK) {
        facet_progress_begin(o.progress, "fit", "it", o.iterations);
        o.progress->done = t.step;
    }
    const double start = facet_seconds();
    const int first_step = t.step;
    const int stop = o.run_for > 0 && first_step + o.run_for < o.iterations ? first_step + o.run_for
                                                                            : o.iterations;
    int64_t rays_done = 0;
    while (s == FACET_OK && t.step < stop) {
        const int step = t.step;
        fill_batch(&data, o.seed, step, o.batch, inputs, m->field.objects);
        const step_plan plan = {
            .step = step,
            .adam_step = step - t.scaler.skipped,
            .batch = o.batch,
            .inputs = inputs,
            .samples = samples,
            .anneal = anneal_exponent(step),
            .lr = o.learning_rate * t.lr_scale * learning_factor(step, o.warmup, o.iterations),
            .w = &o.weights,
            .seed = o.seed,
        };
        double batch_loss = 0.0, mse = 0.0;
        char diverged[1024] = ""; /* set when a loss, gradient or parameter is non-finite */
        if (cuda)
            s = cuda_step(&t, gpu, &plan, &batch_loss, &mse, diverged, sizeof diverged);
        else
            cpu_step(&t, &plan, rays, &batch_loss, &mse, diverged, sizeof diverged);
        if (s != FACET_OK) break;
        const int next = step + 1;
        const int snapshot = o.snapshot_every > 0 && next % o.snapshot_every == 0;
        const int save = next % o.checkpoint_every == 0 || next == stop;
        if (!diverged[0] && cuda && (save || snapshot))
            s = facet_livescene_cuda_download(gpu, &t.model, t.adam_m, t.adam_v);
        /* nothing is written from a non-finite state: checked before every write (on the CPU
           every step already checks gradients, parameters and second moments) */
        if (s == FACET_OK && !diverged[0] && (save || snapshot) && !state_finite(&t)) {
            appendf(diverged, sizeof diverged,
                    "non-finite weights or Adam moments with a finite "
                    "loss");
            describe_nonfinite(m, m->buffers, "parameter", diverged, sizeof diverged);
            describe_nonfinite(m, t.adam_m, "first moment", diverged, sizeof diverged);
            describe_nonfinite(m, t.adam_v, "second moment", diverged, sizeof diverged);
        }
        if (s == FACET_OK && diverged[0]) {
            s = recover_from_divergence(&t, &o, checkpoint, next, diverged, cuda ? &gpu : NULL);
            if (s == FACET_OK) continue;
        }
        if (s != FACET_OK) break;
        t.step++;
        rays_done += o.batch;
        t.last_loss = batch_loss;
        t.last_mse = mse;
        const double psnr = train_psnr(mse);
        record_curve(&t, &o, batch_loss, psnr);
        if (o.progress) {
            double elapsed = facet_seconds() - start;
            snprintf(o.progress->suffix, sizeof o.progress->suffix,
                     "loss %.4f  psnr %.2f dB  %.0f rays/s", batch_loss, psnr,
                     elapsed > 0 ? (double)rays_done / elapsed : 0.0);
            facet_progress_advance(o.progress, 1);
        }
        if (save) s = save_checkpoint(&t, checkpoint);
        if (s == FACET_OK && snapshot)
            s = write_snapshot(&t.model, out_dir, t.step, facet_seconds() - start);
    }
    if (o.progress && s == FACET_OK) facet_progress_end(o.progress);
    result->iterations = t.step;
    /* from the checkpoint when this call ran no iteration (resumed at the end) */
    result->final_loss = t.last_loss;
    result->final_mse = t.last_mse;
    result->final_psnr = train_psnr(t.last_mse);
    result->restarts = cJSON_GetArraySize(t.restarts);
    result->learning_rate_scale = t.lr_scale;
    result->seconds = facet_seconds() - start;
    result->rays_per_second = result->seconds > 0 ? (double)rays_done / result->seconds : 0.0;
    result->finished = t.step == o.iterations;
    result->loss_scale = t.pack ? t.scaler.scale : 0.0f;
    result->skipped_steps = t.scaler.skipped;
    result->total = o.iterations;
    if (s == FACET_OK && result->finished && !state_finite(&t))
        s = facet_fail(FACET_ERR_INTERNAL,
                       "the fitted weights are non-finite; nothing was written");
    if (s == FACET_OK && result->finished)
        s = write_outputs(&t, out_dir, dataset, &o, &data, result);
    free(checkpoint);
    free(rays);
    free(inputs);
    facet_livescene_cuda_trainer_free(gpu);
    trainer_free(&t);
    fit_data_free(&data);
    return s;
}
