/* WebDataset inputs: which tars INPUT names, their samples, and streaming them (webdataset.h). */
#include "webdataset.h"

#include "brace_expand.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/safe_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int facet_wds_is_tar_name(const char *path) {
    static const char *const suffixes[] = {".tar", ".tar.gz", ".tgz"};
    const size_t n = strlen(path);
    for (int i = 0; i < 3; i++) {
        const size_t k = strlen(suffixes[i]);
        if (n > k && !strcasecmp(path + n - k, suffixes[i])) return 1;
    }
    return 0;
}

/* ---- which tars --------------------------------------------------------------------------------
 */

/* Calls `line(context, number, text)` for each list-file line that is neither blank nor a
 * comment, trimmed of surrounding spaces, tabs and '\r'. Stops at the first failure. */
static facet_status each_line(char *text, facet_status (*line)(void *, int, const char *),
                              void *context) {
    int number = 0;
    facet_status status = FACET_OK;
    for (char *p = text; *p && status == FACET_OK;) {
        char *end = p + strcspn(p, "\n");
        const char next = *end;
        *end = '\0';
        number++;
        while (*p == ' ' || *p == '\t') p++;
        char *last = p + strlen(p);
        while (last > p && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\r')) *--last = 0;
        if (p[0] && p[0] != '#') status = line(context, number, p);
        p = next ? end + 1 : end;
    }
    return status;
}

static facet_status note_tar_line(void *context, int number, const char *text) {
    (void)number;
    if (facet_wds_is_tar_name(text)) *(int *)context = 1;
    return FACET_OK;
}

int facet_wds_is_input(const char *input) {
    if (facet_is_dir(input)) return 0;
    if (!facet_is_file(input))
        return facet_brace_has_pattern(input) || facet_wds_is_tar_name(input);
    if (facet_wds_is_tar_name(input)) return 1;
    char *text;
    size_t size;
    if (facet_read_file(input, &text, &size) != FACET_OK) return 0;
    int tars = 0;
    if (strlen(text) == size) each_line(text, note_tar_line, &tars);
    free(text);
    return tars;
}

typedef struct list_reading {
    const char *list_file;
    facet_string_list *paths;
} list_reading;

static facet_status add_list_line(void *context, int number, const char *text) {
    list_reading *r = context;
    if (!facet_wds_is_tar_name(text))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s:%d: '%s' is not a tar (.tar, .tar.gz, .tgz); a list file names "
                          "either images or tars",
                          r->list_file, number, text);
    return facet_string_list_push(r->paths, facet_path_relative_to_file(r->list_file, text));
}

/* The tar paths INPUT names, in order. */
static facet_status tar_paths_of(const char *input, facet_string_list *paths) {
    if (facet_is_file(input) && facet_wds_is_tar_name(input))
        return facet_string_list_push(paths, facet_strdup(input));
    if (facet_is_file(input)) {
        char *text;
        size_t size;
        facet_status status = facet_read_file(input, &text, &size);
        if (status != FACET_OK) return status;
        list_reading r = {input, paths};
        if (strlen(text) != size)
            status =
                facet_fail(FACET_ERR_FORMAT, "%s: not a text file (contains a NUL byte)", input);
        if (status == FACET_OK) status = each_line(text, add_list_line, &r);
        free(text);
        if (status == FACET_OK && paths->count == 0)
            status = facet_fail(FACET_ERR_NOT_FOUND, "%s: lists no tars", input);
        return status;
    }
    if (!facet_brace_has_pattern(input)) return facet_string_list_push(paths, facet_strdup(input));
    char **items = NULL;
    int count = 0;
    facet_status status = facet_brace_expand(input, &items, &count);
    for (int i = 0; status == FACET_OK && i < count; i++) {
        if (!facet_wds_is_tar_name(items[i]))
            status = facet_fail(FACET_ERR_INVALID_ARGUMENT,
                                "'%s' (from the pattern '%s') is not a tar (.tar, .tar.gz, .tgz)",
                                items[i], input);
        else
            status = facet_string_list_push(paths, facet_strdup(items[i]));
    }
    facet_brace_free(items, count);
    return status;
}

