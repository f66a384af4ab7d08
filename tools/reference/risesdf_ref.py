"""PyTorch reference of the RISE-SDF neural field as the official code computes it
(dehezhang2/RISE-SDF: models/geometry.py VolumeSDF, models/network_utils.py, models/texture.py
VolumeMixedMipSplitOcc; tiny-cuda-nn's HashGrid), written independently for facet's tests and
benchmarks, plus facet's sphere tracing (nodes/risesdf_ray.h), the official NeuS volume
rendering with its occupancy grid and the second split-sum's 96-sample secondary march
(models/split_mixed_occ.py with nerfacc 0.5.3; nodes/risesdf_volume.h), and split-sum shading
under a constant environment (lighting/splitsum.h with lighting/dfg_lut.c's table).

    python3 tools/reference/risesdf_ref.py checkpoint OUT.ckpt [--size small|default] [--seed N]
        [--variance 0.3]
        A random official-format Lightning checkpoint ({'state_dict': {'model.…': tensor}}, the
        official key names, tcnn hash-grid params as one flat vector, weight-normed geometry
        network) whose SDF is a perturbed sphere.
    python3 tools/reference/risesdf_ref.py fixtures CKPT OUT.safetensors [--size small|default]
        Per-point and per-ray expected values (see `fixtures` below) from the checkpoint.
    python3 tools/reference/risesdf_ref.py bench CKPT [--size default] [--width 800 --height 800]
        [--device cpu|cuda] [--mode sphere_trace|volume] [--indirect off|parity]
        Times one frame of the same math (JSON line): sphere-traced, or volume-rendered as the
        official code (occupancy grid built first and timed apart as load_ms).

Config "default" is the official one (16 levels x 2 features, log2 T 19, base 32, scale
1.447269237440378, 128-wide networks); "small" has 6 levels, log2 T 11, base 8, scale 1.5 (two
dense and four hashed levels) and 64-wide networks, to keep fixtures small.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from splitsum_ref import dfg_lookup, dfg_table  # noqa: E402

CONFIGS = {
    "default": dict(n_levels=16, n_features_per_level=2, log2_hashmap_size=19, base_resolution=32,
                    per_level_scale=1.447269237440378, width=128, feature_dim=48, n_frequencies=6,
                    radius=1.5),
    "small": dict(n_levels=6, n_features_per_level=2, log2_hashmap_size=11, base_resolution=8,
                  per_level_scale=1.5, width=64, feature_dim=48, n_frequencies=6, radius=1.5),
}
GEOMETRY_HIDDEN = 2  # n_hidden_layers: Linear, Softplus, Linear, Softplus, Linear
ALBEDO_HIDDEN, ROUGHNESS_HIDDEN, METALLIC_HIDDEN = 4, 2, 2


def fd_eps(cfg):
    """The official 'progressive' finite-difference step once all levels are on."""
    return 2 * cfg["radius"] / (cfg["base_resolution"]
                                * cfg["per_level_scale"] ** (cfg["n_levels"] - 1))


# ---- tcnn HashGrid ---------------------------------------------------------------------------

def grid_levels(cfg):
    """Per level: (scale as float32, resolution, table rows, hashed) as tcnn's GridEncoding."""
    levels = []
    log2s = np.log2(np.float32(cfg["per_level_scale"]), dtype=np.float32)
    for level in range(cfg["n_levels"]):
        scale = np.float32(np.exp2(np.float32(level) * log2s, dtype=np.float32)
                           * np.float32(cfg["base_resolution"]) - np.float32(1.0))
        res = int(math.ceil(scale)) + 1
        rows = min((res ** 3 + 7) // 8 * 8, 1 << cfg["log2_hashmap_size"])
        levels.append((scale, res, rows, rows < res ** 3))
    return levels


def grid_param_count(cfg):
    return sum(rows for _, _, rows, _ in grid_levels(cfg)) * cfg["n_features_per_level"]


def hashgrid(cfg, params, xn):
    """xn [N, 3] in [0,1] -> [N, levels * features] (level-major)."""
    nf = cfg["n_features_per_level"]
    out, offset = [], 0
    mask = 0xFFFFFFFF
    for scale, res, rows, hashed in grid_levels(cfg):
        table = params[offset * nf:(offset + rows) * nf].view(rows, nf).float()
        offset += rows
        # fmaf(scale, x, 0.5): exact product in double, one rounding to float32
        pos = (xn.double() * float(scale) + 0.5).float()
        grid = torch.floor(pos)
        frac = pos - grid
        g = grid.long()
        acc = torch.zeros(xn.shape[0], nf, dtype=torch.float32, device=xn.device)
        for idx in range(8):
            w = torch.ones(xn.shape[0], dtype=torch.float32, device=xn.device)
            q = []
            for d in range(3):
                up = (idx >> d) & 1
                w = w * (frac[:, d] if up else 1 - frac[:, d])
                q.append((g[:, d] + up) & mask)
            if hashed:
                index = (q[0] ^ ((q[1] * 2654435761) & mask) ^ ((q[2] * 805459861) & mask)) & mask
            else:
                index = (q[0] + q[1] * res + q[2] * res * res) & mask
            acc = acc + w[:, None] * table[index % rows]
        out.append(acc)
    return torch.cat(out, -1)


# ---- networks --------------------------------------------------------------------------------

def linear_layers(sd, prefix, count, weight_norm):
    """[(W [out, in], b)] of an official VanillaMLP (layers at 0, 2, 4, ...)."""
    layers = []
    for i in range(count):
        key = f"{prefix}.layers.{2 * i}"
        if weight_norm:  # torch weight_norm, dim 0
            v, g = sd[key + ".weight_v"].float(), sd[key + ".weight_g"].float()
            w = g * v / v.norm(dim=1, keepdim=True)
        else:
            w = sd[key + ".weight"].float()
        layers.append((w, sd[key + ".bias"].float()))
    return layers


def mlp(layers, x, softplus):
    for i, (w, b) in enumerate(layers):
        x = F.linear(x, w, b)
        if i < len(layers) - 1:
            x = F.softplus(x, beta=100, threshold=20) if softplus else F.relu(x)
    return x


class Field:
    def __init__(self, sd, cfg):
        self.cfg = cfg
        self.params = sd["model.geometry.encoding.encoding.encoding.params"].float()
        self.geometry = linear_layers(sd, "model.geometry.network", GEOMETRY_HIDDEN + 1, True)
        self.albedo = linear_layers(sd, "model.texture.albedo_network", ALBEDO_HIDDEN + 1, False)
        self.roughness = linear_layers(sd, "model.texture.roughness_network",
                                       ROUGHNESS_HIDDEN + 1, False)
        self.metallic = linear_layers(sd, "model.texture.metallic_network",
                                      METALLIC_HIDDEN + 1, False)
        self.r = cfg["radius"]
        self.eps = np.float32(fd_eps(cfg))

    def to(self, device):
        move = lambda layers: [(w.to(device), b.to(device)) for w, b in layers]  # noqa: E731
        self.params = self.params.to(device)
        self.geometry, self.albedo = move(self.geometry), move(self.albedo)
        self.roughness, self.metallic = move(self.roughness), move(self.metallic)
        return self

    def encode(self, x):
        xn = (x + self.r) / (2 * self.r)  # contract_to_unisphere, AABB
        return hashgrid(self.cfg, self.params, xn), xn

    def geometry_out(self, x):
        enc, xn = self.encode(x)
        return mlp(self.geometry, torch.cat([xn * 2 - 1, enc], -1), True)

    def sdf(self, x):
        return self.geometry_out(x)[:, 0]

    def normal(self, x):
        eps = float(self.eps)
        grads = []
        for d in range(3):
            off = torch.zeros(3, dtype=torch.float32, device=x.device)
            off[d] = eps
            p = (x + off).clamp(-self.r, self.r)
            q = (x - off).clamp(-self.r, self.r)
            grads.append(0.5 * (self.sdf(p) - self.sdf(q)) / eps)
        return F.normalize(torch.stack(grads, -1), p=2, dim=-1, eps=1e-6)

    def material(self, feature, x):
        pe = []
        for k in range(self.cfg["n_frequencies"]):
            pe += [torch.sin(2.0 ** k * x), torch.cos(2.0 ** k * x)]
        inp = torch.cat([feature] + pe, -1)
        albedo = torch.sigmoid(mlp(self.albedo, inp, False))
        rough = torch.sigmoid(mlp(self.roughness, inp, False))
        metal = torch.sigmoid(mlp(self.metallic, inp, False))
        # [radiance 3, albedo 3, roughness, blend, metallic]
        return torch.cat([albedo[:, :3], albedo[:, 3:], rough, metal[:, :1], metal[:, 1:]], -1)


# ---- sphere tracing and shading (nodes/risesdf_ray.h) ------------------------------------------

def box_interval(r, o, d):
    lo = torch.zeros(o.shape[0], dtype=torch.float32, device=o.device)
    hi = torch.full_like(lo, float("inf"))
    ok = torch.ones_like(lo, dtype=torch.bool)
    for k in range(3):
        zero = d[:, k] == 0
        ok &= ~(zero & ((o[:, k] < -r) | (o[:, k] > r)))
        inv = 1.0 / torch.where(zero, torch.ones_like(d[:, k]), d[:, k])
        a, b = (-r - o[:, k]) * inv, (r - o[:, k]) * inv
        a, b = torch.minimum(a, b), torch.maximum(a, b)
        lo = torch.where(zero, lo, torch.maximum(lo, a))
        hi = torch.where(zero, hi, torch.minimum(hi, b))
    return lo, hi, ok & (lo <= hi)


def trace(field, o, d, max_steps=256, epsilon=5e-4, step_scale=1.0, t_min=0.0,
          t_max=float("inf")):
    r = field.r
    t0, t1, ok = box_interval(r, o, d)
    t = torch.clamp(t0, min=t_min)
    t1 = torch.clamp(t1, max=t_max)
    hit = torch.zeros_like(ok)
    active = ok.clone()
    for _ in range(max_steps):
        active &= t <= t1
        idx = active.nonzero().squeeze(1)
        if idx.numel() == 0:
            break
        x = (o[idx] + t[idx, None] * d[idx]).clamp(-r, r)
        s = field.sdf(x)
        h = s < epsilon
        hit[idx[h]] = True
        active[idx[h]] = False
        t[idx[~h]] += step_scale * s[~h]
    return hit, t


def split_terms(field, lut, x, wi, env):
    """(diffuse [N,3], reflectance F0 A + B [N,3], n, roughness) at x seen from wi, constant env."""
    n = field.normal(x)
    mat = field.material(field.geometry_out(x), x)
    albedo, rough, metal = mat[:, 3:6], mat[:, 6], mat[:, 8:9]
    ab = dfg_lookup(lut, (n * wi).sum(-1), rough)
    f0 = 0.04 * (1 - metal) + metal * albedo
    return (1 - metal) * albedo * env, f0 * ab[:, :1] + ab[:, 1:], n, rough


def shade_uniform(field, lut, o, d, env_rgb, indirect_max_roughness=None, **trace_args):
    """Per ray [rgb 3, alpha, depth] under a constant environment env_rgb (every prefiltered level
    and the irradiance/pi equal env_rgb). indirect_max_roughness: the second split-sum
    (nodes/risesdf_ray.h) for hits with roughness <= it (None: off). Under a constant
    environment the parity and quality lookups of the secondary specular agree."""
    hit, t = trace(field, o, d, **trace_args)
    n_rays = o.shape[0]
    out = torch.zeros(n_rays, 5, dtype=torch.float32, device=o.device)
    out[:, 4] = float("inf")
    idx = hit.nonzero().squeeze(1)
    if idx.numel():
        env = torch.tensor(env_rgb, dtype=torch.float32, device=o.device)
        x = (o[idx] + t[idx, None] * d[idx]).clamp(-field.r, field.r)
        wi = -d[idx]
        diffuse, reflectance, n, rough = split_terms(field, lut, x, wi, env)
        spec = env.expand(idx.numel(), 3).clone()
        if indirect_max_roughness is not None:
            nov = (n * wi).sum(-1, keepdim=True)
            wo = 2 * nov * n - wi
            hit2, t2 = trace(field, x, wo, t_min=0.05, t_max=1.5, **trace_args)
            sel = (rough <= indirect_max_roughness) & hit2
            j = sel.nonzero().squeeze(1)
            if j.numel():
                x3 = (x[j] + t2[j, None] * wo[j]).clamp(-field.r, field.r)
                d3, r3, _, _ = split_terms(field, lut, x3, -wo[j], env)
                spec[j] = d3 + r3 * env
        out[idx, :3] = diffuse + reflectance * spec
        out[idx, 3] = 1
        out[idx, 4] = t[idx]
    return out


# ---- volume rendering: the official NeuS path (models/split_mixed_occ.py, nerfacc 0.5.3) --------
# Mirrors nodes/risesdf_volume.h; names follow the official code.

GRID_RESOLUTION = 128        # OccGridEstimator(resolution=128)
NUM_SAMPLES_PER_RAY = 1024   # render_step_size = 1.732 * 2 radius / num_samples_per_ray
NUM_SAMPLES_PER_SECONDARY_RAY = 96
SECONDARY_NEAR, SECONDARY_FAR = 0.05, 1.5
EARLY_STOP_EPS = 1e-4        # nerfacc sampling default
GRID_PRUNE_OCC_THRE = 0.001  # configs/split-mixed-occ-tensoir.yaml


def render_step_size(cfg):
    return np.float32(1.732 * 2 * cfg["radius"] / NUM_SAMPLES_PER_RAY)


def secondary_step_size():
    return np.float32((SECONDARY_FAR - SECONDARY_NEAR) / (NUM_SAMPLES_PER_SECONDARY_RAY - 1))


def inv_s_of(variance):
    """VarianceNetwork.inv_s = exp(10 variance), clipped as get_alpha clips it."""
    return torch.exp(torch.tensor(variance, dtype=torch.float32) * 10.0).clip(1e-6, 1e6)


def get_alpha(sdf, true_cos, dists, inv_s):
    """NeuS alpha with cos_anneal_ratio = 1 (test time): iter_cos = -relu(-cos)."""
    iter_cos = -F.relu(-true_cos)
    estimated_next_sdf = sdf + iter_cos * dists * 0.5
    estimated_prev_sdf = sdf - iter_cos * dists * 0.5
    prev_cdf = torch.sigmoid(estimated_prev_sdf * inv_s)
    next_cdf = torch.sigmoid(estimated_next_sdf * inv_s)
    p, c = prev_cdf - next_cdf, prev_cdf
    return ((p + 1e-5) / (c + 1e-5)).clip(0.0, 1.0)


def occupancy_grid(field, variance, chunk=1 << 17):
    """[R^3] bool, x-major: occ_eval_fn (alpha of a step looking straight at the surface) at the
    sdf lower bound sdf(centre) - half the cell diagonal; occupied when occ > min(mean, 1e-3)."""
    r, res = field.r, GRID_RESOLUTION
    cell = np.float32(2 * r) / np.float32(res)
    dev = field.params.device
    idx = torch.arange(res, dtype=torch.float32, device=dev)
    centres = -r + (idx + 0.5) * float(cell)
    grid = torch.stack(torch.meshgrid(centres, centres, centres, indexing="ij"), -1).reshape(-1, 3)
    half_diagonal = float(np.float32(0.5) * np.sqrt(np.float32(3.0)) * cell)
    step = torch.tensor(float(render_step_size(field.cfg)), device=dev)
    inv_s = inv_s_of(variance).to(dev)
    occ = []
    for k in range(0, grid.shape[0], chunk):
        sdf = field.sdf(grid[k:k + chunk]) - half_diagonal
        occ.append(get_alpha(sdf, -torch.ones_like(sdf), step, inv_s))
    occ = torch.cat(occ)
    thre = torch.clamp(occ.mean(), max=GRID_PRUNE_OCC_THRE)
    return occ > thre


def traverse(field, binaries, o, d, near, far, dt):
    """nerfacc traverse_grids on the lattice t_k = near + k dt (float32 additions): the samples
    [t_k, t_k+1] whose midpoint is inside the box, in [near, far), and in an occupied cell, as
    (ray index, t_start, t_end) numpy arrays sorted by ray then t."""
    dev, res = o.device, GRID_RESOLUTION
    r = torch.tensor(field.r, dtype=torch.float32, device=dev)
    lo, hi, ok = box_interval(field.r, o, d)
    t0 = torch.clamp(lo, min=float(np.float32(near)))
    t1 = torch.clamp(hi, max=float(np.float32(far)))
    ok = ok & (t0 < t1)
    dt = torch.tensor(float(np.float32(dt)), dtype=torch.float32, device=dev)
    half = dt * 0.5
    t = torch.full_like(t0, float(np.float32(near)))
    while True:  # march to the first midpoint at or after t0
        move = ok & (t + half < t0)
        if not bool(move.any()):
            break
        t = torch.where(move, t + dt, t)
    bits = binaries.to(dev)
    rays, starts, ends = [], [], []
    active = ok.clone()
    while True:
        mid, nxt = t + half, t + dt
        active &= (mid < t1) & (nxt > t)
        idx = active.nonzero().squeeze(1)
        if idx.numel() == 0:
            break
        x = o[idx] + d[idx] * mid[idx, None]
        u = ((x + r) / (2 * r) * res).clamp(0, res - 1).long()
        occ = bits[(u[:, 0] * res + u[:, 1]) * res + u[:, 2]]
        rays.append(idx[occ])
        starts.append(t[idx[occ]])
        ends.append(nxt[idx[occ]])
        t = torch.where(active, nxt, t)
    if not rays:
        return (np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.float32))
    rays = torch.cat(rays).cpu().numpy()
    starts, ends = torch.cat(starts).cpu().numpy(), torch.cat(ends).cpu().numpy()
    order = np.lexsort((starts, rays))
    return rays[order], starts[order], ends[order]


