#include "sdf_shapes.h"

#include <math.h>

/* Local bounding sphere of one shape; 0 for an unbounded shape (a plane). */
static int shape_bound(const facet_sdf_shape *s, facet_vec3 *center, float *radius) {
    switch (s->type) {
    case FACET_SDF_SPHERE:
        *center = s->a, *radius = s->r0;
        return 1;
    case FACET_SDF_BOX:
        *center = s->a, *radius = facet_v3_length(s->b);
        return 1;
    case FACET_SDF_TORUS:
        *center = s->a, *radius = s->r0 + s->r1;
        return 1;
    case FACET_SDF_PLANE:
        return 0;
    default:
        *center = facet_v3_scale(facet_v3_add(s->a, s->b), 0.5f);
        *radius = 0.5f * facet_v3_length(facet_v3_sub(s->b, s->a)) + s->r0;
        return 1;
    }
}

void facet_sdf_object_place(facet_sdf_object *o, const float rotate_deg[3],
                            const float translate[3], float scale) {
    const double k = 3.14159265358979323846 / 180.0;
    const double cx = cos(rotate_deg[0] * k), sx = sin(rotate_deg[0] * k);
    const double cy = cos(rotate_deg[1] * k), sy = sin(rotate_deg[1] * k);
    const double cz = cos(rotate_deg[2] * k), sz = sin(rotate_deg[2] * k);
    /* R = Rz Ry Rx */
    const double r[9] = {cz * cy,
                         cz * sy * sx - sz * cx,
                         cz * sy * cx + sz * sx,
                         sz * cy,
                         sz * sy * sx + cz * cx,
                         sz * sy * cx - cz * sx,
                         -sy,
                         cy * sx,
                         cy * cx};
    for (int i = 0; i < 9; i++) o->rotation[i] = (float)r[i];
    o->translate = facet_v3(translate[0], translate[1], translate[2]);
    o->scale = scale;
    facet_vec3 center = facet_v3(0.0f, 0.0f, 0.0f);
    float radius = -1.0f;
    for (int i = 0; i < o->count; i++) {
        facet_vec3 c;
        float rad;
        if (!shape_bound(&o->shapes[i], &c, &rad)) {
            o->bound_radius = -1.0f;
            return;
        }
        if (radius < 0.0f) {
            center = c, radius = rad;
            continue;
        }
        /* the smallest sphere holding both spheres */
        float d = facet_v3_length(facet_v3_sub(c, center));
        if (d + rad <= radius) continue;
        if (d + radius <= rad) {
            center = c, radius = rad;
            continue;
        }
        float merged = 0.5f * (d + radius + rad);
        center =
            facet_v3_add(center, facet_v3_scale(facet_v3_sub(c, center), (merged - radius) / d));
        radius = merged;
    }
    const float *m = o->rotation;
    o->bound_center = facet_v3_add(
        o->translate, facet_v3_scale(facet_v3(m[0] * center.x + m[1] * center.y + m[2] * center.z,
                                              m[3] * center.x + m[4] * center.y + m[5] * center.z,
                                              m[6] * center.x + m[7] * center.y + m[8] * center.z),
                                     scale));
    o->bound_radius = radius * scale;
}
