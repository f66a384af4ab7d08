#include "script.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/safe_name.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* How each op's words read: its name, then the argument pattern.
 *   'n' a number, 'N' an optional number, 'w' one word (text), 'r' the rest of the line (text),
 *   'p' a pose: 12 numbers and an optional field of view. */
typedef struct op_syntax {
    const char *name;
    facet_script_op op;
    const char *args;
    const char *usage;
} op_syntax;

static const op_syntax syntax[] = {
    {"size", FACET_SCRIPT_SIZE, "nn", "size W H"},
    {"orbit", FACET_SCRIPT_ORBIT, "nn", "orbit DX DY"},
    {"pan", FACET_SCRIPT_PAN, "nn", "pan DX DY"},
    {"scroll", FACET_SCRIPT_SCROLL, "n", "scroll STEPS"},
    {"navigate", FACET_SCRIPT_NAVIGATE, "w", "navigate orbit|fly"},
    {"zoom", FACET_SCRIPT_ZOOM, "n", "zoom FACTOR"},
    {"set", FACET_SCRIPT_SET, "wn", "set OBJECT KAPPA"},
    {"animate", FACET_SCRIPT_ANIMATE, "wn", "animate OBJECT KAPPA"},
    {"command", FACET_SCRIPT_COMMAND, "r", "command TEXT"},
    {"key", FACET_SCRIPT_KEY, "w", "key NAME"},
    {"env", FACET_SCRIPT_ENV, "wN", "env PATH [ROTATION_DEG]"},
    {"env-rotation", FACET_SCRIPT_ENV_ROTATION, "n", "env-rotation DEG"},
    {"exposure", FACET_SCRIPT_EXPOSURE, "n", "exposure STOPS"},
    {"view", FACET_SCRIPT_VIEW, "w", "view rgb|depth|masks"},
    {"panel", FACET_SCRIPT_PANEL, "w", "panel on|off"},
    {"screenshot", FACET_SCRIPT_SCREENSHOT, "w", "screenshot PATH"},
    {"screenshot-window", FACET_SCRIPT_SCREENSHOT_WINDOW, "w", "screenshot-window PATH"},
    {"save-view", FACET_SCRIPT_SAVE_VIEW, "w", "save-view PATH"},
    {"keyframe", FACET_SCRIPT_KEYFRAME, "N", "keyframe [GAP_SECONDS]"},
    {"clear-keyframes", FACET_SCRIPT_CLEAR_KEYFRAMES, "", "clear-keyframes"},
    {"save-path", FACET_SCRIPT_SAVE_PATH, "wN", "save-path PATH [FPS]"},
    {"play-path", FACET_SCRIPT_PLAY_PATH, "w", "play-path PATH"},
    {"path-frame", FACET_SCRIPT_PATH_FRAME, "wn", "path-frame PATH K"},
    {"expect", FACET_SCRIPT_EXPECT, "wnN", "expect OBJECT KAPPA [TOL]"},
    {"quit", FACET_SCRIPT_QUIT, "", "quit"},
};

/* Splits off the next space-separated word of *cursor (NUL-terminating it in place). */
static char *next_word(char **cursor) {
    char *p = *cursor;
    while (*p && isspace((unsigned char)*p)) p++;
    if (!*p) {
        *cursor = p;
        return NULL;
    }
    char *word = p;
    while (*p && !isspace((unsigned char)*p)) p++;
    if (*p) *p++ = '\0';
    *cursor = p;
    return word;
}

