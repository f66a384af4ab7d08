#include "dfg_lut.h"
#include "lighting_cache.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>

/* Quadrature orders: elevation below the horizon split, elevation across it, azimuth. */
enum { ORDER_FULL = 16, ORDER_PARTIAL = 32, ORDER_AZIMUTH = 12 };

static const double PI = 3.14159265358979323846;

/* Gauss-Legendre nodes and weights on [0, 1] (Newton iteration on P_n from the Chebyshev guess). */
static void gauss_legendre(int n, double *x, double *w) {
    for (int i = 0; i < n; i++) {
        double z = cos(PI * (i + 0.75) / (n + 0.5)), dp = 1.0;
        for (int it = 0; it < 100; it++) {
            double p0 = 1.0, p1 = z;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2.0 * k - 1.0) * z * p1 - (k - 1.0) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = n * (z * p1 - p0) / (z * z - 1.0);
            double step = p1 / dp;
            z -= step;
            if (fabs(step) < 1e-15) break;
        }
        x[i] = 0.5 * (1.0 - z);
        w[i] = 1.0 / ((1.0 - z * z) * dp * dp);
    }
}

typedef struct quadrature {
    double full_x[ORDER_FULL], full_w[ORDER_FULL];
    double partial_x[ORDER_PARTIAL], partial_w[ORDER_PARTIAL];
    double azimuth_x[ORDER_AZIMUTH], azimuth_w[ORDER_AZIMUTH];
} quadrature;

static quadrature rule;
static pthread_once_t rule_once = PTHREAD_ONCE_INIT;

static void make_rule(void) {
    gauss_legendre(ORDER_FULL, rule.full_x, rule.full_w);
    gauss_legendre(ORDER_PARTIAL, rule.partial_x, rule.partial_w);
    gauss_legendre(ORDER_AZIMUTH, rule.azimuth_x, rule.azimuth_w);
}

/* Smith Lambda of GGX for a direction at cosine c to the normal. */
static double smith_lambda(double alpha2, double c) {
    double c2 = c * c;
    return 0.5 * (-1.0 + sqrt(1.0 + alpha2 * (1.0 - c2) / c2));
}

/* GGX half-vector cosine for the warped variable u in [0,1]: u = CDF(theta_h). */
static double cos_h_of(double u, double alpha2) {
    return sqrt((1.0 - u) / (1.0 + (alpha2 - 1.0) * u));
}
static double u_of_cos2(double cos2, double alpha2) {
    return (1.0 - cos2) / (1.0 + cos2 * (alpha2 - 1.0));
}

/* Adds weight * (integrand A, B) over azimuths [0, phi_max] (mirror-symmetric: the factor 1/pi
 * turns the half range into the mean over the full circle). */
static void add_ring(double nov, double alpha2, double lambda_v, double ct, double phi_max,
                     double weight, double *a, double *b) {
    double sv = sqrt(1.0 - nov * nov), st = sqrt(fmax(0.0, 1.0 - ct * ct));
    for (int k = 0; k < ORDER_AZIMUTH; k++) {
        double phi = phi_max * rule.azimuth_x[k];
        double voh = sv * st * cos(phi) + nov * ct;
        double nol = fmax(2.0 * voh * ct - nov, 1e-12);
        double g = 1.0 / (1.0 + lambda_v + smith_lambda(alpha2, nol));
        double gv = g * voh / (ct * nov);
        double m = 1.0 - voh, m2 = m * m;
        double fc = m2 * m2 * m;
        double w = weight * rule.azimuth_w[k] * phi_max / PI;
        *a += w * (1.0 - fc) * gv;
        *b += w * fc * gv;
    }
}

void facet_dfg_integrate(double nov, double roughness, double *a, double *b) {
    pthread_once(&rule_once, make_rule);
    const double alpha = roughness * roughness, alpha2 = alpha * alpha;
    const double lambda_v = smith_lambda(alpha2, nov);
    /* l = reflect(-v, h) stays above the horizon for every azimuth while theta_h < theta_1 and
     * for none beyond theta_2 (theta_{1,2} = (pi/2 -+ theta_v) / 2) */
    const double theta_v = acos(nov);
    const double c1 = cos(0.5 * (0.5 * PI - theta_v)), c2 = cos(0.5 * (0.5 * PI + theta_v));
    const double u1 = u_of_cos2(c1 * c1, alpha2), u2 = u_of_cos2(c2 * c2, alpha2);
    *a = *b = 0.0;
    for (int i = 0; i < ORDER_FULL; i++) {
        double u = u1 * rule.full_x[i];
        add_ring(nov, alpha2, lambda_v, cos_h_of(u, alpha2), PI, u1 * rule.full_w[i], a, b);
    }
    const double sv = sqrt(1.0 - nov * nov);
    for (int i = 0; i < ORDER_PARTIAL; i++) {
        /* s -> u clusters nodes at both ends, where the azimuth range has square-root kinks */
        double s = rule.partial_x[i];
        double u = u1 + (u2 - u1) * 0.5 * (1.0 - cos(PI * s));
        double du = (u2 - u1) * 0.5 * PI * sin(PI * s);
        double ct = cos_h_of(u, alpha2), st = sqrt(fmax(0.0, 1.0 - ct * ct));
        /* NoL > 0  <=>  cos(phi) > nov (1 - 2 ct^2) / (2 ct st sv) */
        double denom = 2.0 * ct * st * sv;
        double c0 = denom > 0.0 ? nov * (1.0 - 2.0 * ct * ct) / denom : 1.0;
        double phi_max = acos(fmin(1.0, fmax(-1.0, c0)));
        add_ring(nov, alpha2, lambda_v, ct, phi_max, du * rule.partial_w[i], a, b);
    }
}

static float table[FACET_DFG_SIZE * FACET_DFG_SIZE * 2];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void make_table(void) {
    if (facet_lighting_cache_read_table("dfg", table, sizeof table)) return;
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < FACET_DFG_SIZE; i++) {
        double roughness = (i + 0.5) / FACET_DFG_SIZE;
        for (int j = 0; j < FACET_DFG_SIZE; j++) {
            double a, b;
            facet_dfg_integrate((j + 0.5) / FACET_DFG_SIZE, roughness, &a, &b);
            table[((size_t)i * FACET_DFG_SIZE + j) * 2] = (float)a;
            table[((size_t)i * FACET_DFG_SIZE + j) * 2 + 1] = (float)b;
        }
    }
    facet_lighting_cache_write_table("dfg", table, sizeof table);
}

const float *facet_dfg_lut(void) {
    pthread_once(&rule_once, make_rule);
    pthread_once(&table_once, make_table);
    return table;
}
