"""Helper of bench/run_relight_cycles.sh: facet's relighting modes against Cycles ground truth
(tools/reference/make_relight_cycles.py), with an independent exact split-sum in NumPy/PyTorch.

    /usr/bin/python3 bench/relight_cycles.py scenes CYCLES_DIR WORK_DIR
    /usr/bin/python3 bench/relight_cycles.py exact  CYCLES_DIR WORK_DIR
    /usr/bin/python3 bench/relight_cycles.py table  CYCLES_DIR WORK_DIR --timings FILE \
        [--noise CYCLES_SEED1_DIR] [--markdown OUT.md] [--command TEXT]
    /usr/bin/python3 bench/relight_cycles.py gap    CYCLES_DIR WORK_DIR [--dirs A,B] \
        [--markdown OUT.md] [--command TEXT]

scenes: for each HDRI, one facet scene per lighting mode (WORK_DIR/<hdri>/<mode>.json) holding
  every distinct (shape, material) of that HDRI's cases as its own sdf node, node k translated by
  (SPACING k, 0, 0), with a transforms.json whose frame k is the case's Cycles camera translated
  by the same offset (the environment is at infinity, so the lighting does not change). Nodes
  are SPACING = 30 units apart and trace at most 12 units (max_distance), so a camera sees only
  its own node and a shadow ray only meets its own node. One facet process per (HDRI, mode)
  then builds the prefiltered lighting once for all frames, which is what a frame costs after
  the first. Cycles cases whose material is "..._lambert" (a Lambert diffuse in Cycles; see
  make_relight_cycles.py) share the facet node of the Principled case: facet has one model.
  Also WORK_DIR/<hdri>/setup.json: frame 0 only, for timing the setup at 1 x 1 pixels, and
  repeat.json: every frame REPEATS times (<key>, <key>_rep1, ...), so that the split-sum modes'
  frames (about 0.1 s each) outweigh the noise of their setup time (5-30 s) on a busy machine.
exact: the exact split-sum of every distinct case, WORK_DIR/<hdri>/exact/<key>.npy (H x W x 4
  float32, linear RGB premultiplied over black, then coverage), with the same pixel filter;
  files already there are kept.
table: PSNR, relative RMSE and mean radiance ratio of every mode against Cycles, the split-sum
  modes against the exact split-sum, and the times; prints markdown, writes --markdown and
  WORK_DIR/results.json.
gap: PSNR against Cycles of the mode directories --dirs (WORK_DIR/<hdri>/<dir>) beside the exact
  split-sum's, and their gaps (bench/run_relight_gap.sh).

Metrics, over the pixels where Cycles' alpha > 0.999 (object interior; the film is transparent,
so edge pixels would mix in coverage noise):
  - PSNR (dB) of sRGB images: linear RGB clamped to [0, 1], sRGB-encoded, MSE over the pixels'
    three channels, 10 log10(1 / MSE);
  - relative RMSE (linear): sqrt(sum (x - y)^2 / sum y^2) over the same pixels and channels,
    y = Cycles (unclamped, HDR).

The exact split-sum (the limit quality mode approaches: the split-sum itself with no prefilter
approximation), per shading point with normal n, view v (towards the camera), R = reflect(-v, n):
    L = (1 - m) a E(n) + (F0 A(n.v, r) + B(n.v, r)) S(R, r),   F0 = 0.04 (1 - m) + m a
    E(n)    = 1/pi sum_t L_t max(n.l_t, 0) dw_t                      (irradiance / pi)
    S(R, r) = sum_t L_t W(l_t.R) dw_t / sum_t W(l_t.R) dw_t,
    W(c)    = D(h.R) max(c, 0), h.R = sqrt((1 + c) / 2), D = GGX of alpha = r^2
(the prefilter with N = V = R, summed over texels t of the lat-long map with exact texel solid
angles dw_t = (2 pi / width) (cos theta_top - cos theta_bottom)).
  - Map resolution (the HDRI decoded by facet's bench_relight --dump-map, 1024 x 512): its 4096
    brightest texels by radiance x solid angle (the sun, lamps) are summed exactly at full
    resolution in every sum below; the rest (those texels black) is downsampled (solid-angle-
    weighted block means), so that no downsample moves a sun. E sums the 128 x 64 downsample.
    S needs texels several times smaller than the lobe (about 2 alpha wide in l): a map of
    `rows` >= 3 pi / alpha rows (>= 6 texels across 2 alpha), at least 64 rows (128 x 64) and at
    most 128 rows (256 x 128) summed over every texel; a sharper lobe (roughness < 0.3 here) is
    split into a near part (angle to R below theta_1 ... theta_2, a smoothstep in cos between
    them) summed over the texels of the finer map within theta_2 (found with a k-d tree), and the
    far part (the rest of the kernel, smooth at the scale of theta_1) summed over every texel of a
    map of half as many rows;
    theta_1 = max(5 alpha, 8 texels of the far map), theta_2 = 1.5 theta_1. Roughness 0.12: near
    at 1024 x 512 (the full map), far at 512 x 256, theta_1 = 5.6 degrees; 0.2: near at 512 x 256,
    far at 256 x 128, theta_1 = 11.5 degrees. Checked against one dense sum over all 1024 x 512
    texels at 400 directions (100 of them around the sun) of interior.exr and sunset.exr, for
    roughness 0.12 ... 0.9: within 0.5% everywhere (median 0.02%); E within 0.1%.
  - A, B: the DFG integral at the material's own roughness, integrated here (not read from
    facet's table): for 256 values of n.v, 1024 x 512 midpoint samples of GGX-distributed half
    vectors (pdf D(h) n.h), A = mean (1 - Fc) G2 (v.h) / ((n.h)(n.v)), B = mean Fc G2 (...),
    Fc = (1 - v.h)^5, G2 height-correlated Smith; linear in n.v between the 256 values. `exact`
    prints their distance to splitsum_ref.py's quadrature (facet's dfg_lut.c): 2.5e-3 at
    n.v >= 0.05, 1.1e-2 at n.v = 0.002.
  - Pixels: shading points on a 3 x 3 grid per pixel (offsets -1/3, 0, 1/3 px), each pixel the
    Blackman-Harris 1.5 px weighted mean of the grid points within 1.5 px of its centre (the
    filter facet and Cycles sample; separable, 9 taps per axis), so edges and sharp reflections
    are filtered as in the others. Rays: pinhole, pixel (i, j) centre at (i + 0.5, j + 0.5)
    from the top-left, camera looking along its -z with +y up (render/camera.h). Hits: the
    sphere analytically, the torus by sphere tracing its SDF in float64, normals analytic.
"""
import argparse
import json
import math
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch

