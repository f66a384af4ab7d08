/* Camera paths: reading, writing, evaluating and building nerfstudio camera_path.json files
 * (render/camera_path.h; docs/formats.md, "Camera path"). */
#include "camera_path.h"

#include "core/alloc.h"
#include "core/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_FRAMES 10000000 /* 46 hours at 60 fps: a bound, so a hostile file cannot OOM */
#define PATH_MAX_SIZE 16384
static const double pi = 3.14159265358979323846;

void facet_camera_path_free(facet_camera_path *path) {
    if (!path) return;
    for (int i = 0; i < path->count; i++) {
        for (int k = 0; k < path->entries[i].key_count; k++) free(path->entries[i].keys[k].object);
        free(path->entries[i].keys);
    }
    free(path->entries);
    memset(path, 0, sizeof *path);
}

static int same_channel(const char *a, const char *b) {
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

facet_status facet_camera_path_set_key(facet_camera_path *path, int index, const char *object,
                                       float value) {
    if (index < 0 || index >= path->count)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "keyframe at frame %d is outside the path (frames 0..%d)", index,
                          path->count - 1);
    facet_path_entry *e = &path->entries[index];
    for (int k = 0; k < e->key_count; k++)
        if (same_channel(e->keys[k].object, object)) {
            e->keys[k].value = value;
            return FACET_OK;
        }
    facet_path_key *keys = facet_realloc(e->keys, (size_t)e->key_count + 1, sizeof *keys);
    if (!keys) return facet_last_status();
    e->keys = keys;
    keys[e->key_count].object = NULL;
    if (object && !(keys[e->key_count].object = facet_strdup(object))) return facet_last_status();
    keys[e->key_count++].value = value;
    return FACET_OK;
}

/* ---- reading ----------------------------------------------------------------------------------
 */

static facet_status read_entry(facet_camera_path *path, const facet_doc *doc, const cJSON *item,
                               int index) {
    char where[64], key[160];
    snprintf(where, sizeof where, "camera_path[%d]", index);
    facet_status s = facet_json_object(doc, item, where);
    if (s != FACET_OK) return s;
    facet_path_entry *e = &path->entries[index];
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(item, "camera_to_world");
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 16)
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected 16 numbers (a row-major 4x4)",
                          doc->path, facet_key_path(key, sizeof key, where, "camera_to_world"));
    int j = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, m) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return facet_fail(FACET_ERR_FORMAT, "%s: key '%s[%d]': expected a finite number",
                              doc->path, facet_key_path(key, sizeof key, where, "camera_to_world"),
                              j);
        e->c2w[j++] = v->valuedouble;
    }
    e->fov_deg = 50.0; /* three.js's default, only for files that omit it */
    if (path->projection == FACET_PROJECTION_PINHOLE) {
        if ((s = facet_json_get_number(doc, item, "fov", where, &e->fov_deg)) != FACET_OK) return s;
        if (!(e->fov_deg > 0.0 && e->fov_deg < 180.0))
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: key '%s': the vertical field of view must be in (0, 180) "
                              "degrees, got %g",
                              doc->path, facet_key_path(key, sizeof key, where, "fov"), e->fov_deg);
    } else if ((s = facet_json_opt_number(doc, item, "fov", where, &e->fov_deg)) != FACET_OK) {
        return s;
    }
    if ((s = facet_json_opt_number(doc, item, "aspect", where, &e->aspect)) != FACET_OK) return s;
    double time = 0.0;
    if ((s = facet_json_opt_number(doc, item, "render_time", where, &time)) != FACET_OK) return s;
    double rotation = NAN;
    if ((s = facet_json_opt_number(doc, item, "facet_env_rotation_deg", where, &rotation)) !=
        FACET_OK)
        return s;
    if (!isnan(rotation)) {
        if (!isfinite(rotation))
            return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected a finite number", doc->path,
                              facet_key_path(key, sizeof key, where, "facet_env_rotation_deg"));
        if ((s = facet_camera_path_set_key(path, index, NULL, (float)rotation)) != FACET_OK)
            return s;
    }
    const cJSON *kappa = cJSON_GetObjectItemCaseSensitive(item, "facet_kappa");
    if (kappa) {
        facet_key_path(key, sizeof key, where, "facet_kappa");
        if ((s = facet_json_object(doc, kappa, key)) != FACET_OK) return s;
        cJSON_ArrayForEach(v, kappa) {
            if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0.0 && v->valuedouble <= 1.0))
                return facet_fail(
                    FACET_ERR_FORMAT, "%s: key '%s.%s': expected a kappa in [0, 1], got %s",
                    doc->path, key, v->string,
                    cJSON_IsNumber(v) ? "a number outside it" : facet_json_type_name(v));
            if ((s = facet_camera_path_set_key(path, index, v->string, (float)v->valuedouble)) !=
                FACET_OK)
                return s;
        }
    }
    return FACET_OK;
}

