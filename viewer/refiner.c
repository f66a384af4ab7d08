#include "refiner.h"

#include "core/alloc.h"
#include "core/parallel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const double level_budget_seconds = 0.12; /* coarsest level */
static const double strip_budget_seconds = 0.25; /* one strip: the cancellation latency */

struct facet_refiner {
    facet_scene *scene;
    pthread_mutex_t *scene_lock;
    facet_device device;
    pthread_t thread;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;  /* a new request, or quit */
    pthread_cond_t settled_cond;
    int quit;
    facet_view_state request;
    uint64_t request_serial; /* 0: nothing requested yet */
    uint64_t done_serial;    /* the request last rendered to the end (or failed) */
    int request_valid;       /* 0 before the first request and after facet_refiner_stop */
    int rendering;           /* the worker is inside refine() or accumulate() */
    int max_passes;          /* cap on a progressive view's sample passes (>= 1) */
    facet_display_image display;
    uint64_t display_serial;
    facet_refiner_info info;
    facet_view_applied applied; /* worker-only, like the strip buffers below */
    facet_ray *rays;            /* [capacity] */
    int *xy;                    /* [capacity][2] pixel of each ray */
    unsigned char *bytes;       /* [capacity][4] display pixels of each ray */
    float *linear;              /* [capacity][4] resolved linear RGBA of each pixel (progressive) */
    size_t capacity;
    /* progressive views (worker-only): the sum of every pixel's linear RGBA over `accum_passes`
     * passes, [accum_pixels][4] row-major; accum_passes 0 when the current view does not
     * accumulate */
    float *accum;
    size_t accum_pixels;
    int accum_passes;
    int progressive; /* the view being rendered accumulates (Monte Carlo, rgb, cap > 1) */
};

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int facet_view_state_equal(const facet_view_state *a, const facet_view_state *b) {
    if (memcmp(&a->camera, &b->camera, sizeof a->camera) != 0) return 0;
    if (a->object_count != b->object_count || a->exposure != b->exposure || a->mode != b->mode ||
        a->env_rotation_deg != b->env_rotation_deg || strcmp(a->env_path, b->env_path) != 0)
        return 0;
    if (a->mode == FACET_VIEW_DEPTH && a->depth_reference != b->depth_reference) return 0;
    const int spp = facet_pixel_filter_spp(&a->filter);
    if (spp != facet_pixel_filter_spp(&b->filter)) return 0;
    if (spp > 1 && (a->filter.type != b->filter.type ||
                    facet_pixel_filter_width(&a->filter) != facet_pixel_filter_width(&b->filter)))
        return 0;
    for (int k = 0; k < a->object_count; k++)
        if (a->kappa[k] != b->kappa[k]) return 0;
    return 1;
}

void facet_view_state_read_kappa(facet_view_state *state, const facet_scene *scene) {
    int k = 0;
    for (int n = 0; n < scene->node_count; n++)
        for (int o = 0; o < scene->nodes[n].object_count && k < FACET_VIEW_MAX_OBJECTS; o++)
            state->kappa[k++] = scene->nodes[n].kappa[o];
    state->object_count = k;
}

void facet_display_image_free(facet_display_image *image) {
    free(image->rgba);
    memset(image, 0, sizeof *image);
}

static facet_status display_resize(facet_display_image *image, int width, int height) {
    if (image->rgba && image->width == width && image->height == height) return FACET_OK;
    unsigned char *rgba = facet_alloc((size_t)width * height * 4, 1);
    if (!rgba) return facet_error_context("viewer image %dx%d", width, height);
    free(image->rgba);
    image->rgba = rgba;
    image->width = width;
    image->height = height;
    return FACET_OK;
}

void facet_view_applied_init(facet_view_applied *applied, const facet_scene *scene) {
    snprintf(applied->env_path, sizeof applied->env_path, "%s",
             scene->has_environment && scene->environment.path ? scene->environment.path : "");
    applied->env_rotation_deg = scene->has_environment ? scene->environment.rotation_deg : 0.0f;
}

