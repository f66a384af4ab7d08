#!/usr/bin/python3
"""PyTorch reference of LiveScene inference (Tavish9/livescene on nerfstudio v1.1.5 and
tiny-cuda-nn), its official checkpoint layout, and the fixtures of facet's LiveScene runtime.

No tiny-cuda-nn: its FullyFusedMLP and SphericalHarmonics are emulated in fp32 on the fp16
weights tcnn computes with (a checkpoint holds fp32 master `params`; tcnn casts them to fp16 on
every forward and also rounds activations and SH values to fp16, so the official renderer differs
from this reference by fp16 rounding; facet follows this reference). Modules and
parameter names mirror the official ones, so `LiveScenePipeline.state_dict()` has the official
checkpoint keys (tools/convert_livescene.py lists them).

The math (evaluation mode, use_gt_val=True), cited per step:
- nerfstudio AABBBoxCollider: t = (aabb - o) * (1 / (d + 1e-6)) per axis, near = max of the
  per-axis minima clamped at 0 (the near plane applies only while training), far =
  max(min of maxima, near + 1e-6).
- UniformSampler: spacing bins torch.linspace(0, 1, N0 + 1), t = s far + (1 - s) near; positions
  o + d (t_j + t_{j+1}) / 2; deltas t_{j+1} - t_j.
- livescene_field.py LiveSceneLanguageField.lang_fn at every level: f = sigmoid(product of the 3
  tri-plane features at the RAW position), logits = semantic_net([f, kappa]); object = index of
  the max of softmax(logits)[:alpha] (torch.max: first max on ties); kappa_sel = kappa[object].
- LiveSceneDensityField (proposal i): coords [(x - aabb0) / (aabb1 - aabb0) * 2 - 1,
  2 kappa_sel - 1], sigma = exp(density_net(product of 6 planes) - 1).
- RaySamples.get_weights: w = (1 - exp(-sigma delta)) exp(-exclusive cumsum(sigma delta)),
  nan_to_num.
- ProposalNetworkSampler + PDFSampler(include_original=False, histogram_padding 0.01, eval):
  weights ** 1.0 (anneal), + 0.01, pad to 1e-5, pdf, cdf = [0, min(1, cumsum)],
  u = linspace(0, 1 - 1/(N+1), N+1) + 1/(2(N+1)), searchsorted right, clamp, lerp.
- LiveSceneField: features = concat over scales of the product of 6 planes, h = sigma_net(features),
  sigma = exp(h[15] - 1), rgb = color_net([SH4(((d + 1) / 2) * 2 - 1), h[:15]]) (sigmoid output).
- Renderers: rgb = sum w c + 1 (1 - sum w) (white), clamped; depth = (start + end) / 2 of the
  first sample with cumsum(w) >= 0.5 (searchsorted left, clamped); accumulation = sum w;
  masks = softmax(sum w logits) of the final level.

Modes
-----
  fixtures OUT_DIR        small config: OUT_DIR/step-000000100.ckpt, dataparser_transforms.json,
                          mapping.yaml, small.safetensors (converted by tools/convert_livescene.py),
                          fixtures.safetensors and dataset/ (below). Deterministic; refuses
                          fixtures near a discontinuity (check_margins: object logit gaps and
                          |cumulative weight - 0.5| must be >= 1e-3).
  default-ckpt OUT_DIR    default (official) config, random: OUT_DIR/step-000030000.ckpt,
                          mapping.yaml (for benchmarks; about 150 MB, not committed).
  bench --config C --rays N [--device cpu|cuda] [--checkpoint STEP.ckpt]
                          times render_rays on N random rays through the box (all CPU threads;
                          random weights unless a checkpoint of that config is given); prints JSON
                          {"config", "device", "threads", "rays", "seconds", "rays_per_sec",
                          "ms_per_ray"}.

Random initialisation (fixed seeds)
-----------------------------------
Field planes as nerfstudio: spatial planes U(0.1, 0.5) (field) / U(0.1, 0.15) (proposals), but
kappa planes 1 + 0.3 N(0, 1) instead of 1 so that kappa changes the output. Probability planes
U(-1.5, 1.5) instead of nerfstudio's U(0.1, 0.15): with the latter sigmoid(product) is
0.5004 +- 0.0003 everywhere, the object choice could not depend on position, and weights large
enough to make it would lose the fp32 precision a 1e-5 comparison needs. MLP weights N(0, 1)
rows rescaled and shifted on 4096 random calibration points so hidden pre-activations are
centred with unit spread and the outputs have chosen means and spreads (objects balanced, raw
densities mean 1.2-1.5, so densities are O(0.1-20) and images vary): see _init_mlp. Parameters
are fp16-representable values (stored fp32, as tcnn's master copy), so fp16(params) = params.

fixtures.safetensors (F32 unless noted; P = 64 points, R = 24 rays: 8 rays (through the box,
from inside it, missing it, axis-aligned) x 3 kappa vectors; A = alpha objects, L = level 0 .. 2
with N_0, N_1 = num_proposal_samples and N_2 = num_samples)
----------------------------------------------------------------------------------------------
  point.positions            [P, 3]   model-frame positions inside and up to 10% outside the aabb
  point.kappa                [P, A]   per-point kappa vectors
  point.directions           [P, 3]   unit view directions
  point.prob_features        [P, Cp]  sigmoid(product of the 3 probability planes) at the raw position
  point.logits               [P, A+1] semantic_net output
  point.object               [P] I32  selected object (argmax as above)
  point.kappa_sel            [P]      kappa[object]
  point.proposal.{i}.density [P]      proposal i density at (position, kappa_sel)
  point.field.features       [P, F]   main-field encoding: concat over scales of the plane products
  point.field.sigma_out      [P, 16]  sigma_net output (15 geometry features, raw density)
  point.field.density        [P]      exp(sigma_out[15] - 1)
  point.sh                   [P, 16]  SH degree 4 (tcnn basis) of ((d + 1) / 2) * 2 - 1
  point.rgb                  [P, 3]   color_net output (after sigmoid)
  ray.origins, ray.directions [R, 3]  model frame, unit directions
  ray.kappa                  [R, A]   per-ray kappa vector (the same rays repeat with other kappas)
  ray.nears, ray.fars        [R]      collider output
  ray.level{L}.bins          [R, N_L + 1] spacing bins in [0, 1]
  ray.level{L}.kappa_sel     [R, N_L]
  ray.level{L}.logits        [R, N_L, A+1]
  ray.level{L}.density       [R, N_L] proposal L density (L < 2) / main field density (L = 2)
  ray.level{L}.weights       [R, N_L]
  ray.rgb [R, 3], ray.depth [R], ray.accumulation [R], ray.masks [R, A+1]
__metadata__: "format" "facet-livescene-fixtures", "config" (the converter's config JSON).

dataset/ (LiveScene sim format, poses in the ORIGINAL frame; the model frame is
c2w' = T c2w, c2w'[:3, 3] *= scale with T, scale from dataparser_transforms.json)
------------------------------------------------------------------------------------
  transforms.json   camera_angle_x, frames [{file_path "./images/frame_0000k", transform_matrix}]
  images/frame_0000k.png   24x18 RGB, round(255 rgb) of this reference with the frame's kappa
  mapping.yaml      {0: drawer, 1: door}
  key_frame_value.yaml  {frame_0000k: {drawer: v, door: v}}: in both splits (index % 2 == 0 test,
                    else train) every object's values have minimum 0 and maximum 1, so the official
                    min-max normalisation leaves them unchanged
  masks/0000k.npy   (H, W, A+1) bool, one-hot argmax of the rendered masks
"""
import argparse
import itertools
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import convert_livescene as conv  # noqa: E402  (tools/convert_livescene.py: safetensors, tcnn layout)

