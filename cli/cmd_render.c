/* facet render: renders a scene's own camera, or every camera of a dataset split, to images. */
#include "args.h"
#include "commands.h"

#include "video.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "datasets/dataset.h"
#include "language/control.h"
#include "nodes/builtin.h"
#include "render/batch.h"
#include "render/path_render.h"
#include "render/scene.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: facet render SCENE [--cameras TRANSFORMS] [--split S] [--set OBJECT=KAPPA]...\n"
    "                    [--env MAP] [--width W --height H] [--out DIR] [--format png|exr]\n"
    "                    [--device cpu|cuda] [--shard K/N] [--masks] [--quiet]\n"
    "                    [--command \"TEXT\"] [--spp N [--pixel-filter F] [--filter-width W]]\n"
    "       facet render SCENE --path camera_path.json [--video OUT.mp4] [--frames-dir DIR]\n"
    "                    [--frames A:B] [--shard K/N] [options above]\n"
    "\n"
    "Renders SCENE (a scene JSON file) headlessly.\n"
    "\n"
    "  --path FILE      render along a camera path: nerfstudio's camera_path.json (its viewer's\n"
    "                   export, what ns-render camera-path reads; poses in the model frame,\n"
    "                   after the dataparser transform) or one from `facet path` / the viewer.\n"
    "                   Per-entry \"facet_kappa\" and \"facet_env_rotation_deg\" keyframes "
    "animate\n"
    "                   kappa and the environment (linear between keyframes). Frame k goes to\n"
    "                   DIR/frame_%05d.png; frames already there are skipped, so a killed render\n"
    "                   resumes. --set/--command apply first; the path's keyframes override them\n"
    "  --frames-dir DIR where path frames go (default: --out, or VIDEO.frames with --video)\n"
    "  --video OUT.mp4  also encode the frames with FFmpeg (H.264, yuv420p, the path's fps);\n"
    "                   needs even width and height; the frames are kept\n"
    "  --frames A:B     only path frames A..B-1 (0-based; either side may be empty: 10:)\n"
    "\n"
    "  --cameras PATH   a dataset directory or transforms*.json: render each frame's camera to\n"
    "                   OUT/<frame name>.png (r_3.png); without it, the scene's own \"camera\"\n"
    "                   is rendered to OUT/camera.png\n"
    "  --split S        train, val, test or all (default: all) of --cameras\n"
    "  --set OBJ=K      set object OBJ's kappa (0..1) before rendering; repeatable. With\n"
    "                   --cameras and no --set, each frame's ground-truth kappa is used\n"
    "  --command TEXT   apply a language command before rendering (after --set), as\n"
    "                   `facet control SCENE TEXT` grounds it: \"open the drawer halfway\"\n"
    "  --env MAP        replace the environment map (EXR/HDR), same convention as the scene.\n"
    "                   A map is prefiltered once (about 10 s on two cores) and cached in\n"
    "                   ~/.cache/facet/lighting: FACET_CACHE_DIR=DIR moves it, =off disables\n"
    "  --width/--height render at another resolution (intrinsics scale with it)\n"
    "  --out DIR        output directory (default: out/render)\n"
    "  --format F       png (sRGB 8-bit, default) or exr (linear half float RGBA)\n"
    "  --device D       cpu (default) or cuda\n"
    "  --shard K/N      render only cameras (or path frames) i with i % N == K (0-based), for\n"
    "                   farms of machines; encode the video afterwards in one --video run\n"
    "  --masks          also write each object's probability map (LiveScene) as\n"
    "                   OUT/<frame>_mask_<object>.png (gray: probability x 255)\n"
    "  --quiet          no progress bar\n" CLI_FILTER_USAGE "\n"
    "examples:\n"
    "  facet render assets/demo/scene.json --cameras assets/demo/data --split test --out out/demo\n"
    "  facet path orbit --center 0,0,0 --radius 4 --elevation 20 --frames 120 --out orbit.json\n"
    "  facet render assets/demo/scene.json --path orbit.json --video out/orbit.mp4\n"
    "  facet render assets/demo/scene.json --spp 64    # Blender's default pixel filter\n";

/* "A:B", "A:", ":B" or "A" (one frame) within [0, count) -> [*first, *last). */
static int parse_frame_range(const char *text, int count, int *first, int *last) {
    const char *colon = strchr(text, ':');
    char a[32] = "", b[32] = "";
    size_t n = colon ? (size_t)(colon - text) : strlen(text);
    if (n >= sizeof a || (colon && strlen(colon + 1) >= sizeof b)) return -1;
    memcpy(a, text, n);
    if (colon) strcpy(b, colon + 1);
    *first = 0;
    *last = count;
    if (a[0] && cli_parse_int(a, 0, count - 1, first) != 0) return -1;
    if (!colon) *last = *first + 1;
    if (colon && b[0] && cli_parse_int(b, 1, count, last) != 0) return -1;
    return *first < *last ? 0 : -1;
}

typedef struct path_request {
    const char *file, *video, *frames_dir, *frames;
} path_request;

