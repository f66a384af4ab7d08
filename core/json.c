#include "json.h"

#include "alloc.h"
#include "fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *facet_json_type_name(const cJSON *node) {
    if (!node) return "nothing";
    if (cJSON_IsNumber(node)) return "a number";
    if (cJSON_IsString(node)) return "a string";
    if (cJSON_IsBool(node)) return "a boolean";
    if (cJSON_IsNull(node)) return "null";
    if (cJSON_IsArray(node)) return "an array";
    if (cJSON_IsObject(node)) return "an object";
    return "an unknown value";
}

const char *facet_key_path(char *buf, size_t size, const char *prefix, const char *key) {
    if (prefix && prefix[0])
        snprintf(buf, size, "%s.%s", prefix, key);
    else
        snprintf(buf, size, "%s", key);
    return buf;
}

static void line_and_column(const char *text, const char *at, int *line, int *column) {
    *line = 1;
    *column = 1;
    for (const char *p = text; p < at && *p; p++) {
        if (*p == '\n') {
            (*line)++;
            *column = 1;
        } else {
            (*column)++;
        }
    }
}

int facet_json_has_nul_escape(const char *text) {
    for (const char *p = text; *p; p++) {
        if (*p != '\\') continue;
        if (p[1] == 'u' && p[2] == '0' && p[3] == '0' && p[4] == '0' && p[5] == '0') return 1;
        if (p[1]) p++; /* skip the escaped character: an escaped backslash before u0000 passes */
    }
    return 0;
}

facet_status facet_json_parse(facet_doc *doc, const char *text, const char *name) {
    memset(doc, 0, sizeof *doc);
    if (facet_json_has_nul_escape(text))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: a string holds the escape \\u0000 (NUL), which facet does not "
                          "accept",
                          name);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        int line, column;
        line_and_column(text, end ? end : text, &line, &column);
        return facet_fail(FACET_ERR_FORMAT, "%s:%d:%d: invalid JSON", name, line, column);
    }
    doc->root = root;
    doc->path = facet_strdup(name);
    if (!doc->path) {
        facet_doc_free(doc);
        return facet_last_status();
    }
    return FACET_OK;
}

facet_status facet_json_load(facet_doc *doc, const char *path) {
    memset(doc, 0, sizeof *doc);
    char *text;
    size_t size;
    facet_status s = facet_read_file(path, &text, &size);
    if (s != FACET_OK) return s;
    if (strlen(text) != size) {
        free(text);
        return facet_fail(FACET_ERR_FORMAT, "%s: invalid JSON (contains a NUL byte)", path);
    }
    s = facet_json_parse(doc, text, path);
    free(text);
    return s;
}

void facet_doc_free(facet_doc *doc) {
    cJSON_Delete(doc->root);
    free(doc->path);
    memset(doc, 0, sizeof *doc);
}

static facet_status wrong_type(const facet_doc *doc, const char *key_path, const char *want,
                               const cJSON *got) {
    return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected %s, got %s", doc->path, key_path,
                      want, facet_json_type_name(got));
}

static facet_status missing(const facet_doc *doc, const char *key_path) {
    return facet_fail(FACET_ERR_FORMAT, "%s: missing key '%s'", doc->path, key_path);
}

facet_status facet_json_object(const facet_doc *doc, const cJSON *node, const char *key_path) {
    if (!node) return missing(doc, key_path);
    if (!cJSON_IsObject(node)) return wrong_type(doc, key_path, "an object", node);
    return FACET_OK;
}

static facet_status lookup(const facet_doc *doc, const cJSON *object, const char *key,
                           const char *key_path, const cJSON **out, int optional) {
    char full[512];
    facet_key_path(full, sizeof full, key_path, key);
    *out = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!*out && !optional) return missing(doc, full);
    return FACET_OK;
}

static facet_status number_at(const facet_doc *doc, const cJSON *object, const char *key,
                              const char *key_path, double *out, int optional) {
    const cJSON *item;
    facet_status s = lookup(doc, object, key, key_path, &item, optional);
    if (s != FACET_OK || !item) return s;
    char full[512];
    if (!cJSON_IsNumber(item))
        return wrong_type(doc, facet_key_path(full, sizeof full, key_path, key), "a number", item);
    *out = item->valuedouble;
    return FACET_OK;
}

facet_status facet_json_get_number(const facet_doc *doc, const cJSON *object, const char *key,
                                   const char *key_path, double *out) {
    return number_at(doc, object, key, key_path, out, 0);
}

