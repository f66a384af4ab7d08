#include "livescene_train_lanes.h"

#include "fields/kplanes_lanes_backward.h"
#include "nodes/livescene_lanes.h"

#include <string.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif

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

/* ---- backward pass ---------------------------------------------------------------------------
 * facet_livescene_train_backward_scratch with the networks in blocks of FACET_LANES samples. Every
 * gradient buffer receives the same terms in the same order as in the per-sample pass: a network's
 * weight and bias gradients take the block's samples one after another in sample order (the
 * sample's whole rank-one term before the next sample's), the planes take the block's samples in
 * order after the networks, and no buffer is written by two of the functions a sample runs (the
 * proposal, field and probability parts touch disjoint networks and planes), so moving a sample's
 * plane scatter after the next samples' network terms changes no sum. The per-sample values
 * (activations, deltas, input gradients) are the per-sample pass's in every lane: the forward
 * layers are facet_mlp_layer_lanes, and each input gradient is summed over ascending outputs from
 * 0 as facet_mlp_backward_scratch sums it. */

/* Largest network in lanes: inputs, then the layers' activations. */
enum {
    LANES_MLP_ACTS = FACET_MLP_MAX_INPUTS + FACET_MLP_MAX_LAYERS * FACET_MLP_MAX_WIDTH,
    LANES_MLP_WIDEST = (int)FACET_MLP_MAX_INPUTS > (int)FACET_MLP_MAX_WIDTH
                           ? (int)FACET_MLP_MAX_INPUTS
                           : (int)FACET_MLP_MAX_WIDTH,
};

/* One network's activations per lane, act[l] for l = 0 .. layers (act[0] the input, which the
 * caller writes), and the backward pass's working rows. */
typedef struct lanes_mlp_work {
    facet_lanes acts[LANES_MLP_ACTS];
    facet_lanes *act[FACET_MLP_MAX_LAYERS + 1];
    facet_lanes delta[LANES_MLP_WIDEST], next[LANES_MLP_WIDEST];
    float delta_rows[FACET_LANES * LANES_MLP_WIDEST]; /* delta transposed: [sample][output] */
    float x_rows[FACET_LANES * LANES_MLP_WIDEST];     /* a layer's input transposed */
} lanes_mlp_work;

static void lanes_mlp_layout(const facet_mlp *m, lanes_mlp_work *w) {
    facet_lanes *at = w->acts;
    for (int l = 0; l <= m->layers; l++) {
        w->act[l] = at;
        at += m->width[l];
    }
}

/* act[1 .. layers] from act[0]: facet_mlp_forward per lane. */
static void lanes_mlp_forward(const facet_mlp *m, lanes_mlp_work *w) {
    for (int l = 0; l < m->layers; l++) {
        const int last = l == m->layers - 1;
        facet_mlp_layer_lanes(m->weight[l], w->act[l], m->width[l], m->width[l + 1],
                              l == 0 ? m->bias0 : NULL, last ? m->output : m->hidden,
                              w->act[l + 1]);
    }
}

static facet_lanes derivative_lanes(facet_activation a, facet_lanes output) {
    /* facet_activation_derivative in every lane, as whole-vector operations (a loop over the
     * lanes calling it compiled to a compare and a branch per lane): ReLU's 1 or +0 as the bits
     * of 1.0f under the mask of output > 0 (false for NaN, as there) */
    const facet_lanes one = (facet_lanes){0} + 1.0f;
    if (a == FACET_ACTIVATION_RELU) return (facet_lanes)((facet_lane_mask)one & (output > 0.0f));
    if (a == FACET_ACTIVATION_SIGMOID) return output * (1.0f - output);
    return one;
}

/* rows[s n + o] = v[o][s]: n lane vectors (a layer's deltas or inputs) as one row of n per
 * sample. With AVX and 8 lanes, eight vectors at a time as an 8 x 8 transpose in registers (the
 * scalar form was 8 single-float stores per vector); the same floats moved either way. */
