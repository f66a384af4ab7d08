/* Blender/NeRF-synthetic and nerfstudio transforms.json readers and the split rules
 * (docs/formats.md, "Datasets"; dataset.h). Split rules follow nerfstudio's
 * nerfstudio/data/utils/dataparsers_utils.py and the LiveScene dataparsers
 * (Tavish9/livescene livescene/datamanager/livescene_dataparser.py). */
#include "dataset.h"

#include "livescene.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/image.h"
#include "core/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const split_names[] = {"all", "train", "val", "test"};

int facet_split_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(name, split_names[i]) == 0) return i;
    return -1;
}

const char *facet_split_name(facet_split split) {
    if ((int)split < 0 || (int)split > FACET_SPLIT_TEST) return "unknown";
    return split_names[split];
}

/* ---- frames ---------------------------------------------------------------------------------- */

typedef struct frame_vec {
    facet_frame *items;
    int count, capacity;
} frame_vec;

static void frame_clear(facet_frame *f) {
    free(f->name);
    free(f->image_path);
    free(f->mask_path);
    free(f->kappa);
    free(f->kappa_known);
    memset(f, 0, sizeof *f);
}

static void frame_vec_free(frame_vec *v) {
    for (int i = 0; i < v->count; i++) frame_clear(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof *v);
}

/* A zeroed slot at the end of v, or NULL (error set). */
static facet_frame *frame_vec_push(frame_vec *v) {
    if (v->count == v->capacity) {
        int capacity = v->capacity ? 2 * v->capacity : 16;
        facet_frame *items = facet_realloc(v->items, (size_t)capacity, sizeof *items);
        if (!items) return NULL;
        v->items = items;
        v->capacity = capacity;
    }
    facet_frame *f = &v->items[v->count++];
    memset(f, 0, sizeof *f);
    return f;
}

/* Keeps v->items[order[0..n-1]] in that order and frees the others. */
static facet_status frame_vec_select(frame_vec *v, const int *order, int n) {
    facet_frame *kept = facet_alloc_zeroed((size_t)(n ? n : 1), sizeof *kept);
    if (!kept) return facet_last_status();
    for (int i = 0; i < n; i++) {
        kept[i] = v->items[order[i]];
        memset(&v->items[order[i]], 0, sizeof v->items[order[i]]);
    }
    frame_vec_free(v);
    v->items = kept;
    v->count = v->capacity = n;
    return FACET_OK;
}

/* ---- paths ----------------------------------------------------------------------------------- */

/* Extensions of the images a transforms file may name (stb_image's formats and EXR). */
static int has_image_extension(const char *path) {
    static const char *const known[] = {".png", ".jpg", ".jpeg", ".exr", ".bmp", ".tga", ".hdr",
                                        ".gif", ".psd", ".pnm",  ".ppm", ".pgm", NULL};
    const char *ext = facet_path_extension(path);
    for (const char *const *k = known; *k; k++)
        if (strcasecmp(ext, *k) == 0) return 1;
    return 0;
}

/* file_path as written -> the path relative to the transforms file: leading "./" dropped and ".png"
 * appended when it has no image extension (Blender's "./train/r_0"). Allocation. */
static char *file_path_with_extension(const char *file_path) {
    while (strncmp(file_path, "./", 2) == 0) file_path += 2;
    if (has_image_extension(file_path)) return facet_strdup(file_path);
    return facet_format("%s.png", file_path);
}

