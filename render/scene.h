/* The scene graph shared by the batch renderer and the viewer (docs/architecture.md, "The scene
 * graph"): an environment light, a background, an optional initial camera, and nodes of pluggable
 * kinds.
 *
 * Everything a user changes at run time (a kappa, the environment map or its rotation, the
 * camera, exposure) changes this struct in place; no node reloads its weights.
 *
 * Node kinds plug in through facet_node_kind: render/ never names a model. A kind registers once
 * (facet_node_kind_register) and is then selected by the scene file's "type". */
#ifndef FACET_RENDER_SCENE_H
#define FACET_RENDER_SCENE_H

#include "camera.h"
#include "envmap.h"

#include "core/json.h"
#include "core/status.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_scene facet_scene;
typedef struct facet_node facet_node;

/* What a node returns for one ray: premultiplied linear RGB, coverage alpha in [0,1], and the
 * distance along the ray to the surface (or the median depth; +inf when nothing is hit). */
typedef struct facet_ray_result {
    float rgb[3];
    float alpha;
    float depth;
} facet_ray_result;

typedef struct facet_node_kind {
    const char *type; /* the scene file's "type" */
    /* Allowed keys of the node's JSON object besides "type" and "name" (NULL-terminated). */
    const char *const *keys;
    /* Reads the node's JSON (`key_path` is its place in the file, e.g. "nodes[2]"), loads weights
     * (paths relative to doc->path), fills node->state and declares controllable objects with
     * facet_node_add_object. */
    facet_status (*load)(facet_node *node, const facet_doc *doc, const cJSON *json,
                         const char *key_path);
    void (*destroy)(facet_node *node);
    /* Renders `count` rays on the CPU into out[count], and, when `aux` is not NULL, the node's
     * auxiliary channels into aux[count * node->aux_channels] (LiveScene: per-object
     * probabilities). Called from several threads at once on disjoint ray batches: must not
     * modify the node. */
    facet_status (*render_cpu)(const facet_node *node, const facet_scene *scene,
                               const facet_ray *rays, int64_t count, facet_ray_result *out,
                               float *aux);
    /* The same on CUDA (NULL: the kind has no CUDA path): rays, out and aux are device pointers;
     * device_env is the scene's environment with its texels on the device. */
    facet_status (*render_cuda)(const facet_node *node, const facet_scene *scene,
                                const facet_envmap_view *device_env, const facet_ray *rays,
                                int64_t count, facet_ray_result *out, float *aux);
    /* The node's model frame (NULL: the node works in the scene's world frame): where
     * nerfstudio's camera paths put their poses (render/camera_path.h). */
    void (*model_frame)(const facet_node *node, facet_model_frame *out);
    /* Point queries of the node's field (NULL: the kind has none), the field-query API of the
     * Python package: `count` points [count, 3] and unit view directions [count, 3] (NULL: every
     * direction (0, 0, -1)) -> out[count, channels], channels named by `query_names`
     * (NULL-terminated; "density", "r", "g", "b" for LiveScene; "sdf", "albedo_r", ...,
     * "roughness", "metallic" for SDF nodes). Points and directions are in the scene's world
     * frame, densities per world unit; with `model_frame` 1, in the node's model frame and its
     * units (for a LiveScene node: exactly what the nerfstudio field computes). Uses the node's
     * current kappa. CPU; may run on several threads. */
    const char *const *query_names;
    facet_status (*query)(const facet_node *node, const float *points, const float *directions,
                          int64_t count, int model_frame, float *out);
    /* 1 when the node's colours are Monte Carlo estimates (NULL: never; the sdf node's reference
     * lighting): each facet_scene.sample_pass draws new samples, so the mean of passes 0 .. k-1
     * converges (the viewer's progressive display). */
    int (*monte_carlo)(const facet_node *node);
} facet_node_kind;