facet_status facet_view_apply(facet_scene *scene, const facet_view_state *state,
                              facet_view_applied *applied) {
    int k = 0;
    for (int n = 0; n < scene->node_count; n++)
        for (int o = 0; o < scene->nodes[n].object_count && k < state->object_count; o++)
            scene->nodes[n].kappa[o] = state->kappa[k++];
    if (!state->env_path[0] && applied->env_path[0] && scene->has_environment &&
        scene->background_mode != FACET_BACKGROUND_ENVIRONMENT) {
        /* back to no map: lit by the background colour again */
        facet_envmap_free(&scene->environment);
        scene->has_environment = 0;
        applied->env_path[0] = '\0';
    }
    if (state->env_path[0] && strcmp(state->env_path, applied->env_path) != 0) {
        facet_status s = facet_scene_set_environment(
            scene, state->env_path, scene->environment.view.convention, state->env_rotation_deg,
            scene->has_environment ? scene->environment.view.strength : 1.0f);
        if (s != FACET_OK) return s;
        snprintf(applied->env_path, sizeof applied->env_path, "%s", state->env_path);
        applied->env_rotation_deg = state->env_rotation_deg;
    }
    if (scene->has_environment && state->env_rotation_deg != applied->env_rotation_deg) {
        facet_envmap_set_rotation(&scene->environment, state->env_rotation_deg);
        applied->env_rotation_deg = state->env_rotation_deg;
    }
    return FACET_OK;
}

/* Renders `count` pixels of `spp` rays each (pixel-major: ray p * spp + k is sample k of pixel p;
 * spp 1: one ray per pixel), combines each pixel's samples (facet_render_resolve) and converts them
 * to display pixels out[count * 4] in the state's mode (out NULL: none). linear (rgb mode, or
 * NULL) receives the combined linear RGBA, [count][4]. */
static facet_status render_pixels(const facet_scene *scene, const facet_view_state *state,
                                  const facet_ray *rays, int count, int spp, facet_device device,
                                  unsigned char *out, float *linear) {
    facet_image rgba = {0}, aux = {0}, depth = {0};
    facet_render_options options = {0};
    options.device = device;
    options.exposure = state->exposure;
    const int masks = state->mode == FACET_VIEW_MASKS && facet_scene_aux_channels(scene) > 0;
    if (masks) options.aux = &aux;
    if (state->mode == FACET_VIEW_DEPTH) options.depth = &depth;
    facet_status s = facet_render_rays(scene, rays, (int64_t)count * spp, &options, &rgba);
    if (s == FACET_OK) s = facet_render_resolve(spp, &rgba, options.aux, options.depth);
    if (s != FACET_OK) {
        facet_image_free(&rgba);
        facet_image_free(&aux);
        facet_image_free(&depth);
        return s;
    }
    if (linear) memcpy(linear, rgba.data, (size_t)count * 4 * sizeof *linear);
    /* masks: every node's channels in scene order; background classes are not tinted */
    unsigned char tinted[256];
    for (int n = 0, c = 0; masks && n < scene->node_count; n++)
        for (int k = 0; k < scene->nodes[n].aux_channels && c < 256; k++, c++)
            tinted[c] = strstr(scene->nodes[n].aux_names[k], "background") == NULL;
    for (int p = 0; out && p < count; p++) {
        unsigned char *px = out + (size_t)p * 4;
        if (state->mode == FACET_VIEW_DEPTH)
            facet_display_depth(depth.data[p], state->depth_reference, px);
        else if (masks)
            facet_display_masks(rgba.data + (size_t)p * 4, aux.data + (size_t)p * aux.channels,
                                tinted, aux.channels > 256 ? 256 : aux.channels, px);
        else
            facet_display_rgb(rgba.data + (size_t)p * 4, px);
    }
    facet_image_free(&rgba);
    facet_image_free(&aux);
    facet_image_free(&depth);
    return FACET_OK;
}

