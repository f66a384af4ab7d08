/* EXR reading through OpenEXR's C++ library, for the files tinyexr cannot decode (DWAA, DWAB, B44,
 * B44A compression, tiled and multi-part files). One C++17 source file behind a C interface;
 * image.c calls it as the fallback of facet_image_read. */
#ifndef FACET_CORE_EXR_OPENEXR_H
#define FACET_CORE_EXR_OPENEXR_H

#include "image.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the data window of the first part of the EXR file at `path` into `img` as linear float32:
 * 4 channels (R, G, B, A) when the file has an A channel, else 3 (R, G, B). A luminance-only file
 * (Y) is replicated into R, G and B; luminance/chroma files (Y, RY, BY) are converted to RGB.
 * Half and float channels are read exactly; a missing colour channel reads as 0. On failure `img`
 * is left empty and the message is "OpenEXR cannot read '<path>': <reason>". */
facet_status facet_exr_read_openexr(const char *path, facet_image *img);

#ifdef __cplusplus
}
#endif
#endif
