/* facet metrics: PSNR and SSIM between two images, and LPIPS when weights are configured, JSON
 * on stdout (protocol in core/metrics.h and lpips/lpips.h). */
#include "args.h"
#include "commands.h"
#include "lpips_args.h"

#include "core/image.h"
#include "core/metrics.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const USAGE =
    "usage: facet metrics A B [--mask M] [--align none|median-ratio] [--align-mask M]\n"
    "                     [--lpips FILE] [--lpips-convention nerfstudio|risesdf] [--no-lpips]\n";

static const char *const HELP =
    "\n"
    "Compares image A (the prediction) with image B (the reference) and prints JSON:\n"
    "  {\"psnr\": ..., \"ssim\": ..., \"identical\": false, \"width\": W, \"height\": H,\n"
    "   \"channels\": C, \"protocol\": {...}}   (plus \"scales\" with --align median-ratio, and\n"
    "   \"lpips\" with protocol.lpips when LPIPS weights are configured)\n"
    "\n"
    "Protocol:\n"
    "  - Values are compared as stored, data range 1: 8/16-bit files (PNG, ...) as their\n"
    "    sRGB-encoded values in [0,1], EXR/HDR as linear values. No colour conversion.\n"
    "  - Colour channels only: the alpha channel of RGBA (or gray+alpha) files is ignored, not\n"
    "    composited. A and B must have the same size and the same colour channels.\n"
    "  - PSNR = 10 log10(1 / MSE), MSE over all scored pixels and channels. Identical images\n"
    "    have infinite PSNR: printed as \"psnr\": null with \"identical\": true.\n"
    "  - SSIM: Wang et al. 2004, Gaussian window 11x11 sigma 1.5, K1 0.01, K2 0.03, population\n"
    "    covariances, per channel then averaged; the map is averaged over pixels at least 5 from\n"
    "    the border (scikit-image structural_similarity with gaussian_weights=True, sigma=1.5,\n"
    "    use_sample_covariance=False, data_range=1). Images must be at least 11x11.\n"
    "  - LPIPS (with --lpips or FACET_LPIPS): the lpips package's LPIPS v0.1 of A and B (after\n"
    "    --align), over the whole image (--mask does not apply); RGB only, values in [0,1]\n"
    "    (risesdf: >= -1, as torchmetrics checks), at least 31x31 (alex) or 16x16 (vgg16).\n"
    "\n"
    "Options:\n"
    "  --mask M        score only the pixels where M's first channel is > 0.5 (also the\n"
    "                  alignment pixels unless --align-mask is given)\n"
    "  --align median-ratio\n"
    "                  RISE-SDF's relighting protocol: before scoring, scale each channel of A\n"
    "                  by the median over the alignment pixels of B / max(A, 1e-6) (for an even\n"
    "                  count the lower middle value, as torch.median), clamping the scaled\n"
    "                  pixels to [0,1]; pixels outside the alignment mask are left as they are.\n"
    "                  The scales are printed as \"scales\".\n"
    "  --align-mask M  alignment pixels (first channel > 0.5) when they differ from the scored\n"
    "                  ones. RISE-SDF's protocol aligns over the ground truth's foreground and\n"
    "                  scores the whole image: --align median-ratio --align-mask "
    "FG.png\n" CLI_LPIPS_HELP "\n"
    "Exit status: 0 success, 1 unreadable or incompatible images (or LPIPS weights), 2 usage\n"
    "error.\n";

typedef struct metrics_args {
    const char *a, *b;      /* prediction, reference */
    const char *mask;       /* scored pixels, NULL: all */
    const char *align_mask; /* alignment pixels, NULL: the scored ones */
    int align;              /* 1: median-ratio */
    cli_lpips lpips;
} metrics_args;

/* Keeps the first `channels` channels of every pixel, compacting the data in place. */
static void keep_channels(facet_image *img, int channels) {
    const size_t pixels = (size_t)img->width * img->height;
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < channels; c++)
            img->data[p * channels + c] = img->data[p * img->channels + c];
    img->channels = channels;
}

