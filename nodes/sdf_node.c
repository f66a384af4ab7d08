#include "sdf_node.h"
#include "sdf_state.h"

#include "core/alloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON helpers -------------------------------------------------------------------------- */

/* An optional [x, y, z] of finite numbers (out keeps its default when absent). */
static facet_status opt_vec3(const facet_doc *doc, const cJSON *obj, const char *key,
                             const char *key_path, int required, float out[3]) {
    if (!required && !cJSON_GetObjectItemCaseSensitive(obj, key)) return FACET_OK;
    double v[3];
    facet_status s = facet_json_get_numbers(doc, obj, key, key_path, v, 3);
    if (s != FACET_OK) return s;
    for (int i = 0; i < 3; i++) {
        if (!isfinite(v[i]))
            return facet_fail(FACET_ERR_FORMAT, "%s: key '%s.%s': expected finite numbers",
                              doc->path, key_path, key);
        out[i] = (float)v[i];
    }
    return FACET_OK;
}

/* A number in [lo, hi] (lo_open: > lo). */
static facet_status number_in(const facet_doc *doc, const cJSON *obj, const char *key,
                              const char *key_path, int required, double lo, int lo_open, double hi,
                              float *out) {
    double v = *out;
    facet_status s = required ? facet_json_get_number(doc, obj, key, key_path, &v)
                              : facet_json_opt_number(doc, obj, key, key_path, &v);
    if (s != FACET_OK) return s;
    if ((lo_open ? v > lo : v >= lo) && v <= hi) {
        *out = (float)v;
        return FACET_OK;
    }
    if (hi >= 1e30)
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s.%s': expected a %s number, got %g",
                          doc->path, key_path, key, lo_open ? "positive" : "finite", v);
    return facet_fail(FACET_ERR_FORMAT, "%s: key '%s.%s': expected a number in [%g, %g], got %g",
                      doc->path, key_path, key, lo, hi, v);
}

static facet_status unit_vector(const facet_doc *doc, const char *key_path, const char *key,
                                const float v[3], facet_vec3 *out) {
    facet_vec3 u = facet_v3(v[0], v[1], v[2]);
    float len = facet_v3_length(u);
    if (!(len > 0.0f))
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s.%s': the vector must not be zero",
                          doc->path, key_path, key);
    *out = facet_v3_scale(u, 1.0f / len);
    return FACET_OK;
}

/* ---- shapes -------------------------------------------------------------------------------- */

static const char *const shape_names[] = {"sphere", "box", "torus", "plane", "capsule"};