/* `--path`: renders the path's frames, then encodes the video when asked. */
static int render_path(facet_scene *scene, const path_request *req,
                       const facet_batch_options *batch, const char *out_dir, int out_given,
                       int quiet) {
    facet_camera_path path;
    if (facet_camera_path_load(&path, req->file) != FACET_OK) return cli_library_error();
    int status = 0;
    facet_path_render_options options = {0};
    options.render = batch->render;
    options.format = batch->format;
    options.shard = batch->shard;
    options.masks = batch->masks;
    options.progress = batch->progress;
    if (batch->width) {
        path.width = batch->width;
        path.height = batch->height;
    }
    if (req->frames && parse_frame_range(req->frames, path.count, &options.first, &options.last))
        status = cli_usage_error("render", "--frames '%s': expected A:B with 0 <= A < B <= %d",
                                 req->frames, path.count);
    else if (!req->frames)
        options.last = path.count;
    if (status == 0 && req->video) {
        if (batch->format != FACET_OUTPUT_PNG)
            status = cli_usage_error("render", "--video encodes PNG frames: drop --format exr");
        else if (batch->shard.count > 1)
            status =
                cli_usage_error("render", "--video needs every frame: render the shards with "
                                          "--frames-dir, then encode once with --video (finished "
                                          "frames are skipped)");
        else if (path.width % 2 || path.height % 2)
            status = cli_usage_error("render",
                                     "--video: H.264 in yuv420p needs an even width and height, "
                                     "the path is %d x %d (use --width/--height)",
                                     path.width, path.height);
        else if (cli_video_check() != FACET_OK)
            status = cli_library_error();
    }
    char *dir = NULL;
    if (status == 0) {
        if (req->frames_dir)
            dir = facet_strdup(req->frames_dir);
        else if (req->video && !out_given)
            dir = facet_format("%s.frames", req->video);
        else
            dir = facet_strdup(out_dir);
        if (!dir) status = cli_library_error();
    }
    int rendered = 0, skipped = 0;
    if (status == 0 &&
        facet_path_render(scene, &path, &options, dir, &rendered, &skipped) != FACET_OK)
        status = cli_library_error();
    if (status == 0 && !quiet)
        fprintf(stderr, "facet render: %d frame%s in %s%s\n", rendered, rendered == 1 ? "" : "s",
                dir, skipped ? " (finished frames from an earlier run kept)" : "");
    if (status == 0 && req->video) {
        if (cli_video_encode(dir, options.first, options.last - options.first, path.fps,
                             req->video) != FACET_OK)
            status = cli_library_error();
        else if (!quiet)
            fprintf(stderr, "facet render: wrote %s (%d frames, %d x %d, %g fps)\n", req->video,
                    options.last - options.first, path.width, path.height, path.fps);
    }
    free(dir);
    facet_camera_path_free(&path);
    return status;
}

/* --command: grounds and applies TEXT (language/control.h); what changed goes to stderr. */
static int apply_command(facet_scene *scene, const char *text, int cuda, int quiet) {
    facet_control_options options = {0};
    options.cuda = cuda;
    facet_ground_result result;
    if (facet_control(scene, text, &options, &result) != FACET_OK) return cli_library_error();
    if (result.outcome != FACET_GROUND_APPLIED)
        return cli_error("--command \"%s\": %s", text, result.message);
    for (int i = 0; i < result.action_count && !quiet; i++)
        fprintf(stderr, "facet render: %s kappa %.3g -> %.3g\n", result.actions[i].object,
                result.actions[i].kappa_from, result.actions[i].kappa_to);
    return 0;
}

