/* facet view: the interactive viewer (viewer/viewer.h). */
#include "args.h"
#include "commands.h"

#include "viewer/viewer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: facet view SCENE [--script FILE] [--out DIR] [--screenshot PNG] [--cameras "
    "TRANSFORMS]\n"
    "                  [--env MAP]... [--width W --height H] [--device cpu|cuda] [--no-interop]\n"
    "                  [--font TTF] [--timeout SECONDS] [--hidden] [--bench JSONL]\n"
    "                  [--spp N [--pixel-filter F] [--filter-width W]] [--max-passes N]\n"
    "\n"
    "Opens SCENE (any scene file `facet render` takes) in an OpenGL window: drag to orbit, type\n"
    "commands such as \"open the drawer\", move the kappa sliders, change the environment.\n"
    "\n"
    "  --script FILE     run the actions in FILE (camera poses, commands, kappa sets, waits,\n"
    "                    screenshots; see README \"Viewer scripts\"), then close\n"
    "  --out DIR         where the script's screenshot, save-view and save-path files and the\n"
    "                    key screenshots and camera paths (P, O) go (default: the current\n"
    "                    directory). Script output paths\n"
    "                    must be relative names inside it: no absolute path, no '..'\n"
    "  --screenshot PNG  open on the scene camera, wait for the fully refined frame, save the\n"
    "                    render area to PNG, close\n"
    "  --cameras PATH    a dataset directory or transforms*.json: [ and ] step through its "
    "cameras\n"
    "  --env MAP         an environment map (EXR/HDR) offered in the panel; repeatable. Without\n"
    "                    it, relighting scenes offer Blender's studio HDRIs (blender-data).\n"
    "                    Each map is prefiltered once and cached in ~/.cache/facet/lighting\n"
    "                    (FACET_CACHE_DIR=DIR moves it, =off disables)\n"
    "  --width/--height  window size in pixels (default: the scene camera's aspect, >= 800 tall)\n"
    "  --device D        cpu (default: progressive refinement on a render thread) or cuda "
    "(CUDA-GL\n"
    "                    interop: frames render straight into the window's texture)\n"
    "  --no-interop      with --device cuda: copy frames through the host instead\n"
    "  --font TTF        UI font (default: DejaVu Sans from fonts-dejavu-core)\n"
    "  --timeout S       a --script or --screenshot run fails after S seconds (default 600)\n"
    "  --hidden          no visible window (automation, benchmarks)\n"
    "  --bench FILE      append frames/s figures as a JSON line to FILE at exit; no vsync\n"
    "  --max-passes N    Monte Carlo scenes (sdf \"lighting\": \"reference\"): average up to N\n"
    "                    sample passes while the view is still (default 256; with --script or\n"
    "                    --screenshot 1, so captures equal `facet render`)\n"
    "\n"
    "Supersampling: while the view moves, frames have one ray per pixel; once it stops,\n"
    "the full-resolution frame is rendered again with --spp samples per pixel, the frame\n"
    "`facet render --spp` makes:\n" CLI_FILTER_USAGE "\n"
    "Keys: left drag orbit (fly: look), right/middle drag pan, wheel zoom, WASD QE move,\n"
    "F orbit/fly, R reset, [ ] cameras, + - field of view, 1 2 3 rgb/depth/masks, Enter or /\n"
    "command box, P or F12 screenshot (Shift: with the panel), Tab panel, H help, Esc quit.\n"
    "\n"
    "Needs a display: without one, use `facet render` (headless), or a virtual X server:\n"
    "  xvfb-run -s '-screen 0 1920x1080x24' facet view SCENE --script FILE\n"
    "\n"
    "example: facet view assets/cabinet/scene.json\n";

int facet_cmd_view(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    facet_viewer_options options = {0};
    const char *device_name = "cpu", *width_text = NULL, *height_text = NULL;
    const char *timeout_text = NULL, *passes_text = NULL;
    cli_filter_flags filter_flags = {0};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        CLI_FLAG("view", "--script", options.script_path)
        CLI_FLAG("view", "--screenshot", options.screenshot_path)
        CLI_FLAG("view", "--out", options.out_dir)
        CLI_FLAG("view", "--cameras", options.cameras_path)
        CLI_FLAG("view", "--font", options.font_path)
        CLI_FLAG("view", "--device", device_name)
        CLI_FLAG("view", "--width", width_text)
        CLI_FLAG("view", "--height", height_text)
        CLI_FLAG("view", "--timeout", timeout_text)
        CLI_FLAG("view", "--bench", options.bench_path)
        CLI_FLAG("view", "--max-passes", passes_text)
        CLI_FILTER_FLAGS("view", filter_flags)
        if ((r = cli_flag_value(argc, argv, &i, "--env", &v)) != 0) {
            if (r < 0) return cli_usage_error("view", "--env needs a map");
            if (options.environment_count == FACET_VIEWER_MAX_ENVIRONMENTS)
                return cli_usage_error("view", "at most %d --env maps",
                                       FACET_VIEWER_MAX_ENVIRONMENTS);
            options.environments[options.environment_count++] = v;
            continue;
        }
        if (!strcmp(argv[i], "--no-interop")) {
            options.no_interop = 1;
            continue;
        }
        if (!strcmp(argv[i], "--hidden")) {
            options.hidden = 1;
            continue;
        }
        if (argv[i][0] == '-') return cli_usage_error("view", "unknown option '%s'", argv[i]);
        if (options.scene_path) return cli_usage_error("view", "unexpected argument '%s'", argv[i]);
        options.scene_path = argv[i];
    }
    if (!options.scene_path) return cli_usage_error("view", "missing SCENE");
    int device = facet_device_from_name(device_name);
    if (device < 0) return cli_usage_error("view", "--device must be cpu or cuda");
    options.device = (facet_device)device;
    if ((width_text == NULL) != (height_text == NULL))
        return cli_usage_error("view", "--width and --height go together");
    if (width_text && (cli_parse_int(width_text, 16, 8192, &options.width) != 0 ||
                       cli_parse_int(height_text, 16, 8192, &options.height) != 0))
        return cli_usage_error("view", "--width/--height must be whole numbers in [16, 8192]");
    const int filter_usage = cli_parse_filter("view", &filter_flags, &options.filter);
    if (filter_usage != 0) return filter_usage;
    int timeout = 600;
    if (timeout_text && cli_parse_int(timeout_text, 1, 86400, &timeout) != 0)
        return cli_usage_error("view", "--timeout must be whole seconds in [1, 86400]");
    if (options.script_path || options.screenshot_path) options.timeout_seconds = timeout;
    if (passes_text && cli_parse_int(passes_text, 1, 65536, &options.max_passes) != 0)
        return cli_usage_error("view", "--max-passes must be a whole number in [1, 65536]");
    if (facet_viewer_run(&options) != FACET_OK) return cli_library_error();
    return 0;
}
