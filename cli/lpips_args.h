/* LPIPS for `facet metrics` and `facet eval` (lpips/lpips.h): the options, the weights and the
 * per-image score, shared by cli/cmd_metrics.c and cli/cmd_eval.c.
 *
 *   --lpips FILE                   facet LPIPS weights (tools/convert_lpips.py); default: the
 *                                  environment variable FACET_LPIPS when set and not empty
 *   --lpips-convention NAME        nerfstudio (default) or risesdf
 *   --no-lpips                     no LPIPS, whatever FACET_LPIPS says
 *
 * Without weights nothing is computed and nothing is reported. */
#ifndef FACET_CLI_LPIPS_ARGS_H
#define FACET_CLI_LPIPS_ARGS_H

#include "core/image.h"
#include "core/status.h"
#include "lpips/lpips.h"

/* The --help lines of the options above. */
#define CLI_LPIPS_HELP                                                                             \
    "  --lpips FILE     also report LPIPS (Zhang et al. 2018, lpips 0.1) with these weights\n"     \
    "                   (facet LPIPS weights: tools/convert_lpips.py; alex or vgg16); default:\n"  \
    "                   the environment variable FACET_LPIPS when it is set\n"                     \
    "  --lpips-convention nerfstudio|risesdf\n"                                                    \
    "                   how images enter the network: nerfstudio (default; ns-eval, LiveScene):\n" \
    "                   [0,1] mapped to [-1,1]; risesdf (RISE-SDF's test_step): [0,1] unmapped,\n" \
    "                   the HxWx3 buffer read as 3xHxW as its code does\n"                         \
    "  --no-lpips       no LPIPS even when FACET_LPIPS is set\n"

typedef struct cli_lpips {
    const char *path; /* the weights; NULL: no LPIPS */
    const char *convention_name;
    int disabled;         /* --no-lpips */
    int from_environment; /* the path came from FACET_LPIPS */
    facet_lpips_convention convention;
    facet_lpips *model;  /* after cli_lpips_load */
    char protocol[1200]; /* JSON: {"net", "version", "convention", "weights"} */
} cli_lpips;

/* When argv[*i] is one of the options, takes it (and its value): returns 1, or -1 after printing
 * a usage error of `command` (the exit status is 2). Returns 0 for other arguments. */
int cli_lpips_option(cli_lpips *l, const char *command, int argc, char **argv, int *i);

/* After the arguments: FACET_LPIPS when --lpips is absent, the convention's name checked.
 * Returns 0, or 2 after printing a usage error. */
int cli_lpips_finish(cli_lpips *l, const char *command);

/* Loads the weights when configured (errors name the file), for `device`. */
facet_status cli_lpips_load(cli_lpips *l, facet_nn_device device);

/* LPIPS between prediction a and reference b (RGB in the convention's range). */
facet_status cli_lpips_score(cli_lpips *l, const facet_image *a, const facet_image *b,
                             double *value);

void cli_lpips_free(cli_lpips *l);

#endif
