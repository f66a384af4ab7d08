/* The viewer's headless parts: navigation, scripts, camera-path keyframes, display conversion and
 * the progressive refiner (viewer/). The window itself is tested under Xvfb
 * (tests/viewer_xvfb_test.sh). */
#include "helpers.h"

#include "core/color.h"
#include "core/status.h"
#include "nodes/builtin.h"
#include "render/render.h"
#include "viewer/display.h"
#include "viewer/interop_plan.h"
#include "viewer/keyframes.h"
#include "viewer/navigation.h"
#include "viewer/refiner.h"
#include "viewer/script.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

/* The cabinet demo's camera: z-up, looking down at the origin from (2.2, -2.6, 2.3). */
static facet_camera cabinet_camera(void) {
    facet_mat4 c2w = {{0.7071f, -0.4082f, 0.5774f, 2.2f, 0.7071f, 0.4082f, -0.5774f, -2.6f, 0.0f,
                       0.8165f, 0.5774f, 2.3f, 0, 0, 0, 1}};
    return facet_camera_from_fov(c2w, 0.8f, 256, 256);
}

static float distance3(facet_vec3 a, facet_vec3 b) {
    return facet_v3_length(facet_v3_sub(a, b));
}

/* ---- navigation ------------------------------------------------------------------------------ */

Test(navigation, starts_on_the_exact_scene_camera) {
    facet_camera cam = cabinet_camera();
    facet_nav nav;
    facet_nav_init(&nav, &cam);
    facet_camera out = facet_nav_camera(&nav, 256, 256);
    cr_assert_eq(memcmp(&out, &cam, sizeof cam), 0,
                 "an untouched view is the scene camera, bit for bit");
    cr_assert_eq(nav.up.z, 1.0f, "the camera's up is mostly +z: the scene is z-up");
}

Test(navigation, resolution_changes_scale_like_facet_camera_resized) {
    facet_camera cam = cabinet_camera();
    facet_nav nav;
    facet_nav_init(&nav, &cam);
    facet_camera a = facet_nav_camera(&nav, 512, 512), b = facet_camera_resized(cam, 512, 512);
    cr_assert_float_eq(a.fx, b.fx, 1e-4f);
    cr_assert_float_eq(a.cy, b.cy, 1e-4f);
    /* a wider window shows more at the same focal length, not a stretched image */
    facet_camera wide = facet_nav_camera(&nav, 512, 256);
    cr_assert_float_eq(wide.fx, cam.fx, 1e-4f);
    cr_assert_float_eq(wide.cx, 256.0f, 1e-4f);
}

Test(navigation, orbit_target_is_the_view_rays_closest_point_to_the_origin) {
    facet_camera cam = cabinet_camera();
    facet_nav nav;
    facet_nav_init(&nav, &cam);
    facet_vec3 eye = facet_v3(2.2f, -2.6f, 2.3f);
    cr_assert_lt(distance3(facet_nav_eye(&nav), eye), 1e-3f);
    /* closest approach: the origin-to-target vector is perpendicular to the view direction */
    cr_assert_lt(fabsf(facet_v3_dot(nav.target, facet_nav_forward(&nav))), 1e-4f);
    cr_assert_lt(facet_v3_length(nav.target), 0.5f, "the demo camera aims near the origin");
}

Test(navigation, orbiting_keeps_the_target_and_the_distance) {
    facet_camera cam = cabinet_camera();
    facet_nav nav;
    facet_nav_init(&nav, &cam);
    facet_vec3 target = nav.target;
    float d = nav.distance;
    facet_nav_rotate(&nav, 200.0f, 50.0f);
    cr_assert_lt(distance3(nav.target, target), 1e-5f);
    cr_assert_float_eq(distance3(facet_nav_eye(&nav), target), d, 1e-4f);
    facet_camera out = facet_nav_camera(&nav, 64, 64);
    /* the camera still looks at the target: the centre pixel's ray passes through it */
    facet_ray ray = facet_camera_ray(&out, 32, 32);
    facet_vec3 to_target = facet_v3_normalize(facet_v3_sub(target, ray.origin));
    cr_assert_gt(facet_v3_dot(to_target, ray.direction), 0.9999f);
    /* and stays upright: its x axis is horizontal */
    cr_assert_lt(fabsf(out.c2w.m[8]), 1e-5f);
}

Test(navigation, pitch_stops_short_of_the_poles) {
    facet_camera cam = cabinet_camera();
    facet_nav nav;
    facet_nav_init(&nav, &cam);
    facet_nav_rotate(&nav, 0.0f, 1e5f);
    cr_assert_leq(nav.pitch, 89.0f * 3.14159265f / 180.0f + 1e-5f);
    facet_camera out = facet_nav_camera(&nav, 64, 64);
    for (int k = 0; k < 12; k++) cr_assert(isfinite(out.c2w.m[k]), "no NaN at the pole");
}

