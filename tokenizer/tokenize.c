/* Dataset tokenization driver (tokenize.h): input listing, the decoding queue's feeds, batching,
 * shard files, the manifest, resume, --shard K/N and MPI ranks, --eval statistics, stage timing,
 * the --save-inputs-npz reference batch. */
#include "tokenize.h"

#include "decode_queue.h"
#include "npz.h"
#include "preprocess.h"
#include "core/sha256.h"
#include "nn/gemm.h"
#include "nn/gemm_bf16.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/image.h"
#include "core/json.h"
#include "core/metrics.h"
#include "core/safetensors.h"
#include "datasets/image_folder.h"
#include "datasets/webdataset.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const MANIFEST_NAME = "manifest.json";
static const char *const LOCK_NAME = ".manifest.lock";
static const char *const PREPROCESS_DESCRIPTION =
    "PIL Image.open(path).convert('RGB'); ADM center_crop_arr(image_size): BOX halving while the "
    "short side >= 2 image_size, Pillow BICUBIC resize of the short side to image_size, centre "
    "crop; ToTensor; Normalize(0.5, 0.5) -> [-1, 1]";

/* ---- the run -------------------------------------------------------------------------------- */

/* The encoder a shard's tokens came from: the backend, and on the CPU the matrix kernel, whose
 * summation order can move a near-tie code ("cpu/avx2", "cpu/avx512", "cpu-bf16/amx",
 * "cuda-bf16"). Shards of one output may differ in it after a resume on another machine. */
enum { ENCODER_NAME_SIZE = 48 };

static void encoder_name(facet_fqgan_backend backend, char name[ENCODER_NAME_SIZE]) {
    const char *kernel = backend == FACET_FQGAN_CPU        ? facet_gemm_kernel_name()
                         : backend == FACET_FQGAN_CPU_BF16 ? facet_gemm_bf16_kernel_name()
                                                           : NULL;
    snprintf(name, ENCODER_NAME_SIZE, "%s%s%s", facet_fqgan_backend_name(backend),
             kernel ? "/" : "", kernel ? kernel : "");
}

/* Copies a recorded encoder name; "" for none or one too long to be facet's. */
static void copy_encoder(char out[ENCODER_NAME_SIZE], const char *name) {
    out[0] = '\0';
    if (name && strlen(name) < ENCODER_NAME_SIZE) memcpy(out, name, strlen(name) + 1);
}

/* A shard known to be complete: its file is in place. */
typedef struct shard_record {
    int present;
    int redo;      /* listed by the manifest but its file is gone or changed: tokenize again */
    int64_t count; /* rows */
    int64_t bytes; /* file size */
    char sha256[65];
    char encoder[ENCODER_NAME_SIZE]; /* what encoded it (encoder_name); "" when not recorded */
    cJSON *failed; /* [{index, path, reason}] of the shard's images that could not be read */
} shard_record;

typedef struct tokenize_run {
    const facet_tokenize_options *options;
    int webdataset; /* INPUT is tar shards (`tars`), else a folder or list file (`list`) */
    facet_image_list list;
    facet_wds_list tars;
    int listed_folder; /* 1: INPUT is a folder */
    int64_t count;     /* images in the input list */
    char **paths;      /* [count] their paths (list.paths or tars.paths) */
    char model_sha256[65], inputs_sha256[65];
    char encoder[ENCODER_NAME_SIZE]; /* this process's (encoder_name) */
    facet_fqgan *model;
    const facet_fqgan_config *config;
    int batch, shard_size, image_size, grid;
    int64_t shard_total;
    int rank, ranks;          /* MPI (0, 1 without) */
    int worker, worker_total; /* this process among all: shard s is ours if s % total == worker */
    shard_record *records;    /* [shard_total] */
    char *manifest_path, *lock_path;
} tokenize_run;

static int64_t shard_first(const tokenize_run *run, int64_t s) {
    return s * run->shard_size;
}
static int64_t shard_end(const tokenize_run *run, int64_t s) {
    int64_t end = (s + 1) * run->shard_size;
    return end < run->count ? end : run->count;
}
static int is_assigned(const tokenize_run *run, int64_t s) {
    return s % run->worker_total == run->worker;
}

static char *shard_name(int64_t s) {
    return facet_format("shard-%05lld.safetensors", (long long)s);
}

static char *shard_path(const tokenize_run *run, int64_t s) {
    char *name = shard_name(s);
    char *path = name ? facet_path_join(run->options->out_dir, name) : NULL;
    free(name);
    return path;
}

