"""Renders the demo dataset's ground truth with Blender Cycles: an equirectangular HDRI as the
world (Environment Texture, default projection) seen by pinhole cameras, written as a Blender /
NeRF-synthetic dataset (transforms_{train,test}.json + PNGs).

This is the physical reference for facet's "blender" environment convention: facet's render of
the same scene must match these pixels up to 8-bit rounding and Cycles' pixel filter (a 1 px box:
`facet eval --spp 64 --pixel-filter box` scores 48.7 dB, one ray per pixel centre 34.2 dB).

    blender -b --factory-startup -P tools/reference/make_demo_blender.py -- HDRI OUT_DIR

Cameras: 16 views on a circle around the origin, pitched up and down, every other one a test
view. Deterministic (fixed angles, 16 samples, no dithering, Standard view transform).
"""
import json
import math
import os
import sys

import bpy
from mathutils import Euler, Matrix

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blender_cycles import configure_cycles, set_hdri_world  # noqa: E402

WIDTH, HEIGHT = 160, 120
CAMERA_ANGLE_X = math.radians(70.0)
VIEWS = 16


def setup_scene(hdri, width=WIDTH, height=HEIGHT):
    scene = bpy.context.scene
    for obj in list(scene.objects):
        bpy.data.objects.remove(obj, do_unlink=True)
    # Blender renders the box filter 1 px wide whatever filter_width says (blender_cycles.py): the
    # pixels are 16-sample estimates of each pixel's area mean, not pixel centres
    configure_cycles(scene, width, height, samples=16, filter_width=0.01)

    set_hdri_world(scene, hdri)

    cam_data = bpy.data.cameras.new("camera")
    cam_data.sensor_fit = "HORIZONTAL"
    cam_data.angle_x = CAMERA_ANGLE_X
    cam = bpy.data.objects.new("camera", cam_data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    return scene, cam


def main():
    argv = sys.argv[sys.argv.index("--") + 1:]
    hdri, out_dir = argv[0], argv[1]
    scene, cam = setup_scene(hdri)
    frames = {"train": [], "test": []}
    for i in range(VIEWS):
        yaw = 2.0 * math.pi * i / VIEWS
        pitch = math.radians(90.0 + 25.0 * math.sin(3.0 * yaw))  # 90 deg: looking at the horizon
        cam.matrix_world = Matrix.Translation((0.0, 0.0, 0.0)) @ Euler((pitch, 0.0, yaw), "XYZ").to_matrix().to_4x4()
        split = "test" if i % 2 == 0 else "train"
        name = f"r_{i}"
        os.makedirs(os.path.join(out_dir, split), exist_ok=True)
        scene.render.filepath = os.path.abspath(os.path.join(out_dir, split, name + ".png"))
        bpy.ops.render.render(write_still=True)
        frames[split].append({
            "file_path": f"./{split}/{name}",
            "transform_matrix": [list(row) for row in cam.matrix_world],
        })
    for split, items in frames.items():
        with open(os.path.join(out_dir, f"transforms_{split}.json"), "w") as f:
            json.dump({"camera_angle_x": CAMERA_ANGLE_X, "frames": items}, f, indent=2)


if __name__ == "__main__":
    main()