Test(navigation, scroll_approaches_and_reset_returns_home) {
    facet_camera cam = cabinet_camera();
    facet_nav nav;
    facet_nav_init(&nav, &cam);
    float d = nav.distance;
    facet_nav_scroll(&nav, 2.0f);
    cr_assert_float_eq(nav.distance, d * 0.81f, 1e-4f, "two steps: 0.9^2 of the distance");
    facet_nav_pan(&nav, 30.0f, 10.0f);
    facet_nav_reset(&nav);
    facet_camera out = facet_nav_camera(&nav, 256, 256);
    cr_assert_eq(memcmp(&out, &cam, sizeof cam), 0);
}

Test(navigation, fly_mode_turns_the_head_in_place_and_moves_with_wasd) {
    facet_camera cam = cabinet_camera();
    facet_nav nav;
    facet_nav_init(&nav, &cam);
    nav.mode = FACET_NAV_FLY;
    facet_vec3 eye = facet_nav_eye(&nav);
    facet_nav_rotate(&nav, 100.0f, -20.0f);
    cr_assert_lt(distance3(facet_nav_eye(&nav), eye), 1e-4f, "looking around does not move");
    facet_vec3 f = facet_nav_forward(&nav);
    facet_nav_move(&nav, 1.0f, 0.0f, 0.0f, 0.5f);
    facet_vec3 moved = facet_v3_sub(facet_nav_eye(&nav), eye);
    cr_assert_float_eq(facet_v3_dot(moved, f), 0.5f * nav.distance, 1e-4f);
}

Test(navigation, zoom_changes_the_field_of_view_within_limits) {
    facet_camera cam = cabinet_camera();
    facet_nav nav;
    facet_nav_init(&nav, &cam);
    float fov = facet_nav_fov_y(&nav);
    facet_nav_zoom(&nav, 2.0f);
    cr_assert_lt(facet_nav_fov_y(&nav), fov);
    facet_nav_zoom(&nav, 1e6f);
    cr_assert_float_eq(facet_nav_fov_y(&nav), 5.0f * 3.14159265f / 180.0f, 1e-4f);
    facet_nav_zoom(&nav, 1e-9f);
    cr_assert_float_eq(facet_nav_fov_y(&nav), 150.0f * 3.14159265f / 180.0f, 1e-4f);
}

/* ---- scripts --------------------------------------------------------------------------------- */

Test(script, parses_every_action) {
    const char *text = "# a session\n"
                       "size 400 300\n"
                       "camera scene\n"
                       "camera frame 3\n"
                       "camera pose 1 0 0 0  0 1 0 0  0 0 1 4 50\n"
                       "orbit 10 -5   # drag\n"
                       "command open the drawer  halfway \n"
                       "wait 0.5\n"
                       "wait settled\n"
                       "set drawer 0.25\n"
                       "expect drawer 0.25 0.001\n"
                       "screenshot out/a.png\n"
                       "\n"
                       "quit\n";
    facet_script s;
    cr_assert_eq(facet_script_parse(&s, "s.txt", text), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.count, 12);
    cr_assert_eq(s.actions[0].op, FACET_SCRIPT_SIZE);
    cr_assert_eq(s.actions[0].number[1], 300.0);
    cr_assert_eq(s.actions[2].op, FACET_SCRIPT_CAMERA_FRAME);
    cr_assert_eq(s.actions[3].number_count, 13);
    cr_assert_eq(s.actions[3].number[11], 4.0);
    cr_assert_eq(s.actions[4].op, FACET_SCRIPT_ORBIT);
    cr_assert_str_eq(s.actions[5].text, "open the drawer  halfway",
                     "the rest of the line, trimmed");
    cr_assert_eq(s.actions[6].op, FACET_SCRIPT_WAIT);
    cr_assert_eq(s.actions[7].op, FACET_SCRIPT_WAIT_SETTLED);
    cr_assert_eq(s.actions[9].number[1], 0.001);
    cr_assert_eq(s.actions[11].line, 14, "lines count comments and blanks");
    facet_script_free(&s);
}

/* Parses `text` and expects a failure whose message contains `fragment`. */
static void expect_script_error(const char *text, const char *fragment) {
    facet_script s;
    cr_assert_neq(facet_script_parse(&s, "bad.txt", text), FACET_OK, "'%s' parsed", text);
    cr_assert(strstr(facet_last_error(), fragment), "'%s' lacks '%s'", facet_last_error(),
              fragment);
    cr_assert_eq(s.count, 0, "nothing is left behind");
}

