/* YAML -> cJSON through libyaml's document loader. */
#include "json.h"

#include "alloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum { YAML_MAX_DEPTH = 64 };

/* A plain scalar becomes a number, boolean or null when it reads as one (YAML 1.1 core subset). */
static cJSON *scalar_to_json(const yaml_node_t *node) {
    const char *text = (const char *)node->data.scalar.value;
    if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return cJSON_CreateString(text);
    if (!strcmp(text, "true") || !strcmp(text, "True") || !strcmp(text, "TRUE"))
        return cJSON_CreateBool(1);
    if (!strcmp(text, "false") || !strcmp(text, "False") || !strcmp(text, "FALSE"))
        return cJSON_CreateBool(0);
    if (!strcmp(text, "null") || !strcmp(text, "~") || !strcmp(text, "Null") || text[0] == '\0')
        return cJSON_CreateNull();
    if (text[0]) {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (*end == '\0' && errno == 0 && isfinite(v)) return cJSON_CreateNumber(v);
    }
    return cJSON_CreateString(text);
}

static cJSON *node_to_json(yaml_document_t *document, yaml_node_t *node, int depth,
                           const char *path) {
    if (depth > YAML_MAX_DEPTH) {
        facet_fail(FACET_ERR_FORMAT, "%s: YAML nested deeper than %d levels", path, YAML_MAX_DEPTH);
        return NULL;
    }
    cJSON *out = NULL;
    switch (node->type) {
    case YAML_SCALAR_NODE:
        out = scalar_to_json(node);
        break;
    case YAML_SEQUENCE_NODE:
        out = cJSON_CreateArray();
        for (yaml_node_item_t *item = node->data.sequence.items.start;
             out && item < node->data.sequence.items.top; item++) {
            cJSON *child =
                node_to_json(document, yaml_document_get_node(document, *item), depth + 1, path);
            if (!child) {
                cJSON_Delete(out);
                return NULL;
            }
            cJSON_AddItemToArray(out, child);
        }
        break;
    case YAML_MAPPING_NODE:
        out = cJSON_CreateObject();
        for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
             out && pair < node->data.mapping.pairs.top; pair++) {
            yaml_node_t *key = yaml_document_get_node(document, pair->key);
            if (!key || key->type != YAML_SCALAR_NODE) {
                facet_fail(FACET_ERR_FORMAT, "%s: line %lu: mapping keys must be scalars", path,
                           (unsigned long)(key ? key->start_mark.line + 1 : 0));
                cJSON_Delete(out);
                return NULL;
            }
            const char *name = (const char *)key->data.scalar.value;
            if (cJSON_GetObjectItemCaseSensitive(out, name)) {
                facet_fail(FACET_ERR_FORMAT, "%s: line %lu: duplicate key '%s'", path,
                           (unsigned long)key->start_mark.line + 1, name);
                cJSON_Delete(out);
                return NULL;
            }
            cJSON *child = node_to_json(document, yaml_document_get_node(document, pair->value),
                                        depth + 1, path);
            if (!child) {
                cJSON_Delete(out);
                return NULL;
            }
            cJSON_AddItemToObject(out, name, child);
        }
        break;
    case YAML_NO_NODE:
        out = cJSON_CreateNull();
        break;
    }
    if (!out && facet_last_status() == FACET_OK)
        facet_fail(FACET_ERR_OUT_OF_MEMORY, "%s: out of memory converting YAML", path);
    return out;
}

facet_status facet_yaml_load(facet_doc *doc, const char *path) {
    memset(doc, 0, sizeof *doc);
    FILE *f = fopen(path, "rb");
    if (!f) return facet_fail(FACET_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    yaml_parser_t parser;
    yaml_document_t document;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return facet_fail(FACET_ERR_OUT_OF_MEMORY, "cannot initialise the YAML parser");
    }
    yaml_parser_set_input_file(&parser, f);
    facet_status status = FACET_OK;
    if (!yaml_parser_load(&parser, &document)) {
        status = facet_fail(FACET_ERR_FORMAT, "%s:%lu:%lu: invalid YAML: %s", path,
                            (unsigned long)parser.problem_mark.line + 1,
                            (unsigned long)parser.problem_mark.column + 1,
                            parser.problem ? parser.problem : "parse error");
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&document);
        facet_clear_error();
        doc->root = root ? node_to_json(&document, root, 0, path) : cJSON_CreateNull();
        if (!doc->root) status = facet_last_status();
        yaml_document_delete(&document);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    if (status == FACET_OK) {
        doc->path = facet_strdup(path);
        if (!doc->path) status = facet_last_status();
    }
    if (status != FACET_OK) facet_doc_free(doc);
    return status;
}
