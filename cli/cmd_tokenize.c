/* facet tokenize: an image folder, list file or WebDataset tar shards -> FQGAN token shards +
 * manifest (tokenize.h). */
#include "args.h"
#include "commands.h"

#include "core/progress.h"
#include "tokenizer/tokenize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const USAGE =
    "usage: facet tokenize MODEL INPUT --out DIR [--batch N] [--shard K/N] [--device cpu|cuda]\n"
    "                      [--precision fp32|tf32|bf16] [--shard-size N] [--workers N] [--eval]\n"
    "                      [--save-inputs-npz FILE] [--quiet]\n";

static const char *const HELP =
    "\n"
    "Tokenizes every image of INPUT with the FQGAN model MODEL (weights converted by\n"
    "tools/convert_fqgan.py) into token shards and a manifest (docs/formats.md, \"Token "
    "shards\"):\n"
    "  DIR/shard-00000.safetensors ...  per codebook branch a U16 [n, grid, grid] tensor named\n"
    "                                   after it (vis, sem, ...), 'index' I64 [n] (position in\n"
    "                                   the input list), 'class' I64 [n]; metadata 'paths' (each\n"
    "                                   row's path relative to the input root), 'failed'\n"
    "  DIR/manifest.json                model (file, sha256, variant), preprocessing, branches,\n"
    "                                   grid, inputs, shards (file, count, sha256), failed\n"
    "                                   images [{index, path, reason}], complete\n"
    "\n"
    "INPUT is one of:\n"
    "  - a folder (scanned recursively, sorted by path; top-level subfolders are classes);\n"
    "  - a list file of images (one path per line, relative to the list file; sorted);\n"
    "  - WebDataset tar shards, streamed (never unpacked): one .tar (.tar.gz, .tgz) file, a\n"
    "    brace pattern such as 'data/shard-{000000..000099}.tar' (quote it), or a list file of\n"
    "    tars; taken in the order given. A sample is the members sharing a key (path up to the\n"
    "    first '.' of the basename); its image is the .jpg, .jpeg, .png or .webp member (in that\n"
    "    preference) and its class the .cls member. Paths are recorded as 'TAR#KEY', TAR\n"
    "    relative to the folder holding all the tars.\n"
    "Preprocessing is the official one, bit-exact with Pillow: convert('RGB'), ADM\n"
    "center_crop_arr (BOX halving, antialiased BICUBIC), ToTensor, Normalize(0.5, 0.5). Images\n"
    "that cannot be read (corrupt, truncated, empty, WebP, unusable tar samples, ...) are listed\n"
    "in 'failed' with the reason; the run goes on.\n"
    "\n"
    "Each shard is written atomically and enters the manifest only once complete. Running the\n"
    "same command again after an interruption resumes: complete shards are kept, the rest is\n"
    "tokenized. DIR may be shared by several processes (--shard) on one file system.\n"
    "\n"
    "Options:\n"
    "  --out DIR          output directory (required)\n"
    "  --batch N          images per model call (default 16)\n"
    "  --shard K/N        this process takes shards s with s % N == K (0-based): run N\n"
    "                     processes or machines with K = 0..N-1 into the same DIR\n"
    "  --shard-size N     images per shard file (default 1024); part of the run's identity\n"
    "  --device cpu|cuda  where the model runs (default cpu)\n"
    "  --precision P      matrix products: fp32 (default); on cuda also tf32 or bf16 tensor\n"
    "                     cores; on cpu bf16 (AVX-512 BF16): on AMX CPUs the encoder's products\n"
    "                     run as float32-grade split bf16, ~1.4x faster with float32's token\n"
    "                     agreement; --eval's decoder runs its full-resolution convs in bf16\n"
    "  --workers N        image decoding threads (default 4 on the CPU, else the CPU count)\n"
    "  --eval             also decode the tokens: reconstruction PSNR/SSIM against the\n"
    "                     preprocessed input, per-branch codebook usage and perplexity;\n"
    "                     printed and written to DIR/eval.json (eval-K-of-N.json with --shard)\n"
    "  --save-inputs-npz FILE\n"
    "                     also write the preprocessed 8-bit crops (the official center crop) of\n"
    "                     every image of this process's shards that decoded, in input order, as\n"
    "                     an .npz uint8 [n, S, S, 3] ('arr_0'): the reference batch of the ADM\n"
    "                     evaluator, row for row the images of 'facet detokenize --npz'. With\n"
    "                     --shard each process writes its own FILE; not under MPI\n"
    "  --quiet            no progress bar\n"
    "\n"
    "The summary times each stage (read, decode+preprocess, model, write, in seconds and threads)\n"
    "and names the bottleneck: the stage with the most seconds per thread.\n"
    "\n"
    "MPI: under mpirun (Open MPI), each rank takes a disjoint part of the shards (combined\n"
    "with --shard when both are used) and rank 0 writes the manifest:\n"
    "  mpirun -np 4 facet tokenize MODEL INPUT --out DIR\n"
    "\n"
    "Exit status: 0 success (also when some images failed: see the manifest), 1 runtime error,\n"
    "2 usage error.\n";

