/* facet eval: renders a dataset split with ground-truth kappa and reports PSNR/SSIM, and LPIPS
 * when weights are configured (cli/lpips_args.h). */
#include "args.h"
#include "commands.h"
#include "lpips_args.h"

#include "datasets/dataset.h"
#include "render/batch.h"
#include "nodes/builtin.h"
#include "render/scene.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: facet eval SCENE --data DATASET [--split test] [--out DIR] [--device cpu|cuda]\n"
    "                  [--shard K/N] [--relight] [--lpips FILE]\n"
    "                  [--lpips-convention nerfstudio|risesdf] [--no-lpips]\n"
    "                  [--spp N [--pixel-filter F] [--filter-width W]] [--quiet]\n"
    "\n"
    "Renders every frame of a dataset split from SCENE with the frame's ground-truth kappa,\n"
    "writes OUT/<frame>.png and OUT/metrics.json, and prints a summary table.\n"
    "\n"
    "Protocol (docs/formats.md): renders and ground truth compared as sRGB in [0,1]; RGBA ground\n"
    "truth composited over the scene's background colour; PSNR = 10 log10(1/MSE) over all\n"
    "pixels and channels; SSIM with an 11x11 Gaussian window (sigma 1.5, K1 0.01, K2 0.03),\n"
    "per channel then averaged; LPIPS (with --lpips or FACET_LPIPS) v0.1 of the scored render\n"
    "and ground truth, on --device; mean and sample standard deviation over images.\n"
    "\n"
    "  --data PATH      dataset directory or transforms*.json (Blender, nerfstudio, LiveScene)\n"
    "  --split S        train, val, test (default) or all\n"
    "  --out DIR        output directory (default: out/eval)\n"
    "  --device D       cpu (default) or cuda\n"
    "  --shard K/N      evaluate only frames i with i % N == K (0-based)\n"
    "  --relight        RISE-SDF relighting protocol: white background; each render aligned\n"
    "                   to the ground truth per channel by the median ratio gt/render over\n"
    "                   the ground truth's alpha > 0 pixels (then clamped to [0,1]) before\n"
    "                   whole-image PSNR/SSIM; metrics.json records \"align\": \"median-ratio\"\n"
    "                   (RISE-SDF's LPIPS: add --lpips-convention risesdf)\n" CLI_LPIPS_HELP
    "  --quiet          no progress bar and no table\n" CLI_FILTER_USAGE
    "                   (metrics.json records them as protocol.pixel_filter)\n"
    "\n"
    "example: facet eval assets/demo/scene.json --data assets/demo/data --out out/demo\n";

/* facet_eval_metric's score: LPIPS of the render against the ground truth. */
static facet_status score_lpips(void *user, const facet_image *render, const facet_image *truth,
                                double *value) {
    return cli_lpips_score(user, render, truth, value);
}

int facet_cmd_eval(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *scene_path = NULL, *data = NULL, *split_name = "test", *out_dir = "out/eval";
    const char *device_name = "cpu", *shard_text = NULL;
    int quiet = 0, relight = 0;
    cli_lpips lpips = {0};
    cli_filter_flags filter_flags = {0};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = cli_lpips_option(&lpips, "eval", argc, argv, &i);
        if (r < 0) return 2;
        if (r) continue;
        CLI_FLAG("eval", "--data", data)
        CLI_FLAG("eval", "--split", split_name)
        CLI_FLAG("eval", "--out", out_dir)
        CLI_FLAG("eval", "--device", device_name)
        CLI_FLAG("eval", "--shard", shard_text)
        CLI_FILTER_FLAGS("eval", filter_flags)
        if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
            continue;
        }
        if (!strcmp(argv[i], "--relight")) {
            relight = 1;
            continue;
        }
        if (argv[i][0] == '-') return cli_usage_error("eval", "unknown option '%s'", argv[i]);
        if (scene_path) return cli_usage_error("eval", "unexpected argument '%s'", argv[i]);
        scene_path = argv[i];
    }
    if (!scene_path) return cli_usage_error("eval", "missing SCENE");
    if (!data) return cli_usage_error("eval", "missing --data DATASET");
    int split = facet_split_from_name(split_name);
    if (split < 0) return cli_usage_error("eval", "--split must be train, val, test or all");
    int device = facet_device_from_name(device_name);
    if (device < 0) return cli_usage_error("eval", "--device must be cpu or cuda");
    facet_batch_options options = {0};
    options.render.device = (facet_device)device;
    options.shard.count = 1;
    options.use_dataset_kappa = 1;
    options.relight = relight;
    if (shard_text && facet_shard_parse(shard_text, &options.shard) != FACET_OK)
        return cli_usage_error("eval", "%s", facet_last_error());
    const int filter_usage = cli_parse_filter("eval", &filter_flags, &options.render.filter);
    if (filter_usage != 0) return filter_usage;
    int usage_status = cli_lpips_finish(&lpips, "eval");
    if (usage_status) return usage_status;
    if (cli_lpips_load(&lpips, device == FACET_DEVICE_CUDA ? FACET_NN_CUDA : FACET_NN_CPU) !=
        FACET_OK)
        return cli_library_error();
    const facet_eval_metric lpips_metric = {"lpips", lpips.protocol, score_lpips, &lpips};
    if (lpips.model) options.metric = &lpips_metric;

    facet_scene scene;
    if (facet_register_builtin_node_kinds() != FACET_OK ||
        facet_scene_load(&scene, scene_path) != FACET_OK) {
        cli_lpips_free(&lpips);
        return cli_library_error();
    }
    if (relight) { /* the RISE-SDF protocol scores over a white background */
        scene.background_mode = FACET_BACKGROUND_COLOR;
        for (int c = 0; c < 3; c++) scene.background[c] = 1.0f;
    }
    facet_dataset ds;
    if (facet_dataset_load(&ds, data, (facet_split)split) != FACET_OK) {
        facet_scene_free(&scene);
        cli_lpips_free(&lpips);
        return cli_library_error();
    }
    facet_progress progress = {.quiet = quiet};
    options.progress = &progress;
    facet_eval_result result;
    int status = 0;
    if (facet_eval_run(&scene, &ds, &options, out_dir, data, split_name, &result) != FACET_OK) {
        status = cli_library_error();
    } else {
        if (!quiet) {
            const int with_lpips = lpips.model != NULL;
            printf("%-24s %10s %8s%s\n", "image", "PSNR (dB)", "SSIM",
                   with_lpips ? "    LPIPS" : "");
            for (int i = 0; i < result.count; i++) {
                printf("%-24s %10.3f %8.4f", result.images[i].name, result.images[i].psnr,
                       result.images[i].ssim);
                if (with_lpips) printf(" %8.4f", result.images[i].metric);
                printf("\n");
            }
            printf("%-24s %10.3f %8.4f", "mean", result.psnr_mean, result.ssim_mean);
            if (with_lpips) printf(" %8.4f", result.metric_mean);
            printf("   (std %.3f / %.4f", result.psnr_std, result.ssim_std);
            if (with_lpips) printf(" / %.4f", result.metric_std);
            printf(", %d images, %.2f img/s)\n", result.count,
                   result.render_seconds > 0 ? result.count / result.render_seconds : 0.0);
            printf("metrics: %s/metrics.json\n", out_dir);
        }
        facet_eval_result_free(&result);
    }
    facet_dataset_free(&ds);
    facet_scene_free(&scene);
    cli_lpips_free(&lpips);
    return status;
}