/* ---- names relative to the common folder -------------------------------------------------------
 */

/* A path split into components, "." and empty ones dropped; an absolute path starts with "/". */
typedef struct split_path {
    char *copy;
    const char **parts;
    int count;
} split_path;

static facet_status split(const char *path, split_path *out) {
    memset(out, 0, sizeof *out);
    const size_t n = strlen(path);
    out->copy = facet_alloc(n + 2, 1);
    out->parts = facet_alloc(n + 2, sizeof *out->parts);
    if (!out->copy || !out->parts) return facet_last_status();
    memcpy(out->copy, path, n + 1);
    if (path[0] == '/') out->parts[out->count++] = "/";
    for (char *p = out->copy; *p;) {
        while (*p == '/') *p++ = '\0';
        if (!*p) break;
        char *part = p;
        while (*p && *p != '/') p++;
        if (*p) *p++ = '\0';
        if (strcmp(part, ".")) out->parts[out->count++] = part;
    }
    return FACET_OK;
}

static void split_free(split_path *s) {
    free(s->copy);
    free(s->parts);
}

/* Joins parts[0, n) with '/' ("/" as the first part stands for the root). */
static char *join_parts(const char *const *parts, int n) {
    size_t length = 2;
    for (int i = 0; i < n; i++) length += strlen(parts[i]) + 1;
    char *out = facet_alloc(length, 1);
    if (!out) return NULL;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i > 0 && strcmp(parts[i - 1], "/")) strcat(out, "/");
        strcat(out, parts[i]);
    }
    if (n == 0) strcpy(out, ".");
    return out;
}

/* root and every tar's name (webdataset.h, "Names"); duplicates are errors. */
static facet_status name_tars(facet_wds_list *list) {
    split_path *splits = facet_alloc_zeroed((size_t)list->tar_count, sizeof *splits);
    if (!splits) return facet_last_status();
    facet_status status = FACET_OK;
    int common = -1; /* components of the common folder */
    for (int t = 0; status == FACET_OK && t < list->tar_count; t++) {
        status = split(list->tar_paths[t], &splits[t]);
        if (status != FACET_OK) break;
        const int folder = splits[t].count - 1;
        if (common < 0 || folder < common) common = folder < 0 ? 0 : folder;
        for (int i = 0; t > 0 && i < common; i++)
            if (strcmp(splits[t].parts[i], splits[0].parts[i])) common = i;
    }
    if (status == FACET_OK && !(list->root = join_parts(splits[0].parts, common)))
        status = facet_last_status();
    list->tar_names = facet_alloc_zeroed((size_t)list->tar_count, sizeof *list->tar_names);
    if (status == FACET_OK && !list->tar_names) status = facet_last_status();
    for (int t = 0; status == FACET_OK && t < list->tar_count; t++) {
        list->tar_names[t] = join_parts(splits[t].parts + common, splits[t].count - common);
        if (!list->tar_names[t]) {
            status = facet_last_status();
            break;
        }
        const char *reason = facet_unsafe_name_reason(list->tar_names[t], FACET_NAME_RELATIVE);
        if (reason)
            status = facet_fail(FACET_ERR_INVALID_ARGUMENT,
                                "tar '%s': its path under the common folder '%s' is '%s', which "
                                "%s (names become output paths); list the tars in a list file "
                                "placed in a folder above them all",
                                list->tar_paths[t], list->root, list->tar_names[t], reason);
        for (int u = 0; status == FACET_OK && u < t; u++)
            if (!strcmp(list->tar_names[u], list->tar_names[t]))
                status = facet_fail(FACET_ERR_INVALID_ARGUMENT, "tar '%s' is given twice",
                                    list->tar_paths[t]);
    }
    for (int t = 0; t < list->tar_count; t++) split_free(&splits[t]);
    free(splits);
    return status;
}

/* ---- listing -----------------------------------------------------------------------------------
 */

static const facet_wds_list *sorting_list;
static int compare_by_path(const void *a, const void *b) {
    const int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    const int c = strcmp(sorting_list->paths[i], sorting_list->paths[j]);
    return c ? c : (i > j) - (i < j);
}

