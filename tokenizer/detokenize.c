/* Token shards back to PNGs (detokenize.h). */
#include "detokenize.h"

#include "tokenize.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/image.h"
#include "core/json.h"
#include "core/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *facet_detokenize_output_path(const char *out_dir, const char *relative) {
    const char *base = facet_path_basename(relative);
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - relative) : strlen(relative);
    return facet_format("%s/%.*s.png", out_dir, (int)stem, relative);
}

/* The shard files to decode: from a manifest (directory or file), or the one shard given. */
static facet_status list_shards(const char *tokens, char ***files, int *count) {
    *files = NULL;
    *count = 0;
    char *manifest = NULL;
    if (facet_is_dir(tokens))
        manifest = facet_path_join(tokens, "manifest.json");
    else if (!strcmp(facet_path_extension(tokens), ".json"))
        manifest = facet_strdup(tokens);
    if (!manifest) {
        if (!facet_is_file(tokens))
            return facet_fail(FACET_ERR_NOT_FOUND, "'%s' does not exist", tokens);
        *files = facet_alloc(1, sizeof(char *));
        if (!*files || !((*files)[0] = facet_strdup(tokens))) {
            free(*files);
            *files = NULL;
            return FACET_ERR_OUT_OF_MEMORY;
        }
        *count = 1;
        return FACET_OK;
    }
    facet_doc doc = {0};
    facet_status status = facet_json_load(&doc, manifest);
    const char *format = NULL;
    if (status == FACET_OK)
        status = facet_json_get_string(&doc, doc.root, "format", "format", &format);
    if (status == FACET_OK && strcmp(format, "facet-tokens"))
        status = facet_fail(FACET_ERR_FORMAT, "%s: format is '%s', expected 'facet-tokens'",
                            manifest, format);
    const cJSON *shards =
        status == FACET_OK ? cJSON_GetObjectItemCaseSensitive(doc.root, "shards") : NULL;
    if (status == FACET_OK && !cJSON_IsArray(shards))
        status = facet_fail(FACET_ERR_FORMAT, "%s: key 'shards': expected an array", manifest);
    int n = status == FACET_OK ? cJSON_GetArraySize(shards) : 0;
    if (status == FACET_OK && !(*files = facet_alloc_zeroed((size_t)n + 1, sizeof(char *))))
        status = FACET_ERR_OUT_OF_MEMORY;
    for (int i = 0; status == FACET_OK && i < n; i++) {
        char key[48];
        snprintf(key, sizeof key, "shards[%d]", i);
        const char *file = NULL;
        status = facet_json_get_string(&doc, cJSON_GetArrayItem(shards, i), "file", key, &file);
        if (status == FACET_OK && !((*files)[i] = facet_path_relative_to_file(manifest, file)))
            status = FACET_ERR_OUT_OF_MEMORY;
        if (status == FACET_OK) *count = i + 1;
    }
    facet_doc_free(&doc);
    free(manifest);
    return status;
}

typedef struct shard_view {
    facet_safetensors st;
    const uint16_t *tokens[FACET_FQGAN_MAX_BRANCHES]; /* [n, grid, grid] per branch */
    int64_t count;
    cJSON *paths; /* [n] relative paths */
} shard_view;

static facet_status shard_open(shard_view *v, const char *path, const facet_fqgan_config *c) {
    memset(v, 0, sizeof *v);
    facet_status status = facet_safetensors_open(&v->st, path);
    if (status != FACET_OK) return status;
    const char *format = facet_safetensors_metadata(&v->st, "format");
    const char *paths = facet_safetensors_metadata(&v->st, "paths");
    const facet_tensor *index = facet_safetensors_get(&v->st, "index");
    if (!format || strcmp(format, "facet-tokens"))
        status = facet_fail(FACET_ERR_FORMAT,
                            "'%s' is not a facet token shard (metadata "
                            "'format' is not 'facet-tokens')",
                            path);
    else if (!index)
        status = facet_last_status();
    else if (index->ndim != 1)
        status = facet_fail(FACET_ERR_FORMAT, "'%s': 'index' must have one dimension", path);
    if (status == FACET_OK) v->count = index->shape[0];
    if (status == FACET_OK && (!paths || !cJSON_IsArray(v->paths = cJSON_Parse(paths)) ||
                               cJSON_GetArraySize(v->paths) != v->count))
        status = facet_fail(FACET_ERR_FORMAT,
                            "'%s': metadata 'paths' must be a JSON array of %lld paths", path,
                            (long long)v->count);
    for (int b = 0; status == FACET_OK && b < c->branch_count; b++) {
        const int64_t shape[3] = {v->count, c->grid, c->grid};
        const facet_tensor *t;
        status =
            facet_safetensors_expect(&v->st, c->branch_names[b], FACET_DTYPE_U16, 3, shape, &t);
        if (status != FACET_OK)
            facet_error_context("tokens do not fit the model (%s, %dx%d grid)", c->variant, c->grid,
                                c->grid);
        else
            v->tokens[b] = t->data;
    }
    for (int i = 0; status == FACET_OK && i < v->count; i++)
        if (!cJSON_IsString(cJSON_GetArrayItem(v->paths, i)))
            status =
                facet_fail(FACET_ERR_FORMAT, "'%s': metadata 'paths' holds a non-string", path);
    if (status != FACET_OK) {
        cJSON_Delete(v->paths);
        facet_safetensors_close(&v->st);
        memset(v, 0, sizeof *v);
    }
    return status;
}