Test(script, outputs_must_be_relative_names_inside_out) {
    expect_script_error("screenshot /tmp/x.png\n",
                        "bad.txt:1: unsafe name '/tmp/x.png': is absolute");
    expect_script_error("wait 1\nsave-view ../../x.json\n",
                        "bad.txt:2: unsafe name '../../x.json'");
    expect_script_error("screenshot-window a//b.png\n", "empty component");
    expect_script_error("screenshot a/./b.png\n", "'.' component");
    facet_script s;
    cr_assert_eq(facet_script_parse(&s, "ok.txt", "screenshot shots/a.png\nsave-view v.json\n"),
                 FACET_OK, "%s", facet_last_error());
    facet_script_free(&s);
}

Test(script, bad_lines_name_the_file_line_and_problem) {
    expect_script_error("size 400 300\nfly away\n", "bad.txt:2: unknown action 'fly'");
    expect_script_error("orbit 10\n", "bad.txt:1: too few arguments (orbit DX DY)");
    expect_script_error("orbit 10 2 3\n", "too many arguments");
    expect_script_error("zoom fast\n", "'fast' is not a number");
    expect_script_error("set drawer 2\n", "kappa 2 is outside [0, 1]");
    expect_script_error("size 4 4\n", "size must be whole numbers in [16, 8192]");
    expect_script_error("camera pose 1 2 3\n", "a pose takes 12 numbers");
    expect_script_error("camera frame -1\n", "whole number >= 0");
    expect_script_error("camera dolly\n", "unknown camera 'dolly'");
    expect_script_error("wait forever\n", "wait takes seconds");
    expect_script_error("view normals\n", "view takes rgb, depth or masks, not 'normals'");
    expect_script_error("command\n", "missing text");
    expect_script_error("zoom nan\n", "'nan' is not a number");
}