static void lanes_to_rows(const facet_lanes *v, int n, float *rows) {
    int o = 0;
#if defined(__AVX__) && !defined(__AVX512F__)
    _Static_assert(FACET_LANES == 8, "the AVX transpose is of 8 lanes");
    for (; o + 8 <= n; o += 8) {
        __m256 r[8], t[8];
        for (int k = 0; k < 8; k++) memcpy(&r[k], &v[o + k], sizeof r[k]);
        /* r[k] = v[o + k][0..7]; out row s = (r[0][s], ..., r[7][s]) */
        /* t[k] = (r[k][0], r[k+1][0], r[k][1], r[k+1][1] | the same of samples 4 and 5),
         * t[k+1] the same of samples 2, 3 | 6, 7 */
        for (int k = 0; k < 8; k += 2) {
            t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
            t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
        }
        __m256 u[8];
        for (int k = 0; k < 8; k += 4)
            for (int h = 0; h < 2; h++) {
                u[k + 2 * h] = _mm256_shuffle_ps(t[k + h], t[k + 2 + h], _MM_SHUFFLE(1, 0, 1, 0));
                u[k + 2 * h + 1] =
                    _mm256_shuffle_ps(t[k + h], t[k + 2 + h], _MM_SHUFFLE(3, 2, 3, 2));
            }
        /* u[0..3]: samples 0 1 2 3 (| 4 5 6 7) of outputs o..o+3; u[4..7]: of outputs o+4..o+7 */
        for (int q = 0; q < 4; q++) {
            const __m256 lo = _mm256_permute2f128_ps(u[q], u[4 + q], 0x20);
            const __m256 hi = _mm256_permute2f128_ps(u[q], u[4 + q], 0x31);
            _mm256_storeu_ps(rows + q * n + o, lo);
            _mm256_storeu_ps(rows + (q + 4) * n + o, hi);
        }
    }
#endif
    for (; o < n; o++)
        for (int s = 0; s < FACET_LANES; s++) rows[s * n + o] = v[o][s];
}

/* One vector of FACET_LANES floats from any float address (aligned(4)), read and written through
 * float pointers (may_alias): the machine's own width. (A 16-float
 * vector on AVX2 is two ymm halves that GCC kept on the stack between the additions: the weight
 * gradient ran 5-8x slower than with these.) */
typedef float wg_vec
    __attribute__((vector_size(FACET_LANES * sizeof(float)), aligned(4), may_alias));
enum { WG_W = FACET_LANES };

/* Whether all n floats are finite. */
static int all_finite(const float *v, int n) {
    int bad = 0;
    for (int k = 0; k < n; k++) bad |= !(v[k] - v[k] == 0.0f);
    return !bad;
}

/* g[r n_out + o'] += x[r][s] delta_s[o'] for the inputs r < rows_in (1 or 2) and the outputs o' in
 * `vecs` (1 or 4) vectors from o, over the samples s in `order`: the tile in registers, each row
 * of deltas loaded once for both inputs. Inlined with constant rows_in and vecs. */
static inline __attribute__((always_inline)) void
weight_gradient_tile(float *g, const facet_lanes *x, const float *rows, int n_out, int o,
                     const int *order, int count, int rows_in, int vecs) {
    /* loaded and stored as vectors: through memcpy, GCC copied the tile to the stack and back
     * 16 bytes at a time around every call (a fifth of the function's time) */
    wg_vec acc[2][4];
    for (int r = 0; r < rows_in; r++)
        for (int v = 0; v < vecs; v++)
            acc[r][v] = *(const wg_vec *)(g + (long)r * n_out + o + v * WG_W);
    for (int k = 0; k < count; k++) {
        const int s = order[k];
        const float *d = rows + s * n_out + o;
        wg_vec dv[4];
        for (int v = 0; v < vecs; v++) dv[v] = *(const wg_vec *)(d + v * WG_W);
        for (int r = 0; r < rows_in; r++) {
            const float xs = x[r][s];
            for (int v = 0; v < vecs; v++) acc[r][v] += xs * dv[v];
        }
    }
    for (int r = 0; r < rows_in; r++)
        for (int v = 0; v < vecs; v++) *(wg_vec *)(g + (long)r * n_out + o + v * WG_W) = acc[r][v];
}

/* weight_gradient_tile over every output of rows_in (1 or 2) inputs: tiles of four vectors, then
 * of one, then one output at a time. Inlined with constant rows_in. */
static inline __attribute__((always_inline)) void
weight_gradient_inputs(float *g, const facet_lanes *x, const float *rows, int n_out,
                       const int *order, int count, int rows_in) {
    int o = 0;
    for (; o + 4 * WG_W <= n_out; o += 4 * WG_W)
        weight_gradient_tile(g, x, rows, n_out, o, order, count, rows_in, 4);
    for (; o + WG_W <= n_out; o += WG_W)
        weight_gradient_tile(g, x, rows, n_out, o, order, count, rows_in, 1);
    for (; o < n_out; o++)
        for (int r = 0; r < rows_in; r++)
            for (int k = 0; k < count; k++) {
                const int s = order[k];
                g[(long)r * n_out + o] += x[r][s] * rows[s * n_out + o];
            }
}

