/* The host ray loop inlines the per-neuron softplus of fields/risesdf.h; GCC vectorises it only
 * when it may ignore floating-point exception flags (results are unchanged: no facet code reads
 * the flags). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "risesdf_node.h"
#include "risesdf_state.h"

#include "core/alloc.h"
#include "core/fileio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* An optional number in (lo, hi]. */
static facet_status number_in(const facet_doc *doc, const cJSON *json, const char *key,
                              const char *key_path, double lo, double hi, double *v) {
    facet_status s = facet_json_opt_number(doc, json, key, key_path, v);
    if (s == FACET_OK && !(*v > lo && *v <= hi))
        s = facet_fail(FACET_ERR_FORMAT, "%s: key '%s.%s': expected a number in (%g, %g], got %g",
                       doc->path, key_path, key, lo, hi, *v);
    return s;
}

static facet_status parse_node(const facet_doc *doc, const cJSON *json, const char *key_path,
                               risesdf_state *state, const char **weights) {
    const char *mode = "sphere_trace";
    double max_steps = 256, epsilon = 5e-4, step_scale = 1.0;
    facet_status s = facet_json_get_string(doc, json, "weights", key_path, weights);
    if (s == FACET_OK) s = facet_json_opt_string(doc, json, "mode", key_path, &mode);
    if (s == FACET_OK) {
        if (!strcmp(mode, "sphere_trace"))
            state->params.mode = FACET_RISESDF_MODE_SPHERE_TRACE;
        else if (!strcmp(mode, "volume"))
            state->params.mode = FACET_RISESDF_MODE_VOLUME;
        else
            s = facet_fail(FACET_ERR_FORMAT,
                           "%s: key '%s.mode': unknown render mode '%s' (expected \"sphere_trace\" "
                           "or \"volume\")",
                           doc->path, key_path, mode);
    }
    if (s == FACET_OK) s = number_in(doc, json, "max_steps", key_path, 0, 65536, &max_steps);
    if (s == FACET_OK && max_steps != floor(max_steps))
        s = facet_fail(FACET_ERR_FORMAT, "%s: key '%s.max_steps': expected a whole number, got %g",
                       doc->path, key_path, max_steps);
    if (s == FACET_OK) s = number_in(doc, json, "epsilon", key_path, 0, 1, &epsilon);
    if (s == FACET_OK) s = number_in(doc, json, "step_scale", key_path, 0, 1, &step_scale);
    const char *indirect = "off";
    double max_roughness = 0.3;
    if (s == FACET_OK) s = facet_json_opt_string(doc, json, "indirect", key_path, &indirect);
    if (s == FACET_OK) {
        if (!strcmp(indirect, "off"))
            state->params.indirect = FACET_RISESDF_INDIRECT_OFF;
        else if (!strcmp(indirect, "parity"))
            state->params.indirect = FACET_RISESDF_INDIRECT_PARITY;
        else if (!strcmp(indirect, "quality"))
            state->params.indirect = FACET_RISESDF_INDIRECT_QUALITY;
        else
            s = facet_fail(FACET_ERR_FORMAT,
                           "%s: key '%s.indirect': expected \"off\", \"parity\" or \"quality\", "
                           "got \"%s\"",
                           doc->path, key_path, indirect);
    }
    if (s == FACET_OK)
        s = number_in(doc, json, "indirect_max_roughness", key_path, 0, 1, &max_roughness);
    state->params.indirect_max_roughness = (float)max_roughness;
    if (s == FACET_OK)
        s = facet_lighting_options_parse(doc, json, key_path, 0, &state->lighting_options);
    state->params.max_steps = (int)max_steps;
    state->params.epsilon = (float)epsilon;
    state->params.step_scale = (float)step_scale;
    return s;
}

/* The field's views, and in "volume" mode the official NeuS constants and the occupancy grid. */
static facet_status volume_setup(risesdf_state *state) {
    facet_risesdf_ray_params *p = &state->params;
    p->field = state->model.field;
    if (p->mode != FACET_RISESDF_MODE_VOLUME) return FACET_OK;
    facet_risesdf_volume_constants(p);
    facet_status s = facet_risesdf_occupancy_build(p, &state->occupied, &state->occupied_count);
    p->occupied = state->occupied;
    return s;
}

