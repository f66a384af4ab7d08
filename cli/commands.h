/* The facet subcommands, one file each (cli/cmd_<name>.c). Each takes argv after the subcommand
 * name (argv[0] is the subcommand) and returns the process exit status: 0 success, 1 runtime
 * error, 2 usage error. */
#ifndef FACET_CLI_COMMANDS_H
#define FACET_CLI_COMMANDS_H

int facet_cmd_render(int argc, char **argv);
int facet_cmd_eval(int argc, char **argv);
int facet_cmd_metrics(int argc, char **argv);
int facet_cmd_info(int argc, char **argv);
int facet_cmd_control(int argc, char **argv);
int facet_cmd_tokenize(int argc, char **argv);
int facet_cmd_detokenize(int argc, char **argv);
int facet_cmd_synth(int argc, char **argv);
int facet_cmd_fit(int argc, char **argv);
int facet_cmd_view(int argc, char **argv);
int facet_cmd_path(int argc, char **argv);

/* Prints "facet: error: <message>" to stderr and returns 1. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "facet <command>: <message>" plus "try 'facet <command> --help'" and returns 2. */
int cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints the library's last error as "facet: error: ..." and returns 1. */
int cli_library_error(void);

#endif
