"""Renders an interactive scene in the LiveScene dataset format with Blender Cycles (CPU): ground
truth that facet did not make, for `facet fit` (issue 13).

    blender -b --factory-startup --python-exit-code 1 -P tools/reference/make_livescene_blender.py -- \
        SCENE OUT_DIR [--frames N] [--size S] [--samples N] [--seed S]

SCENE is one of:
  cabinet   unit scale, cameras 3.7 to 4.8 units from the cabinet: a sliding drawer and a
            hinged door (the scene of the issue's first look)
  chest     a chest about 10 units wide whose lid is hinged, cameras 24 to 30 units away
  desk      a desk 0.6 units wide standing at (2, -1, 0.5), away from the origin: two sliding
            drawers and a hinged flap, cameras 1.4 to 1.8 units away

Writes, as LiveScene's sim data and `facet synth` lay it out (facet's docs/formats.md):
  OUT/transforms.json          camera_angle_x; frames [{file_path: ./images/frame_NNNNN,
                               transform_matrix}] (camera-to-world, NeRF/Blender convention,
                               world z-up); no facet.json, so `facet fit` must normalise
  OUT/images/frame_NNNNN.png   sRGB, 8 bit (Standard view transform, no dithering)
  OUT/masks/NNNNN.npy          (H, W, objects + 1) bool: each object's visible pixels, last
                               channel background (body and floor count as background)
  OUT/mapping.yaml             {id: object name}
  OUT/key_frame_value.yaml     {frame_NNNNN: {object: value}}, in the object's own unit (metres
                               pulled out, degrees swung open): facet min-max normalises them
Frames 2j+1 and 2j+2 (numbered from 1: a test frame, index 2j in file order, and a train frame)
share one articulation state seen from two cameras, and the first two pairs are the extremes (all
closed, all open), so the test and train frames span the same value range for every object.

Colour: Cycles, `samples` per pixel over a box filter of one pixel (anti-aliased pixel areas, no
denoiser), a sun and a grey sky as lights; camera rays see a white sky (the background LiveScene
and facet composite on). Masks come from a second render of the same frame with every
articulated object's material replaced by a pure emission code (object k: channel k of RGB, all
else black) and one sample at the pixel centre (box filter 0.01 wide), decoded by the strongest
channel.

Deterministic for a seed: camera poses and states come from Python's random.Random(seed) and
random.Random(seed + 1) (separate streams: the first frames of a short run are those of a long
one) and the Cycles seed is fixed. Blender's Python has no numpy here, so .npy files are written by
hand (format 1.0, '|b1', C order).
"""
import json
import math
import os
import random
import struct
import sys

import bpy
from mathutils import Matrix, Vector

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blender_cycles import configure_cycles  # noqa: E402

# ---- scene descriptions ---------------------------------------------------------------------
# Every length is in scene units; `parts` are boxes (centre, half size, colour, texture);
# articulated objects are boxes that slide along an axis or swing about a hinge line.


def box_part(name, centre, half, colour, texture=None):
    return {"name": name, "centre": centre, "half": half, "colour": colour, "texture": texture}


