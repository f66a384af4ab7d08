/* The viewer's CPU path without a window: how fast the progressive refiner (viewer/refiner.h)
 * answers a moving camera and how long a still view takes to reach its full-resolution frame.
 *
 *   bench_viewer SCENE [WIDTH HEIGHT] [--device cpu|cuda]
 *
 * Prints one JSON object: for a camera orbiting 1 degree per 16 ms frame for 5 s, the display
 * updates per second and the level (downscale factor) they showed; then for the still view, the
 * seconds to the first image and to the final full-resolution frame. */
#include "core/parallel.h"
#include "nodes/builtin.h"
#include "viewer/navigation.h"
#include "viewer/refiner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_seconds(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_viewer SCENE [WIDTH HEIGHT] [--device cpu|cuda]\n");
        return 2;
    }
    int width = 800, height = 800;
    facet_device device = FACET_DEVICE_CPU;
    if (argc >= 4 && argv[2][0] != '-') width = atoi(argv[2]), height = atoi(argv[3]);
    for (int i = 2; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--device"))
            device = (facet_device)facet_device_from_name(argv[i + 1]);
    facet_scene scene;
    if (facet_register_builtin_node_kinds() != FACET_OK ||
        facet_scene_load(&scene, argv[1]) != FACET_OK) {
        fprintf(stderr, "bench_viewer: %s\n", facet_last_error());
        return 1;
    }
    facet_camera home = scene.has_camera
                            ? scene.camera
                            : facet_camera_from_fov(facet_mat4_identity(), 0.8f, 800, 800);
    facet_nav nav;
    facet_nav_init(&nav, &home);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    facet_refiner *refiner = NULL;
    if (facet_refiner_create(&refiner, &scene, &lock, device) != FACET_OK) {
        fprintf(stderr, "bench_viewer: %s\n", facet_last_error());
        return 1;
    }
    facet_view_state state;
    memset(&state, 0, sizeof state);
    facet_view_state_read_kappa(&state, &scene);
    state.depth_reference = 1.0f;

    /* moving: a new camera every 16 ms */
    facet_display_image image = {0};
    uint64_t serial = 0;
    long updates = 0, factor_sum = 0;
    const double motion_seconds = 5.0;
    double t0 = now();
    while (now() - t0 < motion_seconds) {
        facet_nav_rotate(&nav, 1.0f / 0.005f * 0.01745329f, 0.0f);
        state.camera = facet_nav_camera(&nav, width, height);
        facet_refiner_request(refiner, &state);
        if (facet_refiner_fetch(refiner, &serial, &image)) updates++, factor_sum += image.factor;
        sleep_seconds(0.016);
    }
    /* still: time to the first image and to the final frame */
    facet_nav_reset(&nav);
    state.camera = facet_nav_camera(&nav, width, height);
    facet_refiner_request(refiner, &state);
    t0 = now();
    double first = -1;
    while (!facet_refiner_wait(refiner, 0.005))
        if (first < 0 && facet_refiner_fetch(refiner, &serial, &image) && image.factor > 0)
            first = now() - t0;
    double full = now() - t0;
    facet_refiner_info info;
    facet_refiner_get_info(refiner, &info);
    printf(
        "{\"scene\": \"%s\", \"width\": %d, \"height\": %d, \"device\": \"%s\", \"threads\": %d, "
        "\"moving_updates_per_second\": %.2f, \"moving_mean_factor\": %.2f, "
        "\"still_first_image_seconds\": %.3f, \"still_full_frame_seconds\": %.3f, "
        "\"rays_per_second\": %.0f}\n",
        argv[1], width, height, facet_device_name(device), facet_thread_count(),
        updates / motion_seconds, updates ? (double)factor_sum / updates : 0.0, first, full,
        info.rays_per_second);
    facet_display_image_free(&image);
    facet_refiner_destroy(refiner);
    facet_scene_free(&scene);
    return 0;
}