static facet_status read_path(facet_camera_path *path, const facet_doc *doc) {
    const cJSON *root = doc->root;
    facet_status s = facet_json_object(doc, root, "");
    if (s != FACET_OK) return s;
    double width, height, fps = 24.0, seconds = 0.0;
    if ((s = facet_json_get_number(doc, root, "render_width", "", &width)) != FACET_OK ||
        (s = facet_json_get_number(doc, root, "render_height", "", &height)) != FACET_OK ||
        (s = facet_json_opt_number(doc, root, "fps", "", &fps)) != FACET_OK ||
        (s = facet_json_opt_number(doc, root, "seconds", "", &seconds)) != FACET_OK)
        return s;
    if (!(width >= 1 && width <= PATH_MAX_SIZE && height >= 1 && height <= PATH_MAX_SIZE) ||
        width != floor(width) || height != floor(height))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: render_width and render_height must be whole numbers in [1, %d], "
                          "got %g x %g",
                          doc->path, PATH_MAX_SIZE, width, height);
    if (!(fps > 0.0 && fps <= 1000.0))
        return facet_fail(FACET_ERR_FORMAT, "%s: key 'fps': expected a rate in (0, 1000], got %g",
                          doc->path, fps);
    path->width = (int)width;
    path->height = (int)height;
    path->fps = fps;
    path->seconds = seconds;
    const char *type = "perspective", *frame = "model";
    if ((s = facet_json_opt_string(doc, root, "camera_type", "", &type)) != FACET_OK ||
        (s = facet_json_opt_string(doc, root, "facet_frame", "", &frame)) != FACET_OK)
        return s;
    if (!strcmp(type, "perspective"))
        path->projection = FACET_PROJECTION_PINHOLE;
    else if (!strcmp(type, "equirectangular"))
        path->projection = FACET_PROJECTION_EQUIRECTANGULAR;
    else
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "%s: camera_type '%s' is not supported (facet renders 'perspective' and "
                          "'equirectangular')",
                          doc->path, type);
    if (!strcmp(frame, "model"))
        path->frame = FACET_PATH_FRAME_MODEL;
    else if (!strcmp(frame, "world"))
        path->frame = FACET_PATH_FRAME_WORLD;
    else
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key 'facet_frame': expected \"model\" or \"world\", got \"%s\"",
                          doc->path, frame);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "camera_path");
    if (!cJSON_IsArray(list))
        return facet_fail(FACET_ERR_FORMAT, "%s: key 'camera_path': expected an array, got %s",
                          doc->path, list ? facet_json_type_name(list) : "nothing");
    int count = cJSON_GetArraySize(list);
    if (count < 1 || count > PATH_MAX_FRAMES)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key 'camera_path': expected 1 to %d cameras, got %d", doc->path,
                          PATH_MAX_FRAMES, count);
    if (!(path->entries = facet_alloc_zeroed((size_t)count, sizeof *path->entries)))
        return facet_last_status();
    path->count = count;
    int index = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        if ((s = read_entry(path, doc, item, index++)) != FACET_OK) return s;
    }
    return FACET_OK;
}

