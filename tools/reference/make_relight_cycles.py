"""Cycles ground truth for facet's relighting modes (GitHub issue 17, item 4): analytic shapes with
the sdf node's material, lit only by an HDRI world, rendered by Blender Cycles (CPU) as linear float
EXRs, with a manifest holding everything needed to build the matching facet scene.

    blender -b --factory-startup -P tools/reference/make_relight_cycles.py -- OUT_DIR \
        [--samples 256] [--size 96] [--hdris interior,forest,sunset] [--shapes sphere,torus] \
        [--materials metal_r012,...] [--cases SHAPE_HDRI_MATERIAL,...] [--seed 0] [--half] \
        [--bounces 0] [--skip-existing] [--check]

bench/run_relight_cycles.sh runs it into /tmp/relight_cycles and compares facet with it.

Cases: every (shape, HDRI, material) of the lists below (or --cases); OUT_DIR/<case>.exr (RGBA
float32, or half with --half as in tests/fixtures/relight_cycles; ZIP; linear; alpha = the
object's coverage: the film is transparent, so RGB is premultiplied over black),
OUT_DIR/<case>.json (the case) and OUT_DIR/manifest.json (the settings and all cases, including
each case's wall time) plus OUT_DIR/transforms.json (every case as a frame, file_path = case
name, as make_envmap_fixture_blender.py writes).

Geometry (Blender's units = facet's world units; +z up, as facet's "blender" convention):
  - sphere: radius 1 at the origin (an icosphere of 6 subdivisions, 40962 vertices on the sphere);
  - torus: major radius 0.7, minor 0.3, ring in the local xy plane (axis +z, Blender's and facet's
    torus), rotated by Euler XYZ (55, 0, 25) degrees (facet "rotate_deg", R = Rz Ry Rx) so that the
    camera sees into the hole and the ring shadows its own inside (256 x 128 quads).
  Both meshes are smooth-shaded with custom split normals set to the analytic normals at the
  vertices, so the shading normal is the SDF's gradient up to interpolation across a face.
Camera: pinhole, camera_angle_x 40 degrees, square image, 4 units from the origin looking at it
from 15 degrees above the horizon (Blender camera: looks along its -z, +y up; Euler XYZ (75, 0,
0)): the transform_matrix is the camera-to-world matrix of Blender/NeRF-synthetic transforms.json.

Material (facet's simplified Disney: F0 = 0.04 (1 - m) + m a, GGX alpha = roughness^2):
  - "principled": Principled BSDF, distribution GGX (single scattering, no multiscatter energy
    compensation), specular 0.5 (F0 = 0.08 x 0.5 = 0.04, IOR 1.5), specular tint 0, subsurface 0,
    sheen 0, clearcoat 0, transmission 0, anisotropic 0;
  - "lambert" (dielectrics only): Add Shader of a Diffuse BSDF (roughness 0: Lambert, colour a)
    and the Principled BSDF above with a black base colour (its specular lobe only), which is
    facet's additive model: Lambert diffuse without (1 - F) plus the GGX specular. The Principled
    diffuse of Blender 3.4 is Burley's (Fresnel darkening at grazing angles plus a
    roughness-dependent retro-reflection), which facet does not model.
  Known differences that remain in Blender 3.4's Cycles: the specular Fresnel is the dielectric
  Fresnel of IOR 1.5 normalised to [F0, 1] (not Schlick's (1 - v.h)^5: about 0.09 instead of
  0.07 at 60 degrees for a dielectric, negligible for metals), and GGX's shadowing is the
  separable Smith G1(v) G1(l) (facet: height-correlated), darker for rough materials at grazing
  angles: under uniform light a silver sphere of roughness 0.9 reflects 5% less (0.6: 0.7%);
  bench/relight_cycles.md measures facet's reference mode 2-4% above Cycles at 0.9.

Light transport: max bounces 0 (all per-type bounce limits 0, transparent 0): Cycles then shades
the camera ray's first hit with the world's direct light by both strategies, next-event estimation
on the world's importance map and the BSDF-sampled ray that escapes to the world, combined by
MIS, and stops (a BSDF ray that hits the object again adds nothing). This is facet's "reference"
mode exactly: direct environment light with self-shadowing, no interreflection. Measured with
--check (below, Blender 3.4.1): on the convex sphere, where no second bounce can meet the object,
max bounces 0 and 1 give the same means to all printed digits (so bounce 0 keeps the
BSDF-sampled rays that escape to the world: without them the MIS-weighted light samples alone
would be darker), and bounce 0 with the world's MIS off (BSDF sampling alone, under courtyard.exr,
which has no sun) has the same mean within 0.3%, only noisier.
No clamping (direct and indirect 0), Filter Glossy 0, light threshold 0, no denoiser, adaptive
sampling off, fixed seed, Blackman-Harris pixel filter 1.5 px (Blender's default), view transform
Standard (irrelevant for float EXR output, set for clarity), world importance map automatic.

--check renders the convex sphere (metal_r060, metal_r012 and plastic_r070) at 64 x 64 under
interior.exr (64 samples; max bounces 0 and 1) and courtyard.exr (256 samples; max bounces 0, 1,
and 0 with the world's MIS off), prints the mean radiance over the covered pixels of each, and
exits.
"""
import argparse
import json
import math
import os
import sys
import time

