"""Test fixtures for the "blender" environment convention and facet's pixel filters: linear EXR
renders by Blender Cycles of an HDRI world seen by two pinhole cameras, plus their transforms.json.

Default (tests/fixtures/envmap_blender, Blender's sunset.exr): 80x60, 16 samples, Cycles' box
pixel filter. Blender renders the box filter 1 px wide whatever `filter_width` says (it passes
width 1 to Cycles for the box and hides the width in its UI; measured: widths 0.01, 1 and 3 give
identical renders), so each pixel is a 16-sample estimate of the pixel's area average.

    blender -b --factory-startup -P tools/reference/make_envmap_fixture_blender.py -- HDRI OUT_DIR

With options (tests/fixtures/envmap_blender_bh: assets/demo/forest.exr, whose trees alias):

    blender -b --factory-startup -P tools/reference/make_envmap_fixture_blender.py -- \
        assets/demo/forest.exr tests/fixtures/envmap_blender_bh \
        --filter BLACKMAN_HARRIS --width 1.5 --samples 1024 --size 160x120

--filter BOX|GAUSSIAN|BLACKMAN_HARRIS and --width set Cycles' pixel filter (Blender's defaults
are BLACKMAN_HARRIS and 1.5 px); --samples is the sample count, with adaptive sampling off so every
pixel gets all of them; the EXR is written as float.
"""
import argparse
import json
import math
import os
import sys

import bpy
from mathutils import Euler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_demo_blender import CAMERA_ANGLE_X, setup_scene  # noqa: E402

WIDTH, HEIGHT = 80, 60
# (pitch, roll, yaw) in degrees: one view above the horizon, one tilted and looking down.
VIEWS = [(110.0, 0.0, 30.0), (65.0, 10.0, 200.0)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("hdri")
    parser.add_argument("out_dir")
    parser.add_argument("--filter", choices=["BOX", "GAUSSIAN", "BLACKMAN_HARRIS"])
    parser.add_argument("--width", type=float)
    parser.add_argument("--samples", type=int)
    parser.add_argument("--size", default=f"{WIDTH}x{HEIGHT}")
    args = parser.parse_args(sys.argv[sys.argv.index("--") + 1:])
    width, height = (int(v) for v in args.size.split("x"))
    os.makedirs(args.out_dir, exist_ok=True)
    scene, cam = setup_scene(args.hdri, width, height)
    if args.filter:
        scene.cycles.pixel_filter_type = args.filter
    if args.width:
        scene.cycles.filter_width = args.width
    if args.samples:
        scene.cycles.samples = args.samples
        scene.cycles.use_adaptive_sampling = False
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    scene.render.image_settings.exr_codec = "ZIP"
    frames = []
    for i, (pitch, roll, yaw) in enumerate(VIEWS):
        cam.matrix_world = Euler(
            (math.radians(pitch), math.radians(roll), math.radians(yaw)), "XYZ"
        ).to_matrix().to_4x4()
        scene.render.filepath = os.path.abspath(os.path.join(args.out_dir, f"view_{i}.exr"))
        bpy.ops.render.render(write_still=True)
        frames.append({"file_path": f"view_{i}.exr",
                       "transform_matrix": [list(row) for row in cam.matrix_world]})
    with open(os.path.join(args.out_dir, "transforms.json"), "w") as f:
        json.dump({"camera_angle_x": CAMERA_ANGLE_X, "w": width, "h": height, "frames": frames},
                  f, indent=2)


if __name__ == "__main__":
    main()