def _dev(array, device):
    return torch.from_numpy(array).to(device)


def render_weights(alphas, rays, n_rays):
    """nerfacc: transmittance T = exclusive cumprod of (1 - alpha) per ray; samples with
    T < early_stop_eps are dropped (OccGridEstimator.sampling); weights T alpha. -> (kept mask,
    weights of the kept samples)."""
    dev = alphas.device
    if rays.size == 0:
        return torch.zeros(0, dtype=torch.bool, device=dev), torch.zeros(0, device=dev)
    counts = np.bincount(rays, minlength=n_rays)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(rays.size) - first[rays]
    r_, p_ = _dev(rays, dev), _dev(pos, dev)
    dense = torch.zeros(n_rays, int(counts.max()) + 1, device=dev)
    dense[r_, p_ + 1] = alphas
    trans = torch.cumprod(1 - dense, dim=1)[r_, p_]
    keep = trans >= EARLY_STOP_EPS
    return keep, (trans * alphas)[keep]


CHUNK = 1 << 16  # samples per network call


def alpha_fn(field, o, d, rays, ts, te, inv_s):
    """Sample alphas: sdf and finite-difference normal at the midpoint, cos with the direction."""
    r_, ts_, te_ = _dev(rays, o.device), _dev(ts, o.device), _dev(te, o.device)
    positions = o[r_] + d[r_] * (ts_ + te_)[:, None] / 2.0
    sdf = torch.cat([field.sdf(p) for p in positions.split(CHUNK)]) if rays.size else ts_
    normal = (torch.cat([field.normal(p) for p in positions.split(CHUNK)]) if rays.size
              else positions)
    alphas = get_alpha(sdf, (d[r_] * normal).sum(-1), te_ - ts_, inv_s)
    return alphas, positions, normal


