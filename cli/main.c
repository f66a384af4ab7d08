/* facet: the command-line entry point. Dispatches to one function per subcommand. */
#include "commands.h"

#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"render", facet_cmd_render, "render a scene's cameras (or a dataset's) to images"},
    {"path", facet_cmd_path, "write a camera path (orbit, or through cameras) for render --path"},
    {"eval", facet_cmd_eval, "render a dataset split and report PSNR/SSIM (metrics.json)"},
    {"metrics", facet_cmd_metrics, "PSNR/SSIM between two images, JSON on stdout"},
    {"info", facet_cmd_info, "describe a safetensors file, scene file or dataset"},
    {"view", facet_cmd_view, "open the interactive viewer on a scene (GLFW + OpenGL)"},
    {"control", facet_cmd_control, "ground a language command on a scene's objects (JSON)"},
    {"tokenize", facet_cmd_tokenize, "images -> FQGAN token shards + manifest (resumable, MPI)"},
    {"detokenize", facet_cmd_detokenize, "FQGAN token shards -> PNG images"},
    {"fit", facet_cmd_fit, "fit a LiveScene field to a LiveScene-format dataset"},
    {"synth", facet_cmd_synth, "generate the interactive cabinet scene as a LiveScene dataset"},
};

static void print_help(FILE *out) {
    fprintf(out, "facet: factorized neural rendering and visual tokenization\n\n"
                 "usage: facet <command> [options]   (facet <command> --help for details)\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int cli_error(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fputs("facet: error: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    return 1;
}

int cli_usage_error(const char *name, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "facet %s: ", name);
    vfprintf(stderr, fmt, args);
    fprintf(stderr, "\ntry 'facet %s --help'\n", name);
    va_end(args);
    return 2;
}

int cli_library_error(void) {
    return cli_error("%s", facet_last_error());
}

/* Library warnings (core/status.h) go to stderr, each on its own line; hostile bytes in a message
 * (names read from files) are shown escaped. */
static void print_warning(const char *message) {
    fputs("facet: warning: ", stderr);
    for (const unsigned char *p = (const unsigned char *)message; *p; p++)
        if (*p >= 0x20 && *p != 0x7f)
            fputc(*p, stderr);
        else
            fprintf(stderr, "\\x%02x", *p);
    fputc('\n', stderr);
}

int main(int argc, char **argv) {
    facet_set_warning_handler(print_warning);
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("facet 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "facet: unknown command '%s'\n\n", argv[1]);
    print_help(stderr);
    return 2;
}
