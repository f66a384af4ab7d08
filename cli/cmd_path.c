/* facet path: writes a camera_path.json (render/camera_path.h) without the viewer: an orbit, or a
 * smooth path through dataset cameras or save-view files, with kappa and lighting keyframes. */
#include "args.h"
#include "commands.h"

#include "core/alloc.h"
#include "core/json.h"
#include "datasets/dataset.h"
#include "nodes/builtin.h"
#include "render/camera_path.h"
#include "render/scene.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: facet path orbit --center X,Y,Z --radius R [--elevation DEG] [--azimuth DEG]\n"
    "                        [--up z|y|X,Y,Z] [--frames N] [common options]\n"
    "       facet path interpolate (--cameras TRANSFORMS [--split S] [--keys I,J,...] |\n"
    "                               --views VIEW.json VIEW.json ...) [--seconds S]\n"
    "                               [common options]\n"
    "common options: [--fps F] [--fov DEG] [--width W --height H] [--kappa OBJECT=KEYS]...\n"
    "                [--env-rotation KEYS] [--scene SCENE] --out camera_path.json\n"
    "\n"
    "Writes a camera path in nerfstudio's camera_path.json format, with facet's kappa and\n"
    "environment keyframes, for `facet render SCENE --path FILE [--video OUT.mp4]`.\n"
    "\n"
    "orbit        a full circle of --frames cameras (default 120) around --center at distance\n"
    "             --radius, --elevation degrees above the horizontal plane (default 20),\n"
    "             starting at --azimuth degrees (default 0: on +x for z up, +z for y up) and\n"
    "             turning counter-clockwise seen from above; --up is the world's up axis\n"
    "             (default z, as Blender and NeRF-synthetic scenes)\n"
    "interpolate  a smooth path through keyframe cameras: positions on a Catmull-Rom spline,\n"
    "             rotations by slerp, field of view linearly; keyframes evenly spaced over\n"
    "             --seconds (default: 2 s per keyframe gap). Keyframes are the frames of a\n"
    "             dataset (--cameras, optionally --split and --keys: their indices in the\n"
    "             split), or `save-view` files of the viewer (--views), whose \"facet_kappa\"\n"
    "             becomes kappa keyframes. Size and field of view default to the first\n"
    "             keyframe's\n"
    "\n"
    "  --fps F            frames per second (default 30)\n"
    "  --fov DEG          vertical field of view (orbit default 50; interpolate: the cameras')\n"
    "  --width/--height   image size (orbit default 800 x 800)\n"
    "  --kappa OBJ=KEYS   kappa keyframes TIME:VALUE,...; TIME is a frame index or seconds (2s):\n"
    "                     --kappa drawer=0:0,2s:1 opens the drawer over the first two seconds\n"
    "                     (values hold before the first and after the last key); repeatable\n"
    "  --env-rotation KEYS  environment rotation keyframes in degrees: 0:0,4s:360\n"
    "  --scene SCENE      write poses in SCENE's model frame (LiveScene: after the weights'\n"
    "                     dataparser transform), as nerfstudio's viewer exports them; without it\n"
    "                     the file is marked \"facet_frame\": \"world\" (the scene's own frame)\n"
    "  --out FILE         the camera_path.json to write (atomically)\n"
    "\n"
    "examples:\n"
    "  facet path orbit --center 0,0,0.5 --radius 4 --elevation 25 --frames 240 \\\n"
    "      --kappa drawer=0:0,4s:1 --out out/orbit.json\n"
    "  facet path interpolate --cameras assets/demo/data --split test --seconds 6 \\\n"
    "      --out out/fly.json\n";

typedef struct common_options {
    double fps, fov;
    int width, height, has_fov;
    const char *kappa[64];
    int kappa_count;
    const char *env_rotation, *scene, *out;
} common_options;

static int parse_vec3(const char *text, double out[3]) {
    char *end;
    for (int i = 0; i < 3; i++) {
        out[i] = strtod(text, &end);
        if (end == text || !isfinite(out[i]) || (i < 2 && *end != ',') || (i == 2 && *end))
            return -1;
        text = end + 1;
    }
    return 0;
}

static int parse_double(const char *text, double min, double max, double *out) {
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !(v >= min && v <= max)) return -1;
    *out = v;
    return 0;
}

