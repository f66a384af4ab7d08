/* facet fit: fits a LiveScene field to a LiveScene-format dataset. */
#include "args.h"
#include "commands.h"

#include "core/progress.h"
#include "fit/livescene_fit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: facet fit DATASET --out DIR [--config small|default|tiny] [--iters N] [--batch N]\n"
    "                 [--device cpu|cuda] [--seed S] [--checkpoint-every N] [--lr LR]\n"
    "                 [--orientation up|pca|none] [--center poses|focus|none]\n"
    "                 [--auto-scale|--no-auto-scale] [--scene-scale S]\n"
    "                 [--aabb X0,Y0,Z0,X1,Y1,Z1] [--no-LOSS]... [--for N]\n"
    "                 [--snapshot-every N] [--on-divergence stop|restart] [--max-restarts N]\n"
    "                 [--mlp-dtype f32|f16] [--loss-scale S] [--quiet]\n"
    "\n"
    "Fits LiveScene's interactive radiance field (one 4D K-Planes field over x, y, z, kappa,\n"
    "two proposal grids and the object probability field) to the train split of DATASET\n"
    "(transforms.json + mapping.yaml + key_frame_value.yaml + masks/, or a plain Blender /\n"
    "nerfstudio dataset without objects). DIR receives model.safetensors, scene.json (open it\n"
    "with facet render / eval / view), fit.json (figures, restarts, and the loss curve\n"
    "[[iteration, loss, train PSNR], ...]), and checkpoint.safetensors every N iterations;\n"
    "running the same command again resumes from the checkpoint. The progress line shows the\n"
    "batch loss and train PSNR.\n"
    "\n"
    "  --config C          small (64/128 cells, 16 channels, 64/32/24 samples: CPU-friendly,\n"
    "                      default) or default (the official 128/256/512, 32 channels,\n"
    "                      256/128/48 samples), or tiny (16/32 cells, 4 channels, 16/8/8\n"
    "                      samples: tests and smoke runs)\n"
    "  --iters N           iterations (default 3000 small, 30000 default)\n"
    "  --batch N           rays per iteration (default 1024 small, 4096 default)\n"
    "  --device D          cpu (default; OpenMP, per-thread gradient buffers) or cuda (one\n"
    "                      thread per ray, atomicAdd gradients)\n"
    "  --seed S            initialisation, ray and jitter seed (default 0); on the CPU the\n"
    "                      result is deterministic for a seed and a thread count\n"
    "  --checkpoint-every N  (default 500)\n"
    "  --snapshot-every N  also keep DIR/snapshots/model-NNNNNN.safetensors every N iterations\n"
    "                      with its wall time in DIR/snapshots/times.tsv (PSNR-vs-time curves)\n"
    "  --for N             run at most N iterations now, checkpoint, and exit 0; the same\n"
    "                      command continues later (time-sliced cluster jobs)\n"
    "  --lr LR             Adam learning rate (default 0.02, eps 1e-12; linear warm-up over\n"
    "                      min(512, iters/10) iterations, then cosine decay to 5%)\n"
    "  --on-divergence A   when a loss term, gradient or weight becomes NaN or infinite:\n"
    "                      stop (default: exit 1 naming the iteration, the loss term and the\n"
    "                      tensor; nothing is written from non-finite weights) or restart (go\n"
    "                      back to the last checkpoint, or the start, with the learning rate\n"
    "                      halved; reported on stderr and in fit.json \"restarts\")\n"
    "  --max-restarts N    restarts before giving up with an error (default 3)\n"
    "  --mlp-dtype T       f32 (default) or f16: the networks in tiny-cuda-nn's fp16 form (half\n"
    "                      weights and activations, fp32 sums) with fp32 master weights,\n"
    "                      gradients in half with dynamic loss scaling (a step whose half\n"
    "                      gradients overflow is skipped and the scale halved; fit.json\n"
    "                      \"loss_scale\", \"skipped_steps\"); scene.json renders them in f16.\n"
    "                      With --device cuda every network runs over the whole batch on\n"
    "                      tensor cores, forward and backward, as tiny-cuda-nn trains\n"
    "  --loss-scale S      f16: the initial loss scale, a power of two (default 65536)\n"
    "Scene normalisation (nerfstudio's dataparser; computed from the poses of all frames and\n"
    "stored in model.safetensors and fit.json, so render / eval / view take cameras in the\n"
    "dataset's own frame). Defaults: DATASET/facet.json's keys, else nerfstudio-data's (up,\n"
    "poses, auto-scale) with the scene box the cameras look at, which fit an un-normalised\n"
    "Blender scene at any scale and position as it is.\n"
    "LiveScene's official sim config is --orientation none --no-auto-scale --scene-scale 2.\n"
    "  --orientation M     up: rotate the cameras' mean up vector onto +z (default); pca: the\n"
    "                      principal axes of the camera centres onto x, y, z (largest first,\n"
    "                      cameras' mean up kept on +z); none\n"
    "  --center M          poses: the mean camera position goes to the origin (default);\n"
    "                      focus: the point nearest to all optical axes does; none\n"
    "  --auto-scale, --no-auto-scale  scale the centred poses so that the largest |x|, |y| or\n"
    "                      |z| of a camera position is 1 (default on)\n"
    "  --scene-scale S     scene box [-S, S]^3 in the normalised frame (nerfstudio's; 1 is\n"
    "                      nerfstudio-data's default)\n"
    "  --aabb ...          scene box in the normalised frame, overriding --scene-scale\n"
    "                      Default box: DATASET/facet.json's \"aabb\" or \"scene_scale\", else\n"
    "                      the region that at least half of the cameras see (their view\n"
    "                      frusta on a grid; fit.json normalisation.box \"views\")\n"
    "  --no-LOSS           switch a loss off: rgb, interlevel, distortion, ray-mask, repulsion,\n"
    "                      plane-tv, plane-tv-proposal, plane-tv-probability, l1-time-planes,\n"
    "                      l1-time-planes-proposal, time-smoothness, time-smoothness-proposal\n"
    "                      (coefficients as LiveScene: 1, 1, 1e-3, 1e-3, 1e-3, 0.1, 1e-4, 1e-4,\n"
    "                      1e-3, 1e-4, 0.1, 1e-3)\n"
    "\n"
    "example: facet synth data/cabinet && facet fit data/cabinet --out fits/cabinet &&\n"
    "         facet eval fits/cabinet/scene.json --data data/cabinet\n";

