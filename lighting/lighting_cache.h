/* An on-disk cache of built environment lighting (lighting.h), so that a scene lit by an
 * environment map it has met before starts in a fraction of a second instead of running the
 * prefilter again (about 10 s for the default 512^2 quality cube on two cores). facet_lighting_sync
 * uses it for every environment-mapped scene: `facet render`, `facet view`, `facet eval`, the
 * Python package.
 *
 * Where: $FACET_CACHE_DIR/lighting when FACET_CACHE_DIR is set (the value "off" turns the cache
 * off), else $XDG_CACHE_HOME/facet/lighting, else $HOME/.cache/facet/lighting.
 *
 * Key: SHA-256 over this build's GNU build ID (core/build_id.h: a facet rebuilt with other code
 * starts afresh, so no file outlives the code that computed it), the device the prefilter ran on,
 * the normalised options, and the environment's width, height, convention, rotation, strength and
 * every texel. Without a build ID there is no cache.
 *
 * File DIR/KEY.lighting, little-endian (format version 1):
 *   char     magic[8]                 "FCTLIGHT"
 *   uint32   version                  1
 *   uint32   levels, diffuse_size, ladder
 *   uint32   sizes[levels]            face size of each specular level
 *   float32  roughness[levels]        view.level_roughness
 *   uint64   payload_hash             FNV-1a over the payload's 64-bit words
 *   payload: each specular level's padded texels (facet_cube_level_floats(sizes[i]) floats), in
 *            order, then the diffuse cube's (facet_cube_level_floats(diffuse_size))
 * A file that is short or long, of another version or shape, or whose payload hash differs is not
 * used: the lighting is built again and the file replaced. Files are written atomically
 * (temporary file, fsync, rename), so processes may share the directory; after a write the
 * directory keeps the FACET_LIGHTING_CACHE_KEEP newest files. */
#ifndef FACET_LIGHTING_LIGHTING_CACHE_H
#define FACET_LIGHTING_LIGHTING_CACHE_H

#include "lighting.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FACET_LIGHTING_CACHE_VERSION = 1,
    FACET_LIGHTING_CACHE_KEEP = 8, /* files kept: about 40 MB each for a 512^2 quality cube */
};

/* The cache directory (an allocation; it may not exist yet), or NULL when the cache is off
 * (FACET_CACHE_DIR=off) or no directory can be named (no HOME). */
char *facet_lighting_cache_dir(void);

/* The key of (env, options, device) as 64 hex characters; 0 when this build has no build ID. */
int facet_lighting_cache_key(const facet_envmap_view *env, const facet_lighting_options *options,
                             facet_device device, char key[65]);

/* Fills `out`, already allocated for the key's options (its specular levels, sizes, diffuse cube
 * and ladder set as a fresh build would have them), from DIR/KEY.lighting. Returns 1 when the file
 * was there, matched that shape and its hash; 0 otherwise (out's texels are then unspecified).
 * Records no error. */
int facet_lighting_cache_read(const char *dir, const char *key, facet_lighting *out);

/* Writes `lighting` to DIR/KEY.lighting (making DIR), then removes the oldest files past
 * FACET_LIGHTING_CACHE_KEEP and temporaries a killed writer left over an hour ago. Errors name
 * the file. */
facet_status facet_lighting_cache_write(const char *dir, const char *key,
                                        const facet_lighting *lighting);

/* Tables that depend on this build's code alone (the DFG table, dfg_lut.h): DIR/NAME-BUILDID.table,
 * `bytes` bytes followed by their FNV-1a hash (as payload_hash above). read returns 1 when the
 * file is there, of that size and intact (0 otherwise, recording no error); write makes DIR, writes
 * atomically and keeps the FACET_LIGHTING_CACHE_KEEP newest tables. Both do nothing when the cache
 * is off or the build has no ID; write reports nothing (the table is only slower to get). */
int facet_lighting_cache_read_table(const char *name, void *data, size_t bytes);
void facet_lighting_cache_write_table(const char *name, const void *data, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
