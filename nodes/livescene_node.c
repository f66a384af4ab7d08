#include "livescene_node.h"
#include "livescene_state.h"

#include "render/composite.h"
#include "livescene_lanes.h"
#include "livescene_ray.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "fields/livescene.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static facet_status parse_storage(const facet_doc *doc, const cJSON *json, const char *key_path,
                                  facet_plane_storage *storage) {
    const char *name = "f32";
    facet_status s = facet_json_opt_string(doc, json, "plane_dtype", key_path, &name);
    if (s != FACET_OK) return s;
    if (!strcmp(name, "f32"))
        *storage = FACET_PLANE_F32;
    else if (!strcmp(name, "f16"))
        *storage = FACET_PLANE_F16;
    else if (!strcmp(name, "bf16"))
        *storage = FACET_PLANE_BF16;
    else
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key '%s.plane_dtype': expected f32, f16 or bf16, got '%s'",
                          doc->path, key_path, name);
    return FACET_OK;
}

/* "mlp_dtype": "f32" (default: the networks in fp32) or "f16" (half operands with fp32 sums, the
 * tensor-core form of the CUDA renderer; the CPU computes the same function per point). */
static facet_status parse_mlp_dtype(const facet_doc *doc, const cJSON *json, const char *key_path,
                                    int *half) {
    const char *name = "f32";
    facet_status s = facet_json_opt_string(doc, json, "mlp_dtype", key_path, &name);
    if (s != FACET_OK) return s;
    if (strcmp(name, "f32") && strcmp(name, "f16"))
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s.mlp_dtype': expected f32 or f16, got '%s'",
                          doc->path, key_path, name);
    *half = !strcmp(name, "f16");
    return FACET_OK;
}

/* Packs every network of the node's field in fp16 (one block) and points the networks at it. */
static facet_status pack_networks(livescene_state *state) {
    const size_t bytes = facet_livescene_half_bytes(&state->model.field);
    unsigned char *pack = aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (!pack) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory (fp16 networks)");
    facet_livescene_use_half(&state->model.field, pack, 1.0f, 1);
    state->mlp_pack = pack;
    state->mlp_pack_bytes = bytes;
    return FACET_OK;
}

static facet_status apply_kappa(facet_node *node, const facet_doc *doc, const cJSON *json,
                                const char *key_path) {
    const cJSON *kappa = cJSON_GetObjectItemCaseSensitive(json, "kappa");
    if (!kappa) return FACET_OK;
    char path[128];
    facet_key_path(path, sizeof path, key_path, "kappa");
    facet_status s = facet_json_object(doc, kappa, path);
    if (s != FACET_OK) return s;
    const cJSON *item;
    cJSON_ArrayForEach(item, kappa) {
        int index = -1;
        for (int i = 0; i < node->object_count; i++)
            if (!strcmp(node->object_names[i], item->string)) index = i;
        if (index < 0) {
            char names[512] = "";
            size_t used = 0;
            for (int i = 0; i < node->object_count && used < sizeof names; i++)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                         node->object_names[i]);
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: key '%s.%s': the model has no object '%s' (objects: %s)",
                              doc->path, path, item->string, item->string, names);
        }
        if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0.0 && item->valuedouble <= 1.0))
            return facet_fail(FACET_ERR_FORMAT, "%s: key '%s.%s': expected a number in [0, 1]",
                              doc->path, path, item->string);
        node->kappa[index] = (float)item->valuedouble;
    }
    return FACET_OK;
}

/* "descriptions": {"drawer": "the top drawer of the white cabinet"} for language grounding. */
static facet_status apply_descriptions(facet_node *node, const facet_doc *doc, const cJSON *json,
                                       const char *key_path) {
    const cJSON *descriptions = cJSON_GetObjectItemCaseSensitive(json, "descriptions");
    if (!descriptions) return FACET_OK;
    char path[128];
    facet_key_path(path, sizeof path, key_path, "descriptions");
    facet_status s = facet_json_object(doc, descriptions, path);
    const cJSON *item;
    cJSON_ArrayForEach(item, descriptions) {
        if (s != FACET_OK) break;
        if (!cJSON_IsString(item))
            return facet_fail(FACET_ERR_FORMAT, "%s: key '%s.%s': expected a string", doc->path,
                              path, item->string);
        s = facet_node_set_description(node, item->string, item->valuestring);
        if (s != FACET_OK)
            return facet_error_context("%s: key '%s.%s'", doc->path, path, item->string);
    }
    return s;
}