/* Keyframes, frame choice and writing, shared by both modes. */
static int finish(facet_camera_path *path, const common_options *o) {
    int status = 0;
    for (int i = 0; i < o->kappa_count && status == 0; i++) {
        const char *eq = strchr(o->kappa[i], '=');
        char object[256];
        if (!eq || eq == o->kappa[i] || (size_t)(eq - o->kappa[i]) >= sizeof object) {
            status = cli_usage_error("path", "--kappa needs OBJECT=TIME:VALUE,..., got '%s'",
                                     o->kappa[i]);
            break;
        }
        memcpy(object, o->kappa[i], (size_t)(eq - o->kappa[i]));
        object[eq - o->kappa[i]] = '\0';
        if (facet_camera_path_add_keys(path, object, eq + 1) != FACET_OK)
            status = cli_usage_error("path", "--kappa: %s", facet_last_error());
    }
    if (status == 0 && o->env_rotation &&
        facet_camera_path_add_keys(path, NULL, o->env_rotation) != FACET_OK)
        status = cli_usage_error("path", "--env-rotation: %s", facet_last_error());
    if (status == 0) {
        path->frame = FACET_PATH_FRAME_WORLD;
        if (o->scene) {
            facet_scene scene;
            facet_model_frame model;
            if (facet_register_builtin_node_kinds() != FACET_OK ||
                facet_scene_load(&scene, o->scene) != FACET_OK)
                return cli_library_error();
            if (facet_scene_model_frame(&scene, &model) != FACET_OK) status = cli_library_error();
            for (int i = 0; i < o->kappa_count && status == 0; i++) {
                char object[256];
                size_t n = (size_t)(strchr(o->kappa[i], '=') - o->kappa[i]);
                memcpy(object, o->kappa[i], n);
                object[n] = '\0';
                float unused;
                if (facet_scene_get_kappa(&scene, object, &unused) != FACET_OK)
                    status = cli_usage_error("path", "--kappa: %s", facet_last_error());
            }
            facet_scene_free(&scene);
            if (status == 0) facet_camera_path_to_model_frame(path, &model);
        }
    }
    if (status == 0 && facet_camera_path_save(path, o->out) != FACET_OK)
        status = cli_library_error();
    if (status == 0)
        fprintf(stderr, "facet path: wrote %s (%d frames, %d x %d, %g fps, %s frame)\n", o->out,
                path->count, path->width, path->height, path->fps,
                path->frame == FACET_PATH_FRAME_MODEL ? "model" : "world");
    return status;
}

/* Parses one common option at argv[*i]; 1 when it was one, 0 when not, or a usage error. */
static int common_flag(int argc, char **argv, int *i, common_options *o, int *status) {
    const char *v = NULL;
    int r;
    static const char *const names[] = {"--fps",   "--fov",   "--width", "--height",
                                        "--kappa", "--scene", "--out",   "--env-rotation"};
    for (int n = 0; n < 8; n++) {
        if ((r = cli_flag_value(argc, argv, i, names[n], &v)) == 0) continue;
        if (r < 0) {
            *status = cli_usage_error("path", "%s needs a value", names[n]);
            return 1;
        }
        int bad = 0;
        switch (n) {
        case 0:
            bad = parse_double(v, 1e-3, 1000.0, &o->fps);
            break;
        case 1:
            bad = parse_double(v, 1e-3, 179.9, &o->fov);
            o->has_fov = 1;
            break;
        case 2:
            bad = cli_parse_int(v, 1, 16384, &o->width);
            break;
        case 3:
            bad = cli_parse_int(v, 1, 16384, &o->height);
            break;
        case 4:
            if (o->kappa_count == 64)
                bad = 1;
            else
                o->kappa[o->kappa_count++] = v;
            break;
        case 5:
            o->scene = v;
            break;
        case 6:
            o->out = v;
            break;
        case 7:
            o->env_rotation = v;
            break;
        }
        if (bad) *status = cli_usage_error("path", "%s: bad value '%s'", names[n], v);
        return 1;
    }
    return 0;
}

static int check_common(const common_options *o) {
    if (!o->out) return cli_usage_error("path", "missing --out FILE");
    if ((o->width == 0) != (o->height == 0))
        return cli_usage_error("path", "--width and --height go together");
    return 0;
}