PI = math.pi
SPACING = 30.0
MAX_DISTANCE = 12.0
REPEATS = 10  # repeat.json: every frame this many times, to time the fast split-sum frames
# column label -> facet "lighting" value ("reference" N: MIS sample pairs per pixel sample)
MODES = [
    ("parity", "parity"),
    ("quality", "quality"),
    ("sampled_filter", {"mode": "quality", "filter": "sampled"}),
    ("ref16", {"mode": "reference", "samples": 16}),
    ("ref64", {"mode": "reference", "samples": 64}),
    ("ref256", {"mode": "reference", "samples": 256}),
]
LABELS = {"parity": "parity", "quality": "quality", "sampled_filter": "quality sampled",
          "ref16": "ref N=16", "ref64": "ref N=64", "ref256": "ref N=256",
          "exact_numpy": "exact split-sum", "cycles_seed1": "Cycles seed 1"}


# ---- OpenEXR (scanline images, NONE / ZIPS / ZIP, half / float / uint) ------------------------

def _unzip(block):
    """OpenEXR's ZIP: zlib, then undo the byte predictor and the even/odd split."""
    t = np.frombuffer(zlib.decompress(block), np.uint8).astype(np.int64)
    t = ((np.cumsum(t - 128) + 128) & 255).astype(np.uint8)  # t[i] = t[i-1] + t[i] - 128
    out = np.empty_like(t)
    half = (len(t) + 1) // 2
    out[0::2], out[1::2] = t[:half], t[half:]
    return out.tobytes()


def read_exr(path):
    """{channel name: H x W float32} of a single-part scanline EXR; row 0 is the top scanline."""
    data = open(path, "rb").read()
    magic, version = struct.unpack_from("<ii", data, 0)
    if magic != 20000630 or version & 0x1200:
        sys.exit(f"{path}: not a single-part scanline EXR")
    pos, header = 8, {}
    while data[pos] != 0:
        end = data.index(b"\0", pos)
        name = data[pos:end].decode()
        end2 = data.index(b"\0", end + 1)
        size = struct.unpack_from("<i", data, end2 + 1)[0]
        header[name] = data[end2 + 5:end2 + 5 + size]
        pos = end2 + 5 + size
    pos += 1
    channels, chl, p = [], header["channels"], 0
    while chl[p] != 0:
        end = chl.index(b"\0", p)
        channels.append((chl[p:end].decode(), struct.unpack_from("<i", chl, end + 1)[0]))
        p = end + 17
    compression = header["compression"][0]
    if compression not in (0, 2, 3):
        sys.exit(f"{path}: compression {compression} not supported (NONE, ZIPS, ZIP)")
    x0, y0, x1, y1 = struct.unpack("<iiii", header["dataWindow"])
    w, h = x1 - x0 + 1, y1 - y0 + 1
    lines = 16 if compression == 3 else 1
    blocks = (h + lines - 1) // lines
    offsets = struct.unpack_from(f"<{blocks}Q", data, pos)
    dtype = {0: "<u4", 1: "<f2", 2: "<f4"}
    size_of = {0: 4, 1: 2, 2: 4}
    out = {name: np.zeros((h, w), np.float32) for name, _ in channels}
    for off in offsets:
        y, size = struct.unpack_from("<ii", data, off)
        raw = data[off + 8:off + 8 + size]
        n = min(lines, y1 + 1 - y)
        if compression and size < n * w * sum(size_of[t] for _, t in channels):
            raw = _unzip(raw)
        p = 0
        for line in range(n):
            for name, t in channels:
                out[name][y - y0 + line] = np.frombuffer(raw, dtype[t], w, p)
                p += w * size_of[t]
    return out