Test(script, parses_the_camera_path_actions) {
    const char *text = "keyframe\n"
                       "keyframe 1.5\n"
                       "clear-keyframes\n"
                       "save-path paths/p.json\n"
                       "save-path p.json 24\n"
                       "play-path in/p.json\n"
                       "path-frame in/p.json 45\n";
    facet_script s;
    cr_assert_eq(facet_script_parse(&s, "s.txt", text), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(s.count, 7);
    cr_assert_eq(s.actions[0].op, FACET_SCRIPT_KEYFRAME);
    cr_assert_eq(s.actions[0].number_count, 0, "no gap: the panel's");
    cr_assert_eq(s.actions[1].number[0], 1.5);
    cr_assert_eq(s.actions[2].op, FACET_SCRIPT_CLEAR_KEYFRAMES);
    cr_assert_eq(s.actions[3].op, FACET_SCRIPT_SAVE_PATH);
    cr_assert_str_eq(s.actions[3].text, "paths/p.json");
    cr_assert_eq(s.actions[3].number_count, 0, "no fps: 30");
    cr_assert_eq(s.actions[4].number[0], 24.0);
    cr_assert_eq(s.actions[5].op, FACET_SCRIPT_PLAY_PATH);
    cr_assert_str_eq(s.actions[5].text, "in/p.json");
    cr_assert_eq(s.actions[6].op, FACET_SCRIPT_PATH_FRAME);
    cr_assert_eq(s.actions[6].number[0], 45.0);
    facet_script_free(&s);
}

Test(script, bad_camera_path_actions_are_named) {
    expect_script_error("keyframe 0\n", "bad.txt:1: the keyframe gap must be in (0, 3600] seconds");
    expect_script_error("keyframe -2\n", "keyframe gap");
    expect_script_error("keyframe 1 2\n", "too many arguments (keyframe [GAP_SECONDS])");
    expect_script_error("save-path\n", "too few arguments (save-path PATH [FPS])");
    expect_script_error("save-path /tmp/p.json\n", "bad.txt:1: unsafe name '/tmp/p.json'");
    expect_script_error("save-path ../p.json\n", "'..' component");
    expect_script_error("save-path p.json 0\n", "fps must be in (0, 1000]");
    expect_script_error("play-path\n", "too few arguments (play-path PATH)");
    expect_script_error("path-frame p.json\n", "too few arguments (path-frame PATH K)");
    expect_script_error("path-frame p.json 1.5\n", "frame number must be a whole number >= 0");
    expect_script_error("path-frame p.json -1\n", "frame number must be a whole number >= 0");
    expect_script_error("clear-keyframes now\n", "too many arguments");
}

Test(script, missing_file_is_named) {
    facet_script s;
    cr_assert_neq(facet_script_load(&s, "/nonexistent/session.txt"), FACET_OK);
    cr_assert(strstr(facet_last_error(), "/nonexistent/session.txt"));
}

/* ---- camera-path keyframes (viewer/keyframes.h) ---------------------------------------------- */

/* A view as the viewer records it: the cabinet camera orbited by a drag of (dx, dy) pixels (so its
 * rotation is orthonormal, as navigation makes it), at 160 x 120 pixels and vertical field of view
 * `fov` (radians), with kappas (drawer, door). */
static facet_view_state keyframe_view(float dx, float dy, float fov, float drawer, float door) {
    facet_view_state v;
    memset(&v, 0, sizeof v);
    facet_camera c = cabinet_camera();
    facet_nav nav;
    facet_nav_init(&nav, &c);
    facet_nav_rotate(&nav, dx, dy);
    v.camera = facet_nav_camera(&nav, 160, 120);
    v.camera.fx = v.camera.fy = 0.5f * 120.0f / tanf(0.5f * fov);
    v.object_count = 2;
    v.kappa[0] = drawer;
    v.kappa[1] = door;
    return v;
}

static const char object_names[2][128] = {"drawer", "door"};

Test(keyframes, a_path_through_three_views_keys_them_on_their_frames) {
    facet_keyframes list = {0};
    facet_view_state views[3] = {keyframe_view(1.0f, 0.0f, 0.8f, 0.0f, 0.8f),
                                 keyframe_view(140.0f, 60.0f, 0.6f, 1.0f, 0.2f),
                                 keyframe_view(-380.0f, -40.0f, 0.9f, 0.5f, 0.6f)};
    cr_assert_eq(facet_keyframes_add(&list, &views[0], 5.0), FACET_OK, "%s", facet_last_error());
    cr_assert_eq(facet_keyframes_add(&list, &views[1], 1.5), FACET_OK);
    cr_assert_eq(facet_keyframes_add(&list, &views[2], 1.5), FACET_OK);
    cr_assert_eq(list.items[0].pose.time, 0.0, "the first keyframe is at 0 s, whatever the gap");
    cr_assert_eq(list.items[2].pose.time, 3.0);
    cr_assert_float_eq(list.items[1].pose.fov_deg, 0.6 * 180.0 / 3.14159265358979, 1e-4);

    /* a non-trivial model frame: the file holds model poses, the camera comes back in world */
    const double c = cos(0.4), s = sin(0.4);
    facet_model_frame model = {{c, -s, 0, s, c, 0, 0, 0, 1}, {0.1, -0.2, 0.05}, 0.5};
    facet_camera_path path;
    cr_assert_eq(facet_keyframes_path(&list, object_names, 30.0, 160, 120, &model, &path), FACET_OK,
                 "%s", facet_last_error());
    cr_assert_eq(path.count, 91, "round(3 s x 30 fps) + 1 frames");
    cr_assert_eq(path.frame, FACET_PATH_FRAME_MODEL);
    cr_assert_eq(path.width, 160);
    cr_assert_eq(path.height, 120);
    const int frames[3] = {0, 45, 90};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(facet_keyframes_frame(&list, i, 30.0), frames[i]);
        cr_assert_eq(path.entries[frames[i]].key_count, 2, "kappa keys only (no environment)");
        float drawer, door;
        cr_assert(facet_camera_path_value(&path, frames[i], "drawer", &drawer));
        cr_assert(facet_camera_path_value(&path, frames[i], "door", &door));
        cr_assert_eq(drawer, views[i].kappa[0]);
        cr_assert_eq(door, views[i].kappa[1]);
        facet_camera cam = facet_camera_path_camera(&path, frames[i], &model);
        for (int k = 0; k < 12; k++)
            cr_assert_float_eq(cam.c2w.m[k], views[i].camera.c2w.m[k], 1e-5f,
                               "keyframe %d pose[%d]: %g, recorded %g", i, k, cam.c2w.m[k],
                               views[i].camera.c2w.m[k]);
        cr_assert_float_eq(cam.fy, views[i].camera.fy, 1e-3f, "the field of view round-trips");
        cr_assert_float_eq(cam.cx, 80.0f, 0.0f);
    }
    cr_assert_eq(path.entries[20].key_count, 0, "no keys between keyframes");
    float drawer;
    cr_assert(facet_camera_path_value(&path, 60, "drawer", &drawer));
    cr_assert_float_eq(drawer, 1.0f - 0.5f / 3.0f, 1e-6f,
                       "linear between keyframes: 1 + (0.5 - 1) x (60 - 45) / (90 - 45)");
    facet_camera_path_free(&path);

    /* without a model frame the poses stay in the world frame */
    cr_assert_eq(facet_keyframes_path(&list, object_names, 24.0, 160, 120, NULL, &path), FACET_OK);
    cr_assert_eq(path.frame, FACET_PATH_FRAME_WORLD);
    cr_assert_eq(path.count, 73);
    for (int k = 0; k < 12; k++)
        cr_assert_float_eq(path.entries[36].c2w[k], views[1].camera.c2w.m[k], 1e-5);
    facet_camera_path_free(&path);
    facet_keyframes_clear(&list);
    cr_assert_eq(list.count, 0);
}

