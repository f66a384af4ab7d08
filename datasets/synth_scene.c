#include "synth_scene.h"

#include "core/alloc.h"
#include "core/color.h"
#include "core/fileio.h"
#include "core/image.h"
#include "core/json.h"
#include "core/npy.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "core/vecmath.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LABEL_DRAWER = 0, LABEL_DOOR = 1, LABEL_BACKGROUND = 2, MAX_BOXES = 16 };

typedef enum material {
    MATERIAL_FLOOR,   /* grey checker tiles */
    MATERIAL_WOOD,    /* cabinet body: warm stripes */
    MATERIAL_DRAWER,  /* blue panel with a light border */
    MATERIAL_DOOR,    /* green panel with vertical grooves */
    MATERIAL_HANDLE,  /* dark metal */
    MATERIAL_INTERIOR /* dark inside the cabinet */
} material;

/* An oriented box: centre, half sizes along its local axes, rotation about world z. */
typedef struct box {
    facet_vec3 centre, half;
    float yaw; /* radians about +z */
    material mat;
    int label;
} box;

static int build_scene(facet_synth_state state, box *boxes) {
    int n = 0;
    const float pi = 3.14159265f;
    /* floor tile and cabinet body (front face at y = -0.4) */
    boxes[n++] = (box){{0, 0, -0.05f}, {1.4f, 1.4f, 0.05f}, 0, MATERIAL_FLOOR, LABEL_BACKGROUND};
    boxes[n++] = (box){{0, 0.05f, 0.55f}, {0.6f, 0.45f, 0.55f}, 0, MATERIAL_WOOD, LABEL_BACKGROUND};
    /* dark recess behind the door, visible when it opens */
    boxes[n++] =
        (box){{0, -0.395f, 0.3f}, {0.5f, 0.01f, 0.24f}, 0, MATERIAL_INTERIOR, LABEL_BACKGROUND};
    /* drawer: front panel, body and handle, slid out along -y by 0.45 kappa */
    const float out = 0.45f * state.drawer;
    boxes[n++] =
        (box){{0, -0.43f - out, 0.82f}, {0.52f, 0.03f, 0.16f}, 0, MATERIAL_DRAWER, LABEL_DRAWER};
    boxes[n++] =
        (box){{0, -0.1f - out, 0.8f}, {0.48f, 0.32f, 0.12f}, 0, MATERIAL_DRAWER, LABEL_DRAWER};
    boxes[n++] =
        (box){{0, -0.49f - out, 0.84f}, {0.14f, 0.03f, 0.025f}, 0, MATERIAL_HANDLE, LABEL_DRAWER};
    /* door: hinged on the vertical axis x = -0.52, y = -0.43; opens towards -y */
    const float angle = -state.door * 100.0f * pi / 180.0f;
    const float c = cosf(angle), s = sinf(angle);
    const facet_vec3 hinge = {-0.52f, -0.43f, 0.3f};
    const facet_vec3 panel = {0.5f, 0.0f, 0.0f}, knob = {0.88f, -0.05f, 0.05f};
    boxes[n++] =
        (box){{hinge.x + c * panel.x - s * panel.y, hinge.y + s * panel.x + c * panel.y, hinge.z},
              {0.5f, 0.025f, 0.25f},
              angle,
              MATERIAL_DOOR,
              LABEL_DOOR};
    boxes[n++] = (box){
        {hinge.x + c * knob.x - s * knob.y, hinge.y + s * knob.x + c * knob.y, hinge.z + knob.z},
        {0.035f, 0.04f, 0.1f},
        angle,
        MATERIAL_HANDLE,
        LABEL_DOOR};
    return n;
}

/* Ray-box intersection in the box frame: returns the entry distance (or INFINITY) and the
 * world-space normal and local hit point. */
