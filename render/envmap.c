#include "envmap.h"

#include "core/alloc.h"
#include "core/color.h"
#include "core/fileio.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int facet_env_convention_from_name(const char *name) {
    if (!strcmp(name, "blender") || !strcmp(name, "risesdf")) return FACET_ENV_BLENDER;
    if (!strcmp(name, "nvdiffrec")) return FACET_ENV_NVDIFFREC;
    return -1;
}

const char *facet_env_convention_name(facet_env_convention convention) {
    return convention == FACET_ENV_NVDIFFREC ? "nvdiffrec" : "blender";
}

static int is_hdr_file(const char *path) {
    const char *ext = facet_path_extension(path);
    return !strcasecmp(ext, ".exr") || !strcasecmp(ext, ".hdr") || !strcasecmp(ext, ".pic");
}

facet_status facet_envmap_load(facet_envmap *env, const char *path, facet_env_convention convention,
                               float rotation_deg, float strength) {
    memset(env, 0, sizeof *env);
    facet_status s = facet_image_read(&env->image, path, 3);
    if (s != FACET_OK) return facet_error_context("environment map");
    if (!is_hdr_file(path)) {
        size_t n = (size_t)env->image.width * env->image.height * 3;
        for (size_t i = 0; i < n; i++)
            env->image.data[i] = facet_srgb_to_linear(env->image.data[i]);
    }
    env->path = facet_strdup(path);
    if (!env->path) {
        facet_envmap_free(env);
        return facet_last_status();
    }
    env->view.rgb = env->image.data;
    env->view.width = env->image.width;
    env->view.height = env->image.height;
    env->view.convention = convention;
    env->view.strength = strength;
    facet_envmap_set_rotation(env, rotation_deg);
    return FACET_OK;
}

void facet_envmap_set_rotation(facet_envmap *env, float rotation_deg) {
    const double radians = rotation_deg * 3.14159265358979323846 / 180.0;
    env->rotation_deg = rotation_deg;
    env->view.rotation_cos = (float)cos(radians);
    env->view.rotation_sin = (float)sin(radians);
}

void facet_envmap_free(facet_envmap *env) {
    facet_image_free(&env->image);
    free(env->path);
    memset(env, 0, sizeof *env);
}

uint64_t facet_envmap_fingerprint(const facet_envmap_view *env) {
    const size_t count = (size_t)env->width * env->height * 3;
    const size_t step = count > 4096 ? count / 4096 : 1;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < count; i += step) {
        uint32_t bits;
        memcpy(&bits, &env->rgb[i], sizeof bits);
        h = (h ^ bits) * 1099511628211ULL;
    }
    return h;
}