GEO_FEAT_DIM = conv.GEO_FEAT_DIM
NEURONS = conv.NEURONS

CONFIGS = {
    "small": {
        "aabb": [[-1.5, -1.0, -1.2], [1.5, 1.0, 1.2]],
        "grid_base_resolution": [12, 10, 8, 6],
        "multiscale_res": [1, 2],
        "grid_feature_dim": 4,
        "proposals": [{"resolution": [8, 8, 8, 6], "feature_dim": 4},
                      {"resolution": [10, 10, 10, 6], "feature_dim": 4}],
        "probability": {"resolution": [9, 9, 9], "feature_dim": 4},
        "objects": ["drawer", "door"],
        "num_proposal_samples": [32, 16],
        "num_samples": 8,
    },
    "default": {  # livescene_config.py (sim data: scene_scale 2)
        "aabb": [[-2.0, -2.0, -2.0], [2.0, 2.0, 2.0]],
        "grid_base_resolution": [128, 128, 128, 32],
        "multiscale_res": [1, 2, 4],
        "grid_feature_dim": 32,
        "proposals": [{"resolution": [64, 64, 64, 32], "feature_dim": 8},
                      {"resolution": [128, 128, 128, 32], "feature_dim": 8}],
        "probability": {"resolution": [128, 128, 128], "feature_dim": 8},
        "objects": ["drawer", "door"],
        "num_proposal_samples": [256, 128],
        "num_samples": 48,
    },
}


# ---- tiny-cuda-nn emulation ------------------------------------------------------------------

class TcnnNetwork(nn.Module):
    """tcnn.Network with a FullyFusedMLP: one flat `params` vector holding row-major matrices
    [64, ceil16(n_in)], [64, 64] x (n_hidden - 1), [ceil16(n_out), 64]. Like tinycudann's torch
    Module, `params` is an fp32 master copy (initial_params() returns float32) that every forward
    casts to fp16 (params.to(param_precision())): the math uses fp16(params), here converted back
    to fp32. The input is padded with 1.0 up to ceil16(n_in) (tcnn's Identity encoding); ReLU on
    hidden layers; the output activation applies to the first n_out outputs. Computed in fp32."""

    def __init__(self, n_input_dims, n_output_dims, n_hidden_layers, output_activation="None"):
        super().__init__()
        self.n_input_dims, self.n_output_dims = n_input_dims, n_output_dims
        self.n_hidden_layers = n_hidden_layers
        self.output_activation = output_activation
        count = conv.tcnn_param_count(n_input_dims, n_output_dims, n_hidden_layers)
        self.params = nn.Parameter(torch.zeros(count, dtype=torch.float32))

    def layer_shapes(self):
        return conv.tcnn_layer_shapes(self.n_input_dims, self.n_output_dims, self.n_hidden_layers)

    def matrices(self):
        """The padded weight matrices tcnn computes with: fp16(params), as fp32."""
        out, pos = [], 0
        flat = self.params.detach().to(torch.float16).float()
        for rows, cols in self.layer_shapes():
            out.append(flat[pos:pos + rows * cols].view(rows, cols))
            pos += rows * cols
        return out

    def set_matrices(self, matrices):
        """Stores padded matrices rounded to fp16 values (so the fp32 master copy and the fp16
        weights tcnn computes with are the same numbers)."""
        flat = torch.cat([m.reshape(-1) for m in matrices]).to(torch.float16).float()
        with torch.no_grad():
            self.params.copy_(flat)

    def forward(self, x):
        pad = self.layer_shapes()[0][1] - x.shape[-1]
        h = torch.cat([x, x.new_ones(x.shape[0], pad)], dim=-1) if pad else x
        mats = self.matrices()
        for i, w in enumerate(mats):
            h = h @ w.T
            if i < len(mats) - 1:
                h = torch.relu(h)
        h = h[:, :self.n_output_dims]
        return torch.sigmoid(h) if self.output_activation == "Sigmoid" else h


