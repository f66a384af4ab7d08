/* LiveScene extras: mapping.yaml, key_frame_value.yaml and masks/<fid>.npy (docs/formats.md,
 * "Datasets"). What the official code does, read from Tavish9/livescene:
 * - livescene/datamanager/livescene_dataparser.py: a frame's id is
 *   Path(file_path).stem.split("_")[-1]; both dataparsers call read_attributes with the frames of
 *   the split being loaded and, by default, fewshot=True (sim always; real unless interpolate_val).
 * - livescene/datamanager/atrb_utils.py read_attributes: cls2id = {name: id} from mapping.yaml; the
 *   id is the column of the object in every per-frame array; masks are masks/<fid>.npy.
 * - atrb_utils.py interp_atrb_values: a key frame "<...>_<fid>" matches the split's frames with
 *   int(fid) equal; an object name missing from mapping.yaml is an error (KeyError).
 *   fewshot: float32 values, the key frame's value where given and 0 elsewhere (with
 *   atrb_val_masks marking the given ones), then (v - min) / (max - min) per object over the
 *   split's frames. Otherwise: np.interp(frame ids, key frame ids, values) per object in float64,
 *   normalised the same way, all marked known. The result becomes float32 (torch .float()). */
#include "livescene.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/npy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The frame id of a frame name: the digits after its last '_' (the whole name without '_').
 * Returns 1 and sets *id and *digits (pointing into name), 0 when they are not an integer. */
static int frame_id(const char *name, long *id, const char **digits) {
    const char *underscore = strrchr(name, '_');
    const char *text = underscore ? underscore + 1 : name;
    if (!text[0]) return 0;
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (*end != '\0' || errno != 0 || text[0] == ' ' || text[0] == '\t') return 0;
    *id = value;
    if (digits) *digits = text;
    return 1;
}

/* ---- mapping.yaml: {id: object_name} --------------------------------------------------------- */

static facet_status load_mapping(facet_dataset *ds, const char *path) {
    facet_doc doc;
    facet_status s = facet_yaml_load(&doc, path);
    if (s != FACET_OK) return s;
    const cJSON *root = doc.root;
    int n = cJSON_IsObject(root) ? cJSON_GetArraySize(root) : 0;
    if (!cJSON_IsObject(root))
        s = facet_fail(FACET_ERR_FORMAT, "%s: expected a mapping {id: object_name}, got %s", path,
                       facet_json_type_name(root));
    else if (n == 0)
        s = facet_fail(FACET_ERR_FORMAT, "%s: lists no objects", path);
    if (s == FACET_OK) {
        ds->object_names = facet_alloc_zeroed((size_t)n, sizeof *ds->object_names);
        ds->object_ids = facet_alloc_zeroed((size_t)n, sizeof *ds->object_ids);
        if (!ds->object_names || !ds->object_ids) s = facet_last_status();
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        if (s != FACET_OK) break;
        char *end;
        errno = 0;
        long id = strtol(item->string, &end, 10);
        const char *name = NULL;
        if (!item->string[0] || *end != '\0' || errno != 0 || id < INT_MIN || id > INT_MAX) {
            s = facet_fail(FACET_ERR_FORMAT, "%s: key '%s': object ids must be integers", path,
                           item->string);
            break;
        }
        if ((s = facet_json_get_string(&doc, root, item->string, "", &name)) != FACET_OK) break;
        if (!name[0]) {
            s = facet_fail(FACET_ERR_FORMAT, "%s: key '%s': the object name is empty", path,
                           item->string);
            break;
        }
        /* Insert in ascending id order. */
        int at = ds->object_count;
        for (int i = 0; i < ds->object_count; i++) {
            if (ds->object_ids[i] == id)
                s = facet_fail(FACET_ERR_FORMAT, "%s: object id %ld appears twice", path, id);
            if (strcmp(ds->object_names[i], name) == 0)
                s = facet_fail(FACET_ERR_FORMAT, "%s: object '%s' appears twice (ids %d and %ld)",
                               path, name, ds->object_ids[i], id);
            if (ds->object_ids[i] > id && at == ds->object_count) at = i;
        }
        char *copy = s == FACET_OK ? facet_strdup(name) : NULL;
        if (!copy) {
            if (s == FACET_OK) s = facet_last_status();
            break;
        }
        memmove(ds->object_names + at + 1, ds->object_names + at,
                (size_t)(ds->object_count - at) * sizeof *ds->object_names);
        memmove(ds->object_ids + at + 1, ds->object_ids + at,
                (size_t)(ds->object_count - at) * sizeof *ds->object_ids);
        ds->object_names[at] = copy;
        ds->object_ids[at] = (int)id;
        ds->object_count++;
    }
    facet_doc_free(&doc);
    return s;
}

