/* Token shards back to PNGs and .npz batches (detokenize.h). */
#include "detokenize.h"

#include "tokenize.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/image.h"
#include "core/json.h"
#include "core/safe_name.h"
#include "tokenizer/npz.h"
#include "tokenizer/token_shards.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *facet_detokenize_output_name(const char *relative, int keep_extension) {
    const char *base = facet_path_basename(relative);
    const char *dot = strrchr(base, '.');
    size_t stem =
        !keep_extension && dot && dot != base ? (size_t)(dot - relative) : strlen(relative);
    return facet_format("%.*s.png", (int)stem, relative);
}

char *facet_detokenize_output_path(const char *out_dir, const char *relative) {
    char *name = facet_detokenize_output_name(relative, 0), *path = NULL;
    if (name) facet_output_path_for(out_dir, name, "", FACET_NAME_RELATIVE, "detokenize", &path);
    free(name);
    return path;
}

/* Every row's output name, in shard order, checked: all safe, no two alike. */
typedef struct output_names {
    char **names;   /* [total] names relative to OUT */
    char **sources; /* [total] the rows' metadata paths, for messages */
    int64_t total;
} output_names;

static void output_names_free(output_names *o) {
    for (int64_t i = 0; i < o->total; i++) {
        free(o->names[i]);
        free(o->sources[i]);
    }
    free(o->names);
    free(o->sources);
    memset(o, 0, sizeof *o);
}

static const output_names *sort_names_of;
static int compare_rows_by_name(const void *a, const void *b) {
    const int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    const int c = strcmp(sort_names_of->names[i], sort_names_of->names[j]);
    return c ? c : (i > j) - (i < j);
}

/* Rows sorted by output name (not thread-safe: qsort has no context argument in C11). */
static int64_t *rows_by_name(const output_names *o) {
    int64_t *order = facet_alloc((size_t)o->total + 1, sizeof *order);
    if (!order) return NULL;
    for (int64_t i = 0; i < o->total; i++) order[i] = i;
    sort_names_of = o;
    qsort(order, (size_t)o->total, sizeof *order, compare_rows_by_name);
    return order;
}

/* Names whose extension-less form collides ("x.jpg" and "x.png" in one folder both give x.png)
 * keep their extension instead ("x.jpg.png", "x.png.png"); a collision that remains is an error,
 * so no reconstruction overwrites another. */
static facet_status resolve_collisions(output_names *o) {
    int64_t *order = rows_by_name(o);
    if (!order) return facet_last_status();
    facet_status status = FACET_OK;
    int renamed = 0;
    for (int64_t k = 0; status == FACET_OK && k + 1 < o->total; k++) {
        if (strcmp(o->names[order[k]], o->names[order[k + 1]])) continue;
        int64_t end = k + 1;
        while (end < o->total && !strcmp(o->names[order[k]], o->names[order[end]])) end++;
        for (int64_t m = k; status == FACET_OK && m < end; m++) {
            char *kept = facet_detokenize_output_name(o->sources[order[m]], 1);
            if (!kept) status = facet_last_status();
            free(o->names[order[m]]);
            o->names[order[m]] = kept;
        }
        renamed = 1;
        k = end - 1;
    }
    if (status == FACET_OK && renamed) {
        free(order);
        if (!(order = rows_by_name(o))) return facet_last_status();
        for (int64_t k = 0; status == FACET_OK && k + 1 < o->total; k++)
            if (!strcmp(o->names[order[k]], o->names[order[k + 1]])) {
                char a[96], b[96];
                status = facet_fail(
                    FACET_ERR_FORMAT,
                    "images '%s' and '%s' of the token shards would both be written "
                    "to '%s'",
                    facet_quote_name(o->sources[order[k]], a, sizeof a),
                    facet_quote_name(o->sources[order[k + 1]], b, sizeof b), o->names[order[k]]);
            }
    }
    free(order);
    return status;
}

/* Opens every shard once before any image is written: checks each against the model and
 * collects the output names. A shard with an unsafe path fails here, so nothing is written. */
static facet_status plan_outputs(char **files, int file_count, const facet_fqgan_config *c,
                                 output_names *o) {
    memset(o, 0, sizeof *o);
    facet_status status = FACET_OK;
    int64_t capacity = 0;
    for (int f = 0; status == FACET_OK && f < file_count; f++) {
        facet_token_shard shard;
        status = facet_token_shard_open(&shard, files[f], c);
        if (status != FACET_OK) break;
        if (o->total + shard.count > capacity) {
            const int64_t grown =
                2 * capacity > o->total + shard.count ? 2 * capacity : o->total + shard.count;
            char **names = facet_realloc(o->names, (size_t)grown + 1, sizeof *names);
            if (names) o->names = names;
            char **sources =
                names ? facet_realloc(o->sources, (size_t)grown + 1, sizeof *sources) : NULL;
            if (sources) o->sources = sources;
            if (!names || !sources)
                status = facet_last_status();
            else
                capacity = grown;
        }
        for (int64_t r = 0; status == FACET_OK && r < shard.count; r++) {
            o->sources[o->total] = facet_strdup(shard.paths[r]);
            o->names[o->total] = facet_detokenize_output_name(shard.paths[r], 0);
            if (!o->sources[o->total] || !o->names[o->total]) {
                free(o->sources[o->total]);
                free(o->names[o->total]);
                status = facet_last_status();
            } else {
                o->total++;
            }
        }
        facet_token_shard_close(&shard);
    }
    if (status == FACET_OK) status = resolve_collisions(o);
    for (int64_t i = 0; status == FACET_OK && i < o->total; i++)
        status = facet_check_safe_name(o->names[i], FACET_NAME_RELATIVE, "detokenize output");
    if (status != FACET_OK) output_names_free(o);
    return status;
}