static int parse_number(const char *word, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(word, &end);
    if (errno || end == word || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static facet_status add_number(facet_script_action *a, const char *word, const char *path, int line,
                               const char *usage) {
    double v;
    if (parse_number(word, &v) != 0)
        return facet_fail(FACET_ERR_FORMAT, "%s:%d: '%s' is not a number (%s)", path, line, word,
                          usage);
    a->number[a->number_count++] = v;
    return FACET_OK;
}

/* Parses the words after the op name. */
static facet_status parse_arguments(facet_script_action *a, const op_syntax *syn, char *rest,
                                    const char *path, int line) {
    facet_status s = FACET_OK;
    for (const char *arg = syn->args; *arg && s == FACET_OK; arg++) {
        if (*arg == 'r') {
            while (*rest && isspace((unsigned char)*rest)) rest++;
            size_t n = strlen(rest);
            while (n > 0 && isspace((unsigned char)rest[n - 1])) rest[--n] = '\0';
            if (!n)
                return facet_fail(FACET_ERR_FORMAT, "%s:%d: missing text (%s)", path, line,
                                  syn->usage);
            a->text = facet_strdup(rest);
            return a->text ? FACET_OK : facet_last_status();
        }
        char *word = next_word(&rest);
        if (!word) {
            if (*arg == 'N') break;
            return facet_fail(FACET_ERR_FORMAT, "%s:%d: too few arguments (%s)", path, line,
                              syn->usage);
        }
        if (*arg == 'w') {
            a->text = facet_strdup(word);
            if (!a->text) return facet_last_status();
        } else {
            s = add_number(a, word, path, line, syn->usage);
        }
    }
    if (s == FACET_OK && next_word(&rest))
        s = facet_fail(FACET_ERR_FORMAT, "%s:%d: too many arguments (%s)", path, line, syn->usage);
    return s;
}

/* "camera scene" / "camera frame N" / "camera pose 12 numbers [fov]". */
static facet_status parse_camera(facet_script_action *a, char *rest, const char *path, int line) {
    static const char usage[] = "camera scene | camera frame N | camera pose M00 ... M23 [FOV]";
    char *kind = next_word(&rest);
    if (!kind) return facet_fail(FACET_ERR_FORMAT, "%s:%d: missing camera (%s)", path, line, usage);
    char *word;
    if (!strcmp(kind, "scene")) {
        a->op = FACET_SCRIPT_CAMERA_SCENE;
    } else if (!strcmp(kind, "frame")) {
        a->op = FACET_SCRIPT_CAMERA_FRAME;
        if (!(word = next_word(&rest)))
            return facet_fail(FACET_ERR_FORMAT, "%s:%d: missing frame number (%s)", path, line,
                              usage);
        facet_status s = add_number(a, word, path, line, usage);
        if (s != FACET_OK) return s;
        if (a->number[0] < 0 || a->number[0] != floor(a->number[0]))
            return facet_fail(FACET_ERR_FORMAT, "%s:%d: frame number must be a whole number >= 0",
                              path, line);
    } else if (!strcmp(kind, "pose")) {
        a->op = FACET_SCRIPT_CAMERA_POSE;
        while ((word = next_word(&rest)) && a->number_count < 13) {
            facet_status s = add_number(a, word, path, line, usage);
            if (s != FACET_OK) return s;
        }
        if (word || (a->number_count != 12 && a->number_count != 13))
            return facet_fail(FACET_ERR_FORMAT,
                              "%s:%d: a pose takes 12 numbers (3 rows of camera-to-world) and an "
                              "optional field of view",
                              path, line);
        return FACET_OK;
    } else {
        return facet_fail(FACET_ERR_FORMAT, "%s:%d: unknown camera '%s' (%s)", path, line, kind,
                          usage);
    }
    if (next_word(&rest))
        return facet_fail(FACET_ERR_FORMAT, "%s:%d: too many arguments (%s)", path, line, usage);
    return FACET_OK;
}

/* "wait SECONDS" / "wait settled". */
static facet_status parse_wait(facet_script_action *a, char *rest, const char *path, int line) {
    char *word = next_word(&rest);
    if (word && !strcmp(word, "settled")) {
        a->op = FACET_SCRIPT_WAIT_SETTLED;
    } else {
        a->op = FACET_SCRIPT_WAIT;
        if (!word || add_number(a, word, path, line, "wait SECONDS | wait settled") != FACET_OK ||
            a->number[0] < 0)
            return facet_fail(FACET_ERR_FORMAT, "%s:%d: wait takes seconds (>= 0) or 'settled'",
                              path, line);
    }
    if (next_word(&rest))
        return facet_fail(FACET_ERR_FORMAT,
                          "%s:%d: too many arguments (wait SECONDS | wait settled)", path, line);
    return FACET_OK;
}

/* Outputs stay inside --out: a script from someone else cannot write elsewhere. */
static facet_status check_output_name(const facet_script_action *a, const char *path, int line) {
    char what[1100];
    snprintf(what, sizeof what, "%s:%d", path, line);
    return facet_check_safe_name(a->text, FACET_NAME_RELATIVE, what);
}

/* Range checks that need the parsed values. */
static facet_status validate(const facet_script_action *a, const char *path, int line) {
    const double *v = a->number;
    switch (a->op) {
    case FACET_SCRIPT_SIZE:
        if (v[0] < 16 || v[0] > 8192 || v[1] < 16 || v[1] > 8192 || v[0] != floor(v[0]) ||
            v[1] != floor(v[1]))
            return facet_fail(FACET_ERR_FORMAT, "%s:%d: size must be whole numbers in [16, 8192]",
                              path, line);
        break;
    case FACET_SCRIPT_SET:
    case FACET_SCRIPT_ANIMATE:
        if (v[0] < 0 || v[0] > 1)
            return facet_fail(FACET_ERR_FORMAT, "%s:%d: kappa %g is outside [0, 1]", path, line,
                              v[0]);
        break;
    case FACET_SCRIPT_ZOOM:
        if (v[0] <= 0) return facet_fail(FACET_ERR_FORMAT, "%s:%d: zoom must be > 0", path, line);
        break;
    case FACET_SCRIPT_NAVIGATE:
        if (strcmp(a->text, "orbit") && strcmp(a->text, "fly"))
            return facet_fail(FACET_ERR_FORMAT, "%s:%d: navigate takes orbit or fly, not '%s'",
                              path, line, a->text);
        break;
    case FACET_SCRIPT_VIEW:
        if (strcmp(a->text, "rgb") && strcmp(a->text, "depth") && strcmp(a->text, "masks"))
            return facet_fail(FACET_ERR_FORMAT, "%s:%d: view takes rgb, depth or masks, not '%s'",
                              path, line, a->text);
        break;
    case FACET_SCRIPT_PANEL:
        if (strcmp(a->text, "on") && strcmp(a->text, "off"))
            return facet_fail(FACET_ERR_FORMAT, "%s:%d: panel takes on or off, not '%s'", path,
                              line, a->text);
        break;
    case FACET_SCRIPT_KEYFRAME:
        if (a->number_count && !(v[0] > 0 && v[0] <= 3600))
            return facet_fail(FACET_ERR_FORMAT,
                              "%s:%d: the keyframe gap must be in (0, 3600] seconds, not %g", path,
                              line, v[0]);
        break;
    case FACET_SCRIPT_PATH_FRAME:
        if (v[0] < 0 || v[0] != floor(v[0]) || v[0] > 1e7)
            return facet_fail(FACET_ERR_FORMAT, "%s:%d: frame number must be a whole number >= 0",
                              path, line);
        break;
    case FACET_SCRIPT_SAVE_PATH:
        if (a->number_count && !(v[0] > 0 && v[0] <= 1000))
            return facet_fail(FACET_ERR_FORMAT, "%s:%d: fps must be in (0, 1000], not %g", path,
                              line, v[0]);
        return check_output_name(a, path, line);
    case FACET_SCRIPT_SCREENSHOT:
    case FACET_SCRIPT_SCREENSHOT_WINDOW:
    case FACET_SCRIPT_SAVE_VIEW:
        return check_output_name(a, path, line);
    case FACET_SCRIPT_EXPECT:
        if (a->number_count > 1 && v[1] < 0)
            return facet_fail(FACET_ERR_FORMAT, "%s:%d: tolerance must be >= 0", path, line);
        break;
    default:
        break;
    }
    return FACET_OK;
}

void facet_script_free(facet_script *script) {
    for (int i = 0; i < script->count; i++) free(script->actions[i].text);
    free(script->actions);
    free(script->path);
    memset(script, 0, sizeof *script);
}

facet_status facet_script_parse(facet_script *script, const char *path, const char *text) {
    memset(script, 0, sizeof *script);
    script->path = facet_strdup(path);
    char *copy = facet_strdup(text);
    if (!script->path || !copy) {
        free(copy);
        facet_script_free(script);
        return facet_last_status();
    }
    facet_status s = FACET_OK;
    int capacity = 0, line = 0;
    for (char *p = copy; *p && s == FACET_OK; line++) {
        char *end = strchr(p, '\n');
        if (end) *end = '\0';
        char *rest = p, *hash = strchr(p, '#');
        p = end ? end + 1 : p + strlen(p);
        if (hash) *hash = '\0';
        char *name = next_word(&rest);
        if (!name) continue;
        if (script->count == capacity) {
            int grown = capacity ? capacity * 2 : 16;
            facet_script_action *a = realloc(script->actions, (size_t)grown * sizeof *a);
            if (!a) {
                s = facet_fail(FACET_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
                break;
            }
            script->actions = a;
            capacity = grown;
        }
        facet_script_action *a = &script->actions[script->count];
        memset(a, 0, sizeof *a);
        a->line = line + 1;
        script->count++;
        if (!strcmp(name, "camera")) {
            s = parse_camera(a, rest, path, a->line);
            continue;
        }
        if (!strcmp(name, "wait")) {
            s = parse_wait(a, rest, path, a->line);
            continue;
        }
        const op_syntax *syn = NULL;
        for (size_t k = 0; k < sizeof syntax / sizeof *syntax; k++)
            if (!strcmp(name, syntax[k].name)) syn = &syntax[k];
        if (!syn) {
            s = facet_fail(FACET_ERR_FORMAT, "%s:%d: unknown action '%s'", path, a->line, name);
            break;
        }
        a->op = syn->op;
        s = parse_arguments(a, syn, rest, path, a->line);
        if (s == FACET_OK) s = validate(a, path, a->line);
    }
    free(copy);
    if (s != FACET_OK) facet_script_free(script);
    return s;
}

facet_status facet_script_load(facet_script *script, const char *path) {
    char *text = NULL;
    size_t size = 0;
    facet_status s = facet_read_file(path, &text, &size);
    if (s != FACET_OK) return s;
    if (strlen(text) != size) {
        free(text);
        return facet_fail(FACET_ERR_FORMAT, "%s: not a text file (contains NUL bytes)", path);
    }
    s = facet_script_parse(script, path, text);
    free(text);
    return s;
}