static facet_status parse_shape_params(const facet_doc *doc, const cJSON *params, const char *path,
                                       facet_sdf_shape *shape) {
    static const char *const sphere_keys[] = {"center", "radius", NULL};
    static const char *const box_keys[] = {"center", "half_size", NULL};
    static const char *const torus_keys[] = {"center", "major", "minor", "axis", NULL};
    static const char *const plane_keys[] = {"normal", "offset", NULL};
    static const char *const capsule_keys[] = {"a", "b", "radius", NULL};
    static const char *const *const keys[] = {sphere_keys, box_keys, torus_keys, plane_keys,
                                              capsule_keys};
    facet_status s = facet_json_object(doc, params, path);
    if (s == FACET_OK) s = facet_json_check_keys(doc, params, path, keys[shape->type]);
    if (s != FACET_OK) return s;
    const double big = 1e30;
    float center[3] = {0.0f, 0.0f, 0.0f}, v[3] = {0.0f, 0.0f, 1.0f}, w[3];
    switch (shape->type) {
    case FACET_SDF_SPHERE:
        s = opt_vec3(doc, params, "center", path, 0, center);
        if (s == FACET_OK) s = number_in(doc, params, "radius", path, 1, 0, 1, big, &shape->r0);
        shape->a = facet_v3(center[0], center[1], center[2]);
        return s;
    case FACET_SDF_BOX:
        s = opt_vec3(doc, params, "center", path, 0, center);
        if (s == FACET_OK) s = opt_vec3(doc, params, "half_size", path, 1, v);
        if (s == FACET_OK && !(v[0] > 0.0f && v[1] > 0.0f && v[2] > 0.0f))
            s = facet_fail(FACET_ERR_FORMAT, "%s: key '%s.half_size': expected positive sizes",
                           doc->path, path);
        shape->a = facet_v3(center[0], center[1], center[2]);
        shape->b = facet_v3(v[0], v[1], v[2]);
        return s;
    case FACET_SDF_TORUS:
        s = opt_vec3(doc, params, "center", path, 0, center);
        if (s == FACET_OK) s = number_in(doc, params, "major", path, 1, 0, 1, big, &shape->r0);
        if (s == FACET_OK) s = number_in(doc, params, "minor", path, 1, 0, 1, big, &shape->r1);
        if (s == FACET_OK) s = opt_vec3(doc, params, "axis", path, 0, v);
        if (s == FACET_OK) s = unit_vector(doc, path, "axis", v, &shape->b);
        shape->a = facet_v3(center[0], center[1], center[2]);
        return s;
    case FACET_SDF_PLANE:
        shape->r0 = 0.0f;
        s = opt_vec3(doc, params, "normal", path, 1, v);
        if (s == FACET_OK) s = unit_vector(doc, path, "normal", v, &shape->a);
        if (s == FACET_OK) s = number_in(doc, params, "offset", path, 0, -big, 0, big, &shape->r0);
        return s;
    default:
        s = opt_vec3(doc, params, "a", path, 1, v);
        if (s == FACET_OK) s = opt_vec3(doc, params, "b", path, 1, w);
        if (s == FACET_OK) s = number_in(doc, params, "radius", path, 1, 0, 1, big, &shape->r0);
        shape->a = facet_v3(v[0], v[1], v[2]);
        shape->b = facet_v3(w[0], w[1], w[2]);
        return s;
    }
}

/* {"<kind>": {params}} -> shape; key_path names the object. */
static facet_status parse_shape(const facet_doc *doc, const cJSON *json, const char *key_path,
                                facet_sdf_shape *shape) {
    facet_status s = facet_json_object(doc, json, key_path);
    if (s != FACET_OK) return s;
    if (cJSON_GetArraySize(json) != 1)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key '%s': expected exactly one of sphere, box, torus, plane, "
                          "capsule (got %d keys)",
                          doc->path, key_path, cJSON_GetArraySize(json));
    const cJSON *params = json->child;
    int type = -1;
    for (int i = 0; i < 5; i++)
        if (!strcmp(params->string, shape_names[i])) type = i;
    if (type < 0)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key '%s.%s': unknown shape '%s' (expected sphere, box, torus, "
                          "plane or capsule)",
                          doc->path, key_path, params->string, params->string);
    memset(shape, 0, sizeof *shape);
    shape->type = (facet_sdf_type)type;
    char path[160];
    facet_key_path(path, sizeof path, key_path, params->string);
    return parse_shape_params(doc, params, path, shape);
}

static facet_status parse_shapes(const facet_doc *doc, const cJSON *json, const char *key_path,
                                 facet_sdf_object *object) {
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(json, "shape");
    char path[128];
    facet_key_path(path, sizeof path, key_path, "shape");
    if (!shape)
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': missing (an sdf node needs a shape)",
                          doc->path, path);
    if (!cJSON_IsArray(shape)) {
        object->count = 1;
        return parse_shape(doc, shape, path, &object->shapes[0]);
    }
    int count = cJSON_GetArraySize(shape);
    if (count < 1 || count > FACET_SDF_MAX_SHAPES)
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected 1 to %d shapes, got %d",
                          doc->path, path, FACET_SDF_MAX_SHAPES, count);
    const cJSON *item;
    cJSON_ArrayForEach(item, shape) {
        char item_path[160];
        snprintf(item_path, sizeof item_path, "%s[%d]", path, object->count);
        facet_status s = parse_shape(doc, item, item_path, &object->shapes[object->count]);
        if (s != FACET_OK) return s;
        object->count++;
    }
    return FACET_OK;
}

/* ---- material, transform, options ---------------------------------------------------------- */