/* "a//./b/" -> "a/b": empty and "." components dropped (as pathlib does) for comparisons. */
static char *normalized_path(const char *path) {
    char *out = facet_alloc(strlen(path) + 2, 1);
    if (!out) return NULL;
    size_t n = 0;
    if (path[0] == '/') out[n++] = '/';
    const char *p = path;
    while (*p) {
        while (*p == '/') p++;
        size_t len = strcspn(p, "/");
        if (len == 0) break;
        if (!(len == 1 && p[0] == '.')) {
            if (n > 0 && out[n - 1] != '/') out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
    }
    out[n] = '\0';
    return out;
}

/* Orders paths by their components like pathlib's PurePosixPath comparison (what nerfstudio's
 * np.argsort over image file names does): "a/b" < "a-b/c" because "a" < "a-b". */
static int compare_path_components(const char *a, const char *b) {
    for (;;) {
        while (*a == '/') a++;
        while (*b == '/') b++;
        if (!*a || !*b) return (*a != '\0') - (*b != '\0');
        size_t na = strcspn(a, "/"), nb = strcspn(b, "/");
        int c = memcmp(a, b, na < nb ? na : nb);
        if (c) return c;
        if (na != nb) return na < nb ? -1 : 1;
        a += na;
        b += nb;
    }
}

static char *parent_directory(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return facet_strdup(".");
    if (slash == path) return facet_strdup("/");
    return facet_format("%.*s", (int)(slash - path), path);
}

/* ---- image size from the file header --------------------------------------------------------- */

/* Width and height read from the image header only (core/image.h facet_image_header_size: PNG,
 * JPEG, EXR and stb_image's other formats), from the file's first 64 KiB, or its first 4 MiB when
 * the header lies further in (JPEG APP segments), and held to the image caps. */
static facet_status image_size(const char *path, int *width, int *height) {
    FILE *f = fopen(path, "rb");
    if (!f) return facet_fail(FACET_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    static const size_t prefixes[2] = {(size_t)1 << 16, (size_t)1 << 22};
    unsigned char *head = NULL;
    int64_t w = 0, h = 0;
    int known = 0;
    size_t got = 0;
    for (int k = 0; k < 2 && !known; k++) {
        unsigned char *grown = realloc(head, prefixes[k]);
        if (!grown) break;
        head = grown;
        got += fread(head + got, 1, prefixes[k] - got, f);
        known = facet_image_header_size(head, got, &w, &h);
        if (got < prefixes[k]) break; /* the whole file was read */
    }
    fclose(f);
    free(head);
    if (!known) return facet_fail(FACET_ERR_FORMAT, "'%s': cannot read the image header", path);
    if (w <= 0 || h <= 0)
        return facet_fail(FACET_ERR_FORMAT, "'%s': the header declares %lldx%lld pixels", path,
                          (long long)w, (long long)h);
    facet_status s = facet_image_check_size(w, h, path);
    if (s != FACET_OK) return s;
    *width = (int)w;
    *height = (int)h;
    return FACET_OK;
}

/* ---- camera keys ----------------------------------------------------------------------------- */

/* The intrinsics keys of a transforms file, NAN where absent. */
typedef struct camera_keys {
    double fl_x, fl_y, cx, cy, w, h; /* pixels */
    double camera_angle_x;           /* radians, horizontal field of view */
} camera_keys;

/* Overrides the fields of `keys` present in `object`. */
static facet_status read_camera_keys(const facet_doc *doc, const cJSON *object, camera_keys *keys) {
    struct {
        const char *name;
        double *value;
    } fields[] = {{"fl_x", &keys->fl_x},
                  {"fl_y", &keys->fl_y},
                  {"cx", &keys->cx},
                  {"cy", &keys->cy},
                  {"w", &keys->w},
                  {"h", &keys->h},
                  {"camera_angle_x", &keys->camera_angle_x}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        facet_status s = facet_json_opt_number(doc, object, fields[i].name, "", fields[i].value);
        if (s != FACET_OK) return s;
    }
    return FACET_OK;
}

/* nerfstudio's perspective camera models (cameras.py CAMERA_MODEL_TO_TYPE); distortion is checked
 * separately, so with zero coefficients all of them are the pinhole model. */
static facet_status check_camera_model(const facet_doc *doc, const cJSON *object) {
    static const char *const perspective[] = {"PINHOLE", "SIMPLE_PINHOLE", "OPENCV",
                                              "RADIAL",  "SIMPLE_RADIAL",  NULL};
    const char *model = NULL;
    facet_status s = facet_json_opt_string(doc, object, "camera_model", "", &model);
    if (s != FACET_OK || !model) return s;
    for (const char *const *p = perspective; *p; p++)
        if (strcmp(model, *p) == 0) return FACET_OK;
    return facet_fail(FACET_ERR_UNSUPPORTED,
                      "%s: camera_model '%s' not supported (perspective models only: PINHOLE, "
                      "SIMPLE_PINHOLE, OPENCV, RADIAL, SIMPLE_RADIAL)",
                      doc->path, model);
}

static facet_status distortion_error(const facet_doc *doc, const char *key, double value) {
    return facet_fail(FACET_ERR_UNSUPPORTED,
                      "%s: key '%s' is %g: distortion not supported (undistort the images first)",
                      doc->path, key, value);
}

static facet_status check_distortion(const facet_doc *doc, const cJSON *object) {
    static const char *const keys[] = {"k1", "k2", "k3", "k4", "p1", "p2", NULL};
    for (const char *const *k = keys; *k; k++) {
        double v = 0.0;
        facet_status s = facet_json_opt_number(doc, object, *k, "", &v);
        if (s != FACET_OK) return s;
        if (v != 0.0) return distortion_error(doc, *k, v);
    }
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(object, "distortion_params");
    if (!params) return FACET_OK;
    if (!cJSON_IsArray(params))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key 'distortion_params': expected an array, got %s", doc->path,
                          facet_json_type_name(params));
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, params) {
        char key[64];
        snprintf(key, sizeof key, "distortion_params[%d]", i++);
        if (!cJSON_IsNumber(v))
            return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected a number, got %s",
                              doc->path, key, facet_json_type_name(v));
        if (v->valuedouble != 0.0) return distortion_error(doc, key, v->valuedouble);
    }
    return FACET_OK;
}

