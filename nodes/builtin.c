#include "builtin.h"

#include "livescene_node.h"
#include "risesdf_node.h"
#include "render/scene.h"
#include "sdf_node.h"

#include <stddef.h>

/* Built-in kinds, in the order `facet info` lists them. */
static const facet_node_kind *const builtin_kinds[] = {
    &facet_livescene_node_kind, &facet_sdf_node_kind, &facet_risesdf_node_kind, NULL};

facet_status facet_register_builtin_node_kinds(void) {
    for (size_t i = 0; builtin_kinds[i]; i++) {
        if (facet_node_kind_find(builtin_kinds[i]->type)) continue;
        facet_status s = facet_node_kind_register(builtin_kinds[i]);
        if (s != FACET_OK) return s;
    }
    return FACET_OK;
}