static float intersect(const box *b, facet_vec3 o, facet_vec3 d, facet_vec3 *normal,
                       facet_vec3 *local_hit) {
    const float c = cosf(-b->yaw), s = sinf(-b->yaw);
    facet_vec3 p = facet_v3_sub(o, b->centre);
    facet_vec3 lo = {c * p.x - s * p.y, s * p.x + c * p.y, p.z};
    facet_vec3 ld = {c * d.x - s * d.y, s * d.x + c * d.y, d.z};
    const float origin[3] = {lo.x, lo.y, lo.z}, dir[3] = {ld.x, ld.y, ld.z};
    const float half[3] = {b->half.x, b->half.y, b->half.z};
    float t_near = -INFINITY, t_far = INFINITY;
    int axis = 0;
    for (int i = 0; i < 3; i++) {
        if (fabsf(dir[i]) < 1e-12f) {
            if (fabsf(origin[i]) > half[i]) return INFINITY;
            continue;
        }
        float t1 = (-half[i] - origin[i]) / dir[i], t2 = (half[i] - origin[i]) / dir[i];
        if (t1 > t2) {
            float t = t1;
            t1 = t2;
            t2 = t;
        }
        if (t1 > t_near) {
            t_near = t1;
            axis = i;
        }
        if (t2 < t_far) t_far = t2;
    }
    if (t_near > t_far || t_far < 0.0f || t_near < 0.0f) return INFINITY;
    float n_local[3] = {0, 0, 0};
    n_local[axis] = dir[axis] > 0 ? -1.0f : 1.0f;
    const float cw = cosf(b->yaw), sw = sinf(b->yaw);
    *normal =
        facet_v3(cw * n_local[0] - sw * n_local[1], sw * n_local[0] + cw * n_local[1], n_local[2]);
    *local_hit = facet_v3_add(lo, facet_v3_scale(ld, t_near));
    return t_near;
}

/* Linear albedo of a material at a local hit point (box-centred coordinates). */
static facet_vec3 albedo(const box *b, facet_vec3 q) {
    switch (b->mat) {
    case MATERIAL_FLOOR: {
        int checker = ((int)floorf(q.x * 2.5f + 10.0f) + (int)floorf(q.y * 2.5f + 10.0f)) & 1;
        return checker ? facet_v3(0.55f, 0.55f, 0.52f) : facet_v3(0.25f, 0.26f, 0.28f);
    }
    case MATERIAL_WOOD: {
        float grain = 0.5f + 0.5f * sinf(q.z * 40.0f + 3.0f * sinf(q.x * 7.0f));
        return facet_v3(0.45f + 0.15f * grain, 0.25f + 0.08f * grain, 0.1f + 0.04f * grain);
    }
    case MATERIAL_DRAWER: {
        int border = fabsf(q.x) > b->half.x - 0.05f || fabsf(q.z) > b->half.z - 0.04f;
        return border ? facet_v3(0.8f, 0.8f, 0.75f) : facet_v3(0.1f, 0.25f, 0.6f);
    }
    case MATERIAL_DOOR: {
        int groove = fmodf(q.x + 1.0f, 0.2f) < 0.03f;
        return groove ? facet_v3(0.05f, 0.2f, 0.05f) : facet_v3(0.15f, 0.5f, 0.2f);
    }
    case MATERIAL_HANDLE:
        return facet_v3(0.08f, 0.08f, 0.09f);
    case MATERIAL_INTERIOR:
        return facet_v3(0.06f, 0.04f, 0.03f);
    }
    return facet_v3(1, 0, 1);
}

/* Radiance along one ray: linear RGB and the label of what it hits (background when nothing). */
static facet_vec3 trace(const box *boxes, int n, facet_vec3 o, facet_vec3 d, int *label) {
    float best = INFINITY;
    int hit = -1;
    facet_vec3 normal = {0, 0, 1}, local = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        facet_vec3 nrm = {0, 0, 1}, q = {0, 0, 0};
        float t = intersect(&boxes[i], o, d, &nrm, &q);
        if (t < best) {
            best = t;
            hit = i;
            normal = nrm;
            local = q;
        }
    }
    if (hit < 0) {
        *label = LABEL_BACKGROUND;
        return facet_v3(1, 1, 1); /* white background, as LiveScene composites */
    }
    *label = boxes[hit].label;
    const facet_vec3 sun = facet_v3_normalize(facet_v3(0.4f, -0.6f, 0.7f));
    float lambert = fmaxf(facet_v3_dot(normal, sun), 0.0f);
    /* hard shadow from the sun */
    facet_vec3 p = facet_v3_add(o, facet_v3_scale(d, best));
    facet_vec3 shadow_origin = facet_v3_add(p, facet_v3_scale(normal, 1e-3f));
    for (int i = 0; i < n && lambert > 0.0f; i++) {
        facet_vec3 nrm = {0, 0, 1}, q = {0, 0, 0};
        if (i != hit && intersect(&boxes[i], shadow_origin, sun, &nrm, &q) < INFINITY) lambert = 0;
    }
    float sky = 0.35f + 0.25f * normal.z;
    return facet_v3_scale(albedo(&boxes[hit], local), 1.6f * lambert + sky);
}