typedef struct tokenize_args {
    const char *model, *input, *out, *device, *precision, *save_inputs_npz;
    facet_fqgan_backend backend; /* from device and precision */
    int batch, shard_index, shard_count, shard_size, workers, eval, quiet;
} tokenize_args;

/* Parses "K/N" with 0 <= K < N; 0 on success. */
static int parse_shard(const char *text, int *index, int *count) {
    const char *slash = strchr(text, '/');
    if (!slash || slash == text) return -1;
    char k[32];
    size_t n = (size_t)(slash - text);
    if (n >= sizeof k) return -1;
    memcpy(k, text, n);
    k[n] = '\0';
    if (cli_parse_int(k, 0, 1 << 20, index) || cli_parse_int(slash + 1, 1, 1 << 20, count))
        return -1;
    return *index < *count ? 0 : -1;
}

static int parse_args(int argc, char **argv, tokenize_args *a) {
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *value = NULL, *flag = argv[i];
        int found = 0;
        static const char *const flags[] = {"--out",        "--batch",           "--shard",
                                            "--shard-size", "--device",          "--precision",
                                            "--workers",    "--save-inputs-npz", NULL};
        for (int f = 0; flags[f] && !found; f++) {
            found = cli_flag_value(argc, argv, &i, flags[f], &value);
            if (found) flag = flags[f];
        }
        if (found < 0) return cli_usage_error("tokenize", "%s needs a value", argv[i]);
        if (found) {
            int bad = 0;
            if (!strcmp(flag, "--out")) {
                a->out = value;
            } else if (!strcmp(flag, "--save-inputs-npz")) {
                a->save_inputs_npz = value;
            } else if (!strcmp(flag, "--batch")) {
                bad = cli_parse_int(value, 1, 4096, &a->batch);
            } else if (!strcmp(flag, "--shard")) {
                bad = parse_shard(value, &a->shard_index, &a->shard_count);
            } else if (!strcmp(flag, "--shard-size")) {
                bad = cli_parse_int(value, 1, 1 << 24, &a->shard_size);
            } else if (!strcmp(flag, "--workers")) {
                bad = cli_parse_int(value, 1, 1024, &a->workers);
            } else if (!strcmp(flag, "--device")) {
                a->device = value;
                bad = strcmp(value, "cpu") && strcmp(value, "cuda");
            } else {
                a->precision = value;
                bad = strcmp(value, "fp32") && strcmp(value, "tf32") && strcmp(value, "bf16");
            }
            if (bad)
                return cli_usage_error("tokenize", "bad value '%s' for %s%s", value, flag,
                                       !strcmp(flag, "--shard") ? " (expected K/N, 0 <= K < N)"
                                                                : "");
        } else if (!strcmp(argv[i], "--eval")) {
            a->eval = 1;
        } else if (!strcmp(argv[i], "--quiet")) {
            a->quiet = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("tokenize", "unknown option '%s'", argv[i]);
        } else if (positional < 2) {
            *(positional++ == 0 ? &a->model : &a->input) = argv[i];
        } else {
            return cli_usage_error("tokenize", "unexpected argument '%s'", argv[i]);
        }
    }
    if (positional < 2) return cli_usage_error("tokenize", "MODEL and INPUT expected");
    if (!a->out) return cli_usage_error("tokenize", "--out DIR is required");
    if (facet_fqgan_backend_for(a->device, a->precision, &a->backend) != FACET_OK)
        return cli_usage_error("tokenize", "%s", facet_last_error());
    return 0;
}