def read_rgba(path):
    ch = read_exr(path)
    return np.stack([ch["R"], ch["G"], ch["B"], ch["A"]], -1)


# ---- cases -------------------------------------------------------------------------------------

def load_manifest(cycles_dir):
    with open(os.path.join(cycles_dir, "manifest.json")) as f:
        return json.load(f)


def facet_key(case):
    """The facet case of a Cycles case: Lambert variants share their Principled case's node."""
    return case["case"].removesuffix("_lambert")


def distinct_cases(manifest):
    """{hdri: [(key, case)]} of the distinct facet cases, in manifest order."""
    out = {}
    for case in manifest["cases"]:
        items = out.setdefault(case["hdri_name"], [])
        if facet_key(case) not in [k for k, _ in items]:
            items.append((facet_key(case), case))
    return out


def translated(matrix, dx):
    m = [list(row) for row in matrix]
    m[0][3] += dx
    return m


def cmd_scenes(args):
    manifest = load_manifest(args.cycles_dir)
    for hdri, items in distinct_cases(manifest).items():
        d = os.path.join(args.work_dir, hdri)
        os.makedirs(d, exist_ok=True)
        nodes, frames = [], []
        for k, (key, case) in enumerate(items):
            node = json.loads(json.dumps(case["node"]))
            node["name"] = key
            node["translate"] = [SPACING * k, 0.0, 0.0]
            node["max_distance"] = MAX_DISTANCE
            nodes.append(node)
            frames.append({"file_path": key,
                           "transform_matrix": translated(case["camera"]["transform_matrix"],
                                                          SPACING * k)})
        cam = items[0][1]["camera"]
        repeated = [{**fr, "file_path": fr["file_path"] + (f"_rep{k}" if k else "")}
                    for k in range(REPEATS) for fr in frames]
        for name, frame_list in (("transforms", frames), ("repeat", repeated),
                                 ("setup", frames[:1])):
            with open(os.path.join(d, name + ".json"), "w") as f:
                json.dump({"camera_angle_x": cam["camera_angle_x"], "w": cam["width"],
                           "h": cam["height"], "frames": frame_list}, f, indent=1)
        for mode, lighting in MODES:
            scene = {
                "version": 1,
                "background": [0.0, 0.0, 0.0],
                "environment": items[0][1]["environment"],
                "camera": {**cam, "transform_matrix": frames[0]["transform_matrix"]},
                "nodes": [{**n, "lighting": lighting} for n in nodes],
            }
            with open(os.path.join(d, mode + ".json"), "w") as f:
                json.dump(scene, f, indent=1)
        print(f"{hdri}: {len(items)} facet cases, {len(MODES)} modes -> {d}")


# ---- geometry ----------------------------------------------------------------------------------

def euler_xyz(deg):
    """R = Rz Ry Rx of Euler angles in degrees (Blender's XYZ order, facet's rotate_deg)."""
    x, y, z = (math.radians(a) for a in deg)
    rx = np.array([[1, 0, 0], [0, math.cos(x), -math.sin(x)], [0, math.sin(x), math.cos(x)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(z), -math.sin(z), 0], [math.sin(z), math.cos(z), 0], [0, 0, 1]])
    return rz @ ry @ rx


def camera_rays(camera, sub):
    """Origins and unit directions [H sub, W sub, 3] through a sub x sub grid in every pixel."""
    w, h = camera["width"], camera["height"]
    f = 0.5 * w / math.tan(0.5 * camera["camera_angle_x"])
    xs = (np.arange(w * sub) + 0.5) / sub  # pixel coordinates of the grid points
    ys = (np.arange(h * sub) + 0.5) / sub
    px, py = np.meshgrid(xs, ys)
    local = np.stack([(px - 0.5 * w) / f, -(py - 0.5 * h) / f, -np.ones_like(px)], -1)
    m = np.array(camera["transform_matrix"])
    d = local @ m[:3, :3].T
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    return np.broadcast_to(m[:3, 3], d.shape), d