/* SHA-256 of the input list's paths in order, each followed by '\n': identifies the input. */
static void inputs_digest(char *const *paths, int64_t count, char hex[65]) {
    facet_sha256 h;
    unsigned char digest[32];
    facet_sha256_init(&h);
    for (int64_t i = 0; i < count; i++) {
        facet_sha256_update(&h, paths[i], strlen(paths[i]));
        facet_sha256_update(&h, "\n", 1);
    }
    facet_sha256_final(&h, digest);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

static cJSON *failed_entry(int64_t index, const char *path, const char *reason) {
    cJSON *entry = cJSON_CreateObject();
    if (entry && cJSON_AddNumberToObject(entry, "index", (double)index) &&
        cJSON_AddStringToObject(entry, "path", path) &&
        cJSON_AddStringToObject(entry, "reason", reason))
        return entry;
    cJSON_Delete(entry);
    return NULL;
}

/* ---- manifest ------------------------------------------------------------------------------- */

static int add_string_array(cJSON *object, const char *key, const char *const *items, int n) {
    cJSON *array = cJSON_AddArrayToObject(object, key);
    for (int i = 0; array && i < n; i++) {
        cJSON *s = cJSON_CreateString(items[i]);
        if (!s || !cJSON_AddItemToArray(array, s)) {
            cJSON_Delete(s);
            return 0;
        }
    }
    return array != NULL;
}

static int add_number_array(cJSON *object, const char *key, const double *items, int n) {
    cJSON *array = cJSON_AddArrayToObject(object, key);
    for (int i = 0; array && i < n; i++) {
        cJSON *v = cJSON_CreateNumber(items[i]);
        if (!v || !cJSON_AddItemToArray(array, v)) {
            cJSON_Delete(v);
            return 0;
        }
    }
    return array != NULL;
}

static int64_t present_shards(const tokenize_run *run) {
    int64_t n = 0;
    for (int64_t s = 0; s < run->shard_total; s++) n += run->records[s].present;
    return n;
}

/* root["encoders"]: the distinct encoders of the present shards, in shard order ("unrecorded" for
 * shards written before facet recorded them). */
static int add_encoders(cJSON *root, const tokenize_run *run) {
    cJSON *list = cJSON_AddArrayToObject(root, "encoders");
    if (!list) return 0;
    for (int64_t s = 0; s < run->shard_total; s++) {
        const shard_record *r = &run->records[s];
        if (!r->present) continue;
        const char *name = r->encoder[0] ? r->encoder : "unrecorded";
        int seen = 0;
        const cJSON *item;
        cJSON_ArrayForEach(item, list) seen |= !strcmp(item->valuestring, name);
        if (!seen && !cJSON_AddItemToArray(list, cJSON_CreateString(name))) return 0;
    }
    return 1;
}

static cJSON *manifest_build(const tokenize_run *run) {
    const facet_fqgan_config *c = run->config;
    cJSON *root = cJSON_CreateObject();
    cJSON *model = cJSON_CreateObject(), *pre = cJSON_CreateObject(), *in = cJSON_CreateObject();
    int ok = root && model && pre && in;
    if (ok) {
        ok = cJSON_AddStringToObject(root, "format", "facet-tokens") &&
             cJSON_AddNumberToObject(root, "version", FACET_TOKENS_VERSION) &&
             cJSON_AddStringToObject(model, "file", run->options->model_path) &&
             cJSON_AddStringToObject(model, "sha256", run->model_sha256) &&
             cJSON_AddStringToObject(model, "variant", c->variant) &&
             cJSON_AddNumberToObject(model, "downsample", c->downsample) &&
             cJSON_AddNumberToObject(model, "parameters", (double)c->parameter_count);
        ok = cJSON_AddItemToObject(root, "model", model) && ok;
        model = NULL;
    }
    if (ok) {
        ok = cJSON_AddStringToObject(pre, "pipeline", PREPROCESS_DESCRIPTION) &&
             cJSON_AddNumberToObject(pre, "image_size", run->image_size) &&
             cJSON_AddStringToObject(pre, "decoders",
                                     "JPEG: libjpeg-turbo as Pillow; others: stb_image");
        ok = cJSON_AddItemToObject(root, "preprocess", pre) && ok;
        pre = NULL;
    }
    const double grid[2] = {run->grid, run->grid};
    ok = ok && add_string_array(root, "branches", c->branch_names, c->branch_count) &&
         add_number_array(root, "grid", grid, 2) &&
         cJSON_AddNumberToObject(root, "codebook_size", c->codebook_size) &&
         cJSON_AddNumberToObject(root, "shard_size", run->shard_size);
    if (ok) {
        const char *listed = run->webdataset      ? "webdataset"
                             : run->listed_folder ? "folder"
                                                  : "list";
        ok = cJSON_AddNumberToObject(in, "count", (double)run->count) &&
             cJSON_AddStringToObject(in, "listed", listed) &&
             cJSON_AddStringToObject(in, "source", run->options->input) &&
             cJSON_AddStringToObject(in, "sha256", run->inputs_sha256) &&
             add_string_array(in, "classes", (const char *const *)run->list.class_names,
                              run->list.class_count);
        if (ok && run->webdataset)
            ok = add_string_array(in, "tars", (const char *const *)run->tars.tar_names,
                                  run->tars.tar_count);
        ok = cJSON_AddItemToObject(root, "inputs", in) && ok;
        in = NULL;
    }
    ok = ok && cJSON_AddNumberToObject(root, "shard_count", (double)run->shard_total) &&
         cJSON_AddBoolToObject(root, "complete", present_shards(run) == run->shard_total) &&
         add_encoders(root, run);
    cJSON *shards = ok ? cJSON_AddArrayToObject(root, "shards") : NULL;
    cJSON *failed = ok ? cJSON_AddArrayToObject(root, "failed") : NULL;
    ok = ok && shards && failed;
    for (int64_t s = 0; ok && s < run->shard_total; s++) {
        const shard_record *r = &run->records[s];
        if (!r->present) continue;
        char *name = shard_name(s);
        cJSON *entry = cJSON_CreateObject();
        ok = name && entry && cJSON_AddStringToObject(entry, "file", name) &&
             cJSON_AddNumberToObject(entry, "shard", (double)s) &&
             cJSON_AddNumberToObject(entry, "first", (double)shard_first(run, s)) &&
             cJSON_AddNumberToObject(entry, "end", (double)shard_end(run, s)) &&
             cJSON_AddNumberToObject(entry, "count", (double)r->count) &&
             cJSON_AddNumberToObject(entry, "bytes", (double)r->bytes) &&
             cJSON_AddStringToObject(entry, "sha256", r->sha256) &&
             (!r->encoder[0] || cJSON_AddStringToObject(entry, "encoder", r->encoder));
        free(name);
        if (ok) ok = cJSON_AddItemToArray(shards, entry);
        if (!ok) cJSON_Delete(entry);
        const cJSON *item;
        cJSON_ArrayForEach(item, r->failed) {
            cJSON *copy = ok ? cJSON_Duplicate(item, 1) : NULL;
            ok = copy && cJSON_AddItemToArray(failed, copy);
            if (!ok) cJSON_Delete(copy);
        }
    }
    cJSON_Delete(model);
    cJSON_Delete(pre);
    cJSON_Delete(in);
    if (!ok) {
        cJSON_Delete(root);
        facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory building the token manifest");
        return NULL;
    }
    return root;
}

static const char *json_string(const cJSON *object, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int json_int64(const cJSON *object, const char *key, int64_t *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble)) return 0;
    *out = (int64_t)item->valuedouble;
    return 1;
}

/* Refuses an OUT that holds another run: a different model, input list or shard size. */
static facet_status check_same_run(const tokenize_run *run, const char *what, const char *format,
                                   const char *model_sha256, const char *inputs_sha256,
                                   int64_t shard_size) {
    const char *differs = NULL;
    if (!format || strcmp(format, "facet-tokens"))
        differs = "format (not a facet-tokens file)";
    else if (!model_sha256 || strcmp(model_sha256, run->model_sha256))
        differs = "model (sha256)";
    else if (!inputs_sha256 || strcmp(inputs_sha256, run->inputs_sha256))
        differs = "input list (sha256 of the sorted paths)";
    else if (shard_size != run->shard_size)
        differs = "shard size";
    if (!differs) return FACET_OK;
    return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                      "'%s' belongs to another tokenization: its %s differs from this run's; use "
                      "another --out (or remove the old files)",
                      what, differs);
}

/* Adds the complete shards the manifest on disk lists that this process does not know yet
 * (other processes' work), except shards this process is re-doing. */
static facet_status manifest_merge(tokenize_run *run) {
    if (!facet_is_file(run->manifest_path)) return FACET_OK;
    facet_doc doc;
    facet_status status = facet_json_load(&doc, run->manifest_path);
    if (status != FACET_OK) return status;
    const cJSON *root = doc.root, *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs");
    int64_t shard_size = 0, version = 0;
    json_int64(root, "shard_size", &shard_size);
    json_int64(root, "version", &version);
    status =
        check_same_run(run, run->manifest_path, json_string(root, "format"),
                       json_string(model, "sha256"), json_string(inputs, "sha256"), shard_size);
    if (status == FACET_OK && version != FACET_TOKENS_VERSION)
        status = facet_fail(FACET_ERR_UNSUPPORTED, "'%s': manifest version %lld (facet writes %d)",
                            run->manifest_path, (long long)version, FACET_TOKENS_VERSION);
    unsigned char *adopted = NULL;
    if (status == FACET_OK && !(adopted = facet_alloc_zeroed((size_t)run->shard_total, 1)))
        status = FACET_ERR_OUT_OF_MEMORY;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, "shards")) {
        if (status != FACET_OK) break;
        int64_t s, count, bytes;
        const char *sha = json_string(item, "sha256");
        if (!json_int64(item, "shard", &s) || s < 0 || s >= run->shard_total ||
            !json_int64(item, "count", &count) || !json_int64(item, "bytes", &bytes) || !sha ||
            strlen(sha) != 64) {
            status = facet_fail(FACET_ERR_FORMAT, "'%s': malformed entry in 'shards'",
                                run->manifest_path);
            break;
        }
        shard_record *r = &run->records[s];
        if (r->present || r->redo) continue;
        if (!(r->failed = cJSON_CreateArray())) {
            status = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory reading the manifest");
            break;
        }
        r->present = 1;
        r->count = count;
        r->bytes = bytes;
        memcpy(r->sha256, sha, 65);
        copy_encoder(r->encoder, json_string(item, "encoder"));
        adopted[s] = 1;
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, "failed")) {
        if (status != FACET_OK) break;
        int64_t index;
        if (!json_int64(item, "index", &index) || index < 0 || index >= run->count) {
            status = facet_fail(FACET_ERR_FORMAT, "'%s': malformed entry in 'failed'",
                                run->manifest_path);
            break;
        }
        int64_t s = index / run->shard_size;
        if (!adopted[s]) continue;
        cJSON *copy = cJSON_Duplicate(item, 1);
        if (!copy || !cJSON_AddItemToArray(run->records[s].failed, copy)) {
            cJSON_Delete(copy);
            status = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory reading the manifest");
        }
    }
    free(adopted);
    facet_doc_free(&doc);
    return status;
}