static facet_status livescene_load(facet_node *node, const facet_doc *doc, const cJSON *json,
                                   const char *key_path) {
    const char *weights = NULL;
    facet_plane_storage storage = FACET_PLANE_F32;
    int half_networks = 0;
    facet_status s = facet_json_get_string(doc, json, "weights", key_path, &weights);
    if (s == FACET_OK) s = parse_storage(doc, json, key_path, &storage);
    if (s == FACET_OK) s = parse_mlp_dtype(doc, json, key_path, &half_networks);
    if (s != FACET_OK) return s;
    livescene_state *state = facet_alloc_zeroed(1, sizeof *state);
    if (!state) return facet_last_status();
    node->state = state;
    char *path = facet_path_relative_to_file(doc->path, weights);
    if (!path) return facet_last_status();
    s = facet_livescene_load(&state->model, path, storage);
    free(path);
    if (s != FACET_OK) {
        free(state);
        node->state = NULL;
        return facet_error_context("%s: key '%s.weights'", doc->path, key_path);
    }
    if (half_networks && (s = pack_networks(state)) != FACET_OK) return s;
    const facet_livescene_model *m = &state->model;
    state->sampling.levels = m->field.proposals;
    for (int i = 0; i < m->field.proposals; i++)
        state->sampling.samples[i] = m->num_proposal_samples[i];
    state->sampling.samples[m->field.proposals] = m->num_samples;
    state->sampling.near_plane = m->near_plane;
    for (int i = 0; i < m->field.objects && s == FACET_OK; i++)
        s = facet_node_add_object(node, m->object_names[i], 0.0f);
    for (int i = 0; i < m->field.objects && s == FACET_OK; i++) {
        char name[300];
        snprintf(name, sizeof name, "mask_%s", m->object_names[i]);
        s = facet_node_add_aux(node, name);
    }
    if (s == FACET_OK) s = facet_node_add_aux(node, "mask_background");
    if (s == FACET_OK) s = apply_kappa(node, doc, json, key_path);
    if (s == FACET_OK) s = apply_descriptions(node, doc, json, key_path);
    return s;
}

static void livescene_destroy(facet_node *node) {
    livescene_state *state = node->state;
    if (!state) return;
    facet_livescene_device_free(state);
    facet_livescene_free(&state->model);
    free(state->mlp_pack);
    free(state);
    node->state = NULL;
}

static facet_status livescene_render_cpu(const facet_node *node, const facet_scene *scene,
                                         const facet_ray *rays, int64_t count,
                                         facet_ray_result *out, float *aux) {
    const livescene_state *state = node->state;
    const facet_livescene_model *m = &state->model;
    const int classes = m->field.objects + 1;
    for (int64_t i = 0; i < count; i++) {
        float o[3], d[3], background[3];
        facet_livescene_to_model_frame(m->dataparser_transform, m->dataparser_scale, rays[i].origin,
                                       rays[i].direction, o, d);
        facet_livescene_ray_output r;
        if (state->mlp_pack) /* fp16 networks: the per-point reference of the tensor-core form */
            facet_livescene_render_ray(&m->field, &state->sampling, o, d, node->kappa, &r);
        else
            facet_livescene_render_ray_lanes(&m->field, &state->sampling, o, d, node->kappa, &r);
        facet_background_radiance(scene->background_mode, scene->background,
                                  &scene->environment.view, rays[i].direction, background);
        facet_livescene_finish(&r, background, m->dataparser_scale, classes, &out[i],
                               aux ? aux + i * classes : NULL);
    }
    return FACET_OK;
}

/* Field query: object choice, density and colour at each point, as a ray sample computes them
 * (nodes/livescene_ray.h): density and view-dependent rgb of the main field at the scene's
 * kappa of the object the probability field picks there. */
static facet_status livescene_query(const facet_node *node, const float *points,
                                    const float *directions, int64_t count, int model_frame,
                                    float *out) {
    const livescene_state *state = node->state;
    const facet_livescene_model *m = &state->model;
    const float minus_z[3] = {0.0f, 0.0f, -1.0f};
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; i++) {
        const float *p = points + 3 * i, *v = directions ? directions + 3 * i : minus_z;
        float pos[3], dir[3], logits[FACET_LIVESCENE_MAX_OBJECTS + 1] = {0};
        float geo[FACET_LIVESCENE_MAX_GEO];
        if (model_frame) {
            for (int c = 0; c < 3; c++) pos[c] = p[c], dir[c] = v[c];
        } else {
            facet_livescene_to_model_frame(m->dataparser_transform, m->dataparser_scale,
                                           facet_v3(p[0], p[1], p[2]), facet_v3(v[0], v[1], v[2]),
                                           pos, dir);
        }
        int object = facet_livescene_probability(&m->field, pos, node->kappa, logits);
        float density = facet_livescene_field_density(&m->field, pos, node->kappa[object], geo);
        float *o = out + 4 * i;
        /* optical depth is density x distance: a world unit is `scale` model units */
        o[0] = model_frame ? density : density * m->dataparser_scale;
        facet_livescene_field_color(&m->field, dir, geo, o + 1);
    }
    return FACET_OK;
}

static const char *const livescene_query_names[] = {"density", "r", "g", "b", NULL};

static const char *const livescene_keys[] = {"weights",      "kappa",     "plane_dtype",
                                             "descriptions", "mlp_dtype", NULL};

/* The weights' dataparser transform: m = scale (R w + t). */
static void livescene_model_frame(const facet_node *node, facet_model_frame *out) {
    const facet_livescene_model *m = facet_livescene_node_model(node);
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++) out->r[r * 3 + c] = m->dataparser_transform[r * 4 + c];
        out->t[r] = m->dataparser_transform[r * 4 + 3];
    }
    out->scale = m->dataparser_scale;
}

const facet_node_kind facet_livescene_node_kind = {
    .type = "livescene",
    .keys = livescene_keys,
    .load = livescene_load,
    .destroy = livescene_destroy,
    .render_cpu = livescene_render_cpu,
    .model_frame = livescene_model_frame,
    .query_names = livescene_query_names,
    .query = livescene_query,
#ifdef FACET_HAVE_CUDA
    .render_cuda = facet_livescene_render_cuda,
#endif
};

const facet_livescene_model *facet_livescene_node_model(const facet_node *node) {
    if (!node || node->kind != &facet_livescene_node_kind) return NULL;
    return &((const livescene_state *)node->state)->model;
}