Test(keyframes, environment_rotation_is_keyed_only_where_the_view_has_a_map) {
    facet_keyframes list = {0};
    facet_view_state a = keyframe_view(10.0f, 0.0f, 0.8f, 0.0f, 0.0f), b = a;
    snprintf(b.env_path, sizeof b.env_path, "sky.exr");
    b.env_rotation_deg = 90.0f;
    cr_assert_eq(facet_keyframes_add(&list, &a, 1.0), FACET_OK);
    cr_assert_eq(facet_keyframes_add(&list, &b, 1.0), FACET_OK);
    facet_camera_path path;
    cr_assert_eq(facet_keyframes_path(&list, object_names, 10.0, 16, 16, NULL, &path), FACET_OK);
    float rotation = 0.0f;
    cr_assert(facet_camera_path_value(&path, 0, NULL, &rotation), "held before its only key");
    cr_assert_eq(rotation, 90.0f);
    cr_assert_eq(path.entries[0].key_count, 2, "frame 0: two kappas, no rotation");
    cr_assert_eq(path.entries[10].key_count, 3, "frame 10: two kappas and the rotation");
    facet_camera_path_free(&path);
    facet_keyframes_clear(&list);
}

Test(keyframes, one_keyframe_is_a_still_and_none_is_an_error) {
    facet_keyframes list = {0};
    facet_camera_path path;
    cr_assert_neq(facet_keyframes_path(&list, object_names, 30.0, 16, 16, NULL, &path), FACET_OK);
    cr_assert(strstr(facet_last_error(), "no keyframes"), "%s", facet_last_error());
    cr_assert_eq(path.count, 0);
    facet_view_state v = keyframe_view(10.0f, 0.0f, 0.8f, 0.25f, 0.0f);
    cr_assert_eq(facet_keyframes_add(&list, &v, 2.0), FACET_OK);
    cr_assert_eq(facet_keyframes_path(&list, object_names, 30.0, 16, 16, NULL, &path), FACET_OK);
    cr_assert_eq(path.count, 1);
    facet_camera_path_free(&path);
    cr_assert_neq(facet_keyframes_add(&list, &v, 0.0), FACET_OK, "a gap must be > 0");
    cr_assert(strstr(facet_last_error(), "outside (0, 3600]"), "%s", facet_last_error());
    cr_assert_neq(facet_keyframes_add(&list, &v, NAN), FACET_OK);
    v.camera.projection = FACET_PROJECTION_EQUIRECTANGULAR;
    cr_assert_neq(facet_keyframes_add(&list, &v, 1.0), FACET_OK, "no field of view to record");
    cr_assert_eq(list.count, 1, "failed adds change nothing");
    facet_keyframes_clear(&list);
}

/* ---- display --------------------------------------------------------------------------------- */

Test(display, rgb_bytes_are_what_a_png_stores) {
    const float values[] = {-1.0f, 0.0f, 0.001f, 0.0031308f, 0.2f, 0.5f, 0.999f, 1.0f, 7.0f, NAN};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        float rgba[4] = {values[i], values[i], values[i], 1.0f};
        unsigned char px[4];
        facet_display_rgb(rgba, px);
        float s = facet_linear_to_srgb(values[i]);
        s = s > 0.0f ? (s < 1.0f ? s : 1.0f) : 0.0f;
        cr_assert_eq(px[0], (unsigned char)floorf(s * 255.0f + 0.5f), "value %g", values[i]);
        cr_assert_eq(px[3], 255);
    }
}

Test(display, depth_is_mid_gray_at_the_reference_and_black_for_misses) {
    unsigned char px[4];
    facet_display_depth(2.0f, 2.0f, px);
    cr_assert_eq(px[0], 128);
    facet_display_depth(INFINITY, 2.0f, px);
    cr_assert_eq(px[0], 0);
    facet_display_depth(0.0f, 2.0f, px);
    cr_assert_eq(px[0], 255);
}