static int disable_loss(const char *name, facet_livescene_loss_weights *w) {
    static const struct {
        const char *name;
        size_t offset;
    } table[] = {
        {"rgb", offsetof(facet_livescene_loss_weights, rgb)},
        {"interlevel", offsetof(facet_livescene_loss_weights, interlevel)},
        {"distortion", offsetof(facet_livescene_loss_weights, distortion)},
        {"ray-mask", offsetof(facet_livescene_loss_weights, ray_mask)},
        {"repulsion", offsetof(facet_livescene_loss_weights, repulsion)},
        {"plane-tv", offsetof(facet_livescene_loss_weights, plane_tv)},
        {"plane-tv-proposal", offsetof(facet_livescene_loss_weights, plane_tv_proposal)},
        {"plane-tv-probability", offsetof(facet_livescene_loss_weights, plane_tv_probability)},
        {"l1-time-planes", offsetof(facet_livescene_loss_weights, l1_time_planes)},
        {"l1-time-planes-proposal",
         offsetof(facet_livescene_loss_weights, l1_time_planes_proposal)},
        {"time-smoothness", offsetof(facet_livescene_loss_weights, time_smoothness)},
        {"time-smoothness-proposal",
         offsetof(facet_livescene_loss_weights, time_smoothness_proposal)},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(name, table[i].name)) {
            *(float *)((char *)w + table[i].offset) = 0.0f;
            return 1;
        }
    return 0;
}

