#include "lighting.h"
#include "lighting_cache.h"

#include "dfg_lut.h"

#include "core/alloc.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int log2_int(int n) {
    int l = 0;
    while ((1 << l) < n) l++;
    return l;
}

/* The quality ladder: roughness 0 (the mirror) to 1, 0.025 apart up to 0.3 where neighbouring
 * levels differ fastest, then wider. Measured on Blender's interior.exr against the exact filter,
 * interpolating halfway between neighbours costs at most about 1% (rms over directions). */
static const float quality_ladder[] = {0.0f,  0.05f,  0.075f, 0.1f,   0.125f, 0.15f, 0.175f,
                                       0.2f,  0.225f, 0.25f,  0.275f, 0.3f,   0.35f, 0.4f,
                                       0.45f, 0.5f,   0.6f,   0.7f,   0.8f,   0.9f,  1.0f};

static int pow2_at_least(double x) {
    int n = 1;
    while (n < x && n < (1 << 20)) n <<= 1;
    return n;
}

int facet_lighting_quality_levels(int base, float *roughness, int *sizes) {
    const int count = (int)(sizeof quality_ladder / sizeof quality_ladder[0]);
    for (int i = 0; i < count; i++) {
        double r = quality_ladder[i], alpha = r * r;
        /* the mirror at the base size, filtered levels at most half of it */
        int n = r > 0.0 ? pow2_at_least(2.0 / alpha) : base, cap = r > 0.0 ? base / 2 : base;
        roughness[i] = quality_ladder[i];
        sizes[i] = n > cap                           ? cap
                   : n < FACET_LIGHTING_DIFFUSE_SIZE ? FACET_LIGHTING_DIFFUSE_SIZE
                                                     : n;
    }
    return count;
}

/* The chain level (0: face size `base`) whose texels are about `texel_angle` radians across: face
 * size the power of two nearest (pi / 2) / texel_angle in log2 (coarser: the power of two at or
 * below it, texels up to twice as wide), at most `base`. */
static int ring_level(int base, double texel_angle, int coarser) {
    double faces = 1.5707963267948966 / texel_angle;
    double log2_exact = faces > 1.0 ? log2(faces) : 0.0;
    int log2_faces = (int)(coarser ? floor(log2_exact) : lround(log2_exact));
    int base_log2 = log2_int(base);
    return log2_faces >= base_log2 ? 0 : base_log2 - log2_faces;
}

/* The ring plan's shape. The core reaches 4 alpha from R (in l; D at h = 2 alpha has fallen to
 * 4% of its peak) at texels alpha / 3 across; the rings beyond double their radius each, read
 * at texels a third of their inner radius, from the third ring on (16 alpha out, D below 0.4% of
 * its peak) rounded to the coarser level. Against a 6 alpha core at alpha / 4 and nearest levels
 * throughout, this builds interior.exr's 512^2 ladder in 10 s instead of 21 s on two cores, and
 * its renders of the 48 Cycles cases stay as close to the exact split-sum (within 0.05 dB of
 * the same PSNR against it, 38-70 dB, at 64 spp); coarser rings from the second ring on would
 * save another second at up to 5 dB of that. */
static const double core_radius = 4.0, core_texel = 3.0, ring_texel = 3.0;
static const int coarse_from_ring = 3;

void facet_lighting_quality_plan(float roughness, int base, facet_prefilter_level *p) {
    const double half_pi = 1.5707963267948966;
    const double alpha = (double)roughness * roughness;
    p->alpha2 = (float)(alpha * alpha);
    p->ring_count = 0;
    if (roughness <= 0.0f) return; /* the mirror: the base level itself */
    double inner = 0.0, outer = fmin(core_radius * alpha, half_pi);
    int level = ring_level(base, fmin(alpha / core_texel, half_pi / 32.0), 0);
    while (p->ring_count < FACET_PREFILTER_MAX_RINGS) {
        facet_prefilter_ring *ring = &p->rings[p->ring_count++];
        ring->cos_inner = inner > 0.0 ? (float)cos(inner) : 2.0f;
        ring->cos_outer = outer < half_pi ? (float)cos(outer) : 0.0f;
        ring->sin_outer = outer < half_pi ? (float)sin(outer) : 2.0f;
        ring->min_rc = facet_ring_min_rc(ring->sin_outer);
        ring->level = level;
        if (outer >= half_pi) break;
        inner = outer;
        outer = fmin(2.0 * inner, half_pi);
        level = ring_level(base, inner / ring_texel, p->ring_count >= coarse_from_ring);
    }
}