class TcnnSphericalHarmonics(nn.Module):
    """tcnn.Encoding SphericalHarmonics degree 4: no parameters (an empty fp32 `params`). Input in
    [0, 1]^3 (nerfstudio's (d + 1) / 2); tcnn maps it back with v * 2 - 1 (kernel_sh)."""

    def __init__(self):
        super().__init__()
        self.params = nn.Parameter(torch.zeros(0, dtype=torch.float32))

    @staticmethod
    def basis(x, y, z):
        """tcnn common_device.h sh_enc, degree 4, fp32."""
        xy, xz, yz, x2, y2, z2 = x * y, x * z, y * z, x * x, y * y, z * z
        return torch.stack([
            torch.full_like(x, 0.28209479177387814),
            -0.48860251190291987 * y,
            0.48860251190291987 * z,
            -0.48860251190291987 * x,
            1.0925484305920792 * xy,
            -1.0925484305920792 * yz,
            0.94617469575755997 * z2 - 0.31539156525251999,
            -1.0925484305920792 * xz,
            0.54627421529603959 * x2 - 0.54627421529603959 * y2,
            0.59004358992664352 * y * (-3.0 * x2 + y2),
            2.8906114426405538 * xy * z,
            0.45704579946446572 * y * (1.0 - 5.0 * z2),
            0.3731763325901154 * z * (5.0 * z2 - 3.0),
            0.45704579946446572 * x * (1.0 - 5.0 * z2),
            1.4453057213202769 * z * (x2 - y2),
            0.59004358992664352 * x * (-x2 + 3.0 * y2),
        ], dim=-1)

    def forward(self, d01):
        v = d01 * 2.0 - 1.0
        return self.basis(v[:, 0], v[:, 1], v[:, 2])


# ---- nerfstudio / LiveScene modules ------------------------------------------------------------

class KPlanesEncoding(nn.Module):
    """nerfstudio KPlanesEncoding (reduce='product'): plane for axes (a, b) is [C, res_b, res_a],
    sampled with grid_sample(align_corners=True, padding_mode='border'); input in [-1, 1]."""

    def __init__(self, resolution, num_components):
        super().__init__()
        self.resolution = list(resolution)
        self.num_components = num_components
        self.coo_combs = list(itertools.combinations(range(len(resolution)), 2))
        self.plane_coefs = nn.ParameterList(
            [nn.Parameter(torch.zeros([num_components] + [self.resolution[c] for c in combo[::-1]]))
             for combo in self.coo_combs])

    def forward(self, coords):
        output = 1.0
        for ci, combo in enumerate(self.coo_combs):
            grid = self.plane_coefs[ci].unsqueeze(0)
            pts = coords[..., combo].view(1, 1, -1, 2)
            interp = F.grid_sample(grid, pts, align_corners=True, padding_mode="border")
            output = output * interp.view(self.num_components, -1).T
        return output


def normalized_coords(positions, aabb, kappa_sel):
    """[(x - aabb0) / (aabb1 - aabb0) * 2 - 1, kappa_sel * 2 - 1] (SceneBox.get_normalized_positions)."""
    p = (positions - aabb[0]) / (aabb[1] - aabb[0]) * 2.0 - 1.0
    return torch.cat([p, kappa_sel[:, None] * 2.0 - 1.0], dim=-1)


class LiveSceneField(nn.Module):
    def __init__(self, aabb, grid_base_resolution, grid_feature_dim, multiscale_res):
        super().__init__()
        self.register_buffer("aabb", aabb)
        self.grids = nn.ModuleList()
        for m in multiscale_res:
            res = [r * m for r in grid_base_resolution[:3]] + list(grid_base_resolution[3:])
            self.grids.append(KPlanesEncoding(res, grid_feature_dim))
        self.feature_dim = grid_feature_dim * len(multiscale_res)
        self.sigma_net = TcnnNetwork(self.feature_dim, GEO_FEAT_DIM + 1, 1)
        self.direction_encoding = TcnnSphericalHarmonics()
        self.color_net = TcnnNetwork(16 + GEO_FEAT_DIM, 3, 2, "Sigmoid")

    def features(self, positions, kappa_sel):
        coords = normalized_coords(positions, self.aabb, kappa_sel)
        return torch.cat([g(coords) for g in self.grids], dim=-1)

    def forward(self, positions, directions, kappa_sel):
        """positions [M, 3], unit directions [M, 3], kappa_sel [M] -> dict of per-sample tensors."""
        feats = self.features(positions, kappa_sel)
        sigma_out = self.sigma_net(feats)
        density = torch.exp(sigma_out[:, GEO_FEAT_DIM] - 1.0)
        sh = self.direction_encoding((directions + 1.0) / 2.0)
        rgb = self.color_net(torch.cat([sh, sigma_out[:, :GEO_FEAT_DIM]], dim=-1))
        return {"features": feats, "sigma_out": sigma_out, "density": density, "sh": sh, "rgb": rgb}


class LiveSceneDensityField(nn.Module):
    def __init__(self, aabb, density_feature_dim, density_resolution):
        super().__init__()
        self.register_buffer("aabb", aabb)
        self.grids = KPlanesEncoding(density_resolution, density_feature_dim)
        self.density_net = TcnnNetwork(density_feature_dim, 1, 1)

    def features(self, positions, kappa_sel):
        return self.grids(normalized_coords(positions, self.aabb, kappa_sel))

    def forward(self, positions, kappa_sel):
        return torch.exp(self.density_net(self.features(positions, kappa_sel))[:, 0] - 1.0)


