/* WebDataset samples from one tar, streamed with libarchive: nothing is ever written to disk.
 *
 * The rules are WebDataset's (tariterators.py: tar_file_iterator, then group_by_keys):
 *   - only regular files count: directories, symbolic and hard links, devices and FIFOs are
 *     skipped, and so are WebDataset's metadata members, whose first path component starts and
 *     ends with "__" ("__meta__/x.json", "__index__");
 *   - a member's key is its path up to the first '.' of its basename, directory included, and its
 *     suffix is the rest, lower-cased ("n01/img_7.JPEG" -> key "n01/img_7", suffix "jpeg"); a name
 *     whose basename has no '.' is skipped. (As WebDataset's regex, a basename starting with '.'
 *     takes its folder as the key: "d/.x.jpg" -> key "d/", which is not a safe name, below.)
 *   - consecutive members with the same key form one sample, in tar order; a key that comes back
 *     after another key starts a new sample.
 *
 * Per sample, facet takes:
 *   - the image: the member with suffix "jpg", else "jpeg", else "png", else "webp";
 *   - the class: the ".cls" member, an ASCII decimal integer in [0, 2^31) with optional
 *     surrounding white space and a '+' sign (Python's int() on such text), -1 when absent.
 * A sample that cannot be used carries the reason in `error` (the run lists it as failed):
 *   - no image member; a suffix twice in one sample (WebDataset raises ValueError there);
 *   - more than FACET_WDS_MEMBERS_MAX members in one sample;
 *   - a key that is not a safe name (core/safe_name.h: absolute, "..", control characters, ...):
 *     keys become output names later (facet detokenize); `key` then holds it quoted;
 *   - an image member over FACET_WDS_IMAGE_MAX bytes, a ".cls" over FACET_WDS_CLASS_MAX bytes
 *     (from the member header, before anything is allocated), a ".cls" that is not an integer;
 *   - the tar ends inside the sample (truncated) or is damaged after it: the tar's remaining
 *     members are not read. Damage before any sample gives a sample with key "" and the reason.
 * Only a tar whose first header cannot be read at all (missing file, not a tar) is an error.
 *
 * Without `read_data`, no member data is read (for plain tars on disk libarchive seeks over it),
 * so the class is not known (-1) and only the first group of reasons above is found; the samples
 * and keys are the same either way. Tars may be plain or gzip-compressed. */
#ifndef FACET_DATASETS_WDS_TAR_H
#define FACET_DATASETS_WDS_TAR_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FACET_WDS_IMAGE_MAX = 256 << 20, /* bytes of one image member read into memory */
    FACET_WDS_CLASS_MAX = 64,        /* bytes of a .cls member */
    FACET_WDS_MEMBERS_MAX = 4096,    /* members grouped into one sample */
};

typedef struct facet_wds_reader facet_wds_reader;

/* Opens the tar at `path` for reading (nothing is read yet). Fails naming the file. */
facet_status facet_wds_open_file(facet_wds_reader **reader, const char *path);
/* The same on a tar held in memory (data must outlive the reader); `name` is used in messages. */
facet_status facet_wds_open_memory(facet_wds_reader **reader, const void *data, size_t size,
                                   const char *name);
void facet_wds_close(facet_wds_reader *reader);

typedef struct facet_wds_sample {
    char *key;            /* the key; quoted (core/safe_name.h) when unsafe */
    char image_suffix[8]; /* "jpg", "jpeg", "png", "webp"; "" without an image member */
    int64_t image_bytes;  /* the image member's size from its header */
    unsigned char *image; /* read_data: its bytes (image_bytes of them); else NULL */
    int64_t class_id;     /* read_data: the .cls value, -1 without one; else -1 */
    int members;          /* members grouped into the sample */
    char *error;          /* NULL, or why the sample cannot be used */
} facet_wds_sample;

/* The next sample: *got = 1 and `sample` filled (free with facet_wds_sample_free), or *got = 0
 * at the end of the tar. Fails only when the tar's first header cannot be read. */
facet_status facet_wds_next(facet_wds_reader *reader, int read_data, facet_wds_sample *sample,
                            int *got);
void facet_wds_sample_free(facet_wds_sample *sample);

#ifdef __cplusplus
}
#endif
#endif
