#include "scene.h"

#include "core/alloc.h"
#include "core/fileio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_NODE_KINDS = 32, SCENE_FORMAT_VERSION = 1 };

static const facet_node_kind *registered_kinds[MAX_NODE_KINDS];
static int registered_count;

facet_status facet_node_kind_register(const facet_node_kind *kind) {
    if (facet_node_kind_find(kind->type))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "node kind '%s' is already registered",
                          kind->type);
    if (registered_count == MAX_NODE_KINDS)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "too many node kinds (max %d)",
                          MAX_NODE_KINDS);
    registered_kinds[registered_count++] = kind;
    return FACET_OK;
}

const facet_node_kind *facet_node_kind_find(const char *type) {
    for (int i = 0; i < registered_count; i++)
        if (!strcmp(registered_kinds[i]->type, type)) return registered_kinds[i];
    return NULL;
}

const char *facet_node_kind_list(char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < registered_count && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                                 registered_kinds[i]->type);
    if (registered_count == 0) snprintf(buf, size, "none in this build");
    return buf;
}

facet_status facet_node_add_object(facet_node *node, const char *object, float kappa) {
    char **names = facet_realloc(node->object_names, (size_t)node->object_count + 1, sizeof *names);
    if (!names) return facet_last_status();
    node->object_names = names;
    char **descriptions =
        facet_realloc(node->object_descriptions, (size_t)node->object_count + 1, sizeof *names);
    if (!descriptions) return facet_last_status();
    node->object_descriptions = descriptions;
    descriptions[node->object_count] = NULL;
    float *k = facet_realloc(node->kappa, (size_t)node->object_count + 1, sizeof *k);
    if (!k) return facet_last_status();
    node->kappa = k;
    char *copy = facet_strdup(object);
    if (!copy) return facet_last_status();
    names[node->object_count] = copy;
    k[node->object_count] = kappa;
    node->object_count++;
    return FACET_OK;
}

facet_status facet_node_set_description(facet_node *node, const char *object, const char *text) {
    for (int i = 0; i < node->object_count; i++) {
        if (strcmp(node->object_names[i], object) != 0) continue;
        char *copy = facet_strdup(text);
        if (!copy) return facet_last_status();
        free(node->object_descriptions[i]);
        node->object_descriptions[i] = copy;
        return FACET_OK;
    }
    return facet_fail(FACET_ERR_NOT_FOUND, "node '%s' has no object '%s'", node->name, object);
}

facet_status facet_node_add_aux(facet_node *node, const char *name) {
    char **names = facet_realloc(node->aux_names, (size_t)node->aux_channels + 1, sizeof *names);
    if (!names) return facet_last_status();
    node->aux_names = names;
    if (!(names[node->aux_channels] = facet_strdup(name))) return facet_last_status();
    node->aux_channels++;
    return FACET_OK;
}

static void node_free(facet_node *node) {
    if (node->kind && node->kind->destroy) node->kind->destroy(node);
    for (int i = 0; i < node->aux_channels; i++) free(node->aux_names[i]);
    free(node->aux_names);
    for (int i = 0; i < node->object_count; i++) {
        free(node->object_names[i]);
        free(node->object_descriptions[i]);
    }
    free(node->object_names);
    free(node->object_descriptions);
    free(node->kappa);
    free(node->name);
    memset(node, 0, sizeof *node);
}

/* ---- loading --------------------------------------------------------------------------------- */

static facet_status load_background(facet_scene *scene, const facet_doc *doc, const cJSON *root) {
    const cJSON *bg = cJSON_GetObjectItemCaseSensitive(root, "background");
    scene->background[0] = scene->background[1] = scene->background[2] = 1.0f;
    scene->background_mode = FACET_BACKGROUND_COLOR;
    if (!bg) return FACET_OK;
    if (cJSON_IsString(bg)) {
        if (strcmp(bg->valuestring, "environment") != 0)
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: key 'background': expected [r, g, b] or \"environment\", got "
                              "\"%s\"",
                              doc->path, bg->valuestring);
        scene->background_mode = FACET_BACKGROUND_ENVIRONMENT;
        return FACET_OK;
    }
    double rgb[3];
    facet_status s = facet_json_get_numbers(doc, root, "background", "", rgb, 3);
    if (s != FACET_OK) return s;
    for (int c = 0; c < 3; c++) {
        if (!(rgb[c] >= 0.0 && isfinite(rgb[c])))
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: key 'background[%d]': expected a non-negative number", doc->path,
                              c);
        scene->background[c] = (float)rgb[c];
    }
    return FACET_OK;
}