float facet_lighting_blur_compensated_alpha2(float alpha2, int level_size, int core_size) {
    if (alpha2 <= 0.0f || level_size <= 0) return alpha2;
    /* mean texel width (rad) of an n x n face: sqrt(4 pi / 6) / n */
    const double mean_texel = 1.4472025091165353;
    const double h_out = mean_texel / level_size;
    const double h_core = core_size > 0 ? mean_texel / core_size : 0.0;
    const double a2 = alpha2, blur = h_out * h_out / 6.0 + h_core * h_core / 12.0;
    /* a level whose texels are wider than its lobe (r < 0.1 at 256^2) cannot be sharpened */
    if (h_out * h_out > a2) return alpha2;
    return (float)(a2 - blur);
}

float facet_lighting_level_roughness(int level, int levels) {
    if (level >= levels - 1) return 1.0f;
    return 0.08f + (0.5f - 0.08f) * (float)level / (float)(levels - 2);
}

static facet_status normalize_options(const facet_lighting_options *in,
                                      facet_lighting_options *out) {
    static const facet_lighting_options defaults = {0};
    *out = in ? *in : defaults;
    if (out->size == 0) out->size = FACET_LIGHTING_DEFAULT_SIZE;
    /* at least three levels: the roughness of level i divides by (levels - 2) */
    if (out->size < 64 || out->size > 4096 || (out->size & (out->size - 1)) != 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "environment lighting: cube face size %d is not a power of two in "
                          "[64, 4096]",
                          out->size);
    if (out->samples == 0) out->samples = FACET_LIGHTING_DEFAULT_SAMPLES;
    if (out->samples < 1 || out->samples > 65536)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "environment lighting: %d samples per texel is outside [1, 65536]",
                          out->samples);
    if (out->filter != FACET_QUALITY_SAMPLED && out->filter != FACET_QUALITY_EXACT)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "environment lighting: unknown filter %d",
                          (int)out->filter);
    if (out->mode != FACET_PREFILTER_QUALITY && out->mode != FACET_PREFILTER_PARITY)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "environment lighting: unknown mode %d",
                          (int)out->mode);
    return FACET_OK;
}

/* Allocates the specular levels and the irradiance cube for normalised options. */
static facet_status alloc_lighting(facet_lighting *out, const facet_lighting_options *options) {
    memset(out, 0, sizeof *out);
    out->options = *options;
    float roughness[FACET_CUBE_MAX_LEVELS];
    int sizes[FACET_CUBE_MAX_LEVELS], levels;
    out->view.ladder =
        options->mode == FACET_PREFILTER_QUALITY && options->filter == FACET_QUALITY_EXACT;
    if (out->view.ladder) {
        levels = facet_lighting_quality_levels(options->size, roughness, sizes);
    } else {
        levels = log2_int(options->size / FACET_LIGHTING_DIFFUSE_SIZE) + 1;
        for (int i = 0; i < levels; i++) {
            roughness[i] = facet_lighting_level_roughness(i, levels);
            sizes[i] = options->size >> i;
        }
    }
    for (int i = 0; i < levels; i++) out->view.level_roughness[i] = roughness[i];
    facet_status s = facet_cube_alloc_sizes(&out->specular, sizes, levels);
    if (s != FACET_OK) return s;
    const int diffuse_size = options->mode == FACET_PREFILTER_PARITY
                                 ? FACET_LIGHTING_DIFFUSE_SIZE
                                 : FACET_LIGHTING_QUALITY_DIFFUSE_SIZE;
    out->diffuse = facet_alloc(facet_cube_level_floats(diffuse_size), sizeof(float));
    if (!out->diffuse) {
        facet_lighting_free(out);
        return facet_last_status();
    }
    out->view.specular = out->specular.view;
    out->view.diffuse = out->diffuse;
    out->view.diffuse_size = diffuse_size;
    out->view.dfg = facet_dfg_lut();
    static unsigned long long next_serial;
#pragma omp atomic capture
    out->serial = ++next_serial;
    return FACET_OK;
}