def volume_sums(field, lut, binaries, inv_s, o, d, env):
    """The primary march and per-sample shading under a constant environment: per ray the
    weight sums {opacity, depth, roughness, normal, diffuse, reflectance, light, specular}."""
    n = o.shape[0]
    rays, ts, te = traverse(field, binaries, o, d, 0.0, 1e10, render_step_size(field.cfg))
    alphas, positions, normal = alpha_fn(field, o, d, rays, ts, te, inv_s)
    keep, w = render_weights(alphas, rays, n)
    dev = o.device
    rays, positions, normal = _dev(rays, dev)[keep], positions[keep], normal[keep]
    t_mid = ((_dev(ts, dev) + _dev(te, dev)) / 2.0)[keep]
    wi = -d[rays]
    mat = (torch.cat([field.material(field.geometry_out(p), p) for p in positions.split(CHUNK)])
           if positions.shape[0] else torch.zeros(0, 9, device=dev))
    albedo, rough, metal = mat[:, 3:6], mat[:, 6], mat[:, 8:9]
    ab = dfg_lookup(lut, (normal * wi).sum(-1), rough)
    f0 = 0.04 * (1 - metal) + metal * albedo
    reflectance = f0 * ab[:, :1] + ab[:, 1:]
    light = env.expand_as(reflectance)

    def acc(values):
        values = values if values.dim() == 2 else values[:, None]
        out = torch.zeros(n, values.shape[1], device=dev)
        return out.index_add_(0, rays, w[:, None] * values)

    return dict(opacity=acc(torch.ones_like(w))[:, 0], depth=acc(t_mid)[:, 0],
                roughness=acc(rough)[:, 0], normal=acc(normal),
                diffuse=acc((1 - metal) * albedo * env), reflectance=acc(reflectance),
                light=acc(light), specular=acc(reflectance * light))