static facet_status pixel_count(const facet_doc *doc, const char *key, double value, int *out) {
    if (!(value >= 1.0) || value != floor(value))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: key '%s': expected a positive whole number of pixels, got %g",
                          doc->path, key, value);
    if (value > FACET_IMAGE_MAX_SIDE)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "%s: key '%s': %g pixels is too large (images have at most %d pixels a "
                          "side)",
                          doc->path, key, value, FACET_IMAGE_MAX_SIDE);
    *out = (int)value;
    return FACET_OK;
}

/* ---- one frame ------------------------------------------------------------------------------- */

/* Fills `out` from frames[index]; `global` holds the file-level camera keys. `frame_doc` names the
 * frame in messages ("<file>: frames[3]"). */
static facet_status parse_frame(const facet_doc *frame_doc, const char *transforms_path,
                                const cJSON *frame, const camera_keys *global, facet_frame *out) {
    const char *file_path;
    facet_status s = facet_json_get_string(frame_doc, frame, "file_path", "", &file_path);
    if (s != FACET_OK) return s;
    if (!file_path[0])
        return facet_fail(FACET_ERR_FORMAT, "%s: key 'file_path' is empty", frame_doc->path);
    s = facet_json_get_mat4(frame_doc, frame, "transform_matrix", "", out->c2w);
    if (s != FACET_OK) return s;
    s = check_camera_model(frame_doc, frame);
    if (s != FACET_OK) return s;
    s = check_distortion(frame_doc, frame);
    if (s != FACET_OK) return s;
    camera_keys cam = *global;
    s = read_camera_keys(frame_doc, frame, &cam);
    if (s != FACET_OK) return s;

    char *relative = file_path_with_extension(file_path);
    if (!relative) return facet_last_status();
    out->image_path = facet_path_relative_to_file(transforms_path, relative);
    out->name = facet_alloc(strlen(relative) + 1, 1);
    if (out->name) facet_path_stem(relative, out->name, strlen(relative) + 1);
    free(relative);
    if (!out->image_path || !out->name) return facet_last_status();

    int width = 0, height = 0;
    if (isnan(cam.w) || isnan(cam.h)) {
        s = image_size(out->image_path, &width, &height);
        if (s != FACET_OK)
            return facet_error_context("%s: no 'w'/'h' given, reading the size from the image",
                                       frame_doc->path);
    }
    if (!isnan(cam.w) && (s = pixel_count(frame_doc, "w", cam.w, &width)) != FACET_OK) return s;
    if (!isnan(cam.h) && (s = pixel_count(frame_doc, "h", cam.h, &height)) != FACET_OK) return s;
    out->width = width;
    out->height = height;

    if (!isnan(cam.fl_x)) {
        out->fx = cam.fl_x;
    } else if (!isnan(cam.camera_angle_x)) {
        if (!(cam.camera_angle_x > 0.0 && cam.camera_angle_x < M_PI))
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: key 'camera_angle_x': expected radians in (0, pi), got %g",
                              frame_doc->path, cam.camera_angle_x);
        out->fx = 0.5 * width / tan(0.5 * cam.camera_angle_x);
    } else {
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: missing key 'fl_x' (and the file has no global 'fl_x' or "
                          "'camera_angle_x')",
                          frame_doc->path);
    }
    out->fy = isnan(cam.fl_y) ? out->fx : cam.fl_y;
    out->cx = isnan(cam.cx) ? 0.5 * width : cam.cx;
    out->cy = isnan(cam.cy) ? 0.5 * height : cam.cy;
    if (!(out->fx > 0.0 && out->fy > 0.0 && isfinite(out->fx) && isfinite(out->fy)))
        return facet_fail(FACET_ERR_FORMAT, "%s: focal length must be positive (fx %g, fy %g)",
                          frame_doc->path, out->fx, out->fy);
    return FACET_OK;
}