import bmesh
import bpy
from mathutils import Euler, Vector

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blender_cycles import set_hdri_world  # noqa: E402

HDRI_DIR = "/usr/share/blender/datafiles/studiolights/world"
HDRIS = ["interior", "forest", "sunset"]
SHAPES = ["sphere", "torus"]
CAMERA_ANGLE_X = math.radians(40.0)
CAMERA_DISTANCE = 4.0
CAMERA_EULER_DEG = (75.0, 0.0, 0.0)  # pitch 75: 15 degrees above the horizon, looking along +y
TORUS = {"major": 0.7, "minor": 0.3, "rotate_deg": [55.0, 0.0, 25.0]}

SILVER = [0.972, 0.960, 0.915]
# name: (base_color (linear), roughness, metallic, cycles material kind)
MATERIALS = {
    "metal_r012": (SILVER, 0.12, 1.0, "principled"),
    "metal_r030": (SILVER, 0.30, 1.0, "principled"),
    "metal_r060": (SILVER, 0.60, 1.0, "principled"),
    "metal_r090": (SILVER, 0.90, 1.0, "principled"),
    "plastic_r020": ([0.70, 0.06, 0.05], 0.20, 0.0, "principled"),
    "plastic_r070": ([0.20, 0.30, 0.80], 0.70, 0.0, "principled"),
    "plastic_r020_lambert": ([0.70, 0.06, 0.05], 0.20, 0.0, "lambert"),
    "plastic_r070_lambert": ([0.20, 0.30, 0.80], 0.70, 0.0, "lambert"),
}


# ---- scene -----------------------------------------------------------------------------------

def configure(scene, size, samples, seed, bounces):
    scene.render.engine = "CYCLES"
    c = scene.cycles
    c.device = "CPU"
    c.samples = samples
    c.use_adaptive_sampling = False
    c.use_denoising = False
    c.seed = seed
    c.pixel_filter_type = "BLACKMAN_HARRIS"
    c.filter_width = 1.5
    c.max_bounces = bounces
    c.diffuse_bounces = c.glossy_bounces = c.transmission_bounces = bounces
    c.volume_bounces = 0
    c.transparent_max_bounces = 0
    c.sample_clamp_direct = 0.0
    c.sample_clamp_indirect = 0.0
    c.blur_glossy = 0.0
    c.light_sampling_threshold = 0.0
    c.caustics_reflective = c.caustics_refractive = True
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = True
    scene.render.dither_intensity = 0.0
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    s = scene.render.image_settings
    s.file_format = "OPEN_EXR"
    s.color_mode = "RGBA"
    s.color_depth = "32"
    s.exr_codec = "ZIP"