def compute_indirect_radiance(field, binaries, inv_s, o2, d2):
    """The secondary march (alphas only): (transmittance clamp(1 - acc, 0, 1), depth sum w t)."""
    n = o2.shape[0]
    rays, ts, te = traverse(field, binaries, o2, d2, SECONDARY_NEAR, SECONDARY_FAR,
                            secondary_step_size())
    alphas, _, _ = alpha_fn(field, o2, d2, rays, ts, te, inv_s)
    keep, w = render_weights(alphas, rays, n)
    dev = o2.device
    r_ = _dev(rays, dev)[keep]
    t_mid = ((_dev(ts, dev) + _dev(te, dev)) / 2.0)[keep]
    acc = torch.zeros(n, device=dev).index_add_(0, r_, w)
    depth = torch.zeros(n, device=dev).index_add_(0, r_, w * t_mid)
    return (1.0 - acc).clamp(0, 1), depth


def secondary_shading_pbr(field, lut, x3, d2, env):
    """Split-sum radiance leaving x3 towards -d2 under a constant environment (the lookup
    direction, d2 or its reflection, does not matter there)."""
    normal = field.normal(x3)
    mat = field.material(field.geometry_out(x3), x3)
    albedo, rough, metal = mat[:, 3:6], mat[:, 6], mat[:, 8:9]
    ab = dfg_lookup(lut, (normal * -d2).sum(-1), rough)
    f0 = 0.04 * (1 - metal) + metal * albedo
    return (1 - metal) * albedo * env + (f0 * ab[:, :1] + ab[:, 1:]) * env