/* ---- one transforms file --------------------------------------------------------------------- */

/* Parses `path` (kept open in *doc for the split keys) and appends all its frames to `frames`. */
static facet_status parse_transforms(const char *path, facet_doc *doc, frame_vec *frames) {
    facet_status s = facet_json_load(doc, path);
    if (s != FACET_OK) return s;
    const cJSON *root = doc->root;
    if (!cJSON_IsObject(root))
        return facet_fail(FACET_ERR_FORMAT, "%s: expected a JSON object at the top level, got %s",
                          path, facet_json_type_name(root));
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "frames");
    if (!list) return facet_fail(FACET_ERR_FORMAT, "%s: missing key 'frames'", path);
    if (!cJSON_IsArray(list))
        return facet_fail(FACET_ERR_FORMAT, "%s: key 'frames': expected an array, got %s", path,
                          facet_json_type_name(list));
    if (cJSON_GetArraySize(list) == 0)
        return facet_fail(FACET_ERR_FORMAT, "%s: key 'frames' is empty", path);
    if (cJSON_GetArraySize(list) > FACET_DATASET_MAX_FRAMES - frames->count)
        return facet_fail(FACET_ERR_UNSUPPORTED,
                          "%s: %d frames is too large a count (a dataset holds at most %d frames)",
                          path, frames->count + cJSON_GetArraySize(list), FACET_DATASET_MAX_FRAMES);
    if ((s = check_camera_model(doc, root)) != FACET_OK) return s;
    if ((s = check_distortion(doc, root)) != FACET_OK) return s;
    camera_keys global = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    if ((s = read_camera_keys(doc, root, &global)) != FACET_OK) return s;
    int pixels;
    if (!isnan(global.w) && (s = pixel_count(doc, "w", global.w, &pixels)) != FACET_OK) return s;
    if (!isnan(global.h) && (s = pixel_count(doc, "h", global.h, &pixels)) != FACET_OK) return s;

    int index = 0;
    const cJSON *frame;
    cJSON_ArrayForEach(frame, list) {
        char *label = facet_format("%s: frames[%d]", path, index);
        if (!label) return facet_last_status();
        facet_doc frame_doc = {.root = doc->root, .path = label};
        facet_frame *out = NULL;
        if (!cJSON_IsObject(frame))
            s = facet_fail(FACET_ERR_FORMAT, "%s: expected an object, got %s", label,
                           facet_json_type_name(frame));
        else if (!(out = frame_vec_push(frames)))
            s = facet_last_status();
        else
            s = parse_frame(&frame_doc, path, frame, &global, out);
        free(label);
        if (s != FACET_OK) return s;
        out->index = index++;
    }
    return FACET_OK;
}