/* Reads an image as compared: its colour channels, alpha dropped. */
static facet_status read_colour(facet_image *img, const char *path) {
    facet_status status = facet_image_read(img, path, 0);
    if (status != FACET_OK) return status;
    if (img->channels == 2 || img->channels == 4) keep_channels(img, img->channels - 1);
    return FACET_OK;
}

/* Reads a mask: the file's first channel (> 0.5 = inside). */
static facet_status read_mask(facet_image *img, const char *path) {
    facet_status status = facet_image_read(img, path, 0);
    if (status != FACET_OK) return status;
    keep_channels(img, 1);
    return FACET_OK;
}

/* Stores the value of `flag` (next argument or "--flag=VALUE") at argv[*i]: 1 when argv[*i] is
 * that flag, 0 when it is not, -1 (usage error printed, exit status in *usage) when its value is
 * missing. */
static int flag(int argc, char **argv, int *i, const char *name, const char **value, int *usage) {
    int found = cli_flag_value(argc, argv, i, name, value);
    if (found < 0) *usage = cli_usage_error("metrics", "%s needs a value", name);
    return found;
}

/* Returns 0 on success, else the exit status of the usage error. */
static int parse_args(int argc, char **argv, metrics_args *args) {
    int positional = 0, usage = 0;
    for (int i = 1; i < argc; i++) {
        const char *align = NULL;
        const int lpips = cli_lpips_option(&args->lpips, "metrics", argc, argv, &i);
        if (lpips < 0) return 2;
        if (lpips) continue;
        int found = flag(argc, argv, &i, "--mask", &args->mask, &usage);
        if (!found) found = flag(argc, argv, &i, "--align-mask", &args->align_mask, &usage);
        if (!found) found = flag(argc, argv, &i, "--align", &align, &usage);
        if (found < 0) return usage;
        if (align && !strcmp(align, "median-ratio")) {
            args->align = 1;
        } else if (align && !strcmp(align, "none")) {
            args->align = 0;
        } else if (align) {
            return cli_usage_error("metrics",
                                   "unknown --align '%s' (expected none or median-ratio)", align);
        } else if (found) {
            continue;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("metrics", "unknown option '%s'", argv[i]);
        } else if (positional == 0) {
            args->a = argv[i];
            positional++;
        } else if (positional == 1) {
            args->b = argv[i];
            positional++;
        } else {
            return cli_usage_error("metrics", "unexpected argument '%s' (two images expected)",
                                   argv[i]);
        }
    }
    if (positional < 2) return cli_usage_error("metrics", "two images expected: A B");
    if (args->align_mask && !args->align)
        return cli_usage_error("metrics", "--align-mask needs --align median-ratio");
    return cli_lpips_finish(&args->lpips, "metrics");
}

static cJSON *protocol_json(const metrics_args *args) {
    cJSON *protocol = cJSON_CreateObject();
    if (!protocol) return NULL;
    const char *align_mask =
        args->align ? (args->align_mask ? args->align_mask : args->mask) : NULL;
    int ok = cJSON_AddStringToObject(protocol, "color", "as-stored") &&
             cJSON_AddStringToObject(protocol, "channels", "colour (alpha ignored)") &&
             cJSON_AddNumberToObject(protocol, "data_range", 1.0) &&
             cJSON_AddStringToObject(protocol, "ssim", "gaussian 11x11 sigma 1.5") &&
             (args->mask ? cJSON_AddStringToObject(protocol, "mask", args->mask)
                         : cJSON_AddNullToObject(protocol, "mask")) &&
             cJSON_AddStringToObject(protocol, "align", args->align ? "median-ratio" : "none") &&
             (align_mask ? cJSON_AddStringToObject(protocol, "align_mask", align_mask)
                         : cJSON_AddNullToObject(protocol, "align_mask"));
    if (ok && args->lpips.model) {
        cJSON *lpips = cJSON_Parse(args->lpips.protocol);
        ok = lpips && cJSON_AddItemToObject(protocol, "lpips", lpips);
        if (!ok) cJSON_Delete(lpips);
    }
    if (!ok) {
        cJSON_Delete(protocol);
        return NULL;
    }
    return protocol;
}