static facet_status parse_material(const facet_doc *doc, const cJSON *json, const char *key_path,
                                   facet_material *m) {
    static const char *const keys[] = {"base_color", "roughness", "metallic", NULL};
    m->base_color[0] = m->base_color[1] = m->base_color[2] = 0.8f;
    m->roughness = 0.5f;
    m->metallic = 0.0f;
    const cJSON *mat = cJSON_GetObjectItemCaseSensitive(json, "material");
    if (!mat) return FACET_OK;
    char path[128];
    facet_key_path(path, sizeof path, key_path, "material");
    facet_status s = facet_json_object(doc, mat, path);
    if (s == FACET_OK) s = facet_json_check_keys(doc, mat, path, keys);
    if (s == FACET_OK) s = opt_vec3(doc, mat, "base_color", path, 0, m->base_color);
    for (int c = 0; s == FACET_OK && c < 3; c++)
        if (!(m->base_color[c] >= 0.0f && m->base_color[c] <= 1.0f))
            s = facet_fail(FACET_ERR_FORMAT,
                           "%s: key '%s.base_color': expected linear values in [0, 1]", doc->path,
                           path);
    if (s == FACET_OK) s = number_in(doc, mat, "roughness", path, 0, 0, 0, 1, &m->roughness);
    if (s == FACET_OK) s = number_in(doc, mat, "metallic", path, 0, 0, 0, 1, &m->metallic);
    return s;
}

static facet_status parse_node(const facet_doc *doc, const cJSON *json, const char *key_path,
                               sdf_state *state) {
    facet_sdf_ray_params *p = &state->params;
    float translate[3] = {0.0f, 0.0f, 0.0f}, rotate[3] = {0.0f, 0.0f, 0.0f}, scale = 1.0f;
    const char *normals = "analytic";
    p->trace.t_max = 100.0f;
    p->trace.max_steps = 512;
    p->trace.epsilon = 5e-4f;
    facet_status s = parse_shapes(doc, json, key_path, &p->object);
    if (s == FACET_OK) s = parse_material(doc, json, key_path, &p->material);
    if (s == FACET_OK) s = opt_vec3(doc, json, "translate", key_path, 0, translate);
    if (s == FACET_OK) s = opt_vec3(doc, json, "rotate_deg", key_path, 0, rotate);
    if (s == FACET_OK) s = number_in(doc, json, "scale", key_path, 0, 0, 1, 1e30, &scale);
    if (s == FACET_OK)
        s = number_in(doc, json, "max_distance", key_path, 0, 0, 1, 1e30, &p->trace.t_max);
    if (s == FACET_OK) s = facet_json_opt_string(doc, json, "normals", key_path, &normals);
    if (s == FACET_OK && strcmp(normals, "analytic") != 0 && strcmp(normals, "central") != 0)
        s = facet_fail(FACET_ERR_FORMAT,
                       "%s: key '%s.normals': expected \"analytic\" or \"central\", got \"%s\"",
                       doc->path, key_path, normals);
    if (s == FACET_OK)
        s = facet_lighting_options_parse(doc, json, key_path, 1, &state->lighting_options);
    if (s != FACET_OK) return s;
    p->central_normals = !strcmp(normals, "central");
    facet_sdf_object_place(&p->object, rotate, translate, scale);
    return FACET_OK;
}

/* ---- the node kind --------------------------------------------------------------------------- */

static facet_status sdf_load(facet_node *node, const facet_doc *doc, const cJSON *json,
                             const char *key_path) {
    sdf_state *state = facet_alloc_zeroed(1, sizeof *state);
    if (!state) return facet_last_status();
    facet_status s = parse_node(doc, json, key_path, state);
    if (s == FACET_OK && pthread_mutex_init(&state->lock, NULL) != 0)
        s = facet_fail(FACET_ERR_INTERNAL, "sdf node: cannot create a mutex");
    if (s != FACET_OK) {
        free(state);
        return s;
    }
    node->state = state;
    return FACET_OK;
}

static void sdf_destroy(facet_node *node) {
    sdf_state *state = node->state;
    if (!state) return;
    facet_sdf_device_free(state);
    facet_lighting_release(state->lighting);
    facet_env_distribution_free(&state->dist);
    pthread_mutex_destroy(&state->lock);
    free(state);
    node->state = NULL;
}

