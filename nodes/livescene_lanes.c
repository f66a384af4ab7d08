#include "livescene_lanes.h"

#include "fields/kplanes_lanes.h"
#include "fields/tcnn_mlp_lanes.h"

#include <math.h>
#include <string.h>

/* The samples j0 .. j0 + FACET_LANES - 1 of a level of n, at the bin midpoints. Lanes past the
 * last sample repeat it (their results are computed and dropped). */
static void block_positions(facet_livescene_block *b, const float *o, const float *d,
                            const float *bins, int j0, int n, float near, float far) {
    b->count = n - j0 < FACET_LANES ? n - j0 : FACET_LANES;
    for (int s = 0; s < FACET_LANES; s++) {
        const int j = s < b->count ? j0 + s : n - 1;
        const float mid = facet_livescene_bin_mid(bins, j, near, far);
        for (int c = 0; c < 3; c++) b->pos[c][s] = o[c] + d[c] * mid;
    }
}

/* facet_livescene_coords4 per lane, at each lane's chosen object's kappa. */
static void block_coords4(const facet_livescene_field *f, const facet_livescene_block *b,
                          const float *kappa, facet_lanes *coords) {
    for (int s = 0; s < FACET_LANES; s++) {
        float pos[3] = {b->pos[0][s], b->pos[1][s], b->pos[2][s]}, c4[4];
        facet_livescene_coords4(f, pos, kappa[b->object[s]], c4);
        for (int i = 0; i < 4; i++) coords[i][s] = c4[i];
    }
}

/* facet_livescene_pick_object in every lane, each exponential formed once (the per-point form
 * forms exp(logit - peak) twice for the chosen candidates: the same value). Written with whole-
 * vector operations and bit masks (facet_livescene_max's select, the strict > of the argmax), so
 * that every step runs across the FACET_LANES lanes at once. */
static void pick_objects(const facet_lanes *logits, int objects, int *object) {
    facet_lanes peak = logits[0], e[FACET_LIVESCENE_MAX_OBJECTS + 1], total = {0};
    for (int i = 1; i <= objects; i++) /* facet_livescene_max(peak, logits[i]) */
        peak = facet_select_lanes((logits[i] > peak) | (peak != peak), logits[i], peak);
    for (int i = 0; i <= objects; i++) {
        /* through float pointers, so that the loop vectorises (kplanes_lanes.h says why not
         * through copies) */
        const float *restrict d = (const float *)&logits[i], *restrict top = (const float *)&peak;
        float *restrict x = (float *)&e[i];
        for (int s = 0; s < FACET_LANES; s++) x[s] = facet_expf(d[s] - top[s]);
        total += e[i];
    }
    facet_lane_mask best = {0};
    facet_lanes best_p = e[0] / total;
    for (int i = 1; i < objects; i++) {
        const facet_lanes p = e[i] / total;
        const facet_lane_mask better = p > best_p;
        best = (best & ~better) | (((facet_lane_mask){0} + i) & better);
        best_p = facet_select_lanes(better, p, best_p);
    }
    for (int s = 0; s < FACET_LANES; s++) object[s] = best[s];
}

void facet_livescene_block_probability_features_keep(const facet_livescene_field *f,
                                                     const facet_lanes *pos, facet_lanes *features,
                                                     float *plane_values, facet_plane_taps *taps) {
    facet_kplanes_sample_lanes_taps(&f->probability_grid, pos, features, plane_values, taps);
    float *flat = (float *)features; /* the channels' lanes as one float array: one loop */
    for (int n = 0; n < f->probability_grid.channels * FACET_LANES; n++)
        flat[n] = facet_livescene_sigmoid(flat[n]);
}

void facet_livescene_block_probability_features(const facet_livescene_field *f,
                                                const facet_lanes *pos, facet_lanes *features) {
    facet_plane_taps taps[FACET_KPLANES_MAX_PLANES];
    facet_livescene_block_probability_features_keep(f, pos, features, NULL, taps);
}

void facet_livescene_block_objects(const facet_livescene_field *f, facet_livescene_block *b,
                                   const float *kappa, facet_lanes *logits, facet_lanes *work) {
    const int c = f->probability_grid.channels;
    facet_lanes *input = work; /* [sigmoid(features) c, kappa alpha] */
    facet_livescene_block_probability_features(f, b->pos, input);
    for (int i = 0; i < f->objects; i++)
        for (int s = 0; s < FACET_LANES; s++) input[c + i][s] = kappa[i];
    facet_mlp_forward_lanes(&f->semantic_net, input, logits, work + c + f->objects);
    pick_objects(logits, f->objects, b->object);
}