facet_status facet_camera_path_load(facet_camera_path *path, const char *file) {
    memset(path, 0, sizeof *path);
    facet_doc doc;
    facet_status s = facet_json_load(&doc, file);
    if (s != FACET_OK) return s;
    s = read_path(path, &doc);
    facet_doc_free(&doc);
    if (s != FACET_OK) facet_camera_path_free(path);
    return s;
}

/* ---- writing ----------------------------------------------------------------------------------
 */

static int add_entry(cJSON *list, const facet_camera_path *path, const facet_path_entry *e) {
    cJSON *item = cJSON_CreateObject();
    if (!item || !cJSON_AddItemToArray(list, item)) {
        cJSON_Delete(item);
        return 0;
    }
    cJSON *m = cJSON_CreateDoubleArray(e->c2w, 16);
    if (!m || !cJSON_AddItemToObject(item, "camera_to_world", m)) {
        cJSON_Delete(m);
        return 0;
    }
    if (!cJSON_AddNumberToObject(item, "fov", e->fov_deg) ||
        !cJSON_AddNumberToObject(
            item, "aspect", e->aspect > 0 ? e->aspect : (double)path->width / (double)path->height))
        return 0;
    cJSON *kappa = NULL;
    for (int k = 0; k < e->key_count; k++) {
        if (!e->keys[k].object) {
            if (!cJSON_AddNumberToObject(item, "facet_env_rotation_deg", e->keys[k].value))
                return 0;
            continue;
        }
        if (!kappa && !(kappa = cJSON_AddObjectToObject(item, "facet_kappa"))) return 0;
        if (!cJSON_AddNumberToObject(kappa, e->keys[k].object, e->keys[k].value)) return 0;
    }
    return 1;
}

facet_status facet_camera_path_save(const facet_camera_path *path, const char *file) {
    cJSON *root = cJSON_CreateObject(), *list = NULL;
    int ok = root && cJSON_AddNumberToObject(root, "render_width", path->width) &&
             cJSON_AddNumberToObject(root, "render_height", path->height) &&
             cJSON_AddNumberToObject(root, "fps", path->fps) &&
             cJSON_AddNumberToObject(root, "seconds", path->seconds) &&
             cJSON_AddStringToObject(root, "camera_type",
                                     path->projection == FACET_PROJECTION_EQUIRECTANGULAR
                                         ? "equirectangular"
                                         : "perspective") &&
             cJSON_AddStringToObject(root, "facet_frame",
                                     path->frame == FACET_PATH_FRAME_WORLD ? "world" : "model") &&
             (list = cJSON_AddArrayToObject(root, "camera_path"));
    for (int i = 0; ok && i < path->count; i++) ok = add_entry(list, path, &path->entries[i]);
    facet_status s = ok ? facet_json_write_atomic(file, root)
                        : facet_fail(FACET_ERR_OUT_OF_MEMORY, "%s: out of memory", file);
    cJSON_Delete(root);
    return s;
}

/* ---- evaluating -------------------------------------------------------------------------------
 */

/* Inverse of a 3x3 (row-major) by cofactors; the caller's frames are similarities, never
 * singular. */
static void invert3(const double *a, double *out) {
    double c[9] = {a[4] * a[8] - a[5] * a[7], a[5] * a[6] - a[3] * a[8], a[3] * a[7] - a[4] * a[6],
                   a[2] * a[7] - a[1] * a[8], a[0] * a[8] - a[2] * a[6], a[1] * a[6] - a[0] * a[7],
                   a[1] * a[5] - a[2] * a[4], a[2] * a[3] - a[0] * a[5], a[0] * a[4] - a[1] * a[3]};
    double det = a[0] * c[0] + a[1] * c[1] + a[2] * c[2];
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 3; k++) out[r * 3 + k] = c[k * 3 + r] / det; /* adjugate / det */
}

