/* Scene normalisation (normalise.h). The math follows nerfstudio's
 * auto_orient_and_center_poses / focus_of_attention (camera_utils.py) and the auto_scale_poses
 * step of nerfstudio_dataparser.py; written from the formulas, one deviation noted at pca. */
#include "normalise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int facet_orientation_from_name(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "up")) return FACET_ORIENT_UP;
    if (!strcmp(name, "pca")) return FACET_ORIENT_PCA;
    if (!strcmp(name, "none")) return FACET_ORIENT_NONE;
    return -1;
}

const char *facet_orientation_name(facet_orientation method) {
    return method == FACET_ORIENT_UP ? "up" : method == FACET_ORIENT_PCA ? "pca" : "none";
}

int facet_centering_from_name(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "poses")) return FACET_CENTER_POSES;
    if (!strcmp(name, "focus")) return FACET_CENTER_FOCUS;
    if (!strcmp(name, "none")) return FACET_CENTER_NONE;
    return -1;
}

const char *facet_centering_name(facet_centering method) {
    return method == FACET_CENTER_POSES ? "poses" : method == FACET_CENTER_FOCUS ? "focus" : "none";
}

/* Eigen-decomposition of a symmetric 3x3 matrix by cyclic Jacobi rotations: a = V diag(w) V^T,
 * eigenvectors in the columns of v (row-major), eigenvalues sorted descending. */
static void symmetric_eigen(const double a_in[9], double w[3], double v[9]) {
    double a[9];
    memcpy(a, a_in, sizeof a);
    for (int i = 0; i < 9; i++) v[i] = (i % 4 == 0) ? 1.0 : 0.0;
    for (int sweep = 0; sweep < 50; sweep++) {
        const double off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5];
        if (off <= 1e-30 * (a[0] * a[0] + a[4] * a[4] + a[8] * a[8]) || off == 0.0) break;
        for (int p = 0; p < 2; p++)
            for (int q = p + 1; q < 3; q++) {
                const double apq = a[p * 3 + q];
                if (apq == 0.0) continue;
                const double theta = (a[q * 3 + q] - a[p * 3 + p]) / (2.0 * apq);
                const double t =
                    (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                const double c = 1.0 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < 3; k++) { /* a <- J^T a J */
                    const double akp = a[k * 3 + p], akq = a[k * 3 + q];
                    a[k * 3 + p] = c * akp - s * akq;
                    a[k * 3 + q] = s * akp + c * akq;
                }
                for (int k = 0; k < 3; k++) {
                    const double apk = a[p * 3 + k], aqk = a[q * 3 + k];
                    a[p * 3 + k] = c * apk - s * aqk;
                    a[q * 3 + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < 3; k++) {
                    const double vkp = v[k * 3 + p], vkq = v[k * 3 + q];
                    v[k * 3 + p] = c * vkp - s * vkq;
                    v[k * 3 + q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < 3; i++) w[i] = a[i * 4];
    for (int i = 0; i < 2; i++) /* selection sort, descending, columns follow */
        for (int j = i + 1; j < 3; j++)
            if (w[j] > w[i]) {
                const double tw = w[i];
                w[i] = w[j];
                w[j] = tw;
                for (int k = 0; k < 3; k++) {
                    const double tv = v[k * 3 + i];
                    v[k * 3 + i] = v[k * 3 + j];
                    v[k * 3 + j] = tv;
                }
            }
}

static double det3(const double m[9]) {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
           m[2] * (m[3] * m[7] - m[4] * m[6]);
}

/* Solves m x = b for a symmetric positive definite m; fails (returns 0) when its smallest
 * eigenvalue is below tolerance relative to the largest. */
static int solve_spd(const double m[9], const double b[3], double x[3]) {
    double w[3], v[9];
    symmetric_eigen(m, w, v);
    if (!(w[2] > 1e-10 * w[0]) || !(w[0] > 0)) return 0;
    for (int r = 0; r < 3; r++) x[r] = 0;
    for (int e = 0; e < 3; e++) { /* x = V diag(1/w) V^T b */
        double proj = 0;
        for (int k = 0; k < 3; k++) proj += v[k * 3 + e] * b[k];
        for (int r = 0; r < 3; r++) x[r] += v[r * 3 + e] * proj / w[e];
    }
    return 1;
}

/* Optical axis of pose i: -(column 2), normalised. */
static void view_direction(const double *c2w, double d[3]) {
    double n = 0;
    for (int r = 0; r < 3; r++) {
        d[r] = -c2w[r * 4 + 2];
        n += d[r] * d[r];
    }
    n = sqrt(n);
    for (int r = 0; r < 3; r++) d[r] = n > 0 ? d[r] / n : 0;
}

static int in_front(const double *c2w, const double focus[3]) {
    double d[3], dot = 0;
    view_direction(c2w, d);
    for (int r = 0; r < 3; r++) dot += d[r] * (focus[r] - c2w[r * 4 + 3]);
    return dot > 0;
}

/* Least-squares point nearest to the optical axes of the poses flagged in `use`:
 * (mean_i M_i) x = mean_i M_i o_i with M_i = I - d_i d_i^T. 0 when the axes are parallel. */
static int nearest_point(const double *c2w, int count, const unsigned char *use, double x[3]) {
    double m[9] = {0}, b[3] = {0};
    int n = 0;
    for (int i = 0; i < count; i++) {
        if (use && !use[i]) continue;
        const double *p = c2w + 16 * i;
        double d[3];
        view_direction(p, d);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) {
                const double mi = (r == c ? 1.0 : 0.0) - d[r] * d[c];
                m[r * 3 + c] += mi;
                b[r] += mi * p[c * 4 + 3];
            }
        n++;
    }
    if (n == 0) return 0;
    for (int k = 0; k < 9; k++) m[k] /= n;
    for (int k = 0; k < 3; k++) b[k] /= n;
    return solve_spd(m, b, x);
}

static facet_status focus_of_attention(const double *c2w, int count, const double mean[3],
                                       const char *what, double focus[3]) {
    double x[3];
    if (!nearest_point(c2w, count, NULL, x))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: center method \"focus\" is undefined: the cameras' optical axes are "
                          "all parallel (use --center poses or none)",
                          what);
    unsigned char *active = malloc((size_t)count);
    if (!active) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "%s: focus of attention", what);
    int active_count = 0;
    memcpy(focus, mean, 3 * sizeof *focus);
    for (int i = 0; i < count; i++)
        active_count += active[i] = (unsigned char)in_front(c2w + 16 * i, focus);
    /* nerfstudio: iterate while at least two cameras see the current point in front of them;
       each pass keeps only those cameras; stop when the set no longer shrinks. Fewer than two
       active cameras at the start (outward-looking rigs) keep the mean position. */
    for (int pass = 0; active_count > 1 && pass < count + 1; pass++) {
        if (!nearest_point(c2w, count, active, x)) {
            free(active);
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: center method \"focus\" is undefined: the optical axes of the "
                              "cameras facing the scene are parallel (use --center poses or none)",
                              what);
        }
        memcpy(focus, x, sizeof x);
        int still = 0;
        for (int i = 0; i < count; i++)
            if (active[i]) {
                active[i] = (unsigned char)in_front(c2w + 16 * i, focus);
                still += active[i];
            }
        if (still == active_count) break;
        active_count = still;
    }
    free(active);
    return FACET_OK;
}

