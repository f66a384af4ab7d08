/* The viewer's progressive mode (viewer/refiner.h, "Progressive Monte Carlo views"), without a
 * window: a Monte Carlo view (the sdf node's reference lighting) settles at the frame
 * `facet render` makes (sample pass 0), then shows the mean of passes 0 .. k-1, equal to the mean
 * of k facet_render_image calls with scene.sample_pass 0 .. k-1; a new request starts again at
 * pass 0; other views do not accumulate. */
#include "helpers.h"

#include "core/color.h"
#include "core/cuda/device.h"
#include "core/status.h"
#include "nodes/builtin.h"
#include "render/render.h"
#include "viewer/display.h"
#include "viewer/refiner.h"

#include <criterion/criterion.h>
#include <string.h>

enum { SIZE = 24 }; /* frame width and height, pixels */

/* A white-ish sphere of radius 1 at the origin lit by a sky-blue background colour (no map), its
 * lighting `lighting` (the node's "lighting" JSON value). */
static facet_scene sphere_scene(const char *lighting) {
    char json[1024];
    snprintf(json, sizeof json,
             "{\"version\": 1, \"background\": [0.5, 0.7, 0.9], \"nodes\": [{\"type\": \"sdf\", "
             "\"shape\": {\"sphere\": {\"radius\": 1}}, \"lighting\": %s, \"material\": "
             "{\"base_color\": [0.9, 0.6, 0.4], \"roughness\": 0.35, \"metallic\": 0.2}}]}",
             lighting);
    cr_assert_eq(facet_register_builtin_node_kinds(), FACET_OK);
    const char *path =
        test_write_file(test_scratch_dir("viewer_progressive"), "scene.json", json, 0);
    facet_scene scene;
    cr_assert_eq(facet_scene_load(&scene, path), FACET_OK, "%s", facet_last_error());
    return scene;
}

static facet_scene reference_scene(void) {
    facet_scene scene = sphere_scene("{\"mode\": \"reference\", \"samples\": 2}");
    cr_assert(facet_scene_monte_carlo(&scene), "reference lighting is a Monte Carlo estimate");
    return scene;
}

/* SIZE x SIZE from (0, -3.5, 0.8) at the origin, z up (NeRF convention: looks along local -z). */
static facet_view_state sphere_state(void) {
    const facet_vec3 eye = facet_v3(0.0f, -3.5f, 0.8f);
    const facet_vec3 f = facet_v3_normalize(facet_v3_scale(eye, -1.0f));
    const facet_vec3 r = facet_v3_normalize(facet_v3_cross(f, facet_v3(0, 0, 1)));
    const facet_vec3 u = facet_v3_cross(r, f);
    facet_mat4 c2w = {
        {r.x, u.x, -f.x, eye.x, r.y, u.y, -f.y, eye.y, r.z, u.z, -f.z, eye.z, 0, 0, 0, 1}};
    facet_view_state state;
    memset(&state, 0, sizeof state);
    state.camera = facet_camera_from_fov(c2w, 0.8f, SIZE, SIZE);
    state.depth_reference = 3.5f;
    return state;
}

/* The display of the mean of `passes` facet_render_image calls (sample_pass 0 .. passes-1) of
 * `state`'s camera, exposure and filter on `device`: summed in pass order, then divided, as the
 * refiner does (facet_sample_add / facet_sample_mean), then facet_display_rgb. Leaves
 * sample_pass 0. */
static void expected_mean_on(facet_scene *scene, const facet_view_state *state, int passes,
                             facet_device device, unsigned char *out) {
    float sum[SIZE * SIZE * 4] = {0};
    facet_render_options options = {0};
    options.device = device;
    options.exposure = state->exposure;
    options.filter = state->filter;
    for (int pass = 0; pass < passes; pass++) {
        scene->sample_pass = (unsigned)pass;
        facet_image rgba = {0};
        cr_assert_eq(facet_render_image(scene, &state->camera, &options, &rgba), FACET_OK, "%s",
                     facet_last_error());
        for (int p = 0; p < SIZE * SIZE; p++) {
            if (pass == 0)
                memcpy(sum + p * 4, rgba.data + p * 4, 4 * sizeof *sum);
            else
                facet_sample_add(sum + p * 4, rgba.data + p * 4, 4);
        }
        facet_image_free(&rgba);
    }
    scene->sample_pass = 0;
    for (int p = 0; p < SIZE * SIZE; p++) {
        facet_sample_mean(sum + p * 4, 4, passes);
        facet_display_rgb(sum + p * 4, out + p * 4);
    }
}