facet_status facet_view_render_full(facet_scene *scene, const facet_view_state *state,
                                    facet_device device, facet_display_image *image) {
    facet_view_applied applied;
    facet_view_applied_init(&applied, scene);
    facet_status s = facet_view_apply(scene, state, &applied);
    const facet_camera *cam = &state->camera;
    const int count = cam->width * cam->height, spp = facet_pixel_filter_spp(&state->filter);
    facet_ray *rays = NULL;
    if (s == FACET_OK) s = facet_pixel_filter_check(&state->filter);
    if (s == FACET_OK) s = display_resize(image, cam->width, cam->height);
    if (s == FACET_OK && !(rays = facet_alloc((size_t)count * spp, sizeof *rays)))
        s = facet_error_context("viewer frame %dx%d x %d samples", cam->width, cam->height, spp);
    for (int p = 0; s == FACET_OK && p < count; p++)
        for (int k = 0; k < spp; k++)
            rays[(size_t)p * spp + k] =
                facet_pixel_sample_ray(cam, &state->filter, p % cam->width, p / cam->width, k);
    if (s == FACET_OK) s = render_pixels(scene, state, rays, count, spp, device, image->rgba, NULL);
    free(rays);
    image->factor = 1;
    image->settled = s == FACET_OK;
    return s;
}

/* Pixel (x, y) belongs to level f (a power of two) when x and y are multiples of f, and is new
 * there unless it also belongs to level 2f and that level was rendered before (f < coarsest). */
static int new_at_level(int x, int y, int f, int coarsest) {
    return f == coarsest || (x % (2 * f)) != 0 || (y % (2 * f)) != 0;
}

/* Shows rendered pixels: each fills the f x f block whose top-left corner it is (clipped).
 * Caller holds the refiner lock. */
static void publish_pixels(facet_refiner *r, const int *xy, const unsigned char *bytes, int count,
                           int factor) {
    facet_display_image *d = &r->display;
    for (int p = 0; p < count; p++) {
        const int x0 = xy[2 * p], y0 = xy[2 * p + 1];
        for (int y = y0; y < y0 + factor && y < d->height; y++)
            for (int x = x0; x < x0 + factor && x < d->width; x++)
                memcpy(d->rgba + ((size_t)y * d->width + x) * 4, bytes + (size_t)p * 4, 4);
    }
    d->factor = factor;
    r->display_serial++;
}

/* The coarsest level: the smallest power of two f (<= 32) with (W/f)(H/f) rays in budget. */
static int coarsest_factor(const facet_camera *camera, double rays_per_second) {
    int f = 1;
    while (f < 32 && (double)camera->width * camera->height / ((double)f * f) >
                         rays_per_second * level_budget_seconds)
        f *= 2;
    return f;
}

/* 1 when a newer request (or quit) is waiting. */
static int superseded(facet_refiner *r, uint64_t serial) {
    pthread_mutex_lock(&r->lock);
    int stale = r->quit || r->request_serial != serial;
    pthread_mutex_unlock(&r->lock);
    return stale;
}

/* Grows the worker's strip buffers to `count` rays (a level's strip never holds more than a frame;
 * a supersampled strip holds at least one row's samples). */
static facet_status reserve_strip(facet_refiner *r, size_t count) {
    if (count <= r->capacity) return FACET_OK;
    free(r->rays);
    free(r->xy);
    free(r->bytes);
    free(r->linear);
    r->rays = facet_alloc(count, sizeof *r->rays);
    r->xy = facet_alloc(count * 2, sizeof *r->xy);
    r->bytes = facet_alloc(count * 4, 1);
    r->linear = facet_alloc(count * 4, sizeof *r->linear);
    r->capacity = r->rays && r->xy && r->bytes && r->linear ? count : 0;
    return r->capacity ? FACET_OK : facet_error_context("viewer strip of %zu rays", count);
}

/* The worker-only sums of a progressive view, for `pixels` pixels. */
static facet_status reserve_accum(facet_refiner *r, size_t pixels) {
    if (pixels <= r->accum_pixels) return FACET_OK;
    free(r->accum);
    r->accum = facet_alloc(pixels * 4, sizeof *r->accum);
    r->accum_pixels = r->accum ? pixels : 0;
    return r->accum ? FACET_OK : facet_error_context("viewer pass sums of %zu pixels", pixels);
}

/* Pass 0 of a progressive view: the strip's pixels (r->xy) take their linear RGBA (r->linear) as
 * their sums, in a frame `width` pixels wide. */
