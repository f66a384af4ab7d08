/* facet control: grounds a language command on a scene's objects and prints what it sets
 * (language/grounding.h), as JSON on stdout. */
#include "args.h"
#include "commands.h"

#include "language/control.h"
#include "nodes/builtin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const USAGE =
    "usage: facet control SCENE \"COMMAND\" [--mode facet|livescene] [--encoder minilm|clip]\n"
    "                     [--weights FILE] [--merges FILE] [--context OBJECT] "
    "[--device cpu|cuda]\n";

static const char *const HELP =
    "\n"
    "Grounds COMMAND on the objects of SCENE and prints JSON:\n"
    "  {\"mode\": \"facet\", \"command\": ..., \"outcome\": \"applied\", \"message\": ...,\n"
    "   \"actions\": [{\"object\", \"kappa_from\", \"kappa_to\", \"score\"}]}\n"
    "When nothing matches (\"no match\"), two objects match about equally (\"ambiguous\") or no\n"
    "target state is given (\"not understood\"), actions is empty and \"candidates\" lists the\n"
    "objects with their scores. The scene file is not changed.\n"
    "\n"
    "Modes:\n"
    "  facet (default)  free-form English: \"pull the drawer all the way out\", \"open the door\n"
    "                   halfway\", \"set the drawer to 30%\", \"close it a bit more\", \"open the\n"
    "                   drawer and close the door\". Objects are matched by their names and the\n"
    "                   scene's \"descriptions\"; encoder MiniLM (models/minilm.safetensors).\n"
    "  livescene        the official LiveScene rule: \"open X\" / \"close X\" against the CLIP\n"
    "                   features stored with the weights (checkpoints trained with language);\n"
    "                   encoder CLIP (models/clip_text.safetensors, tools/convert_clip_text.py).\n"
    "\n"
    "Options:\n"
    "  --encoder E      minilm or clip (default: the mode's)\n"
    "  --weights FILE   text-encoder weights (language/text_encoder_format.md)\n"
    "  --merges FILE    CLIP's bpe_simple_vocab_16e6.txt.gz (default: beside the weights or in\n"
    "                   models/)\n"
    "  --context OBJECT what \"it\" refers to (default: the only object, if there is one)\n"
    "  --device D       run the encoder on cpu (default) or cuda\n"
    "\n"
    "Exit status: 0 with an answer (whatever the outcome), 1 runtime error, 2 usage error.\n";

typedef struct control_args {
    const char *scene, *text;
    facet_control_options options;
} control_args;

static int flag(int argc, char **argv, int *i, const char *name, const char **value, int *usage) {
    int found = cli_flag_value(argc, argv, i, name, value);
    if (found < 0) *usage = cli_usage_error("control", "%s needs a value", name);
    return found;
}

static int parse_args(int argc, char **argv, control_args *args) {
    int positional = 0, usage = 0;
    for (int i = 1; i < argc; i++) {
        const char *mode = NULL, *encoder = NULL, *device = NULL;
        int found = flag(argc, argv, &i, "--mode", &mode, &usage);
        if (!found) found = flag(argc, argv, &i, "--encoder", &encoder, &usage);
        if (!found) found = flag(argc, argv, &i, "--weights", &args->options.weights, &usage);
        if (!found) found = flag(argc, argv, &i, "--merges", &args->options.merges, &usage);
        if (!found)
            found = flag(argc, argv, &i, "--context", &args->options.context_object, &usage);
        if (!found) found = flag(argc, argv, &i, "--device", &device, &usage);
        if (found < 0) return usage;
        if (mode) {
            if (!strcmp(mode, "facet"))
                args->options.mode = FACET_GROUND_FACET;
            else if (!strcmp(mode, "livescene"))
                args->options.mode = FACET_GROUND_LIVESCENE;
            else
                return cli_usage_error("control",
                                       "unknown --mode '%s' (expected facet or livescene)", mode);
        } else if (encoder) {
            if (!strcmp(encoder, "minilm"))
                args->options.encoder = FACET_ENCODER_MINILM;
            else if (!strcmp(encoder, "clip"))
                args->options.encoder = FACET_ENCODER_CLIP;
            else
                return cli_usage_error("control",
                                       "unknown --encoder '%s' (expected minilm or clip)", encoder);
        } else if (device) {
            if (strcmp(device, "cpu") && strcmp(device, "cuda"))
                return cli_usage_error("control", "unknown --device '%s' (expected cpu or cuda)",
                                       device);
            args->options.cuda = !strcmp(device, "cuda");
        } else if (found) {
            continue;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("control", "unknown option '%s'", argv[i]);
        } else if (positional == 0) {
            args->scene = argv[i];
            positional++;
        } else if (positional == 1) {
            args->text = argv[i];
            positional++;
        } else {
            return cli_usage_error("control", "unexpected argument '%s' (quote the command)",
                                   argv[i]);
        }
    }
    if (positional < 2) return cli_usage_error("control", "expected SCENE and \"COMMAND\"");
    return 0;
}

static int print_result(const char *text, const facet_ground_result *r) {
    char *json = facet_ground_result_json(text, r);
    if (!json) return cli_library_error();
    printf("%s\n", json);
    free(json);
    return 0;
}

int facet_cmd_control(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        printf("%s%s", USAGE, HELP);
        return 0;
    }
    control_args args = {0};
    int usage = parse_args(argc, argv, &args);
    if (usage) return usage;
    if (facet_register_builtin_node_kinds() != FACET_OK) return cli_library_error();
    facet_scene scene;
    if (facet_scene_load(&scene, args.scene) != FACET_OK) return cli_library_error();
    facet_ground_result result;
    facet_status s = facet_control(&scene, args.text, &args.options, &result);
    facet_scene_free(&scene);
    if (s != FACET_OK) return cli_library_error();
    return print_result(args.text, &result);
}
