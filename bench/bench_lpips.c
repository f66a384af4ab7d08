/* LPIPS time per image pair, for one net, size and device.
 *
 *   bench_lpips [--net alex|vgg16] [--size WxH] [--device cpu|cuda] [--iters N] [--weights FILE]
 *
 * Without --weights the weights are random (facet_lpips_write_random, hash heads) in a temporary
 * file: the time does not depend on the values. The pair is a fixed pseudo-random image and a
 * perturbed copy in [0, 1], nerfstudio convention. One untimed warm-up call (it also allocates the
 * work memory) precedes the timed ones. Prints one JSON line with the best and median seconds per
 * pair (bench/run_lpips.sh runs it beside the PyPI package). */
#include "core/rng.h"
#include "lpips/lpips.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int usage(void) {
    fprintf(stderr, "usage: bench_lpips [--net alex|vgg16] [--size WxH] [--device cpu|cuda] "
                    "[--iters N] [--weights FILE]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *net_name = "alex", *device = "cpu", *weights = NULL;
    int width = 800, height = 800, iters = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--net") == 0 && i + 1 < argc)
            net_name = argv[++i];
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%dx%d", &width, &height) != 2) return usage();
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if (strcmp(argv[i], "--weights") == 0 && i + 1 < argc)
            weights = argv[++i];
        else
            return usage();
    }
    const int net = facet_lpips_net_from_name(net_name);
    const int cuda = strcmp(device, "cuda") == 0;
    if (net < 0 || iters < 1 || width < 1 || height < 1 || (!cuda && strcmp(device, "cpu")))
        return usage();
    char temp[] = "/tmp/bench_lpips-XXXXXX";
    if (!weights) {
        const int fd = mkstemp(temp);
        if (fd < 0) return perror("bench_lpips: mkstemp"), 1;
        close(fd);
        if (facet_lpips_write_random(temp, (facet_lpips_net)net, 1, NULL) != FACET_OK) {
            fprintf(stderr, "bench_lpips: error: %s\n", facet_last_error());
            unlink(temp);
            return 1;
        }
    }
    facet_lpips *m = NULL;
    facet_status s =
        facet_lpips_load(&m, weights ? weights : temp, cuda ? FACET_NN_CUDA : FACET_NN_CPU);
    if (!weights) unlink(temp);
    facet_image a = {0}, b = {0};
    if (s == FACET_OK) s = facet_image_alloc(&a, width, height, 3);
    if (s == FACET_OK) s = facet_image_alloc(&b, width, height, 3);
    if (s != FACET_OK) {
        fprintf(stderr, "bench_lpips: error: %s\n", facet_last_error());
        facet_lpips_free(m);
        return 1;
    }
    facet_rng rng = facet_rng_seed(1, 0);
    for (size_t i = 0; i < (size_t)width * height * 3; i++) {
        a.data[i] = facet_rng_uniform(&rng);
        b.data[i] = 0.5f * a.data[i] + 0.5f * facet_rng_uniform(&rng);
    }
    double *times = calloc((size_t)iters, sizeof *times);
    facet_lpips_result r = {0};
    for (int it = -1; it < iters && s == FACET_OK; it++) {
        const double t0 = now();
        s = facet_lpips_distance(m, &a, &b, FACET_LPIPS_NERFSTUDIO, &r);
        if (it >= 0) times[it] = now() - t0;
    }
    int status = 0;
    if (s != FACET_OK) {
        fprintf(stderr, "bench_lpips: error: %s\n", facet_last_error());
        status = 1;
    } else {
        qsort(times, (size_t)iters, sizeof *times, compare);
        printf("{\"bench\": \"lpips\", \"impl\": \"facet\", \"net\": \"%s\", \"device\": \"%s\", "
               "\"width\": %d, \"height\": %d, \"iters\": %d, \"best_s\": %.4f, "
               "\"median_s\": %.4f, \"lpips\": %.6f}\n",
               facet_lpips_net_name((facet_lpips_net)net), device, width, height, iters, times[0],
               times[iters / 2], r.distance);
    }
    free(times);
    facet_image_free(&a);
    facet_image_free(&b);
    facet_lpips_free(m);
    return status;
}