static void accum_store(facet_refiner *r, int width, int count) {
    for (int p = 0; p < count; p++) {
        const size_t pixel = (size_t)r->xy[2 * p + 1] * width + r->xy[2 * p];
        memcpy(r->accum + pixel * 4, r->linear + (size_t)p * 4, 4 * sizeof *r->accum);
    }
}

/* Pass `pass` (>= 1): adds the strip's linear RGBA to its pixels' sums and converts their means
 * over passes 0 .. pass (sum in pass order, then divided: facet_sample_mean) to display pixels
 * r->bytes. */
static void accum_add(facet_refiner *r, int width, int count, int pass) {
    for (int p = 0; p < count; p++) {
        float *sum = r->accum + ((size_t)r->xy[2 * p + 1] * width + r->xy[2 * p]) * 4;
        facet_sample_add(sum, r->linear + (size_t)p * 4, 4);
        float mean[4];
        memcpy(mean, sum, sizeof mean);
        facet_sample_mean(mean, 4, pass + 1);
        facet_display_rgb(mean, r->bytes + (size_t)p * 4);
    }
}

/* Sets the scene's random stream (scene.sample_pass) where the worker owns the scene. */
static void set_sample_pass(facet_refiner *r, int pass) {
    pthread_mutex_lock(r->scene_lock);
    r->scene->sample_pass = (unsigned)pass;
    pthread_mutex_unlock(r->scene_lock);
}

/* Whole rows from row y on for a strip of `spp` rays per pixel: about strip_budget_seconds of rays
 * at `rate` rays/s, and enough rays for every render thread. */
static int strip_rows(double rate, int y, int width, int height, int spp) {
    const int min_rays = 512 * facet_thread_count();
    const double wanted = rate * strip_budget_seconds;
    int rows = 1;
    while (y + rows < height && (double)(rows + 1) * width * spp <= wanted) rows++;
    while (y + rows < height && (double)rows * width * spp < min_rays) rows++;
    return rows;
}

/* The rays of rows [y, y + rows): each pixel's spp filter samples, pixel-major (spp 1: the centre's
 * ray, bit for bit facet_camera_ray), into r->rays, the pixels into r->xy; returns the pixel
 * count. The strip buffers hold them (reserve_strip). */
static int fill_rows(facet_refiner *r, const facet_view_state *state, int y, int rows) {
    const facet_camera *cam = &state->camera;
    const int width = cam->width, count = rows * width,
              spp = facet_pixel_filter_spp(&state->filter);
    for (int p = 0; p < count; p++) {
        const int x = p % width, row = y + p / width;
        for (int k = 0; k < spp; k++)
            r->rays[(size_t)p * spp + k] = facet_pixel_sample_ray(cam, &state->filter, x, row, k);
        r->xy[2 * p] = x, r->xy[2 * p + 1] = row;
    }
    return count;
}

/* A full-resolution pass in strips of whole rows, each pixel's spp filter samples, published at
 * level 1. pass 0: the last pass of a supersampled request (the pixels' means replace the level-1
 * pixels; a progressive view keeps them as its sums). pass k >= 1: progressive pass k on the
 * scene's sample_pass k (the pixels show their means over passes 0 .. k). Clears *finished when a
 * newer request supersedes it; *rate tracks rays/s. */
static facet_status frame_pass(facet_refiner *r, const facet_view_state *state, uint64_t serial,
                               int pass, double *rate, int *finished) {
    const int width = state->camera.width, height = state->camera.height,
              spp = facet_pixel_filter_spp(&state->filter);
    facet_status s = facet_pixel_filter_check(&state->filter);
    for (int y = 0; y < height && s == FACET_OK;) {
        if (superseded(r, serial)) {
            *finished = 0;
            break;
        }
        const int rows = strip_rows(*rate, y, width, height, spp);
        if ((s = reserve_strip(r, (size_t)rows * width * spp)) != FACET_OK) break;
        const int count = fill_rows(r, state, y, rows);
        const double t0 = now_seconds();
        s = render_pixels(r->scene, state, r->rays, count, spp, r->device,
                          pass == 0 ? r->bytes : NULL, r->progressive ? r->linear : NULL);
        if (s != FACET_OK) break;
        const double dt = now_seconds() - t0;
        if (dt > 1e-4) *rate = 0.5 * *rate + 0.5 * (double)count * spp / dt;
        if (pass == 0 && r->progressive) accum_store(r, width, count);
        if (pass > 0) accum_add(r, width, count, pass);
        pthread_mutex_lock(&r->lock);
        r->info.rays_per_second = *rate;
        publish_pixels(r, r->xy, r->bytes, count, 1);
        pthread_mutex_unlock(&r->lock);
        y += rows;
    }
    return s;
}