/* Removes OUT/<prefix>*.tmp-<pid> files: temporaries of writers that were killed. With
 * `shards_only`, only the temporaries of this process's shards (no one else writes those). */
static void remove_stale_temps(const tokenize_run *run, const char *prefix, int shards_only) {
    DIR *dir = opendir(run->options->out_dir);
    if (!dir) return;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        if (strncmp(name, prefix, strlen(prefix)) || !strstr(name, ".tmp-")) continue;
        if (shards_only) {
            long long s;
            if (sscanf(name, "shard-%lld.safetensors.tmp-", &s) != 1 || s < 0 ||
                s >= run->shard_total || !is_assigned(run, s))
                continue;
        }
        char *path = facet_path_join(run->options->out_dir, name);
        if (path) unlink(path);
        free(path);
    }
    closedir(dir);
}

/* Under OUT/.manifest.lock: merges the manifest on disk and, when `write`, replaces it with the
 * union of what it lists and what this process knows. Any manifest temporary seen while holding
 * the lock is a killed writer's. */
static facet_status manifest_sync(tokenize_run *run, int write) {
    int fd = open(run->lock_path, O_RDWR | O_CREAT, 0644);
    if (fd < 0)
        return facet_fail(FACET_ERR_IO, "cannot create '%s': %s", run->lock_path, strerror(errno));
    if (flock(fd, LOCK_EX) != 0) {
        close(fd);
        return facet_fail(FACET_ERR_IO, "cannot lock '%s': %s", run->lock_path, strerror(errno));
    }
    remove_stale_temps(run, "manifest.json.tmp-", 0);
    facet_status status = manifest_merge(run);
    if (status == FACET_OK && write) {
        cJSON *root = manifest_build(run);
        status = root ? facet_json_write_atomic(run->manifest_path, root) : facet_last_status();
        cJSON_Delete(root);
    }
    flock(fd, LOCK_UN);
    close(fd);
    return status;
}

/* ---- shard files ---------------------------------------------------------------------------- */

/* The rows of the shard being filled. */
typedef struct shard_rows {
    int64_t count;
    uint16_t *tokens[FACET_FQGAN_MAX_BRANCHES]; /* [shard_size, grid, grid] */
    int64_t *index, *classes;                   /* [shard_size] */
    cJSON *paths;                               /* [count] relative paths */
    cJSON *failed;                              /* [{index, path, reason}] */
} shard_rows;

static facet_status rows_reset(shard_rows *rows) {
    rows->count = 0;
    cJSON_Delete(rows->paths);
    cJSON_Delete(rows->failed);
    rows->paths = cJSON_CreateArray();
    rows->failed = cJSON_CreateArray();
    if (!rows->paths || !rows->failed)
        return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory starting a shard");
    return FACET_OK;
}

static void rows_free(shard_rows *rows) {
    for (int b = 0; b < FACET_FQGAN_MAX_BRANCHES; b++) free(rows->tokens[b]);
    free(rows->index);
    free(rows->classes);
    cJSON_Delete(rows->paths);
    cJSON_Delete(rows->failed);
    memset(rows, 0, sizeof *rows);
}

