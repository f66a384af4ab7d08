/* facet eval: renders a dataset split with ground-truth kappa and reports PSNR/SSIM. */
#include "args.h"
#include "commands.h"

#include "datasets/dataset.h"
#include "render/batch.h"
#include "nodes/builtin.h"
#include "render/scene.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: facet eval SCENE --data DATASET [--split test] [--out DIR] [--device cpu|cuda]\n"
    "                  [--shard K/N] [--relight] [--spp N [--pixel-filter F] [--filter-width W]]\n"
    "                  [--quiet]\n"
    "\n"
    "Renders every frame of a dataset split from SCENE with the frame's ground-truth kappa,\n"
    "writes OUT/<frame>.png and OUT/metrics.json, and prints a summary table.\n"
    "\n"
    "Protocol (docs/formats.md): renders and ground truth compared as sRGB in [0,1]; RGBA ground\n"
    "truth composited over the scene's background colour; PSNR = 10 log10(1/MSE) over all\n"
    "pixels and channels; SSIM with an 11x11 Gaussian window (sigma 1.5, K1 0.01, K2 0.03),\n"
    "per channel then averaged; mean and sample standard deviation over images.\n"
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
    "  --quiet          no progress bar and no table\n" CLI_FILTER_USAGE
    "                   (metrics.json records them as protocol.pixel_filter)\n"
    "\n"
    "example: facet eval assets/demo/scene.json --data assets/demo/data --out out/demo\n";

int facet_cmd_eval(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *scene_path = NULL, *data = NULL, *split_name = "test", *out_dir = "out/eval";
    const char *device_name = "cpu", *shard_text = NULL;
    int quiet = 0, relight = 0;
    cli_filter_flags filter_flags = {0};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
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

    if (facet_register_builtin_node_kinds() != FACET_OK) return cli_library_error();
    facet_scene scene;
    if (facet_scene_load(&scene, scene_path) != FACET_OK) return cli_library_error();
    if (relight) { /* the RISE-SDF protocol scores over a white background */
        scene.background_mode = FACET_BACKGROUND_COLOR;
        for (int c = 0; c < 3; c++) scene.background[c] = 1.0f;
    }
    facet_dataset ds;
    if (facet_dataset_load(&ds, data, (facet_split)split) != FACET_OK) {
        facet_scene_free(&scene);
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
            printf("%-24s %10s %8s\n", "image", "PSNR (dB)", "SSIM");
            for (int i = 0; i < result.count; i++)
                printf("%-24s %10.3f %8.4f\n", result.images[i].name, result.images[i].psnr,
                       result.images[i].ssim);
            printf("%-24s %10.3f %8.4f   (std %.3f / %.4f, %d images, %.2f img/s)\n", "mean",
                   result.psnr_mean, result.ssim_mean, result.psnr_std, result.ssim_std,
                   result.count,
                   result.render_seconds > 0 ? result.count / result.render_seconds : 0.0);
            printf("metrics: %s/metrics.json\n", out_dir);
        }
        facet_eval_result_free(&result);
    }
    facet_dataset_free(&ds);
    facet_scene_free(&scene);
    return status;
}