/* Renders one request through all levels (sample pass 0); returns 0 when cancelled, 1 when done
 * or failed. A progressive view leaves its pass-0 sums in r->accum (r->accum_passes 1). */
static int refine(facet_refiner *r, const facet_view_state *state, uint64_t serial) {
    facet_status s;
    pthread_mutex_lock(r->scene_lock);
    r->scene->sample_pass = 0;
    s = facet_view_apply(r->scene, state, &r->applied);
    const int monte_carlo = state->mode == FACET_VIEW_RGB && facet_scene_monte_carlo(r->scene);
    pthread_mutex_unlock(r->scene_lock);
    int finished = 1;
    double rate = 0;
    pthread_mutex_lock(&r->lock);
    rate = r->info.rays_per_second > 0 ? r->info.rays_per_second : 20000.0;
    r->progressive = monte_carlo && r->max_passes > 1;
    if (s == FACET_OK) s = display_resize(&r->display, state->camera.width, state->camera.height);
    if (s == FACET_OK) r->display.settled = 0, r->display.passes = 0;
    pthread_mutex_unlock(&r->lock);
    r->accum_passes = 0;
    const double start = now_seconds();
    const facet_camera *cam = &state->camera;
    const int width = cam->width, height = cam->height;
    /* enough rays per strip for every render thread (facet_render_rays batches 256) */
    const int min_rays = 512 * facet_thread_count();
    const int coarsest = coarsest_factor(cam, rate);
    if (s == FACET_OK) s = reserve_strip(r, (size_t)width * height);
    if (s == FACET_OK && r->progressive) s = reserve_accum(r, (size_t)width * height);
    facet_ray *rays = r->rays;
    int *xy = r->xy;
    for (int f = coarsest; s == FACET_OK && finished && f >= 1; f /= 2) {
        pthread_mutex_lock(&r->lock);
        r->info.factor = f;
        pthread_mutex_unlock(&r->lock);
        for (int y = 0; y < height && s == FACET_OK;) {
            if (superseded(r, serial)) {
                finished = 0;
                break;
            }
            /* level rows from y on until the strip holds about strip_budget_seconds of rays */
            const double wanted = rate * strip_budget_seconds;
            int count = 0;
            for (; y < height && (count < min_rays || count < wanted); y += f)
                for (int x = 0; x < width; x += f)
                    if (new_at_level(x, y, f, coarsest)) {
                        rays[count] = facet_camera_ray(cam, x, y);
                        xy[2 * count] = x, xy[2 * count + 1] = y;
                        count++;
                    }
            if (count == 0) continue;
            const double t0 = now_seconds();
            s = render_pixels(r->scene, state, rays, count, 1, r->device, r->bytes,
                              r->progressive ? r->linear : NULL);
            if (s != FACET_OK) break;
            const double dt = now_seconds() - t0;
            if (dt > 1e-4) rate = 0.5 * rate + 0.5 * (double)count / dt;
            if (r->progressive) accum_store(r, width, count);
            pthread_mutex_lock(&r->lock);
            r->info.rays_per_second = rate;
            publish_pixels(r, xy, r->bytes, count, f);
            pthread_mutex_unlock(&r->lock);
        }
    }
    const int spp = facet_pixel_filter_spp(&state->filter);
    if (s == FACET_OK && finished && spp > 1) s = frame_pass(r, state, serial, 0, &rate, &finished);
    pthread_mutex_lock(&r->lock);
    if (s != FACET_OK) {
        snprintf(r->info.error, sizeof r->info.error, "%s", facet_last_error());
    } else if (finished) {
        r->info.error[0] = '\0';
        r->info.last_full_seconds = now_seconds() - start;
        r->display.settled = 1;
        r->display.passes = r->info.passes = monte_carlo ? 1 : 0;
        r->display_serial++;
        r->accum_passes = r->progressive ? 1 : 0;
    }
    pthread_mutex_unlock(&r->lock);
    return finished || s != FACET_OK;
}

