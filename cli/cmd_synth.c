/* facet synth: writes the generated interactive scene (datasets/synth_scene.h) as a LiveScene
 * dataset. */
#include "args.h"
#include "commands.h"

#include "core/progress.h"
#include "datasets/synth_scene.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: facet synth OUT [--frames N] [--width W --height H] [--samples S] [--seed S]\n"
    "                   [--quiet]\n"
    "\n"
    "Renders facet's small interactive scene into OUT as a LiveScene-format dataset: a cabinet\n"
    "with a sliding drawer and a hinged door (kappa 0 closed .. 1 open), textured, white\n"
    "background. OUT gets transforms.json, images/frame_NNNNN.png, mapping.yaml,\n"
    "key_frame_value.yaml (random kappa per frame) and masks/NNNNN.npy. Frames with an even\n"
    "index form the test split (LiveScene's eval interval 2).\n"
    "\n"
    "  --frames N       number of views (default 60)\n"
    "  --width/--height image size (default 128 x 128)\n"
    "  --samples S      anti-aliasing: S x S rays per pixel (default 3)\n"
    "  --seed S         kappa sequence seed (default 0)\n"
    "\n"
    "example: facet synth data/cabinet && facet fit data/cabinet --out fits/cabinet\n";

int facet_cmd_synth(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *out = NULL, *frames = NULL, *width = NULL, *height = NULL, *samples = NULL;
    const char *seed = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        CLI_FLAG("synth", "--frames", frames)
        CLI_FLAG("synth", "--width", width)
        CLI_FLAG("synth", "--height", height)
        CLI_FLAG("synth", "--samples", samples)
        CLI_FLAG("synth", "--seed", seed)
        if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
            continue;
        }
        if (argv[i][0] == '-') return cli_usage_error("synth", "unknown option '%s'", argv[i]);
        if (out) return cli_usage_error("synth", "unexpected argument '%s'", argv[i]);
        out = argv[i];
    }
    if (!out) return cli_usage_error("synth", "missing OUT");
    facet_synth_options options = {0};
    int seed_value = 0;
    if ((frames && cli_parse_int(frames, 4, 100000, &options.frames) != 0) ||
        (width && cli_parse_int(width, 8, 8192, &options.width) != 0) ||
        (height && cli_parse_int(height, 8, 8192, &options.height) != 0) ||
        (samples && cli_parse_int(samples, 1, 16, &options.samples) != 0) ||
        (seed && cli_parse_int(seed, 0, 2147483647, &seed_value) != 0))
        return cli_usage_error("synth", "--frames >= 4, --width/--height in [8, 8192], --samples "
                                        "in [1, 16] and --seed >= 0 are whole numbers");
    options.seed = (unsigned long long)seed_value;
    facet_progress progress = {.quiet = quiet};
    options.progress = &progress;
    if (facet_synth_write(out, &options) != FACET_OK) return cli_library_error();
    if (!quiet) fprintf(stderr, "facet synth: wrote %s\n", out);
    return 0;
}