int facet_cmd_render(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *scene_path = NULL, *cameras = NULL, *split_name = "all", *env = NULL;
    const char *out_dir = "out/render", *format_name = "png", *device_name = "cpu";
    const char *width_text = NULL, *height_text = NULL, *shard_text = NULL, *command = NULL;
    const char *sets[64];
    path_request path = {0};
    cli_filter_flags filter_flags = {0};
    int set_count = 0, quiet = 0, masks = 0, out_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        CLI_FLAG("render", "--cameras", cameras)
        CLI_FLAG("render", "--split", split_name)
        CLI_FLAG("render", "--env", env)
        CLI_FLAG("render", "--out", out_dir)
        CLI_FLAG("render", "--format", format_name)
        CLI_FLAG("render", "--device", device_name)
        CLI_FLAG("render", "--width", width_text)
        CLI_FLAG("render", "--height", height_text)
        CLI_FLAG("render", "--shard", shard_text)
        CLI_FLAG("render", "--command", command)
        CLI_FLAG("render", "--path", path.file)
        CLI_FLAG("render", "--video", path.video)
        CLI_FLAG("render", "--frames-dir", path.frames_dir)
        CLI_FLAG("render", "--frames", path.frames)
        CLI_FILTER_FLAGS("render", filter_flags)
        if ((r = cli_flag_value(argc, argv, &i, "--set", &v)) != 0) {
            if (r < 0) return cli_usage_error("render", "--set needs OBJECT=KAPPA");
            if (set_count == 64) return cli_usage_error("render", "too many --set options");
            sets[set_count++] = v;
            continue;
        }
        if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
            continue;
        }
        if (!strcmp(argv[i], "--masks")) {
            masks = 1;
            continue;
        }
        if (argv[i][0] == '-') return cli_usage_error("render", "unknown option '%s'", argv[i]);
        if (scene_path) return cli_usage_error("render", "unexpected argument '%s'", argv[i]);
        scene_path = argv[i];
    }
    if (!scene_path) return cli_usage_error("render", "missing SCENE");
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--out") || !strncmp(argv[i], "--out=", 6)) out_given = 1;
    if (path.file && cameras)
        return cli_usage_error("render", "--path and --cameras exclude each other");
    if (!path.file && (path.video || path.frames_dir || path.frames))
        return cli_usage_error("render", "--video, --frames-dir and --frames need --path");
    int split = facet_split_from_name(split_name);
    if (split < 0) return cli_usage_error("render", "--split must be train, val, test or all");
    int device = facet_device_from_name(device_name);
    if (device < 0) return cli_usage_error("render", "--device must be cpu or cuda");
    facet_batch_options options = {0};
    options.render.device = (facet_device)device;
    options.masks = masks;
    options.shard.count = 1;
    if (!strcmp(format_name, "exr"))
        options.format = FACET_OUTPUT_EXR;
    else if (strcmp(format_name, "png") != 0)
        return cli_usage_error("render", "--format must be png or exr");
    if ((width_text == NULL) != (height_text == NULL))
        return cli_usage_error("render", "--width and --height go together");
    if (width_text && (cli_parse_int(width_text, 1, 16384, &options.width) != 0 ||
                       cli_parse_int(height_text, 1, 16384, &options.height) != 0))
        return cli_usage_error("render", "--width/--height must be whole numbers in [1, 16384]");
    if (shard_text && facet_shard_parse(shard_text, &options.shard) != FACET_OK)
        return cli_usage_error("render", "%s", facet_last_error());
    const int filter_usage = cli_parse_filter("render", &filter_flags, &options.render.filter);
    if (filter_usage != 0) return filter_usage;

    if (facet_register_builtin_node_kinds() != FACET_OK) return cli_library_error();
    facet_scene scene;
    if (facet_scene_load(&scene, scene_path) != FACET_OK) return cli_library_error();
    int status = 0;
    if (env && facet_scene_set_environment(
                   &scene, env, scene.environment.view.convention, scene.environment.rotation_deg,
                   scene.has_environment ? scene.environment.view.strength : 1.0f) != FACET_OK)
        status = cli_library_error();
    for (int i = 0; i < set_count && status == 0; i++)
        if (facet_scene_apply_assignment(&scene, sets[i]) != FACET_OK) status = cli_library_error();
    if (status == 0 && command)
        status = apply_command(&scene, command, device == FACET_DEVICE_CUDA, quiet);

    facet_progress progress = {.quiet = quiet};
    options.progress = &progress;
    if (status == 0 && path.file) {
        status = render_path(&scene, &path, &options, out_dir, out_given, quiet);
    } else if (status == 0 && cameras) {
        facet_dataset ds;
        if (facet_dataset_load(&ds, cameras, (facet_split)split) != FACET_OK) {
            status = cli_library_error();
        } else {
            /* --set wins over ground truth: only use dataset kappa when nothing was set */
            options.use_dataset_kappa = set_count == 0 && !command;
            int rendered = 0;
            if (facet_batch_render(&scene, &ds, &options, out_dir, &rendered) != FACET_OK)
                status = cli_library_error();
            else if (!quiet)
                fprintf(stderr, "facet render: %d image%s in %s\n", rendered,
                        rendered == 1 ? "" : "s", out_dir);
            facet_dataset_free(&ds);
        }
    } else if (status == 0) {
        if (!scene.has_camera) {
            status = cli_error("%s has no \"camera\"; pass --cameras TRANSFORMS", scene_path);
        } else {
            facet_camera cam = scene.camera;
            if (options.width) cam = facet_camera_resized(cam, options.width, options.height);
            facet_image img = {0}, aux = {0};
            if (masks) options.render.aux = &aux;
            char *path = facet_path_join(
                out_dir, options.format == FACET_OUTPUT_EXR ? "camera.exr" : "camera.png");
            if (!path || (masks && facet_check_aux_names(&scene) != FACET_OK) ||
                facet_make_dirs(out_dir) != FACET_OK ||
                facet_render_image(&scene, &cam, &options.render, &img) != FACET_OK ||
                facet_write_render(&img, path, options.format) != FACET_OK ||
                (masks && facet_write_aux_channels(&scene, &aux, out_dir, "camera") != FACET_OK))
                status = cli_library_error();
            else if (!quiet)
                fprintf(stderr, "facet render: wrote %s\n", path);
            facet_image_free(&img);
            facet_image_free(&aux);
            free(path);
        }
    }
    facet_scene_free(&scene);
    return status;
}