static facet_status load_environment(facet_scene *scene, const facet_doc *doc, const cJSON *root) {
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(root, "environment");
    if (!env) return FACET_OK;
    static const char *const keys[] = {"map", "convention", "rotation_deg", "strength", NULL};
    facet_status s = facet_json_object(doc, env, "environment");
    if (s == FACET_OK) s = facet_json_check_keys(doc, env, "environment", keys);
    const char *map = NULL, *convention_name = "blender";
    double rotation = 0.0, strength = 1.0;
    if (s == FACET_OK) s = facet_json_get_string(doc, env, "map", "environment", &map);
    if (s == FACET_OK)
        s = facet_json_opt_string(doc, env, "convention", "environment", &convention_name);
    if (s == FACET_OK)
        s = facet_json_opt_number(doc, env, "rotation_deg", "environment", &rotation);
    if (s == FACET_OK) s = facet_json_opt_number(doc, env, "strength", "environment", &strength);
    if (s != FACET_OK) return s;
    int convention = facet_env_convention_from_name(convention_name);
    if (convention < 0)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key 'environment.convention': unknown convention '%s' (expected "
                          "blender, risesdf or nvdiffrec)",
                          doc->path, convention_name);
    if (!(strength >= 0.0 && isfinite(strength)))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key 'environment.strength': expected a non-negative number",
                          doc->path);
    char *map_path = facet_path_relative_to_file(doc->path, map);
    if (!map_path) return facet_last_status();
    s = facet_envmap_load(&scene->environment, map_path, (facet_env_convention)convention,
                          (float)rotation, (float)strength);
    free(map_path);
    if (s != FACET_OK) return facet_error_context("%s: key 'environment.map'", doc->path);
    scene->has_environment = 1;
    return FACET_OK;
}

static facet_status load_camera(facet_scene *scene, const facet_doc *doc, const cJSON *root) {
    const cJSON *cam = cJSON_GetObjectItemCaseSensitive(root, "camera");
    if (!cam) return FACET_OK;
    static const char *const keys[] = {"transform_matrix", "camera_angle_x", "width", "height",
                                       NULL};
    double m[16], fov, width, height;
    facet_status s = facet_json_object(doc, cam, "camera");
    if (s == FACET_OK) s = facet_json_check_keys(doc, cam, "camera", keys);
    if (s == FACET_OK) s = facet_json_get_mat4(doc, cam, "transform_matrix", "camera", m);
    if (s == FACET_OK) s = facet_json_get_number(doc, cam, "camera_angle_x", "camera", &fov);
    if (s == FACET_OK) s = facet_json_get_number(doc, cam, "width", "camera", &width);
    if (s == FACET_OK) s = facet_json_get_number(doc, cam, "height", "camera", &height);
    if (s != FACET_OK) return s;
    if (!(fov > 0.0 && fov < 3.14159))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key 'camera.camera_angle_x': expected radians in (0, pi)",
                          doc->path);
    if (width < 1 || height < 1 || width > 16384 || height > 16384 || width != floor(width) ||
        height != floor(height))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key 'camera.width/height': expected whole pixels in [1, 16384]",
                          doc->path);
    facet_mat4 c2w;
    for (int i = 0; i < 16; i++) c2w.m[i] = (float)m[i];
    scene->camera = facet_camera_from_fov(c2w, (float)fov, (int)width, (int)height);
    scene->has_camera = 1;
    return FACET_OK;
}

static facet_status load_node(facet_node *node, const facet_doc *doc, const cJSON *json,
                              const char *key_path) {
    facet_status s = facet_json_object(doc, json, key_path);
    const char *type = NULL, *name = NULL;
    if (s == FACET_OK) s = facet_json_get_string(doc, json, "type", key_path, &type);
    if (s != FACET_OK) return s;
    const facet_node_kind *kind = facet_node_kind_find(type);
    if (!kind) {
        char known[256];
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s.type': unknown node type '%s' (known: %s)",
                          doc->path, key_path, type, facet_node_kind_list(known, sizeof known));
    }
    const char *keys[64];
    int n = 0;
    keys[n++] = "type";
    keys[n++] = "name";
    for (const char *const *k = kind->keys; k && *k && n < 63; k++) keys[n++] = *k;
    keys[n] = NULL;
    s = facet_json_check_keys(doc, json, key_path, keys);
    if (s == FACET_OK) s = facet_json_opt_string(doc, json, "name", key_path, &name);
    if (s != FACET_OK) return s;
    node->name = facet_strdup(name ? name : type);
    if (!node->name) return facet_last_status();
    node->kind = kind;
    return kind->load(node, doc, json, key_path);
}