/* After a progressive request settles: passes accum_passes, accum_passes + 1, ... up to the cap,
 * each a frame_pass on its own random stream, until a newer request (or quit) supersedes them.
 * Leaves the scene on sample pass 0. */
static void accumulate(facet_refiner *r, const facet_view_state *state, uint64_t serial) {
    pthread_mutex_lock(&r->lock);
    double rate = r->info.rays_per_second > 0 ? r->info.rays_per_second : 20000.0;
    pthread_mutex_unlock(&r->lock);
    facet_status s = FACET_OK;
    int finished = 1;
    for (int pass = r->accum_passes; s == FACET_OK && finished; pass++) {
        pthread_mutex_lock(&r->lock);
        const int more = pass < r->max_passes && !r->quit && r->request_serial == serial;
        pthread_mutex_unlock(&r->lock);
        if (!more) break;
        set_sample_pass(r, pass);
        s = frame_pass(r, state, serial, pass, &rate, &finished);
        if (s != FACET_OK || !finished) break;
        r->accum_passes = pass + 1;
        pthread_mutex_lock(&r->lock);
        if (r->request_serial == serial) {
            r->display.passes = r->info.passes = pass + 1;
            r->display_serial++;
        }
        pthread_cond_broadcast(&r->settled_cond); /* facet_refiner_wait_passes */
        pthread_mutex_unlock(&r->lock);
    }
    set_sample_pass(r, 0);
    pthread_mutex_lock(&r->lock);
    if (r->request_serial == serial) {
        r->info.accumulating = 0;
        if (s != FACET_OK) snprintf(r->info.error, sizeof r->info.error, "%s", facet_last_error());
    }
    pthread_mutex_unlock(&r->lock);
}

static void *worker(void *arg) {
    facet_refiner *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (!r->quit && r->done_serial == r->request_serial)
            pthread_cond_wait(&r->wake, &r->lock);
        if (r->quit) break;
        facet_view_state state = r->request;
        const uint64_t serial = r->request_serial;
        r->info.busy = 1;
        r->rendering = 1;
        pthread_mutex_unlock(&r->lock);
        const int done = refine(r, &state, serial);
        pthread_mutex_lock(&r->lock);
        const int current = r->request_serial == serial;
        if (done && current) {
            r->done_serial = serial;
            r->info.busy = 0;
        }
        /* settled: scripts and waiters go on while a progressive view keeps refining */
        const int more = done && current && !r->quit && r->accum_passes > 0;
        if (current) r->info.accumulating = more;
        pthread_cond_broadcast(&r->settled_cond);
        if (more) {
            pthread_mutex_unlock(&r->lock);
            accumulate(r, &state, serial);
            pthread_mutex_lock(&r->lock);
        }
        r->rendering = 0;
        pthread_cond_broadcast(&r->settled_cond); /* also wakes facet_refiner_stop */
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

facet_status facet_refiner_create(facet_refiner **out, facet_scene *scene,
                                  pthread_mutex_t *scene_lock, facet_device device) {
    *out = NULL;
    facet_refiner *r = facet_alloc_zeroed(1, sizeof *r);
    if (!r) return facet_error_context("viewer refiner");
    r->scene = scene;
    r->scene_lock = scene_lock;
    r->device = device;
    r->max_passes = r->info.max_passes = FACET_REFINER_MAX_PASSES;
    facet_view_applied_init(&r->applied, scene);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    pthread_cond_init(&r->settled_cond, NULL);
    if (pthread_create(&r->thread, NULL, worker, r) != 0) {
        pthread_cond_destroy(&r->wake);
        pthread_cond_destroy(&r->settled_cond);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return facet_fail(FACET_ERR_IO, "viewer: could not start the render thread");
    }
    *out = r;
    return FACET_OK;
}

void facet_refiner_destroy(facet_refiner *r) {
    if (!r) return;
    pthread_mutex_lock(&r->lock);
    r->quit = 1;
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->wake);
    pthread_cond_destroy(&r->settled_cond);
    pthread_mutex_destroy(&r->lock);
    facet_display_image_free(&r->display);
    free(r->rays);
    free(r->xy);
    free(r->bytes);
    free(r->linear);
    free(r->accum);
    free(r);
}

