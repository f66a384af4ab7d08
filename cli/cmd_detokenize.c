/* facet detokenize: token shards -> PNG images and/or an .npz batch (detokenize.h). */
#include "args.h"
#include "commands.h"

#include "core/progress.h"
#include "tokenizer/detokenize.h"

#include <stdio.h>
#include <string.h>

static const char *const USAGE =
    "usage: facet detokenize MODEL TOKENS [--out DIR] [--npz FILE] [--batch N]\n"
    "                        [--device cpu|cuda] [--precision fp32|tf32|bf16] [--quiet]\n";

static const char *const HELP =
    "\n"
    "Decodes token shards written by 'facet tokenize' with the FQGAN model MODEL (the same\n"
    "variant and grid) and writes one PNG per image at DIR/<path relative to the input root>\n"
    "with the extension replaced by .png, class subfolders preserved. Pixels follow the\n"
    "official post-processing: clamp(127.5 x + 128, 0, 255) truncated to 8 bits.\n"
    "\n"
    "TOKENS is a tokens directory (every shard its manifest.json lists), a manifest file, or\n"
    "a single shard-NNNNN.safetensors.\n"
    "\n"
    "With --npz, also (or only) writes every image as a row of FILE, an .npz holding uint8\n"
    "[N, S, S, 3] as 'arr_0' in the manifest's image order: the sample batch the ADM evaluator\n"
    "(guided-diffusion evaluations/evaluator.py) reads; 'facet tokenize --save-inputs-npz'\n"
    "writes the matching reference batch. facet computes no FID itself.\n"
    "\n"
    "Options:\n"
    "  --out DIR          PNG output directory (--out, --npz or both are required)\n"
    "  --npz FILE         the .npz batch of all images (written atomically)\n"
    "  --batch N          images per decoder call (default 16)\n"
    "  --device cpu|cuda  where the model runs (default cpu)\n"
    "  --precision P      matrix products: fp32 (default); on cuda also tf32 or bf16 tensor\n"
    "                     cores; on cpu bf16 (needs AVX-512 BF16): the decoder's full-resolution\n"
    "                     convs in bf16, 46.7 dB from float32 on Dual-16; about 1.7x faster than\n"
    "                     fp32 on AMX CPUs (there the other convs run float32-grade split bf16)\n"
    "  --quiet            no progress bar\n"
    "\n"
    "Exit status: 0 success, 1 runtime error, 2 usage error.\n";

int facet_cmd_detokenize(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        printf("%s%s", USAGE, HELP);
        return 0;
    }
    const char *model = NULL, *tokens = NULL, *out = NULL, *device = NULL, *precision = NULL;
    const char *npz = NULL;
    const char *batch_text = NULL;
    int quiet = 0, batch = 0, positional = 0;
    for (int i = 1; i < argc; i++) {
        int found = cli_flag_value(argc, argv, &i, "--out", &out);
        if (!found) found = cli_flag_value(argc, argv, &i, "--npz", &npz);
        if (!found) found = cli_flag_value(argc, argv, &i, "--batch", &batch_text);
        if (!found) found = cli_flag_value(argc, argv, &i, "--device", &device);
        if (!found) found = cli_flag_value(argc, argv, &i, "--precision", &precision);
        if (found < 0) return cli_usage_error("detokenize", "%s needs a value", argv[i]);
        if (found) continue;
        if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("detokenize", "unknown option '%s'", argv[i]);
        } else if (positional < 2) {
            *(positional++ == 0 ? &model : &tokens) = argv[i];
        } else {
            return cli_usage_error("detokenize", "unexpected argument '%s'", argv[i]);
        }
    }
    if (positional < 2) return cli_usage_error("detokenize", "MODEL and TOKENS expected");
    if (!out && !npz) return cli_usage_error("detokenize", "--out DIR or --npz FILE is required");
    if (batch_text && cli_parse_int(batch_text, 1, 4096, &batch))
        return cli_usage_error("detokenize", "bad value '%s' for --batch", batch_text);
    facet_fqgan_backend backend = FACET_FQGAN_CPU;
    if (facet_fqgan_backend_for(device, precision, &backend) != FACET_OK)
        return cli_usage_error("detokenize", "%s", facet_last_error());
    facet_progress progress = {.quiet = quiet};
    facet_detokenize_options options = {
        .model_path = model,
        .tokens = tokens,
        .out_dir = out,
        .npz_path = npz,
        .backend = backend,
        .batch = batch,
        .progress = &progress,
    };
    facet_detokenize_summary summary;
    if (facet_detokenize(&options, &summary) != FACET_OK) return cli_library_error();
    printf("decoded %lld images from %lld shards into %s%s%s in %.1f s\n",
           (long long)summary.images, (long long)summary.shards, out ? out : "",
           out && npz ? " and " : "", npz ? npz : "", summary.seconds);
    return 0;
}
