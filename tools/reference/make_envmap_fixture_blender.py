"""Test fixture for the "blender" environment convention: linear EXR renders by Blender Cycles of
an HDRI world seen by two pinhole cameras (80x60), plus their transforms.json.

Cycles integrates each pixel over its area, so the test compares against facet renders
supersampled 4x4 and box-averaged.

    blender -b --factory-startup -P tools/reference/make_envmap_fixture_blender.py -- HDRI OUT_DIR
"""
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
    argv = sys.argv[sys.argv.index("--") + 1:]
    hdri, out_dir = argv[0], argv[1]
    os.makedirs(out_dir, exist_ok=True)
    scene, cam = setup_scene(hdri, WIDTH, HEIGHT)
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    scene.render.image_settings.exr_codec = "ZIP"
    frames = []
    for i, (pitch, roll, yaw) in enumerate(VIEWS):
        cam.matrix_world = Euler(
            (math.radians(pitch), math.radians(roll), math.radians(yaw)), "XYZ"
        ).to_matrix().to_4x4()
        scene.render.filepath = os.path.abspath(os.path.join(out_dir, f"view_{i}.exr"))
        bpy.ops.render.render(write_still=True)
        frames.append({"file_path": f"view_{i}.exr",
                       "transform_matrix": [list(row) for row in cam.matrix_world]})
    with open(os.path.join(out_dir, "transforms.json"), "w") as f:
        json.dump({"camera_angle_x": CAMERA_ANGLE_X, "w": WIDTH, "h": HEIGHT, "frames": frames},
                  f, indent=2)


if __name__ == "__main__":
    main()
