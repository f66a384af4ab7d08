/* render/camera_path and render/path_render: nerfstudio camera_path.json reading and writing, the
 * model -> world frame mapping against poses pushed through the dataparser transform by hand,
 * keyframe channels, pose interpolation, orbits, the equirectangular camera against the
 * environment map it must reproduce, and resumable path rendering. */
#include "helpers.h"

#include "core/fileio.h"
#include "core/image.h"
#include "core/status.h"
#include "nodes/livescene_ray.h"
#include "render/camera_path.h"
#include "render/envmap.h"
#include "render/path_render.h"
#include "render/render.h"
#include "render/scene.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

/* A path file with `entries` (JSON text of the camera_path list) and a header. */
static const char *write_path(const char *dir, const char *header, const char *entries) {
    static char text[16384];
    snprintf(text, sizeof text, "{%s, \"camera_path\": [%s]}", header, entries);
    return test_write_file(dir, "path.json", text, 0);
}

static const char *IDENTITY16 = "[1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1]";

/* ---- reading ----------------------------------------------------------------------------------
 */

Test(camera_path, reads_a_nerfstudio_export) {
    const char *dir = test_scratch_dir("path_ns");
    /* the keys nerfstudio's viewer writes, including those facet ignores */
    char entry[512];
    snprintf(entry, sizeof entry,
             "{\"camera_to_world\": %s, \"fov\": 60, \"aspect\": 1.5, \"render_time\": 0.25}",
             IDENTITY16);
    const char *file =
        write_path(dir,
                   "\"keyframes\": [], \"camera_type\": \"perspective\", \"render_height\": 100, "
                   "\"render_width\": 150, \"fps\": 24, \"seconds\": 1, \"is_cycle\": false, "
                   "\"smoothness_value\": 0.5, \"crop\": null",
                   entry);
    facet_camera_path path;
    cr_assert_eq(facet_camera_path_load(&path, file), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(path.count, 1);
    cr_assert_eq(path.width, 150);
    cr_assert_eq(path.height, 100);
    cr_assert_eq(path.frame, FACET_PATH_FRAME_MODEL, "nerfstudio paths are in the model frame");
    facet_camera cam = facet_camera_path_camera(&path, 0, NULL);
    /* three.js: focal = (H / 2) / tan(fov / 2) */
    cr_assert_float_eq(cam.fy, 50.0 / tan(30.0 * PI / 180.0), 1e-4);
    cr_assert_float_eq(cam.fx, cam.fy, 0);
    cr_assert_float_eq(cam.cx, 75.0f, 0);
    cr_assert_float_eq(cam.cy, 50.0f, 0);
    cr_assert_eq(cam.projection, FACET_PROJECTION_PINHOLE);
    facet_camera_path_free(&path);
}

typedef struct bad_path {
    const char *header, *entry, *fragment;
} bad_path;

Test(camera_path, bad_files_fail_naming_the_file_and_key) {
    const char *dir = test_scratch_dir("path_bad");
    const char *good_header = "\"render_width\": 8, \"render_height\": 8, \"fps\": 10";
    static const bad_path cases[] = {
        {"\"render_height\": 8", "", "render_width"},
        {"\"render_width\": 0, \"render_height\": 8", "", "whole numbers in [1, 16384]"},
        {"\"render_width\": 8.5, \"render_height\": 8", "", "whole numbers"},
        {"\"render_width\": 8, \"render_height\": 8, \"fps\": -1", "", "fps"},
        {"\"render_width\": 8, \"render_height\": 8, \"camera_type\": \"fisheye\"", "",
         "camera_type 'fisheye' is not supported"},
        {"\"render_width\": 8, \"render_height\": 8, \"facet_frame\": \"camera\"", "",
         "facet_frame"},
        {NULL, "", "expected 1 to"},
        {NULL, "{\"camera_to_world\": [1,2,3], \"fov\": 50}", "camera_path[0].camera_to_world"},
        {NULL, "{\"camera_to_world\": [1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1]}", "camera_path[0].fov"},
        {NULL, "{\"camera_to_world\": [1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1], \"fov\": 180}",
         "(0, 180)"},
        {NULL,
         "{\"camera_to_world\": [1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1], \"fov\": 50, "
         "\"facet_kappa\": {\"drawer\": 1.5}}",
         "camera_path[0].facet_kappa.drawer"},
        {NULL,
         "{\"camera_to_world\": [1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1], \"fov\": 50, "
         "\"facet_kappa\": [1]}",
         "facet_kappa"},
        {NULL, "7", "camera_path[0]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *file =
            write_path(dir, cases[i].header ? cases[i].header : good_header, cases[i].entry);
        facet_camera_path path;
        cr_assert_neq(facet_camera_path_load(&path, file), FACET_OK, "case %zu loaded", i);
        cr_assert(strstr(facet_last_error(), "path.json"), "case %zu: '%s' lacks the file", i,
                  facet_last_error());
        cr_assert(strstr(facet_last_error(), cases[i].fragment), "case %zu: '%s' lacks '%s'", i,
                  facet_last_error(), cases[i].fragment);
        cr_assert_eq(path.count, 0, "nothing is left behind");
    }
    facet_camera_path path;
    cr_assert_neq(facet_camera_path_load(&path, "/nonexistent/path.json"), FACET_OK);
    test_write_file(dir, "truncated.json", "{\"render_width\": 8, \"camera_pa", 0);
    char file[1024];
    snprintf(file, sizeof file, "%s/truncated.json", dir);
    cr_assert_neq(facet_camera_path_load(&path, file), FACET_OK);
}

Test(camera_path, save_then_load_keeps_everything) {
    const char *dir = test_scratch_dir("path_roundtrip");
    facet_pose_key keys[2] = {{{0}, 40.0, 0.0}, {{0}, 60.0, 1.0}};
    for (int k = 0; k < 2; k++) {
        keys[k].c2w[0] = keys[k].c2w[5] = keys[k].c2w[10] = keys[k].c2w[15] = 1.0;
        keys[k].c2w[3] = k * 2.0;
    }
    facet_camera_path path;
    cr_assert_eq(facet_camera_path_interpolate(&path, keys, 2, 10.0, 64, 48), FACET_OK);
    path.frame = FACET_PATH_FRAME_WORLD;
    path.projection = FACET_PROJECTION_EQUIRECTANGULAR;
    cr_assert_eq(facet_camera_path_set_key(&path, 0, "drawer", 0.0f), FACET_OK);
    cr_assert_eq(facet_camera_path_set_key(&path, 10, "drawer", 1.0f), FACET_OK);
    cr_assert_eq(facet_camera_path_set_key(&path, 4, NULL, 90.0f), FACET_OK);
    char file[1024];
    snprintf(file, sizeof file, "%s/saved.json", dir);
    cr_assert_eq(facet_camera_path_save(&path, file), FACET_OK, "%s", facet_last_error());
    facet_camera_path back;
    cr_assert_eq(facet_camera_path_load(&back, file), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(back.count, path.count);
    cr_assert_eq(back.width, 64);
    cr_assert_eq(back.height, 48);
    cr_assert_eq(back.projection, FACET_PROJECTION_EQUIRECTANGULAR);
    cr_assert_eq(back.frame, FACET_PATH_FRAME_WORLD);
    cr_assert_float_eq(back.fps, 10.0, 0);
    for (int i = 0; i < path.count; i++) {
        for (int j = 0; j < 16; j++)
            cr_assert_float_eq(back.entries[i].c2w[j], path.entries[i].c2w[j], 1e-15);
        cr_assert_float_eq(back.entries[i].fov_deg, path.entries[i].fov_deg, 1e-12);
        float a = -1, b = -1;
        cr_assert_eq(facet_camera_path_value(&path, i, "drawer", &a), 1);
        cr_assert_eq(facet_camera_path_value(&back, i, "drawer", &b), 1);
        cr_assert_float_eq(a, b, 0);
    }
    facet_camera_path_free(&path);
    facet_camera_path_free(&back);
}

/* ---- channels ------------------------------------------------------------------------------- */

Test(camera_path, keyframes_are_linear_between_and_held_outside) {
    facet_camera_path path;
    double c[3] = {0, 0, 0}, up[3] = {0, 0, 1};
    cr_assert_eq(facet_camera_path_orbit(&path, c, up, 1.0, 0.0, 0.0, 30, 50.0, 10.0, 8, 8),
                 FACET_OK);
    float v;
    cr_assert_eq(facet_camera_path_value(&path, 5, "drawer", &v), 0, "no keyframe: no value");
    cr_assert_eq(facet_camera_path_add_keys(&path, "drawer", "5:0.2,1.5s:1"), FACET_OK, "%s",
                 facet_last_error());
    cr_assert_eq(facet_camera_path_add_keys(&path, NULL, "0:0,29:290"), FACET_OK);
    cr_assert_eq(facet_camera_path_value(&path, 0, "drawer", &v), 1);
    cr_assert_float_eq(v, 0.2f, 0, "held before the first keyframe");
    cr_assert_eq(facet_camera_path_value(&path, 10, "drawer", &v), 1);
    cr_assert_float_eq(v, 0.6f, 1e-6, "halfway between frame 5 and frame 15 (1.5 s at 10 fps)");
    cr_assert_eq(facet_camera_path_value(&path, 29, "drawer", &v), 1);
    cr_assert_float_eq(v, 1.0f, 0, "held after the last keyframe");
    cr_assert_eq(facet_camera_path_value(&path, 7, NULL, &v), 1);
    cr_assert_float_eq(v, 70.0f, 1e-4);
    /* replacing a keyframe */
    cr_assert_eq(facet_camera_path_set_key(&path, 15, "drawer", 0.2f), FACET_OK);
    cr_assert_eq(facet_camera_path_value(&path, 10, "drawer", &v), 1);
    cr_assert_float_eq(v, 0.2f, 1e-6);
    const char *names[4];
    cr_assert_eq(facet_camera_path_objects(&path, names, 4), 1);
    cr_assert_str_eq(names[0], "drawer");
    static const char *const bad[] = {"x", "0:2", "0.5:1", "40:1", "3s:1", "0:0,", "-1:0", "0:1;"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_neq(facet_camera_path_add_keys(&path, "drawer", bad[i]), FACET_OK, "'%s'",
                      bad[i]);
    facet_camera_path_free(&path);
}

/* ---- frames ------------------------------------------------------------------------------------
 */

/* A dataparser-like frame: a rotation about a tilted axis, an offset and a scale. */
static facet_model_frame test_frame(void) {
    facet_model_frame f;
    double axis[3] = {0.3, -0.5, 0.8}, n = sqrt(0.09 + 0.25 + 0.64), a = 0.7;
    for (int i = 0; i < 3; i++) axis[i] /= n;
    double c = cos(a), s = sin(a), x = axis[0], y = axis[1], z = axis[2];
    double r[9] = {c + x * x * (1 - c),     x * y * (1 - c) - z * s, x * z * (1 - c) + y * s,
                   y * x * (1 - c) + z * s, c + y * y * (1 - c),     y * z * (1 - c) - x * s,
                   z * x * (1 - c) - y * s, z * y * (1 - c) + x * s, c + z * z * (1 - c)};
    memcpy(f.r, r, sizeof r);
    f.t[0] = 0.4, f.t[1] = -1.2, f.t[2] = 0.25;
    f.scale = 0.37;
    return f;
}

Test(camera_path, model_frame_poses_land_where_the_world_camera_is) {
    const char *dir = test_scratch_dir("path_frame");
    facet_model_frame f = test_frame();
    /* a world camera, pushed through m = s (R w + t) by hand: A' = R A, a' = s (R a + t) */
    double world[16] = {0.7071, -0.4082, 0.5774, 2.2, 0.7071, 0.4082, -0.5774, -2.6,
                        0,      0.8165,  0.5774, 2.3, 0,      0,      0,       1};
    double model[16] = {0};
    for (int r = 0; r < 3; r++) {
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 3; j++) model[r * 4 + k] += f.r[r * 3 + j] * world[j * 4 + k];
        double p = f.t[r];
        for (int j = 0; j < 3; j++) p += f.r[r * 3 + j] * world[j * 4 + 3];
        model[r * 4 + 3] = f.scale * p;
    }
    model[15] = 1;
    char entry[1024];
    int n = snprintf(entry, sizeof entry, "{\"fov\": 45, \"camera_to_world\": [");
    for (int i = 0; i < 16; i++)
        n += snprintf(entry + n, sizeof entry - n, "%s%.17g", i ? "," : "", model[i]);
    snprintf(entry + n, sizeof entry - n, "]}");
    const char *file = write_path(dir, "\"render_width\": 40, \"render_height\": 30", entry);
    facet_camera_path path;
    cr_assert_eq(facet_camera_path_load(&path, file), FACET_OK, "%s", facet_last_error());
    facet_camera cam = facet_camera_path_camera(&path, 0, &f);
    for (int i = 0; i < 12; i++)
        cr_assert_float_eq(cam.c2w.m[i], world[i], 1e-6, "c2w[%d] %.9g vs %.9g", i, cam.c2w.m[i],
                           world[i]);
    /* the rays the LiveScene node casts in its model frame are the model-frame camera's rays */
    float transform[12];
    for (int r = 0; r < 3; r++) {
        for (int k = 0; k < 3; k++) transform[r * 4 + k] = (float)f.r[r * 3 + k];
        transform[r * 4 + 3] = (float)f.t[r];
    }
    for (int j = 0; j < 30; j += 7)
        for (int i = 0; i < 40; i += 9) {
            facet_ray ray = facet_camera_ray(&cam, i, j);
            float o[3], d[3];
            facet_livescene_to_model_frame(transform, (float)f.scale, ray.origin, ray.direction, o,
                                           d);
            double local[3] = {(i + 0.5 - 20.0) / cam.fx, -((j + 0.5 - 15.0) / cam.fy), -1.0};
            double want[3], len = 0;
            for (int r = 0; r < 3; r++) {
                want[r] = model[r * 4] * local[0] + model[r * 4 + 1] * local[1] +
                          model[r * 4 + 2] * local[2];
                len += want[r] * want[r];
            }
            for (int r = 0; r < 3; r++) {
                cr_assert_float_eq(d[r], want[r] / sqrt(len), 2e-6, "direction (%d, %d)", i, j);
                cr_assert_float_eq(o[r], model[r * 4 + 3], 2e-6, "origin");
            }
        }
    /* a world-frame path ignores the model frame; to_model_frame is the inverse mapping */
    path.frame = FACET_PATH_FRAME_WORLD;
    memcpy(path.entries[0].c2w, world, sizeof world);
    facet_camera same = facet_camera_path_camera(&path, 0, &f);
    for (int i = 0; i < 16; i++) cr_assert_float_eq(same.c2w.m[i], (float)world[i], 0);
    facet_camera_path_to_model_frame(&path, &f);
    cr_assert_eq(path.frame, FACET_PATH_FRAME_MODEL);
    for (int i = 0; i < 16; i++) cr_assert_float_eq(path.entries[0].c2w[i], model[i], 1e-12);
    facet_camera_path_free(&path);
}

/* ---- building -------------------------------------------------------------------------------- */

static double det3(const double *m) { /* of the rotation part of a 4x4 */
    return m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) +
           m[2] * (m[4] * m[9] - m[5] * m[8]);
}

static void assert_orthonormal(const double *m, const char *what) {
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double d = 0;
            for (int r = 0; r < 3; r++) d += m[r * 4 + a] * m[r * 4 + b];
            cr_assert_float_eq(d, a == b ? 1.0 : 0.0, 1e-12, "%s: columns %d, %d", what, a, b);
        }
    cr_assert_float_eq(det3(m), 1.0, 1e-12, "%s: a rotation", what);
}

static void rotation_z(double *m, double angle, double x, double y, double z) {
    memset(m, 0, 16 * sizeof *m);
    m[0] = cos(angle), m[1] = -sin(angle), m[4] = sin(angle), m[5] = cos(angle);
    m[10] = m[15] = 1;
    m[3] = x, m[7] = y, m[11] = z;
}

Test(camera_path, interpolation_passes_through_keyframes_smoothly) {
    facet_pose_key keys[4];
    double pos[4][3] = {{0, 0, 0}, {1, 2, 0}, {3, 2, 1}, {4, 0, 1}};
    double times[4] = {0, 1, 2.5, 3};
    for (int k = 0; k < 4; k++) {
        rotation_z(keys[k].c2w, 0.4 * k, pos[k][0], pos[k][1], pos[k][2]);
        keys[k].fov_deg = 40 + 10 * k;
        keys[k].time = times[k];
    }
    facet_camera_path path;
    cr_assert_eq(facet_camera_path_interpolate(&path, keys, 4, 20.0, 32, 24), FACET_OK, "%s",
                 facet_last_error());
    cr_assert_eq(path.count, 61, "3 s at 20 fps, both ends included");
    for (int k = 0; k < 4; k++) {
        const facet_path_entry *e = &path.entries[(int)lround(times[k] * 20)];
        for (int i = 0; i < 16; i++)
            cr_assert_float_eq(e->c2w[i], keys[k].c2w[i], 1e-12, "keyframe %d, element %d", k, i);
        cr_assert_float_eq(e->fov_deg, keys[k].fov_deg, 1e-12);
    }
    for (int f = 0; f < path.count; f++) assert_orthonormal(path.entries[f].c2w, "frame");
    /* halfway between keys 0 and 1 in time: the rotation is halfway (slerp about z) */
    const double *mid = path.entries[10].c2w;
    cr_assert_float_eq(atan2(mid[4], mid[0]), 0.2, 1e-12);
    cr_assert_float_eq(path.entries[10].fov_deg, 45.0, 1e-12);
    /* velocity is continuous through an interior keyframe (C1): one-sided differences agree to
     * within the spline's curvature, far closer than the velocity jump of linear interpolation */
    const double *a = path.entries[19].c2w, *b = path.entries[20].c2w, *c = path.entries[21].c2w;
    for (int r = 0; r < 3; r++) {
        double before = b[r * 4 + 3] - a[r * 4 + 3], after = c[r * 4 + 3] - b[r * 4 + 3];
        cr_assert(fabs(before - after) < 0.01, "axis %d: %g vs %g", r, before, after);
    }
    facet_camera_path_free(&path);

    /* evenly timed collinear, evenly spaced keys: uniform straight motion */
    for (int k = 0; k < 4; k++) {
        rotation_z(keys[k].c2w, 0.0, 2.0 * k, -1.0 * k, 0.5);
        keys[k].time = k;
    }
    cr_assert_eq(facet_camera_path_interpolate(&path, keys, 4, 4.0, 8, 8), FACET_OK);
    for (int f = 0; f < path.count; f++) {
        cr_assert_float_eq(path.entries[f].c2w[3], 2.0 * f / 4.0, 1e-12);
        cr_assert_float_eq(path.entries[f].c2w[7], -1.0 * f / 4.0, 1e-12);
    }
    facet_camera_path_free(&path);

    keys[1].time = 0;
    cr_assert_neq(facet_camera_path_interpolate(&path, keys, 4, 4.0, 8, 8), FACET_OK);
    keys[1].time = 1;
    keys[2].fov_deg = 0;
    cr_assert_neq(facet_camera_path_interpolate(&path, keys, 4, 4.0, 8, 8), FACET_OK);
}

Test(camera_path, orbit_looks_at_the_center_from_the_radius_and_elevation) {
    double center[3] = {0.5, -0.25, 1.0};
    double ups[2][3] = {{0, 0, 1}, {0, 1, 0}};
    for (int u = 0; u < 2; u++) {
        facet_camera_path path;
        cr_assert_eq(
            facet_camera_path_orbit(&path, center, ups[u], 3.0, 30.0, 0.0, 12, 50.0, 24.0, 16, 16),
            FACET_OK);
        cr_assert_eq(path.count, 12);
        for (int f = 0; f < 12; f++) {
            const double *m = path.entries[f].c2w;
            assert_orthonormal(m, "orbit");
            double to_center[3], dist = 0, up_dot = 0, x_up = 0;
            for (int r = 0; r < 3; r++) {
                to_center[r] = center[r] - m[r * 4 + 3];
                dist += to_center[r] * to_center[r];
            }
            dist = sqrt(dist);
            cr_assert_float_eq(dist, 3.0, 1e-12);
            for (int r = 0; r < 3; r++) {
                /* the camera looks along its -z: straight at the center */
                cr_assert_float_eq(-m[r * 4 + 2], to_center[r] / dist, 1e-12);
                up_dot += -to_center[r] / dist * ups[u][r];
                x_up += m[r * 4] * ups[u][r];
            }
            cr_assert_float_eq(up_dot, sin(30.0 * PI / 180.0), 1e-12, "elevation");
            cr_assert_float_eq(x_up, 0.0, 1e-12, "no roll: the image x axis stays horizontal");
        }
        /* frame 0 at azimuth 0: on +x for z up, +z for y up */
        const double *m0 = path.entries[0].c2w;
        double want = center[u == 0 ? 0 : 2] + 3.0 * cos(30.0 * PI / 180.0);
        cr_assert_float_eq(m0[(u == 0 ? 0 : 2) * 4 + 3], want, 1e-12);
        facet_camera_path_free(&path);
    }
}

/* ---- the equirectangular camera ----------------------------------------------------------------
 */

Test(camera_path, equirectangular_axes) {
    facet_camera cam = {0};
    cam.c2w = facet_mat4_identity();
    cam.width = 8;
    cam.height = 4;
    cam.projection = FACET_PROJECTION_EQUIRECTANGULAR;
    /* columns 3 and 4 straddle the centre, which looks along -z */
    facet_ray a = facet_camera_ray(&cam, 3, 1), b = facet_camera_ray(&cam, 4, 2);
    cr_assert_float_eq(a.direction.x, -b.direction.x, 1e-6);
    cr_assert_float_eq(a.direction.y, -b.direction.y, 1e-6);
    cr_assert(a.direction.z < -0.8f && b.direction.z < -0.8f);
    /* width 2, height 1: pixel 1's centre is at u = 1/2, which looks along +x, pixel 0's along -x
     */
    cam.width = 2;
    cam.height = 1;
    facet_ray right = facet_camera_ray(&cam, 1, 0);
    cr_assert_float_eq(right.direction.x, 1.0f, 1e-6);
    facet_ray left = facet_camera_ray(&cam, 0, 0);
    cr_assert_float_eq(left.direction.x, -1.0f, 1e-6);
    /* the top row looks up */
    cam.width = 4;
    cam.height = 64;
    cr_assert(facet_camera_ray(&cam, 0, 0).direction.y > 0.99f);
    cr_assert(facet_camera_ray(&cam, 0, 63).direction.y < -0.99f);
}

/* An environment-only scene seen by an equirectangular camera at the map's own resolution gives
 * the map back: nvdiffrec (y up) with the identity pose, Blender (z up) with the camera's y on
 * world +z and its view direction on world +x. Tolerance: float rounding moves a lookup by about
 * 1e-3 texel, so each pixel may differ from its texel by 1% of the largest step to a neighbour. */
static void check_env_roundtrip(const char *convention, const float *c2w12) {
    const char *dir = test_scratch_dir(convention);
    char scene_text[1024];
    snprintf(scene_text, sizeof scene_text,
             "{\"version\": 1, \"background\": \"environment\", \"environment\": {\"map\": \"%s\", "
             "\"convention\": \"%s\"}, \"nodes\": []}",
             test_source_path("assets/demo/forest.exr"), convention);
    const char *file = test_write_file(dir, "scene.json", scene_text, 0);
    facet_scene scene;
    cr_assert_eq(facet_scene_load(&scene, file), FACET_OK, "%s", facet_last_error());
    const facet_envmap_view *env = &scene.environment.view;
    facet_camera cam = {0};
    cam.c2w = facet_mat4_identity();
    for (int i = 0; i < 12; i++) cam.c2w.m[i] = c2w12[i];
    cam.width = env->width;
    cam.height = env->height;
    cam.projection = FACET_PROJECTION_EQUIRECTANGULAR;
    facet_render_options options = {0};
    facet_image img = {0};
    cr_assert_eq(facet_render_image(&scene, &cam, &options, &img), FACET_OK, "%s",
                 facet_last_error());
    int W = env->width, H = env->height, failures = 0;
    double worst = 0;
    for (int j = 1; j + 1 < H; j++)
        for (int i = 0; i < W; i++)
            for (int c = 0; c < 3; c++) {
                double texel = env->rgb[((size_t)j * W + i) * 3 + c], step = 0;
                for (int dj = -1; dj <= 1; dj++)
                    for (int di = -1; di <= 1; di++) {
                        double n = env->rgb[((size_t)(j + dj) * W + (i + di + W) % W) * 3 + c];
                        step = fmax(step, fabs(n - texel));
                    }
                double got = img.data[((size_t)j * W + i) * 4 + c];
                double err = fabs(got - texel);
                worst = fmax(worst, err);
                if (!isfinite(got) || err > 0.01 * step + 1e-6 * fabs(texel) + 1e-7) failures++;
            }
    cr_assert_eq(failures, 0, "%s: %d values off (worst %g)", convention, failures, worst);
    facet_image_free(&img);
    facet_scene_free(&scene);
}

Test(camera_path, equirectangular_render_reproduces_the_environment_map) {
    const float identity[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    check_env_roundtrip("nvdiffrec", identity);
    /* columns: camera x -> world -y, camera y -> world z, camera z -> world -x */
    const float z_up[12] = {0, 0, -1, 0, -1, 0, 0, 0, 0, 1, 0, 0};
    check_env_roundtrip("blender", z_up);
}

/* ---- rendering a path --------------------------------------------------------------------------
 */

Test(camera_path, path_render_skips_finished_frames_and_checks_keys_first) {
    const char *dir = test_scratch_dir("path_render");
    facet_scene scene;
    cr_assert_eq(facet_scene_load(&scene, test_source_path("assets/demo/scene.json")), FACET_OK,
                 "%s", facet_last_error());
    facet_camera_path path;
    double c[3] = {0, 0, 0}, up[3] = {0, 0, 1};
    cr_assert_eq(facet_camera_path_orbit(&path, c, up, 1.0, 10.0, 0.0, 4, 60.0, 4.0, 16, 12),
                 FACET_OK);
    path.frame = FACET_PATH_FRAME_WORLD;
    cr_assert_eq(facet_camera_path_add_keys(&path, NULL, "0:0,3:90"), FACET_OK);
    char frames[1024];
    snprintf(frames, sizeof frames, "%s/frames", dir);
    cr_assert_eq(facet_make_dirs(frames), FACET_OK);
    /* frame 1 "finished" by an earlier run: kept as it is */
    test_write_file(frames, "frame_00001.png", "earlier", 0);
    facet_path_render_options options = {0};
    options.first = 0;
    options.last = 4;
    options.shard.count = 1;
    int rendered, skipped;
    cr_assert_eq(facet_path_render(&scene, &path, &options, frames, &rendered, &skipped), FACET_OK,
                 "%s", facet_last_error());
    cr_assert_eq(rendered, 3);
    cr_assert_eq(skipped, 1);
    char *data;
    size_t size;
    char file[1200];
    snprintf(file, sizeof file, "%s/frame_00001.png", frames);
    cr_assert_eq(facet_read_file(file, &data, &size), FACET_OK);
    cr_assert_eq(size, 7, "the finished frame was not rendered again");
    free(data);
    snprintf(file, sizeof file, "%s/frame_00003.png", frames);
    facet_image img;
    cr_assert_eq(facet_image_read(&img, file, 0), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(img.width, 16);
    cr_assert_eq(img.height, 12);
    facet_image_free(&img);
    cr_assert_float_eq(scene.environment.rotation_deg, 90.0f, 0, "the last frame's rotation");

    /* an object the scene lacks fails before anything is written */
    cr_assert_eq(facet_camera_path_set_key(&path, 0, "drawer", 0.5f), FACET_OK);
    snprintf(frames, sizeof frames, "%s/never", dir);
    cr_assert_neq(facet_path_render(&scene, &path, &options, frames, &rendered, &skipped),
                  FACET_OK);
    cr_assert(strstr(facet_last_error(), "drawer"), "%s", facet_last_error());
    cr_assert_eq(facet_is_dir(frames), 0, "no output folder for a path that cannot render");
    facet_camera_path_free(&path);
    facet_scene_free(&scene);
}