facet_camera facet_camera_path_camera(const facet_camera_path *path, int index,
                                      const facet_model_frame *model) {
    const facet_path_entry *e = &path->entries[index];
    double c2w[16];
    memcpy(c2w, e->c2w, sizeof c2w);
    if (path->frame == FACET_PATH_FRAME_MODEL && model) {
        /* world pose = [R^-1 A | R^-1 (a / s - t)] for model pose [A | a] */
        double ri[9];
        invert3(model->r, ri);
        for (int r = 0; r < 3; r++) {
            for (int k = 0; k < 3; k++)
                c2w[r * 4 + k] = ri[r * 3 + 0] * e->c2w[0 * 4 + k] +
                                 ri[r * 3 + 1] * e->c2w[1 * 4 + k] +
                                 ri[r * 3 + 2] * e->c2w[2 * 4 + k];
            double p = 0.0;
            for (int k = 0; k < 3; k++)
                p += ri[r * 3 + k] * (e->c2w[k * 4 + 3] / model->scale - model->t[k]);
            c2w[r * 4 + 3] = p;
        }
    }
    facet_camera cam = {0};
    for (int i = 0; i < 16; i++) cam.c2w.m[i] = (float)c2w[i];
    cam.width = path->width;
    cam.height = path->height;
    cam.projection = path->projection;
    double focal = 0.5 * path->height / tan(0.5 * e->fov_deg * pi / 180.0);
    cam.fx = cam.fy = (float)focal;
    cam.cx = 0.5f * (float)path->width;
    cam.cy = 0.5f * (float)path->height;
    return cam;
}

double facet_vertical_fov_deg(double fy, int height) {
    return 2.0 * atan(0.5 * (double)height / fy) * 180.0 / pi;
}

void facet_camera_path_to_model_frame(facet_camera_path *path, const facet_model_frame *m) {
    if (path->frame == FACET_PATH_FRAME_MODEL) return;
    for (int i = 0; i < path->count; i++) {
        double *c = path->entries[i].c2w, out[16];
        memcpy(out, c, sizeof out);
        for (int r = 0; r < 3; r++) { /* A' = R A, a' = s (R a + t) */
            for (int k = 0; k < 3; k++)
                out[r * 4 + k] =
                    m->r[r * 3] * c[k] + m->r[r * 3 + 1] * c[4 + k] + m->r[r * 3 + 2] * c[8 + k];
            out[r * 4 + 3] = m->scale * (m->r[r * 3] * c[3] + m->r[r * 3 + 1] * c[7] +
                                         m->r[r * 3 + 2] * c[11] + m->t[r]);
        }
        memcpy(c, out, sizeof out);
    }
    path->frame = FACET_PATH_FRAME_MODEL;
}

static const facet_path_key *find_key(const facet_path_entry *e, const char *object) {
    for (int k = 0; k < e->key_count; k++)
        if (same_channel(e->keys[k].object, object)) return &e->keys[k];
    return NULL;
}

int facet_camera_path_value(const facet_camera_path *path, int index, const char *object,
                            float *value) {
    int before = -1, after = -1;
    for (int i = index; i >= 0 && before < 0; i--)
        if (find_key(&path->entries[i], object)) before = i;
    for (int i = index; i < path->count && after < 0; i++)
        if (find_key(&path->entries[i], object)) after = i;
    if (before < 0 && after < 0) return 0;
    if (before < 0 || after < 0 || before == after) {
        *value = find_key(&path->entries[before >= 0 ? before : after], object)->value;
        return 1;
    }
    double a = find_key(&path->entries[before], object)->value;
    double b = find_key(&path->entries[after], object)->value;
    double u = (double)(index - before) / (double)(after - before);
    *value = (float)(a + (b - a) * u);
    return 1;
}

int facet_camera_path_objects(const facet_camera_path *path, const char **names, int max) {
    int n = 0;
    for (int i = 0; i < path->count; i++)
        for (int k = 0; k < path->entries[i].key_count; k++) {
            const char *name = path->entries[i].keys[k].object;
            if (!name) continue;
            int seen = 0;
            for (int j = 0; j < n && !seen; j++) seen = !strcmp(names[j], name);
            if (!seen && n < max) names[n++] = name;
        }
    return n;
}

