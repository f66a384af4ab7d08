#include "lpips_args.h"

#include "args.h"
#include "commands.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_lpips_option(cli_lpips *l, const char *command, int argc, char **argv, int *i) {
    if (!strcmp(argv[*i], "--no-lpips")) {
        l->disabled = 1;
        return 1;
    }
    const char *v = NULL;
    int r = cli_flag_value(argc, argv, i, "--lpips", &v);
    if (r == 0) {
        r = cli_flag_value(argc, argv, i, "--lpips-convention", &v);
        if (r > 0) l->convention_name = v;
    } else if (r > 0) {
        l->path = v;
    }
    if (r < 0) {
        cli_usage_error(command, "%s needs a value", argv[*i]);
        return -1;
    }
    return r;
}

int cli_lpips_finish(cli_lpips *l, const char *command) {
    if (l->path && !*l->path) return cli_usage_error(command, "--lpips needs a file name");
    if (!l->path) {
        const char *env = getenv("FACET_LPIPS");
        if (env && *env) {
            l->path = env;
            l->from_environment = 1;
        }
    }
    if (l->disabled) l->path = NULL;
    l->convention = FACET_LPIPS_NERFSTUDIO;
    if (l->convention_name) {
        const int c = facet_lpips_convention_from_name(l->convention_name);
        if (c < 0)
            return cli_usage_error(command,
                                   "unknown --lpips-convention '%s' (expected nerfstudio or "
                                   "risesdf)",
                                   l->convention_name);
        if (!l->path && !l->disabled)
            return cli_usage_error(command,
                                   "--lpips-convention needs LPIPS weights (--lpips FILE or "
                                   "FACET_LPIPS)");
        l->convention = (facet_lpips_convention)c;
    }
    return 0;
}

facet_status cli_lpips_load(cli_lpips *l, facet_nn_device device) {
    if (!l->path) return FACET_OK;
    facet_status s = facet_lpips_load(&l->model, l->path, device);
    if (s != FACET_OK)
        return facet_error_context("LPIPS weights (%s)",
                                   l->from_environment ? "FACET_LPIPS" : "--lpips");
    /* the protocol record: a JSON object, the file name escaped by cJSON */
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o &&
        cJSON_AddStringToObject(o, "net", facet_lpips_net_name(facet_lpips_net_of(l->model))) &&
        cJSON_AddStringToObject(o, "version", "0.1") &&
        cJSON_AddStringToObject(o, "convention", facet_lpips_convention_name(l->convention)) &&
        cJSON_AddStringToObject(o, "weights", l->path))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text || strlen(text) >= sizeof l->protocol) {
        cJSON_free(text);
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "LPIPS weights path too long: %s", l->path);
    }
    strcpy(l->protocol, text);
    cJSON_free(text);
    return FACET_OK;
}

facet_status cli_lpips_score(cli_lpips *l, const facet_image *a, const facet_image *b,
                             double *value) {
    facet_lpips_result r;
    facet_status s = facet_lpips_distance(l->model, a, b, l->convention, &r);
    *value = r.distance;
    return s;
}

void cli_lpips_free(cli_lpips *l) {
    facet_lpips_free(l->model);
    l->model = NULL;
}
