/* WebDataset tar shards as an input list for tokenization (docs/formats.md, "Token shards").
 *
 * INPUT names the tars in one of three ways:
 *   - one tar file: a name ending in .tar, .tar.gz or .tgz;
 *   - a brace pattern (datasets/brace_expand.h), when INPUT is not an existing file or folder:
 *     "data/shard-{000000..000099}.tar", "{train,val}.tar";
 *   - a list file with at least one tar on its lines: one path per line, relative to the list
 *     file's folder unless absolute; blank lines and lines starting with '#' are ignored; every
 *     listed path must name a tar.
 * The tars keep that order (expansion order, line order): they are not sorted. A tar given twice
 * is an error, and so is a tar that cannot be opened or whose first header cannot be read.
 *
 * Names: `root` is the longest folder that holds every tar (by path components, after dropping
 * "." components), and each tar's `name` is its path relative to root: "shard-000000.tar" for
 * tars in one folder, "train/a.tar" for "{train,val}/a.tar". A name must be a safe relative name
 * (core/safe_name.h; e.g. "../x.tar" beside "y.tar" is refused: give a list file in a common
 * folder instead). So the names, and the paths below, do not depend on where the data lives.
 *
 * The input list is every sample of the first tar in member order (datasets/wds_tar.h), then of
 * the second, and so on; a sample's position in it is its `index`, and its path is
 * "<tar name>#<key>" ("shard-000000.tar#n01440764/n01440764_10026"). Listing reads the member
 * headers only. Samples found unusable while listing (no image, a duplicate suffix, an unsafe
 * key, an image member over the cap, a truncated tar) stay in the list with their reason; so does
 * a sample whose key came earlier in the same tar (its members are not consecutive), whose path
 * would otherwise name two samples. */
#ifndef FACET_DATASETS_WEBDATASET_H
#define FACET_DATASETS_WEBDATASET_H

#include "core/status.h"
#include "datasets/wds_tar.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { FACET_WDS_MAX_SAMPLES = 1 << 30 };

typedef struct facet_wds_list {
    char *root; /* folder the tar names are relative to */
    int tar_count;
    char **tar_paths;   /* [tar_count] paths opened */
    char **tar_names;   /* [tar_count] relative to root, safe names */
    int64_t *tar_first; /* [tar_count + 1]: tar t holds samples [tar_first[t], tar_first[t + 1]) */
    int count;          /* samples */
    char **paths;       /* [count] "<tar name>#<key>" */
    char **errors;      /* [count] NULL, or why the sample cannot be used (found while listing) */
} facet_wds_list;

/* 1 when `path` ends in .tar, .tar.gz or .tgz (case-insensitive). */
int facet_wds_is_tar_name(const char *path);
/* 1 when INPUT names tars: a tar file, a brace pattern that is no existing path, or a list file
 * with a line ending in a tar name. Folders and image list files give 0. */
int facet_wds_is_input(const char *input);

/* Lists the samples of every tar INPUT names. Errors name the file. */
facet_status facet_wds_list_open(facet_wds_list *list, const char *input);
void facet_wds_list_free(facet_wds_list *list);

/* Receives sample indices[k] with its data, in order; takes the sample (free it with
 * facet_wds_sample_free). Returns nonzero to stop the stream. */
typedef int (*facet_wds_receive)(void *context, int64_t k, facet_wds_sample *sample);

/* Reads the samples indices[0, n) (ascending) tar by tar, opening only the tars that hold one,
 * and hands each to `receive` with its image bytes and class (datasets/wds_tar.h, read_data).
 * Every requested index is delivered exactly once: a sample listed with an error keeps it; a tar
 * that can no longer be opened, or that now holds other samples than when it was listed, gives
 * each of its requested samples that reason. Fails only on running out of memory. */
facet_status facet_wds_list_stream(const facet_wds_list *list, const int64_t *indices, int64_t n,
                                   facet_wds_receive receive, void *context);

#ifdef __cplusplus
}
#endif
#endif