/* ---- building ---------------------------------------------------------------------------------
 */

/* Rotation matrix (row-major 3x3 inside a 4x4) <-> unit quaternion (w, x, y, z). */
static void quat_from_c2w(const double *m, double q[4]) {
    double r00 = m[0], r01 = m[1], r02 = m[2], r10 = m[4], r11 = m[5], r12 = m[6], r20 = m[8],
           r21 = m[9], r22 = m[10];
    double trace = r00 + r11 + r22;
    if (trace > 0.0) {
        double s = 2.0 * sqrt(trace + 1.0);
        q[0] = 0.25 * s, q[1] = (r21 - r12) / s, q[2] = (r02 - r20) / s, q[3] = (r10 - r01) / s;
    } else if (r00 > r11 && r00 > r22) {
        double s = 2.0 * sqrt(1.0 + r00 - r11 - r22);
        q[0] = (r21 - r12) / s, q[1] = 0.25 * s, q[2] = (r01 + r10) / s, q[3] = (r02 + r20) / s;
    } else if (r11 > r22) {
        double s = 2.0 * sqrt(1.0 + r11 - r00 - r22);
        q[0] = (r02 - r20) / s, q[1] = (r01 + r10) / s, q[2] = 0.25 * s, q[3] = (r12 + r21) / s;
    } else {
        double s = 2.0 * sqrt(1.0 + r22 - r00 - r11);
        q[0] = (r10 - r01) / s, q[1] = (r02 + r20) / s, q[2] = (r12 + r21) / s, q[3] = 0.25 * s;
    }
    double n = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    for (int i = 0; i < 4; i++) q[i] /= n;
}

static void quat_to_c2w(const double q[4], double *m) {
    double w = q[0], x = q[1], y = q[2], z = q[3];
    m[0] = 1 - 2 * (y * y + z * z), m[1] = 2 * (x * y - w * z), m[2] = 2 * (x * z + w * y);
    m[4] = 2 * (x * y + w * z), m[5] = 1 - 2 * (x * x + z * z), m[6] = 2 * (y * z - w * x);
    m[8] = 2 * (x * z - w * y), m[9] = 2 * (y * z + w * x), m[10] = 1 - 2 * (x * x + y * y);
}

/* Shortest-arc spherical interpolation of unit quaternions, u in [0, 1]. */
static void slerp(const double a[4], const double b_in[4], double u, double out[4]) {
    double b[4] = {b_in[0], b_in[1], b_in[2], b_in[3]};
    double d = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
    if (d < 0.0) {
        d = -d;
        for (int i = 0; i < 4; i++) b[i] = -b[i];
    }
    double wa, wb;
    if (d > 0.9995) { /* nearly equal: linear, then normalised */
        wa = 1.0 - u;
        wb = u;
    } else {
        double angle = acos(d), s = sin(angle);
        wa = sin((1.0 - u) * angle) / s;
        wb = sin(u * angle) / s;
    }
    double n = 0.0;
    for (int i = 0; i < 4; i++) {
        out[i] = wa * a[i] + wb * b[i];
        n += out[i] * out[i];
    }
    n = sqrt(n);
    for (int i = 0; i < 4; i++) out[i] /= n;
}

/* Barry-Goldman evaluation of the Catmull-Rom segment p1 -> p2 with knots t0 < t1 < t2 < t3, at
 * time t in [t1, t2] (one coordinate). */
static double catmull_rom(double p0, double p1, double p2, double p3, double t0, double t1,
                          double t2, double t3, double t) {
    double a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1;
    double a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2;
    double a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3;
    double b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2;
    double b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3;
    return (t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2;
}

static facet_status path_alloc(facet_camera_path *out, int frames, double fps, int width,
                               int height) {
    memset(out, 0, sizeof *out);
    if (frames < 1 || frames > PATH_MAX_FRAMES)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "a path needs 1 to %d frames, got %d",
                          PATH_MAX_FRAMES, frames);
    if (!(fps > 0.0 && fps <= 1000.0))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "fps must be in (0, 1000], got %g", fps);
    if (width < 1 || height < 1 || width > PATH_MAX_SIZE || height > PATH_MAX_SIZE)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "image size %d x %d is outside [1, %d]",
                          width, height, PATH_MAX_SIZE);
    if (!(out->entries = facet_alloc_zeroed((size_t)frames, sizeof *out->entries)))
        return facet_last_status();
    out->count = frames;
    out->fps = fps;
    out->seconds = frames / fps;
    out->width = width;
    out->height = height;
    out->projection = FACET_PROJECTION_PINHOLE;
    out->frame = FACET_PATH_FRAME_MODEL;
    return FACET_OK;
}

