/* Names read from files are data, never paths.
 *
 * Token shards, manifests, datasets, checkpoints and viewer scripts travel between people. When a
 * name that one of them holds (a shard's per-image path, a dataset frame's file name, an object
 * name, a script's output) becomes part of a path facet WRITES, it must pass this check first, so
 * that no file can make facet write outside the output folder the user chose.
 *
 * A safe name is a relative path of one or more components separated by single '/':
 *   - not empty, not absolute (no leading '/');
 *   - no empty component ("a//b", a trailing '/'), no "." and no ".." component;
 *   - no control character (bytes 0x01-0x1f and 0x7f) and no backslash (a Windows separator);
 *   - at most FACET_SAFE_NAME_MAX bytes in all, FACET_SAFE_COMPONENT_MAX in any component.
 * A C string cannot hold NUL, so JSON readers reject the "\u0000" escape before names get here
 * (facet_json_has_nul_escape in core/json.h). Reading is not restricted by this module: a path the
 * user's own file names (a scene's weights, a dataset's images) may be absolute or use "..". */
#ifndef FACET_CORE_SAFE_NAME_H
#define FACET_CORE_SAFE_NAME_H

#include "status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FACET_SAFE_NAME_MAX 1024 /* bytes in a whole relative name */
#define FACET_SAFE_COMPONENT_MAX                                                                   \
    200 /* bytes in one component; leaves room for a suffix under                                  \
         * the 255-byte NAME_MAX of Linux file systems */

/* Whether a name may have several components ("class/image.jpg") or must be a single file name. */
typedef enum facet_name_kind {
    FACET_NAME_FILE = 0,     /* one component: no '/' at all */
    FACET_NAME_RELATIVE = 1, /* components separated by '/' */
} facet_name_kind;

/* NULL when `name` is safe, else why not, as a fixed phrase ("is absolute", "has a '..'
 * component", ...) to follow the quoted name in a message. */
const char *facet_unsafe_name_reason(const char *name, facet_name_kind kind);

/* FACET_OK when `name` is safe; else FACET_ERR_FORMAT with the message
 * "<what>: unsafe name '<name, escaped>': <reason>". `what` names the item ("'x.safetensors'
 * metadata 'paths'[3]"). */
facet_status facet_check_safe_name(const char *name, facet_name_kind kind, const char *what);

/* `name` for a message: printable ASCII kept, every other byte as \xHH, cut to `size` - 1 bytes
 * with "..." when longer. Writes into buf and returns it. Hostile names never reach the terminal
 * raw. */
char *facet_quote_name(const char *name, char *buf, size_t size);

/* out_dir + '/' + name + suffix after facet_check_safe_name(name, kind, what); *path is an
 * allocation, NULL on failure. `suffix` may be "" (e.g. ".png"). */
facet_status facet_output_path_for(const char *out_dir, const char *name, const char *suffix,
                                   facet_name_kind kind, const char *what, char **path);

#ifdef __cplusplus
}
#endif
#endif