/* ---- split selection for a single transforms.json
 * ------------------------------------------------ */

typedef struct sort_entry {
    const char *path;
    int index;
} sort_entry;

static int sort_entry_compare(const void *pa, const void *pb) {
    const sort_entry *a = pa, *b = pb;
    int c = compare_path_components(a->path, b->path);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

/* nerfstudio get_train_eval_split_fraction over the frames sorted by image path:
 * train = np.linspace(0, n-1, ceil(n * fraction), dtype=int), eval = the others. Fills order[]
 * with the kept frames (sorted order) and returns their count. */
static facet_status fraction_order(const frame_vec *frames, facet_split split, double fraction,
                                   int *order, int *count) {
    int n = frames->count;
    sort_entry *sorted = facet_alloc((size_t)n, sizeof *sorted);
    char *is_train = facet_alloc_zeroed((size_t)n, 1);
    if (!sorted || !is_train) {
        free(sorted);
        free(is_train);
        return facet_last_status();
    }
    for (int i = 0; i < n; i++) sorted[i] = (sort_entry){frames->items[i].image_path, i};
    qsort(sorted, (size_t)n, sizeof *sorted, sort_entry_compare);
    int train_count = (int)ceil(n * fraction);
    if (train_count > n) train_count = n;
    /* numpy linspace: i * step + start, the last sample set to stop exactly, floored for int. */
    double step = train_count > 1 ? (double)(n - 1) / (double)(train_count - 1) : 0.0;
    for (int i = 0; i < train_count; i++) {
        int k = i == train_count - 1 && train_count > 1 ? n - 1 : (int)floor(i * step);
        is_train[k] = 1;
    }
    int kept = 0;
    for (int k = 0; k < n; k++) {
        int want = split == FACET_SPLIT_ALL || (split == FACET_SPLIT_TRAIN) == (is_train[k] != 0);
        if (want) order[kept++] = sorted[k].index;
    }
    *count = kept;
    free(sorted);
    free(is_train);
    return FACET_OK;
}

/* nerfstudio's "<split>_filenames" lists: paths relative to the transforms file, matched against
 * each frame's image path. */
static facet_status filename_order(const facet_doc *doc, const frame_vec *frames, facet_split split,
                                   int *order, int *count) {
    const char *path = doc->path;
    char key[32];
    snprintf(key, sizeof key, "%s_filenames", facet_split_name(split));
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc->root, key);
    if (!list)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: lists split filenames but has no '%s' for the %s split", path, key,
                          facet_split_name(split));
    if (!cJSON_IsArray(list))
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected an array, got %s", path, key,
                          facet_json_type_name(list));
    int n = frames->count;
    char **normal = facet_alloc_zeroed((size_t)n, sizeof *normal);
    char *keep = facet_alloc_zeroed((size_t)n, 1);
    facet_status s = normal && keep ? FACET_OK : facet_last_status();
    for (int i = 0; s == FACET_OK && i < n; i++)
        if (!(normal[i] = normalized_path(frames->items[i].image_path))) s = facet_last_status();
    int j = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, list) {
        if (s != FACET_OK) break;
        if (!cJSON_IsString(entry)) {
            s = facet_fail(FACET_ERR_FORMAT, "%s: key '%s[%d]': expected a string, got %s", path,
                           key, j, facet_json_type_name(entry));
            break;
        }
        char *relative = file_path_with_extension(entry->valuestring);
        char *resolved = relative ? facet_path_relative_to_file(path, relative) : NULL;
        char *wanted = resolved ? normalized_path(resolved) : NULL;
        if (!wanted) s = facet_last_status();
        int found = 0;
        for (int i = 0; s == FACET_OK && i < n; i++)
            if (strcmp(normal[i], wanted) == 0) keep[i] = found = 1;
        if (s == FACET_OK && !found)
            s = facet_fail(FACET_ERR_NOT_FOUND,
                           "%s: key '%s[%d]': '%s' matches no frame's file_path", path, key, j,
                           entry->valuestring);
        free(relative);
        free(resolved);
        free(wanted);
        j++;
    }
    int kept = 0;
    for (int i = 0; s == FACET_OK && i < n; i++)
        if (keep[i]) order[kept++] = i;
    *count = kept;
    for (int i = 0; normal && i < n; i++) free(normal[i]);
    free(normal);
    free(keep);
    return s;
}