Test(display, masks_tint_the_most_probable_object) {
    float rgba[4] = {0, 0, 0, 1}, prob[3] = {0.1f, 1.0f, 0.2f}, color[3];
    const unsigned char tinted[3] = {1, 1, 0};
    unsigned char px[4];
    facet_display_masks(rgba, prob, tinted, 3, px);
    facet_display_object_color(1, color);
    for (int c = 0; c < 3; c++) cr_assert_eq(px[c], facet_unorm8(0.6f * color[c]));
    /* where the background class wins, the pixel keeps its colour */
    const float background_wins[3] = {0.1f, 0.2f, 0.9f};
    facet_display_masks(rgba, background_wins, tinted, 3, px);
    for (int c = 0; c < 3; c++) cr_assert_eq(px[c], 0);
    cr_assert_eq(facet_view_mode_from_name("depth"), FACET_VIEW_DEPTH);
    cr_assert_eq(facet_view_mode_from_name("normals"), -1);
}

/* ---- refiner --------------------------------------------------------------------------------- */

static facet_scene load_cabinet(void) {
    facet_scene scene;
    cr_assert_eq(facet_register_builtin_node_kinds(), FACET_OK);
    cr_assert_eq(facet_scene_load(&scene, test_source_path("assets/cabinet/scene.json")), FACET_OK,
                 "%s", facet_last_error());
    return scene;
}

static facet_view_state cabinet_state(const facet_scene *scene, int width, int height) {
    facet_view_state state;
    memset(&state, 0, sizeof state);
    state.camera = facet_camera_resized(scene->camera, width, height);
    facet_view_state_read_kappa(&state, scene);
    state.depth_reference = 3.0f;
    return state;
}

Test(refiner, converges_to_the_batch_renderers_png_bytes) {
    facet_scene scene = load_cabinet();
    facet_view_state state = cabinet_state(&scene, 40, 36);
    state.kappa[0] = 0.9f; /* drawer */
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    facet_refiner *refiner;
    cr_assert_eq(facet_refiner_create(&refiner, &scene, &lock, FACET_DEVICE_CPU), FACET_OK);
    facet_refiner_request(refiner, &state);
    cr_assert(facet_refiner_wait(refiner, 100.0), "the view settles");
    facet_display_image image = {0};
    uint64_t serial = 0;
    cr_assert(facet_refiner_fetch(refiner, &serial, &image));
    cr_assert(image.settled);
    cr_assert_eq(image.factor, 1);
    facet_refiner_destroy(refiner);

    /* the same view through facet_render_image, quantised as a PNG stores it */
    facet_image rgba = {0};
    cr_assert_eq(facet_scene_set_kappa(&scene, "drawer", 0.9f), FACET_OK);
    cr_assert_eq(facet_render_image(&scene, &state.camera, NULL, &rgba), FACET_OK);
    int differing = 0;
    for (int p = 0; p < 40 * 36; p++)
        for (int c = 0; c < 3; c++)
            differing +=
                image.rgba[p * 4 + c] != facet_unorm8(facet_linear_to_srgb(rgba.data[p * 4 + c]));
    cr_assert_eq(differing, 0, "%d bytes differ from the batch render", differing);
    facet_image_free(&rgba);
    facet_display_image_free(&image);
    facet_scene_free(&scene);
}

/* `facet view --spp N`: the levels stay one ray per pixel, then the settled frame is the
 * supersampled one, byte for byte the PNG of facet_render_image with the same filter (and of
 * facet_view_render_full); a filter change is a new request. */
Test(refiner, supersampled_settled_frame_is_the_batch_renderers) {
    facet_scene scene = load_cabinet();
    facet_view_state state = cabinet_state(&scene, 24, 20);
    state.filter = (facet_pixel_filter){4, FACET_FILTER_BLACKMAN_HARRIS, 1.5f};
    facet_view_state one = state;
    one.filter.spp = 1;
    cr_assert_not(facet_view_state_equal(&state, &one), "spp decides the pixels");
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    facet_refiner *refiner;
    cr_assert_eq(facet_refiner_create(&refiner, &scene, &lock, FACET_DEVICE_CPU), FACET_OK);
    facet_refiner_request(refiner, &state);
    cr_assert(facet_refiner_wait(refiner, 100.0), "the view settles");
    facet_display_image image = {0}, full = {0}, centre = {0};
    uint64_t serial = 0;
    cr_assert(facet_refiner_fetch(refiner, &serial, &image));
    cr_assert(image.settled);
    facet_refiner_destroy(refiner);
    facet_image rgba = {0};
    facet_render_options options = {0};
    options.filter = state.filter;
    cr_assert_eq(facet_render_image(&scene, &state.camera, &options, &rgba), FACET_OK);
    int differing = 0;
    for (int p = 0; p < 24 * 20; p++)
        for (int c = 0; c < 3; c++)
            differing +=
                image.rgba[p * 4 + c] != facet_unorm8(facet_linear_to_srgb(rgba.data[p * 4 + c]));
    cr_assert_eq(differing, 0, "%d bytes differ from the supersampled batch render", differing);
    cr_assert_eq(facet_view_render_full(&scene, &state, FACET_DEVICE_CPU, &full), FACET_OK);
    cr_assert_eq(memcmp(image.rgba, full.rgba, 24 * 20 * 4), 0);
    cr_assert_eq(facet_view_render_full(&scene, &one, FACET_DEVICE_CPU, &centre), FACET_OK);
    cr_assert_neq(memcmp(full.rgba, centre.rgba, 24 * 20 * 4), 0, "supersampling shows");
    facet_image_free(&rgba);
    facet_display_image_free(&image);
    facet_display_image_free(&full);
    facet_display_image_free(&centre);
    facet_scene_free(&scene);
}