def volume_render(field, lut, binaries, variance, o, d, env_rgb, indirect_max_roughness=None):
    """Per ray [rgb 3 (premultiplied), opacity, depth sum w t / opacity (+inf at 0)]; with
    indirect_max_roughness the official relighting's second split-sum."""
    env = torch.tensor(env_rgb, dtype=torch.float32, device=o.device)
    inv_s = inv_s_of(variance).to(o.device)
    s = volume_sums(field, lut, binaries, inv_s, o, d, env)
    if indirect_max_roughness is None:
        spec = s["specular"]
    else:
        light = s["light"].clone()
        # official: opacity > 0.5 (valid_indices), then roughness <= relighting_threshold
        smooth = (s["opacity"] > 0.5) & (s["roughness"] <= indirect_max_roughness)
        valid = torch.nonzero(smooth)[:, 0]
        if valid.numel():
            normal_map = s["normal"][valid]
            rays_o2 = o[valid] + s["depth"][valid, None] * d[valid]
            wo = -d[valid]
            rays_d2 = 2 * torch.sum(wo * normal_map, dim=-1, keepdim=True) * normal_map - wo
            tr, depth2 = compute_indirect_radiance(field, binaries, inv_s, rays_o2, rays_d2)
            x3 = rays_o2 + depth2[:, None] * rays_d2
            secondary_rgb = secondary_shading_pbr(field, lut, x3, rays_d2, env)
            light[valid] = tr[:, None] * light[valid] + (1 - tr[:, None]) * secondary_rgb
        spec = s["reflectance"] * light
    out = torch.zeros(o.shape[0], 5, device=o.device)
    out[:, :3] = s["diffuse"] + spec
    out[:, 3] = s["opacity"]
    out[:, 4] = torch.where(s["opacity"] > 0, s["depth"] / s["opacity"],
                            torch.full_like(s["depth"], float("inf")))
    return out