static facet_status file_size(const char *path, int64_t *bytes) {
    struct stat st;
    if (stat(path, &st) != 0)
        return facet_fail(FACET_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
    *bytes = (int64_t)st.st_size;
    return FACET_OK;
}

static facet_status add_metadata(facet_safetensors_writer *w, const char *key, const char *fmt,
                                 long long value) {
    char text[32];
    snprintf(text, sizeof text, fmt, value);
    return facet_safetensors_writer_metadata(w, key, text);
}

static facet_status shard_write(tokenize_run *run, int64_t s, const shard_rows *rows) {
    const facet_fqgan_config *c = run->config;
    char *path = shard_path(run, s);
    char *paths_json = cJSON_PrintUnformatted(rows->paths);
    char *failed_json = cJSON_PrintUnformatted(rows->failed);
    facet_status status =
        path && paths_json && failed_json
            ? FACET_OK
            : facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory writing a shard");
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    const int64_t n = rows->count;
    for (int b = 0; status == FACET_OK && b < c->branch_count; b++) {
        facet_tensor t = {FACET_DTYPE_U16,   3, {n, run->grid, run->grid}, rows->tokens[b],
                          FACET_MEMORY_HOST, 0};
        status = facet_safetensors_writer_add(&w, c->branch_names[b], &t);
    }
    facet_tensor index = {FACET_DTYPE_I64, 1, {n}, rows->index, FACET_MEMORY_HOST, 0};
    facet_tensor classes = {FACET_DTYPE_I64, 1, {n}, rows->classes, FACET_MEMORY_HOST, 0};
    if (status == FACET_OK) status = facet_safetensors_writer_add(&w, "index", &index);
    if (status == FACET_OK) status = facet_safetensors_writer_add(&w, "class", &classes);
    if (status == FACET_OK)
        status = facet_safetensors_writer_metadata(&w, "format", "facet-tokens");
    if (status == FACET_OK) status = add_metadata(&w, "version", "%lld", FACET_TOKENS_VERSION);
    if (status == FACET_OK) status = add_metadata(&w, "shard", "%lld", (long long)s);
    if (status == FACET_OK)
        status = add_metadata(&w, "first", "%lld", (long long)shard_first(run, s));
    if (status == FACET_OK) status = add_metadata(&w, "end", "%lld", (long long)shard_end(run, s));
    if (status == FACET_OK)
        status = facet_safetensors_writer_metadata(&w, "model_sha256", run->model_sha256);
    if (status == FACET_OK)
        status = facet_safetensors_writer_metadata(&w, "inputs_sha256", run->inputs_sha256);
    if (status == FACET_OK) status = facet_safetensors_writer_metadata(&w, "paths", paths_json);
    if (status == FACET_OK) status = facet_safetensors_writer_metadata(&w, "failed", failed_json);
    if (status == FACET_OK) status = facet_safetensors_writer_metadata(&w, "encoder", run->encoder);
    if (status == FACET_OK) status = facet_safetensors_write(&w, path);
    shard_record *r = &run->records[s];
    if (status == FACET_OK) status = file_size(path, &r->bytes);
    if (status == FACET_OK) status = facet_sha256_file(path, r->sha256);
    if (status == FACET_OK && !(r->failed = cJSON_Duplicate(rows->failed, 1)))
        status = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory recording a shard");
    if (status == FACET_OK) {
        r->present = 1;
        r->redo = 0;
        r->count = n;
        memcpy(r->encoder, run->encoder, sizeof r->encoder);
    }
    facet_safetensors_writer_free(&w);
    cJSON_free(paths_json);
    cJSON_free(failed_json);
    free(path);
    return status;
}

/* A shard file found in OUT but not in the manifest (its writer was killed between the rename
 * and the manifest update, or the manifest is another process's): checked and recorded. */
static facet_status shard_verify(tokenize_run *run, int64_t s, const char *path) {
    facet_safetensors st;
    facet_status status = facet_safetensors_open(&st, path);
    if (status != FACET_OK) return facet_error_context("checking the existing shard");
    const char *first = facet_safetensors_metadata(&st, "first");
    const char *end = facet_safetensors_metadata(&st, "end");
    status = check_same_run(run, path, facet_safetensors_metadata(&st, "format"),
                            facet_safetensors_metadata(&st, "model_sha256"),
                            facet_safetensors_metadata(&st, "inputs_sha256"), run->shard_size);
    if (status == FACET_OK &&
        (!first || !end || atoll(first) != shard_first(run, s) || atoll(end) != shard_end(run, s)))
        status =
            facet_fail(FACET_ERR_FORMAT, "'%s': metadata 'first'/'end' do not match shard %lld",
                       path, (long long)s);
    const facet_tensor *index = NULL;
    if (status == FACET_OK) index = facet_safetensors_get(&st, "index");
    if (status == FACET_OK && !index) status = facet_last_status();
    if (status == FACET_OK && (index->dtype != FACET_DTYPE_I64 || index->ndim != 1))
        status = facet_fail(FACET_ERR_FORMAT, "'%s': 'index' must be I64 [n]", path);
    for (int b = 0; status == FACET_OK && b < run->config->branch_count; b++) {
        const int64_t shape[3] = {index->shape[0], run->grid, run->grid};
        const facet_tensor *tokens;
        status = facet_safetensors_expect(&st, run->config->branch_names[b], FACET_DTYPE_U16, 3,
                                          shape, &tokens);
    }
    cJSON *failed = NULL;
    const char *failed_text = facet_safetensors_metadata(&st, "failed");
    if (status == FACET_OK && (!failed_text || !cJSON_IsArray(failed = cJSON_Parse(failed_text))))
        status = facet_fail(FACET_ERR_FORMAT, "'%s': metadata 'failed' is not a JSON array", path);
    shard_record *r = &run->records[s];
    if (status == FACET_OK) {
        r->count = index->shape[0];
        r->bytes = (int64_t)st.map_size;
        copy_encoder(r->encoder, facet_safetensors_metadata(&st, "encoder"));
    }
    facet_safetensors_close(&st);
    if (status == FACET_OK) status = facet_sha256_file(path, r->sha256);
    if (status == FACET_OK) {
        r->present = 1;
        r->redo = 0;
        r->failed = failed;
        failed = NULL;
    }
    cJSON_Delete(failed);
    return status;
}

/* A resume that encodes with another encoder than the shards already there (another machine,
 * --device or --precision) is allowed, but said: codes at near-ties may differ between the two. */
static void warn_other_encoders(const tokenize_run *run) {
    int work = 0; /* a shard of this process's to encode */
    for (int64_t s = 0; s < run->shard_total; s++)
        work |= is_assigned(run, s) && !run->records[s].present;
    for (int64_t s = 0; work && s < run->shard_total; s++) {
        const shard_record *r = &run->records[s];
        if (!r->present || !strcmp(r->encoder, run->encoder)) continue;
        facet_warn(
            "'%s' holds shards encoded by %s (the first: shard %lld); this run encodes with %s, "
            "so a code at a near-tie may differ between them (the manifest records each "
            "shard's encoder)",
            run->options->out_dir, r->encoder[0] ? r->encoder : "an unrecorded encoder",
            (long long)s, run->encoder);
        return;
    }
}

/* ---- eval ----------------------------------------------------------------------------------- */

typedef struct eval_totals {
    double sums[5];       /* images, psnr, psnr^2, ssim, ssim^2 */
    int64_t *histograms;  /* [branch_count][codebook_size] */
    float *reconstructed; /* [batch, 3, S, S] */
    uint8_t *pixels;      /* [S, S, 3] */
    facet_image reference, result;
} eval_totals;

enum { EVAL_IMAGES, EVAL_PSNR, EVAL_PSNR2, EVAL_SSIM, EVAL_SSIM2, EVAL_SUMS };

/* Identical images have infinite PSNR; they count as this in the averages. */
static const double PSNR_IDENTICAL = 100.0;

static facet_status eval_init(eval_totals *e, const tokenize_run *run) {
    const int s = run->image_size;
    const facet_fqgan_config *c = run->config;
    e->histograms = facet_alloc_zeroed((size_t)c->branch_count * c->codebook_size, sizeof(int64_t));
    e->reconstructed = facet_alloc((size_t)run->batch * 3 * s * s, sizeof(float));
    e->pixels = facet_alloc((size_t)s * s, 3);
    if (!e->histograms || !e->reconstructed || !e->pixels) return FACET_ERR_OUT_OF_MEMORY;
    facet_status status = facet_image_alloc(&e->reference, s, s, 3);
    if (status == FACET_OK) status = facet_image_alloc(&e->result, s, s, 3);
    return status;
}

static void eval_free(eval_totals *e) {
    free(e->histograms);
    free(e->reconstructed);
    free(e->pixels);
    facet_image_free(&e->reference);
    facet_image_free(&e->result);
}

/* Decodes a batch's tokens and scores each reconstruction (official post-processing, 8 bit)
 * against its 8-bit crop; counts the codes. */
static facet_status eval_batch(eval_totals *e, tokenize_run *run, uint16_t *const *tokens,
                               int count, const uint8_t *crops) {
    const facet_fqgan_config *c = run->config;
    const int s = run->image_size;
    const size_t cells = (size_t)run->grid * run->grid, pixels = (size_t)s * s;
    for (int b = 0; b < c->branch_count; b++)
        for (size_t i = 0; i < (size_t)count * cells; i++)
            e->histograms[(size_t)b * c->codebook_size + tokens[b][i]]++;
    facet_status status =
        facet_fqgan_decode(run->model, (const uint16_t *const *)tokens, count, e->reconstructed);
    if (status != FACET_OK) return facet_error_context("--eval: decoding the tokens");
    for (int n = 0; n < count; n++) {
        facet_fqgan_to_uint8(e->reconstructed + (size_t)n * 3 * pixels, s, s, e->pixels);
        const uint8_t *crop = crops + (size_t)n * 3 * pixels;
        for (size_t i = 0; i < 3 * pixels; i++) {
            e->reference.data[i] = (float)crop[i] / 255.0f;
            e->result.data[i] = (float)e->pixels[i] / 255.0f;
        }
        double psnr, ssim;
        status = facet_psnr(&e->result, &e->reference, NULL, &psnr);
        if (status == FACET_OK) status = facet_ssim(&e->result, &e->reference, NULL, &ssim);
        if (status != FACET_OK) return status;
        if (isinf(psnr)) psnr = PSNR_IDENTICAL;
        e->sums[EVAL_IMAGES] += 1;
        e->sums[EVAL_PSNR] += psnr;
        e->sums[EVAL_PSNR2] += psnr * psnr;
        e->sums[EVAL_SSIM] += ssim;
        e->sums[EVAL_SSIM2] += ssim * ssim;
    }
    return FACET_OK;
}

static void eval_summarise(const eval_totals *e, const tokenize_run *run,
                           facet_tokenize_summary *summary) {
    const facet_fqgan_config *c = run->config;
    const double n = e->sums[EVAL_IMAGES];
    summary->eval_images = (int64_t)n;
    if (n > 0) {
        summary->psnr = e->sums[EVAL_PSNR] / n;
        summary->ssim = e->sums[EVAL_SSIM] / n;
        summary->psnr_std =
            sqrt(fmax(0.0, e->sums[EVAL_PSNR2] / n - summary->psnr * summary->psnr));
        summary->ssim_std =
            sqrt(fmax(0.0, e->sums[EVAL_SSIM2] / n - summary->ssim * summary->ssim));
    }
    summary->branch_count = c->branch_count;
    for (int b = 0; b < c->branch_count; b++) {
        facet_tokenize_branch_stats *stats = &summary->branches[b];
        snprintf(stats->name, sizeof stats->name, "%s", c->branch_names[b]);
        const int64_t *h = e->histograms + (size_t)b * c->codebook_size;
        double total = 0.0, entropy = 0.0;
        stats->codes_used = 0;
        for (int k = 0; k < c->codebook_size; k++) {
            total += (double)h[k];
            stats->codes_used += h[k] > 0;
        }
        for (int k = 0; k < c->codebook_size && total > 0; k++)
            if (h[k] > 0) entropy -= (double)h[k] / total * log((double)h[k] / total);
        stats->usage = (double)stats->codes_used / c->codebook_size;
        stats->perplexity = total > 0 ? exp(entropy) : 0.0;
    }
}

static facet_status eval_write(const tokenize_run *run, const facet_tokenize_summary *summary) {
    const facet_tokenize_options *o = run->options;
    char name[64];
    if (o->shard_count > 1)
        snprintf(name, sizeof name, "eval-%d-of-%d.json", o->shard_index, o->shard_count);
    else
        snprintf(name, sizeof name, "eval.json");
    cJSON *root = cJSON_CreateObject(), *protocol = cJSON_CreateObject();
    cJSON *results = cJSON_CreateObject(), *branches = cJSON_CreateObject();
    int ok =
        root && protocol && results && branches &&
        cJSON_AddStringToObject(root, "format", "facet-tokenize-eval") &&
        cJSON_AddNumberToObject(root, "version", 1) &&
        cJSON_AddStringToObject(root, "model", o->model_path) &&
        cJSON_AddStringToObject(root, "input", o->input) &&
        cJSON_AddStringToObject(root, "device", facet_fqgan_backend_name(o->backend)) &&
        cJSON_AddStringToObject(protocol, "reference",
                                "the preprocessed 8-bit crop (center_crop_arr)") &&
        cJSON_AddStringToObject(protocol, "reconstruction",
                                "decode(encode(x)), clamp(127.5 y + 128) truncated to 8 bits") &&
        cJSON_AddStringToObject(protocol, "psnr",
                                "10 log10(1 / MSE) on [0,1] per image, averaged; identical "
                                "images count as 100 dB") &&
        cJSON_AddStringToObject(protocol, "ssim",
                                "gaussian 11x11 sigma 1.5, data range 1, per image, averaged") &&
        cJSON_AddStringToObject(protocol, "perplexity",
                                "exp(entropy of the code histogram over all tokens)") &&
        cJSON_AddNumberToObject(results, "num_images", (double)summary->eval_images) &&
        cJSON_AddNumberToObject(results, "psnr", summary->psnr) &&
        cJSON_AddNumberToObject(results, "psnr_std", summary->psnr_std) &&
        cJSON_AddNumberToObject(results, "ssim", summary->ssim) &&
        cJSON_AddNumberToObject(results, "ssim_std", summary->ssim_std) &&
        cJSON_AddNumberToObject(results, "codebook_size", run->config->codebook_size);
    for (int b = 0; ok && b < summary->branch_count; b++) {
        const facet_tokenize_branch_stats *s = &summary->branches[b];
        cJSON *entry = cJSON_CreateObject();
        ok = entry && cJSON_AddNumberToObject(entry, "codes_used", (double)s->codes_used) &&
             cJSON_AddNumberToObject(entry, "usage", s->usage) &&
             cJSON_AddNumberToObject(entry, "perplexity", s->perplexity) &&
             cJSON_AddItemToObject(branches, s->name, entry);
        if (!ok) cJSON_Delete(entry);
    }
    ok = ok && cJSON_AddItemToObject(results, "branches", branches);
    if (ok) branches = NULL;
    ok = ok && cJSON_AddItemToObject(root, "protocol", protocol);
    if (ok) protocol = NULL;
    ok = ok && cJSON_AddItemToObject(root, "results", results);
    if (ok) results = NULL;
    char *path = ok ? facet_path_join(o->out_dir, name) : NULL;
    facet_status status =
        path ? facet_json_write_atomic(path, root)
             : facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory writing %s", name);
    free(path);
    cJSON_Delete(branches);
    cJSON_Delete(results);
    cJSON_Delete(protocol);
    cJSON_Delete(root);
    return status;
}

/* ---- setup ---------------------------------------------------------------------------------- */

static int default_workers(facet_fqgan_backend backend) {
    if (backend == FACET_FQGAN_CPU) return 4;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 ? (int)cpus : 4;
}

static facet_status run_setup(tokenize_run *run, const facet_tokenize_options *o) {
    run->options = o;
    run->batch = o->batch > 0 ? o->batch : FACET_TOKENIZE_DEFAULT_BATCH;
    run->shard_size = o->shard_size > 0 ? o->shard_size : FACET_TOKENIZE_DEFAULT_SHARD_SIZE;
    const int shard_count = o->shard_count > 1 ? o->shard_count : 1;
    if (o->shard_index < 0 || o->shard_index >= shard_count)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "shard %d/%d: expected 0 <= K < N",
                          o->shard_index, shard_count);
    run->worker = o->shard_index * run->ranks + run->rank;
    run->worker_total = shard_count * run->ranks;

    if (o->save_inputs_npz && run->ranks > 1)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "--save-inputs-npz writes one file per process: run without MPI (use "
                          "--shard K/N with one file per process instead)");
    run->webdataset = facet_wds_is_input(o->input);
    facet_status status = run->webdataset ? facet_wds_list_open(&run->tars, o->input)
                                          : facet_image_list_open(&run->list, o->input);
    if (status != FACET_OK) return status;
    run->listed_folder = !run->webdataset && facet_is_dir(o->input);
    run->count = run->webdataset ? run->tars.count : run->list.count;
    run->paths = run->webdataset ? run->tars.paths : run->list.paths;
    inputs_digest(run->paths, run->count, run->inputs_sha256);
    run->shard_total = (run->count + run->shard_size - 1) / run->shard_size;

    status = facet_sha256_file(o->model_path, run->model_sha256);
    if (status == FACET_OK)
        status = facet_fqgan_load(&run->model, o->model_path, o->backend, run->batch);
    if (status != FACET_OK) return status;
    encoder_name(o->backend, run->encoder);
    run->config = facet_fqgan_config_of(run->model);
    run->image_size = run->config->image_size;
    run->grid = run->config->grid;

    status = facet_make_dirs(o->out_dir);
    if (status != FACET_OK) return status;
    run->manifest_path = facet_path_join(o->out_dir, MANIFEST_NAME);
    run->lock_path = facet_path_join(o->out_dir, LOCK_NAME);
    run->records = facet_alloc_zeroed((size_t)run->shard_total, sizeof *run->records);
    if (!run->manifest_path || !run->lock_path || !run->records) return FACET_ERR_OUT_OF_MEMORY;

    /* what is already done: the manifest's shards, then our shards' files it does not list */
    status = manifest_sync(run, 0);
    for (int64_t s = 0; status == FACET_OK && s < run->shard_total; s++) {
        if (!is_assigned(run, s)) continue;
        shard_record *r = &run->records[s];
        char *path = shard_path(run, s);
        if (!path) return FACET_ERR_OUT_OF_MEMORY;
        int64_t bytes = -1;
        if (facet_is_file(path)) status = file_size(path, &bytes);
        if (status == FACET_OK && r->present && bytes != r->bytes) {
            r->present = 0; /* listed, but the file is gone or changed: tokenize it again */
            r->redo = 1;
            cJSON_Delete(r->failed);
            r->failed = NULL;
        }
        if (status == FACET_OK && !r->present && bytes >= 0) status = shard_verify(run, s, path);
        free(path);
    }
    if (status == FACET_OK) remove_stale_temps(run, "shard-", 1);
    if (status == FACET_OK) warn_other_encoders(run);
    return status;
}