void facet_synth_render(const float c2w[16], float camera_angle_x, int width, int height,
                        int samples, facet_synth_state state, float *rgb, unsigned char *labels) {
    box boxes[MAX_BOXES];
    const int n = build_scene(state, boxes);
    const float focal = 0.5f * (float)width / tanf(0.5f * camera_angle_x);
    const facet_vec3 origin = {c2w[3], c2w[7], c2w[11]};
    FACET_PARALLEL_FOR(pixel, 0, (int64_t)width * height) {
        const int i = (int)(pixel % width), j = (int)(pixel / width);
        facet_vec3 sum = {0, 0, 0};
        for (int sy = 0; sy < samples; sy++)
            for (int sx = 0; sx < samples; sx++) {
                float x = (float)i + ((float)sx + 0.5f) / (float)samples;
                float y = (float)j + ((float)sy + 0.5f) / (float)samples;
                facet_vec3 local = {(x - 0.5f * width) / focal, -(y - 0.5f * height) / focal, -1};
                facet_vec3 d = {c2w[0] * local.x + c2w[1] * local.y + c2w[2] * local.z,
                                c2w[4] * local.x + c2w[5] * local.y + c2w[6] * local.z,
                                c2w[8] * local.x + c2w[9] * local.y + c2w[10] * local.z};
                int label;
                sum = facet_v3_add(sum, trace(boxes, n, origin, facet_v3_normalize(d), &label));
            }
        sum = facet_v3_scale(sum, 1.0f / (float)(samples * samples));
        rgb[pixel * 3 + 0] = facet_linear_to_srgb(sum.x);
        rgb[pixel * 3 + 1] = facet_linear_to_srgb(sum.y);
        rgb[pixel * 3 + 2] = facet_linear_to_srgb(sum.z);
        facet_vec3 local = {((float)i + 0.5f - 0.5f * width) / focal,
                            -((float)j + 0.5f - 0.5f * height) / focal, -1};
        facet_vec3 d = {c2w[0] * local.x + c2w[1] * local.y + c2w[2] * local.z,
                        c2w[4] * local.x + c2w[5] * local.y + c2w[6] * local.z,
                        c2w[8] * local.x + c2w[9] * local.y + c2w[10] * local.z};
        int label;
        trace(boxes, n, origin, facet_v3_normalize(d), &label);
        labels[pixel] = (unsigned char)label;
    }
}

/* Camera i of n on a spiral around the cabinet, looking at its centre. */
static void camera_pose(int i, int n, float c2w[16]) {
    const float golden = 2.39996323f;
    float azimuth = (float)i * golden;
    float elevation = 0.25f + 0.45f * ((float)i + 0.5f) / (float)n; /* radians above the floor */
    const float radius = 3.3f;
    facet_vec3 target = {0, 0, 0.45f};
    facet_vec3 eye = {target.x + radius * cosf(elevation) * cosf(azimuth),
                      target.y + radius * cosf(elevation) * sinf(azimuth) - 0.6f,
                      target.z + radius * sinf(elevation)};
    facet_vec3 back = facet_v3_normalize(facet_v3_sub(eye, target)); /* camera +z */
    facet_vec3 right = facet_v3_normalize(facet_v3_cross(facet_v3(0, 0, 1), back));
    facet_vec3 up = facet_v3_cross(back, right);
    const float m[16] = {right.x, up.x, back.x, eye.x, right.y, up.y, back.y, eye.y,
                         right.z, up.z, back.z, eye.z, 0,       0,    0,      1};
    memcpy(c2w, m, sizeof m);
}

/* Frame kappa: in each split (even / odd frames) the first two frames pin 0 and 1 for both
 * objects so per-split min-max normalisation is the identity; the rest is uniform random. */
static facet_synth_state frame_state(int i, facet_rng *rng) {
    facet_synth_state s;
    s.drawer = facet_rng_uniform(rng);
    s.door = facet_rng_uniform(rng);
    if (i < 2) s.drawer = s.door = 0.0f;
    if (i == 2 || i == 3) s.drawer = s.door = 1.0f;
    return s;
}

static facet_status write_text(const char *dir, const char *name, const char *text) {
    char *path = facet_path_join(dir, name);
    facet_status s = path ? facet_write_file_atomic(path, text, strlen(text)) : facet_last_status();
    free(path);
    return s;
}