/* Writes images [first, first + count) of a shard whose rows start at names[0]: PNGs under OUT
 * and/or rows of the .npz. */
static facet_status write_images(const facet_detokenize_options *o, char *const *names, int count,
                                 const float *images, int size, uint8_t *pixels, facet_image *png,
                                 facet_npz_writer *npz) {
    const size_t plane = (size_t)size * size;
    for (int n = 0; n < count; n++) {
        facet_fqgan_to_uint8(images + (size_t)n * 3 * plane, size, size, pixels);
        if (o->npz_path) {
            facet_status status = facet_npz_append(npz, pixels, 1);
            if (status != FACET_OK) return status;
        }
        if (!o->out_dir) {
            if (o->progress) facet_progress_advance(o->progress, 1);
            continue;
        }
        char *path = facet_path_join(o->out_dir, names[n]);
        if (!path) return facet_last_status();
        for (size_t i = 0; i < 3 * plane; i++) png->data[i] = (float)pixels[i] / 255.0f;
        char *dir = facet_strdup(path);
        facet_status status = dir ? FACET_OK : facet_last_status();
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
    facet_status status = facet_token_shard_list(o->tokens, &files, &file_count);
    facet_fqgan *model = NULL;
    if (status == FACET_OK) status = facet_fqgan_load(&model, o->model_path, o->backend, batch);
    const facet_fqgan_config *c = model ? facet_fqgan_config_of(model) : NULL;
    const int size = c ? c->image_size : 0;
    output_names names = {0};
    if (status == FACET_OK) status = plan_outputs(files, file_count, c, &names);
    float *images = NULL;
    uint8_t *pixels = NULL;
    facet_image png = {0};
    facet_npz_writer npz;
    memset(&npz, 0, sizeof npz);
    if (status == FACET_OK && !o->out_dir && !o->npz_path)
        status =
            facet_fail(FACET_ERR_INVALID_ARGUMENT, "detokenize: no output (out_dir, npz_path)");
    if (status == FACET_OK && o->out_dir) status = facet_make_dirs(o->out_dir);
    if (status == FACET_OK && o->npz_path) status = facet_npz_begin(&npz, o->npz_path, size, size);
    if (status == FACET_OK &&
        (!(images = facet_alloc((size_t)batch * 3 * size * size, sizeof(float))) ||
         !(pixels = facet_alloc((size_t)size * size, 3))))
        status = facet_last_status();
    if (status == FACET_OK) status = facet_image_alloc(&png, size, size, 3);

    if (status == FACET_OK && o->progress)
        facet_progress_begin(o->progress, "detokenize", "img", names.total);
    const double start = facet_seconds();
    int64_t row = 0; /* of names */
    for (int f = 0; status == FACET_OK && f < file_count; f++) {
        facet_token_shard shard;
        status = facet_token_shard_open(&shard, files[f], c);
        if (status != FACET_OK) break;
        if (row + shard.count > names.total) /* the file changed since plan_outputs */
            status = facet_fail(FACET_ERR_IO, "'%s' changed while detokenizing", files[f]);
        const size_t cells = (size_t)c->grid * c->grid;
        for (int64_t first = 0; status == FACET_OK && first < shard.count; first += batch) {
            const int count = (int)(shard.count - first < batch ? shard.count - first : batch);
            const uint16_t *tokens[FACET_FQGAN_MAX_BRANCHES];
            for (int b = 0; b < c->branch_count; b++)
                tokens[b] = shard.tokens[b] + (size_t)first * cells;
            status = facet_fqgan_decode(model, tokens, count, images);
            if (status == FACET_OK)
                status = write_images(o, names.names + row + first, count, images, size, pixels,
                                      &png, &npz);
            if (status == FACET_OK) summary->images += count;
        }
        if (status == FACET_OK) summary->shards++;
        row += shard.count;
        facet_token_shard_close(&shard);
    }
    if (o->npz_path && status == FACET_OK) status = facet_npz_commit(&npz);
    if (o->npz_path) facet_npz_abort(&npz);
    summary->seconds = facet_seconds() - start;
    if (status == FACET_OK && o->progress) facet_progress_end(o->progress);
    facet_image_free(&png);
    free(images);
    free(pixels);
    output_names_free(&names);
    facet_fqgan_free(model);
    facet_token_shard_list_free(files, file_count);
    return status;
}