SCENES = {
    "cabinet": {
        "camera_distance": (3.7, 4.8),
        "camera_elevation_deg": (12.0, 55.0),
        "camera_angle_x": 0.6,
        "target": (0.0, 0.0, 0.55),
        "sun": {"direction": (-0.4, -0.6, -1.0), "strength": 2.6},
        "static": [
            box_part("floor", (0, 0, -0.05), (1.3, 1.3, 0.05), (0.55, 0.55, 0.5), "checker"),
            box_part("body_left", (-0.5, 0, 0.6), (0.03, 0.45, 0.6), (0.45, 0.28, 0.15), "wood"),
            box_part("body_right", (0.5, 0, 0.6), (0.03, 0.45, 0.6), (0.45, 0.28, 0.15), "wood"),
            box_part("body_back", (0, -0.42, 0.6), (0.5, 0.03, 0.6), (0.45, 0.28, 0.15), "wood"),
            box_part("body_top", (0, 0, 1.18), (0.53, 0.45, 0.03), (0.4, 0.25, 0.13), "wood"),
            box_part("body_bottom", (0, 0, 0.03), (0.53, 0.45, 0.03), (0.4, 0.25, 0.13), "wood"),
            box_part("shelf", (0, 0, 0.62), (0.47, 0.42, 0.02), (0.4, 0.25, 0.13), "wood"),
        ],
        "objects": [
            {
                "name": "drawer",
                "kind": "slide",
                "axis": (0, 1, 0),
                "range": (0.0, 0.4),
                "parts": [
                    box_part("front", (0, 0.43, 0.9), (0.46, 0.02, 0.25), (0.7, 0.55, 0.25), "wood"),
                    box_part("handle", (0, 0.47, 0.9), (0.12, 0.025, 0.025), (0.08, 0.08, 0.08)),
                    box_part("tray", (0, 0.05, 0.7), (0.44, 0.36, 0.04), (0.6, 0.45, 0.2), "wood"),
                ],
            },
            {
                "name": "door",
                "kind": "hinge",
                "hinge_point": (-0.47, 0.45, 0.0),
                "hinge_axis": (0, 0, 1),
                "range": (0.0, 100.0),
                "parts": [
                    box_part("panel", (0, 0.43, 0.33), (0.46, 0.02, 0.27), (0.2, 0.35, 0.6), "wood"),
                    box_part("knob", (0.36, 0.47, 0.4), (0.03, 0.025, 0.06), (0.85, 0.8, 0.3)),
                ],
            },
        ],
    },
    "chest": {
        "camera_distance": (24.0, 30.0),
        "camera_elevation_deg": (15.0, 60.0),
        "camera_angle_x": 0.7,
        "target": (0.0, 0.0, 3.0),
        "sun": {"direction": (0.5, -0.3, -1.0), "strength": 2.4},
        "static": [
            box_part("base", (0, 0, -0.25), (7.5, 5.5, 0.25), (0.35, 0.4, 0.45), "checker"),
            box_part("box", (0, 0, 2.5), (5.0, 3.0, 2.5), (0.55, 0.3, 0.2), "wood"),
            box_part("band", (0, 0, 2.5), (5.1, 3.1, 0.3), (0.25, 0.25, 0.28)),
        ],
        "objects": [
            {
                "name": "lid",
                "kind": "hinge",
                "hinge_point": (0.0, -3.0, 5.0),
                "hinge_axis": (1, 0, 0),
                "range": (0.0, 110.0),
                "parts": [
                    box_part("lid", (0, 0, 5.4), (5.1, 3.1, 0.4), (0.6, 0.35, 0.2), "wood"),
                    box_part("latch", (0, 3.2, 5.1), (0.5, 0.15, 0.6), (0.8, 0.7, 0.25)),
                ],
            }
        ],
    },
    "desk": {
        "camera_distance": (1.4, 1.8),
        "camera_elevation_deg": (15.0, 55.0),
        "camera_angle_x": 0.75,
        "target": (2.0, -1.0, 0.68),
        "sun": {"direction": (-0.3, 0.5, -1.0), "strength": 2.8},
        "static": [
            box_part("floor", (2.0, -1.0, 0.49), (0.6, 0.45, 0.01), (0.5, 0.5, 0.55), "checker"),
            box_part("top", (2.0, -1.0, 0.86), (0.33, 0.2, 0.015), (0.6, 0.45, 0.3), "wood"),
            box_part("leg_l", (1.7, -1.0, 0.67), (0.015, 0.19, 0.18), (0.3, 0.3, 0.32)),
            box_part("pedestal", (2.18, -1.0, 0.67), (0.14, 0.19, 0.18), (0.55, 0.4, 0.28), "wood"),
        ],
        "objects": [
            {
                "name": "top_drawer",
                "kind": "slide",
                "axis": (0, 1, 0),
                "range": (0.0, 0.15),
                "parts": [
                    box_part("front", (2.18, -0.8, 0.77), (0.13, 0.01, 0.07), (0.75, 0.6, 0.3), "wood"),
                    box_part("pull", (2.18, -0.785, 0.77), (0.04, 0.008, 0.008), (0.1, 0.1, 0.1)),
                    box_part("tray", (2.18, -0.89, 0.77), (0.12, 0.08, 0.05), (0.7, 0.6, 0.45)),
                ],
            },
            {
                "name": "bottom_drawer",
                "kind": "slide",
                "axis": (0, 1, 0),
                "range": (0.0, 0.15),
                "parts": [
                    box_part("front", (2.18, -0.8, 0.58), (0.13, 0.01, 0.09), (0.3, 0.5, 0.35), "wood"),
                    box_part("pull", (2.18, -0.785, 0.6), (0.04, 0.008, 0.008), (0.1, 0.1, 0.1)),
                    box_part("tray", (2.18, -0.89, 0.58), (0.12, 0.08, 0.07), (0.7, 0.6, 0.45)),
                ],
            },
            {
                "name": "flap",
                "kind": "hinge",
                "hinge_point": (1.72, -1.2, 0.87),
                "hinge_axis": (0, -1, 0),
                "range": (0.0, 80.0),
                "parts": [
                    box_part("flap", (1.84, -1.0, 0.88), (0.12, 0.19, 0.008), (0.25, 0.3, 0.55)),
                ],
            },
        ],
    },
}