/* Samples [first, end) whose path came earlier in the list: listed as unusable (not thread-safe:
 * qsort has no context argument in C11). */
static facet_status mark_repeated_keys(facet_wds_list *list, int64_t first, int64_t end) {
    if (end - first < 2) return FACET_OK;
    int64_t *order = facet_alloc((size_t)(end - first), sizeof *order);
    if (!order) return facet_last_status();
    for (int64_t i = first; i < end; i++) order[i - first] = i;
    sorting_list = list;
    qsort(order, (size_t)(end - first), sizeof *order, compare_by_path);
    facet_status status = FACET_OK;
    for (int64_t k = 1; status == FACET_OK && k < end - first; k++) {
        const int64_t i = order[k];
        if (strcmp(list->paths[order[k - 1]], list->paths[i]) || list->errors[i]) continue;
        const char *key = strchr(list->paths[i], '#') + 1;
        list->errors[i] = facet_format("key '%s' came earlier in this tar: the members of one "
                                       "sample must be consecutive",
                                       key);
        if (!list->errors[i]) status = facet_last_status();
    }
    free(order);
    return status;
}

/* Appends the samples of tar t. */
static facet_status list_tar(facet_wds_list *list, int t, int64_t *capacity) {
    facet_wds_reader *reader;
    facet_status status = facet_wds_open_file(&reader, list->tar_paths[t]);
    if (status != FACET_OK) return status;
    list->tar_first[t] = list->count;
    for (;;) {
        facet_wds_sample sample;
        int got = 0;
        status = facet_wds_next(reader, 0, &sample, &got);
        if (status != FACET_OK || !got) break;
        if (list->count >= FACET_WDS_MAX_SAMPLES) {
            facet_wds_sample_free(&sample);
            status = facet_fail(FACET_ERR_UNSUPPORTED, "more than %d samples in the tars",
                                FACET_WDS_MAX_SAMPLES);
            break;
        }
        if (list->count == *capacity) {
            const int64_t grown = *capacity ? 2 * *capacity : 1024;
            char **paths = facet_realloc(list->paths, (size_t)grown, sizeof *paths);
            if (paths) list->paths = paths;
            char **errors = paths ? facet_realloc(list->errors, (size_t)grown, sizeof *errors) : 0;
            if (errors) list->errors = errors;
            if (!paths || !errors) {
                facet_wds_sample_free(&sample);
                status = facet_last_status();
                break;
            }
            *capacity = grown;
        }
        list->paths[list->count] = facet_format("%s#%s", list->tar_names[t], sample.key);
        list->errors[list->count] = sample.error;
        sample.error = NULL;
        facet_wds_sample_free(&sample);
        if (!list->paths[list->count]) {
            free(list->errors[list->count]);
            status = facet_last_status();
            break;
        }
        list->count++;
    }
    facet_wds_close(reader);
    list->tar_first[t + 1] = list->count;
    if (status == FACET_OK) status = mark_repeated_keys(list, list->tar_first[t], list->count);
    return status;
}

facet_status facet_wds_list_open(facet_wds_list *list, const char *input) {
    memset(list, 0, sizeof *list);
    facet_string_list paths = {0};
    facet_status status = tar_paths_of(input, &paths);
    if (status == FACET_OK) {
        list->tar_paths = paths.items;
        list->tar_count = paths.count;
        memset(&paths, 0, sizeof paths);
        status = name_tars(list);
    }
    facet_string_list_free(&paths);
    if (status == FACET_OK &&
        !(list->tar_first = facet_alloc_zeroed((size_t)list->tar_count + 1, sizeof(int64_t))))
        status = facet_last_status();
    int64_t capacity = 0;
    for (int t = 0; status == FACET_OK && t < list->tar_count; t++)
        status = list_tar(list, t, &capacity);
    if (status == FACET_OK && list->count == 0)
        status = facet_fail(FACET_ERR_NOT_FOUND, "'%s': the tars hold no samples", input);
    if (status != FACET_OK) facet_wds_list_free(list);
    return status;
}