/* The weight gradient of a layer 16 or more outputs wide, inputs in pairs. */
static void weight_gradient_wide(float *gwt, const facet_lanes *x, const float *rows, int n_in,
                                 int n_out, const int *order, int count) {
    int i = 0;
    for (; i + 2 <= n_in; i += 2)
        weight_gradient_inputs(gwt + (long)i * n_out, x + i, rows, n_out, order, count, 2);
    if (i < n_in)
        weight_gradient_inputs(gwt + (long)i * n_out, x + i, rows, n_out, order, count, 1);
}

/* A layer's weight gradient over a block: for each weight, g[i][o] += x_s[i] delta_s[o] for the
 * active samples s in ascending order, skipping the terms with x_s[i] = 0, as the per-sample pass
 * adds them (rows: delta as [sample][output]; x: the layer's input, lanes). When every active
 * sample's inputs and deltas are finite, a skipped term would have added a product +-0, which
 * leaves every sum as it is (the buffers start at +0, and a float sum only becomes -0 from -0 +
 * -0, so no sum is -0), so the terms are added without the test: across the outputs when the
 * layer is 16 or more wide, across the inputs (x transposed into x_rows) when it is narrower.
 * Otherwise the per-sample pass's loop, test included. */
static void lanes_weight_gradient(const facet_lanes *x, const float *rows, int n_in, int n_out,
                                  const int *active, float *gwt, float *x_rows) {
    int order[FACET_LANES], count = 0, finite = 1;
    facet_lane_mask live = {0}, bad = {0}; /* live: the active lanes; bad: a non-finite input */
    for (int s = 0; s < FACET_LANES; s++) {
        if (!active[s]) continue;
        order[count++] = s;
        live[s] = -1;
        finite &= all_finite(rows + s * n_out, n_out);
    }
    for (int i = 0; i < n_in; i++) bad |= (x[i] - x[i] != 0.0f) & live; /* across the lanes */
    for (int s = 0; s < FACET_LANES; s++) finite &= !bad[s];
    if (!finite) {
        for (int i = 0; i < n_in; i++) {
            float *g = gwt + (long)i * n_out;
            for (int k = 0; k < count; k++) {
                const int s = order[k];
                const float xs = x[i][s];
                if (xs == 0.0f) continue;
                const float *d = rows + s * n_out;
                for (int o = 0; o < n_out; o++) g[o] += xs * d[o];
            }
        }
        return;
    }
    if (n_out >= 16) {
        weight_gradient_wide(gwt, x, rows, n_in, n_out, order, count);
        return;
    }
    /* narrow: x transposed to [sample][input], a vector of inputs of one output at a time */
    lanes_to_rows(x, n_in, x_rows);
    for (int o = 0; o < n_out; o++) {
        int i = 0;
        for (; i + WG_W <= n_in; i += WG_W) {
            wg_vec a;
            for (int t = 0; t < WG_W; t++) a[t] = gwt[(long)(i + t) * n_out + o];
            for (int k = 0; k < count; k++) {
                const int s = order[k];
                a += *(const wg_vec *)(x_rows + s * n_in + i) * rows[s * n_out + o];
            }
            for (int t = 0; t < WG_W; t++) gwt[(long)(i + t) * n_out + o] = a[t];
        }
        for (; i < n_in; i++)
            for (int k = 0; k < count; k++) {
                const int s = order[k];
                gwt[(long)i * n_out + o] += x_rows[s * n_in + i] * rows[s * n_out + o];
            }
    }
}

/* The backward half of facet_mlp_backward_scratch over a block whose forward pass is in w
 * (lanes_mlp_forward): dout[width[layers]] lanes; the weight and bias gradients of the samples
 * with active[s] set, in sample order; dinput[k] (lanes) for the inputs the caller reads, k in
 * [first_input, end_input) (each input's gradient is its own sum, so the others are skipped: the
 * colour net's 16 direction encodings, the semantic net's kappa inputs). */