def intersect(node, o, d):
    """hit [N] bool, normal [N, 3] of rays o, d [N, 3] against the node's shape (world frame)."""
    shape = node["shape"]
    rot = euler_xyz(node.get("rotate_deg", [0.0, 0.0, 0.0]))
    t0 = np.array(node.get("translate", [0.0, 0.0, 0.0]))
    ol, dl = (o - t0) @ rot, d @ rot  # local frame: R^T (p - t)
    if "sphere" in shape:
        c, r = np.array(shape["sphere"].get("center", [0.0, 0.0, 0.0])), shape["sphere"]["radius"]
        oc = ol - c
        b = np.sum(oc * dl, -1)
        disc = b * b - (np.sum(oc * oc, -1) - r * r)
        hit = disc > 0
        t = -b - np.sqrt(np.maximum(disc, 0))
        hit &= t > 0
        n = (oc + t[:, None] * dl) / r
    else:
        R, r = shape["torus"]["major"], shape["torus"]["minor"]
        assert shape["torus"].get("axis", [0, 0, 1]) == [0.0, 0.0, 1.0]

        def sdf(p):
            q = np.sqrt(p[:, 0] ** 2 + p[:, 1] ** 2) - R
            return np.sqrt(q * q + p[:, 2] ** 2) - r

        t = np.zeros(len(ol))
        alive = np.ones(len(ol), bool)
        hit = np.zeros(len(ol), bool)
        for _ in range(1000):
            idx = np.nonzero(alive)[0]
            if len(idx) == 0:
                break
            dist = sdf(ol[idx] + t[idx, None] * dl[idx])
            done = dist < 1e-9
            hit[idx[done]] = True
            t[idx] += np.where(done, 0.0, dist)
            alive[idx[done | (t[idx] > MAX_DISTANCE)]] = False
        p = ol + t[:, None] * dl
        ring = p.copy()
        ring[:, 2] = 0
        ring *= (R / np.linalg.norm(ring, axis=-1))[:, None]
        n = p - ring
        n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return hit, n @ rot.T


# ---- environment -------------------------------------------------------------------------------

def texel_grid(rows):
    """Unit directions [rows, 2 rows, 3] of lat-long texel centres (facet's "blender" convention,
    rotation 0: u = 0.5 - atan2(y, x) / 2 pi, v = theta / pi, row 0 at +z) and solid angles."""
    cols = 2 * rows
    theta = PI * (np.arange(rows) + 0.5) / rows
    phi = 2 * PI * (0.5 - (np.arange(cols) + 0.5) / cols)
    st, ct = np.sin(theta)[:, None], np.cos(theta)[:, None]
    dirs = np.stack(np.broadcast_arrays(st * np.cos(phi), st * np.sin(phi), ct), -1)
    edges = PI * np.arange(rows + 1) / rows
    dw = (2 * PI / cols) * (np.cos(edges[:-1]) - np.cos(edges[1:]))
    return dirs, np.broadcast_to(dw[:, None], (rows, cols))


def downsample(img, rows):
    """Solid-angle-weighted block means of a lat-long map [H, 2H, 3] down to `rows` rows."""
    k = img.shape[0] // rows
    _, dw = texel_grid(img.shape[0])
    weighted = (img * dw[..., None]).reshape(rows, k, 2 * rows, k, 3).sum((1, 3))
    return weighted / dw.reshape(rows, k, 2 * rows, k).sum((1, 3))[..., None]


class EnvMap:
    """A lat-long map split into its HOT brightest texels (by radiance x solid angle: the sun,
    lamps), kept exactly at full resolution, and the residual map (those texels black) at several
    resolutions, so that downsampling never moves a sun. Each part is (texel directions, radiance
    x solid angle, solid angle), flattened, float64; the residual keeps every texel's solid angle,
    so sums of weights over it cover the whole sphere once."""

    HOT = 4096

    def __init__(self, img):
        self.full = img.astype(np.float64)
        dirs, dw = texel_grid(img.shape[0])
        energy = (self.full.mean(-1) * dw).reshape(-1)
        hot = np.argsort(energy)[-self.HOT:]
        flat = self.full.reshape(-1, 3)
        self.hot = (dirs.reshape(-1, 3)[hot], flat[hot] * dw.reshape(-1)[hot, None],
                    np.zeros(len(hot)))
        residual = flat.copy()
        residual[hot] = 0.0
        self.residual = residual.reshape(self.full.shape)
        self.levels = {}

    def level(self, rows):
        if rows not in self.levels:
            img = self.residual if rows == self.full.shape[0] else downsample(self.residual, rows)
            dirs, dw = texel_grid(rows)
            self.levels[rows] = (dirs.reshape(-1, 3), (img * dw[..., None]).reshape(-1, 3),
                                 dw.reshape(-1).copy())
        return self.levels[rows]


def ggx_weight(c, alpha2):
    """W(c) = D(h.R) max(c, 0) for c = l.R (N = V = R: (h.R)^2 = (1 + c) / 2). Overwrites c."""
    x = (c + 1.0).mul_(0.5 * (alpha2 - 1.0)).add_(1.0)
    return c.clamp_(min=0.0).mul_(alpha2 / PI).div_(x.mul_(x))


def smooth_far(c, c1, c2):
    """0 for c >= c1 (within theta_1 of R), 1 for c <= c2 (beyond theta_2), smoothstep between."""
    s = ((c1 - c) / (c1 - c2)).clamp_(0.0, 1.0)
    return s * s * (3.0 - 2.0 * s)


def dense_sum(points, level, kernel, chunk=512):
    """sum_t kernel(l_t . p) [L_t dw_t, dw_t] over every texel, for points [P, 3]: [P, 4]
    (float32 products, each chunk's sums accumulated in float64)."""
    dirs, ldw, dw = level
    dirs_t = torch.from_numpy(dirs).float().T.contiguous()
    rhs = torch.from_numpy(np.concatenate([ldw, dw[:, None]], 1)).float()
    out = np.zeros((len(points), 4))
    pts = torch.from_numpy(points).float()
    for i in range(0, len(points), chunk):
        out[i:i + chunk] = (kernel(pts[i:i + chunk] @ dirs_t) @ rhs).double().numpy()
    return out