static void shard_close(shard_view *v) {
    cJSON_Delete(v->paths);
    facet_safetensors_close(&v->st);
}

/* Writes images [first, first + count) of the shard from their decoded tensors. */
static facet_status write_images(const facet_detokenize_options *o, const shard_view *v,
                                 int64_t first, int count, const float *images, int size,
                                 uint8_t *pixels, facet_image *png) {
    const size_t plane = (size_t)size * size;
    for (int n = 0; n < count; n++) {
        const char *relative = cJSON_GetArrayItem(v->paths, (int)(first + n))->valuestring;
        char *path = facet_detokenize_output_path(o->out_dir, relative);
        if (!path) return FACET_ERR_OUT_OF_MEMORY;
        facet_fqgan_to_uint8(images + (size_t)n * 3 * plane, size, size, pixels);
        for (size_t i = 0; i < 3 * plane; i++) png->data[i] = (float)pixels[i] / 255.0f;
        char *dir = facet_strdup(path);
        facet_status status = dir ? FACET_OK : FACET_ERR_OUT_OF_MEMORY;
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (slash) *slash = '\0';
        if (status == FACET_OK && slash) status = facet_make_dirs(dir);
        if (status == FACET_OK) status = facet_image_write_png(png, path);
        free(dir);
        free(path);
        if (status != FACET_OK) return status;
        if (o->progress) facet_progress_advance(o->progress, 1);
    }
    return FACET_OK;
}

facet_status facet_detokenize(const facet_detokenize_options *o,
                              facet_detokenize_summary *summary) {
    memset(summary, 0, sizeof *summary);
    const int batch = o->batch > 0 ? o->batch : FACET_TOKENIZE_DEFAULT_BATCH;
    char **files = NULL;
    int file_count = 0;
    facet_status status = list_shards(o->tokens, &files, &file_count);
    facet_fqgan *model = NULL;
    if (status == FACET_OK) status = facet_fqgan_load(&model, o->model_path, o->backend, batch);
    const facet_fqgan_config *c = model ? facet_fqgan_config_of(model) : NULL;
    const int size = c ? c->image_size : 0;
    float *images = NULL;
    uint8_t *pixels = NULL;
    facet_image png = {0};
    if (status == FACET_OK) status = facet_make_dirs(o->out_dir);
    if (status == FACET_OK &&
        (!(images = facet_alloc((size_t)batch * 3 * size * size, sizeof(float))) ||
         !(pixels = facet_alloc((size_t)size * size, 3))))
        status = FACET_ERR_OUT_OF_MEMORY;
    if (status == FACET_OK) status = facet_image_alloc(&png, size, size, 3);

    /* the total for the progress bar: every shard's row count */
    int64_t total = 0;
    for (int f = 0; status == FACET_OK && f < file_count; f++) {
        shard_view v;
        status = shard_open(&v, files[f], c);
        total += v.count;
        if (status == FACET_OK) shard_close(&v);
    }
    if (status == FACET_OK && o->progress)
        facet_progress_begin(o->progress, "detokenize", "img", total);
    const double start = facet_seconds();
    for (int f = 0; status == FACET_OK && f < file_count; f++) {
        shard_view v;
        status = shard_open(&v, files[f], c);
        const int opened = status == FACET_OK;
        const size_t cells = c ? (size_t)c->grid * c->grid : 0;
        for (int64_t first = 0; status == FACET_OK && first < v.count; first += batch) {
            const int count = (int)(v.count - first < batch ? v.count - first : batch);
            const uint16_t *tokens[FACET_FQGAN_MAX_BRANCHES];
            for (int b = 0; b < c->branch_count; b++)
                tokens[b] = v.tokens[b] + (size_t)first * cells;
            status = facet_fqgan_decode(model, tokens, count, images);
            if (status == FACET_OK)
                status = write_images(o, &v, first, count, images, size, pixels, &png);
            if (status == FACET_OK) summary->images += count;
        }
        if (status == FACET_OK) summary->shards++;
        if (opened) shard_close(&v);
    }
    summary->seconds = facet_seconds() - start;
    if (status == FACET_OK && o->progress) facet_progress_end(o->progress);
    facet_image_free(&png);
    free(images);
    free(pixels);
    facet_fqgan_free(model);
    for (int f = 0; files && f < file_count; f++) free(files[f]);
    free(files);
    return status;
}