static facet_status risesdf_load(facet_node *node, const facet_doc *doc, const cJSON *json,
                                 const char *key_path) {
    risesdf_state *state = facet_alloc_zeroed(1, sizeof *state);
    if (!state) return facet_last_status();
    const char *weights = NULL;
    facet_status s = parse_node(doc, json, key_path, state, &weights);
    if (s == FACET_OK) {
        char *path = facet_path_relative_to_file(doc->path, weights);
        if (!path) {
            s = facet_last_status();
        } else {
            s = facet_risesdf_load(&state->model, path);
            free(path);
            if (s != FACET_OK) s = facet_error_context("%s: key '%s.weights'", doc->path, key_path);
        }
    }
    if (s == FACET_OK) s = volume_setup(state);
    if (s == FACET_OK && pthread_mutex_init(&state->lock, NULL) != 0)
        s = facet_fail(FACET_ERR_INTERNAL, "risesdf node: cannot create a mutex");
    if (s != FACET_OK) {
        free(state->occupied);
        facet_risesdf_free(&state->model);
        free(state);
        return s;
    }
    node->state = state;
    return FACET_OK;
}

static void risesdf_destroy(facet_node *node) {
    risesdf_state *state = node->state;
    if (!state) return;
    facet_risesdf_device_free(state);
    facet_lighting_release(state->lighting);
    facet_risesdf_free(&state->model);
    free(state->occupied);
    pthread_mutex_destroy(&state->lock);
    free(state);
    node->state = NULL;
}

static facet_status risesdf_render_cpu(const facet_node *node, const facet_scene *scene,
                                       const facet_ray *rays, int64_t count, facet_ray_result *out,
                                       float *aux) {
    (void)aux;
    risesdf_state *state = node->state;
    facet_lighting_view light;
    facet_status s = facet_lighting_sync_view(&state->lighting, &state->lock, scene,
                                              &state->lighting_options, &light);
    if (s != FACET_OK) return s;
    float scratch[FACET_RISESDF_MAX_SCRATCH];
    if (state->params.mode == FACET_RISESDF_MODE_VOLUME)
        for (int64_t i = 0; i < count; i++)
            facet_risesdf_volume_ray(&state->params, &light, rays[i].origin, rays[i].direction,
                                     &out[i], scratch);
    else
        for (int64_t i = 0; i < count; i++)
            facet_risesdf_render_ray(&state->params, &light, rays[i].origin, rays[i].direction,
                                     &out[i], scratch);
    return FACET_OK;
}

/* Field query: the network's signed distance and its material heads at each point. */
static facet_status risesdf_query(const facet_node *node, const float *points,
                                  const float *directions, int64_t count, int model_frame,
                                  float *out) {
    (void)directions, (void)model_frame; /* the field works in world coordinates */
    const risesdf_state *state = node->state;
    const facet_risesdf_field *f = &state->params.field;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; i++) {
        const float *x = points + 3 * i;
        float *o = out + 6 * i, feature[FACET_RISESDF_MAX_WIDTH];
        float scratch[FACET_RISESDF_MAX_SCRATCH];
        facet_risesdf_material m;
        o[0] = facet_risesdf_sdf(f, x, scratch);
        facet_risesdf_feature(f, x, feature, scratch);
        facet_risesdf_material_at(f, feature, x, &m, scratch);
        for (int c = 0; c < 3; c++) o[1 + c] = m.albedo[c];
        o[4] = m.roughness;
        o[5] = m.metallic;
    }
    return FACET_OK;
}

static const char *const risesdf_query_names[] = {"sdf",       "albedo_r", "albedo_g", "albedo_b",
                                                  "roughness", "metallic", NULL};

static const char *const risesdf_keys[] = {
    "weights", "mode",       "lighting", "max_steps",
    "epsilon", "step_scale", "indirect", "indirect_max_roughness",
    NULL};

const facet_node_kind facet_risesdf_node_kind = {
    .type = "risesdf",
    .keys = risesdf_keys,
    .load = risesdf_load,
    .destroy = risesdf_destroy,
    .render_cpu = risesdf_render_cpu,
    .query_names = risesdf_query_names,
    .query = risesdf_query,
#ifdef FACET_HAVE_CUDA
    .render_cuda = facet_risesdf_render_cuda,
#endif
};
