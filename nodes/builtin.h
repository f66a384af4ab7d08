/* The node kinds compiled into facet: livescene (nodes/livescene_node.h), risesdf
 * (nodes/risesdf_node.h) and sdf (nodes/sdf_node.h). The renderer core (render/) names no model:
 * a kind plugs in through facet_node_kind (render/scene.h) and is registered here. */
#ifndef FACET_NODES_BUILTIN_H
#define FACET_NODES_BUILTIN_H

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