facet_status facet_json_opt_number(const facet_doc *doc, const cJSON *object, const char *key,
                                   const char *key_path, double *out) {
    return number_at(doc, object, key, key_path, out, 1);
}

static facet_status string_at(const facet_doc *doc, const cJSON *object, const char *key,
                              const char *key_path, const char **out, int optional) {
    const cJSON *item;
    facet_status s = lookup(doc, object, key, key_path, &item, optional);
    if (s != FACET_OK || !item) return s;
    char full[512];
    if (!cJSON_IsString(item))
        return wrong_type(doc, facet_key_path(full, sizeof full, key_path, key), "a string", item);
    *out = item->valuestring;
    return FACET_OK;
}

facet_status facet_json_get_string(const facet_doc *doc, const cJSON *object, const char *key,
                                   const char *key_path, const char **out) {
    return string_at(doc, object, key, key_path, out, 0);
}

facet_status facet_json_opt_string(const facet_doc *doc, const cJSON *object, const char *key,
                                   const char *key_path, const char **out) {
    return string_at(doc, object, key, key_path, out, 1);
}

static facet_status numbers_at(const facet_doc *doc, const cJSON *object, const char *key,
                               const char *key_path, double *out, int count, int optional) {
    const cJSON *item;
    facet_status s = lookup(doc, object, key, key_path, &item, optional);
    if (s != FACET_OK || !item) return s;
    char full[512];
    facet_key_path(full, sizeof full, key_path, key);
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != count) {
        if (cJSON_IsArray(item))
            return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected %d numbers, got %d",
                              doc->path, full, count, cJSON_GetArraySize(item));
        return wrong_type(doc, full, "an array", item);
    }
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, item) {
        if (!cJSON_IsNumber(v)) {
            char element[600];
            snprintf(element, sizeof element, "%s[%d]", full, i);
            return wrong_type(doc, element, "a number", v);
        }
        out[i++] = v->valuedouble;
    }
    return FACET_OK;
}

facet_status facet_json_get_numbers(const facet_doc *doc, const cJSON *object, const char *key,
                                    const char *key_path, double *out, int count) {
    return numbers_at(doc, object, key, key_path, out, count, 0);
}

facet_status facet_json_opt_numbers(const facet_doc *doc, const cJSON *object, const char *key,
                                    const char *key_path, double *out, int count) {
    return numbers_at(doc, object, key, key_path, out, count, 1);
}

facet_status facet_json_get_mat4(const facet_doc *doc, const cJSON *object, const char *key,
                                 const char *key_path, double out[16]) {
    const cJSON *item;
    facet_status s = lookup(doc, object, key, key_path, &item, 0);
    if (s != FACET_OK) return s;
    char full[512];
    facet_key_path(full, sizeof full, key_path, key);
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 4)
        return facet_fail(FACET_ERR_FORMAT, "%s: key '%s': expected a 4x4 matrix (4 rows)",
                          doc->path, full);
    int r = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, item) {
        char row_key[16];
        snprintf(row_key, sizeof row_key, "%d", r);
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != 4)
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: key '%s': row %d must be an array of 4 numbers", doc->path, full,
                              r);
        int c = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, row) {
            if (!cJSON_IsNumber(v))
                return facet_fail(FACET_ERR_FORMAT,
                                  "%s: key '%s[%d][%d]': expected a number, got %s", doc->path,
                                  full, r, c, facet_json_type_name(v));
            out[r * 4 + c++] = v->valuedouble;
        }
        r++;
    }
    return FACET_OK;
}

facet_status facet_json_check_keys(const facet_doc *doc, const cJSON *object, const char *key_path,
                                   const char *const *allowed) {
    const cJSON *item;
    cJSON_ArrayForEach(item, object) {
        if (strcmp(item->string, "extra") == 0) continue;
        int known = 0;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, item->string) == 0;
        if (!known) {
            char full[512];
            return facet_fail(FACET_ERR_FORMAT, "%s: unknown key '%s'", doc->path,
                              facet_key_path(full, sizeof full, key_path, item->string));
        }
    }
    return FACET_OK;
}

facet_status facet_json_write_atomic(const char *path, const cJSON *root) {
    char *text = cJSON_Print(root);
    if (!text) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "cannot serialise JSON for '%s'", path);
    size_t n = strlen(text);
    text[n] = '\n'; /* replace the NUL: the file ends with a newline */
    facet_status s = facet_write_file_atomic(path, text, n + 1);
    free(text);
    return s;
}
