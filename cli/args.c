#include "args.h"

#include "commands.h"

#include "render/pixel_filter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_flag_value(int argc, char **argv, int *i, const char *flag, const char **value) {
    const char *arg = argv[*i];
    size_t n = strlen(flag);
    if (strncmp(arg, flag, n) != 0) return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0') return 0;
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
}

int cli_parse_int(const char *text, int min, int max, int *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno != 0 || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

int cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}

int cli_parse_filter(const char *cmd, const cli_filter_flags *flags, facet_pixel_filter *filter) {
    filter->spp = 1;
    filter->type = FACET_FILTER_BLACKMAN_HARRIS;
    filter->width = 0.0f; /* the type's default */
    if (flags->spp && cli_parse_int(flags->spp, 1, FACET_FILTER_MAX_SPP, &filter->spp) != 0)
        return cli_usage_error(cmd, "--spp must be a whole number in [1, %d]",
                               FACET_FILTER_MAX_SPP);
    if (flags->type && (filter->type = facet_filter_type_from_name(flags->type)) < 0)
        return cli_usage_error(cmd, "--pixel-filter must be box, gaussian or blackman-harris");
    if (flags->width) {
        char *end;
        errno = 0;
        filter->width = strtof(flags->width, &end);
        if (*flags->width == '\0' || *end != '\0' || errno != 0 || !(filter->width > 0.0f) ||
            filter->width > 16.0f)
            return cli_usage_error(cmd, "--filter-width must be a number of pixels in (0, 16]");
    }
    return 0;
}