static void lanes_mlp_backward(const facet_mlp *m, const facet_mlp *grad, lanes_mlp_work *w,
                               const facet_lanes *dout, facet_lanes *dinput, int first_input,
                               int end_input, const int *active) {
    const int top = m->layers;
    facet_lanes *delta = w->delta, *next = w->next;
    float *rows = w->delta_rows;
    for (int o = 0; o < m->width[top]; o++)
        delta[o] = dout[o] * derivative_lanes(m->output, w->act[top][o]);
    for (int l = m->layers - 1; l >= 0; l--) {
        const int n_in = m->width[l], n_out = m->width[l + 1];
        const float *wt = m->weight[l];
        float *gwt = (float *)grad->weight[l];
        const facet_lanes *x = w->act[l];
        lanes_to_rows(delta, n_out, rows);
        lanes_weight_gradient(x, rows, n_in, n_out, active, gwt, w->x_rows);
        if (l == 0) {
            float *gb = (float *)grad->bias0;
            for (int s = 0; s < FACET_LANES; s++) {
                if (!active[s]) continue;
                const float *d = rows + s * n_out;
                for (int o = 0; o < n_out; o++) gb[o] += d[o];
            }
            /* dinput[k] = sum over ascending o of W^T[k][o] delta[o], per lane, needed k only */
            FACET_MLP_INPUT_GRADIENTS(facet_lanes, wt + (long)first_input * n_out, delta,
                                      end_input - first_input, n_out, dinput + first_input);
        } else {
            /* next[i] = sum over ascending o of W^T[i][o] delta[o], per lane */
            FACET_MLP_INPUT_GRADIENTS(facet_lanes, wt, delta, n_in, n_out, next);
            for (int k = 0; k < n_in; k++) delta[k] = next[k] * derivative_lanes(m->hidden, x[k]);
        }
    }
}

/* Position of sample j0 + s of a level; lanes past the level's last sample repeat it. */
static void lane_position(const facet_livescene_train_ray *r, int level, int j0, int s,
                          float *pos) {
    const int n = r->n[level];
    facet_livescene_train_position(r, level, j0 + s < n ? j0 + s : n - 1, pos);
}

/* The model-frame positions (lanes: x, y, z) of samples j0 + s of a level; lanes past the level's
 * last sample repeat it. */
static void block_positions(const facet_livescene_train_ray *r, int level, int j0,
                            facet_lanes *pos) {
    for (int s = 0; s < FACET_LANES; s++) {
        float p[3];
        lane_position(r, level, j0, s, p);
        for (int c = 0; c < 3; c++) pos[c][s] = p[c];
    }
}

/* facet_livescene_coords4 of samples j0 + s of a level at their chosen objects' kappa, as lanes
 * (coords[4]). */
static void block_coords4(const facet_livescene_field *f, const facet_livescene_train_ray *r,
                          int level, int j0, facet_lanes *coords) {
    const int n = r->n[level];
    for (int s = 0; s < FACET_LANES; s++) {
        float p[3], c4[4];
        lane_position(r, level, j0, s, p);
        facet_livescene_coords4(f, p, r->kappa_sel[level][j0 + s < n ? j0 + s : n - 1], c4);
        for (int c = 0; c < 4; c++) coords[c][s] = c4[c];
    }
}

/* Sets the lanes of v[0 .. count) that are not active to +0 (the per-sample forms leave an
 * inactive sample's network inputs at 0). */
static void zero_inactive(facet_lanes *v, int count, const int *active) {
    facet_lane_mask live = {0};
    for (int s = 0; s < FACET_LANES; s++) live[s] = active[s] ? -1 : 0;
    for (int i = 0; i < count; i++) v[i] = (facet_lanes)((facet_lane_mask)v[i] & live);
}

/* facet_livescene_proposal_density_backward_scratch for the samples j0 + s with active[s]. */
static void proposal_backward_block(const facet_livescene_field *f,
                                    const facet_livescene_field *grad, int level,
                                    const facet_livescene_train_ray *r, int j0, const float *dsigma,
                                    const int *active, lanes_mlp_work *w, float *plane_values) {
    const facet_kplanes *grid = &f->proposal_grids[level];
    const facet_mlp *net = &f->density_net[level];
    const int c = grid->channels;
    facet_plane_taps taps[FACET_KPLANES_MAX_PLANES];
    facet_lanes draw, dfeatures[FACET_KPLANES_MAX_CHANNELS], coord_lanes[4];
    lanes_mlp_layout(net, w);
    block_coords4(f, r, level, j0, coord_lanes);
    facet_kplanes_sample_lanes_taps(grid, coord_lanes, w->act[0], plane_values, taps);
    zero_inactive(w->act[0], c, active);
    lanes_mlp_forward(net, w);
    const facet_lanes raw = w->act[net->layers][0];
    for (int s = 0; s < FACET_LANES; s++)
        draw[s] = active[s] ? dsigma[s] * facet_trunc_exp_derivative(raw[s] - 1.0f) : 0.0f;
    lanes_mlp_backward(net, &grad->density_net[level], w, &draw, dfeatures, 0, c, active);
    facet_kplanes_backward_lanes(&grad->proposal_grids[level], taps, dfeatures, plane_values,
                                 active);
}

