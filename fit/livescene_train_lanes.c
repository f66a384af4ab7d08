#include "livescene_train_lanes.h"

#include "nodes/livescene_lanes.h"

/* facet_livescene_train_evaluate_scratch with the per-sample work in blocks. */
static void evaluate_lanes(const facet_livescene_field *f, int levels, int level,
                           facet_livescene_train_ray *r, facet_lanes *work) {
    facet_lanes logits[FACET_LIVESCENE_MAX_OBJECTS + 1], rgb[3];
    float sigma[FACET_LANES], sh[16];
    if (level == levels) facet_sh4_tcnn(r->d[0], r->d[1], r->d[2], sh);
    facet_livescene_train_evaluate_begin(f, levels, level, r);
    float accumulated = 0.0f;
    const int n = r->n[level];
    facet_livescene_block b;
    for (int j0 = 0; j0 < n; j0 += FACET_LANES) {
        b.count = n - j0 < FACET_LANES ? n - j0 : FACET_LANES;
        for (int s = 0; s < FACET_LANES; s++) {
            float pos[3];
            facet_livescene_train_position(r, level, s < b.count ? j0 + s : n - 1, pos);
            for (int c = 0; c < 3; c++) b.pos[c][s] = pos[c];
        }
        facet_livescene_block_objects(f, &b, r->kappa, logits, work);
        if (level < levels) {
            facet_livescene_block_proposal(f, level, &b, r->kappa, sigma, work);
        } else {
            facet_livescene_block_final(f, &b, r->kappa, sh, sigma, rgb, work);
            for (int s = 0; s < b.count; s++)
                for (int c = 0; c < 3; c++) r->sample_rgb[j0 + s][c] = rgb[c][s];
        }
        for (int s = 0; s < b.count; s++) {
            float lane_logits[FACET_LIVESCENE_MAX_OBJECTS + 1];
            for (int c = 0; c <= f->objects; c++) lane_logits[c] = logits[c][s];
            facet_livescene_train_composite(f, levels, level, j0 + s, r->kappa[b.object[s]],
                                            sigma[s], lane_logits, &accumulated, r);
        }
    }
    facet_livescene_train_evaluate_end(levels, level, r);
}

void facet_livescene_train_ray_run_lanes(const facet_livescene_field *f, int levels,
                                         const int *samples, float anneal, unsigned long long seed,
                                         int step, int batch, int i,
                                         const facet_livescene_ray_input *in,
                                         facet_livescene_train_ray *r) {
    facet_lanes work[FACET_LIVESCENE_BLOCK_WORK];
    facet_rng rng = facet_livescene_train_ray_setup(seed, step, batch, i, in, r);
    facet_livescene_train_begin(f, samples, FACET_LIVESCENE_TRAIN_NEAR_PLANE, r, &rng);
    int n = samples[0];
    for (int level = 0; level <= levels; level++) {
        r->n[level] = n;
        evaluate_lanes(f, levels, level, r, work);
        if (level == levels) break;
        facet_livescene_train_next_level(r, level, n, samples[level + 1], anneal, &rng);
        n = samples[level + 1];
    }
}