Test(refiner, a_new_request_supersedes_the_old_one) {
    facet_scene scene = load_cabinet();
    facet_view_state first = cabinet_state(&scene, 48, 48), second = first;
    second.kappa[0] = 0.0f;
    second.mode = FACET_VIEW_DEPTH;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    facet_refiner *refiner;
    cr_assert_eq(facet_refiner_create(&refiner, &scene, &lock, FACET_DEVICE_CPU), FACET_OK);
    facet_refiner_request(refiner, &first);
    facet_refiner_request(refiner, &second);
    cr_assert(facet_refiner_wait(refiner, 100.0));
    facet_display_image image = {0}, expected = {0};
    uint64_t serial = 0;
    cr_assert(facet_refiner_fetch(refiner, &serial, &image));
    cr_assert(image.settled);
    facet_refiner_destroy(refiner);
    cr_assert_eq(scene.nodes[0].kappa[0], 0.0f, "the scene holds the latest request's kappa");
    cr_assert_eq(facet_view_render_full(&scene, &second, FACET_DEVICE_CPU, &expected), FACET_OK);
    cr_assert_eq(memcmp(image.rgba, expected.rgba, 48 * 48 * 4), 0,
                 "the display is the second view (depth, drawer closed)");
    facet_display_image_free(&image);
    facet_display_image_free(&expected);
    facet_scene_free(&scene);
}

Test(refiner, equal_states_do_not_restart_and_fetch_reports_changes_once) {
    facet_scene scene = load_cabinet();
    facet_view_state state = cabinet_state(&scene, 24, 24);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    facet_refiner *refiner;
    cr_assert_eq(facet_refiner_create(&refiner, &scene, &lock, FACET_DEVICE_CPU), FACET_OK);
    facet_refiner_request(refiner, &state);
    cr_assert(facet_refiner_wait(refiner, 100.0));
    facet_display_image image = {0};
    uint64_t serial = 0;
    cr_assert(facet_refiner_fetch(refiner, &serial, &image));
    cr_assert_not(facet_refiner_fetch(refiner, &serial, &image), "nothing new since");
    facet_view_state same = state;
    facet_refiner_request(refiner, &same);
    facet_refiner_info info;
    facet_refiner_get_info(refiner, &info);
    cr_assert_eq(info.busy, 0, "an equal request is not new work");
    cr_assert_gt(info.rays_per_second, 0.0);
    facet_refiner_destroy(refiner);
    facet_display_image_free(&image);
    facet_scene_free(&scene);
}

Test(refiner, render_errors_are_reported_not_fatal) {
    facet_scene scene = load_cabinet();
    facet_view_state state = cabinet_state(&scene, 16, 16);
    snprintf(state.env_path, sizeof state.env_path, "/nonexistent/sky.exr");
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    facet_refiner *refiner;
    cr_assert_eq(facet_refiner_create(&refiner, &scene, &lock, FACET_DEVICE_CPU), FACET_OK);
    facet_refiner_request(refiner, &state);
    cr_assert(facet_refiner_wait(refiner, 30.0), "a failed view still ends");
    facet_refiner_info info;
    facet_refiner_get_info(refiner, &info);
    cr_assert(strstr(info.error, "/nonexistent/sky.exr"), "error: '%s'", info.error);
    facet_refiner_destroy(refiner);
    facet_scene_free(&scene);
}

