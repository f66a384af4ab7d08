/* Token shards -> images: decodes every row of facet token shards (tokenize.h) with the FQGAN
 * decoder and writes
 *   - with out_dir: one 8-bit RGB PNG per image at OUT/<path relative to the input root> with
 *     the extension replaced by ".png" (class subfolders preserved);
 *   - with npz_path: every image as one row of an .npz uint8 [n, S, S, 3] (tokenizer/npz.h), in
 *     the manifest's order (its shards in order, each shard's rows in order): the sample batch
 *     of the ADM evaluator, matching tokenize's --save-inputs-npz reference batch row for row.
 * The shards' paths are data: each must be a safe relative name (core/safe_name.h), checked for
 * every shard before the first image is written, so a hostile shard writes nothing, and nothing
 * outside OUT. Pixels follow the official post-processing, clamp(127.5 x + 128) truncated
 * (facet_fqgan_to_uint8). */
#ifndef FACET_TOKENIZER_DETOKENIZE_H
#define FACET_TOKENIZER_DETOKENIZE_H

#include "core/progress.h"
#include "core/status.h"
#include "tokenizer/fqgan.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_detokenize_options {
    const char *model_path; /* FQGAN weights with the branches and grid of the tokens */
    const char *tokens;     /* a tokens directory (its manifest.json), a manifest, or one shard */
    const char *out_dir;    /* PNGs here; may be NULL when npz_path is set */
    const char *npz_path;   /* optional: the .npz batch of every image */
    facet_fqgan_backend backend;
    int batch;                /* images per decoder call; 0: 16 */
    facet_progress *progress; /* optional; advanced once per image */
} facet_detokenize_options;

typedef struct facet_detokenize_summary {
    int64_t shards, images;
    double seconds;
} facet_detokenize_summary;

facet_status facet_detokenize(const facet_detokenize_options *options,
                              facet_detokenize_summary *summary);

/* The output name of a row whose metadata path is `relative`: its extension (after the last '.'
 * of the last component) replaced by ".png", or ".png" appended when it has none; with
 * keep_extension, ".png" appended to the whole name ("x.jpg" -> "x.jpg.png"). facet_detokenize
 * keeps the extension of every row whose name would otherwise collide with another's ("x.jpg" and
 * "x.png" in one folder), and fails when names still collide. Returns an allocation. */
char *facet_detokenize_output_name(const char *relative, int keep_extension);
/* OUT/<output name> (keep_extension 0), or NULL with the error set when `relative` is not a safe
 * relative name (core/safe_name.h). Returns an allocation. */
char *facet_detokenize_output_path(const char *out_dir, const char *relative);

#ifdef __cplusplus
}
#endif
#endif