/* facet_livescene_field_backward_scratch for the final-level samples j0 + s with active[s]:
 * dsigma[s] and dcolor = weight * drgb. */
static void field_backward_block(const facet_livescene_field *f, const facet_livescene_field *grad,
                                 int levels, const facet_livescene_train_ray *r, int j0,
                                 const float *dsigma, const float *drgb, const int *active,
                                 lanes_mlp_work *sigma_work, lanes_mlp_work *color_work,
                                 float *plane_values) {
    const int channels = facet_livescene_feature_count(f), geo = f->geo_feat_dim;
    facet_plane_taps taps[FACET_LIVESCENE_MAX_SCALES][FACET_KPLANES_MAX_PLANES];
    facet_lanes dout[FACET_LIVESCENE_MAX_GEO + 1], dcolor[3];
    facet_lanes dcolor_in[16 + FACET_LIVESCENE_MAX_GEO];
    facet_lanes dfeatures[FACET_LIVESCENE_MAX_SCALES * FACET_KPLANES_MAX_CHANNELS];
    lanes_mlp_work *sw = sigma_work, *cw = color_work;
    lanes_mlp_layout(&f->sigma_net, sw);
    lanes_mlp_layout(&f->color_net, cw);
    facet_lanes coord_lanes[4];
    block_coords4(f, r, levels, j0, coord_lanes); /* facet_livescene_sigma_features */
    /* each scale's plane values: FACET_LANES x planes x channels floats from kept[scale] */
    float *kept[FACET_LIVESCENE_MAX_SCALES];
    for (int scale = 0, offset = 0; scale < f->scales; scale++) {
        const facet_kplanes *grid = &f->grids[scale];
        kept[scale] = plane_values;
        facet_kplanes_sample_lanes_taps(grid, coord_lanes, sw->act[0] + offset, kept[scale],
                                        taps[scale]);
        plane_values +=
            (size_t)FACET_LANES * facet_kplanes_plane_count(grid->dims) * grid->channels;
        offset += grid->channels;
    }
    zero_inactive(sw->act[0], channels, active);
    lanes_mlp_forward(&f->sigma_net, sw);
    const facet_lanes *out = sw->act[f->sigma_net.layers]; /* [geo..., raw density] */
    float sh[16];
    facet_sh4_tcnn(r->d[0], r->d[1], r->d[2], sh);
    for (int k = 0; k < 16; k++)
        for (int s = 0; s < FACET_LANES; s++) cw->act[0][k][s] = sh[k];
    for (int i = 0; i < geo; i++) cw->act[0][16 + i] = out[i];
    lanes_mlp_forward(&f->color_net, cw);
    for (int c = 0; c < 3; c++)
        for (int s = 0; s < FACET_LANES; s++)
            dcolor[c][s] = active[s] ? r->weights[levels][j0 + s] * drgb[c] : 0.0f;
    lanes_mlp_backward(&f->color_net, &grad->color_net, cw, dcolor, dcolor_in, 16, 16 + geo,
                       active);
    for (int i = 0; i < geo; i++) dout[i] = dcolor_in[16 + i];
    for (int s = 0; s < FACET_LANES; s++)
        dout[geo][s] =
            active[s] ? dsigma[s] * facet_trunc_exp_derivative(out[geo][s] - 1.0f) : 0.0f;
    lanes_mlp_backward(&f->sigma_net, &grad->sigma_net, sw, dout, dfeatures, 0, channels, active);
    for (int scale = 0, offset = 0; scale < f->scales; scale++) {
        facet_kplanes_backward_lanes(&grad->grids[scale], taps[scale], dfeatures + offset,
                                     kept[scale], active);
        offset += f->grids[scale].channels;
    }
}

/* facet_livescene_probability_backward_scratch for the samples j0 + s with active[s], dlogits =
 * weight * the level's drendered_logits. */