static facet_status load_nodes(facet_scene *scene, const facet_doc *doc, const cJSON *root) {
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
    if (!nodes) return FACET_OK;
    if (!cJSON_IsArray(nodes))
        return facet_fail(FACET_ERR_FORMAT, "%s: key 'nodes': expected an array, got %s", doc->path,
                          facet_json_type_name(nodes));
    int count = cJSON_GetArraySize(nodes);
    scene->nodes = facet_alloc_zeroed((size_t)count, sizeof *scene->nodes);
    if (!scene->nodes) return facet_last_status();
    const cJSON *item;
    cJSON_ArrayForEach(item, nodes) {
        char key_path[32];
        snprintf(key_path, sizeof key_path, "nodes[%d]", scene->node_count);
        facet_node *node = &scene->nodes[scene->node_count++];
        facet_status s = load_node(node, doc, item, key_path);
        if (s != FACET_OK) return s;
    }
    /* object names must be unique across the scene: --set and commands address them by name */
    for (int a = 0; a < scene->node_count; a++)
        for (int i = 0; i < scene->nodes[a].object_count; i++)
            for (int b = a; b < scene->node_count; b++)
                for (int j = (b == a ? i + 1 : 0); j < scene->nodes[b].object_count; j++)
                    if (!strcmp(scene->nodes[a].object_names[i], scene->nodes[b].object_names[j]))
                        return facet_fail(FACET_ERR_FORMAT,
                                          "%s: object '%s' is declared by both node '%s' and node "
                                          "'%s'",
                                          doc->path, scene->nodes[a].object_names[i],
                                          scene->nodes[a].name, scene->nodes[b].name);
    return FACET_OK;
}

facet_status facet_scene_load(facet_scene *scene, const char *path) {
    memset(scene, 0, sizeof *scene);
    facet_doc doc;
    facet_status s = facet_json_load(&doc, path);
    if (s != FACET_OK) return s;
    static const char *const keys[] = {"version", "background", "environment",
                                       "nodes",   "camera",     NULL};
    double version = 0;
    s = facet_json_object(&doc, doc.root, "(top level)");
    if (s == FACET_OK) s = facet_json_check_keys(&doc, doc.root, "", keys);
    if (s == FACET_OK) s = facet_json_get_number(&doc, doc.root, "version", "", &version);
    if (s == FACET_OK && version != SCENE_FORMAT_VERSION)
        s = facet_fail(FACET_ERR_UNSUPPORTED,
                       "%s: key 'version': scene format version %g is not supported (this facet "
                       "reads version %d)",
                       path, version, SCENE_FORMAT_VERSION);
    if (s == FACET_OK) s = load_background(scene, &doc, doc.root);
    if (s == FACET_OK) s = load_environment(scene, &doc, doc.root);
    if (s == FACET_OK) s = load_camera(scene, &doc, doc.root);
    if (s == FACET_OK) s = load_nodes(scene, &doc, doc.root);
    if (s == FACET_OK && scene->background_mode == FACET_BACKGROUND_ENVIRONMENT &&
        !scene->has_environment)
        s = facet_fail(FACET_ERR_FORMAT,
                       "%s: key 'background': \"environment\" needs an 'environment' map", path);
    if (s == FACET_OK) {
        scene->path = facet_strdup(path);
        if (!scene->path) s = facet_last_status();
    }
    facet_doc_free(&doc);
    if (s != FACET_OK) {
        facet_status keep = s;
        char message[2048];
        snprintf(message, sizeof message, "%s", facet_last_error());
        facet_scene_free(scene);
        facet_fail(keep, "%s", message);
    }
    return s;
}

void facet_scene_free(facet_scene *scene) {
    for (int i = 0; i < scene->node_count; i++) node_free(&scene->nodes[i]);
    free(scene->nodes);
    if (scene->has_environment) facet_envmap_free(&scene->environment);
    free(scene->path);
    memset(scene, 0, sizeof *scene);
}

/* ---- run-time changes ------------------------------------------------------------------------ */