static void run_free(tokenize_run *run) {
    for (int64_t s = 0; run->records && s < run->shard_total; s++)
        cJSON_Delete(run->records[s].failed);
    free(run->records);
    free(run->manifest_path);
    free(run->lock_path);
    facet_fqgan_free(run->model);
    facet_image_list_free(&run->list);
    facet_wds_list_free(&run->tars);
}

/* ---- the tokenization loop ------------------------------------------------------------------ */

typedef struct run_counts {
    int64_t values[5]; /* assigned shards, resumed shards, written shards, encoded, failed */
} run_counts;

enum { COUNT_ASSIGNED, COUNT_RESUMED, COUNT_WRITTEN, COUNT_ENCODED, COUNT_FAILED, COUNTS };

/* Thread-seconds per stage (FACET_STAGE_*), threads per stage, and the model thread's waits. */
typedef struct stage_clock {
    double seconds[FACET_STAGES];
    double threads[FACET_STAGES];
    double wait;
} stage_clock;

const char *facet_tokenize_stage_name(facet_tokenize_stage stage) {
    static const char *const names[FACET_STAGES] = {"read", "decode+preprocess", "model", "write"};
    return stage >= 0 && stage < FACET_STAGES ? names[stage] : "?";
}

typedef struct batch_buffers {
    float *images;  /* [batch, 3, S, S] */
    uint8_t *crops; /* [batch, S, S, 3] (eval) */
    int count;
} batch_buffers;

