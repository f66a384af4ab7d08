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

#endif