/* Prints the result object (lpips only with LPIPS weights); returns 0, or 1 when memory ran
 * out. */
static int print_result(const metrics_args *args, const facet_image *a, double psnr, double ssim,
                        double lpips, const double *scales) {
    cJSON *root = cJSON_CreateObject();
    cJSON *protocol = protocol_json(args);
    int ok = root && protocol;
    if (ok) {
        ok = (isinf(psnr) ? cJSON_AddNullToObject(root, "psnr")
                          : cJSON_AddNumberToObject(root, "psnr", psnr)) &&
             cJSON_AddNumberToObject(root, "ssim", ssim) &&
             (!args->lpips.model || cJSON_AddNumberToObject(root, "lpips", lpips)) &&
             cJSON_AddBoolToObject(root, "identical", isinf(psnr)) &&
             cJSON_AddNumberToObject(root, "width", a->width) &&
             cJSON_AddNumberToObject(root, "height", a->height) &&
             cJSON_AddNumberToObject(root, "channels", a->channels);
        if (ok && scales) {
            cJSON *list = cJSON_AddArrayToObject(root, "scales");
            for (int c = 0; ok && c < a->channels; c++) {
                cJSON *number = cJSON_CreateNumber(scales[c]);
                ok = list && number && cJSON_AddItemToArray(list, number);
                if (!ok) cJSON_Delete(number);
            }
        }
        ok = ok && cJSON_AddItemToObject(root, "protocol", protocol);
        if (ok) protocol = NULL;
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(protocol);
    cJSON_Delete(root);
    if (!text) return cli_error("out of memory while writing the result");
    printf("%s\n", text);
    cJSON_free(text);
    return 0;
}

int facet_cmd_metrics(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        printf("%s%s", USAGE, HELP);
        return 0;
    }
    metrics_args args = {0};
    int usage = parse_args(argc, argv, &args);
    if (usage) return usage;

    facet_image a = {0}, b = {0}, mask = {0}, align_mask = {0};
    double psnr = 0.0, ssim = 0.0, lpips = 0.0, scales[4];
    facet_status status = cli_lpips_load(&args.lpips, FACET_NN_CPU);
    if (status == FACET_OK) status = read_colour(&a, args.a);
    if (status == FACET_OK) status = read_colour(&b, args.b);
    if (status == FACET_OK && args.mask) status = read_mask(&mask, args.mask);
    if (status == FACET_OK && args.align_mask) status = read_mask(&align_mask, args.align_mask);
    const facet_image *scored = args.mask ? &mask : NULL;
    const facet_image *aligned = args.align_mask ? &align_mask : scored;
    if (status == FACET_OK && args.align) {
        status = facet_align_median_ratio(&a, &b, aligned, scales);
        if (status != FACET_OK) facet_error_context("aligning '%s' to '%s'", args.a, args.b);
    }
    if (status == FACET_OK) {
        status = facet_psnr(&a, &b, scored, &psnr);
        if (status == FACET_OK) status = facet_ssim(&a, &b, scored, &ssim);
        if (status == FACET_OK && args.lpips.model)
            status = cli_lpips_score(&args.lpips, &a, &b, &lpips);
        if (status != FACET_OK) facet_error_context("comparing '%s' with '%s'", args.a, args.b);
    }
    int result = status == FACET_OK
                     ? print_result(&args, &a, psnr, ssim, lpips, args.align ? scales : NULL)
                     : cli_library_error();
    cli_lpips_free(&args.lpips);
    facet_image_free(&a);
    facet_image_free(&b);
    facet_image_free(&mask);
    facet_image_free(&align_mask);
    return result;
}