struct facet_node {
    const facet_node_kind *kind;
    char *name;
    void *state; /* the kind's own data */
    /* Controllable objects (LiveScene: drawer, door, ...) and their current kappa in [0,1]. */
    int object_count;
    char **object_names;
    float *kappa;
    char **object_descriptions; /* per object: free text for language grounding, or NULL */
    /* Auxiliary per-pixel outputs the node can render (0 when none), named for file names. */
    int aux_channels;
    char **aux_names;
};

typedef enum facet_background_mode {
    FACET_BACKGROUND_COLOR = 0,
    FACET_BACKGROUND_ENVIRONMENT,
} facet_background_mode;

struct facet_scene {
    char *path; /* the scene file (paths inside it are relative to its directory) */
    facet_background_mode background_mode;
    float background[3]; /* linear RGB, used when background_mode is COLOR (default white) */
    int has_environment;
    facet_envmap environment;
    int has_camera;
    facet_camera camera; /* initial view from the scene file */
    int node_count;
    facet_node *nodes;
    /* The pass of a progressive render (the viewer's accumulation; 0 otherwise): Monte Carlo
     * nodes (the sdf node's reference lighting) draw pass k's samples from random stream k. */
    unsigned sample_pass;
};

/* Registers a node kind (the kind struct must outlive all scenes). Re-registering a type replaces
 * nothing and fails. */
facet_status facet_node_kind_register(const facet_node_kind *kind);
/* The registered kind for `type`, or NULL. */
const facet_node_kind *facet_node_kind_find(const char *type);
/* Comma-separated registered types ("sdf, livescene") into buf, for messages. */
const char *facet_node_kind_list(char *buf, size_t size);

/* Declares a controllable object on a node (from its load function); initial kappa in [0,1]. */
facet_status facet_node_add_object(facet_node *node, const char *object, float kappa);

/* Sets the free-text description of one of the node's objects ("the top drawer of the white
 * cabinet"), used by language grounding next to the object's name. */
facet_status facet_node_set_description(facet_node *node, const char *object, const char *text);

/* Declares an auxiliary output channel of a node (from its load function). */
facet_status facet_node_add_aux(facet_node *node, const char *name);

/* Loads a scene file (docs/formats.md, "Scene file"): every error names the file and the key. */
facet_status facet_scene_load(facet_scene *scene, const char *path);
void facet_scene_free(facet_scene *scene);

/* Sets the kappa of the object named `object` (in whichever node declares it). Fails with a list
 * of the scene's objects when none is called that, and when kappa is outside [0,1]. */
facet_status facet_scene_set_kappa(facet_scene *scene, const char *object, float kappa);
/* Current kappa of `object`, or a not-found error. */
facet_status facet_scene_get_kappa(const facet_scene *scene, const char *object, float *kappa);
/* 1 when some node of the scene is a Monte Carlo estimate (facet_node_kind.monte_carlo). */
int facet_scene_monte_carlo(const facet_scene *scene);

/* Total number of controllable objects over all nodes. */
int facet_scene_object_count(const facet_scene *scene);

/* Replaces the environment map (keeps the previous one when loading fails). */
facet_status facet_scene_set_environment(facet_scene *scene, const char *path,
                                         facet_env_convention convention, float rotation_deg,
                                         float strength);

/* The scene's model frame: the frame of its nodes that declare one (LiveScene: the weights'
 * dataparser transform), identity when none does. Fails when two nodes declare different ones:
 * a model-frame camera path is then ambiguous. */
facet_status facet_scene_model_frame(const facet_scene *scene, facet_model_frame *out);
/* 1 when a node of the scene declares a model frame (facet_node_kind.model_frame), else 0. */
int facet_scene_has_model_frame(const facet_scene *scene);

/* Channels a node's query returns (0: the kind has no query). */
int facet_node_query_channels(const facet_node *node);

/* Parses "OBJECT=KAPPA" (the CLI's --set) and applies it. */
facet_status facet_scene_apply_assignment(facet_scene *scene, const char *assignment);

#ifdef __cplusplus
}
#endif
#endif