/* Encodes the batch straight into the shard's rows (and scores it with --eval). */
static facet_status flush_batch(tokenize_run *run, batch_buffers *batch, shard_rows *rows,
                                eval_totals *eval, stage_clock *clock) {
    const size_t cells = (size_t)run->grid * run->grid;
    uint16_t *tokens[FACET_FQGAN_MAX_BRANCHES];
    for (int b = 0; b < run->config->branch_count; b++)
        tokens[b] = rows->tokens[b] + (size_t)rows->count * cells;
    const double t0 = facet_seconds();
    facet_status status = facet_fqgan_encode(run->model, batch->images, batch->count, tokens, NULL);
    if (status == FACET_OK && run->options->eval)
        status = eval_batch(eval, run, tokens, batch->count, batch->crops);
    clock->seconds[FACET_STAGE_MODEL] += facet_seconds() - t0;
    if (status != FACET_OK) return status;
    rows->count += batch->count;
    if (run->options->progress) facet_progress_advance(run->options->progress, batch->count);
    batch->count = 0;
    return FACET_OK;
}

/* The jobs of the decoding queue: input-list indices in the order the loop consumes them. */
typedef struct job_list {
    const tokenize_run *run;
    int64_t *index; /* [count] */
    int64_t count;
} job_list;

/* Folder and list inputs: a decoding worker reads the file itself. */
static void fetch_file(void *context, int64_t job, facet_encoded *out) {
    const job_list *jobs = context;
    const facet_image_list *list = &jobs->run->list;
    const int64_t i = jobs->index[job];
    char *path = facet_path_join(list->root, list->paths[i]);
    char *data = NULL;
    size_t size = 0;
    facet_status status = path ? facet_read_file(path, &data, &size) : FACET_ERR_OUT_OF_MEMORY;
    out->data = (unsigned char *)data;
    out->size = size;
    out->class_id = list->class_ids[i];
    out->reason = status == FACET_OK ? NULL : facet_strdup(facet_last_error());
    free(path);
}

typedef struct tar_feed {
    facet_decode_queue *queue;
} tar_feed;

static int receive_sample(void *context, int64_t k, facet_wds_sample *sample) {
    tar_feed *feed = context;
    facet_encoded e = {sample->image, sample->image ? (size_t)sample->image_bytes : 0,
                       sample->class_id, sample->error};
    sample->image = NULL;
    sample->error = NULL;
    facet_wds_sample_free(sample);
    return facet_decode_queue_put(feed->queue, k, &e);
}

/* Tar inputs: the reader thread streams the requested samples in job order. */
static void produce_from_tars(void *context, facet_decode_queue *queue) {
    const job_list *jobs = context;
    tar_feed feed = {queue};
    facet_wds_list_stream(&jobs->run->tars, jobs->index, jobs->count, receive_sample, &feed);
}

/* Adds the job's failure to the shard's failed list. */
static facet_status add_failed(shard_rows *rows, int64_t i, const char *path, const char *reason) {
    cJSON *entry = failed_entry(i, path, reason);
    if (!entry || !cJSON_AddItemToArray(rows->failed, entry)) {
        cJSON_Delete(entry);
        return facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
    }
    return FACET_OK;
}

static facet_status npz_add(facet_npz_writer *npz, const facet_decoded *d, stage_clock *clock) {
    const double t0 = facet_seconds();
    facet_status status = facet_npz_append(npz, d->crop->data, 1);
    clock->seconds[FACET_STAGE_WRITE] += facet_seconds() - t0;
    return status;
}

/* A shard complete before this run, with --save-inputs-npz: its images are decoded again for the
 * reference batch, and must be as many as the shard's rows. */
static facet_status replay_resumed(tokenize_run *run, int64_t s, facet_decode_queue *queue,
                                   int64_t *job, facet_npz_writer *npz, stage_clock *clock) {
    facet_status status = FACET_OK;
    int64_t rows = 0;
    for (int64_t i = shard_first(run, s); i < shard_end(run, s); i++, (*job)++) {
        const facet_decoded *d = facet_decode_queue_wait(queue, *job);
        if (status == FACET_OK && d->status == FACET_OK) {
            status = npz_add(npz, d, clock);
            rows++;
        }
        facet_decode_queue_release(queue, *job);
        if (run->options->progress) facet_progress_advance(run->options->progress, 1);
    }
    if (status == FACET_OK && rows != run->records[s].count)
        status = facet_fail(FACET_ERR_INVALID_ARGUMENT,
                            "--save-inputs-npz: shard %lld (complete before this run) holds %lld "
                            "images but %lld decode now: the input changed since it was written",
                            (long long)s, (long long)run->records[s].count, (long long)rows);
    return status;
}

/* Tokenizes this process's shards that are not complete yet (and, with --save-inputs-npz,
 * decodes the complete ones again for the reference batch). */
