/* Image batches as NumPy .npz files, the input of the ADM evaluator (guided-diffusion
 * evaluations/evaluator.py, which reads the array "arr_0" of an np.savez file):
 *
 *     FILE.npz = zip archive { "arr_0.npy": uint8 [n, height, width, 3] }    (C order, RGB)
 *
 * written as np.savez would: one stored (uncompressed) member, its .npy in format 1.0 with the
 * header numpy writes (the data starts at a multiple of 64 bytes). Rows are appended as they come,
 * so n need not be known in advance: the shape, the CRC-32 and the sizes are filled in at commit.
 * The zip uses ZIP64 records where sizes or offsets pass 4 GiB (the local header always carries
 * the ZIP64 extra field, as np.savez's force_zip64), so there is no size limit; the member's
 * date is fixed (1980-01-01 00:00), so equal rows give equal files. Writing is atomic: the file
 * appears under its name only at commit (core/fileio.h). */
#ifndef FACET_TOKENIZER_NPZ_H
#define FACET_TOKENIZER_NPZ_H

#include "core/fileio.h"
#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_npz_writer {
    facet_atomic_file file;
    int height, width;
    int64_t rows;
    uint64_t data_bytes; /* .npy header + rows so far */
    uint32_t crc;
    int force_zip64; /* set before the first append: ZIP64 records at any size (tests) */
} facet_npz_writer;

/* Starts FILE for rows of height x width x 3 bytes. */
facet_status facet_npz_begin(facet_npz_writer *w, const char *path, int height, int width);
/* Appends `count` rows ([count, height, width, 3] bytes). */
facet_status facet_npz_append(facet_npz_writer *w, const uint8_t *rows, int64_t count);
/* Completes the file and renames it into place. */
facet_status facet_npz_commit(facet_npz_writer *w);
/* Drops the temporary file (also safe after commit and after a failed begin). */
void facet_npz_abort(facet_npz_writer *w);

/* The .npy format 1.0 header numpy writes for a C-order uint8 array of shape [rows, height,
 * width, 3], magic included, into buf; returns its length (a multiple of 64; the same for every
 * rows < 10^21, so it can be rewritten in place). */
size_t facet_npz_npy_header(int64_t rows, int height, int width, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
