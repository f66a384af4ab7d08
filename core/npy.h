/* NumPy .npy files (format versions 1.0, 2.0 and 3.0 on read; 1.0 on write), C order only.
 * Supported dtypes: bool (|b1), u8 (|u1), u16 (<u2), i32 (<i4), i64 (<i8), f16 (<f2), f32 (<f4);
 * little-endian. Fortran-order arrays are rejected with a message saying so (re-save with
 * np.ascontiguousarray). */
#ifndef FACET_CORE_NPY_H
#define FACET_CORE_NPY_H

#include "status.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads `path` into a freshly allocated host tensor (t->owner = 1). Validates the magic, header
 * length, header dictionary, dtype, shape and that the data size matches the file size. */
facet_status facet_npy_read(facet_tensor *t, const char *path);

/* Writes a host tensor atomically (format 1.0), byte for byte what numpy.save writes for the same
 * C-order array: the header padded so the data starts at a multiple of 64 bytes. BF16 has no
 * NumPy dtype and is rejected. */
facet_status facet_npy_write(const facet_tensor *t, const char *path);

#ifdef __cplusplus
}
#endif
#endif
