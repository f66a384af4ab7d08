"""PyTorch reference of facet's split-sum relighting, for bench/run_relight.sh: the same math as
lighting/cubemap.h (lat-long -> cube with padded faces, box mips, seamless trilinear lookups),
lighting/prefilter.h (quality mode: filtered importance sampling of the GGX lobe; cosine irradiance
with exact texel solid angles), lighting/dfg_lut.c (the DFG table by the same quadrature),
nodes/sphere_trace.h and lighting/splitsum.h, on the analytic sphere scene of bench/bench_relight.c
(one metallic sphere, roughness 0.4, camera at (0, -3, 0) looking along +y, fov 45 degrees,
environment background).

    python3 tools/reference/splitsum_ref.py bench MAP.npy [--size 512] [--samples 64]
            [--width 800] [--height 800] [--device cpu|cuda] [--out IMAGE.npy]

MAP.npy: the decoded HDRI (H x W x 3 float32, blender convention), written by
`bench_relight HDRI --dump-map MAP.npy`. Prints JSON lines like the C benchmark.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

PI = math.pi


# ---- cube maps ------------------------------------------------------------------------------

def face_dir(face, fx, fy):
    one = torch.ones_like(fx)
    table = [(one, -fy, -fx), (-one, -fy, fx), (fx, one, fy),
             (fx, -one, -fy), (fx, -fy, one), (-fx, -fy, -one)]
    return torch.stack(table[face], -1)


def face_coords(n, lo, hi, device):
    """Face coordinates of texel indices lo..hi-1 at face size n."""
    return 2.0 * (torch.arange(lo, hi, device=device, dtype=torch.float32) + 0.5) / n - 1.0


def texel_dirs(n, device):
    """[6, n, n, 3] unit directions of texel centres (row y, column x)."""
    f = face_coords(n, 0, n, device)
    fy, fx = torch.meshgrid(f, f, indexing="ij")
    d = torch.stack([face_dir(s, fx, fy) for s in range(6)])
    return d / d.norm(dim=-1, keepdim=True)


def face_uv(d):
    """nvdiffrast indexCubeMap: face index and u, v in [0, 1] for directions [..., 3]."""
    x, y, z = d.unbind(-1)
    ax, ay, az = x.abs(), y.abs(), z.abs()
    is_z = az > torch.maximum(ax, ay)
    is_y = (~is_z) & (ay > ax)
    c = torch.where(is_z, z, torch.where(is_y, y, x))
    a = torch.where(is_z | is_y, x, z)
    b = torch.where(is_z, y, torch.where(is_y, z, y))
    face = torch.where(is_z, 4, torch.where(is_y, 2, 0)) + (c < 0).long()
    m = 0.5 / c.abs()
    mu = torch.where((face == 0) | (face == 5), -m, m)
    mv = torch.where(face == 2, m, -m)
    return face, (a * mu + 0.5).clamp(0, 1), (b * mv + 0.5).clamp(0, 1)


def fill_borders(level):
    """level: [6, n+2, n+2, 3] padded faces; fills the one-texel border from neighbour faces and
    the corners with the average of the three texels around them."""
    n = level.shape[1] - 2
    dev = level.device
    idx = torch.arange(-1, n + 1, device=dev)
    for face in range(6):
        for rows, cols in ((idx[1:-1], torch.tensor([-1], device=dev)),
                           (idx[1:-1], torch.tensor([n], device=dev)),
                           (torch.tensor([-1], device=dev), idx[1:-1]),
                           (torch.tensor([n], device=dev), idx[1:-1])):
            yy, xx = torch.meshgrid(rows, cols, indexing="ij")
            fx = 2.0 * (xx.float() + 0.5) / n - 1.0
            fy = 2.0 * (yy.float() + 0.5) / n - 1.0
            g, u, v = face_uv(face_dir(face, fx, fy))
            tx = (u * n).long().clamp(max=n - 1)
            ty = (v * n).long().clamp(max=n - 1)
            level[face, yy + 1, xx + 1] = level[g, ty + 1, tx + 1]
        for (y, x, ny, nx) in ((-1, -1, 0, 0), (-1, n, 0, n - 1), (n, -1, n - 1, 0),
                               (n, n, n - 1, n - 1)):
            level[face, y + 1, x + 1] = (level[face, ny + 1, x + 1] + level[face, y + 1, nx + 1]
                                         + level[face, ny + 1, nx + 1]) / 3.0
    return level


def envmap_radiance(img, d):
    """Blender convention, bilinear, u wrapped, v clamped. img [H, W, 3], d [..., 3] unit."""
    h, w = img.shape[:2]
    u = 0.5 - torch.atan2(d[..., 1], d[..., 0]) / (2 * PI)
    u = u - torch.floor(u)
    v = torch.acos(d[..., 2].clamp(-1, 1)) / PI
    x, y = u * w - 0.5, v * h - 0.5
    x0, y0 = torch.floor(x), torch.floor(y)
    tx, ty = (x - x0)[..., None], (y - y0)[..., None]
    x0, y0 = x0.long(), y0.long()
    x1, y1 = (x0 + 1) % w, (y0 + 1).clamp(0, h - 1)
    x0, y0 = x0 % w, y0.clamp(0, h - 1)
    top = img[y0, x0] + (img[y0, x1] - img[y0, x0]) * tx
    bottom = img[y1, x0] + (img[y1, x1] - img[y1, x0]) * tx
    return top + (bottom - top) * ty


def build_chain(img, size):
    """Box mip chain [size .. 1] of padded levels."""
    base = torch.zeros(6, size + 2, size + 2, 3, device=img.device)
    base[:, 1:-1, 1:-1] = envmap_radiance(img, texel_dirs(size, img.device))
    chain = [fill_borders(base)]
    while chain[-1].shape[1] - 2 > 1:
        prev = chain[-1][:, 1:-1, 1:-1]
        n = prev.shape[1] // 2
        nxt = torch.zeros(6, n + 2, n + 2, 3, device=img.device)
        nxt[:, 1:-1, 1:-1] = prev.reshape(6, n, 2, n, 2, 3).mean(dim=(2, 4))
        chain.append(fill_borders(nxt))
    return chain


class FlatChain:
    """A mip chain flattened into one [texels, 3] tensor so that a lookup at per-sample levels
    is a handful of gathers."""

    def __init__(self, chain):
        self.levels = len(chain)
        self.flat = torch.cat([lvl.reshape(-1, 3) for lvl in chain])
        dev = self.flat.device
        self.sizes = torch.tensor([lvl.shape[1] - 2 for lvl in chain], device=dev)
        counts = torch.tensor([lvl.shape[0] * lvl.shape[1] * lvl.shape[2] for lvl in chain],
                              device=dev)
        self.offsets = torch.cumsum(counts, 0) - counts

    def bilinear(self, level, face, u, v):
        n = self.sizes[level]
        stride = n + 2
        x, y = u * n - 0.5, v * n - 0.5
        x0, y0 = torch.floor(x), torch.floor(y)
        tx, ty = (x - x0)[..., None], (y - y0)[..., None]
        base = self.offsets[level] + (face * stride + y0.long() + 1) * stride + x0.long() + 1
        p00, p10 = self.flat[base], self.flat[base + 1]
        p01, p11 = self.flat[base + stride], self.flat[base + stride + 1]
        top = p00 + (p10 - p00) * tx
        bottom = p01 + (p11 - p01) * tx
        return top + (bottom - top) * ty

    def sample(self, d, lod):
        """Seamless trilinear lookup; lod clamped to [0, levels - 1]."""
        face, u, v = face_uv(d)
        lod = lod.clamp(0, self.levels - 1)
        l0 = torch.floor(lod).long()
        f = (lod - l0.float())[..., None]
        l1 = (l0 + 1).clamp(max=self.levels - 1)
        a = self.bilinear(l0, face, u, v)
        return a + (self.bilinear(l1, face, u, v) - a) * f


# ---- prefiltering -----------------------------------------------------------------------------

def radical_inverse(i):
    i = i.astype(np.uint64)
    i = ((i << 16) | (i >> 16)) & 0xFFFFFFFF
    i = ((i & 0x55555555) << 1) | ((i & 0xAAAAAAAA) >> 1)
    i = ((i & 0x33333333) << 2) | ((i & 0xCCCCCCCC) >> 2)
    i = ((i & 0x0F0F0F0F) << 4) | ((i & 0xF0F0F0F0) >> 4)
    i = ((i & 0x00FF00FF) << 8) | ((i & 0xFF00FF00) >> 8)
    return (i >> 8).astype(np.float64) / 16777216.0


def ggx_ndf(alpha2, c):
    c = c.clamp(0, 1)
    d = (c * alpha2 - c) * c + 1
    return alpha2 / (d * d * PI)


def sample_table(alpha2, samples, size, device):
    """[k, 5]: reflected direction in the (t, b, R) frame, weight NoL, lookup lod."""
    i = np.arange(samples)
    u1 = torch.tensor((i + 0.5) / samples, dtype=torch.float32, device=device)
    phi = torch.tensor(2 * PI * radical_inverse(i), dtype=torch.float32, device=device)
    ct2 = (1 - u1) / (1 + (alpha2 - 1) * u1)
    nol = 2 * ct2 - 1
    ct, st = ct2.sqrt(), (1 - ct2).clamp(min=0).sqrt()
    pdf = 0.25 * ggx_ndf(alpha2, ct)
    log2_omega_p = math.log2(4 * PI / (6 * size * size))
    lod = 0.5 * (-math.log2(samples) - torch.log2(pdf) - log2_omega_p)
    table = torch.stack([2 * ct * st * torch.cos(phi), 2 * ct * st * torch.sin(phi), nol, nol,
                         lod], -1)
    return table[nol > 0]


def basis(n):
    sign = torch.where(n[..., 2] >= 0, 1.0, -1.0)
    a = -1.0 / (sign + n[..., 2])
    c = n[..., 0] * n[..., 1] * a
    t = torch.stack([1 + sign * n[..., 0] ** 2 * a, sign * c, -sign * n[..., 0]], -1)
    b = torch.stack([c, sign + n[..., 1] ** 2 * a, -n[..., 1]], -1)
    return t, b


def prefilter_level(chain, size, n, roughness, samples, chunk=1 << 14):
    alpha2 = roughness ** 4
    table = sample_table(alpha2, samples, size, chain.flat.device)
    R = texel_dirs(n, chain.flat.device).reshape(-1, 3)
    out = torch.zeros_like(R)
    for s in range(0, R.shape[0], chunk):
        r = R[s:s + chunk]
        t, b = basis(r)
        l = (t[:, None] * table[None, :, 0:1] + b[:, None] * table[None, :, 1:2]
             + r[:, None] * table[None, :, 2:3])
        c = chain.sample(l, table[None, :, 4].expand(l.shape[:2]))
        out[s:s + chunk] = (c * table[None, :, 3:4]).sum(1) / table[:, 3].sum()
    level = torch.zeros(6, n + 2, n + 2, 3, device=R.device)
    level[:, 1:-1, 1:-1] = out.reshape(6, n, n, 3)
    return fill_borders(level)


def exact_texel_weights(n, device):
    e = 2.0 * torch.arange(n + 1, device=device, dtype=torch.float64) / n - 1.0
    y, x = torch.meshgrid(e, e, indexing="ij")
    a = torch.atan2(x * y, torch.sqrt(x * x + y * y + 1))
    return (a[1:, 1:] - a[:-1, 1:] - a[1:, :-1] + a[:-1, :-1]).float()


def irradiance(level16):
    n = level16.shape[1] - 2
    dirs = texel_dirs(n, level16.device).reshape(-1, 3)
    w = exact_texel_weights(n, level16.device).expand(6, n, n).reshape(-1)
    cos = (dirs @ dirs.T).clamp(0, 0.999)
    src = level16[:, 1:-1, 1:-1].reshape(-1, 3)
    level = torch.zeros_like(level16)
    level[:, 1:-1, 1:-1] = ((cos * w[None] / 3.141592) @ src).reshape(6, n, n, 3)
    return fill_borders(level)


def build_lighting(img, size, samples):
    chain = build_chain(img, size)
    flat = FlatChain(chain)
    levels = int(math.log2(size // 16)) + 1
    specular = []
    for i in range(levels):
        r = 1.0 if i == levels - 1 else 0.08 + 0.42 * i / (levels - 2)
        specular.append(prefilter_level(flat, size, size >> i, r, samples))
    return FlatChain(specular), FlatChain([irradiance(chain[levels - 1])])


# ---- DFG table (lighting/dfg_lut.c's quadrature) --------------------------------------------------

def dfg_table(device):
    def gl(n):
        x, w = np.polynomial.legendre.leggauss(n)
        return (torch.tensor((x + 1) / 2, device=device, dtype=torch.float64),
                torch.tensor(w / 2, device=device, dtype=torch.float64))
    xf, wf = gl(16)
    xp, wp = gl(32)
    xa, wa = gl(12)
    r = (torch.arange(256, device=device, dtype=torch.float64) + 0.5) / 256
    nov = r.clone()
    a2 = (r ** 4)[:, None, None, None]
    cv = nov[None, :, None, None]
    sv = (1 - cv * cv).sqrt()

    def lam(c):
        return 0.5 * (-1 + (1 + a2 * (1 - c * c) / (c * c)).sqrt())

    tv = torch.acos(cv)
    def u_of(c):
        return (1 - c * c) / (1 + c * c * (a2 - 1))
    u1, u2 = u_of(torch.cos(0.5 * (0.5 * PI - tv))), u_of(torch.cos(0.5 * (0.5 * PI + tv)))

    def ring(u, weight, phi_max):
        ct = ((1 - u) / (1 + (a2 - 1) * u)).sqrt()
        st = (1 - ct * ct).clamp(min=0).sqrt()
        phi = phi_max * xa[None, None, None, :]
        voh = sv * st * torch.cos(phi) + cv * ct
        nol = (2 * voh * ct - cv).clamp(min=1e-12)
        g = 1 / (1 + lam(cv) + lam(nol))
        gv = g * voh / (ct * cv)
        fc = (1 - voh) ** 5
        w = weight * wa[None, None, None, :] * phi_max / PI
        return ((w * (1 - fc) * gv).sum((2, 3)), (w * fc * gv).sum((2, 3)))

    a_full, b_full = ring(u1 * xf[None, None, :, None], u1 * wf[None, None, :, None], PI)
    s = xp[None, None, :, None]
    u = u1 + (u2 - u1) * 0.5 * (1 - torch.cos(PI * s))
    du = (u2 - u1) * 0.5 * PI * torch.sin(PI * s)
    ct = ((1 - u) / (1 + (a2 - 1) * u)).sqrt()
    st = (1 - ct * ct).clamp(min=0).sqrt()
    denom = 2 * ct * st * sv
    c0 = torch.where(denom > 0, cv * (1 - 2 * ct * ct) / denom, torch.ones_like(denom))
    a_part, b_part = ring(u, du * wp[None, None, :, None], torch.acos(c0.clamp(-1, 1)))
    return torch.stack([a_full + a_part, b_full + b_part], -1).float()


def dfg_lookup(lut, nov, rough):
    x = (nov.clamp(0, 1) * 256 - 0.5).clamp(0, 255)
    y = (rough.clamp(0, 1) * 256 - 0.5).clamp(0, 255)
    x0, y0 = x.long(), y.long()
    x1, y1 = (x0 + 1).clamp(max=255), (y0 + 1).clamp(max=255)
    tx, ty = (x - x0)[..., None], (y - y0)[..., None]
    top = lut[y0, x0] + (lut[y0, x1] - lut[y0, x0]) * tx
    bottom = lut[y1, x0] + (lut[y1, x1] - lut[y1, x0]) * tx
    return top + (bottom - top) * ty


# ---- the analytic sphere frame ------------------------------------------------------------------

def render_frame(img, specular, diffuse, lut, width, height, base_color, roughness, metallic):
    dev = img.device
    focal = 0.5 * width / math.tan(0.5 * 0.7853982)
    j, i = torch.meshgrid(torch.arange(height, device=dev), torch.arange(width, device=dev),
                          indexing="ij")
    local = torch.stack([(i + 0.5 - 0.5 * width) / focal, -(j + 0.5 - 0.5 * height) / focal,
                         -torch.ones_like(i, dtype=torch.float32)], -1).reshape(-1, 3)
    c2w = torch.tensor([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=torch.float32, device=dev)
    d = local @ c2w.T
    d = d / d.norm(dim=-1, keepdim=True)
    o = torch.tensor([0.0, -3.0, 0.0], device=dev).expand_as(d)
    # sphere tracing inside the bounding sphere (radius 1.001), epsilon 5e-4 t, 512 steps
    b = (o * d).sum(-1)
    disc = b * b - ((o * o).sum(-1) - 1.001 ** 2)
    alive = disc >= 0
    s = disc.clamp(min=0).sqrt()
    t0, t1 = (-b - s).clamp(min=0), -b + s
    alive &= t1 >= 0
    t = t0.clone()
    hit = torch.zeros_like(alive)
    for _ in range(512):
        if not alive.any():
            break
        p = o[alive] + d[alive] * t[alive, None]
        dist = p.norm(dim=-1) - 1.0
        done = dist < torch.clamp(5e-4 * t[alive], min=1e-6)
        idx = alive.nonzero().squeeze(-1)
        hit[idx[done]] = True
        t[idx[~done]] += dist[~done]
        alive[idx[done]] = False
        alive[idx] &= t[idx] <= t1[idx]
    out = envmap_radiance(img, d)
    x = o[hit] + d[hit] * t[hit, None]
    n = x / x.norm(dim=-1, keepdim=True)
    wi = -d[hit]
    nov = (n * wi).sum(-1)
    wo = 2 * nov[:, None] * n - wi
    e_d = diffuse.sample(n, torch.zeros_like(nov))
    levels = specular.levels
    r = torch.full_like(nov, roughness)
    mip = torch.where(r < 0.5, (r.clamp(0.08, 0.5) - 0.08) / 0.42 * (levels - 2),
                      (r.clamp(0.5, 1.0) - 0.5) / 0.5 + levels - 2)
    l_spec = specular.sample(wo, mip)
    ab = dfg_lookup(lut, nov, r)
    a = torch.tensor(base_color, device=dev)
    f0 = 0.04 * (1 - metallic) + metallic * a
    out[hit] = (1 - metallic) * a * e_d + (f0 * ab[:, 0:1] + ab[:, 1:2]) * l_spec
    return out.reshape(height, width, 3)


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def bench(args):
    torch.set_num_threads(os.cpu_count())
    dev = torch.device(args.device)
    img = torch.tensor(np.load(args.map), dtype=torch.float32, device=dev)
    lut = dfg_table(dev)
    sync(args.device)
    t = time.perf_counter()
    specular, diffuse = build_lighting(img, args.size, args.samples)
    sync(args.device)
    seconds = time.perf_counter() - t
    print(json.dumps({"bench": "prefilter", "impl": "pytorch", "device": args.device,
                      "mode": "quality", "size": args.size, "samples": args.samples,
                      "seconds": round(seconds, 4), "torch": torch.__version__,
                      "threads": torch.get_num_threads()}), flush=True)
    times = []
    for _ in range(args.frames):
        sync(args.device)
        t = time.perf_counter()
        frame = render_frame(img, specular, diffuse, lut, args.width, args.height,
                             [0.9, 0.6, 0.3], 0.4, 1.0)
        sync(args.device)
        times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({"bench": "frame", "impl": "pytorch", "device": args.device,
                      "scene": "analytic sphere", "width": args.width, "height": args.height,
                      "ms": round(1e3 * times[len(times) // 2], 2)}), flush=True)
    if args.out:
        np.save(args.out, frame.cpu().numpy())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench")
    b.add_argument("map")
    b.add_argument("--size", type=int, default=512)
    b.add_argument("--samples", type=int, default=64)
    b.add_argument("--width", type=int, default=800)
    b.add_argument("--height", type=int, default=800)
    b.add_argument("--frames", type=int, default=3)
    b.add_argument("--device", default="cpu")
    b.add_argument("--out")
    args = parser.parse_args()
    if args.command == "bench":
        bench(args)
    else:
        sys.exit(f"unknown command {args.command}")


if __name__ == "__main__":
    main()