static void expected_mean(facet_scene *scene, const facet_view_state *state, int passes,
                          unsigned char *out) {
    expected_mean_on(scene, state, passes, FACET_DEVICE_CPU, out);
}

static int differing_bytes(const unsigned char *a, const unsigned char *b) {
    int n = 0;
    for (int k = 0; k < SIZE * SIZE * 4; k++) n += a[k] != b[k];
    return n;
}

/* Requests `state` with the cap at `passes`, waits for all of them and fetches the display. */
static void render_passes(facet_refiner *refiner, const facet_view_state *state, int passes,
                          facet_display_image *image) {
    facet_refiner_set_max_passes(refiner, passes);
    facet_refiner_request(refiner, state);
    cr_assert(facet_refiner_wait(refiner, 100.0), "the view settles");
    cr_assert(facet_refiner_wait_passes(refiner, passes, 100.0), "%d passes come", passes);
    cr_assert_not(facet_refiner_wait_passes(refiner, passes + 1, 100.0), "the cap stops them");
    uint64_t serial = 0;
    cr_assert(facet_refiner_fetch(refiner, &serial, image));
    cr_assert(image->settled);
    cr_assert_eq(image->passes, passes);
    facet_refiner_info info;
    facet_refiner_get_info(refiner, &info);
    cr_assert_eq(info.passes, passes);
    cr_assert_eq(info.accumulating, 0);
    cr_assert_eq(info.busy, 0);
}

Test(progressive, the_settled_frame_is_the_batch_renderers_pass_0) {
    facet_scene scene = reference_scene();
    facet_view_state state = sphere_state();
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    facet_refiner *refiner;
    cr_assert_eq(facet_refiner_create(&refiner, &scene, &lock, FACET_DEVICE_CPU), FACET_OK);
    facet_display_image image = {0};
    render_passes(refiner, &state, 1, &image);
    facet_refiner_destroy(refiner);
    cr_assert_eq(image.factor, 1);
    unsigned char expected[SIZE * SIZE * 4];
    expected_mean(&scene, &state, 1, expected);
    int differing = differing_bytes(image.rgba, expected);
    cr_assert_eq(differing, 0, "%d bytes differ from facet_render_image's pass 0", differing);
    facet_display_image_free(&image);
    facet_scene_free(&scene);
}

/* The mean of k passes on `device`, byte for byte; and the passes do differ, so this is not pass
 * 0 again. */
static void check_mean_of_passes(const facet_pixel_filter *filter, int passes,
                                 facet_device device) {
    facet_scene scene = reference_scene();
    facet_view_state state = sphere_state();
    state.filter = *filter;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    facet_refiner *refiner;
    cr_assert_eq(facet_refiner_create(&refiner, &scene, &lock, device), FACET_OK);
    facet_display_image image = {0};
    render_passes(refiner, &state, passes, &image);
    facet_refiner_destroy(refiner);
    cr_assert_eq(scene.sample_pass, 0u, "the refiner leaves the scene on pass 0");
    unsigned char expected[SIZE * SIZE * 4], first[SIZE * SIZE * 4];
    expected_mean_on(&scene, &state, passes, device, expected);
    int differing = differing_bytes(image.rgba, expected);
    cr_assert_eq(differing, 0, "%d bytes differ from the mean of %d facet_render_image passes",
                 differing, passes);
    expected_mean_on(&scene, &state, 1, device, first);
    cr_assert_gt(differing_bytes(image.rgba, first), 0, "later passes draw new samples");
    facet_display_image_free(&image);
    facet_scene_free(&scene);
}

Test(progressive, after_k_passes_the_display_is_the_mean_of_k_renders) {
    const facet_pixel_filter centre = {0};
    check_mean_of_passes(&centre, 5, FACET_DEVICE_CPU);
}

/* --spp: every pass renders each pixel's filter samples (the settled frame's rays) */
Test(progressive, supersampled_passes_average_the_filtered_frames) {
    const facet_pixel_filter filter = {3, FACET_FILTER_BLACKMAN_HARRIS, 1.5f};
    check_mean_of_passes(&filter, 3, FACET_DEVICE_CPU);
}

/* --device cuda (the viewer's Monte Carlo scenes take the refiner there too, not the interop
 * path): the same accumulation of the CUDA renders. Pixel centres only: with --spp the refiner
 * builds the filter samples' rays on the host and facet_render_image's CUDA path on the device,
 * whose rays may differ in the last bits (the offsets' device math), and the reference lighting
 * seeds its random numbers with the ray's bits. */