# ---- Blender helpers ------------------------------------------------------------------------


def clear_scene():
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj, do_unlink=True)
    for coll in (bpy.data.meshes, bpy.data.materials, bpy.data.lights, bpy.data.cameras):
        for item in list(coll):
            coll.remove(item)


def make_material(name, colour, texture):
    """Diffuse material: plain colour, a checker, or a wood-like noise modulation."""
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    out = nodes.new("ShaderNodeOutputMaterial")
    bsdf = nodes.new("ShaderNodeBsdfDiffuse")
    links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    rgb = (colour[0], colour[1], colour[2], 1.0)
    dark = (colour[0] * 0.55, colour[1] * 0.55, colour[2] * 0.55, 1.0)
    coord = nodes.new("ShaderNodeTexCoord")
    if texture == "checker":
        tex = nodes.new("ShaderNodeTexChecker")
        tex.inputs["Scale"].default_value = 4.0
        tex.inputs["Color1"].default_value = rgb
        tex.inputs["Color2"].default_value = dark
        links.new(coord.outputs["Generated"], tex.inputs["Vector"])
        links.new(tex.outputs["Color"], bsdf.inputs["Color"])
    elif texture == "wood":
        tex = nodes.new("ShaderNodeTexWave")
        tex.inputs["Scale"].default_value = 3.0
        tex.inputs["Distortion"].default_value = 4.0
        ramp = nodes.new("ShaderNodeMixRGB")
        ramp.inputs["Color1"].default_value = dark
        ramp.inputs["Color2"].default_value = rgb
        links.new(coord.outputs["Generated"], tex.inputs["Vector"])
        links.new(tex.outputs["Fac"], ramp.inputs["Fac"])
        links.new(ramp.outputs["Color"], bsdf.inputs["Color"])
    else:
        bsdf.inputs["Color"].default_value = rgb
    return mat


def make_emission(name, colour):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    out = nodes.new("ShaderNodeOutputMaterial")
    em = nodes.new("ShaderNodeEmission")
    em.inputs["Color"].default_value = (colour[0], colour[1], colour[2], 1.0)
    em.inputs["Strength"].default_value = 1.0
    links.new(em.outputs["Emission"], out.inputs["Surface"])
    return mat