static facet_status run_loop(tokenize_run *run, run_counts *counts, eval_totals *eval,
                             stage_clock *clock, int64_t *npz_rows) {
    const facet_tokenize_options *o = run->options;
    const int npz_wanted = o->save_inputs_npz != NULL;
    const size_t pixels = (size_t)run->image_size * run->image_size;
    job_list jobs = {run, facet_alloc((size_t)run->count + 1, sizeof(int64_t)), 0};
    unsigned char *resumed = facet_alloc_zeroed((size_t)run->shard_total + 1, 1);
    if (!jobs.index || !resumed) {
        free(jobs.index);
        free(resumed);
        return FACET_ERR_OUT_OF_MEMORY;
    }
    for (int64_t s = 0; s < run->shard_total; s++) {
        if (!is_assigned(run, s)) continue;
        counts->values[COUNT_ASSIGNED]++;
        if (run->records[s].present) {
            counts->values[COUNT_RESUMED]++;
            resumed[s] = 1;
            if (!npz_wanted) continue;
        }
        for (int64_t i = shard_first(run, s); i < shard_end(run, s); i++)
            jobs.index[jobs.count++] = i;
    }
    shard_rows rows = {0};
    batch_buffers batch = {0};
    facet_npz_writer npz;
    memset(&npz, 0, sizeof npz);
    facet_status status = rows_reset(&rows);
    for (int b = 0; status == FACET_OK && b < run->config->branch_count; b++)
        if (!(rows.tokens[b] =
                  facet_alloc((size_t)run->shard_size * run->grid * run->grid, sizeof(uint16_t))))
            status = FACET_ERR_OUT_OF_MEMORY;
    if (status == FACET_OK &&
        (!(rows.index = facet_alloc((size_t)run->shard_size, 8)) ||
         !(rows.classes = facet_alloc((size_t)run->shard_size, 8)) ||
         !(batch.images = facet_alloc((size_t)run->batch * 3 * pixels, 4)) ||
         (o->eval && !(batch.crops = facet_alloc((size_t)run->batch * 3 * pixels, 1)))))
        status = FACET_ERR_OUT_OF_MEMORY;
    if (status == FACET_OK && npz_wanted)
        status = facet_npz_begin(&npz, o->save_inputs_npz, run->image_size, run->image_size);
    const int threads = o->workers > 0 ? o->workers : default_workers(o->backend);
    const facet_decode_queue_options queue_options = {
        .job_count = jobs.count,
        .image_size = run->image_size,
        .capacity = 2 * run->batch + threads,
        .workers = threads,
        .keep_crop = o->eval || npz_wanted,
        .fetch = run->webdataset ? NULL : fetch_file,
        .produce = run->webdataset ? produce_from_tars : NULL,
        .context = &jobs,
    };
    facet_decode_queue *queue = NULL;
    if (status == FACET_OK) status = facet_decode_queue_start(&queue, &queue_options);
    if (o->progress) facet_progress_begin(o->progress, "tokenize", "img", jobs.count);

    int64_t job = 0;
    for (int64_t s = 0; status == FACET_OK && s < run->shard_total; s++) {
        if (!is_assigned(run, s) || (resumed[s] && !npz_wanted)) continue;
        if (resumed[s]) {
            status = replay_resumed(run, s, queue, &job, &npz, clock);
            continue;
        }
        status = rows_reset(&rows);
        const int64_t end = shard_end(run, s);
        for (int64_t i = shard_first(run, s); status == FACET_OK && i < end; i++, job++) {
            const facet_decoded *d = facet_decode_queue_wait(queue, job);
            const char *path = run->paths[i];
            if (d->status != FACET_OK) {
                status = add_failed(&rows, i, path, d->reason);
                counts->values[COUNT_FAILED]++;
                if (o->progress) facet_progress_advance(o->progress, 1);
            } else {
                const int n = batch.count++;
                memcpy(batch.images + (size_t)n * 3 * pixels, d->chw, 3 * pixels * sizeof(float));
                if (o->eval)
                    memcpy(batch.crops + (size_t)n * 3 * pixels, d->crop->data, 3 * pixels);
                if (npz_wanted) status = npz_add(&npz, d, clock);
                rows.index[rows.count + n] = i;
                rows.classes[rows.count + n] = d->class_id;
                cJSON *entry = cJSON_CreateString(path);
                if (!entry || !cJSON_AddItemToArray(rows.paths, entry)) {
                    cJSON_Delete(entry);
                    status = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
                }
                counts->values[COUNT_ENCODED]++;
            }
            facet_decode_queue_release(queue, job);
            if (status == FACET_OK && batch.count > 0 &&
                (batch.count == run->batch || i == end - 1))
                status = flush_batch(run, &batch, &rows, eval, clock);
        }
        const double t0 = facet_seconds();
        if (status == FACET_OK) status = shard_write(run, s, &rows);
        if (status == FACET_OK) counts->values[COUNT_WRITTEN]++;
        if (status == FACET_OK && run->rank == 0) status = manifest_sync(run, 1);
        clock->seconds[FACET_STAGE_WRITE] += facet_seconds() - t0;
    }
    if (o->progress) facet_progress_end(o->progress);
    facet_decode_timing timing = {0};
    facet_decode_queue_free(queue, &timing);
    clock->seconds[FACET_STAGE_READ] += timing.fetch;
    clock->seconds[FACET_STAGE_DECODE] += timing.decode;
    clock->threads[FACET_STAGE_READ] += run->webdataset ? 1 : threads;
    clock->threads[FACET_STAGE_DECODE] += threads;
    clock->threads[FACET_STAGE_MODEL] += 1;
    clock->threads[FACET_STAGE_WRITE] += 1;
    clock->wait += timing.wait;
    if (npz_wanted) {
        *npz_rows = npz.rows;
        const double t0 = facet_seconds();
        if (status == FACET_OK)
            status = facet_npz_commit(&npz);
        else
            facet_npz_abort(&npz);
        clock->seconds[FACET_STAGE_WRITE] += facet_seconds() - t0;
    }
    rows_free(&rows);
    free(batch.images);
    free(batch.crops);
    free(jobs.index);
    free(resumed);
    return status;
}

/* ---- MPI ------------------------------------------------------------------------------------ */

int facet_tokenize_mpi_launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

facet_status facet_tokenize_mpi_begin(int *rank, int *ranks) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized && MPI_Init(NULL, NULL) != MPI_SUCCESS)
        return facet_fail(FACET_ERR_INTERNAL, "MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, ranks);
    return FACET_OK;
}

void facet_tokenize_mpi_end(void) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

/* All ranks learn whether every rank succeeded; a rank that did not fail itself reports the
 * lowest failing rank. */
static facet_status mpi_agree(const tokenize_run *run, facet_status status, const char *stage) {
    int mine = status == FACET_OK ? run->ranks : run->rank, lowest = 0;
    MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (status == FACET_OK && lowest < run->ranks)
        return facet_fail(FACET_ERR_INTERNAL, "MPI rank %d of %d failed %s (see its error)", lowest,
                          run->ranks, stage);
    return status;
}