/* Rodrigues rotation taking unit vector a onto unit vector b (nerfstudio
 * rotation_matrix_between, including its choice of axis when a and b are parallel). */
static void rotation_between(const double a[3], const double b[3], double r[9]) {
    double v[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
    if (fabs(v[0]) + fabs(v[1]) + fabs(v[2]) < 1e-6) {
        const double x[3] = {fabs(a[0]) < 1e-6 ? 1.0 : 0.0, fabs(a[0]) < 1e-6 ? 0.0 : 1.0, 0.0};
        v[0] = a[1] * x[2] - a[2] * x[1];
        v[1] = a[2] * x[0] - a[0] * x[2];
        v[2] = a[0] * x[1] - a[1] * x[0];
    }
    const double n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    for (int k = 0; k < 3; k++) v[k] /= n;
    const double k[9] = {0, -v[2], v[1], v[2], 0, -v[0], -v[1], v[0], 0};
    double dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    dot = dot < -1 ? -1 : dot > 1 ? 1 : dot;
    const double theta = acos(dot), s = sin(theta), c1 = 1 - cos(theta);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double kk = 0;
            for (int m = 0; m < 3; m++) kk += k[i * 3 + m] * k[m * 3 + j];
            r[i * 3 + j] = (i == j ? 1.0 : 0.0) + s * k[i * 3 + j] + c1 * kk;
        }
}