facet_status facet_camera_path_interpolate(facet_camera_path *out, const facet_pose_key *keys,
                                           int key_count, double fps, int width, int height) {
    memset(out, 0, sizeof *out);
    if (key_count < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "interpolation needs at least one keyframe");
    for (int k = 0; k < key_count; k++) {
        if (!isfinite(keys[k].time) || (k == 0 && keys[k].time != 0.0) ||
            (k > 0 && !(keys[k].time > keys[k - 1].time)))
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "keyframe times must start at 0 and increase (keyframe %d at %g s)",
                              k, keys[k].time);
        if (!(keys[k].fov_deg > 0.0 && keys[k].fov_deg < 180.0))
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "keyframe %d: field of view %g is outside (0, 180) degrees", k,
                              keys[k].fov_deg);
    }
    double last = keys[key_count - 1].time;
    if (!(fps > 0.0) || !(last * fps < PATH_MAX_FRAMES))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "%g s at %g fps is too long a path", last,
                          fps);
    int frames = (int)lround(last * fps) + 1;
    facet_status s = path_alloc(out, frames, fps, width, height);
    if (s != FACET_OK) return s;
    out->seconds = last;
    for (int f = 0; f < frames; f++) {
        double t = fmin((double)f / fps, last);
        int k = 0; /* segment keys[k] -> keys[k + 1] */
        while (k + 2 < key_count && t > keys[k + 1].time) k++;
        facet_path_entry *e = &out->entries[f];
        if (key_count == 1) {
            memcpy(e->c2w, keys[0].c2w, sizeof e->c2w);
            e->fov_deg = keys[0].fov_deg;
            continue;
        }
        const facet_pose_key *k1 = &keys[k], *k2 = &keys[k + 1];
        double t1 = k1->time, t2 = k2->time;
        /* neighbours; missing ones reflected through the segment's ends */
        double t0 = k > 0 ? keys[k - 1].time : 2.0 * t1 - t2;
        double t3 = k + 2 < key_count ? keys[k + 2].time : 2.0 * t2 - t1;
        double u = (t - t1) / (t2 - t1);
        for (int c = 0; c < 3; c++) {
            double p1 = k1->c2w[c * 4 + 3], p2 = k2->c2w[c * 4 + 3];
            double p0 = k > 0 ? keys[k - 1].c2w[c * 4 + 3] : 2.0 * p1 - p2;
            double p3 = k + 2 < key_count ? keys[k + 2].c2w[c * 4 + 3] : 2.0 * p2 - p1;
            e->c2w[c * 4 + 3] = catmull_rom(p0, p1, p2, p3, t0, t1, t2, t3, t);
        }
        double qa[4], qb[4], q[4];
        quat_from_c2w(k1->c2w, qa);
        quat_from_c2w(k2->c2w, qb);
        slerp(qa, qb, u, q);
        quat_to_c2w(q, e->c2w);
        e->c2w[15] = 1.0;
        e->fov_deg = k1->fov_deg + (k2->fov_deg - k1->fov_deg) * u;
    }
    return FACET_OK;
}

static void normalise3(double *v) {
    double n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    for (int i = 0; i < 3; i++) v[i] /= n;
}