class LiveSceneLanguageField(nn.Module):
    """The object probability field (use_gt_val=True, cat_embed=False, max_prob=0)."""

    def __init__(self, aabb, lang_feature_dim, lang_resolution, ncls):
        super().__init__()
        self.register_buffer("aabb", aabb)
        self.grids = KPlanesEncoding(lang_resolution, lang_feature_dim)
        self.semantic_net = TcnnNetwork(lang_feature_dim + ncls, ncls + 1, 1)
        self.ncls = ncls

    def features(self, positions):
        return torch.sigmoid(self.grids(positions))  # raw positions: the official quirk

    def forward(self, positions, kappa):
        """positions [M, 3], kappa [M, A] -> (features, logits [M, A+1], object [M], kappa_sel [M])."""
        feats = self.features(positions)
        logits = self.semantic_net(torch.cat([feats, kappa], dim=-1))
        soft = torch.softmax(logits, -1)
        _, obj = torch.max(soft[:, :-1], dim=-1)
        kappa_sel = torch.gather(kappa, -1, obj[:, None])[:, 0]
        return feats, logits, obj, kappa_sel


class _NetLinLayer(nn.Module):
    def __init__(self, chn_in):
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(chn_in, 1, 1, bias=False))


class _ScalingLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188])[None, :, None, None])
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450])[None, :, None, None])


class _AlexnetSlices(nn.Module):
    """Key layout of torchmetrics' Alexnet wrapper (features[0..11] in 5 slices); random weights."""

    def __init__(self):
        super().__init__()
        convs = {0: (3, 64, 11), 3: (64, 192, 5), 6: (192, 384, 3), 8: (384, 256, 3), 10: (256, 256, 3)}
        bounds = [(0, 2), (2, 5), (5, 8), (8, 10), (10, 12)]
        for s, (lo, hi) in enumerate(bounds, start=1):
            seq = nn.Sequential()
            for x in range(lo, hi):
                seq.add_module(str(x), nn.Conv2d(*convs[x][:2], convs[x][2]) if x in convs else nn.ReLU())
            setattr(self, f"slice{s}", seq)


class _Lpips(nn.Module):
    """torchmetrics _NoTrainLpips(net='alex') key layout (scaling_layer buffers as persistent, as
    in older torchmetrics). The backbone is left out of the small fixture to keep it small."""

    def __init__(self, with_backbone):
        super().__init__()
        self.scaling_layer = _ScalingLayer()
        if with_backbone:
            self.net = _AlexnetSlices()
        for i, c in enumerate([64, 192, 384, 256, 256]):
            setattr(self, f"lin{i}", _NetLinLayer(c))
        self.lins = nn.ModuleList([getattr(self, f"lin{i}") for i in range(5)])


class _LearnedPerceptualImagePatchSimilarity(nn.Module):
    def __init__(self, with_backbone):
        super().__init__()
        self.net = _Lpips(with_backbone)


class LiveSceneModel(nn.Module):
    """LiveSceneModel's persistent state: device_indicator_param (nerfstudio Model), field,
    proposal_networks, proposal_language_networks (one module, registered len(proposals) + 1
    times) and the LPIPS metric's weights."""

    def __init__(self, cfg, lpips_backbone=False):
        super().__init__()
        aabb = torch.tensor(cfg["aabb"], dtype=torch.float32)
        alpha = len(cfg["objects"])
        self.field = LiveSceneField(aabb, cfg["grid_base_resolution"], cfg["grid_feature_dim"], cfg["multiscale_res"])
        self.proposal_networks = nn.ModuleList(
            [LiveSceneDensityField(aabb, p["feature_dim"], p["resolution"]) for p in cfg["proposals"]])
        lang = LiveSceneLanguageField(aabb, cfg["probability"]["feature_dim"], cfg["probability"]["resolution"], alpha)
        self.proposal_language_networks = nn.ModuleList([lang] * (len(cfg["proposals"]) + 1))
        self.lpips = _LearnedPerceptualImagePatchSimilarity(lpips_backbone)
        self.device_indicator_param = nn.Parameter(torch.empty(0))
        self.cfg = cfg


class LiveScenePipeline(nn.Module):
    """The pipeline's state dict is the model's under `_model.` (the datamanager and controller
    hold no persistent tensors)."""

    def __init__(self, cfg, lpips_backbone=False):
        super().__init__()
        self._model = LiveSceneModel(cfg, lpips_backbone)


# ---- rendering -------------------------------------------------------------------------------

def collide(origins, directions, aabb, near_plane=0.0):
    """nerfstudio AABBBoxCollider._intersect_with_aabb at evaluation (near plane 0)."""
    dir_fraction = 1.0 / (directions + 1e-6)
    t1 = (aabb[0] - origins) * dir_fraction
    t2 = (aabb[1] - origins) * dir_fraction
    nears = torch.max(torch.minimum(t1, t2), dim=1).values
    fars = torch.min(torch.maximum(t1, t2), dim=1).values
    nears = torch.clamp(nears, min=near_plane)
    fars = torch.maximum(fars, nears + 1e-6)
    return nears, fars


def get_weights(deltas, densities):
    """RaySamples.get_weights; deltas, densities [R, N]."""
    delta_density = deltas * densities
    alphas = 1 - torch.exp(-delta_density)
    transmittance = torch.cumsum(delta_density[:, :-1], dim=-1)
    transmittance = torch.cat([torch.zeros_like(transmittance[:, :1]), transmittance], dim=-1)
    return torch.nan_to_num(alphas * torch.exp(-transmittance))


