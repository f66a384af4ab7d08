/* Token shards -> images: decodes every row of facet token shards (tokenize.h) with the FQGAN
 * decoder and writes one 8-bit RGB PNG per image at OUT/<path relative to the input root> with
 * the extension replaced by ".png" (class subfolders preserved). Pixels follow the official
 * post-processing, clamp(127.5 x + 128) truncated (facet_fqgan_to_uint8). */
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
    const char *out_dir;
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

/* OUT/<relative> with its extension (after the last '.' of the last component) replaced by
 * ".png", or ".png" appended when it has none. Returns an allocation. */
char *facet_detokenize_output_path(const char *out_dir, const char *relative);

#ifdef __cplusplus
}
#endif
#endif