# ---- random official checkpoints ----------------------------------------------------------------

def random_state_dict(cfg, seed, variance=0.3):
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    randn = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    w = cfg["width"]
    sd = {}
    n_enc = cfg["n_levels"] * cfg["n_features_per_level"]
    # tcnn params (fp16 for the small config, as tcnn's default half precision stores them)
    params = (rand(grid_param_count(cfg)) * 2 - 1) * 1e-1
    sd["model.geometry.encoding.encoding.encoding.params"] = (
        params.half() if cfg is CONFIGS["small"] else params)
    dims = [3 + n_enc] + [w] * GEOMETRY_HIDDEN + [cfg["feature_dim"]]
    for i in range(len(dims) - 1):  # sphere_init, then weight_norm with perturbed g
        n_in, n_out = dims[i], dims[i + 1]
        if i == 0:
            v = torch.cat([randn(n_out, 3) * math.sqrt(2) / math.sqrt(n_out),
                           randn(n_out, n_in - 3) * 0.05], 1)
            b = torch.zeros(n_out)
        elif i == len(dims) - 2:
            v = math.sqrt(math.pi) / math.sqrt(n_in) + randn(n_out, n_in) * 1e-2
            b = torch.full((n_out,), -0.5)
        else:
            v = randn(n_out, n_in) * math.sqrt(2) / math.sqrt(n_out)
            b = randn(n_out) * 1e-2
        key = f"model.geometry.network.layers.{2 * i}"
        sd[key + ".weight_v"] = v
        sd[key + ".weight_g"] = v.norm(dim=1, keepdim=True) * (1 + 0.1 * rand(n_out, 1))
        sd[key + ".bias"] = b
    mat_in = cfg["feature_dim"] + 6 * cfg["n_frequencies"]
    for name, hidden, outputs in (("albedo", ALBEDO_HIDDEN, 6), ("roughness", ROUGHNESS_HIDDEN, 1),
                                  ("metallic", METALLIC_HIDDEN, 2), ("env", 4, 3)):
        dims = [mat_in] + [w] * hidden + [outputs]
        for i in range(len(dims) - 1):
            key = f"model.texture.{name}_network.layers.{2 * i}"
            sd[key + ".weight"] = randn(dims[i + 1], dims[i]) * math.sqrt(2 / dims[i])
            sd[key + ".bias"] = randn(dims[i + 1]) * 0.1
    sd["model.variance.variance"] = torch.tensor(variance)
    sd["model.emitter.base"] = rand(6, 8, 8, 3)  # unused by facet (the learned environment)
    return sd