def pdf_bins(existing_bins, weights, num_samples, histogram_padding=0.01, eps=1e-5):
    """PDFSampler.generate_ray_samples at evaluation, in spacing space. existing_bins [R, n+1],
    weights [R, n] -> bins [R, num_samples + 1]."""
    weights = torch.pow(weights, 1.0) + histogram_padding  # ProposalNetworkSampler anneal (1 at eval)
    weights_sum = torch.sum(weights, dim=-1, keepdim=True)
    padding = torch.relu(eps - weights_sum)
    weights = weights + padding / weights.shape[-1]
    weights_sum = weights_sum + padding
    pdf = weights / weights_sum
    cdf = torch.min(torch.ones_like(pdf), torch.cumsum(pdf, dim=-1))
    cdf = torch.cat([torch.zeros_like(cdf[:, :1]), cdf], dim=-1)
    num_bins = num_samples + 1
    u = torch.linspace(0.0, 1.0 - (1.0 / num_bins), steps=num_bins, device=cdf.device)
    u = (u + 1.0 / (2 * num_bins)).expand(cdf.shape[0], num_bins).contiguous()
    inds = torch.searchsorted(cdf, u, side="right")
    below = torch.clamp(inds - 1, 0, existing_bins.shape[-1] - 1)
    above = torch.clamp(inds, 0, existing_bins.shape[-1] - 1)
    cdf_g0, cdf_g1 = torch.gather(cdf, -1, below), torch.gather(cdf, -1, above)
    bins_g0, bins_g1 = torch.gather(existing_bins, -1, below), torch.gather(existing_bins, -1, above)
    t = torch.clip(torch.nan_to_num((u - cdf_g0) / (cdf_g1 - cdf_g0), 0), 0, 1)
    return bins_g0 + t * (bins_g1 - bins_g0)


def render_rays(model, origins, directions, kappa, trace=False):
    """Official eval forward for R rays: origins, unit directions [R, 3], kappa [R, A].
    Returns rgb [R,3], depth [R], accumulation [R], masks [R,A+1], nears, fars, and with
    trace=True per level L: bins, kappa_sel, logits, density, weights."""
    cfg = model.cfg
    aabb = model.field.aabb
    nears, fars = collide(origins, directions, aabb)
    R = origins.shape[0]
    counts = list(cfg["num_proposal_samples"]) + [cfg["num_samples"]]
    out = {"nears": nears, "fars": fars}
    bins = torch.linspace(0.0, 1.0, counts[0] + 1, device=origins.device)[None, :].expand(R, -1)
    weights = None
    lang = model.proposal_language_networks[0]
    for level, n in enumerate(counts):
        if level > 0:
            bins = pdf_bins(bins, weights, n)
        t = bins * fars[:, None] + (1 - bins) * nears[:, None]  # spacing_to_euclidean_fn
        starts, ends = t[:, :-1], t[:, 1:]
        mids = (starts + ends) / 2
        positions = (origins[:, None, :] + directions[:, None, :] * mids[..., None]).reshape(-1, 3)
        kappa_s = kappa[:, None, :].expand(R, n, kappa.shape[-1]).reshape(R * n, -1)
        _, logits, _, kappa_sel = lang(positions, kappa_s)
        if level < len(counts) - 1:
            density = model.proposal_networks[level](positions, kappa_sel).view(R, n)
        else:
            dirs = directions[:, None, :].expand(R, n, 3).reshape(-1, 3)
            field = model.field(positions, dirs, kappa_sel)
            density = field["density"].view(R, n)
        weights = get_weights(ends - starts, density)
        if trace:
            out[f"level{level}.bins"] = bins
            out[f"level{level}.kappa_sel"] = kappa_sel.view(R, n)
            out[f"level{level}.logits"] = logits.view(R, n, -1)
            out[f"level{level}.density"] = density
            out[f"level{level}.weights"] = weights
    w = weights[..., None]
    rgb = torch.nan_to_num(field["rgb"].view(R, n, 3))
    acc = torch.sum(w, dim=-2)
    comp = torch.sum(w * rgb, dim=-2) + 1.0 * (1.0 - acc)
    out["rgb"] = torch.clamp(comp, 0.0, 1.0)
    cum = torch.cumsum(weights, dim=-1)
    idx = torch.searchsorted(cum, torch.full((R, 1), 0.5, device=cum.device), side="left").clamp(0, n - 1)
    out["depth"] = torch.gather(mids, -1, idx)[:, 0]
    out["accumulation"] = acc[:, 0]
    out["masks"] = torch.softmax(torch.sum(w * logits.view(R, n, -1), dim=-2), -1)
    return out


def render_chunked(model, origins, directions, kappa, chunk=4096):
    keys = ("rgb", "depth", "accumulation", "masks")
    parts = {k: [] for k in keys}
    for i in range(0, origins.shape[0], chunk):
        o = render_rays(model, origins[i:i + chunk], directions[i:i + chunk], kappa[i:i + chunk])
        for k in keys:
            parts[k].append(o[k])
    return {k: torch.cat(v) for k, v in parts.items()}


# ---- random initialisation ---------------------------------------------------------------------

def _init_planes(grid, gen, spatial, kappa_noise):
    """Spatial planes U(spatial); planes touching axis 3 (kappa) 1 + kappa_noise N(0, 1)."""
    with torch.no_grad():
        for combo, plane in zip(grid.coo_combs, grid.plane_coefs):
            if 3 in combo:
                plane.copy_(1.0 + kappa_noise * torch.randn(plane.shape, generator=gen))
            else:
                lo, hi = spatial
                plane.copy_(lo + (hi - lo) * torch.rand(plane.shape, generator=gen))


def _init_mlp(net, gen, x, mean, std, jitter=0.3, column_scale=None):
    """Data-driven random init (in the spirit of LSUV) on calibration inputs x [M, n_in]: N(0, 1)
    rows, each rescaled and shifted (through the 1.0-padded input columns of the first layer, or
    along the mean activation elsewhere, since tcnn layers have no bias) so that over x every
    hidden pre-activation has mean ~N(0, jitter^2) and std 1, and output row r has mean mean[r] and
    std std[r]. Stored as fp16."""
    mats, h = [], x
    shapes = net.layer_shapes()
    for i, (rows, cols) in enumerate(shapes):
        last = i == len(shapes) - 1
        w = torch.randn(rows, cols, generator=gen)
        n = h.shape[1]
        if last:
            want_mean = torch.zeros(rows)
            want_std = torch.ones(rows)
            want_mean[:len(mean)], want_std[:len(std)] = torch.tensor(mean), torch.tensor(std)
        else:
            want_mean, want_std = jitter * torch.randn(rows, generator=gen), torch.ones(rows)
        pre = h @ w[:, :n].T
        if i == 0 and column_scale is not None:
            w[:, :n] *= torch.tensor(column_scale)[None, :]
            pre = h @ w[:, :n].T
        w[:, :n] *= (want_std / pre.std(dim=0).clamp_min(1e-12))[:, None]
        pre_mean = (h @ w[:, :n].T).mean(dim=0)
        if cols > n:  # tcnn feeds 1.0 to the padded columns: they are the bias
            w[:, n:] = ((want_mean - pre_mean) / (cols - n))[:, None]
        else:  # shift along the mean input direction
            m = h.mean(dim=0)
            w[:, :n] += ((want_mean - pre_mean) / (m @ m))[:, None] * m[None, :]
        mats.append(w)
        if not last:
            pad = torch.ones(h.shape[0], cols - n)
            h = torch.relu(torch.cat([h, pad], -1) @ w.T)
    net.set_matrices(mats)


