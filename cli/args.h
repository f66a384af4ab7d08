/* Tiny argument helpers shared by the subcommands. */
#ifndef FACET_CLI_ARGS_H
#define FACET_CLI_ARGS_H

/* If argv[*i] is `flag` ("--out") or "--out=VALUE", stores the value (the next argument, or the
 * text after '=') in *value, advances *i past it and returns 1. Returns -1 when the flag is
 * present but its value is missing, 0 when argv[*i] is another argument. */
int cli_flag_value(int argc, char **argv, int *i, const char *flag, const char **value);

/* Parses a whole positive integer; 0 on success. */
int cli_parse_int(const char *text, int min, int max, int *out);

/* 1 when argv has -h or --help. */
int cli_wants_help(int argc, char **argv);

#endif