int facet_scene_object_count(const facet_scene *scene) {
    int n = 0;
    for (int i = 0; i < scene->node_count; i++) n += scene->nodes[i].object_count;
    return n;
}

static float *find_kappa(const facet_scene *scene, const char *object) {
    for (int i = 0; i < scene->node_count; i++)
        for (int j = 0; j < scene->nodes[i].object_count; j++)
            if (!strcmp(scene->nodes[i].object_names[j], object)) return &scene->nodes[i].kappa[j];
    return NULL;
}

static facet_status no_such_object(const facet_scene *scene, const char *object) {
    char names[1024];
    size_t used = 0;
    names[0] = '\0';
    for (int i = 0; i < scene->node_count; i++)
        for (int j = 0; j < scene->nodes[i].object_count && used < sizeof names; j++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                                     scene->nodes[i].object_names[j]);
    return facet_fail(FACET_ERR_NOT_FOUND, "no object '%s' in the scene (objects: %s)", object,
                      used ? names : "none");
}

facet_status facet_scene_set_kappa(facet_scene *scene, const char *object, float kappa) {
    float *k = find_kappa(scene, object);
    if (!k) return no_such_object(scene, object);
    if (!(kappa >= 0.0f && kappa <= 1.0f))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "kappa for '%s' must be in [0, 1], got %g",
                          object, (double)kappa);
    *k = kappa;
    return FACET_OK;
}

facet_status facet_scene_get_kappa(const facet_scene *scene, const char *object, float *kappa) {
    const float *k = find_kappa(scene, object);
    if (!k) return no_such_object(scene, object);
    *kappa = *k;
    return FACET_OK;
}

facet_status facet_scene_set_environment(facet_scene *scene, const char *path,
                                         facet_env_convention convention, float rotation_deg,
                                         float strength) {
    facet_envmap next;
    facet_status s = facet_envmap_load(&next, path, convention, rotation_deg, strength);
    if (s != FACET_OK) return s;
    if (scene->has_environment) facet_envmap_free(&scene->environment);
    scene->environment = next;
    scene->has_environment = 1;
    return FACET_OK;
}

facet_status facet_scene_apply_assignment(facet_scene *scene, const char *assignment) {
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment || !eq[1])
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "'%s': expected OBJECT=KAPPA (for example drawer=0.7)", assignment);
    char object[256];
    size_t n = (size_t)(eq - assignment);
    if (n >= sizeof object)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "'%s': object name too long", assignment);
    memcpy(object, assignment, n);
    object[n] = '\0';
    char *end;
    errno = 0;
    double kappa = strtod(eq + 1, &end);
    if (*end != '\0' || errno != 0)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "'%s': '%s' is not a number", assignment,
                          eq + 1);
    return facet_scene_set_kappa(scene, object, (float)kappa);
}

facet_status facet_scene_model_frame(const facet_scene *scene, facet_model_frame *out) {
    facet_model_frame identity = {{1, 0, 0, 0, 1, 0, 0, 0, 1}, {0, 0, 0}, 1.0};
    *out = identity;
    const facet_node *owner = NULL;
    for (int i = 0; i < scene->node_count; i++) {
        const facet_node *node = &scene->nodes[i];
        if (!node->kind->model_frame) continue;
        facet_model_frame f;
        node->kind->model_frame(node, &f);
        if (owner && memcmp(&f, out, sizeof f) != 0)
            return facet_fail(
                FACET_ERR_UNSUPPORTED,
                "%s: nodes '%s' and '%s' have different model frames, so a camera "
                "path in the model frame is ambiguous (write it with \"facet_frame\": "
                "\"world\")",
                scene->path, owner->name, node->name);
        *out = f;
        owner = node;
    }
    return FACET_OK;
}

int facet_scene_has_model_frame(const facet_scene *scene) {
    for (int i = 0; i < scene->node_count; i++)
        if (scene->nodes[i].kind->model_frame) return 1;
    return 0;
}

int facet_node_query_channels(const facet_node *node) {
    int n = 0;
    if (node->kind->query && node->kind->query_names)
        while (node->kind->query_names[n]) n++;
    return n;
}

int facet_scene_monte_carlo(const facet_scene *scene) {
    for (int n = 0; n < scene->node_count; n++) {
        const facet_node *node = &scene->nodes[n];
        if (node->kind->monte_carlo && node->kind->monte_carlo(node)) return 1;
    }
    return 0;
}