def random_model(cfg, seed, lpips_backbone=False):
    """A LiveScenePipeline with the random initialisation of the module docstring."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    pipe = LiveScenePipeline(cfg, lpips_backbone)
    model = pipe._model
    for g in model.field.grids:
        _init_planes(g, gen, (0.1, 0.5), 0.3)
    for p in model.proposal_networks:
        _init_planes(p.grids, gen, (0.1, 0.15), 0.3)
    _init_planes(model.proposal_language_networks[0].grids, gen, (-1.5, 1.5), 0.0)
    # calibration points: inside the box, random kappa
    aabb = model.field.aabb
    alpha = len(cfg["objects"])
    pts = aabb[0] + (aabb[1] - aabb[0]) * torch.rand(4096, 3, generator=gen)
    kappa = torch.rand(4096, alpha, generator=gen)
    dirs = torch.randn(4096, 3, generator=gen)
    dirs = dirs / torch.linalg.norm(dirs, dim=-1, keepdim=True)
    lang = model.proposal_language_networks[0]
    with torch.no_grad():
        _init_mlp(lang.semantic_net, gen, torch.cat([lang.features(pts), kappa], -1),
                  [0.0] * alpha + [-0.5], [2.0] * (alpha + 1),
                  column_scale=[1.0] * cfg["probability"]["feature_dim"] + [0.25] * alpha)
        ksel = lang(pts, kappa)[3]
        for p in model.proposal_networks:
            _init_mlp(p.density_net, gen, p.features(pts, ksel), [1.5], [1.0])
        feats = model.field.features(pts, ksel)
        _init_mlp(model.field.sigma_net, gen, feats, [0.0] * GEO_FEAT_DIM + [1.2], [1.0] * GEO_FEAT_DIM + [1.5])
        geo = model.field.sigma_net(feats)[:, :GEO_FEAT_DIM]
        sh = model.field.direction_encoding((dirs + 1.0) / 2.0)
        _init_mlp(model.field.color_net, gen, torch.cat([sh, geo], -1), [0.0] * 3, [1.5] * 3)
        if hasattr(model.lpips.net, "net"):
            for prm in model.lpips.net.net.parameters():
                prm.copy_(0.01 * torch.randn(prm.shape, generator=gen))
        for i in range(5):
            w = getattr(model.lpips.net, f"lin{i}").model[1].weight
            w.copy_(torch.rand(w.shape, generator=gen) * 0.1)
    return pipe


def save_checkpoint(pipe, path, step):
    """nerfstudio Trainer.save_checkpoint layout."""
    torch.save({"step": step, "pipeline": pipe.state_dict(), "optimizers": {}, "schedulers": {},
                "scalers": {}}, path)


def write_mapping(path, names):
    with open(path, "w", encoding="utf-8") as f:
        for i, name in enumerate(names):
            f.write(f"{i}: {name}\n")


# ---- fixtures ----------------------------------------------------------------------------------

def rotation(axis, angle):
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


# dataparser transform of the fixture: rotation + translation, scale 0.8 (fp32 values, as the
# tensors nerfstudio saves with .tolist())
FIXTURE_T = np.concatenate([rotation([0.3, -0.5, 0.8], 0.35), [[0.4], [-0.25], [0.6]]], axis=1).astype(np.float32)
FIXTURE_SCALE = 0.8

# per-frame raw kappa (= normalised): each split (index % 2 == 0 test, else train) has min 0, max 1
FRAME_KAPPA = [[0.0, 1.0], [0.25, 0.0], [1.0, 0.3], [1.0, 0.7], [0.6, 0.0], [0.0, 1.0]]


def look_at(eye, target, up=(0.0, 0.0, 1.0)):
    """OpenGL/Blender camera-to-world (camera looks down -z, +y up)."""
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    back = eye - target
    back /= np.linalg.norm(back)
    right = np.cross(up, back)
    right /= np.linalg.norm(right)
    upv = np.cross(back, right)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, upv, back, eye
    return m


def camera_rays(c2w, width, height, camera_angle_x):
    """nerfstudio Cameras.generate_rays for a perspective camera (fx = fy = W / 2 / tan(x / 2),
    cx = W / 2, cy = H / 2, pixel centres at +0.5), fp32. Returns origins, directions [H*W, 3]."""
    c2w = torch.as_tensor(c2w, dtype=torch.float32)
    focal = 0.5 * width / np.tan(0.5 * camera_angle_x)
    y, x = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    y, x = y.reshape(-1) + 0.5, x.reshape(-1) + 0.5
    d = torch.stack([(x - width / 2.0) / float(focal), -((y - height / 2.0) / float(focal)),
                     -torch.ones_like(x)], -1)
    d = torch.sum(d[..., None, :] * c2w[:3, :3], dim=-1)
    d = d / torch.linalg.norm(d, dim=-1, keepdim=True)
    return c2w[:3, 3].expand(d.shape[0], 3).contiguous(), d


def to_model_frame(c2w_original):
    """nerfstudio: poses fp32, c2w' = T @ c2w, translation *= scale."""
    pose = torch.as_tensor(np.asarray(c2w_original), dtype=torch.float32)
    t = torch.as_tensor(FIXTURE_T)
    out = t @ pose
    out[:3, 3] *= FIXTURE_SCALE
    return out