def set_world(scene, hdri_path, mis=True):
    """The HDRI world (blender_cycles.set_hdri_world); mis False turns off the world's importance
    sampling (the --check of BSDF-only light paths)."""
    world = set_hdri_world(scene, hdri_path)
    world.cycles.sampling_method = "AUTOMATIC" if mis else "NONE"


def smooth_mesh(name, verts, faces, normals):
    """A mesh object with smooth faces whose shading normals are `normals` at the vertices."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], faces)
    mesh.update()
    mesh.polygons.foreach_set("use_smooth", [True] * len(mesh.polygons))
    mesh.use_auto_smooth = True  # Blender 3.x: needed for custom split normals
    mesh.normals_split_custom_set_from_vertices(normals)
    return bpy.data.objects.new(name, mesh)


def make_sphere():
    bm = bmesh.new()
    bmesh.ops.create_icosphere(bm, subdivisions=6, radius=1.0)
    verts = [tuple(v.co.normalized()) for v in bm.verts]  # exactly on the unit sphere
    faces = [[v.index for v in f.verts] for f in bm.faces]
    bm.free()
    return smooth_mesh("sphere", verts, faces, verts)


def make_torus(major_segments=256, minor_segments=128):
    R, r = TORUS["major"], TORUS["minor"]
    verts, normals, faces = [], [], []
    for i in range(major_segments):
        u = 2.0 * math.pi * i / major_segments
        for j in range(minor_segments):
            v = 2.0 * math.pi * j / minor_segments
            n = (math.cos(v) * math.cos(u), math.cos(v) * math.sin(u), math.sin(v))
            verts.append((R * math.cos(u) + r * n[0], R * math.sin(u) + r * n[1], r * n[2]))
            normals.append(n)
    for i in range(major_segments):
        for j in range(minor_segments):
            i1, j1 = (i + 1) % major_segments, (j + 1) % minor_segments
            faces.append([i * minor_segments + j, i1 * minor_segments + j,
                          i1 * minor_segments + j1, i * minor_segments + j1])
    obj = smooth_mesh("torus", verts, faces, normals)
    obj.rotation_mode = "XYZ"
    obj.rotation_euler = [math.radians(a) for a in TORUS["rotate_deg"]]
    return obj


def make_material(name, base_color, roughness, metallic, kind):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    p = nodes.new("ShaderNodeBsdfPrincipled")
    p.distribution = "GGX"
    p.subsurface_method = "BURLEY"
    values = {"Base Color": (*base_color, 1.0), "Subsurface": 0.0, "Metallic": metallic,
              "Specular": 0.5, "Specular Tint": 0.0, "Roughness": roughness,
              "Anisotropic": 0.0, "Sheen": 0.0, "Clearcoat": 0.0, "Transmission": 0.0,
              "Emission Strength": 0.0, "Alpha": 1.0}
    for key, value in values.items():
        p.inputs[key].default_value = value
    out = nodes.new("ShaderNodeOutputMaterial")
    if kind == "principled":
        links.new(p.outputs["BSDF"], out.inputs["Surface"])
    else:  # lambert: Diffuse BSDF (roughness 0 = Lambert) + the Principled specular lobe alone
        assert metallic == 0.0
        p.inputs["Base Color"].default_value = (0.0, 0.0, 0.0, 1.0)
        d = nodes.new("ShaderNodeBsdfDiffuse")
        d.inputs["Color"].default_value = (*base_color, 1.0)
        d.inputs["Roughness"].default_value = 0.0
        add = nodes.new("ShaderNodeAddShader")
        links.new(d.outputs["BSDF"], add.inputs[0])
        links.new(p.outputs["BSDF"], add.inputs[1])
        links.new(add.outputs["Shader"], out.inputs["Surface"])
    return mat


def make_camera(scene):
    data = bpy.data.cameras.new("camera")
    data.sensor_fit = "HORIZONTAL"
    data.angle_x = CAMERA_ANGLE_X
    cam = bpy.data.objects.new("camera", data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    rot = Euler([math.radians(a) for a in CAMERA_EULER_DEG], "XYZ").to_matrix()
    forward = rot @ Vector((0.0, 0.0, -1.0))
    cam.matrix_world = rot.to_4x4()
    cam.matrix_world.translation = -CAMERA_DISTANCE * forward
    return cam


def facet_shape(shape):
    """The facet sdf node keys of a shape (shape plus transform)."""
    if shape == "sphere":
        return {"shape": {"sphere": {"center": [0.0, 0.0, 0.0], "radius": 1.0}}}
    return {"shape": {"torus": {"major": TORUS["major"], "minor": TORUS["minor"],
                                "axis": [0.0, 0.0, 1.0]}},
            "rotate_deg": TORUS["rotate_deg"]}


def clear_scene(scene, keep=()):
    for obj in list(scene.objects):
        if obj not in keep:
            bpy.data.objects.remove(obj, do_unlink=True)


# ---- the check of the light-path setting -----------------------------------------------------

def mean_covered(path):
    """Mean RGB over the pixels with alpha > 0.999 of a rendered EXR, read back by Blender."""
    img = bpy.data.images.load(path)
    px = list(img.pixels)
    n, total = 0, [0.0, 0.0, 0.0]
    for k in range(0, len(px), 4):
        if px[k + 3] > 0.999:
            n += 1
            for c in range(3):
                total[c] += px[k + c]
    bpy.data.images.remove(img)
    return [t / max(n, 1) for t in total], n


def check(out_dir):
    scene = bpy.context.scene
    clear_scene(scene)
    configure(scene, 64, 64, 0, 0)
    make_camera(scene)
    obj = make_sphere()
    scene.collection.objects.link(obj)
    # interior.exr (a window of radiance up to 3e4): bounces 0 against 1; courtyard.exr (no sun,
    # max 50) also with the world's MIS off, where BSDF sampling alone converges at 256 samples
    runs = [("interior", 64, 0, True), ("interior", 64, 1, True),
            ("courtyard", 256, 0, True), ("courtyard", 256, 1, True),
            ("courtyard", 256, 0, False)]
    for name in ("metal_r060", "metal_r012", "plastic_r070"):
        obj.data.materials.clear()
        obj.data.materials.append(make_material(name, *MATERIALS[name]))
        for hdri, samples, bounces, mis in runs:
            configure(scene, 64, samples, 0, bounces)
            set_world(scene, os.path.join(HDRI_DIR, hdri + ".exr"), mis)
            path = os.path.abspath(
                os.path.join(out_dir, f"check_{name}_{hdri}_{bounces}_{int(mis)}.exr"))
            scene.render.filepath = path
            t0 = time.time()
            bpy.ops.render.render(write_still=True)
            mean, n = mean_covered(path)
            label = f"{hdri} {samples} spp, bounces {bounces}" + ("" if mis else ", world MIS off")
            print(f"CHECK {name:12s} {label:42s} mean {mean[0]:.4f} {mean[1]:.4f} {mean[2]:.4f}"
                  f"  ({n} px, {time.time() - t0:.1f} s)", flush=True)


# ---- main ------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--hdris", default=",".join(HDRIS))
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--materials", default=",".join(MATERIALS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bounces", type=int, default=0)
    parser.add_argument("--cases", help="only these cases (SHAPE_HDRI_MATERIAL, comma-separated)")
    parser.add_argument("--half", action="store_true", help="half-float EXRs (fixtures)")
    parser.add_argument("--skip-existing", action="store_true",
                        help="keep cases whose EXR and JSON are already in OUT_DIR")
    parser.add_argument("--check", action="store_true", help="the light-path check only")
    args = parser.parse_args(sys.argv[sys.argv.index("--") + 1:])
    out_dir = os.path.abspath(args.out_dir)
    os.makedirs(out_dir, exist_ok=True)
    if args.check:
        check(out_dir)
        return

    scene = bpy.context.scene
    clear_scene(scene)
    configure(scene, args.size, args.samples, args.seed, args.bounces)
    if args.half:
        scene.render.image_settings.color_depth = "16"
    only = set(args.cases.split(",")) if args.cases else None
    cam = make_camera(scene)
    transform = [list(row) for row in cam.matrix_world]
    objects = {"sphere": make_sphere, "torus": make_torus}
    settings = {
        "blender": bpy.app.version_string, "engine": "CYCLES", "device": "CPU",
        "samples": args.samples, "adaptive_sampling": False, "seed": args.seed,
        "exr": "half" if args.half else "float",
        "max_bounces": args.bounces, "pixel_filter": "BLACKMAN_HARRIS", "filter_width": 1.5,
        "film_transparent": True, "view_transform": "Standard", "clamp": 0,
        "width": args.size, "height": args.size,
        "camera_angle_x": CAMERA_ANGLE_X, "transform_matrix": transform,
        "environment": {"convention": "blender", "rotation_deg": 0.0, "strength": 1.0},
    }
    cases, frames = [], []
    start = time.time()
    for shape in args.shapes.split(","):
        clear_scene(scene, keep=(cam,))
        obj = objects[shape]()
        scene.collection.objects.link(obj)
        for hdri in args.hdris.split(","):
            hdri_path = os.path.join(HDRI_DIR, hdri + ".exr")
            set_world(scene, hdri_path)
            for name in args.materials.split(","):
                base_color, roughness, metallic, kind = MATERIALS[name]
                case = f"{shape}_{hdri}_{name}"
                if only is not None and case not in only:
                    continue
                exr = os.path.join(out_dir, case + ".exr")
                meta_path = os.path.join(out_dir, case + ".json")
                if args.skip_existing and os.path.exists(exr) and os.path.exists(meta_path):
                    with open(meta_path) as f:
                        meta = json.load(f)
                else:
                    obj.data.materials.clear()
                    obj.data.materials.append(
                        make_material(name, base_color, roughness, metallic, kind))
                    scene.render.filepath = exr
                    t0 = time.time()
                    bpy.ops.render.render(write_still=True)
                    seconds = time.time() - t0
                    print(f"RENDERED {case} in {seconds:.1f} s", flush=True)
                    meta = {
                        "case": case, "image": case + ".exr", "shape_name": shape,
                        "hdri_name": hdri, "material_name": name, "cycles_material": kind,
                        "node": {"type": "sdf", "name": shape, **facet_shape(shape),
                                 "material": {"base_color": base_color, "roughness": roughness,
                                              "metallic": metallic}},
                        "environment": {"map": hdri_path, "convention": "blender",
                                        "rotation_deg": 0.0, "strength": 1.0},
                        "camera": {"transform_matrix": transform,
                                   "camera_angle_x": CAMERA_ANGLE_X,
                                   "width": args.size, "height": args.size},
                        "cycles": {k: settings[k] for k in
                                   ("blender", "samples", "seed", "max_bounces", "pixel_filter",
                                    "filter_width")},
                        "render_seconds": round(seconds, 2),
                    }
                    with open(meta_path, "w") as f:
                        json.dump(meta, f, indent=1)
                cases.append(meta)
                frames.append({"file_path": case, "transform_matrix": transform})
    settings["total_render_seconds"] = round(time.time() - start, 1)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"settings": settings, "cases": cases}, f, indent=1)
    with open(os.path.join(out_dir, "transforms.json"), "w") as f:
        json.dump({"camera_angle_x": CAMERA_ANGLE_X, "w": args.size, "h": args.size,
                   "frames": frames}, f, indent=2)
    print(f"{len(cases)} cases in {settings['total_render_seconds']} s -> {out_dir}")


if __name__ == "__main__":
    main()