Test(progressive, cuda_passes_average_the_cuda_renders) {
    if (!facet_cuda_available()) cr_skip_test("no CUDA device");
    const facet_pixel_filter centre = {0};
    check_mean_of_passes(&centre, 4, FACET_DEVICE_CUDA);
}

Test(progressive, a_new_request_restarts_at_pass_0) {
    facet_scene scene = reference_scene();
    facet_view_state first = sphere_state(), second = first;
    second.exposure = 0.5f;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    facet_refiner *refiner;
    cr_assert_eq(facet_refiner_create(&refiner, &scene, &lock, FACET_DEVICE_CPU), FACET_OK);
    facet_display_image image = {0};
    render_passes(refiner, &first, 4, &image);
    facet_refiner_request(refiner, &second);
    facet_refiner_info info;
    facet_refiner_get_info(refiner, &info);
    cr_assert_eq(info.passes, 0, "a changed view shows no passes of its own yet");
    cr_assert_eq(info.busy, 1);
    cr_assert(facet_refiner_wait_passes(refiner, 4, 100.0));
    cr_assert_not(facet_refiner_wait_passes(refiner, 5, 100.0));
    uint64_t serial = 0;
    cr_assert(facet_refiner_fetch(refiner, &serial, &image));
    cr_assert_eq(image.passes, 4, "the same cap, counted again from pass 0");
    unsigned char expected[SIZE * SIZE * 4];
    facet_refiner_destroy(refiner);
    expected_mean(&scene, &second, 4, expected);
    int differing = differing_bytes(image.rgba, expected);
    cr_assert_eq(differing, 0, "%d bytes differ from the second view's passes 0 .. 3", differing);

    /* a stop in the middle of the accumulation: the scene is back on pass 0 for whoever renders
     * it next (the CUDA-GL interop path) */
    cr_assert_eq(facet_refiner_create(&refiner, &scene, &lock, FACET_DEVICE_CPU), FACET_OK);
    facet_refiner_set_max_passes(refiner, FACET_REFINER_PASS_LIMIT);
    facet_refiner_request(refiner, &first);
    cr_assert(facet_refiner_wait_passes(refiner, 2, 100.0));
    facet_refiner_stop(refiner);
    cr_assert_eq(scene.sample_pass, 0u);
    facet_refiner_get_info(refiner, &info);
    cr_assert_eq(info.accumulating, 0);
    cr_assert_eq(info.busy, 0);
    facet_refiner_destroy(refiner);
    facet_display_image_free(&image);
    facet_scene_free(&scene);
}

/* A view that is not a Monte Carlo estimate: another lighting mode, or the depth display of a
 * reference-lit scene. */
static void check_no_accumulation(facet_scene *scene, const facet_view_state *state) {
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    facet_refiner *refiner;
    cr_assert_eq(facet_refiner_create(&refiner, scene, &lock, FACET_DEVICE_CPU), FACET_OK);
    facet_refiner_request(refiner, state);
    cr_assert(facet_refiner_wait(refiner, 100.0));
    cr_assert_not(facet_refiner_wait_passes(refiner, 1, 100.0), "nothing to accumulate");
    facet_refiner_info info;
    facet_refiner_get_info(refiner, &info);
    cr_assert_eq(info.passes, 0);
    cr_assert_eq(info.accumulating, 0);
    facet_display_image image = {0}, full = {0};
    uint64_t serial = 0;
    cr_assert(facet_refiner_fetch(refiner, &serial, &image));
    cr_assert(image.settled);
    cr_assert_eq(image.passes, 0);
    facet_refiner_destroy(refiner);
    cr_assert_eq(facet_view_render_full(scene, state, FACET_DEVICE_CPU, &full), FACET_OK);
    cr_assert_eq(memcmp(image.rgba, full.rgba, SIZE * SIZE * 4), 0);
    facet_display_image_free(&image);
    facet_display_image_free(&full);
}

Test(progressive, views_that_are_not_monte_carlo_do_not_accumulate) {
    facet_scene quality = sphere_scene("{\"mode\": \"quality\", \"size\": 64}");
    cr_assert_not(facet_scene_monte_carlo(&quality));
    facet_view_state state = sphere_state();
    check_no_accumulation(&quality, &state);
    facet_scene_free(&quality);

    facet_scene reference = reference_scene();
    state.mode = FACET_VIEW_DEPTH;
    check_no_accumulation(&reference, &state);
    facet_scene_free(&reference);
}