/* ---- key_frame_value.yaml: {frame_name: {object_name: value}}
 * ------------------------------------ */

static facet_status unknown_object(const facet_dataset *ds, const char *path, const char *frame,
                                   const char *object) {
    char known[512] = "";
    size_t used = 0;
    for (int i = 0; i < ds->object_count && used < sizeof known; i++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                                 ds->object_names[i]);
    return facet_fail(FACET_ERR_NOT_FOUND,
                      "%s: key '%s.%s': unknown object '%s' (mapping.yaml has: %s)", path, frame,
                      object, object, known);
}

/* np.interp(x, xp, fp) for ascending xp (n >= 1): clamped to fp[0] / fp[n-1] outside. */
static double interp(double x, const double *xp, const double *fp, int n) {
    if (x < xp[0]) return fp[0];
    if (x >= xp[n - 1]) return fp[n - 1];
    int j = 0; /* the last j with xp[j] <= x */
    while (j + 1 < n && xp[j + 1] <= x) j++;
    if (xp[j] == x) return fp[j];
    double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    return slope * (x - xp[j]) + fp[j];
}

/* Key frames of one object, sorted by frame id for interp(). */
typedef struct key_series {
    double *ids, *values;
    int count;
} key_series;

static void key_series_add(key_series *k, double id, double value) {
    int i = k->count++;
    while (i > 0 && k->ids[i - 1] > id) {
        k->ids[i] = k->ids[i - 1];
        k->values[i] = k->values[i - 1];
        i--;
    }
    k->ids[i] = id;
    k->values[i] = value;
}

/* raw[f * object_count + d]: the un-normalised value of object d in frame f. */
static facet_status read_key_frames(const facet_dataset *ds, const char *path, const long *fids,
                                    int interpolate, double *raw, unsigned char *known) {
    int n = ds->object_count, frames = ds->frame_count;
    facet_doc doc;
    facet_status s = facet_yaml_load(&doc, path);
    if (s != FACET_OK) return s;
    const cJSON *root = doc.root;
    if (!cJSON_IsObject(root)) {
        s = facet_fail(FACET_ERR_FORMAT,
                       "%s: expected a mapping {frame_name: {object: value}}, got %s", path,
                       facet_json_type_name(root));
        facet_doc_free(&doc);
        return s;
    }
    int key_frames = cJSON_GetArraySize(root);
    key_series *series = facet_alloc_zeroed((size_t)n, sizeof *series);
    if (!series) s = facet_last_status();
    for (int d = 0; s == FACET_OK && d < n; d++) {
        series[d].ids = facet_alloc((size_t)key_frames + 1, sizeof(double));
        series[d].values = facet_alloc((size_t)key_frames + 1, sizeof(double));
        if (!series[d].ids || !series[d].values) s = facet_last_status();
    }
    const cJSON *entry;
    cJSON_ArrayForEach(entry, root) {
        if (s != FACET_OK) break;
        long fid;
        if (!frame_id(entry->string, &fid, NULL)) {
            s = facet_fail(
                FACET_ERR_FORMAT,
                "%s: key '%s': frame names end in _<frame id> (digits after the last '_')", path,
                entry->string);
            break;
        }
        if ((s = facet_json_object(&doc, entry, entry->string)) != FACET_OK) break;
        const cJSON *item;
        cJSON_ArrayForEach(item, entry) {
            int d = facet_dataset_object_index(ds, item->string);
            double value = 0.0;
            if (d < 0) s = unknown_object(ds, path, entry->string, item->string);
            if (s == FACET_OK)
                s = facet_json_get_number(&doc, entry, item->string, entry->string, &value);
            if (s != FACET_OK) break;
            key_series_add(&series[d], (double)fid, value);
            for (int f = 0; f < frames && !interpolate; f++) {
                if (fids[f] != fid) continue;
                raw[(size_t)f * n + d] = (float)value; /* fewshot_values is float32 upstream */
                known[(size_t)f * n + d] = 1;
            }
        }
    }
    for (int d = 0; s == FACET_OK && interpolate && d < n; d++) {
        if (series[d].count == 0) {
            s = facet_fail(FACET_ERR_FORMAT, "%s: object '%s' has no key frames to interpolate",
                           path, ds->object_names[d]);
            break;
        }
        for (int f = 0; f < frames; f++) {
            raw[(size_t)f * n + d] =
                interp((double)fids[f], series[d].ids, series[d].values, series[d].count);
            known[(size_t)f * n + d] = 1;
        }
    }
    for (int d = 0; series && d < n; d++) {
        free(series[d].ids);
        free(series[d].values);
    }
    free(series);
    facet_doc_free(&doc);
    return s;
}

