/* Image folder lister and list-file reader (image_folder.h). */
#include "image_folder.h"

#include "core/alloc.h"
#include "core/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum { MAX_DEPTH = 64 };

int facet_is_image_name(const char *name) {
    static const char *const known[] = {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif",
                                        ".psd", ".hdr", ".pnm",  ".ppm", ".pgm", NULL};
    const char *ext = facet_path_extension(name);
    for (const char *const *k = known; *k; k++)
        if (strcasecmp(ext, *k) == 0) return 1;
    return 0;
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- building the list ----------------------------------------------------------------------- */

/* Moves the sorted `paths` and `classes` into `list` and numbers each path's class by its first
 * component (-1 without one). */
static facet_status finish_list(facet_image_list *list, facet_string_list *paths,
                                facet_string_list *classes) {
    qsort(paths->items, (size_t)paths->count, sizeof *paths->items, compare_strings);
    qsort(classes->items, (size_t)classes->count, sizeof *classes->items, compare_strings);
    list->class_ids = facet_alloc((size_t)paths->count + 1, sizeof *list->class_ids);
    if (!list->class_ids) return facet_last_status();
    for (int i = 0; i < paths->count; i++) {
        const char *path = paths->items[i];
        const char *slash = strchr(path, '/');
        list->class_ids[i] = -1;
        if (!slash) continue;
        size_t n = (size_t)(slash - path);
        for (int c = 0; c < classes->count; c++) {
            if (strlen(classes->items[c]) == n && memcmp(classes->items[c], path, n) == 0) {
                list->class_ids[i] = c;
                break;
            }
        }
    }
    list->paths = paths->items;
    list->count = paths->count;
    list->class_names = classes->items;
    list->class_count = classes->count;
    memset(paths, 0, sizeof *paths);
    memset(classes, 0, sizeof *classes);
    return FACET_OK;
}

/* ---- directory scan -------------------------------------------------------------------------- */

typedef struct dir_identity {
    dev_t dev;
    ino_t ino;
} dir_identity;

/* Lists `root`/`relative` into `paths`; ancestors[0..depth] are the directories above and including
 * this one (loop detection). At depth 0 every subdirectory name also goes to `classes`. */
static facet_status scan_directory(const char *root, const char *relative, int depth,
                                   dir_identity *ancestors, facet_string_list *paths,
                                   facet_string_list *classes) {
    char *full = relative[0] ? facet_path_join(root, relative) : facet_strdup(root);
    if (!full) return facet_last_status();
    DIR *dir = opendir(full);
    if (!dir) {
        facet_status s =
            facet_fail(FACET_ERR_IO, "cannot open directory '%s': %s", full, strerror(errno));
        free(full);
        return s;
    }
    facet_status s = FACET_OK;
    struct dirent *entry;
    while (s == FACET_OK && (entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        if (name[0] == '.') continue;
        char *child = facet_path_join(full, name);
        char *child_relative =
            relative[0] ? facet_format("%s/%s", relative, name) : facet_strdup(name);
        struct stat st;
        /* stat follows links; a dangling link (stat fails) is not an image to list. */
        int exists = child && child_relative && stat(child, &st) == 0;
        if (!child || !child_relative) {
            s = facet_last_status();
        } else if (exists && S_ISDIR(st.st_mode)) {
            if (depth == 0) s = facet_string_list_push(classes, facet_strdup(name));
            int loop = 0;
            for (int i = 0; i <= depth; i++)
                loop |= ancestors[i].dev == st.st_dev && ancestors[i].ino == st.st_ino;
            if (s == FACET_OK && !loop) {
                if (depth + 1 >= MAX_DEPTH) {
                    s = facet_fail(FACET_ERR_UNSUPPORTED,
                                   "'%s': directories nested deeper than %d levels", child,
                                   MAX_DEPTH);
                } else {
                    ancestors[depth + 1] = (dir_identity){st.st_dev, st.st_ino};
                    s = scan_directory(root, child_relative, depth + 1, ancestors, paths, classes);
                }
            }
        } else if (exists && S_ISREG(st.st_mode) && facet_is_image_name(name)) {
            s = facet_string_list_push(paths, child_relative);
            child_relative = NULL;
        }
        free(child);
        free(child_relative);
    }
    closedir(dir);
    free(full);
    return s;
}

facet_status facet_image_folder_scan(facet_image_list *list, const char *root) {
    memset(list, 0, sizeof *list);
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return facet_fail(FACET_ERR_NOT_FOUND, "'%s' is not a directory", root);
    dir_identity ancestors[MAX_DEPTH];
    ancestors[0] = (dir_identity){st.st_dev, st.st_ino};
    facet_string_list paths = {0}, classes = {0};
    facet_status s = scan_directory(root, "", 0, ancestors, &paths, &classes);
    if (s == FACET_OK && paths.count == 0)
        s = facet_fail(FACET_ERR_NOT_FOUND,
                       "no image files (png, jpg, jpeg, bmp, tga, gif, psd, hdr, pnm) under '%s'",
                       root);
    if (s == FACET_OK && !(list->root = facet_strdup(root))) s = facet_last_status();
    if (s == FACET_OK) s = finish_list(list, &paths, &classes);
    facet_string_list_free(&paths);
    facet_string_list_free(&classes);
    if (s != FACET_OK) facet_image_list_free(list);
    return s;
}

/* ---- list file ------------------------------------------------------------------------------- */

/* Checks one listed path and returns it with empty and "." components dropped (allocation), or
 * NULL with the error set. */
static char *list_entry(const char *list_file, int line, const char *text) {
    if (text[0] == '/') {
        facet_fail(FACET_ERR_FORMAT,
                   "%s:%d: absolute path '%s' (paths are relative to the list file's directory)",
                   list_file, line, text);
        return NULL;
    }
    char *out = facet_alloc(strlen(text) + 1, 1);
    if (!out) return NULL;
    size_t n = 0;
    for (const char *p = text; *p;) {
        while (*p == '/') p++;
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            facet_fail(FACET_ERR_FORMAT, "%s:%d: '%s' leaves the list file's directory ('..')",
                       list_file, line, text);
            free(out);
            return NULL;
        }
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (n > 0) out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
    }
    out[n] = '\0';
    if (n == 0) {
        facet_fail(FACET_ERR_FORMAT, "%s:%d: '%s' names no file", list_file, line, text);
        free(out);
        return NULL;
    }
    return out;
}

static facet_status read_list_lines(const char *list_file, char *text, facet_string_list *paths) {
    int line = 0;
    for (char *p = text; *p;) {
        char *end = p + strcspn(p, "\n");
        char next = *end;
        *end = '\0';
        line++;
        while (*p == ' ' || *p == '\t') p++;
        char *last = p + strlen(p);
        while (last > p && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\r'))
            *--last = '\0';
        if (p[0] && p[0] != '#') {
            facet_status s = facet_string_list_push(paths, list_entry(list_file, line, p));
            if (s != FACET_OK) return s;
        }
        p = next ? end + 1 : end;
    }
    return FACET_OK;
}

facet_status facet_image_list_read(facet_image_list *list, const char *list_file) {
    memset(list, 0, sizeof *list);
    char *text;
    size_t size;
    facet_status s = facet_read_file(list_file, &text, &size);
    if (s != FACET_OK) return s;
    facet_string_list paths = {0}, classes = {0};
    if (strlen(text) != size)
        s = facet_fail(FACET_ERR_FORMAT, "%s: not a text file (contains a NUL byte)", list_file);
    if (s == FACET_OK) s = read_list_lines(list_file, text, &paths);
    free(text);
    if (s == FACET_OK && paths.count == 0)
        s = facet_fail(FACET_ERR_NOT_FOUND, "%s: lists no images", list_file);
    if (s == FACET_OK) {
        qsort(paths.items, (size_t)paths.count, sizeof *paths.items, compare_strings);
        for (int i = 1; i < paths.count && s == FACET_OK; i++)
            if (strcmp(paths.items[i - 1], paths.items[i]) == 0)
                s = facet_fail(FACET_ERR_FORMAT, "%s: '%s' is listed twice", list_file,
                               paths.items[i]);
    }
    /* Classes: the distinct first components (paths are sorted, so equal ones are adjacent). */
    for (int i = 0; i < paths.count && s == FACET_OK; i++) {
        const char *slash = strchr(paths.items[i], '/');
        if (!slash) continue;
        int n = (int)(slash - paths.items[i]);
        const char *last = classes.count ? classes.items[classes.count - 1] : NULL;
        if (last && (int)strlen(last) == n && memcmp(last, paths.items[i], (size_t)n) == 0)
            continue;
        s = facet_string_list_push(&classes, facet_format("%.*s", n, paths.items[i]));
    }
    if (s == FACET_OK) {
        const char *slash = strrchr(list_file, '/');
        list->root = !slash ? facet_strdup(".")
                     : slash == list_file
                         ? facet_strdup("/")
                         : facet_format("%.*s", (int)(slash - list_file), list_file);
        if (!list->root) s = facet_last_status();
    }
    if (s == FACET_OK) s = finish_list(list, &paths, &classes);
    facet_string_list_free(&paths);
    facet_string_list_free(&classes);
    if (s != FACET_OK) facet_image_list_free(list);
    return s;
}

facet_status facet_image_list_open(facet_image_list *list, const char *input) {
    memset(list, 0, sizeof *list);
    if (facet_is_dir(input)) return facet_image_folder_scan(list, input);
    if (facet_is_file(input)) return facet_image_list_read(list, input);
    return facet_fail(FACET_ERR_NOT_FOUND, "image input '%s' not found (no such file or directory)",
                      input);
}

void facet_image_list_free(facet_image_list *list) {
    for (int i = 0; i < list->count; i++) free(list->paths[i]);
    free(list->paths);
    free(list->class_ids);
    for (int i = 0; i < list->class_count; i++) free(list->class_names[i]);
    free(list->class_names);
    free(list->root);
    memset(list, 0, sizeof *list);
}
