/* The node kinds compiled into facet: livescene (render/livescene_node.h). The relighting kinds
 * (sdf, risesdf) join here as they land; until then a scene file naming one is rejected as an
 * unknown type. */
#ifndef FACET_RENDER_BUILTIN_H
#define FACET_RENDER_BUILTIN_H

#include "core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Registers every built-in node kind; safe to call more than once. */
facet_status facet_register_builtin_node_kinds(void);

#ifdef __cplusplus
}
#endif
#endif