void facet_pose_normalise(const double transform[12], double scale, const double c2w[16],
                          double out[16]) {
    double o[16];
    for (int r = 0; r < 3; r++) {
        const double *row = transform + r * 4;
        for (int c = 0; c < 4; c++)
            o[r * 4 + c] = row[0] * c2w[c] + row[1] * c2w[4 + c] + row[2] * c2w[8 + c] +
                           (c == 3 ? row[3] : 0.0);
        o[r * 4 + 3] *= scale;
    }
    for (int c = 0; c < 4; c++) o[12 + c] = c2w[12 + c];
    memcpy(out, o, sizeof o);
}

facet_status facet_poses_normalisation(const double *c2w, int count,
                                       const facet_normalisation *method, const char *what,
                                       double transform[12], double *scale) {
    if (count <= 0) return facet_fail(FACET_ERR_FORMAT, "%s: no camera poses to normalise", what);
    for (int i = 0; i < 16 * count; i++)
        if (!isfinite(c2w[i]))
            return facet_fail(FACET_ERR_FORMAT, "%s: frame %d's transform_matrix is not finite",
                              what, i / 16);
    double mean[3] = {0}, extent = 0;
    for (int i = 0; i < count; i++)
        for (int r = 0; r < 3; r++) mean[r] += c2w[16 * i + r * 4 + 3] / count;
    for (int i = 0; i < count; i++)
        for (int r = 0; r < 3; r++) extent = fmax(extent, fabs(c2w[16 * i + r * 4 + 3]));

    double translation[3] = {0}; /* the point that goes to the origin */
    if (method->center == FACET_CENTER_POSES) {
        memcpy(translation, mean, sizeof mean);
    } else if (method->center == FACET_CENTER_FOCUS) {
        facet_status s = focus_of_attention(c2w, count, mean, what, translation);
        if (s != FACET_OK) return s;
    }

    double rot[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    if (method->orientation == FACET_ORIENT_UP) {
        double up[3] = {0};
        for (int i = 0; i < count; i++)
            for (int r = 0; r < 3; r++) up[r] += c2w[16 * i + r * 4 + 1] / count;
        const double n = sqrt(up[0] * up[0] + up[1] * up[1] + up[2] * up[2]);
        if (!(n > 1e-9))
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: orientation \"up\" is undefined: the cameras' up vectors "
                              "average to zero (use --orientation pca or none)",
                              what);
        for (int r = 0; r < 3; r++) up[r] /= n;
        rotation_between(up, (const double[3]){0, 0, 1}, rot);
    } else if (method->orientation == FACET_ORIENT_PCA) {
        double cov[9] = {0}, w[3], v[9];
        for (int i = 0; i < count; i++)
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 3; c++)
                    cov[r * 3 + c] +=
                        (c2w[16 * i + r * 4 + 3] - mean[r]) * (c2w[16 * i + c * 4 + 3] - mean[c]);
        symmetric_eigen(cov, w, v);
        if (!(w[0] > 1e-20 * count * fmax(1.0, extent * extent)))
            return facet_fail(
                FACET_ERR_FORMAT,
                "%s: orientation \"pca\" is undefined: all %d cameras are at the same "
                "position (use --orientation up or none)",
                what, count);
        if (det3(v) < 0)
            for (int r = 0; r < 3; r++) v[r * 3 + 2] = -v[r * 3 + 2];
        /* R = V^T: the principal axes (largest variance first) become x, y, z. nerfstudio
           multiplies by V itself, which aligns them only when V is symmetric; facet applies
           the rotation its documentation describes. */
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) rot[r * 3 + c] = v[c * 3 + r];
        /* as nerfstudio: if the cameras' mean up vector now points down, turn 180 degrees about
           x (negate rows 1 and 2) */
        double up_z = 0;
        for (int i = 0; i < count; i++)
            for (int k = 0; k < 3; k++) up_z += rot[6 + k] * c2w[16 * i + k * 4 + 1];
        if (up_z < 0)
            for (int k = 3; k < 9; k++) rot[k] = -rot[k];
    }
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++) transform[r * 4 + c] = rot[r * 3 + c];
        transform[r * 4 + 3] = -(rot[r * 3] * translation[0] + rot[r * 3 + 1] * translation[1] +
                                 rot[r * 3 + 2] * translation[2]);
    }

    double factor = 1.0;
    if (method->auto_scale) {
        double largest = 0;
        for (int i = 0; i < count; i++) {
            double p[16];
            facet_pose_normalise(transform, 1.0, c2w + 16 * i, p);
            for (int r = 0; r < 3; r++) largest = fmax(largest, fabs(p[r * 4 + 3]));
        }
        if (!(largest > 1e-9 * fmax(1.0, extent)))
            return facet_fail(FACET_ERR_FORMAT,
                              "%s: auto_scale is undefined: every camera sits at the centre after "
                              "centring (use --no-auto-scale or another --center)",
                              what);
        factor = 1.0 / largest;
    }
    if (method->scale_factor > 0) factor *= method->scale_factor;
    *scale = factor;
    return FACET_OK;
}

