/* Image inputs for tokenization: a directory tree (ImageNet-style class folders) or a list file.
 *
 * Paths are relative to `root`, '/'-separated, sorted by byte order (strcmp); their position in
 * that order is the `index` recorded in token shards (docs/formats.md, "Token shards"). Classes are
 * the top-level subdirectories sorted by byte order, numbered from 0 like torchvision's ImageFolder
 * (find_classes); an image directly in the root has class -1. Names starting with '.' are skipped.
 */
#ifndef FACET_DATASETS_IMAGE_FOLDER_H
#define FACET_DATASETS_IMAGE_FOLDER_H

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_image_list {
    char *root; /* directory the paths are relative to */
    int count;
    char **paths;   /* [count] relative paths, sorted */
    int *class_ids; /* [count] index into class_names, or -1 */
    int class_count;
    char **class_names; /* [class_count] sorted */
} facet_image_list;

/* 1 when `name` ends in an extension stb_image reads (case-insensitive): .png .jpg .jpeg .bmp .tga
 * .gif .psd .hdr .pnm .ppm .pgm. */
int facet_is_image_name(const char *name);

/* Lists the image files under `root`, following symbolic links; a link back to a directory being
 * listed (a loop) is skipped, and nesting deeper than 64 directories is an error. Classes are every
 * top-level subdirectory, also those without images. Fails when no image is found. */
facet_status facet_image_folder_scan(facet_image_list *list, const char *root);

/* Reads a list file: one path per line relative to the list file's directory; blank lines and
 * lines starting with '#' are ignored, surrounding spaces and tabs trimmed. Absolute paths, ".."
 * components and duplicates are errors (outputs are written at these relative paths). Classes are
 * the first components of the paths that have a directory. Files are not opened. */
facet_status facet_image_list_read(facet_image_list *list, const char *list_file);

/* A directory is scanned, a regular file read as a list. */
facet_status facet_image_list_open(facet_image_list *list, const char *input);

void facet_image_list_free(facet_image_list *list);

#ifdef __cplusplus
}
#endif
#endif