void facet_wds_list_free(facet_wds_list *list) {
    for (int t = 0; t < list->tar_count; t++) {
        free(list->tar_paths[t]);
        if (list->tar_names) free(list->tar_names[t]);
    }
    free(list->tar_paths);
    free(list->tar_names);
    free(list->tar_first);
    for (int i = 0; i < list->count; i++) {
        free(list->paths[i]);
        free(list->errors[i]);
    }
    free(list->paths);
    free(list->errors);
    free(list->root);
    memset(list, 0, sizeof *list);
}

/* ---- streaming ---------------------------------------------------------------------------------
 */

/* Delivers sample g with only a reason (its listed one when it has one). */
static int deliver_error(const facet_wds_list *list, int64_t g, int64_t k, const char *reason,
                         facet_wds_receive receive, void *context, facet_status *status) {
    facet_wds_sample s;
    memset(&s, 0, sizeof s);
    s.class_id = -1;
    s.key = facet_strdup(strchr(list->paths[g], '#') + 1);
    s.error = facet_strdup(list->errors[g] ? list->errors[g] : reason);
    if (!s.key || !s.error) {
        facet_wds_sample_free(&s);
        *status = facet_last_status();
        return 1;
    }
    return receive(context, k, &s);
}

/* Streams the requested samples [k, k_end) of tar t; *stop when the receiver asked to stop. */
static facet_status stream_tar(const facet_wds_list *list, int t, const int64_t *indices, int64_t k,
                               int64_t k_end, facet_wds_receive receive, void *context, int *stop) {
    facet_status status = FACET_OK;
    facet_wds_reader *reader = NULL;
    char reason[1024] = "";
    if (facet_wds_open_file(&reader, list->tar_paths[t]) != FACET_OK)
        snprintf(reason, sizeof reason, "%s", facet_last_error());
    const size_t name_length = strlen(list->tar_names[t]) + 1;
    for (int64_t g = list->tar_first[t]; reader && !*stop && k < k_end && status == FACET_OK; g++) {
        const int wanted = indices[k] == g;
        facet_wds_sample s;
        int got = 0;
        if (facet_wds_next(reader, wanted && !list->errors[g], &s, &got) != FACET_OK) {
            snprintf(reason, sizeof reason, "%s", facet_last_error());
            break;
        }
        if (!got) {
            snprintf(reason, sizeof reason,
                     "tar '%s' changed since it was listed: it now ends before this sample",
                     list->tar_paths[t]);
            break;
        }
        if (strcmp(s.key, list->paths[g] + name_length)) {
            facet_wds_sample_free(&s);
            snprintf(reason, sizeof reason,
                     "tar '%s' changed since it was listed: another sample is in its place",
                     list->tar_paths[t]);
            break;
        }
        if (!wanted) {
            facet_wds_sample_free(&s);
            continue;
        }
        if (list->errors[g]) {
            facet_wds_sample_free(&s);
            *stop = deliver_error(list, g, k, "", receive, context, &status);
        } else {
            *stop = receive(context, k, &s);
        }
        k++;
    }
    facet_wds_close(reader);
    if (!reader && !reason[0])
        snprintf(reason, sizeof reason, "cannot open '%s'", list->tar_paths[t]);
    for (; !*stop && k < k_end && status == FACET_OK; k++)
        *stop = deliver_error(list, indices[k], k, reason, receive, context, &status);
    return status;
}

facet_status facet_wds_list_stream(const facet_wds_list *list, const int64_t *indices, int64_t n,
                                   facet_wds_receive receive, void *context) {
    facet_status status = FACET_OK;
    int stop = 0;
    int64_t k = 0;
    for (int t = 0; t < list->tar_count && k < n && !stop && status == FACET_OK; t++) {
        int64_t k_end = k;
        while (k_end < n && indices[k_end] < list->tar_first[t + 1]) k_end++;
        if (k_end > k) status = stream_tar(list, t, indices, k, k_end, receive, context, &stop);
        k = k_end;
    }
    return status;
}