static void cross3(const double *a, const double *b, double *out) {
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

facet_status facet_camera_path_orbit(facet_camera_path *out, const double center[3],
                                     const double up_in[3], double radius, double elevation_deg,
                                     double azimuth_deg, int frames, double fov_deg, double fps,
                                     int width, int height) {
    memset(out, 0, sizeof *out);
    double up[3] = {up_in[0], up_in[1], up_in[2]};
    double n = sqrt(up[0] * up[0] + up[1] * up[1] + up[2] * up[2]);
    if (!(n > 0.0) || !(radius > 0.0) || !isfinite(radius) || !(fabs(elevation_deg) < 90.0) ||
        !(fov_deg > 0.0 && fov_deg < 180.0))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "orbit: needs a non-zero up axis, radius > 0, elevation in (-90, 90) "
                          "and a field of view in (0, 180) degrees");
    facet_status s = path_alloc(out, frames, fps, width, height);
    if (s != FACET_OK) return s;
    normalise3(up);
    /* a horizontal basis (e1, e2) with e1 x e2 = up: e1 = +x for z up, +z for y up */
    double e1[3] = {1, 0, 0}, e2[3];
    if (fabs(up[0]) > 0.9) e1[0] = 0, e1[1] = 1;
    if (fabs(up[1]) > 0.9) e1[0] = 0, e1[2] = 1;
    double d = e1[0] * up[0] + e1[1] * up[1] + e1[2] * up[2];
    for (int i = 0; i < 3; i++) e1[i] -= d * up[i];
    normalise3(e1);
    cross3(up, e1, e2);
    double el = elevation_deg * pi / 180.0;
    for (int f = 0; f < frames; f++) {
        double az = azimuth_deg * pi / 180.0 + 2.0 * pi * f / frames;
        double back[3], right[3], cam_up[3]; /* camera +z (away from the center), +x, +y */
        for (int i = 0; i < 3; i++)
            back[i] = cos(el) * (cos(az) * e1[i] + sin(az) * e2[i]) + sin(el) * up[i];
        cross3(up, back, right);
        normalise3(right);
        cross3(back, right, cam_up);
        facet_path_entry *e = &out->entries[f];
        for (int r = 0; r < 3; r++) {
            e->c2w[r * 4 + 0] = right[r];
            e->c2w[r * 4 + 1] = cam_up[r];
            e->c2w[r * 4 + 2] = back[r];
            e->c2w[r * 4 + 3] = center[r] + radius * back[r];
        }
        e->c2w[15] = 1.0;
        e->fov_deg = fov_deg;
    }
    return FACET_OK;
}

facet_status facet_camera_path_add_keys(facet_camera_path *path, const char *object,
                                        const char *text) {
    const char *what = object ? object : "env-rotation";
    const char *p = text;
    while (*p) {
        char *end;
        double when = strtod(p, &end);
        if (end == p)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "%s keyframes '%s': expected TIME:VALUE pairs (TIME a frame "
                              "index or seconds such as 2s)",
                              what, text);
        int frame;
        if (*end == 's') {
            frame = (int)lround(when * path->fps);
            end++;
        } else {
            frame = (int)when;
            if ((double)frame != when)
                return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                                  "%s keyframes '%s': frame %g is not a whole number (write "
                                  "seconds as %gs)",
                                  what, text, when, when);
        }
        if (*end != ':')
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "%s keyframes '%s': expected ':' after the time", what, text);
        p = end + 1;
        double value = strtod(p, &end);
        if (end == p || !isfinite(value) || (*end && *end != ',') || (*end == ',' && !end[1]))
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "%s keyframes '%s': expected a number after ':'", what, text);
        if (object && !(value >= 0.0 && value <= 1.0))
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "%s keyframes '%s': kappa %g is outside [0, 1]", what, text, value);
        if (!(when >= 0.0) || frame < 0 || frame >= path->count)
            return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                              "%s keyframes '%s': a time is outside the path (frames 0..%d at "
                              "%g fps)",
                              what, text, path->count - 1, path->fps);
        facet_status s = facet_camera_path_set_key(path, frame, object, (float)value);
        if (s != FACET_OK) return s;
        p = *end == ',' ? end + 1 : end;
    }
    return FACET_OK;
}