void facet_lighting_level_setup(const facet_lighting *lighting, int i, facet_prefilter_level *p) {
    const float r = lighting->view.level_roughness[i];
    memset(p, 0, sizeof *p);
    p->mode = lighting->options.mode;
    p->size = lighting->specular.sizes[i];
    p->alpha2 = r * r * r * r;
    if (lighting->view.ladder) {
        facet_lighting_quality_plan(r, lighting->options.size, p);
        p->alpha2 = facet_lighting_blur_compensated_alpha2(
            p->alpha2, p->size,
            p->ring_count > 0 ? lighting->options.size >> p->rings[0].level : 0);
    }
    if (p->mode == FACET_PREFILTER_PARITY) p->cos_cutoff = facet_ggx_cone_cutoff(r, 0.99);
}

facet_irradiance_source facet_lighting_irradiance_source(const facet_lighting *lighting,
                                                         const facet_cube_view *chain) {
    facet_irradiance_source s = {0};
    s.official = lighting->options.mode == FACET_PREFILTER_PARITY;
    s.size = s.official ? FACET_LIGHTING_DIFFUSE_SIZE : FACET_LIGHTING_QUALITY_DIFFUSE_SOURCE;
    s.level = chain->level[log2_int(lighting->options.size / s.size)];
    return s;
}

static facet_status prefilter_cpu(const facet_cube *chain, facet_lighting *out) {
    const int size = out->options.size, levels = out->specular.levels;
    facet_irradiance_source irradiance = facet_lighting_irradiance_source(out, &chain->view);
    const int dm = irradiance.size;
    float *area = facet_alloc((size_t)(size > dm * dm ? size : dm * dm), sizeof *area);
    float *table = facet_alloc((size_t)(out->options.samples + 1) * 5, sizeof *table);
    if (!area || !table) {
        free(area);
        free(table);
        return facet_last_status();
    }
    facet_cube_texel_weights(dm, !irradiance.official, area);
    irradiance.weight = area;
    facet_irradiance_cpu(&irradiance, out->view.diffuse_size, out->diffuse);
    for (int i = 0; i < levels; i++) {
        facet_prefilter_level p;
        facet_lighting_level_setup(out, i, &p);
        if (p.mode == FACET_PREFILTER_PARITY) {
            facet_cube_area_table(p.size, area);
            p.source = chain->level[i];
            p.area = area;
        } else {
            p.chain = chain->view;
            if (!out->view.ladder) {
                p.table = table;
                p.samples =
                    facet_prefilter_sample_table(p.alpha2, out->options.samples, size, table);
            }
        }
        facet_prefilter_level_cpu(&p, out->specular.level[i]);
    }
    free(area);
    free(table);
    return FACET_OK;
}

static facet_status build_now(facet_lighting *out, const facet_envmap_view *env,
                              const facet_lighting_options *options, facet_device device) {
    facet_lighting_options opts;
    facet_status s = normalize_options(options, &opts);
    if (s != FACET_OK) return s;
    if (!env->rgb || env->width < 1 || env->height < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "environment lighting: empty map");
    s = alloc_lighting(out, &opts);
    if (s != FACET_OK) return s;
    facet_cube chain;
    s = facet_cube_alloc(&chain, opts.size, log2_int(opts.size) + 1);
    if (s == FACET_OK) {
        s = facet_cube_from_envmap(&chain, env, opts.mode == FACET_PREFILTER_PARITY);
        if (s == FACET_OK)
            s = device == FACET_DEVICE_CUDA ? facet_lighting_prefilter_cuda(&chain, out)
                                            : prefilter_cpu(&chain, out);
        facet_cube_free(&chain);
    }
    if (s != FACET_OK) facet_lighting_free(out);
    return s;
}

typedef struct build_job {
    facet_lighting *out;
    const facet_envmap_view *env;
    const facet_lighting_options *options;
    facet_device device;
    facet_status status;
    char message[2048];
} build_job;

static void *build_thread(void *arg) {
    build_job *job = arg;
    job->status = build_now(job->out, job->env, job->options, job->device);
    if (job->status != FACET_OK)
        snprintf(job->message, sizeof job->message, "%s", facet_last_error());
    return NULL;
}