facet_status facet_synth_write(const char *out, const facet_synth_options *options) {
    const int frames = options->frames > 0 ? options->frames : 60;
    const int width = options->width > 0 ? options->width : 128;
    const int height = options->height > 0 ? options->height : 128;
    const int samples = options->samples > 0 ? options->samples : 3;
    const float fov = options->camera_angle_x > 0 ? options->camera_angle_x : 0.8f;
    if (frames < 4)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "the scene needs at least 4 frames, got %d",
                          frames);
    char *images_dir = facet_path_join(out, "images"), *masks_dir = facet_path_join(out, "masks");
    facet_status s = images_dir && masks_dir ? facet_make_dirs(images_dir) : facet_last_status();
    if (s == FACET_OK) s = facet_make_dirs(masks_dir);
    facet_image img = {0};
    facet_tensor mask = {0};
    unsigned char *labels = facet_alloc((size_t)width * height, 1);
    if (!labels) s = facet_last_status();
    if (s == FACET_OK) s = facet_image_alloc(&img, width, height, 3);
    const int64_t mask_shape[3] = {height, width, 3};
    if (s == FACET_OK) s = facet_tensor_alloc(&mask, FACET_DTYPE_BOOL, 3, mask_shape);
    cJSON *transforms = cJSON_CreateObject(), *list = cJSON_CreateArray();
    cJSON_AddNumberToObject(transforms, "camera_angle_x", fov);
    cJSON_AddItemToObject(transforms, "frames", list);
    size_t kfv_size = (size_t)frames * 64 + 64, kfv_used = 0;
    char *kfv = facet_alloc(kfv_size, 1);
    if (!kfv) s = facet_last_status();
    facet_rng rng = facet_rng_seed(options->seed, 3);
    if (options->progress && s == FACET_OK)
        facet_progress_begin(options->progress, "render", "img", frames);
    for (int i = 0; i < frames && s == FACET_OK; i++) {
        float c2w[16];
        camera_pose(i, frames, c2w);
        facet_synth_state state = frame_state(i, &rng);
        facet_synth_render(c2w, fov, width, height, samples, state, img.data, labels);
        char name[32], path[64];
        snprintf(name, sizeof name, "frame_%05d", i + 1);
        snprintf(path, sizeof path, "images/%s.png", name);
        char *file = facet_path_join(out, path);
        s = file ? facet_image_write_png(&img, file) : facet_last_status();
        free(file);
        uint8_t *m = mask.data;
        for (int64_t p = 0; p < (int64_t)width * height; p++)
            for (int k = 0; k < 3; k++) m[p * 3 + k] = labels[p] == k;
        snprintf(path, sizeof path, "masks/%05d.npy", i + 1);
        file = facet_path_join(out, path);
        if (s == FACET_OK) s = file ? facet_npy_write(&mask, file) : facet_last_status();
        free(file);
        cJSON *frame = cJSON_CreateObject();
        snprintf(path, sizeof path, "./images/%s", name);
        cJSON_AddStringToObject(frame, "file_path", path);
        cJSON *matrix = cJSON_AddArrayToObject(frame, "transform_matrix");
        for (int r = 0; r < 4; r++)
            cJSON_AddItemToArray(matrix, cJSON_CreateFloatArray(c2w + r * 4, 4));
        cJSON_AddItemToArray(list, frame);
        kfv_used += (size_t)snprintf(kfv + kfv_used, kfv_size - kfv_used,
                                     "%s:\n  drawer: %.6f\n  door: %.6f\n", name,
                                     (double)state.drawer, (double)state.door);
        if (options->progress) facet_progress_advance(options->progress, 1);
    }
    if (options->progress && s == FACET_OK) facet_progress_end(options->progress);
    char *transforms_path = facet_path_join(out, "transforms.json");
    if (s == FACET_OK)
        s = transforms_path ? facet_json_write_atomic(transforms_path, transforms)
                            : facet_last_status();
    if (s == FACET_OK) s = write_text(out, "key_frame_value.yaml", kfv);
    if (s == FACET_OK) s = write_text(out, "mapping.yaml", "0: drawer\n1: door\n");
    /* scene box for `facet fit`: the cabinet, its open door and drawer, and the floor tile, in
       the scene's own frame (no normalisation) */
    if (s == FACET_OK)
        s = write_text(
            out, "facet.json",
            "{\"aabb\": [[-1.5, -1.5, -0.15], [1.5, 1.5, 1.25]], \"orientation\": \"none\", "
            "\"center\": \"none\", \"auto_scale\": false}\n");
    free(transforms_path);
    cJSON_Delete(transforms);
    free(kfv);
    free(labels);
    facet_image_free(&img);
    facet_tensor_free(&mask);
    free(images_dir);
    free(masks_dir);
    return s;
}