int facet_cmd_fit(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *dataset = NULL, *out = NULL, *config = "small", *iters = NULL, *batch = NULL;
    const char *device = "cpu", *seed = NULL, *every = NULL, *lr = NULL, *aabb = NULL,
               *center = NULL, *run_for = NULL, *snapshots = NULL, *divergence = NULL,
               *restarts = NULL, *orientation = NULL, *scene_scale = NULL, *mlp_dtype = "f32",
               *loss_scale = NULL;
    facet_fit_options options = {0};
    options.weights = facet_livescene_default_loss_weights();
    options.center_poses = -1;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        CLI_FLAG("fit", "--out", out)
        CLI_FLAG("fit", "--config", config)
        CLI_FLAG("fit", "--iters", iters)
        CLI_FLAG("fit", "--batch", batch)
        CLI_FLAG("fit", "--device", device)
        CLI_FLAG("fit", "--mlp-dtype", mlp_dtype)
        CLI_FLAG("fit", "--loss-scale", loss_scale)
        CLI_FLAG("fit", "--seed", seed)
        CLI_FLAG("fit", "--checkpoint-every", every)
        CLI_FLAG("fit", "--lr", lr)
        CLI_FLAG("fit", "--aabb", aabb)
        CLI_FLAG("fit", "--center", center)
        CLI_FLAG("fit", "--orientation", orientation)
        CLI_FLAG("fit", "--scene-scale", scene_scale)
        if (!strcmp(argv[i], "--auto-scale") || !strcmp(argv[i], "--no-auto-scale")) {
            options.auto_scale = argv[i][2] == 'a' ? 1 : -1;
            continue;
        }
        CLI_FLAG("fit", "--for", run_for)
        CLI_FLAG("fit", "--snapshot-every", snapshots)
        CLI_FLAG("fit", "--on-divergence", divergence)
        CLI_FLAG("fit", "--max-restarts", restarts)
        if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
            continue;
        }
        if (!strncmp(argv[i], "--no-", 5)) {
            if (!disable_loss(argv[i] + 5, &options.weights))
                return cli_usage_error("fit", "unknown loss '%s' in %s", argv[i] + 5, argv[i]);
            continue;
        }
        if (argv[i][0] == '-') return cli_usage_error("fit", "unknown option '%s'", argv[i]);
        if (dataset) return cli_usage_error("fit", "unexpected argument '%s'", argv[i]);
        dataset = argv[i];
    }
    if (!dataset) return cli_usage_error("fit", "missing DATASET");
    if (!out) return cli_usage_error("fit", "missing --out DIR");
    if (!strcmp(config, "default"))
        options.size = FACET_FIT_DEFAULT;
    else if (!strcmp(config, "tiny"))
        options.size = FACET_FIT_TINY;
    else if (strcmp(config, "small") != 0)
        return cli_usage_error("fit", "--config must be small, default or tiny");
    int seed_value = 0;
    if ((iters && cli_parse_int(iters, 1, 10000000, &options.iterations) != 0) ||
        (batch && cli_parse_int(batch, 1, 1 << 20, &options.batch) != 0) ||
        (every && cli_parse_int(every, 1, 10000000, &options.checkpoint_every) != 0) ||
        (seed && cli_parse_int(seed, 0, 2147483647, &seed_value) != 0) ||
        (run_for && cli_parse_int(run_for, 1, 10000000, &options.run_for) != 0) ||
        (snapshots && cli_parse_int(snapshots, 1, 10000000, &options.snapshot_every) != 0) ||
        (restarts && cli_parse_int(restarts, 1, 1000, &options.max_restarts) != 0))
        return cli_usage_error("fit", "--iters, --batch, --checkpoint-every, --for, --seed and "
                                      "--max-restarts take positive whole numbers");
    if (divergence) {
        if (!strcmp(divergence, "restart"))
            options.on_divergence = FACET_FIT_DIVERGENCE_RESTART;
        else if (strcmp(divergence, "stop") != 0)
            return cli_usage_error("fit", "--on-divergence must be stop or restart");
    }
    options.seed = (unsigned long long)seed_value;
    if (lr) {
        char *end;
        options.learning_rate = strtof(lr, &end);
        if (*end || !(options.learning_rate > 0))
            return cli_usage_error("fit", "--lr takes a positive number");
    }
    if (aabb) {
        float *b = options.aabb;
        char tail;
        if (sscanf(aabb, "%f,%f,%f,%f,%f,%f%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) !=
                6 ||
            !(b[3] > b[0] && b[4] > b[1] && b[5] > b[2]))
            return cli_usage_error("fit", "--aabb takes X0,Y0,Z0,X1,Y1,Z1 with X1 > X0 etc.");
        options.has_aabb = 1;
    }
    if (center) {
        if (strcmp(center, "poses") && strcmp(center, "focus") && strcmp(center, "none"))
            return cli_usage_error("fit", "--center must be poses, focus or none");
        options.center = center;
    }
    if (orientation) {
        if (strcmp(orientation, "up") && strcmp(orientation, "pca") && strcmp(orientation, "none"))
            return cli_usage_error("fit", "--orientation must be up, pca or none");
        options.orientation = orientation;
    }
    if (scene_scale) {
        char *end;
        options.scene_scale = strtof(scene_scale, &end);
        if (*end || !(options.scene_scale > 0))
            return cli_usage_error("fit", "--scene-scale takes a positive number");
    }
    if (strcmp(mlp_dtype, "f32") && strcmp(mlp_dtype, "f16"))
        return cli_usage_error("fit", "--mlp-dtype must be f32 or f16");
    options.mlp_half = !strcmp(mlp_dtype, "f16");
    if (loss_scale) {
        char *end;
        options.loss_scale = strtof(loss_scale, &end);
        if (*end || !options.mlp_half || !facet_mlp_half_loss_scale_valid(options.loss_scale))
            return cli_usage_error("fit", "--loss-scale takes a power of two from 1 to 16777216 "
                                          "and needs --mlp-dtype f16");
    }
    if (!strcmp(device, "cuda"))
        options.device = FACET_FIT_CUDA;
    else if (strcmp(device, "cpu") != 0)
        return cli_usage_error("fit", "--device must be cpu or cuda");
    facet_progress progress = {.quiet = quiet};
    options.progress = &progress;
    facet_fit_result result;
    if (facet_livescene_fit(dataset, out, &options, &result) != FACET_OK)
        return cli_library_error();
    if (!quiet) {
        if (result.resumed_from)
            fprintf(stderr, "facet fit: resumed at iteration %d\n", result.resumed_from);
        if (result.restarts)
            fprintf(stderr,
                    "facet fit: recovered from %d divergence%s (learning rate now x%g)%s%s%s\n",
                    result.restarts, result.restarts == 1 ? "" : "s",
                    (double)result.learning_rate_scale, result.finished ? "; see " : "",
                    result.finished ? out : "", result.finished ? "/fit.json \"restarts\"" : "");
        if (result.finished && result.loss_scale > 0)
            fprintf(stderr,
                    "facet fit: fp16 networks, loss scale %g at the end, %d step%s skipped "
                    "for a half overflow\n",
                    (double)result.loss_scale, result.skipped_steps,
                    result.skipped_steps == 1 ? "" : "s");
        if (result.finished)
            fprintf(stderr,
                    "facet fit: %d iterations, last batch loss %.4f, train PSNR %.2f dB, %.0f "
                    "rays/s; wrote %s/scene.json\n",
                    result.iterations, result.final_loss, result.final_psnr, result.rays_per_second,
                    out);
        else
            fprintf(stderr,
                    "facet fit: stopped at iteration %d of %d (--for); run the same command "
                    "to continue\n",
                    result.iterations, result.total);
    }
    return 0;
}