def write_checkpoint(path, size, seed, variance=0.3):
    cfg = CONFIGS[size]
    torch.save({"state_dict": random_state_dict(cfg, seed, variance), "global_step": 0,
                "epoch": 0}, path)


# ---- fixtures ---------------------------------------------------------------------------------

ENV_RGB = (0.9, 0.7, 0.5)


def fixture_rays(n, seed):
    g = torch.Generator().manual_seed(seed)
    origins, dirs = [], []
    for i in range(n):
        u = torch.randn(3, generator=g)
        o = 3.0 * u / u.norm()
        target = (torch.rand(3, generator=g) * 2 - 1) * (0.6 if i % 4 else 1.4)
        dv = target - o
        origins.append(o)
        dirs.append(dv / dv.norm())
    return torch.stack(origins), torch.stack(dirs)


# the checkpoint's variance (soft: inv_s 20) and a trained model's (inv_s 403)
VOLUME_VARIANCES = (0.3, 0.6)


def volume_fixture_rays():
    """16 rays towards the box (most cross the object) and 2 that miss the box."""
    o, d = fixture_rays(16, 13)
    o = torch.cat([o, torch.tensor([[0.0, -3.0, 0.0], [2.0, 2.0, 2.0]])])
    away = torch.tensor([[0.0, -1.0, 0.0], [1.0, 1.0, 0.0]])
    return o, torch.cat([d, away / away.norm(dim=-1, keepdim=True)])


def write_fixtures(ckpt, out, size):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from convert_livescene import write_safetensors
    cfg = CONFIGS[size]
    sd = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    field = Field(sd, cfg)
    volume, grids = {}, {}
    g = torch.Generator().manual_seed(7)
    pts = (torch.rand(40, 3, generator=g) * 2 - 1) * 1.45
    pts = torch.cat([pts, torch.tensor([[1.5, -1.5, 1.5], [-1.5, 0.0, 0.2], [0.0, 0.0, 0.0]])])
    with torch.no_grad():
        enc, _ = field.encode(pts)
        feature = field.geometry_out(pts)
        normal = field.normal(pts)
        mat = field.material(feature, pts)
        o, d = fixture_rays(32, 11)
        lut = dfg_table("cpu")
        rays = shade_uniform(field, lut, o, d, ENV_RGB)
        rays_indirect = shade_uniform(field, lut, o, d, ENV_RGB, indirect_max_roughness=1.0)
        vol_o, vol_d = volume_fixture_rays()
        for variance in VOLUME_VARIANCES:
            grid = occupancy_grid(field, variance)
            key = f"volume_{variance:g}"
            volume[key + "_occupied"] = torch.tensor([float(grid.sum())])
            grids[key + "_grid"] = np.packbits(grid.numpy(), bitorder="little")
            volume[key + "_result"] = volume_render(field, lut, grid, variance, vol_o, vol_d,
                                                    ENV_RGB)
            volume[key + "_result_indirect"] = volume_render(field, lut, grid, variance, vol_o,
                                                             vol_d, ENV_RGB, 1.0)
    tensors = {"points": pts, "encoding": enc, "feature": feature, "normal": normal,
               "material": mat, "ray_origin": o, "ray_direction": d, "ray_result": rays,
               "ray_result_indirect": rays_indirect,
               "env_rgb": torch.tensor(ENV_RGB), "volume_ray_origin": vol_o,
               "volume_ray_direction": vol_d, **volume}
    tensors = {k: v.float().contiguous().numpy() for k, v in tensors.items()}
    tensors.update(grids)
    write_safetensors(out, tensors, {"checkpoint": os.path.basename(ckpt), "size": size,
                                      "max_steps": "256", "epsilon": "5e-4", "step_scale": "1"})


