/* Tiny argument helpers shared by the subcommands. */
#ifndef FACET_CLI_ARGS_H
#define FACET_CLI_ARGS_H

/* If argv[*i] is `flag` ("--out") or "--out=VALUE", stores the value (the next argument, or the
 * text after '=') in *value, advances *i past it and returns 1. Returns -1 when the flag is
 * present but its value is missing, 0 when argv[*i] is another argument. */
int cli_flag_value(int argc, char **argv, int *i, const char *flag, const char **value);

/* Inside an argv loop over `i` (with `const char *v; int r;` declared): when argv[i] is the flag
 * `name`, stores its value in `var` and continues the loop; a flag without a value returns a usage
 * error of command `cmd`. */
#define CLI_FLAG(cmd, name, var)                                                                   \
    if ((r = cli_flag_value(argc, argv, &i, name, &v)) != 0) {                                     \
        if (r < 0) return cli_usage_error(cmd, "%s needs a value", name);                          \
        var = v;                                                                                   \
        continue;                                                                                  \
    }

/* Parses a whole positive integer; 0 on success. */
int cli_parse_int(const char *text, int min, int max, int *out);

/* 1 when argv has -h or --help. */
int cli_wants_help(int argc, char **argv);

/* Supersampling flags of render, eval and view (render/pixel_filter.h): their texts as given. */
typedef struct cli_filter_flags {
    const char *spp, *type, *width; /* --spp, --pixel-filter, --filter-width (NULL: absent) */
} cli_filter_flags;

/* Inside an argv loop (as CLI_FLAG): the three supersampling flags into `flags`. */
#define CLI_FILTER_FLAGS(cmd, flags)                                                               \
    CLI_FLAG(cmd, "--spp", (flags).spp)                                                            \
    CLI_FLAG(cmd, "--pixel-filter", (flags).type)                                                  \
    CLI_FLAG(cmd, "--filter-width", (flags).width)

/* Their help text. */
#define CLI_FILTER_USAGE                                                                           \
    "  --spp N          samples per pixel (default 1: one ray through each pixel\n"                \
    "                   centre, the NeRF protocol, whatever the filter). N > 1: each\n"            \
    "                   pixel and mask is the mean of N rays at stratified positions\n"            \
    "                   drawn from the pixel filter, the same in every run and on\n"               \
    "                   every device; depth is the mean of the finite sample depths\n"             \
    "  --pixel-filter F blackman-harris (default), gaussian or box: Cycles' filters\n"             \
    "  --filter-width W pixels, as Cycles' Filter Width (default 1.5; box: 1, the\n"               \
    "                   pixel's area). Blackman-Harris 1.5 is Blender's default: it\n"             \
    "                   reaches 1.5 px either side of the centre (docs/math.md)\n"

/* Parses the flags into *filter (defaults: spp 1, blackman-harris, the type's width). Returns 0,
 * or prints a usage error of `cmd` and returns 2. */
struct facet_pixel_filter;
int cli_parse_filter(const char *cmd, const cli_filter_flags *flags,
                     struct facet_pixel_filter *filter);

#endif