/* 1 when world point p lies in camera c's view frustum (in front, projecting into the image). */
static int in_frustum(const facet_view_camera *c, const double p[3]) {
    double q[3], x = 0, y = 0, z = 0;
    for (int r = 0; r < 3; r++) q[r] = p[r] - c->c2w[r * 4 + 3];
    for (int r = 0; r < 3; r++) {
        x += c->c2w[r * 4 + 0] * q[r];
        y += c->c2w[r * 4 + 1] * q[r];
        z += c->c2w[r * 4 + 2] * q[r];
    }
    if (!(z < 0)) return 0;
    const double u = c->cx + c->fx * x / -z, v = c->cy - c->fy * y / -z;
    return u >= 0 && u <= c->width && v >= 0 && v <= c->height;
}

/* Bounding box of the centres of the cells of an n^3 grid over `region` seen by at least `need`
 * cameras, grown to whole cells. Returns the number of such cells. */
static long frustum_cells(const facet_view_camera *cameras, int count, int need,
                          const double region[6], int n, double box[6]) {
    long found = 0;
    double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    double cell[3];
    for (int k = 0; k < 3; k++) cell[k] = (region[3 + k] - region[k]) / n;
#pragma omp parallel for collapse(2) schedule(static) reduction(+ : found) \
    reduction(min : lo[:3]) reduction(max : hi[:3])
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            for (int l = 0; l < n; l++) {
                const double p[3] = {region[0] + (i + 0.5) * cell[0],
                                     region[1] + (j + 0.5) * cell[1],
                                     region[2] + (l + 0.5) * cell[2]};
                int seen = 0;
                for (int c = 0; c < count && seen < need; c++) seen += in_frustum(&cameras[c], p);
                if (seen < need) continue;
                found++;
                for (int k = 0; k < 3; k++) {
                    lo[k] = fmin(lo[k], p[k]);
                    hi[k] = fmax(hi[k], p[k]);
                }
            }
    for (int k = 0; k < 3; k++) {
        box[k] = lo[k] - 0.5 * cell[k];
        box[3 + k] = hi[k] + 0.5 * cell[k];
    }
    return found;
}

facet_status facet_view_box(const facet_view_camera *cameras, int count, double fraction,
                            const char *what, double box[6]) {
    if (count <= 0) return facet_fail(FACET_ERR_FORMAT, "%s: no cameras to bound a scene", what);
    double *poses = malloc((size_t)count * 16 * sizeof *poses);
    if (!poses) return facet_fail(FACET_ERR_OUT_OF_MEMORY, "%s: scene box", what);
    for (int i = 0; i < count; i++) memcpy(poses + 16 * i, cameras[i].c2w, sizeof cameras[i].c2w);
    double focus[3];
    const int ok = nearest_point(poses, count, NULL, focus);
    free(poses);
    if (!ok || !isfinite(focus[0] + focus[1] + focus[2]))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: no scene box from the cameras: their optical axes are parallel "
                          "(give one with --aabb or --scene-scale)",
                          what);
    double reach = 0;
    for (int i = 0; i < count; i++) {
        double d2 = 0;
        for (int r = 0; r < 3; r++) {
            const double d = cameras[i].c2w[r * 4 + 3] - focus[r];
            d2 += d * d;
        }
        reach = fmax(reach, sqrt(d2));
    }
    int need = (int)ceil(fraction * count - 1e-9);
    if (need < 1) need = 1;
    if (need > count) need = count;
    enum { GRID = 48 };
    double region[6], coarse[6];
    for (int k = 0; k < 3; k++) {
        region[k] = focus[k] - reach;
        region[3 + k] = focus[k] + reach;
    }
    if (!(reach > 0) || frustum_cells(cameras, count, need, region, GRID, coarse) == 0)
        return facet_fail(FACET_ERR_FORMAT,
                          "%s: no scene box from the cameras: no point near their focus is seen "
                          "by %d of the %d cameras (give one with --aabb or --scene-scale)",
                          what, need, count);
    const double step = 2 * reach / GRID;
    for (int k = 0; k < 3; k++) {
        region[k] = coarse[k] - step;
        region[3 + k] = coarse[3 + k] + step;
    }
    if (frustum_cells(cameras, count, need, region, GRID, box) == 0)
        memcpy(box, coarse, sizeof coarse);
    return FACET_OK;
}