static int cmd_orbit(int argc, char **argv) {
    common_options o = {.fps = 30.0, .fov = 50.0};
    const char *center = NULL, *radius = NULL, *up_text = "z";
    double elevation = 20.0, azimuth = 0.0;
    int frames = 120, status = 0;
    for (int i = 1; i < argc && status == 0; i++) {
        const char *v = NULL;
        int r;
        if (common_flag(argc, argv, &i, &o, &status)) continue;
        CLI_FLAG("path", "--center", center)
        CLI_FLAG("path", "--radius", radius)
        CLI_FLAG("path", "--up", up_text)
        if ((r = cli_flag_value(argc, argv, &i, "--elevation", &v)) != 0) {
            if (r < 0 || parse_double(v, -89.9, 89.9, &elevation))
                return cli_usage_error("path", "--elevation needs degrees in (-90, 90)");
            continue;
        }
        if ((r = cli_flag_value(argc, argv, &i, "--azimuth", &v)) != 0) {
            if (r < 0 || parse_double(v, -1e6, 1e6, &azimuth))
                return cli_usage_error("path", "--azimuth needs degrees");
            continue;
        }
        if ((r = cli_flag_value(argc, argv, &i, "--frames", &v)) != 0) {
            if (r < 0 || cli_parse_int(v, 1, 10000000, &frames))
                return cli_usage_error("path", "--frames needs a count >= 1");
            continue;
        }
        return cli_usage_error("path", "orbit: unknown argument '%s'", argv[i]);
    }
    if (status) return status;
    if ((status = check_common(&o)) != 0) return status;
    double c[3], up[3], rad;
    if (!center || parse_vec3(center, c))
        return cli_usage_error("path", "orbit needs --center X,Y,Z");
    if (!radius || parse_double(radius, 1e-9, 1e12, &rad))
        return cli_usage_error("path", "orbit needs --radius R > 0");
    if (!strcmp(up_text, "z"))
        up[0] = 0, up[1] = 0, up[2] = 1;
    else if (!strcmp(up_text, "y"))
        up[0] = 0, up[1] = 1, up[2] = 0;
    else if (parse_vec3(up_text, up) || (up[0] == 0 && up[1] == 0 && up[2] == 0))
        return cli_usage_error("path", "--up must be z, y or a non-zero X,Y,Z");
    facet_camera_path path;
    if (facet_camera_path_orbit(&path, c, up, rad, elevation, azimuth, frames, o.fov, o.fps,
                                o.width ? o.width : 800, o.height ? o.height : 800) != FACET_OK)
        return cli_library_error();
    status = finish(&path, &o);
    facet_camera_path_free(&path);
    return status;
}

/* A keyframe from a camera: its pose and vertical field of view. */
static facet_pose_key key_from(const double c2w[16], double fy, int height) {
    facet_pose_key k;
    memcpy(k.c2w, c2w, sizeof k.c2w);
    k.fov_deg = facet_vertical_fov_deg(fy, height);
    k.time = 0.0;
    return k;
}

/* A save-view file's "facet_kappa" object -> kappa keyframes at `frame`. */
static facet_status view_kappa(const char *file, facet_camera_path *path, int frame,
                               const common_options *o) {
    facet_doc doc;
    facet_status s = facet_json_load(&doc, file);
    if (s != FACET_OK) return s;
    const cJSON *kappa = cJSON_GetObjectItemCaseSensitive(doc.root, "facet_kappa"), *v;
    if (kappa && (s = facet_json_object(&doc, kappa, "facet_kappa")) != FACET_OK) {
        facet_doc_free(&doc);
        return s;
    }
    cJSON_ArrayForEach(v, kappa) {
        int overridden = 0; /* --kappa for this object wins */
        for (int i = 0; i < o->kappa_count; i++)
            overridden |= !strncmp(o->kappa[i], v->string, strlen(v->string)) &&
                          o->kappa[i][strlen(v->string)] == '=';
        if (overridden) continue;
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1)) {
            s = facet_fail(FACET_ERR_FORMAT, "%s: key 'facet_kappa.%s': expected a kappa in [0, 1]",
                           file, v->string);
            break;
        }
        if ((s = facet_camera_path_set_key(path, frame, v->string, (float)v->valuedouble)) !=
            FACET_OK)
            break;
    }
    facet_doc_free(&doc);
    return s;
}