def write_dataset(pipe, out_dir, width=24, height=18, camera_angle_x=0.9):
    import yaml
    from PIL import Image

    model = pipe._model
    names = model.cfg["objects"]
    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "masks"), exist_ok=True)
    r_t = FIXTURE_T[:, :3].astype(np.float64).T
    frames, key_frames = [], {}
    for i, kv in enumerate(FRAME_KAPPA):
        angle = 2 * math.pi * i / len(FRAME_KAPPA) + 0.3
        eye = [3.6 * math.cos(angle), 3.0 * math.sin(angle), 1.2 + 0.3 * math.sin(2 * angle)]
        m = look_at(eye, [0.0, 0.0, 0.0])  # model frame
        orig = np.eye(4)  # the original-frame pose that maps onto m
        orig[:3, :3] = r_t @ m[:3, :3]
        orig[:3, 3] = r_t @ (m[:3, 3] / FIXTURE_SCALE - FIXTURE_T[:, 3].astype(np.float64))
        orig = np.round(orig, 6)
        name = f"frame_{i + 1:05d}"
        frames.append({"file_path": f"./images/{name}", "transform_matrix": orig.tolist()})
        key_frames[name] = {n: float(v) for n, v in zip(names, kv)}
        o, d = camera_rays(to_model_frame(orig), width, height, camera_angle_x)
        kappa = torch.tensor(kv, dtype=torch.float32)[None].expand(o.shape[0], -1)
        with torch.no_grad():
            r = render_chunked(model, o, d, kappa)
        img = np.round(r["rgb"].numpy().reshape(height, width, 3) * 255.0).astype(np.uint8)
        Image.fromarray(img, "RGB").save(os.path.join(out_dir, "images", name + ".png"))
        hot = r["masks"].argmax(-1).numpy().reshape(height, width)
        mask = np.eye(len(names) + 1, dtype=bool)[hot]
        np.save(os.path.join(out_dir, "masks", f"{i + 1:05d}.npy"), mask)
    with open(os.path.join(out_dir, "transforms.json"), "w", encoding="utf-8") as f:
        json.dump({"camera_angle_x": camera_angle_x, "frames": frames}, f, indent=2)
        f.write("\n")
    write_mapping(os.path.join(out_dir, "mapping.yaml"), names)
    with open(os.path.join(out_dir, "key_frame_value.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(key_frames, f, sort_keys=False)


def point_fixtures(model, gen, count=64):
    cfg = model.cfg
    aabb = model.field.aabb
    size = aabb[1] - aabb[0]
    pos = aabb[0] - 0.1 * size + 1.2 * size * torch.rand(count, 3, generator=gen)
    pos[:4] = torch.stack([aabb[0], aabb[1], (aabb[0] + aabb[1]) / 2, aabb[0] - 0.05 * size])
    alpha = len(cfg["objects"])
    kappa = torch.rand(count, alpha, generator=gen)
    kappa[0], kappa[1] = 0.0, 1.0  # the ends of the kappa axis
    dirs = torch.randn(count, 3, generator=gen)
    dirs = dirs / torch.linalg.norm(dirs, dim=-1, keepdim=True)
    lang = model.proposal_language_networks[0]
    feats, logits, obj, ksel = lang(pos, kappa)
    out = {"point.positions": pos, "point.kappa": kappa, "point.directions": dirs,
           "point.prob_features": feats, "point.logits": logits, "point.object": obj.to(torch.int32),
           "point.kappa_sel": ksel}
    for i, p in enumerate(model.proposal_networks):
        out[f"point.proposal.{i}.density"] = p(pos, ksel)
    field = model.field(pos, dirs, ksel)
    for k in ("features", "sigma_out", "density", "sh", "rgb"):
        out[f"point.field.{k}" if k in ("features", "sigma_out", "density") else f"point.{k}"] = field[k]
    return out


def ray_fixtures(model, gen):
    aabb = model.field.aabb
    centre = (aabb[0] + aabb[1]) / 2
    geo = []
    for j in range(5):
        eye = torch.tensor([3.0 * math.cos(1.3 * j + 0.2), 2.5 * math.sin(1.3 * j + 0.2), 0.8 - 0.4 * j])
        target = centre + 0.6 * (torch.rand(3, generator=gen) - 0.5) * (aabb[1] - aabb[0])
        geo.append((eye, target - eye))
    geo.append((torch.tensor([0.2, -0.1, 0.3]), torch.tensor([0.3, 0.8, -0.2])))  # origin inside
    geo.append((torch.tensor([0.0, 0.0, 3.0]), torch.tensor([1.0, 0.2, 0.1])))  # misses the box
    geo.append((torch.tensor([-3.0, 0.0, 0.0]), torch.tensor([1.0, 0.0, 0.0])))  # axis-aligned
    kappas = [[0.0, 0.0], [1.0, 0.0], [0.3, 0.8]]
    origins, dirs, kap = [], [], []
    for o, d in geo:
        for k in kappas:
            origins.append(o)
            dirs.append(d / torch.linalg.norm(d))
            kap.append(torch.tensor(k[:len(model.cfg["objects"])]))
    o, d, k = torch.stack(origins), torch.stack(dirs), torch.stack(kap)
    r = render_rays(model, o, d, k, trace=True)
    out = {"ray.origins": o, "ray.directions": d, "ray.kappa": k}
    for key, v in r.items():
        out["ray." + key] = v
    return out


def check_margins(tensors, minimum=1e-3):
    """Raises when a fixture sits near a discontinuity of the math, where an implementation
    within 1e-5 of this one could legitimately differ: two objects with different kappa whose
    logits are within `minimum` (the argmax would flip), or a cumulative weight within `minimum`
    of 0.5 (the median depth would jump a sample)."""
    def logit_gap(logits, kappa):
        top = torch.topk(logits[..., :-1], 2, dim=-1)
        k = kappa.expand(*logits.shape[:-1], kappa.shape[-1])
        differ = torch.gather(k, -1, top.indices[..., :1]) != torch.gather(k, -1, top.indices[..., 1:])
        gap = top.values[..., 0] - top.values[..., 1]
        return gap[differ[..., 0]]
    gaps = [logit_gap(tensors["point.logits"], tensors["point.kappa"])]
    for level in range(3):
        gaps.append(logit_gap(tensors[f"ray.level{level}.logits"], tensors["ray.kappa"][:, None, :]))
    gap = min(float(g.min()) for g in gaps if g.numel())
    cum = torch.cumsum(tensors["ray.level2.weights"], -1)
    median = float((cum - 0.5).abs().min())
    if gap < minimum or median < minimum:
        raise RuntimeError(f"fragile fixture: smallest object logit gap {gap:.3g}, smallest |cumulative "
                           f"weight - 0.5| {median:.3g} (need >= {minimum}): change a seed")


def fixtures(out_dir):
    cfg = CONFIGS["small"]
    os.makedirs(out_dir, exist_ok=True)
    pipe = random_model(cfg, seed=3)
    model = pipe._model
    ckpt = os.path.join(out_dir, "step-000000100.ckpt")
    save_checkpoint(pipe, ckpt, 100)
    transforms = os.path.join(out_dir, "dataparser_transforms.json")
    with open(transforms, "w", encoding="utf-8") as f:
        json.dump({"transform": FIXTURE_T.tolist(), "scale": FIXTURE_SCALE}, f, indent=4)
    mapping = os.path.join(out_dir, "mapping.yaml")
    write_mapping(mapping, cfg["objects"])
    config = conv.convert(ckpt, os.path.join(out_dir, "small.safetensors"), mapping=mapping,
                          num_proposal_samples=cfg["num_proposal_samples"], num_samples=cfg["num_samples"])
    gen = torch.Generator().manual_seed(11)
    with torch.no_grad():
        tensors = point_fixtures(model, gen)
        tensors.update(ray_fixtures(model, gen))
    check_margins(tensors)
    arrays = {k: v.detach().contiguous().numpy() for k, v in tensors.items()}
    conv.write_safetensors(os.path.join(out_dir, "fixtures.safetensors"), arrays,
                           {"format": "facet-livescene-fixtures", "config": json.dumps(config)})
    write_dataset(pipe, os.path.join(out_dir, "dataset"))
    return arrays


def default_ckpt(out_dir):
    cfg = CONFIGS["default"]
    os.makedirs(out_dir, exist_ok=True)
    pipe = random_model(cfg, seed=5, lpips_backbone=True)
    save_checkpoint(pipe, os.path.join(out_dir, "step-000030000.ckpt"), 30000)
    write_mapping(os.path.join(out_dir, "mapping.yaml"), cfg["objects"])


def load_pipeline(path, config):
    """A LiveScenePipeline of CONFIGS[config] with the weights of a checkpoint written in the
    official layout (LPIPS weights may be absent)."""
    pipe = LiveScenePipeline(CONFIGS[config], lpips_backbone=True)
    state = torch.load(path, map_location="cpu")["pipeline"]
    missing, unexpected = pipe.load_state_dict(state, strict=False)
    problems = [k for k in list(missing) + list(unexpected) if not k.startswith("_model.lpips.")]
    if problems:
        raise SystemExit(f"livescene_ref: {path}: does not fit the '{config}' config: {problems[:3]}")
    return pipe


def bench(config, rays, device, checkpoint=None, seed=7):
    torch.set_num_threads(os.cpu_count())
    cfg = CONFIGS[config]
    pipe = load_pipeline(checkpoint, config) if checkpoint else random_model(cfg, seed=seed)
    model = pipe._model.to(device)
    gen = torch.Generator().manual_seed(seed)
    aabb = model.field.aabb.cpu()
    eye = torch.tensor([0.0, -2.2, 0.8]) * (aabb[1] - aabb[0]) / 2
    target = aabb[0] + (aabb[1] - aabb[0]) * (0.25 + 0.5 * torch.rand(rays, 3, generator=gen))
    d = target - eye
    d = (d / torch.linalg.norm(d, dim=-1, keepdim=True)).to(device)
    o = eye.expand(rays, 3).contiguous().to(device)
    k = torch.rand(rays, len(cfg["objects"]), generator=gen).to(device)
    with torch.no_grad():
        render_chunked(model, o[:64], d[:64], k[:64])  # warm-up
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        render_chunked(model, o, d, k)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return {"config": config, "device": device, "threads": torch.get_num_threads(), "rays": rays,
            "seconds": seconds, "rays_per_sec": rays / seconds, "ms_per_ray": 1000.0 * seconds / rays}


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="PyTorch reference of LiveScene inference: fixtures, checkpoints, benchmark.",
        epilog="The module docstring (tools/reference/livescene_ref.py) documents the math, the "
               "initialisation and the fixture tensor names.")
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("fixtures", help="small-config checkpoint, converted weights, fixtures, dataset")
    p.add_argument("out_dir")
    p = sub.add_parser("default-ckpt", help="random default-config checkpoint + mapping.yaml")
    p.add_argument("out_dir")
    p = sub.add_parser("bench", help="time the reference's per-ray render")
    p.add_argument("--config", choices=sorted(CONFIGS), default="default")
    p.add_argument("--rays", type=int, default=4096)
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    p.add_argument("--checkpoint", help="weights from this checkpoint (default: random)")
    args = parser.parse_args(argv)
    if args.mode == "fixtures":
        fixtures(args.out_dir)
    elif args.mode == "default-ckpt":
        default_ckpt(args.out_dir)
    else:
        print(json.dumps(bench(args.config, args.rays, args.device, args.checkpoint)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