/* The shards this rank completed, as JSON [{shard, count, bytes, sha256, encoder, failed}]. */
static char *records_json(const tokenize_run *run) {
    cJSON *list = cJSON_CreateArray();
    int ok = list != NULL;
    for (int64_t s = 0; ok && s < run->shard_total; s++) {
        const shard_record *r = &run->records[s];
        if (!r->present || !is_assigned(run, s)) continue;
        cJSON *entry = cJSON_CreateObject(), *failed = cJSON_Duplicate(r->failed, 1);
        ok = entry && failed && cJSON_AddNumberToObject(entry, "shard", (double)s) &&
             cJSON_AddNumberToObject(entry, "count", (double)r->count) &&
             cJSON_AddNumberToObject(entry, "bytes", (double)r->bytes) &&
             cJSON_AddStringToObject(entry, "sha256", r->sha256) &&
             cJSON_AddStringToObject(entry, "encoder", r->encoder) &&
             cJSON_AddItemToObject(entry, "failed", failed);
        if (ok) failed = NULL;
        ok = ok && cJSON_AddItemToArray(list, entry);
        if (!ok) cJSON_Delete(entry);
        cJSON_Delete(failed);
    }
    char *text = ok ? cJSON_PrintUnformatted(list) : NULL;
    cJSON_Delete(list);
    return text;
}

static facet_status records_adopt(tokenize_run *run, const char *text) {
    cJSON *list = cJSON_Parse(text);
    facet_status status =
        cJSON_IsArray(list) ? FACET_OK
                            : facet_fail(FACET_ERR_INTERNAL, "malformed shard records from a rank");
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        int64_t s, count, bytes;
        const char *sha = json_string(item, "sha256");
        cJSON *failed = cJSON_GetObjectItemCaseSensitive(item, "failed");
        if (status != FACET_OK || !json_int64(item, "shard", &s) || s < 0 ||
            s >= run->shard_total || !json_int64(item, "count", &count) ||
            !json_int64(item, "bytes", &bytes) || !sha || strlen(sha) != 64 ||
            !cJSON_IsArray(failed)) {
            status = facet_fail(FACET_ERR_INTERNAL, "malformed shard records from a rank");
            break;
        }
        shard_record *r = &run->records[s];
        if (r->present) continue;
        cJSON *copy = cJSON_Duplicate(failed, 1);
        if (!copy) {
            status = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        cJSON_Delete(r->failed);
        *r = (shard_record){.present = 1, .count = count, .bytes = bytes, .failed = copy};
        memcpy(r->sha256, sha, 65);
        copy_encoder(r->encoder, json_string(item, "encoder"));
    }
    cJSON_Delete(list);
    return status;
}

/* Rank 0 receives every rank's completed shards and the totals. */
static facet_status mpi_gather(tokenize_run *run, run_counts *counts, eval_totals *eval,
                               stage_clock *clock) {
    char *mine = records_json(run);
    int length = mine ? (int)strlen(mine) + 1 : 0, *lengths = NULL, *offsets = NULL;
    char *all = NULL;
    facet_status status = FACET_OK;
    if (run->rank == 0) {
        lengths = facet_alloc((size_t)run->ranks, sizeof(int));
        offsets = facet_alloc((size_t)run->ranks, sizeof(int));
    }
    MPI_Gather(&length, 1, MPI_INT, lengths, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (run->rank == 0 && lengths && offsets) {
        size_t total = 0;
        for (int r = 0; r < run->ranks; r++) {
            offsets[r] = (int)total;
            total += (size_t)lengths[r];
        }
        all = facet_alloc(total + 1, 1);
    }
    MPI_Gatherv(mine ? mine : "", length, MPI_CHAR, all, lengths, offsets, MPI_CHAR, 0,
                MPI_COMM_WORLD);
    int64_t counts_all[COUNTS];
    MPI_Reduce(counts->values, counts_all, COUNTS, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    enum { CLOCK_VALUES = sizeof(stage_clock) / sizeof(double) };
    stage_clock clocks;
    MPI_Reduce(clock, &clocks, CLOCK_VALUES, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (run->rank == 0) *clock = clocks;
    if (run->options->eval) {
        double sums[EVAL_SUMS];
        MPI_Reduce(eval->sums, sums, EVAL_SUMS, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        const int n = run->config->branch_count * run->config->codebook_size;
        if (run->rank == 0) {
            memcpy(eval->sums, sums, sizeof sums);
            MPI_Reduce(MPI_IN_PLACE, eval->histograms, n, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
        } else {
            MPI_Reduce(eval->histograms, NULL, n, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
        }
    }
    if (run->rank == 0) {
        memcpy(counts->values, counts_all, sizeof counts_all);
        if (!all || !mine)
            status = facet_fail(FACET_ERR_OUT_OF_MEMORY, "out of memory gathering ranks");
        for (int r = 0; status == FACET_OK && r < run->ranks; r++)
            if (lengths[r] > 0) status = records_adopt(run, all + offsets[r]);
    }
    cJSON_free(mine);
    free(all);
    free(lengths);
    free(offsets);
    return status;
}

/* Stage times and the bottleneck: the stage with the most seconds per thread. */
static void summarise_stages(const stage_clock *clock, facet_tokenize_summary *summary) {
    double worst = -1.0;
    for (int st = 0; st < FACET_STAGES; st++) {
        const int threads = (int)clock->threads[st];
        summary->stages[st].seconds = clock->seconds[st];
        summary->stages[st].threads = threads;
        const double per_thread = threads > 0 ? clock->seconds[st] / threads : 0.0;
        if (per_thread > worst) {
            worst = per_thread;
            summary->bottleneck = (facet_tokenize_stage)st;
        }
    }
    summary->input_wait_seconds = clock->wait;
}

/* ---- entry point ---------------------------------------------------------------------------- */

facet_status facet_tokenize(const facet_tokenize_options *options,
                            facet_tokenize_summary *summary) {
    memset(summary, 0, sizeof *summary);
    tokenize_run run = {0};
    run.ranks = 1;
    if (options->mpi) {
        MPI_Comm_rank(MPI_COMM_WORLD, &run.rank);
        MPI_Comm_size(MPI_COMM_WORLD, &run.ranks);
    }
    run_counts counts = {{0}};
    eval_totals eval;
    memset(&eval, 0, sizeof eval);
    facet_status status = run_setup(&run, options);
    if (status == FACET_OK && options->eval) status = eval_init(&eval, &run);
    if (options->mpi) status = mpi_agree(&run, status, "while setting up");
    /* from here on every rank takes the same branches, so the collectives match */
    const int set_up = status == FACET_OK;
    const double start = facet_seconds();
    stage_clock clock;
    memset(&clock, 0, sizeof clock);
    if (set_up) status = run_loop(&run, &counts, &eval, &clock, &summary->npz_rows);
    summary->seconds = facet_seconds() - start;
    if (options->mpi && set_up) {
        facet_status loop_status = mpi_agree(&run, status, "while tokenizing");
        facet_status gathered = mpi_gather(&run, &counts, &eval, &clock);
        status = loop_status != FACET_OK ? loop_status : gathered;
    }
    if (run.rank == 0 && set_up) {
        facet_status synced = manifest_sync(&run, 1);
        if (status == FACET_OK) status = synced;
        summary->images = run.count;
        summary->shards = run.shard_total;
        summary->assigned_shards = counts.values[COUNT_ASSIGNED];
        summary->resumed_shards = counts.values[COUNT_RESUMED];
        summary->written_shards = counts.values[COUNT_WRITTEN];
        summary->encoded = counts.values[COUNT_ENCODED];
        summary->failed = counts.values[COUNT_FAILED];
        summary->complete = present_shards(&run) == run.shard_total;
        summary->model_bytes = facet_fqgan_memory_bytes(run.model);
        summarise_stages(&clock, summary);
        if (status == FACET_OK && options->eval) {
            eval_summarise(&eval, &run, summary);
            status = eval_write(&run, summary);
        }
    }
    eval_free(&eval);
    run_free(&run);
    return status;
}