static int lists_split_filenames(const cJSON *root) {
    return cJSON_GetObjectItemCaseSensitive(root, "train_filenames") ||
           cJSON_GetObjectItemCaseSensitive(root, "val_filenames") ||
           cJSON_GetObjectItemCaseSensitive(root, "test_filenames");
}

/* Keeps the frames of `split` from a single transforms file's frames. */
static facet_status select_split(const facet_doc *doc, frame_vec *frames, facet_split split,
                                 const facet_dataset_options *opt) {
    int n = frames->count;
    int *order = facet_alloc((size_t)n, sizeof *order);
    if (!order) return facet_last_status();
    int count = 0;
    facet_status s = FACET_OK;
    if (lists_split_filenames(doc->root) && split != FACET_SPLIT_ALL) {
        s = filename_order(doc, frames, split, order, &count);
    } else if (opt->split_mode == FACET_SPLIT_MODE_FRACTION) {
        s = fraction_order(frames, split, opt->train_fraction, order, &count);
    } else {
        /* get_train_eval_split_interval: eval when i % eval_interval == 0, in file order. */
        for (int i = 0; i < n; i++) {
            int eval = i % opt->eval_interval == 0;
            int want = split == FACET_SPLIT_ALL || opt->split_mode == FACET_SPLIT_MODE_ALL ||
                       (split == FACET_SPLIT_TRAIN ? !eval : eval);
            if (want) order[count++] = i;
        }
    }
    if (s == FACET_OK) s = frame_vec_select(frames, order, count);
    free(order);
    return s;
}

/* ---- public ---------------------------------------------------------------------------------- */

static facet_status load_single(const char *path, frame_vec *frames, facet_split split,
                                const facet_dataset_options *opt) {
    facet_doc doc = {0};
    facet_status s = parse_transforms(path, &doc, frames);
    if (s == FACET_OK) s = select_split(&doc, frames, split, opt);
    facet_doc_free(&doc);
    return s;
}

static facet_status load_whole(const char *path, frame_vec *frames) {
    facet_doc doc = {0};
    facet_status s = parse_transforms(path, &doc, frames);
    facet_doc_free(&doc);
    return s;
}

/* "transforms_<split>.json" -> that split; -1 for other names. */
static int split_of_file_name(const char *path) {
    const char *base = facet_path_basename(path);
    for (int i = FACET_SPLIT_TRAIN; i <= FACET_SPLIT_TEST; i++) {
        char name[32];
        snprintf(name, sizeof name, "transforms_%s.json", split_names[i]);
        if (strcmp(base, name) == 0) return i;
    }
    return -1;
}

static facet_status load_directory(const char *dir, frame_vec *frames, facet_split split,
                                   const facet_dataset_options *opt) {
    char *files[4] = {0}; /* by facet_split: [0] transforms.json, [1..3] transforms_<split>.json */
    int has_split_files = 0;
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, i ? "transforms_%s.json" : "transforms.json", split_names[i]);
        files[i] = facet_path_join(dir, name);
        if (!files[i]) {
            for (int j = 0; j < i; j++) free(files[j]);
            return facet_last_status();
        }
        if (i && facet_is_file(files[i])) has_split_files = 1;
    }
    facet_status s = FACET_OK;
    if (has_split_files && split == FACET_SPLIT_ALL) {
        for (int i = FACET_SPLIT_TRAIN; i <= FACET_SPLIT_TEST && s == FACET_OK; i++)
            if (facet_is_file(files[i])) s = load_whole(files[i], frames);
    } else if (has_split_files) {
        if (facet_is_file(files[split]))
            s = load_whole(files[split], frames);
        else
            s = facet_fail(FACET_ERR_NOT_FOUND,
                           "'%s': has Blender split files but no transforms_%s.json", dir,
                           split_names[split]);
    } else if (facet_is_file(files[0])) {
        s = load_single(files[0], frames, split, opt);
    } else {
        s = facet_fail(FACET_ERR_NOT_FOUND,
                       "'%s': no transforms.json or transforms_{train,val,test}.json in the "
                       "dataset directory",
                       dir);
    }
    for (int i = 0; i < 4; i++) free(files[i]);
    return s;
}