def near_sum(points, level, alpha2, c1, c2, cos_max, chunk=2048):
    """The near part: sum over texels within acos(cos_max) of each point, weight W (1 - far)."""
    from scipy.spatial import cKDTree

    dirs, ldw, dw = level
    tree = cKDTree(dirs)
    radius = math.sqrt(2.0 * (1.0 - cos_max))  # chord length
    out = np.zeros((len(points), 4))
    for i in range(0, len(points), chunk):
        pairs = cKDTree(points[i:i + chunk]).sparse_distance_matrix(
            tree, radius, output_type="ndarray")
        c = torch.from_numpy(1.0 - 0.5 * pairs["v"] ** 2)
        near = 1.0 - smooth_far(c, c1, c2)
        w = (ggx_weight(c, alpha2) * near).numpy()
        pi, tj = pairs["i"], pairs["j"]
        n = min(chunk, len(points) - i)
        for k in range(3):
            out[i:i + n, k] = np.bincount(pi, w * ldw[tj, k], minlength=n)
        out[i:i + n, 3] = np.bincount(pi, w * dw[tj], minlength=n)
    return out


def specular_plan(roughness, full_rows):
    """How S(R, r) is summed: ("dense", rows) or ("split", near_rows, far_rows, theta_1,
    theta_2)."""
    alpha = max(roughness * roughness, 1e-3)
    need = 3.0 * PI / alpha
    rows = 64
    while rows < need and rows < full_rows:
        rows *= 2
    if rows <= 128:
        return ("dense", rows)
    far = rows // 2
    theta1 = max(5.0 * alpha, 8.0 * PI / far)
    return ("split", rows, far, theta1, 1.5 * theta1)


def prefiltered(env, points, roughness):
    """S(R, r) at unit directions points [P, 3]: [P, 3]."""
    alpha2 = max(roughness * roughness, 1e-3) ** 2
    plan = specular_plan(roughness, env.full.shape[0])
    s = dense_sum(points, env.hot, lambda c: ggx_weight(c, alpha2))
    if plan[0] == "dense":
        s += dense_sum(points, env.level(plan[1]), lambda c: ggx_weight(c, alpha2))
    else:
        _, rows, far_rows, t1, t2 = plan
        c1, c2 = math.cos(t1), math.cos(t2)
        far = dense_sum(points, env.level(far_rows),
                        lambda c: smooth_far(c, c1, c2).mul_(ggx_weight(c, alpha2)))
        s += far + near_sum(points, env.level(rows), alpha2, c1, c2, c2)
    return s[:, :3] / s[:, 3:]


def irradiance(env, normals):
    """E(n) = 1/pi sum L max(n.l, 0) dw: [P, 3]."""
    e = dense_sum(normals, env.hot, lambda c: c.clamp_(min=0.0))
    e += dense_sum(normals, env.level(64), lambda c: c.clamp_(min=0.0))
    return e[:, :3] / PI


# ---- DFG ---------------------------------------------------------------------------------------

_DFG = {}


def dfg_curve(roughness, n_nv=256, n_u=1024, n_phi=512):
    """nv [n_nv] and A, B [n_nv] at one roughness (see the module docstring); cached."""
    key = (roughness, n_nv, n_u, n_phi)
    if key not in _DFG:
        _DFG[key] = _dfg_curve(roughness, n_nv, n_u, n_phi)
    return _DFG[key]


def _dfg_curve(roughness, n_nv, n_u, n_phi):
    alpha2 = max(roughness * roughness, 1e-3) ** 2
    nv = (np.arange(n_nv) + 0.5) / n_nv
    u = (np.arange(n_u) + 0.5) / n_u
    phi = 2 * PI * (np.arange(n_phi) + 0.5) / n_phi
    ct = np.sqrt((1 - u) / (1 + (alpha2 - 1) * u))[:, None]  # n.h
    st = np.sqrt(1 - ct * ct)
    # h in the frame n = +z, v in the xz plane: only h.x and h.z enter (v.h, n.h, n.l)
    hx, hz = st * np.cos(phi), np.broadcast_to(ct, (n_u, n_phi))

    def lam(c):
        return 0.5 * (np.sqrt(1 + alpha2 * (1 - c * c) / (c * c)) - 1)

    A, B = np.zeros(n_nv), np.zeros(n_nv)
    for k, c in enumerate(nv):
        vx, vz = math.sqrt(1 - c * c), c  # v in the xz plane
        voh = vx * hx + vz * hz
        nol = 2 * voh * hz - vz
        ok = (nol > 0) & (voh > 0)
        g2 = 1 / (1 + lam(c) + lam(np.where(ok, nol, 1.0)))
        gvis = np.where(ok, g2 * voh / (hz * c), 0.0)
        fc = (1 - np.clip(voh, 0, 1)) ** 5
        A[k], B[k] = np.mean((1 - fc) * gvis), np.mean(fc * gvis)
    return nv, A, B