static void probability_backward_block(const facet_livescene_field *f,
                                       const facet_livescene_field *grad, int level,
                                       const facet_livescene_train_ray *r, int j0,
                                       const int *active, lanes_mlp_work *w, float *plane_values) {
    const int c = f->probability_grid.channels, classes = f->objects + 1;
    facet_plane_taps taps[FACET_KPLANES_MAX_PLANES];
    facet_lanes dlogits[FACET_LIVESCENE_MAX_OBJECTS + 1];
    facet_lanes dinput[FACET_KPLANES_MAX_CHANNELS + FACET_LIVESCENE_MAX_OBJECTS];
    const facet_mlp *net = &f->semantic_net;
    lanes_mlp_layout(net, w);
    facet_lanes *input = w->act[0]; /* [sigmoid(features) c, kappa alpha] */
    facet_lanes pos_lanes[3];
    block_positions(r, level, j0, pos_lanes);
    facet_livescene_block_probability_features_keep(f, pos_lanes, input, plane_values, taps);
    zero_inactive(input, c, active);
    for (int i = 0; i < f->objects; i++) input[c + i] = (facet_lanes){0} + r->kappa[i];
    lanes_mlp_forward(net, w);
    for (int k = 0; k < classes; k++)
        for (int s = 0; s < FACET_LANES; s++)
            dlogits[k][s] =
                active[s] ? r->weights[level][j0 + s] * r->terms.drendered_logits[level][k] : 0.0f;
    lanes_mlp_backward(net, &grad->semantic_net, w, dlogits, dinput, 0, c, active);
    /* through the sigmoid: d sigmoid(x) / dx = sigmoid(x) (1 - sigmoid(x)) */
    for (int i = 0; i < c; i++) dinput[i] = dinput[i] * input[i] * (1.0f - input[i]);
    facet_kplanes_backward_lanes(&grad->probability_grid, taps, dinput, plane_values, active);
}

/* Working memory of facet_livescene_train_backward_lanes: three networks' lanes (the field's two
 * at the final level, one otherwise) and the plane values their lookups keep. */
typedef struct lanes_backward_work {
    lanes_mlp_work net[2];
    /* a block's plane values from the forward pass, for the product rule: every scale's
     * FACET_LANES x planes x channels */
    float plane_values[FACET_LIVESCENE_MAX_SCALES * FACET_LANES * FACET_KPLANES_MAX_PLANES *
                       FACET_KPLANES_MAX_CHANNELS];
} lanes_backward_work;

void facet_livescene_train_backward_lanes(const facet_livescene_field *f,
                                          const facet_livescene_field *grad, int levels,
                                          facet_livescene_train_ray *r, const float *drgb,
                                          float (*dw)[FACET_LIVESCENE_MAX_SAMPLES]) {
    static _Thread_local lanes_backward_work work;
    lanes_backward_work *w = &work;
    const int classes = f->objects + 1;
    for (int level = 0; level <= levels; level++) {
        const int n = r->n[level];
        facet_livescene_level_weights_backward(r, level, levels, drgb, dw);
        int any_mask = 0;
        for (int c = 0; c < classes; c++) any_mask |= r->terms.drendered_logits[level][c] != 0.0f;
        for (int j0 = 0; j0 < n; j0 += FACET_LANES) {
            int active[FACET_LANES], any = 0;
            float dsigma[FACET_LANES];
            for (int s = 0; s < FACET_LANES; s++) dsigma[s] = j0 + s < n ? dw[level][j0 + s] : 0.0f;
            if (level < levels) {
                for (int s = 0; s < FACET_LANES; s++) any |= active[s] = dsigma[s] != 0.0f;
                if (any)
                    proposal_backward_block(f, grad, level, r, j0, dsigma, active, &w->net[0],
                                            w->plane_values);
            } else {
                for (int s = 0; s < FACET_LANES; s++) active[s] = j0 + s < n;
                field_backward_block(f, grad, levels, r, j0, dsigma, drgb, active, &w->net[0],
                                     &w->net[1], w->plane_values);
            }
            if (!any_mask) continue;
            any = 0;
            for (int s = 0; s < FACET_LANES; s++)
                any |= active[s] = j0 + s < n && r->weights[level][j0 + s] != 0.0f;
            if (any)
                probability_backward_block(f, grad, level, r, j0, active, &w->net[0],
                                           w->plane_values);
        }
    }
}
