/* The GNU build ID (the linker's `--build-id` note, a hash of the linked code and data) of the
 * executable or shared library that holds a given function: what changes whenever facet is
 * rebuilt with different code, so that caches keyed on it never outlive the code that filled
 * them (lighting/lighting_cache.h). */
#ifndef FACET_CORE_BUILD_ID_H
#define FACET_CORE_BUILD_ID_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the build ID of the loaded object containing `address` as lowercase hex (at most
 * `size` - 1 characters, NUL-terminated) and returns 1; returns 0 when that object has no build
 * ID note (linked without --build-id) or `address` is in no loaded object. */
int facet_build_id(const void *address, char *hex, size_t size);

#ifdef __cplusplus
}
#endif
#endif
