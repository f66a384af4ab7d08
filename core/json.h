/* JSON (cJSON) and YAML (libyaml, converted to the same cJSON tree) behind helpers that report
 * the file and the key on error:
 *
 *     "scene.json: key 'nodes[1].shape.sphere.radius': expected a number, got a string"
 *
 * A facet_doc keeps the parsed tree and the file name used in messages. */
#ifndef FACET_CORE_JSON_H
#define FACET_CORE_JSON_H

#include "status.h"

#include <cjson/cJSON.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_doc {
    cJSON *root;
    char *path; /* file the tree came from, for messages */
} facet_doc;

/* Parses a JSON file. Syntax errors report the line and column. */
facet_status facet_json_load(facet_doc *doc, const char *path);
/* Parses JSON text held in memory; `name` stands in for the file in messages. Text with a
 * "\u0000" escape is rejected: a C string would silently end at it (core/safe_name.h). */
facet_status facet_json_parse(facet_doc *doc, const char *text, const char *name);
/* 1 when a JSON string in `text` holds the escape "\u0000" (NUL), else 0. Use it before any
 * cJSON_Parse of untrusted text that facet_json_parse does not see. */
int facet_json_has_nul_escape(const char *text);
/* Parses a YAML file (first document) into the same tree: mappings become objects (keys as
 * strings), sequences arrays; plain scalars that read as numbers become numbers, true/false
 * booleans, null/~ null; quoted scalars stay strings. Nesting deeper than 64 is rejected. */
facet_status facet_yaml_load(facet_doc *doc, const char *path);
void facet_doc_free(facet_doc *doc);

/* Typed lookups. `key_path` is the dotted path shown in messages (the caller's name for `node`).
 * Each fails naming doc->path and the key when the value is missing or of the wrong type. */
facet_status facet_json_object(const facet_doc *doc, const cJSON *node, const char *key_path);
facet_status facet_json_get_number(const facet_doc *doc, const cJSON *object, const char *key,
                                   const char *key_path, double *out);
/* Like get_number but leaves *out untouched and succeeds when the key is absent. */
facet_status facet_json_opt_number(const facet_doc *doc, const cJSON *object, const char *key,
                                   const char *key_path, double *out);
facet_status facet_json_get_string(const facet_doc *doc, const cJSON *object, const char *key,
                                   const char *key_path, const char **out);
facet_status facet_json_opt_string(const facet_doc *doc, const cJSON *object, const char *key,
                                   const char *key_path, const char **out);
/* A numeric array of exactly `count` entries. */
facet_status facet_json_get_numbers(const facet_doc *doc, const cJSON *object, const char *key,
                                    const char *key_path, double *out, int count);
facet_status facet_json_opt_numbers(const facet_doc *doc, const cJSON *object, const char *key,
                                    const char *key_path, double *out, int count);
/* A 4x4 matrix as a nested array, row-major, into out[16]. */
facet_status facet_json_get_mat4(const facet_doc *doc, const cJSON *object, const char *key,
                                 const char *key_path, double out[16]);

/* Fails naming the first key of `object` that is not in the NULL-terminated `allowed` list
 * ("scene.json: unknown key 'nodes[0].colour'"). The key "extra" is always allowed. */
facet_status facet_json_check_keys(const facet_doc *doc, const cJSON *object, const char *key_path,
                                   const char *const *allowed);

/* "a.b" + "c" -> "a.b.c" (or "c" when the prefix is empty), into buf. */
const char *facet_key_path(char *buf, size_t size, const char *prefix, const char *key);

/* cJSON type name for messages: "a number", "a string", "an object", ... */
const char *facet_json_type_name(const cJSON *node);

/* Serialises `root` with indentation and writes it atomically to path. */
facet_status facet_json_write_atomic(const char *path, const cJSON *root);

#ifdef __cplusplus
}
#endif
#endif
