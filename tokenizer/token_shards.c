/* Token folders: manifest listing and shard validation (token_shards.h). */
#include "token_shards.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/safe_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void facet_token_shard_list_free(char **files, int count) {
    for (int i = 0; files && i < count; i++) free(files[i]);
    free(files);
}

static facet_status list_one(const char *tokens, char ***files, int *count) {
    if (!facet_is_file(tokens))
        return facet_fail(FACET_ERR_NOT_FOUND, "'%s' does not exist", tokens);
    if (!(*files = facet_alloc(1, sizeof(char *)))) return facet_last_status();
    if (!((*files)[0] = facet_strdup(tokens))) {
        free(*files);
        *files = NULL;
        return facet_last_status();
    }
    *count = 1;
    return FACET_OK;
}

facet_status facet_token_shard_list(const char *tokens, char ***files, int *count) {
    *files = NULL;
    *count = 0;
    char *manifest = NULL;
    if (facet_is_dir(tokens))
        manifest = facet_path_join(tokens, "manifest.json");
    else if (!strcmp(facet_path_extension(tokens), ".json"))
        manifest = facet_strdup(tokens);
    else
        return list_one(tokens, files, count);
    if (!manifest) return facet_last_status();
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
    const int n = status == FACET_OK ? cJSON_GetArraySize(shards) : 0;
    if (status == FACET_OK && !(*files = facet_alloc_zeroed((size_t)n + 1, sizeof(char *))))
        status = facet_last_status();
    for (int i = 0; status == FACET_OK && i < n; i++) {
        char key[48], what[4200];
        snprintf(key, sizeof key, "shards[%d]", i);
        const char *file = NULL;
        status = facet_json_get_string(&doc, cJSON_GetArrayItem(shards, i), "file", key, &file);
        snprintf(what, sizeof what, "%s: key '%s.file'", manifest, key);
        if (status == FACET_OK) status = facet_check_safe_name(file, FACET_NAME_RELATIVE, what);
        if (status == FACET_OK && !((*files)[i] = facet_path_relative_to_file(manifest, file)))
            status = facet_last_status();
        if (status == FACET_OK) *count = i + 1;
    }
    if (status != FACET_OK) {
        facet_token_shard_list_free(*files, n);
        *files = NULL;
        *count = 0;
    }
    facet_doc_free(&doc);
    free(manifest);
    return status;
}

/* Metadata "paths": a JSON array of `count` safe relative names. */
static facet_status read_paths(facet_token_shard *s, const char *path) {
    const char *text = facet_safetensors_metadata(&s->st, "paths");
    cJSON *list = text && !facet_json_has_nul_escape(text) ? cJSON_Parse(text) : NULL;
    s->paths_json = list;
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) != s->count)
        return facet_fail(FACET_ERR_FORMAT,
                          "'%s': metadata 'paths' must be a JSON array of %lld paths", path,
                          (long long)s->count);
    if (!(s->paths = facet_alloc((size_t)s->count + 1, sizeof *s->paths)))
        return facet_last_status();
    int64_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        char what[4200];
        snprintf(what, sizeof what, "'%s': metadata 'paths'[%lld]", path, (long long)i);
        if (!cJSON_IsString(item)) return facet_fail(FACET_ERR_FORMAT, "%s: not a string", what);
        facet_status status = facet_check_safe_name(item->valuestring, FACET_NAME_RELATIVE, what);
        if (status != FACET_OK) return status;
        s->paths[i++] = item->valuestring;
    }
    return FACET_OK;
}

facet_status facet_token_shard_open(facet_token_shard *s, const char *path,
                                    const facet_fqgan_config *c) {
    memset(s, 0, sizeof *s);
    facet_status status = facet_safetensors_open(&s->st, path);
    if (status != FACET_OK) return status;
    const char *format = facet_safetensors_metadata(&s->st, "format");
    const facet_tensor *index = facet_safetensors_get(&s->st, "index");
    if (!format || strcmp(format, "facet-tokens"))
        status = facet_fail(FACET_ERR_FORMAT,
                            "'%s' is not a facet token shard (metadata "
                            "'format' is not 'facet-tokens')",
                            path);
    else if (!index)
        status = facet_last_status();
    else if (index->ndim != 1)
        status = facet_fail(FACET_ERR_FORMAT, "'%s': 'index' must have one dimension", path);
    if (status == FACET_OK) s->count = index->shape[0];
    if (status == FACET_OK) status = read_paths(s, path);
    s->branch_count = c->branch_count;
    for (int b = 0; status == FACET_OK && b < c->branch_count; b++) {
        const int64_t shape[3] = {s->count, c->grid, c->grid};
        const facet_tensor *t;
        status =
            facet_safetensors_expect(&s->st, c->branch_names[b], FACET_DTYPE_U16, 3, shape, &t);
        if (status != FACET_OK)
            facet_error_context("tokens do not fit the model (%s, %dx%d grid)", c->variant, c->grid,
                                c->grid);
        else
            s->tokens[b] = t->data;
    }
    if (status != FACET_OK) facet_token_shard_close(s);
    return status;
}

void facet_token_shard_close(facet_token_shard *s) {
    free(s->paths);
    cJSON_Delete(s->paths_json);
    facet_safetensors_close(&s->st);
    memset(s, 0, sizeof *s);
}