void facet_refiner_request(facet_refiner *r, const facet_view_state *state) {
    pthread_mutex_lock(&r->lock);
    if (!r->request_valid || !facet_view_state_equal(&r->request, state)) {
        r->request = *state;
        r->request_valid = 1;
        r->request_serial++;
        r->info.busy = 1;
        r->info.passes = 0; /* a new view starts again at pass 0 */
        r->info.accumulating = 0;
        pthread_cond_broadcast(&r->wake);
    }
    pthread_mutex_unlock(&r->lock);
}

void facet_refiner_stop(facet_refiner *r) {
    pthread_mutex_lock(&r->lock);
    r->request_serial++; /* supersedes the job in progress */
    r->done_serial = r->request_serial;
    r->request_valid = 0;
    while (r->rendering) pthread_cond_wait(&r->settled_cond, &r->lock);
    r->info.busy = 0;
    r->info.accumulating = 0;
    pthread_mutex_unlock(&r->lock);
}

void facet_refiner_set_max_passes(facet_refiner *r, int max_passes) {
    if (max_passes < 1) max_passes = 1;
    if (max_passes > FACET_REFINER_PASS_LIMIT) max_passes = FACET_REFINER_PASS_LIMIT;
    pthread_mutex_lock(&r->lock);
    r->max_passes = r->info.max_passes = max_passes;
    pthread_mutex_unlock(&r->lock);
}

int facet_refiner_fetch(facet_refiner *r, uint64_t *serial, facet_display_image *image) {
    int changed = 0;
    pthread_mutex_lock(&r->lock);
    if (r->display.rgba && r->display_serial != *serial &&
        display_resize(image, r->display.width, r->display.height) == FACET_OK) {
        memcpy(image->rgba, r->display.rgba, (size_t)image->width * image->height * 4);
        image->factor = r->display.factor;
        image->settled = r->display.settled && r->done_serial == r->request_serial;
        image->passes = r->display.passes;
        *serial = r->display_serial;
        changed = 1;
    }
    pthread_mutex_unlock(&r->lock);
    return changed;
}

void facet_refiner_get_info(facet_refiner *r, facet_refiner_info *info) {
    pthread_mutex_lock(&r->lock);
    *info = r->info;
    pthread_mutex_unlock(&r->lock);
}

/* CLOCK_REALTIME `seconds` from now, for pthread_cond_timedwait. */
static struct timespec deadline_after(double seconds) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    double end = (double)deadline.tv_sec + 1e-9 * deadline.tv_nsec + seconds;
    deadline.tv_sec = (time_t)end;
    deadline.tv_nsec = (long)((end - floor(end)) * 1e9);
    return deadline;
}

int facet_refiner_wait(facet_refiner *r, double timeout_seconds) {
    const struct timespec deadline = deadline_after(timeout_seconds);
    pthread_mutex_lock(&r->lock);
    int ok = 1;
    while (r->request_serial == 0 || r->done_serial != r->request_serial)
        if (pthread_cond_timedwait(&r->settled_cond, &r->lock, &deadline) != 0) {
            ok = r->request_serial != 0 && r->done_serial == r->request_serial;
            break;
        }
    pthread_mutex_unlock(&r->lock);
    return ok;
}

int facet_refiner_wait_passes(facet_refiner *r, int passes, double timeout_seconds) {
    const struct timespec deadline = deadline_after(timeout_seconds);
    pthread_mutex_lock(&r->lock);
    int ok = 0, timed_out = 0;
    for (;;) {
        const int settled = r->request_serial != 0 && r->done_serial == r->request_serial;
        ok = settled && r->display.passes >= passes;
        /* there, or it will not get there */
        if (ok || (settled && !r->info.accumulating) || timed_out) break;
        timed_out = pthread_cond_timedwait(&r->settled_cond, &r->lock, &deadline) != 0;
    }
    pthread_mutex_unlock(&r->lock);
    return ok;
}