# ---- benchmark ----------------------------------------------------------------------------------

def camera_rays(width, height, device):
    """Camera at (0, -3, 0) looking along +y, 45 degree vertical fov (bench_risesdf.c)."""
    f = 0.5 * height / math.tan(0.5 * math.radians(45.0))
    j, i = torch.meshgrid(torch.arange(height, device=device, dtype=torch.float32),
                          torch.arange(width, device=device, dtype=torch.float32), indexing="ij")
    x = (i + 0.5 - 0.5 * width) / f
    z = -(j + 0.5 - 0.5 * height) / f
    d = torch.stack([x, torch.ones_like(x), z], -1).reshape(-1, 3)
    d = d / d.norm(dim=-1, keepdim=True)
    o = torch.tensor([0.0, -3.0, 0.0], device=device).expand_as(d).contiguous()
    return o, d


def bench(args):
    cfg = CONFIGS[args.size]
    torch.set_num_threads(args.threads or os.cpu_count())
    dev = torch.device(args.device)
    sd = torch.load(args.checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    field = Field(sd, cfg).to(dev)
    lut = dfg_table(dev)
    o, d = camera_rays(args.width, args.height, dev)
    variance = float(sd["model.variance.variance"])
    load_ms = 0.0
    with torch.no_grad():
        if args.mode == "volume":  # the grid is built at load, as facet's node does
            start = time.perf_counter()
            grid = occupancy_grid(field, variance)
            load_ms = 1e3 * (time.perf_counter() - start)
            threshold = 0.3 if args.indirect == "parity" else None
            chunk = 4096  # the official ray_chunk
            render = lambda o_, d_: volume_render(field, lut, grid, variance, o_, d_,  # noqa: E731
                                                  ENV_RGB, threshold)
        else:
            chunk = 1 << 16
            render = lambda o_, d_: shade_uniform(field, lut, o_, d_, ENV_RGB)  # noqa: E731
        times = []
        for _ in range(args.repeats):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            out = torch.cat([render(o[k:k + chunk], d[k:k + chunk])
                             for k in range(0, o.shape[0], chunk)])
            if dev.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    print(json.dumps({"bench": "risesdf_frame", "impl": "pytorch", "device": args.device,
                      "mode": args.mode, "indirect": args.indirect,
                      "threads": torch.get_num_threads(), "width": args.width,
                      "height": args.height, "ms": 1e3 * min(times), "load_ms": load_ms,
                      "hit_fraction": float((out[:, 3] > 0.5).float().mean())}))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("checkpoint")
    c.add_argument("out")
    c.add_argument("--size", choices=CONFIGS, default="small")
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--variance", type=float, default=0.3,
                   help="NeuS variance (0.3: the official init; a trained model's is sharper)")
    f = sub.add_parser("fixtures")
    f.add_argument("checkpoint")
    f.add_argument("out")
    f.add_argument("--size", choices=CONFIGS, default="small")
    b = sub.add_parser("bench")
    b.add_argument("checkpoint")
    b.add_argument("--size", choices=CONFIGS, default="default")
    b.add_argument("--width", type=int, default=800)
    b.add_argument("--height", type=int, default=800)
    b.add_argument("--device", default="cpu")
    b.add_argument("--repeats", type=int, default=1)
    b.add_argument("--threads", type=int, default=0, help="CPU threads (default: all)")
    b.add_argument("--mode", choices=("sphere_trace", "volume"), default="sphere_trace")
    b.add_argument("--indirect", choices=("off", "parity"), default="off",
                   help="volume mode: the official second split-sum (roughness <= 0.3)")
    args = p.parse_args()
    if args.command == "checkpoint":
        write_checkpoint(args.out, args.size, args.seed, args.variance)
    elif args.command == "fixtures":
        write_fixtures(args.checkpoint, args.out, args.size)
    else:
        bench(args)


if __name__ == "__main__":
    main()