# ---- the exact split-sum images ------------------------------------------------------------------

SUB = 3  # shading points per pixel per axis
BH = (0.35875, 0.48829, 0.14128, 0.01168)


def blackman_harris_taps(width=1.5):
    """Offsets (px) of the grid points within the filter's reach and their normalised weights."""
    offsets = np.arange(-4 * SUB, 4 * SUB + 1) / SUB
    offsets = offsets[np.abs(offsets) <= width + 1e-9]
    x = PI * offsets / width
    w = BH[0] + BH[1] * np.cos(x) + BH[2] * np.cos(2 * x) + BH[3] * np.cos(3 * x)
    return offsets, w / w.sum()


def pixel_filter(img_sub, size):
    """[size SUB, size SUB, C] grid values -> [size, size, C] Blackman-Harris pixels."""
    offsets, w = blackman_harris_taps()
    r = len(w) // 2
    pad = np.pad(img_sub, ((r, r), (r, r), (0, 0)))
    centres = SUB * np.arange(size) + SUB // 2 + r  # grid index of each pixel centre (padded)
    rows = sum(wk * pad[centres + k - r] for k, wk in enumerate(w))
    return sum(wk * rows[:, centres + k - r] for k, wk in enumerate(w))


def exact_image(case, env):
    cam = case["camera"]
    o, d = camera_rays(cam, SUB)
    shape = o.shape[:2]
    o, d = o.reshape(-1, 3), d.reshape(-1, 3)
    hit, n = intersect(case["node"], o, d)
    n, v = n[hit], -d[hit]
    m = case["node"]["material"]
    base, rough, metal = np.array(m["base_color"]), m["roughness"], m["metallic"]
    nov = np.sum(n * v, -1)
    refl = 2 * nov[:, None] * n - v
    refl /= np.linalg.norm(refl, axis=-1, keepdims=True)
    spec = prefiltered(env, refl, rough)
    diff = irradiance(env, n)
    nv, A, B = dfg_curve(rough)
    c = np.clip(nov, 1e-4, 1.0)
    a, b = np.interp(c, nv, A), np.interp(c, nv, B)
    f0 = 0.04 * (1 - metal) + metal * base
    rgb = (1 - metal) * base * diff + (f0 * a[:, None] + b[:, None]) * spec
    out = np.zeros((len(o), 4))
    out[hit, :3] = rgb
    out[hit, 3] = 1.0
    return pixel_filter(out.reshape(*shape, 4), cam["width"]).astype(np.float32)