static facet_status load_file(const char *path, frame_vec *frames, facet_split split,
                              const facet_dataset_options *opt) {
    int holds = split_of_file_name(path);
    if (holds < 0) return load_single(path, frames, split, opt);
    if (split != FACET_SPLIT_ALL && (int)split != holds)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "'%s' holds the %s split, not %s", path,
                          split_names[holds], facet_split_name(split));
    return load_whole(path, frames);
}

static facet_status resolve_options(const facet_dataset_options *in, facet_dataset_options *out) {
    *out = in ? *in : (facet_dataset_options){0};
    if (out->eval_interval == 0) out->eval_interval = 2;
    if (out->train_fraction == 0.0) out->train_fraction = 0.9;
    if ((int)out->split_mode < 0 || out->split_mode > FACET_SPLIT_MODE_ALL)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "unknown split mode %d",
                          (int)out->split_mode);
    if (out->eval_interval < 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "eval interval must be >= 1, got %d",
                          out->eval_interval);
    if (!(out->train_fraction > 0.0 && out->train_fraction <= 1.0))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "train fraction must be in (0, 1], got %g",
                          out->train_fraction);
    return FACET_OK;
}

facet_status facet_dataset_load_with(facet_dataset *ds, const char *path, facet_split split,
                                     const facet_dataset_options *options) {
    memset(ds, 0, sizeof *ds);
    if (!path || !path[0]) return facet_fail(FACET_ERR_INVALID_ARGUMENT, "dataset path is empty");
    if ((int)split < 0 || split > FACET_SPLIT_TEST)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "unknown split %d", (int)split);
    facet_dataset_options opt;
    facet_status s = resolve_options(options, &opt);
    if (s != FACET_OK) return s;
    int is_dir = facet_is_dir(path);
    if (!is_dir && !facet_is_file(path))
        return facet_fail(FACET_ERR_NOT_FOUND, "dataset '%s' not found (no such file or directory)",
                          path);

    frame_vec frames = {0};
    ds->root = is_dir ? facet_strdup(path) : parent_directory(path);
    if (!ds->root) return facet_last_status();
    s = is_dir ? load_directory(path, &frames, split, &opt) : load_file(path, &frames, split, &opt);
    ds->frames = frames.items;
    ds->frame_count = frames.count;
    if (s == FACET_OK) s = facet_livescene_attach(ds, opt.interpolate_kappa);
    if (s != FACET_OK) facet_dataset_free(ds);
    return s;
}

facet_status facet_dataset_load(facet_dataset *ds, const char *path, facet_split split) {
    return facet_dataset_load_with(ds, path, split, NULL);
}

void facet_dataset_free(facet_dataset *ds) {
    for (int i = 0; i < ds->frame_count; i++) frame_clear(&ds->frames[i]);
    free(ds->frames);
    for (int i = 0; i < ds->object_count; i++) free(ds->object_names[i]);
    free(ds->object_names);
    free(ds->object_ids);
    free(ds->root);
    memset(ds, 0, sizeof *ds);
}

int facet_dataset_object_index(const facet_dataset *ds, const char *name) {
    for (int i = 0; i < ds->object_count; i++)
        if (strcmp(ds->object_names[i], name) == 0) return i;
    return -1;
}