static void print_summary(const tokenize_args *a, const facet_tokenize_summary *s, int ranks) {
    const double rate = s->seconds > 0 ? (double)(s->encoded + s->failed) / s->seconds : 0.0;
    printf("tokenized %lld of %lld images in %.1f s (%.3g img/s%s%s): %lld shards written, "
           "%lld already complete, %lld images failed\n",
           (long long)s->encoded, (long long)s->images, s->seconds, rate,
           ranks > 1 ? ", all ranks" : "", a->shard_count > 1 ? ", this --shard" : "",
           (long long)s->written_shards, (long long)s->resumed_shards, (long long)s->failed);
    printf("manifest: %s/manifest.json (%s)\n", a->out,
           s->complete ? "complete" : "incomplete: other shards pending");
    printf("stages (thread-seconds / threads):");
    for (int st = 0; st < FACET_STAGES; st++)
        printf("%s %s %.2f s / %d", st ? "," : "",
               facet_tokenize_stage_name((facet_tokenize_stage)st), s->stages[st].seconds,
               s->stages[st].threads);
    printf("; bottleneck: %s (model thread waited %.2f s for input)\n",
           facet_tokenize_stage_name(s->bottleneck), s->input_wait_seconds);
    if (a->save_inputs_npz)
        printf("reference batch: %s (%lld images)\n", a->save_inputs_npz, (long long)s->npz_rows);
    if (!a->eval) return;
    printf("eval: %lld images, PSNR %.2f dB (std %.2f), SSIM %.4f (std %.4f)\n",
           (long long)s->eval_images, s->psnr, s->psnr_std, s->ssim, s->ssim_std);
    for (int b = 0; b < s->branch_count; b++)
        printf("  %-8s codebook usage %.2f%% (%lld codes), perplexity %.1f\n", s->branches[b].name,
               100.0 * s->branches[b].usage, (long long)s->branches[b].codes_used,
               s->branches[b].perplexity);
    if (a->shard_count > 1)
        printf("eval: %s/eval-%d-of-%d.json\n", a->out, a->shard_index, a->shard_count);
    else
        printf("eval: %s/eval.json\n", a->out);
}

int facet_cmd_tokenize(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        printf("%s%s", USAGE, HELP);
        return 0;
    }
    tokenize_args a = {0};
    int usage = parse_args(argc, argv, &a);
    if (usage) return usage;

    int rank = 0, ranks = 1;
    const int mpi = facet_tokenize_mpi_launched();
    if (mpi && facet_tokenize_mpi_begin(&rank, &ranks) != FACET_OK) return cli_library_error();
    facet_progress progress = {.quiet = a.quiet || rank != 0};
    facet_tokenize_options options = {
        .model_path = a.model,
        .input = a.input,
        .out_dir = a.out,
        .backend = a.backend,
        .batch = a.batch,
        .shard_size = a.shard_size,
        .shard_index = a.shard_index,
        .shard_count = a.shard_count,
        .workers = a.workers,
        .eval = a.eval,
        .mpi = mpi,
        .save_inputs_npz = a.save_inputs_npz,
        .progress = &progress,
    };
    facet_tokenize_summary summary;
    facet_status status = facet_tokenize(&options, &summary);
    int result = 0;
    if (status != FACET_OK) {
        result =
            ranks > 1 ? cli_error("rank %d: %s", rank, facet_last_error()) : cli_library_error();
    } else if (rank == 0) {
        print_summary(&a, &summary, ranks);
    }
    if (mpi) facet_tokenize_mpi_end();
    return result;
}