def check_dfg():
    """Max |difference| of A and B against splitsum_ref.py's table (facet's dfg_lut.c quadrature)
    at n.v >= 0.05 and at all n.v (the first columns, n.v ~ 0.002, are the hardest)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                                    "reference"))
    import splitsum_ref

    lut = splitsum_ref.dfg_table("cpu").numpy()  # [roughness row, n.v column, (A, B)]
    worst, worst_all = 0.0, 0.0
    for row in (30, 76, 153, 230):  # roughness (row + 0.5) / 256
        nv, A, B = dfg_curve((row + 0.5) / 256)
        diff = np.maximum(np.abs(A - lut[row, :, 0]), np.abs(B - lut[row, :, 1]))
        worst, worst_all = max(worst, diff[nv >= 0.05].max()), max(worst_all, diff.max())
    return worst, worst_all


def cmd_exact(args):
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    manifest = load_manifest(args.cycles_dir)
    worst, worst_all = check_dfg()
    print(f"DFG integral vs splitsum_ref.py's table: max |diff| {worst:.1e} at n.v >= 0.05, "
          f"{worst_all:.1e} at all n.v", flush=True)
    for hdri, items in distinct_cases(manifest).items():
        env = EnvMap(np.load(os.path.join(args.work_dir, hdri + ".npy")))
        d = os.path.join(args.work_dir, hdri, "exact")
        os.makedirs(d, exist_ok=True)
        for key, case in items:
            path = os.path.join(d, key + ".npy")
            if os.path.exists(path):  # delete WORK_DIR/<hdri>/exact to recompute
                continue
            t0 = time.time()
            img = exact_image(case, env)
            np.save(path, img)
            plan = specular_plan(case["node"]["material"]["roughness"], env.full.shape[0])
            print(f"exact {key}: {time.time() - t0:.1f} s ({plan[0]}, {plan[1]} rows)", flush=True)


# ---- the table ---------------------------------------------------------------------------------

def srgb(x):
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def metrics(img, gt, mask):
    """PSNR (sRGB), relative RMSE (linear) and the ratio of the mean radiances (linear)."""
    a, b = img[mask, :3].astype(np.float64), gt[mask, :3].astype(np.float64)
    mse = np.mean((srgb(a) - srgb(b)) ** 2)
    psnr = 10 * math.log10(1.0 / mse) if mse > 0 else float("inf")
    return psnr, math.sqrt(np.sum((a - b) ** 2) / np.sum(b * b)), np.sum(a) / np.sum(b)


def read_timings(path):
    """{(hdri, mode): {"setup"|"all": (wall s, CPU s, frames)}} from the script's TSV (lines
    HDRI MODE KIND WALL USER SYS FRAMES)."""
    out = {}
    with open(path) as f:
        for line in f:
            hdri, mode, kind, wall, user, system, frames = line.split()
            out.setdefault((hdri, mode), {})[kind] = (float(wall), float(user) + float(system),
                                                     int(frames))
    return out


def cmd_table(args):
    manifest = load_manifest(args.cycles_dir)
    timings = read_timings(args.timings)
    cols = [m for m, _ in MODES] + ["exact_numpy"] + (["cycles_seed1"] if args.noise else [])
    psnr_rows, rmse_rows, ratio_rows, results = [], [], [], {}
    for case in manifest["cases"]:
        hdri, key = case["hdri_name"], facet_key(case)
        gt = read_rgba(os.path.join(args.cycles_dir, case["image"]))
        mask = gt[..., 3] > 0.999
        images = {m: read_rgba(os.path.join(args.work_dir, hdri, m, key + ".exr"))
                  for m, _ in MODES}
        images["exact_numpy"] = np.load(os.path.join(args.work_dir, hdri, "exact", key + ".npy"))
        if args.noise:
            images["cycles_seed1"] = read_rgba(os.path.join(args.noise, case["image"]))
        res = {m: metrics(images[m], gt, mask) for m in cols}
        results[case["case"]] = {"pixels": int(mask.sum()), **{
            m: {"psnr": round(p, 2), "rel_rmse": round(r, 4), "mean_ratio": round(q, 4)}
            for m, (p, r, q) in res.items()}}
        psnr_rows.append([case["case"]] + [f"{res[m][0]:.1f}" for m in cols])
        rmse_rows.append([case["case"]] + [f"{res[m][1]:.3f}" for m in cols])
        ratio_rows.append([case["case"]] + [f"{res[m][2]:.3f}" for m in cols])

    def table(rows, head):
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return lines + ["| " + " | ".join(r) + " |" for r in rows]

    head = ["case"] + [LABELS[m] for m in cols]
    mean_psnr = ["mean"] + [f"{np.mean([results[c][m]['psnr'] for c in results]):.1f}"
                            for m in cols]
    mean_rmse = ["mean"] + [f"{np.mean([results[c][m]['rel_rmse'] for c in results]):.3f}"
                            for m in cols]
    median_rmse = ["median"] + [
        f"{np.median([results[c][m]['rel_rmse'] for c in results]):.3f}" for m in cols]
    time_rows = []
    for hdri in dict.fromkeys(c["hdri_name"] for c in manifest["cases"]):
        row = [hdri]
        for m, _ in MODES:
            (sw, sc, _), (tw, tc, frames) = timings[(hdri, m)]["setup"], timings[(hdri, m)]["all"]
            row.append(f"{sw:.1f} s ({sc:.1f}) + {1000 * (tw - sw) / frames:.0f} ms "
                       f"({1000 * (tc - sc) / frames:.0f})")
        time_rows.append(row)

    # mean PSNR per group of cases (the README's table)
    groups = [("metal r=0.12", lambda c: "metal_r012" in c),
              ("metal r=0.3", lambda c: "metal_r030" in c),
              ("metal r=0.6, 0.9", lambda c: "metal_r060" in c or "metal_r090" in c),
              ("dielectrics", lambda c: "plastic" in c), ("tori", lambda c: c.startswith("torus")),
              ("all", lambda c: True)]
    group_rows = []
    for label, member in groups:
        names = [c for c in results if member(c)]
        group_rows.append([f"{label} ({len(names)})"] + [
            f"{np.mean([results[c][m]['psnr'] for c in names]):.1f}" for m in cols])

    # quality modes against their own limit, the exact split-sum (per distinct facet case)
    gap_rows = []
    for hdri, items in distinct_cases(manifest).items():
        for key, case in items:
            ref = np.load(os.path.join(args.work_dir, hdri, "exact", key + ".npy"))
            mask = read_rgba(os.path.join(args.cycles_dir, case["image"]))[..., 3] > 0.999
            row = [key]
            for m in ("parity", "quality", "sampled_filter"):
                img = read_rgba(os.path.join(args.work_dir, hdri, m, key + ".exr"))
                p, _, q = metrics(img, ref, mask)
                row.append(f"{p:.1f} / {q:.3f}")
            gap_rows.append(row)
    cyc = manifest["settings"]
    per_case = np.mean([c["render_seconds"] for c in manifest["cases"]])
    lines = [
        "# facet relighting modes against Cycles",
        "",
        f"Machine: {args.machine}. Date: {time.strftime('%Y-%m-%d')}.",
        f"Command: `{args.command.strip()}`",
        "",
        f"Ground truth: Blender {cyc['blender']} Cycles (CPU), {cyc['samples']} samples, "
        f"{cyc['width']} x {cyc['height']}, max bounces {cyc['max_bounces']} (direct world light, "
        "self-shadowing, no interreflection), Blackman-Harris 1.5 px; "
        f"{per_case:.1f} s per image on this machine "
        "(tools/reference/make_relight_cycles.py). facet: `--spp 16 --pixel-filter "
        "blackman-harris --filter-width 1.5`; reference N = MIS sample pairs per pixel sample "
        "(N = 16: 256 pairs per pixel, as Cycles' 256 paths). `_lambert` rows: Cycles with a "
        "Lambert diffuse instead of the Principled BSDF's Burley diffuse (same facet images). "
        + ("`Cycles seed 1`: a second Cycles render with another seed (Cycles' own noise). "
           if args.noise else "") +
        "Pixels: Cycles alpha > 0.999.",
        "",
        "## PSNR (dB, sRGB of linear clamped to [0, 1])",
        "",
        *table(psnr_rows + [mean_psnr], head),
        "",
        "## Mean PSNR by group (dB)",
        "",
        *table(group_rows, ["cases"] + [LABELS[m] for m in cols]),
        "",
        "## Relative RMSE (linear, unclamped)",
        "",
        *table(rmse_rows + [mean_rmse, median_rmse], head),
        "",
        "## Mean radiance ratio to Cycles (linear, same pixels)",
        "",
        *table(ratio_rows, head),
        "",
        "## The split-sum modes against the exact split-sum (PSNR dB / mean ratio)",
        "",
        "Each facet split-sum mode scored against the NumPy exact split-sum instead of Cycles "
        "(same pixels): how far each is from the limit of the split-sum approximation itself.",
        "",
        *table(gap_rows, ["case"] + [LABELS[m] for m in ("parity", "quality", "sampled_filter")]),
        "",
        "## Time per HDRI: setup + per 96 x 96 frame, wall (CPU user + system)",
        "",
        "Setup: the same command at 1 x 1 pixels (scene and map load, the lighting build). Per "
        "frame: (all frames - setup) / frames, each case's frame rendered 10 times in the "
        "split-sum modes and once in the reference modes. facet uses both vCPUs (CPU time is "
        "about twice the wall time). On a machine shared with another job the wall times "
        "double (an earlier run beside a CI job, load average 5-7); CPU times move less.",
        "",
        *table(time_rows, ["HDRI"] + [LABELS[m] for m, _ in MODES]),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    with open(os.path.join(args.work_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


def cmd_gap(args):
    """Quality mode's distance to its limit, as issue 17 measures it: for each Cycles case and each
    split-sum mode rendered into WORK_DIR/<hdri>/<mode dir>, PSNR against Cycles of facet and of
    the exact split-sum, and the gap between them (facet - exact; the target: >= -0.3 dB)."""
    manifest = load_manifest(args.cycles_dir)
    dirs = args.dirs.split(",")
    rows, gaps = [], {d: [] for d in dirs}
    for case in manifest["cases"]:
        hdri, key = case["hdri_name"], facet_key(case)
        gt = read_rgba(os.path.join(args.cycles_dir, case["image"]))
        mask = gt[..., 3] > 0.999
        ref = np.load(os.path.join(args.work_dir, hdri, "exact", key + ".npy"))
        exact = metrics(ref, gt, mask)[0]
        row = [case["case"], f"{exact:.2f}"]
        for d in dirs:
            p = metrics(read_rgba(os.path.join(args.work_dir, hdri, d, key + ".exr")), gt, mask)[0]
            gaps[d].append(p - exact)
            row.append(f"{p:.2f} ({p - exact:+.2f})")
        rows.append(row)
    head = ["case", "exact split-sum"] + [f"{d} (gap)" for d in dirs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines.append("| cases more than 0.3 dB below | | " + " | ".join(
        f"{sum(g < -0.3 for g in gaps[d])} of {len(gaps[d])} (worst {min(gaps[d]):+.2f})"
        for d in dirs) + " |")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(f"# Quality mode against the exact split-sum, PSNR (dB) against Cycles\n\n"
                    f"Machine: {args.machine}. Date: {time.strftime('%Y-%m-%d')}.\n"
                    f"Command: `{args.command.strip()}`\n\n{text}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["scenes", "exact", "table", "gap"])
    parser.add_argument("--dirs", default="quality,sampled_filter",
                        help="gap: comma-separated mode directories under WORK_DIR/<hdri>")
    parser.add_argument("cycles_dir")
    parser.add_argument("work_dir")
    parser.add_argument("--timings", help="table: the TSV run_relight_cycles.sh writes")
    parser.add_argument("--noise", help="table: a second Cycles set (another seed)")
    parser.add_argument("--markdown", help="table: also write the tables here")
    parser.add_argument("--command", default="", help="table: the command line to record")
    parser.add_argument("--machine", default="2-vCPU Intel Xeon VM, Debian 12")
    args = parser.parse_args()
    actions = {"scenes": cmd_scenes, "exact": cmd_exact, "table": cmd_table, "gap": cmd_gap}
    actions[args.action](args)


if __name__ == "__main__":
    main()