static int cmd_interpolate(int argc, char **argv) {
    common_options o = {.fps = 30.0};
    const char *cameras = NULL, *split_name = "all", *keys_text = NULL, *views[256];
    int view_count = 0, status = 0;
    double seconds = -1.0;
    for (int i = 1; i < argc && status == 0; i++) {
        const char *v = NULL;
        int r;
        if (common_flag(argc, argv, &i, &o, &status)) continue;
        CLI_FLAG("path", "--cameras", cameras)
        CLI_FLAG("path", "--split", split_name)
        CLI_FLAG("path", "--keys", keys_text)
        if ((r = cli_flag_value(argc, argv, &i, "--seconds", &v)) != 0) {
            if (r < 0 || parse_double(v, 1e-3, 1e6, &seconds))
                return cli_usage_error("path", "--seconds needs a duration > 0");
            continue;
        }
        if (!strcmp(argv[i], "--views")) {
            while (i + 1 < argc && argv[i + 1][0] != '-' && view_count < 256)
                views[view_count++] = argv[++i];
            continue;
        }
        return cli_usage_error("path", "interpolate: unknown argument '%s'", argv[i]);
    }
    if (status) return status;
    if ((status = check_common(&o)) != 0) return status;
    if ((cameras != NULL) == (view_count > 0))
        return cli_usage_error("path", "interpolate needs --cameras TRANSFORMS or --views FILES");
    int split = facet_split_from_name(split_name);
    if (split < 0) return cli_usage_error("path", "--split must be train, val, test or all");

    facet_pose_key *keys = NULL;
    int key_count = 0, width = 0, height = 0;
    int *view_frames = NULL; /* per keyframe: its index among views (kappa) */
    if (cameras) {
        facet_dataset ds;
        if (facet_dataset_load(&ds, cameras, (facet_split)split) != FACET_OK)
            return cli_library_error();
        keys = facet_alloc((size_t)ds.frame_count + 1, sizeof *keys);
        if (!keys) status = cli_library_error();
        if (status == 0 && keys_text) {
            const char *p = keys_text;
            while (*p && status == 0) {
                char *end;
                long k = strtol(p, &end, 10);
                if (end == p || k < 0 || k >= ds.frame_count || (*end && *end != ',') ||
                    key_count >= ds.frame_count)
                    status = cli_usage_error("path",
                                             "--keys '%s': expected frame indices 0..%d, "
                                             "comma-separated",
                                             keys_text, ds.frame_count - 1);
                else {
                    const facet_frame *f = &ds.frames[k];
                    keys[key_count++] = key_from(f->c2w, f->fy, f->height);
                }
                p = *end ? end + 1 : end;
            }
        } else if (status == 0) {
            for (int k = 0; k < ds.frame_count; k++)
                keys[key_count++] =
                    key_from(ds.frames[k].c2w, ds.frames[k].fy, ds.frames[k].height);
        }
        if (ds.frame_count > 0) {
            width = ds.frames[0].width;
            height = ds.frames[0].height;
        }
        facet_dataset_free(&ds);
    } else {
        keys = facet_alloc((size_t)view_count, sizeof *keys);
        view_frames = facet_alloc((size_t)view_count, sizeof *view_frames);
        if (!keys || !view_frames) status = cli_library_error();
        for (int v = 0; v < view_count && status == 0; v++) {
            facet_dataset ds;
            if (facet_dataset_load(&ds, views[v], FACET_SPLIT_ALL) != FACET_OK) {
                status = cli_library_error();
                break;
            }
            if (ds.frame_count != 1) {
                status = cli_error("%s: a save-view file holds one camera, this one %d", views[v],
                                   ds.frame_count);
            } else {
                keys[key_count++] =
                    key_from(ds.frames[0].c2w, ds.frames[0].fy, ds.frames[0].height);
                if (v == 0) {
                    width = ds.frames[0].width;
                    height = ds.frames[0].height;
                }
            }
            facet_dataset_free(&ds);
        }
    }
    if (status == 0 && key_count < 1) status = cli_error("no keyframe cameras");
    if (status == 0) {
        if (seconds < 0) seconds = 2.0 * (key_count > 1 ? key_count - 1 : 1);
        for (int k = 0; k < key_count; k++) {
            keys[k].time = key_count > 1 ? seconds * k / (key_count - 1) : 0.0;
            if (o.has_fov) keys[k].fov_deg = o.fov;
        }
    }
    facet_camera_path path = {0};
    if (status == 0 && key_count > 1 &&
        facet_camera_path_interpolate(&path, keys, key_count, o.fps, o.width ? o.width : width,
                                      o.height ? o.height : height) != FACET_OK)
        status = cli_library_error();
    /* a single keyframe: a still of `seconds` */
    if (status == 0 && key_count == 1) {
        facet_camera_path still;
        keys[0].time = 0.0;
        facet_pose_key two[2] = {keys[0], keys[0]};
        two[1].time = seconds;
        if (facet_camera_path_interpolate(&still, two, 2, o.fps, o.width ? o.width : width,
                                          o.height ? o.height : height) != FACET_OK)
            status = cli_library_error();
        else
            path = still;
    }
    for (int v = 0; v < view_count && status == 0; v++) {
        int frame = (int)lround(keys[v].time * o.fps);
        if (frame >= path.count) frame = path.count - 1;
        if (view_kappa(views[v], &path, frame, &o) != FACET_OK) status = cli_library_error();
    }
    if (status == 0) status = finish(&path, &o);
    facet_camera_path_free(&path);
    free(keys);
    free(view_frames);
    return status;
}

int facet_cmd_path(int argc, char **argv) {
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "orbit")) return cmd_orbit(argc - 1, argv + 1);
    if (!strcmp(argv[1], "interpolate")) return cmd_interpolate(argc - 1, argv + 1);
    return cli_usage_error("path", "unknown mode '%s' (orbit or interpolate)", argv[1]);
}