def make_box(part, parent=None):
    """A cube mesh scaled to the part's half size, placed at its centre (world frame; with a
    parent, the parent is an empty at the origin whose transform articulates the object)."""
    mesh = bpy.data.meshes.new(part["name"])
    h = part["half"]
    verts = [(sx * h[0], sy * h[1], sz * h[2]) for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(verts, [], faces)
    mesh.update()
    obj = bpy.data.objects.new(part["name"], mesh)
    obj.location = Vector(part["centre"])
    bpy.context.scene.collection.objects.link(obj)
    if parent is not None:
        obj.parent = parent
    mat = make_material(part["name"] + "_mat", part["colour"], part.get("texture"))
    obj.data.materials.append(mat)
    return obj


def setup_render(size, samples, seed):
    scene = bpy.context.scene
    configure_cycles(scene, size, size, samples, filter_width=1.0, seed=seed)
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.max_bounces = 4
    scene.render.threads_mode = "AUTO"


def make_world(ambient):
    """Camera rays see white (the background LiveScene and facet composite on); every other ray
    sees a grey sky of radiance `ambient`, the fill light."""
    world = bpy.data.worlds.new("world") if not bpy.data.worlds else bpy.data.worlds[0]
    bpy.context.scene.world = world
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    nodes.clear()
    out = nodes.new("ShaderNodeOutputWorld")
    path = nodes.new("ShaderNodeLightPath")
    sky = nodes.new("ShaderNodeBackground")
    sky.inputs["Color"].default_value = (ambient, ambient, ambient, 1.0)
    white = nodes.new("ShaderNodeBackground")
    white.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    mix = nodes.new("ShaderNodeMixShader")
    links.new(path.outputs["Is Camera Ray"], mix.inputs["Fac"])
    links.new(sky.outputs["Background"], mix.inputs[1])
    links.new(white.outputs["Background"], mix.inputs[2])
    links.new(mix.outputs["Shader"], out.inputs["Surface"])
    return sky, white


def look_at(eye, target):
    """Camera-to-world of a camera at eye looking at target, world z-up (Blender's camera looks
    down its local -z with +y up, as NeRF's transform_matrix)."""
    forward = (Vector(target) - Vector(eye)).normalized()
    right = forward.cross(Vector((0, 0, 1))).normalized()
    up = right.cross(forward)
    m = Matrix.Identity(4)
    for i in range(3):
        m[i][0], m[i][1], m[i][2], m[i][3] = right[i], up[i], -forward[i], eye[i]
    return m


def articulation(obj_desc, value):
    """World transform of an articulated object's parts at `value` (its own unit)."""
    if obj_desc["kind"] == "slide":
        return Matrix.Translation(Vector(obj_desc["axis"]) * value)
    p = Vector(obj_desc["hinge_point"])
    rot = Matrix.Rotation(math.radians(value), 4, Vector(obj_desc["hinge_axis"]))
    return Matrix.Translation(p) @ rot @ Matrix.Translation(-p)


def write_npy_bool(path, data, shape):
    """A C-order bool .npy (format 1.0) of `data` (bytes of 0/1) with `shape`."""
    dims = ", ".join("%d" % n for n in shape) + ("," if len(shape) == 1 else "")
    header = "{'descr': '|b1', 'fortran_order': False, 'shape': (%s), }" % dims
    total = 10 + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    with open(path + ".tmp", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(data)
    os.replace(path + ".tmp", path)


def decode_mask(png_path, size, n_objects):
    """Label image of the emission render: object k where channel k is the strongest and above
    one half, else background; as (H, W, n_objects + 1) bool bytes, top row first."""
    img = bpy.data.images.load(png_path, check_existing=False)
    px = [0.0] * (size * size * 4)
    img.pixels.foreach_get(px)
    bpy.data.images.remove(img)
    out = bytearray(size * size * (n_objects + 1))
    for row in range(size):
        src_row = size - 1 - row  # Blender's pixels start at the bottom row
        for col in range(size):
            base = (src_row * size + col) * 4
            best, label = 0.5, n_objects
            for k in range(n_objects):
                if px[base + k] > best:
                    best, label = px[base + k], k
            out[(row * size + col) * (n_objects + 1) + label] = 1
    return bytes(out)


# ---- the dataset ----------------------------------------------------------------------------


def main():
    argv = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []
    if len(argv) < 2 or argv[0] not in SCENES:
        sys.exit("usage: blender -b --factory-startup -P %s -- {%s} OUT_DIR [--frames N] "
                 "[--size S] [--samples N] [--seed S]" % (__file__, "|".join(SCENES)))
    name, out = argv[0], argv[1]
    opts = {"--frames": 100, "--size": 128, "--samples": 64, "--seed": 0}
    rest = argv[2:]
    for i in range(0, len(rest), 2):
        if rest[i] not in opts or i + 1 >= len(rest):
            sys.exit("unknown or incomplete option %r" % rest[i])
        opts[rest[i]] = int(rest[i + 1])
    frames, size, samples, seed = opts["--frames"], opts["--size"], opts["--samples"], opts["--seed"]
    if not (2 <= frames <= 200 and frames % 2 == 0 and 16 <= size <= 200 and samples >= 1):
        sys.exit("need an even frame count in [2, 200], a size in [16, 200] and samples >= 1")
    desc = SCENES[name]
    # cameras and states draw from separate streams, so the first frames of a short run are those
    # of a long one (the regeneration test renders a few frames and compares)
    camera_rng, state_rng = random.Random(seed), random.Random(seed + 1)

    clear_scene()
    setup_render(size, samples, seed)
    ambient = 0.35
    sky, white = make_world(ambient)
    for part in desc["static"]:
        make_box(part)
    objects = []
    for obj_desc in desc["objects"]:
        root = bpy.data.objects.new(obj_desc["name"], None)
        bpy.context.scene.collection.objects.link(root)
        parts = [make_box(p, root) for p in obj_desc["parts"]]
        objects.append((obj_desc, root, parts))
    sun_data = bpy.data.lights.new("sun", "SUN")
    sun_data.energy = desc["sun"]["strength"]
    sun_data.angle = math.radians(3.0)
    sun = bpy.data.objects.new("sun", sun_data)
    sun.rotation_euler = Vector(desc["sun"]["direction"]).to_track_quat("-Z", "Y").to_euler()
    bpy.context.scene.collection.objects.link(sun)
    cam_data = bpy.data.cameras.new("camera")
    cam_data.sensor_fit = "HORIZONTAL"
    cam_data.angle = desc["camera_angle_x"]
    cam_data.clip_start = 0.01 * desc["camera_distance"][0]
    cam_data.clip_end = 10.0 * desc["camera_distance"][1]
    camera = bpy.data.objects.new("camera", cam_data)
    bpy.context.scene.collection.objects.link(camera)
    bpy.context.scene.camera = camera

    # mask materials: object k emits channel k, everything else (and the sky) black
    codes = [make_emission("code%d" % k, [1.0 if c == k else 0.0 for c in range(3)])
             for k in range(len(objects))]
    black = make_emission("code_black", (0.0, 0.0, 0.0))

    for sub in ("images", "masks"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    target = Vector(desc["target"])
    frame_records, values = [], {}
    # states: one per pair of frames; the first two pairs are the extremes (all closed, all
    # open) so that both splits span each object's full range
    states = []
    for j in range(frames // 2):
        if j == 0:
            states.append([o["range"][0] for o, _, _ in objects])
        elif j == 1:
            states.append([o["range"][1] for o, _, _ in objects])
        else:
            states.append([state_rng.uniform(*o["range"]) for o, _, _ in objects])
    for i in range(frames):
        fid = "%05d" % (i + 1)
        state = states[i // 2]
        d = camera_rng.uniform(*desc["camera_distance"])
        elev = math.radians(camera_rng.uniform(*desc["camera_elevation_deg"]))
        azim = camera_rng.uniform(0.0, 2.0 * math.pi)
        eye = target + d * Vector((math.cos(elev) * math.cos(azim),
                                   math.cos(elev) * math.sin(azim), math.sin(elev)))
        jitter = Vector([camera_rng.uniform(-0.03, 0.03) * d for _ in range(3)])
        c2w = look_at(eye, target + jitter)
        camera.matrix_world = c2w
        for (obj_desc, root, _), v in zip(objects, state):
            root.matrix_world = articulation(obj_desc, v)
        # colour
        image_path = os.path.join(out, "images", "frame_%s.png" % fid)
        bpy.context.scene.render.filepath = image_path + ".tmp.png"
        bpy.context.scene.cycles.samples = samples
        bpy.ops.render.render(write_still=True)
        os.replace(image_path + ".tmp.png", image_path)
        # mask: swap materials, one sample, sky black
        saved = {}
        for obj in bpy.context.scene.objects:
            if obj.type == "MESH":
                saved[obj.name] = obj.data.materials[0]
                obj.data.materials[0] = black
        for k, (_, _, parts) in enumerate(objects):
            for p in parts:
                p.data.materials[0] = codes[k]
        for bg in (sky, white):
            bg.inputs["Color"].default_value = (0.0, 0.0, 0.0, 1.0)
        bpy.context.scene.cycles.samples = 1
        bpy.context.scene.cycles.filter_width = 0.01
        mask_png = os.path.join(out, "masks", "_mask.png")
        bpy.context.scene.render.filepath = mask_png
        bpy.ops.render.render(write_still=True)
        write_npy_bool(os.path.join(out, "masks", fid + ".npy"),
                       decode_mask(mask_png, size, len(objects)),
                       (size, size, len(objects) + 1))
        os.remove(mask_png)
        bpy.context.scene.cycles.filter_width = 1.0
        for obj in bpy.context.scene.objects:
            if obj.type == "MESH":
                obj.data.materials[0] = saved[obj.name]
        sky.inputs["Color"].default_value = (ambient, ambient, ambient, 1.0)
        white.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
        frame_records.append({
            "file_path": "./images/frame_%s" % fid,
            "transform_matrix": [[c2w[r][c] for c in range(4)] for r in range(4)],
        })
        values["frame_%s" % fid] = {o["name"]: v for (o, _, _), v in zip(objects, state)}
        print("make_livescene_blender: %s frame %d/%d" % (name, i + 1, frames), flush=True)

    def write_text(path, text):
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)

    write_text(os.path.join(out, "transforms.json"),
               json.dumps({"camera_angle_x": desc["camera_angle_x"], "frames": frame_records},
                          indent=1) + "\n")
    write_text(os.path.join(out, "mapping.yaml"),
               "".join("%d: %s\n" % (k, o["name"]) for k, (o, _, _) in enumerate(objects)))
    write_text(os.path.join(out, "key_frame_value.yaml"),
               "".join("%s:\n" % f + "".join("  %s: %.6f\n" % (k, v) for k, v in vals.items())
                       for f, vals in values.items()))


main()
