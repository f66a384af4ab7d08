/* Internal to datasets/: the LiveScene extras of a loaded dataset (livescene.c). */
#ifndef FACET_DATASETS_LIVESCENE_H
#define FACET_DATASETS_LIVESCENE_H

#include "dataset.h"

/* When ds->root holds mapping.yaml: fills the objects, each frame's kappa/kappa_known from
 * key_frame_value.yaml (normalised over ds's frames, which must already be the loaded split) and
 * each frame's mask_path. Without mapping.yaml it changes nothing. */
facet_status facet_livescene_attach(facet_dataset *ds, int interpolate_kappa);

#endif