void facet_livescene_block_proposal(const facet_livescene_field *f, int level,
                                    const facet_livescene_block *b, const float *kappa,
                                    float *sigma, facet_lanes *work) {
    const facet_kplanes *grid = &f->proposal_grids[level];
    facet_lanes *features = work, raw, coords[4];
    block_coords4(f, b, kappa, coords);
    facet_kplanes_sample_lanes(grid, coords, features);
    facet_mlp_forward_lanes(&f->density_net[level], features, &raw, work + grid->channels);
    for (int s = 0; s < b->count; s++) sigma[s] = facet_livescene_density_activation(raw[s]);
}

void facet_livescene_block_final(const facet_livescene_field *f, const facet_livescene_block *b,
                                 const float *kappa, const float *sh, float *density,
                                 facet_lanes *rgb, facet_lanes *work) {
    const int channels = facet_livescene_feature_count(f), geo = f->geo_feat_dim;
    facet_lanes *features = work, *out = work + channels; /* out: [geo..., raw density] */
    facet_lanes coords[4];
    block_coords4(f, b, kappa, coords);
    int offset = 0;
    for (int scale = 0; scale < f->scales; scale++) {
        facet_kplanes_sample_lanes(&f->grids[scale], coords, features + offset);
        offset += f->grids[scale].channels;
    }
    facet_mlp_forward_lanes(&f->sigma_net, features, out, out + geo + 1);
    for (int s = 0; s < FACET_LANES; s++)
        density[s] = facet_livescene_density_activation(out[geo][s]);
    facet_lanes *input = out + geo + 1; /* [SH 16, geo] */
    for (int k = 0; k < 16; k++)
        for (int s = 0; s < FACET_LANES; s++) input[k][s] = sh[k];
    for (int i = 0; i < geo; i++) input[16 + i] = out[i];
    facet_mlp_forward_lanes(&f->color_net, input, rgb, input + 16 + geo);
}

void facet_livescene_render_ray_lanes(const facet_livescene_field *f,
                                      const facet_livescene_sampling *sampling, const float *o,
                                      const float *d, const float *kappa,
                                      facet_livescene_ray_output *out) {
    float bins[FACET_LIVESCENE_MAX_SAMPLES + 1], next[FACET_LIVESCENE_MAX_SAMPLES + 1];
    float sigma[FACET_LIVESCENE_MAX_SAMPLES + 1], weights[FACET_LIVESCENE_MAX_SAMPLES];
    facet_lanes work[FACET_LIVESCENE_BLOCK_WORK], logits[FACET_LIVESCENE_MAX_OBJECTS + 1], rgb[3];
    facet_livescene_block b;
    float near, far;
    facet_livescene_ray_begin(f, sampling, o, d, &near, &far, bins);
    int n = sampling->samples[0];
    for (int level = 0; level < sampling->levels; level++) {
        for (int j0 = 0; j0 < n; j0 += FACET_LANES) {
            block_positions(&b, o, d, bins, j0, n, near, far);
            facet_livescene_block_objects(f, &b, kappa, logits, work);
            facet_livescene_block_proposal(f, level, &b, kappa, sigma + j0, work);
        }
        const int m = sampling->samples[level + 1];
        facet_livescene_resample_level(bins, sigma, weights, next, n, m, near, far);
        n = m;
    }
    float sh[16], density[FACET_LANES];
    facet_sh4_tcnn(d[0], d[1], d[2], sh);
    facet_livescene_compositor c;
    facet_livescene_composite_begin(f, &c, out);
    for (int j0 = 0; j0 < n; j0 += FACET_LANES) {
        block_positions(&b, o, d, bins, j0, n, near, far);
        facet_livescene_block_objects(f, &b, kappa, logits, work);
        facet_livescene_block_final(f, &b, kappa, sh, density, rgb, work);
        for (int s = 0; s < b.count; s++) {
            float lane_logits[FACET_LIVESCENE_MAX_OBJECTS + 1], lane_rgb[3];
            for (int i = 0; i <= f->objects; i++) lane_logits[i] = logits[i][s];
            for (int k = 0; k < 3; k++) /* nan_to_num, as facet_livescene_final_color */
                lane_rgb[k] = rgb[k][s] == rgb[k][s] ? rgb[k][s] : 0.0f;
            facet_livescene_composite_sample(f, &c, bins, j0 + s, near, far, density[s], lane_rgb,
                                             lane_logits, out);
        }
    }
    facet_livescene_composite_end(&c, bins, n, near, far, out);
}