Test(refiner, stop_returns_within_a_strip_and_the_same_view_renders_again) {
    facet_scene scene = load_cabinet();
    facet_view_state big = cabinet_state(&scene, 400, 400), small = cabinet_state(&scene, 20, 20);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    facet_refiner *refiner;
    cr_assert_eq(facet_refiner_create(&refiner, &scene, &lock, FACET_DEVICE_CPU), FACET_OK);
    facet_refiner_request(refiner, &big); /* ~10 s of work on 2 cores */
    facet_refiner_stop(refiner);
    facet_refiner_info info;
    facet_refiner_get_info(refiner, &info);
    cr_assert_eq(info.busy, 0, "nothing is left to render");
    /* the worker no longer touches the scene: this thread may change it */
    scene.nodes[0].kappa[0] = 0.25f;
    facet_refiner_request(refiner, &small);
    cr_assert(facet_refiner_wait(refiner, 100.0));
    facet_refiner_stop(refiner);
    facet_refiner_request(refiner, &small); /* equal to the stopped one: rendered again */
    facet_refiner_get_info(refiner, &info);
    cr_assert_eq(info.busy, 1);
    cr_assert(facet_refiner_wait(refiner, 100.0));
    facet_display_image image = {0};
    uint64_t serial = 0;
    cr_assert(facet_refiner_fetch(refiner, &serial, &image));
    cr_assert(image.settled);
    cr_assert_eq(image.width, 20);
    facet_refiner_destroy(refiner);
    facet_display_image_free(&image);
    facet_scene_free(&scene);
}

/* ---- CUDA-GL interop registration (viewer/interop_plan.h) -------------------------------------
 * The GL texture and the CUDA registration as the viewer drives them: the CPU path (rgb through
 * the refiner, depth) uploads with facet_frame_gl_upload, which re-specifies the texture whenever
 * the image's size differs; the interop path (rgb on CUDA) follows facet_interop_plan. After every
 * interop render a registration must exist and name the texture's current storage. */

enum { PLAN_RGBA8 = 0x8058 }; /* GL_RGBA8 */

typedef struct plan_model {
    facet_texture_storage texture;
    facet_interop_registration registration;
    int registrations;
} plan_model;

/* facet_frame_gl_resize / facet_frame_gl_upload */
static void plan_cpu_upload(plan_model *m, int width, int height) {
    if (facet_texture_storage_differs(&m->texture, width, height, PLAN_RGBA8))
        facet_texture_storage_specified(&m->texture, width, height, PLAN_RGBA8);
}

/* facet_interop_render */
static void plan_interop_render(plan_model *m, int width, int height) {
    facet_interop_actions a =
        facet_interop_plan(&m->registration, &m->texture, width, height, PLAN_RGBA8);
    if (a.unregister) facet_interop_unregistered(&m->registration);
    if (a.respecify) {
        cr_assert(!m->registration.registered, "a registered texture is never re-specified");
        facet_texture_storage_specified(&m->texture, width, height, PLAN_RGBA8);
    }
    if (a.reregister) {
        facet_interop_registered(&m->registration, &m->texture);
        m->registrations++;
    }
    cr_assert(m->registration.registered, "a registration exists after an interop render");
    cr_assert_eq(m->registration.storage.generation, m->texture.generation,
                 "the registration names the texture's current storage (registered generation "
                 "%llu, texture generation %llu)",
                 m->registration.storage.generation, m->texture.generation);
    cr_assert_eq(m->texture.width, width);
    cr_assert_eq(m->texture.height, height);
}

Test(interop_plan, rgb_depth_resize_rgb_registers_the_current_storage) {
    plan_model m = {0};
    plan_interop_render(&m, 64, 64); /* rgb */
    plan_cpu_upload(&m, 64, 64);     /* depth */
    plan_cpu_upload(&m, 80, 60);     /* depth, window resized */
    plan_interop_render(&m, 80, 60); /* rgb */
    cr_assert_eq(m.registrations, 2);
    plan_interop_render(&m, 80, 60); /* the same storage: no new registration */
    cr_assert_eq(m.registrations, 2);
}

Test(interop_plan, a_texture_resized_and_back_is_registered_again) {
    plan_model m = {0};
    plan_interop_render(&m, 64, 64); /* rgb */
    plan_cpu_upload(&m, 64, 64);     /* depth: same size, the storage stays */
    plan_interop_render(&m, 64, 64); /* rgb */
    cr_assert_eq(m.registrations, 1);
    plan_cpu_upload(&m, 80, 60);     /* depth, resized */
    plan_cpu_upload(&m, 64, 64);     /* depth, resized back: new storage of the registered size */
    plan_interop_render(&m, 64, 64); /* rgb: must not copy into the orphaned storage */
    cr_assert_eq(m.registrations, 2);
}