facet_status facet_sdf_reference_setup(sdf_state *state, const facet_scene *scene,
                                       facet_sdf_reference_env *e) {
    memset(e, 0, sizeof *e);
    e->has_map = scene->has_environment;
    if (e->has_map) e->env = scene->environment.view;
    for (int k = 0; k < 3; k++) e->constant[k] = scene->background[k];
    e->samples = state->lighting_options.reference_samples;
    e->pass = scene->sample_pass;
    /* the tables depend on the texels only (rotation and strength change the mapping) */
    uint64_t key = 1;
    if (e->has_map)
        key = facet_envmap_fingerprint(&e->env) ^ ((uint64_t)e->env.width << 32) ^
              (uint64_t)e->env.height ^ (uint64_t)(uintptr_t)e->env.rgb;
    key |= 2; /* never 0 */
    facet_status s = FACET_OK;
    pthread_mutex_lock(&state->lock);
    if (state->dist_key != key) {
        facet_env_distribution_free(&state->dist);
        state->dist_key = 0;
        s = facet_env_distribution_build(&state->dist, e->has_map ? &e->env : NULL);
        if (s == FACET_OK) state->dist_key = key;
    }
    e->dist = state->dist.view;
    pthread_mutex_unlock(&state->lock);
    return s;
}

static facet_status sdf_render_cpu(const facet_node *node, const facet_scene *scene,
                                   const facet_ray *rays, int64_t count, facet_ray_result *out,
                                   float *aux) {
    (void)aux;
    sdf_state *state = node->state;
    if (state->lighting_options.reference_samples > 0) {
        facet_sdf_reference_env e;
        facet_status s = facet_sdf_reference_setup(state, scene, &e);
        if (s != FACET_OK) return s;
        for (int64_t i = 0; i < count; i++)
            facet_sdf_reference_ray(&state->params, &e, rays[i].origin, rays[i].direction, &out[i]);
        return FACET_OK;
    }
    facet_lighting_view light;
    facet_status s = facet_lighting_sync_view(&state->lighting, &state->lock, scene,
                                              &state->lighting_options, &light);
    if (s != FACET_OK) return s;
    for (int64_t i = 0; i < count; i++)
        facet_sdf_render_ray(&state->params, &light, rays[i].origin, rays[i].direction, &out[i]);
    return FACET_OK;
}

/* Field query: the object's signed distance (world units) and its uniform material. */
static facet_status sdf_query(const facet_node *node, const float *points, const float *directions,
                              int64_t count, int model_frame, float *out) {
    (void)directions, (void)model_frame; /* world coordinates are the model's */
    const sdf_state *state = node->state;
    const facet_material *mat = &state->params.material;
    for (int64_t i = 0; i < count; i++) {
        const float *p = points + 3 * i;
        float *o = out + 6 * i;
        o[0] = facet_sdf_object_distance(&state->params.object, facet_v3(p[0], p[1], p[2]), NULL);
        for (int c = 0; c < 3; c++) o[1 + c] = mat->base_color[c];
        o[4] = mat->roughness;
        o[5] = mat->metallic;
    }
    return FACET_OK;
}

static int sdf_monte_carlo(const facet_node *node) {
    const sdf_state *state = node->state;
    return state->lighting_options.reference_samples > 0;
}

static const char *const sdf_query_names[] = {"sdf",       "albedo_r", "albedo_g", "albedo_b",
                                              "roughness", "metallic", NULL};

static const char *const sdf_keys[] = {"shape",   "material", "translate",    "rotate_deg", "scale",
                                       "normals", "lighting", "max_distance", NULL};

const facet_node_kind facet_sdf_node_kind = {
    .type = "sdf",
    .keys = sdf_keys,
    .load = sdf_load,
    .destroy = sdf_destroy,
    .render_cpu = sdf_render_cpu,
    .query_names = sdf_query_names,
    .query = sdf_query,
    .monte_carlo = sdf_monte_carlo,
#ifdef FACET_HAVE_CUDA
    .render_cuda = facet_sdf_render_cuda,
#endif
};