facet_status facet_lighting_build(facet_lighting *out, const facet_envmap_view *env,
                                  const facet_lighting_options *options, facet_device device) {
    if (!omp_in_parallel()) return build_now(out, env, options, device);
    /* Called from a renderer's parallel region (a node's first render): nested OpenMP loops would
     * run on one thread, so build on a fresh thread, whose loops get a full team while the
     * render threads wait for the lighting. */
    build_job job = {out, env, options, device, FACET_OK, ""};
    pthread_t thread;
    if (pthread_create(&thread, NULL, build_thread, &job) != 0)
        return build_now(out, env, options, device);
    pthread_join(thread, NULL);
    if (job.status != FACET_OK) return facet_fail(job.status, "%s", job.message);
    return FACET_OK;
}

facet_status facet_lighting_build_uniform(facet_lighting *out, const float rgb[3],
                                          const facet_lighting_options *options) {
    facet_lighting_options opts;
    facet_status s = normalize_options(options, &opts);
    if (s == FACET_OK) s = alloc_lighting(out, &opts);
    if (s != FACET_OK) return s;
    for (int l = 0; l <= out->specular.levels; l++) {
        float *level = l < out->specular.levels ? out->specular.level[l] : out->diffuse;
        size_t count = facet_cube_level_floats(l < out->specular.levels ? out->specular.sizes[l]
                                                                        : out->view.diffuse_size);
        for (size_t i = 0; i < count; i++) level[i] = rgb[i % 3];
    }
    return FACET_OK;
}

void facet_lighting_free(facet_lighting *lighting) {
    facet_cube_free(&lighting->specular);
    free(lighting->diffuse);
    memset(lighting, 0, sizeof *lighting);
}

/* ---- the process-wide cache -------------------------------------------------------------- */

typedef struct lighting_key {
    int uniform;
    float color[3];
    const char *path; /* borrowed while comparing; owned (copied) inside cache entries */
    int width, height, convention;
    float strength; /* not the rotation: lookups apply it (facet_lighting_turn) */
    uint64_t fingerprint;
    facet_lighting_options options;
} lighting_key;

/* The lighting comes first so that a facet_lighting pointer is its entry's address. */
typedef struct cache_entry {
    facet_lighting lighting;
    lighting_key key;
    int references;
    struct cache_entry *next;
} cache_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry *cache_head;

static void make_key(const facet_scene *scene, const facet_lighting_options *options,
                     lighting_key *key) {
    memset(key, 0, sizeof *key);
    key->options = *options;
    if (!scene->has_environment) {
        key->uniform = 1;
        memcpy(key->color, scene->background, sizeof key->color);
        return;
    }
    const facet_envmap_view *env = &scene->environment.view;
    key->path = scene->environment.path ? scene->environment.path : "";
    key->width = env->width;
    key->height = env->height;
    key->convention = (int)env->convention;
    key->strength = env->strength;
    key->fingerprint = facet_envmap_fingerprint(env);
}

static int same_key(const lighting_key *a, const lighting_key *b) {
    if (a->uniform != b->uniform || a->options.mode != b->options.mode ||
        a->options.size != b->options.size || a->options.samples != b->options.samples ||
        a->options.filter != b->options.filter)
        return 0;
    if (a->uniform) return !memcmp(a->color, b->color, sizeof a->color);
    return !strcmp(a->path, b->path) && a->width == b->width && a->height == b->height &&
           a->convention == b->convention && a->strength == b->strength &&
           a->fingerprint == b->fingerprint;
}

/* Called with cache_lock held. */
static void release_locked(facet_lighting *lighting) {
    cache_entry *entry = (cache_entry *)lighting;
    if (--entry->references > 0) return;
    for (cache_entry **p = &cache_head; *p; p = &(*p)->next)
        if (*p == entry) {
            *p = entry->next;
            break;
        }
    facet_lighting_free(&entry->lighting);
    free((char *)entry->key.path);
    free(entry);
}

/* The build in progress, for facet_lighting_building (builds run one at a time, under
 * cache_lock; this lock is separate so that a reader never waits for a build). */
static pthread_mutex_t building_lock = PTHREAD_MUTEX_INITIALIZER;
static char building_path[1024];
static int building;