/* Min-max per object over the frames; float32 arithmetic in fewshot mode as upstream. The result
 * is rounded to float32 like the official torch tensors. */
static void normalise(facet_dataset *ds, const double *raw, int interpolate) {
    int n = ds->object_count, frames = ds->frame_count;
    for (int d = 0; d < n && frames > 0; d++) {
        double lo = raw[d], hi = raw[d];
        for (int f = 1; f < frames; f++) {
            double v = raw[(size_t)f * n + d];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        for (int f = 0; f < frames; f++) {
            double v = raw[(size_t)f * n + d], k = 0.0;
            if (hi > lo && interpolate)
                k = (v - lo) / (hi - lo);
            else if (hi > lo)
                k = ((float)v - (float)lo) / ((float)hi - (float)lo);
            ds->frames[f].kappa[d] = (float)k;
        }
    }
}

static facet_status attach_kappa(facet_dataset *ds, const char *path, const long *fids,
                                 int interpolate) {
    int n = ds->object_count, frames = ds->frame_count;
    double *raw = facet_alloc_zeroed((size_t)frames * n + 1, sizeof *raw);
    unsigned char *known = facet_alloc_zeroed((size_t)frames * n + 1, 1);
    facet_status s = raw && known ? FACET_OK : facet_last_status();
    if (s == FACET_OK) s = read_key_frames(ds, path, fids, interpolate, raw, known);
    for (int f = 0; s == FACET_OK && f < frames; f++) {
        facet_frame *frame = &ds->frames[f];
        frame->kappa = facet_alloc_zeroed((size_t)n, sizeof *frame->kappa);
        frame->kappa_known = facet_alloc_zeroed((size_t)n, 1);
        if (!frame->kappa || !frame->kappa_known)
            s = facet_last_status();
        else
            memcpy(frame->kappa_known, known + (size_t)f * n, (size_t)n);
    }
    if (s == FACET_OK) normalise(ds, raw, interpolate);
    free(raw);
    free(known);
    return s;
}

/* ---- public ---------------------------------------------------------------------------------- */

facet_status facet_livescene_attach(facet_dataset *ds, int interpolate_kappa) {
    char *mapping = facet_path_join(ds->root, "mapping.yaml");
    char *key_frames = facet_path_join(ds->root, "key_frame_value.yaml");
    long *fids = facet_alloc_zeroed((size_t)ds->frame_count + 1, sizeof *fids);
    facet_status s = mapping && key_frames && fids ? FACET_OK : facet_last_status();
    if (s == FACET_OK && facet_is_file(mapping)) {
        s = load_mapping(ds, mapping);
        for (int f = 0; s == FACET_OK && f < ds->frame_count; f++) {
            facet_frame *frame = &ds->frames[f];
            const char *digits;
            if (!frame_id(frame->name, &fids[f], &digits)) {
                s = facet_fail(FACET_ERR_FORMAT,
                               "'%s': LiveScene dataset (mapping.yaml) but frame '%s' has no frame "
                               "id (digits after the last '_' of its file_path)",
                               ds->root, frame->name);
                break;
            }
            char *mask_name = facet_format("masks/%s.npy", digits);
            char *mask = mask_name ? facet_path_join(ds->root, mask_name) : NULL;
            free(mask_name);
            if (!mask)
                s = facet_last_status();
            else if (facet_is_file(mask))
                frame->mask_path = mask;
            else
                free(mask);
        }
        if (s == FACET_OK && facet_is_file(key_frames))
            s = attach_kappa(ds, key_frames, fids, interpolate_kappa);
    }
    free(mapping);
    free(key_frames);
    free(fids);
    return s;
}

facet_status facet_dataset_load_mask(const facet_dataset *ds, int frame, facet_tensor *out) {
    memset(out, 0, sizeof *out);
    if (frame < 0 || frame >= ds->frame_count)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "frame %d out of range (dataset has %d)",
                          frame, ds->frame_count);
    const facet_frame *f = &ds->frames[frame];
    if (!f->mask_path)
        return facet_fail(FACET_ERR_NOT_FOUND, "frame '%s' has no mask (no masks/<frame id>.npy)",
                          f->name);
    facet_status s = facet_npy_read(out, f->mask_path);
    if (s != FACET_OK) return s;
    int64_t shape[3] = {f->height, f->width, ds->object_count + 1};
    s = facet_tensor_expect(out, f->mask_path, FACET_DTYPE_BOOL, 3, shape);
    if (s != FACET_OK) facet_tensor_free(out);
    return s;
}