static void set_building(const char *path) {
    pthread_mutex_lock(&building_lock);
    building = path != NULL;
    snprintf(building_path, sizeof building_path, "%s", path ? path : "");
    pthread_mutex_unlock(&building_lock);
}

int facet_lighting_building(char *path, size_t size) {
    pthread_mutex_lock(&building_lock);
    const int now = building;
    if (size) snprintf(path, size, "%s", building_path);
    pthread_mutex_unlock(&building_lock);
    return now;
}

/* facet_lighting_build through the on-disk cache (lighting_cache.h) for normalised options: read
 * when this build has written the same key before, else built and written. A cache that cannot
 * be written is reported once per process as a warning; the lighting is used all the same. */
static facet_status build_cached(facet_lighting *out, const facet_envmap_view *env,
                                 const facet_lighting_options *options, facet_device device,
                                 const char *env_path) {
    char *dir = facet_lighting_cache_dir(), key[65];
    const int cached = dir && facet_lighting_cache_key(env, options, device, key);
    if (cached && alloc_lighting(out, options) == FACET_OK) {
        if (facet_lighting_cache_read(dir, key, out)) {
            free(dir);
            return FACET_OK;
        }
        facet_lighting_free(out);
    }
    facet_clear_error();
    set_building(env_path);
    facet_status s = facet_lighting_build(out, env, options, device);
    set_building(NULL);
    if (s == FACET_OK && cached && facet_lighting_cache_write(dir, key, out) != FACET_OK) {
        static int warned;
        int first;
#pragma omp atomic capture
        first = warned++;
        if (!first)
            facet_warn("lighting cache: %s; '%s' will be prefiltered again next time (set "
                       "FACET_CACHE_DIR to a writable folder, or to off)",
                       facet_last_error(), env_path);
        facet_clear_error();
    }
    free(dir);
    return s;
}

/* Called with cache_lock held: the entry for `key`, built if absent, with one more reference. */
static facet_status acquire_locked(const lighting_key *key, const facet_scene *scene,
                                   facet_device device, cache_entry **out) {
    for (cache_entry *e = cache_head; e; e = e->next)
        if (same_key(&e->key, key)) {
            e->references++;
            *out = e;
            return FACET_OK;
        }
    cache_entry *entry = facet_alloc_zeroed(1, sizeof *entry);
    if (!entry) return facet_last_status();
    entry->key = *key;
    if (!key->uniform && !(entry->key.path = facet_strdup(key->path))) {
        free(entry);
        return facet_last_status();
    }
    /* built from the map unturned: every rotation shares it */
    facet_envmap_view unturned = scene->environment.view;
    unturned.rotation_cos = 1.0f;
    unturned.rotation_sin = 0.0f;
    facet_status s =
        key->uniform ? facet_lighting_build_uniform(&entry->lighting, key->color, &key->options)
                     : build_cached(&entry->lighting, &unturned, &key->options, device, key->path);
    if (s != FACET_OK) {
        free((char *)entry->key.path);
        free(entry);
        return key->uniform ? s : facet_error_context("environment lighting for '%s'", key->path);
    }
    entry->references = 1;
    entry->next = cache_head;
    cache_head = entry;
    *out = entry;
    return FACET_OK;
}

facet_status facet_lighting_sync(facet_lighting **current, const facet_scene *scene,
                                 const facet_lighting_options *options, facet_device device) {
    facet_lighting_options opts;
    facet_status s = normalize_options(options, &opts);
    if (s != FACET_OK) return s;
    lighting_key key;
    make_key(scene, &opts, &key);
    pthread_mutex_lock(&cache_lock);
    if (*current && same_key(&((cache_entry *)*current)->key, &key)) {
        pthread_mutex_unlock(&cache_lock);
        return FACET_OK;
    }
    cache_entry *entry = NULL;
    s = acquire_locked(&key, scene, device, &entry);
    if (s == FACET_OK) {
        if (*current) release_locked(*current);
        *current = &entry->lighting;
    }
    pthread_mutex_unlock(&cache_lock);
    return s;
}

void facet_lighting_release(facet_lighting *lighting) {
    if (!lighting) return;
    pthread_mutex_lock(&cache_lock);
    release_locked(lighting);
    pthread_mutex_unlock(&cache_lock);
}

facet_env_turn facet_lighting_turn(const facet_scene *scene) {
    facet_env_turn turn = {0};
    if (!scene->has_environment) return turn;
    const facet_envmap_view *env = &scene->environment.view;
    turn.convention = env->convention;
    turn.cos = env->rotation_cos;
    turn.sin = env->rotation_sin;
    turn.turned = !(turn.cos == 1.0f && turn.sin == 0.0f);
    return turn;
}

facet_status facet_lighting_sync_view(facet_lighting **current, pthread_mutex_t *lock,
                                      const facet_scene *scene,
                                      const facet_lighting_options *options,
                                      facet_lighting_view *view) {
    pthread_mutex_lock(lock);
    facet_status s = facet_lighting_sync(current, scene, options, FACET_DEVICE_CPU);
    if (s == FACET_OK) {
        *view = (*current)->view;
        view->turn = facet_lighting_turn(scene);
    }
    pthread_mutex_unlock(lock);
    return s;
}

facet_status facet_lighting_options_parse(const facet_doc *doc, const cJSON *json,
                                          const char *key_path, int allow_reference,
                                          facet_lighting_options *options) {
    static const char *const keys[] = {"mode", "size", "samples", "filter", NULL};
    memset(options, 0, sizeof *options);
    const cJSON *lighting = cJSON_GetObjectItemCaseSensitive(json, "lighting");
    if (!lighting) return FACET_OK;
    char path[128];
    facet_key_path(path, sizeof path, key_path, "lighting");
    const char *mode = "quality";
    double samples = -1; /* -1: not given (the mode's default) */
    facet_status s = FACET_OK;
    if (cJSON_IsString(lighting)) {
        mode = lighting->valuestring;
    } else if (cJSON_IsObject(lighting)) {
        double size = FACET_LIGHTING_DEFAULT_SIZE;
        const char *filter = "exact";
        s = facet_json_check_keys(doc, lighting, path, keys);
        if (s == FACET_OK) s = facet_json_opt_string(doc, lighting, "mode", path, &mode);
        if (s == FACET_OK) s = facet_json_opt_number(doc, lighting, "size", path, &size);
        if (s == FACET_OK) s = facet_json_opt_number(doc, lighting, "samples", path, &samples);
        if (s == FACET_OK) s = facet_json_opt_string(doc, lighting, "filter", path, &filter);
        if (s != FACET_OK) return s;
        if (!(size >= 64 && size <= 4096) || size != floor(size) || ((int)size & ((int)size - 1)))
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: key '%s.size': expected a power of two in [64, 4096], got %g",
                              doc->path, path, size);
        if (strcmp(filter, "sampled") != 0 && strcmp(filter, "exact") != 0)
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: key '%s.filter': expected \"sampled\" or \"exact\", got \"%s\"",
                              doc->path, path, filter);
        options->filter =
            strcmp(filter, "exact") == 0 ? FACET_QUALITY_EXACT : FACET_QUALITY_SAMPLED;
        if (samples != -1 && (!(samples >= 1 && samples <= 65536) || samples != floor(samples)))
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: key '%s.samples': expected a whole number in [1, 65536], got %g",
                              doc->path, path, samples);
        options->size = (int)size;
        options->samples = samples == -1 ? FACET_LIGHTING_DEFAULT_SAMPLES : (int)samples;
    } else {
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key '%s': expected a lighting mode name or an object, got %s",
                          doc->path, path, facet_json_type_name(lighting));
    }
    if (!strcmp(mode, "quality"))
        options->mode = FACET_PREFILTER_QUALITY;
    else if (!strcmp(mode, "parity"))
        options->mode = FACET_PREFILTER_PARITY;
    else if (!strcmp(mode, "reference") && allow_reference) {
        options->mode = FACET_PREFILTER_QUALITY;
        options->reference_samples =
            samples == -1 ? FACET_LIGHTING_REFERENCE_SAMPLES : (int)samples;
    } else if (!strcmp(mode, "reference"))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key '%s': the reference lighting mode is for sdf nodes only (this "
                          "node supports quality or parity)",
                          doc->path, path);
    else
        return facet_fail(
            FACET_ERR_FORMAT, "%s: key '%s': unknown lighting mode '%s' (expected %s)", doc->path,
            path, mode, allow_reference ? "quality, parity or reference" : "quality or parity");
    return FACET_OK;
}
