#!/usr/bin/python3
"""PyTorch reference of FQGAN inference (showlab/FQGAN tokenizer/vq_model_dual.py and
vq_model_triple.py on the LlamaGen VQGAN trunk), its official checkpoint layout, and the fixtures
of facet's FQGAN runtime (tokenizer/fqgan.c).

Written from the official module tree, not copied: modules and parameter names mirror the
official ones, so `VQModel.state_dict()` has the official checkpoint keys
(tokenizer/fqgan_format.md lists them). The math, per module:
- GroupNorm(32, eps 1e-6, affine), swish x * sigmoid(x).
- ResnetBlock: h = conv2(swish(norm2(conv1(swish(norm1(x)))))); x' = nin_shortcut(x) (1x1) when
  the channel count changes; out = x' + h.
- AttnBlock: single head over the H*W positions, 1x1 q/k/v, w = softmax(q^T k * C^-0.5) over the
  keys, out = x + proj_out(v w^T).
- Downsample: pad (0,1,0,1) with zeros, 3x3 conv stride 2. Upsample: nearest x2, 3x3 conv.
- Encoder: conv_in; per level num_res_blocks ResnetBlocks (each followed by an AttnBlock at the
  lowest resolution), a Downsample except after the last level; mid = Res, Attn, Res; then per
  branch a FactorizedAdapter, norm_out_<b>, swish, conv_out_<b> (3x3 to z_channels).
- FactorizedAdapter: tokens (h w) of width C = the encoder's last width, + positional_embedding
  [grid^2, C], ln_pre, `layers` pre-LN ResidualAttentionBlocks (nn.MultiheadAttention with 8
  heads, MLP C -> 4C -> C with exact GELU), ln_post (LayerNorm eps 1e-5).
- quant_conv_<b> (1x1 to codebook_dim); VectorQuantizer with codebook_l2_norm: z and the codebook
  rows L2-normalised, index = argmin(|z|^2 + |e|^2 - 2 z.e), z_q = normalised row.
- Decoding: concat [vis, sem] (Dual) or [vis, sem_mid, sem_high] (Triple) on channels,
  post_quant_conv (1x1 to z_channels), Decoder: conv_in, mid, per level (reversed)
  num_res_blocks + 1 ResnetBlocks (+ AttnBlocks at the lowest resolution), an Upsample except
  after the last, norm_out, swish, conv_out to RGB.
- Post-processing: clamp(127.5 x + 128, 0, 255) cast to uint8 (truncation).

The official code hard-codes 256x256 images (grid = 256 // downsample), adapter width 512, 6
layers, 8 heads. This reference takes them from its config so that small test configs exist;
the official configs (dual16, dual8, triple16, triple8) use the official values.

Random weights (`hash_weights`): every tensor is a deterministic function of (seed, tensor name,
element index) that tokenizer/fqgan.c (facet_fqgan_write_random) computes identically, so the C
tests rebuild the fixture weights without committing them:
    h = FNV-1a 64 of the name's UTF-8 bytes
    base = mix64(seed * 0x9E3779B97F4A7C15 + h)
    x_i = mix64(base + (i + 1) * 0xD1B54A32D192ED03)          (all mod 2^64)
    r_i = 2 * float32(x_i >> 40) * 2^-24 - 1                   (uniform in [-1, 1), exact)
    value = offset + scale * r_i  in float32, with (offset, scale):
      positional / class embeddings        (0, 0.5)
      codebooks `*.embedding.weight`       (0, 1)      rows of random norm, not unit
      1-D `*.weight` (GroupNorm/LayerNorm) (1, 0.25)   non-trivial affine scales
      other 1-D tensors (all biases)       (0, 0.1)    non-zero conv, linear, attention biases
      other tensors (conv/linear weights)  (0, 1/sqrt(fan_in)), fan_in = prod(shape[1:])
mix64 is the splitmix64 finaliser. `codebook_used` buffers are zeros.

Modes
-----
  fixtures OUT_DIR   the small configs (small-dual16, small-dual8, small-triple16,
                     small-triple8: ch 32, 64x64 images, 2 adapter layers, 512 x 8 codebooks):
                     OUT_DIR/inputs.npy [2, 3, 64, 64] preprocessed images and per config
                     OUT_DIR/<config>/{meta.json, features_<branch>.npy [2, 8, g, g],
                     indices_<branch>.npy [2, g, g] int64, reconstruction.npy [2, 3, 64, 64],
                     reconstruction_u8.npy [2, 64, 64, 3]}. Refuses index ties closer than 1e-5.
                     Plus OUT_DIR/dual16/: the official Dual-16 size (seed 3) on formula_image:
                     features, indices, gaps_<branch>.npy (best/runner-up distance gap per
                     position) and reconstruction_crop.npy (central 64 x 64).
  checkpoint --config C [--seed S] [--keys ema+model|model|state_dict] OUT.pt
                     an official-format checkpoint (torch.save dict: model, ema, optimizer,
                     discriminator, optimizer_disc, steps, args) with hash weights (ema: seed,
                     model: seed + 1) plus the training-only feature-prediction heads.
  params --config C  prints the inference and total parameter counts.
  bench --checkpoint CKPT --config C [--batch B] [--iters N] [--threads T] [--compile]
        [--device cpu|cuda] [--precision fp32|tf32|bf16]
                     times encode (image -> indices) and decode (indices -> image) at the
                     config's image size; prints JSON lines.
"""
import argparse
import json
import os
import re
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hash_rule import signed_uniform  # noqa: E402  (core/hash.h)

# ---- configurations ----------------------------------------------------------------------------

OFFICIAL = dict(ch=128, z_channels=256, enc_res_blocks=2, dec_res_blocks=3, adapter_layers=6,
                adapter_heads=8, codebook_size=16384, codebook_dim=8, image_size=256,
                feat_widths=dict(dual=1024, mid=384, high=768), feat_layers=3)
SMALL = dict(ch=32, z_channels=32, enc_res_blocks=2, dec_res_blocks=3, adapter_layers=2,
             adapter_heads=8, codebook_size=512, codebook_dim=8, image_size=64,
             feat_widths=dict(dual=64, mid=64, high=64), feat_layers=1)
MULT = {16: [1, 1, 2, 2, 4], 8: [1, 2, 2, 4]}
BRANCHES = {"dual": ["vis", "sem"], "triple": ["vis", "sem_mid", "sem_high"]}
# encoder adapter module per branch (official attribute names)
HEAD_NAME = {"vis": "visual_head", "sem": "semantic_head", "sem_mid": "semantic_head_mid",
             "sem_high": "semantic_head_high"}


def make_config(name):
    m = re.fullmatch(r"(small-)?(dual|triple)(16|8)", name)
    if not m:
        raise SystemExit(f"fqgan_ref: unknown config '{name}' (dual16, triple8, small-dual16, ...)")
    small, variant, ds = bool(m.group(1)), m.group(2), int(m.group(3))
    c = dict(SMALL if small else OFFICIAL)
    c.update(variant=variant, downsample=ds, ch_mult=list(MULT[ds]), branches=BRANCHES[variant])
    c["grid"] = c["image_size"] // ds
    c["adapter_width"] = c["ch"] * c["ch_mult"][-1]
    c["name"] = name
    return c


def metadata_config(c):
    """The `config` metadata JSON of tokenizer/fqgan_format.md."""
    keys = ["variant", "branches", "image_size", "downsample", "grid", "ch", "ch_mult",
            "z_channels", "enc_res_blocks", "dec_res_blocks", "adapter_width", "adapter_layers",
            "adapter_heads", "codebook_size", "codebook_dim"]
    return {k: c[k] for k in keys}


# ---- modules (official names) ------------------------------------------------------------------

def Normalize(channels):
    return nn.GroupNorm(num_groups=32, num_channels=channels, eps=1e-6, affine=True)


def swish(x):
    return x * torch.sigmoid(x)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.cin, self.cout = cin, cout
        self.norm1 = Normalize(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2 = Normalize(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1, 1, 0)

    def forward(self, x):
        h = self.conv1(swish(self.norm1(x)))
        h = self.conv2(swish(self.norm2(h)))
        skip = self.nin_shortcut(x) if self.cin != self.cout else x
        return skip + h


class AttnBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = Normalize(c)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        b, c, hh, ww = x.shape
        n = self.norm(x)
        q = self.q(n).reshape(b, c, hh * ww)
        k = self.k(n).reshape(b, c, hh * ww)
        v = self.v(n).reshape(b, c, hh * ww)
        scores = torch.bmm(q.transpose(1, 2), k) * (c ** -0.5)  # [b, query, key]
        weights = torch.softmax(scores, dim=2)
        out = torch.bmm(v, weights.transpose(1, 2)).reshape(b, c, hh, ww)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(width, 4 * width)),
                                              ("gelu", nn.GELU()),
                                              ("c_proj", nn.Linear(4 * width, width))]))

    def forward(self, x):  # x: [L, N, D]
        n = self.ln_1(x)
        x = x + self.attn(n, n, n, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class FactorizedAdapter(nn.Module):
    def __init__(self, grid, width, layers, heads):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.zeros(grid * grid, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = nn.ModuleList([ResidualAttentionBlock(width, heads)
                                          for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)

    def forward(self, x):
        b, c, hh, ww = x.shape
        t = x.reshape(b, c, hh * ww).transpose(1, 2) + self.positional_embedding
        t = self.ln_pre(t).transpose(0, 1)  # [L, N, D]
        for block in self.transformer:
            t = block(t)
        t = self.ln_post(t.transpose(0, 1))
        return t.transpose(1, 2).reshape(b, c, hh, ww)


class FeatPredHead(nn.Module):
    """Training-only CLIP/DINO feature prediction head: in checkpoints, never used to tokenize."""

    def __init__(self, in_dim, width, grid, layers, heads):
        super().__init__()
        self.upscale = nn.Sequential(nn.Linear(in_dim, width), nn.ReLU(), nn.Linear(width, width))
        self.class_embedding = nn.Parameter(torch.zeros(1, width))
        self.positional_embedding = nn.Parameter(torch.zeros(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = nn.ModuleList([ResidualAttentionBlock(width, heads)
                                          for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)


class VectorQuantizer(nn.Module):
    def __init__(self, n, dim):
        super().__init__()
        self.embedding = nn.Embedding(n, dim)
        self.register_buffer("codebook_used", torch.zeros(65536))

    def codebook(self):
        return F.normalize(self.embedding.weight, p=2, dim=-1)

    def forward(self, z):
        """z [B, dim, h, w] -> (indices [B, h, w], best/runner-up distance gaps [B*h*w])."""
        b, dim, hh, ww = z.shape
        zf = F.normalize(z.permute(0, 2, 3, 1).reshape(-1, dim), p=2, dim=-1)
        e = self.codebook()
        d = (zf ** 2).sum(1, keepdim=True) + (e ** 2).sum(1) - 2 * zf @ e.t()
        two = torch.topk(d, 2, dim=1, largest=False).values
        return torch.argmin(d, dim=1).reshape(b, hh, ww), two[:, 1] - two[:, 0]

    def lookup(self, indices):
        return self.codebook()[indices].permute(0, 3, 1, 2)  # [B, dim, h, w]


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        ch, mult, nres = c["ch"], c["ch_mult"], c["enc_res_blocks"]
        self.conv_in = nn.Conv2d(3, ch, 3, 1, 1)
        self.conv_blocks = nn.ModuleList()
        block_in = ch
        for level, m in enumerate(mult):
            block = nn.Module()
            block.res = nn.ModuleList()
            block.attn = nn.ModuleList()
            for _ in range(nres):
                block.res.append(ResnetBlock(block_in, ch * m))
                block_in = ch * m
                if level == len(mult) - 1:
                    block.attn.append(AttnBlock(block_in))
            if level != len(mult) - 1:
                block.downsample = Downsample(block_in)
            self.conv_blocks.append(block)
        self.mid = nn.ModuleList([ResnetBlock(block_in, block_in), AttnBlock(block_in),
                                  ResnetBlock(block_in, block_in)])
        self.branches = c["branches"]
        for b in self.branches:
            setattr(self, HEAD_NAME[b], nn.ModuleList([FactorizedAdapter(
                c["grid"], block_in, c["adapter_layers"], c["adapter_heads"])]))
        for b in self.branches:
            setattr(self, "norm_out_" + b, Normalize(block_in))
            setattr(self, "conv_out_" + b, nn.Conv2d(block_in, c["z_channels"], 3, 1, 1))

    def trunk(self, x):
        h = self.conv_in(x)
        for block in self.conv_blocks:
            for i, res in enumerate(block.res):
                h = res(h)
                if len(block.attn):
                    h = block.attn[i](h)
            if hasattr(block, "downsample"):
                h = block.downsample(h)
        for m in self.mid:
            h = m(h)
        return h

    def forward(self, x):
        h = self.trunk(x)
        out = []
        for b in self.branches:
            t = getattr(self, HEAD_NAME[b])[0](h)
            t = swish(getattr(self, "norm_out_" + b)(t))
            out.append(getattr(self, "conv_out_" + b)(t))
        return out


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        ch, mult, nres = c["ch"], c["ch_mult"], c["dec_res_blocks"]
        block_in = ch * mult[-1]
        self.conv_in = nn.Conv2d(c["z_channels"], block_in, 3, 1, 1)
        self.mid = nn.ModuleList([ResnetBlock(block_in, block_in), AttnBlock(block_in),
                                  ResnetBlock(block_in, block_in)])
        self.conv_blocks = nn.ModuleList()
        for level in reversed(range(len(mult))):
            block = nn.Module()
            block.res = nn.ModuleList()
            block.attn = nn.ModuleList()
            for _ in range(nres):
                block.res.append(ResnetBlock(block_in, ch * mult[level]))
                block_in = ch * mult[level]
                if level == len(mult) - 1:
                    block.attn.append(AttnBlock(block_in))
            if level != 0:
                block.upsample = Upsample(block_in)
            self.conv_blocks.append(block)
        self.norm_out = Normalize(block_in)
        self.conv_out = nn.Conv2d(block_in, 3, 3, 1, 1)

    def forward(self, z):
        h = self.conv_in(z)
        for m in self.mid:
            h = m(h)
        for block in self.conv_blocks:
            for i, res in enumerate(block.res):
                h = res(h)
                if len(block.attn):
                    h = block.attn[i](h)
            if hasattr(block, "upsample"):
                h = block.upsample(h)
        return self.conv_out(swish(self.norm_out(h)))


class VQModel(nn.Module):
    def __init__(self, c, feat_pred=False):
        super().__init__()
        self.c = c
        self.branches = c["branches"]
        self.encoder = Encoder(c)
        for b in self.branches:
            setattr(self, "quantize_" + b, VectorQuantizer(c["codebook_size"], c["codebook_dim"]))
            setattr(self, "quant_conv_" + b, nn.Conv2d(c["z_channels"], c["codebook_dim"], 1))
        self.post_quant_conv = nn.Conv2d(c["codebook_dim"] * len(self.branches),
                                         c["z_channels"], 1)
        self.decoder = Decoder(c)
        if feat_pred:
            w = c["feat_widths"]
            head = lambda width: FeatPredHead(c["codebook_dim"], width, c["grid"],  # noqa: E731
                                              c["feat_layers"], c["adapter_heads"])
            if c["variant"] == "dual":
                self.feat_pred_head = head(w["dual"])
            else:
                self.mid_sem_feat_pred = head(w["mid"])
                self.high_sem_feat_pred = head(w["high"])

    def encode(self, x):
        """x [B, 3, S, S] -> per branch (features [B, dim, g, g], indices [B, g, g], gaps)."""
        out = []
        for b, h in zip(self.branches, self.encoder(x)):
            f = getattr(self, "quant_conv_" + b)(h)
            idx, gaps = getattr(self, "quantize_" + b)(f)
            out.append((f, idx, gaps))
        return out

    def decode_code(self, indices):
        q = torch.cat([getattr(self, "quantize_" + b).lookup(i)
                       for b, i in zip(self.branches, indices)], dim=1)
        return self.decoder(self.post_quant_conv(q))


def inference_keys(sd):
    drop = ("feat_pred_head.", "mid_sem_feat_pred.", "high_sem_feat_pred.")
    return [k for k in sd if not k.startswith(drop) and not k.endswith(".codebook_used")]


# ---- hash weights (hash_rule.py = core/hash.h; the rule below = tokenizer/fqgan.c) ------------

def hash_rule(name, shape):
    if name.endswith("positional_embedding") or name.endswith("class_embedding"):
        return np.float32(0), np.float32(0.5)
    if name.endswith("embedding.weight"):
        return np.float32(0), np.float32(1)
    if len(shape) == 1:
        return (np.float32(1), np.float32(0.25)) if name.endswith("weight") else \
            (np.float32(0), np.float32(0.1))
    fan_in = int(np.prod(shape[1:]))
    return np.float32(0), np.float32(1) / np.sqrt(np.float32(fan_in))


def hash_tensor(name, shape, seed):
    r = signed_uniform(name, int(np.prod(shape)), seed)
    offset, scale = hash_rule(name, shape)
    return (offset + scale * r).astype(np.float32).reshape(shape)


def hash_weights(model, seed):
    sd = model.state_dict()
    out = OrderedDict()
    for k, v in sd.items():
        if k.endswith(".codebook_used"):
            out[k] = torch.zeros_like(v)
        else:
            out[k] = torch.from_numpy(hash_tensor(k, tuple(v.shape), seed))
    model.load_state_dict(out)
    return out


# ---- checkpoint --------------------------------------------------------------------------------

def write_checkpoint(c, seed, keys, path):
    model = VQModel(c, feat_pred=True)
    ema = hash_weights(model, seed)
    train = hash_weights(model, seed + 1)
    args = argparse.Namespace(
        vq_model="VQ-%d" % c["downsample"], codebook_size=c["codebook_size"],
        codebook_embed_dim=c["codebook_dim"], codebook_l2_norm=True, image_size=c["image_size"],
        with_clip_supervision=True, with_disentanglement=True, disentanglement_ratio=0.1,
        ema=keys == "ema+model", results_dir="results", global_seed=seed)
    ckpt = {"optimizer": {"state": {}, "param_groups": []}, "discriminator": OrderedDict(),
            "optimizer_disc": {"state": {}, "param_groups": []}, "steps": 1000, "args": args}
    if keys == "ema+model":
        ckpt["model"], ckpt["ema"] = train, ema
    elif keys == "model":
        ckpt["model"] = ema
    elif keys == "state_dict":
        ckpt = {"state_dict": ema}
    else:
        raise SystemExit(f"fqgan_ref: unknown --keys '{keys}'")
    tmp = path + ".tmp"
    torch.save(ckpt, tmp)
    os.replace(tmp, path)


def load_checkpoint(c, path):
    ckpt = torch.load(path, map_location="cpu")
    for key in ("ema", "model", "state_dict"):
        if key in ckpt:
            sd = ckpt[key]
            break
    model = VQModel(c, feat_pred=any(k.startswith(("feat_pred_head.", "mid_sem_feat_pred."))
                                     for k in sd))
    model.load_state_dict(sd)
    return model.eval()


def count_params(c):
    model = VQModel(c, feat_pred=True)
    sd = model.state_dict()
    keep = inference_keys(sd)
    total = sum(v.numel() for k, v in sd.items() if not k.endswith(".codebook_used"))
    return sum(sd[k].numel() for k in keep), total


# ---- fixtures ----------------------------------------------------------------------------------

def fixture_images(size):
    """Two preprocessed 8-bit images as ToTensor + Normalize(0.5, 0.5) produce them."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / (size - 1)
    a = np.stack([255 * xx, 255 * yy, 255 * (1 - xx) * (0.5 + 0.5 * np.sin(9 * yy))], -1)
    disk = (xx - 0.6) ** 2 + (yy - 0.4) ** 2 < 0.06
    a[disk] = [230, 40, 60]
    rng = np.random.default_rng(5)
    b = rng.integers(0, 256, size=(size // 8, size // 8, 3)).repeat(8, 0).repeat(8, 1)
    b = 0.6 * b + 0.4 * rng.integers(0, 256, size=(size, size, 3))
    u8 = np.stack([a, b]).clip(0, 255).astype(np.uint8)
    t = torch.from_numpy(u8).permute(0, 3, 1, 2).float().div(255)
    return ((t - 0.5) / 0.5).contiguous()


def formula_image(size, channels=3):
    """A smooth test image both languages compute: 0.75 sin(0.045 i + 0.03 (c + 1) j + c)
    cos(0.02 (i - j)) in double, rounded to float32 (tests/test_fqgan.c repeats it)."""
    i, j = np.mgrid[0:size, 0:size].astype(np.float64)
    planes = [0.75 * np.sin(0.045 * i + 0.03 * (c + 1) * j + c) * np.cos(0.02 * (i - j))
              for c in range(channels)]
    return torch.from_numpy(np.stack(planes)[None].astype(np.float32))


def to_uint8(x):
    return torch.clamp(127.5 * x + 128.0, 0, 255).permute(0, 2, 3, 1).to(torch.uint8)


def write_fixtures(out):
    os.makedirs(out, exist_ok=True)
    seed = 1
    inputs = fixture_images(SMALL["image_size"])
    np.save(os.path.join(out, "inputs.npy"), inputs.numpy())
    for name in ("small-dual16", "small-dual8", "small-triple16", "small-triple8"):
        c = make_config(name)
        model = VQModel(c)
        hash_weights(model, seed)
        model.eval()
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        with torch.no_grad():
            enc = model.encode(inputs)
            recon = model.decode_code([i for _, i, _ in enc])
        gaps = {}
        for b, (f, idx, gap) in zip(c["branches"], enc):
            np.save(os.path.join(d, f"features_{b}.npy"), f.numpy())
            np.save(os.path.join(d, f"indices_{b}.npy"), idx.numpy().astype(np.int64))
            gaps[b] = float(gap.min())
            if gaps[b] < 1e-5:
                raise SystemExit(f"fqgan_ref: {name} branch {b}: index tie within {gaps[b]:.2e}")
        np.save(os.path.join(d, "reconstruction.npy"), recon.numpy())
        np.save(os.path.join(d, "reconstruction_u8.npy"), to_uint8(recon).numpy())
        inf, total = count_params(c)
        meta = {"config": metadata_config(c), "seed": seed, "batch": int(inputs.shape[0]),
                "parameter_count": inf, "min_distance_gap": gaps,
                "recon_range": [float(recon.min()), float(recon.max())]}
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        print(f"{name}: {inf} inference parameters, min gaps {gaps}, "
              f"reconstruction in [{recon.min():.3f}, {recon.max():.3f}]")
    write_default_fixture(os.path.join(out, "dual16"))


def write_default_fixture(d, seed=3, crop=64):
    """The official Dual-16 size with hash weights: one formula image; features, indices, the
    per-position best/runner-up distance gaps, and the central crop x crop of the reconstruction
    (the whole image would be 768 KB)."""
    c = make_config("dual16")
    model = VQModel(c)
    hash_weights(model, seed)
    model.eval()
    x = formula_image(c["image_size"])
    with torch.no_grad():
        enc = model.encode(x)
        recon = model.decode_code([i for _, i, _ in enc])
    os.makedirs(d, exist_ok=True)
    gaps = {}
    for b, (f, idx, gap) in zip(c["branches"], enc):
        np.save(os.path.join(d, f"features_{b}.npy"), f.numpy())
        np.save(os.path.join(d, f"indices_{b}.npy"), idx.numpy().astype(np.int64))
        np.save(os.path.join(d, f"gaps_{b}.npy"), gap.numpy().reshape(idx.shape))
        gaps[b] = float(gap.min())
    lo = (c["image_size"] - crop) // 2
    np.save(os.path.join(d, "reconstruction_crop.npy"),
            recon[:, :, lo:lo + crop, lo:lo + crop].contiguous().numpy())
    inf, _ = count_params(c)
    meta = {"config": metadata_config(c), "seed": seed, "batch": 1, "parameter_count": inf,
            "min_distance_gap": gaps, "crop": [lo, crop],
            "input": "formula_image (fqgan_ref.py)"}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"dual16: {inf} inference parameters, min gaps {gaps}")


# ---- bench -------------------------------------------------------------------------------------

def bench(args):
    """Times encode (image -> indices) and decode (indices -> image): best and median of
    args.iters calls after one warm-up call (two with --compile). On CUDA, `precision` is fp32
    (TF32 off), tf32 (TF32 matmuls and convolutions) or bf16 (autocast)."""
    c = make_config(args.config)
    torch.set_num_threads(args.threads or os.cpu_count())
    device = torch.device(args.device)
    model = load_checkpoint(c, args.checkpoint).to(device)
    if args.device == "cuda":
        tf32 = args.precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
    s = c["image_size"]
    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (args.batch, 3, s, s))
                         .astype(np.float32)).to(device)
    encode = lambda t: [i for _, i, _ in model.encode(t)]  # noqa: E731
    decode = model.decode_code
    mode = "compile" if args.compile else "eager"
    label = {"implementation": "pytorch-" + mode, "config": args.config, "device": args.device,
             "precision": args.precision if args.device == "cuda" else "fp32"}
    if args.compile:
        if not hasattr(torch, "compile"):
            print(json.dumps({**label, "error": f"torch {torch.__version__} has no torch.compile"}))
            return
        encode, decode = torch.compile(encode), torch.compile(decode)

    def call(fn, arg):
        with torch.no_grad(), torch.autocast(args.device, dtype=torch.bfloat16,
                                             enabled=args.precision == "bf16"):
            out = fn(arg)
        if args.device == "cuda":
            torch.cuda.synchronize()
        return out

    try:
        indices = call(encode, x)
        call(decode, indices)
        if args.compile:
            indices = call(encode, x)
            call(decode, indices)
    except Exception as e:  # torch.compile is missing or broken on this build
        print(json.dumps({**label, "error": f"{type(e).__name__}: {str(e)[:200]}"}))
        return
    for what, fn, arg in (("encode", encode, x), ("decode", decode, indices)):
        times = []
        for _ in range(args.iters):
            t0 = time.perf_counter()
            call(fn, arg)
            times.append(time.perf_counter() - t0)
        best = min(times)
        print(json.dumps({**label, "op": what, "threads": torch.get_num_threads(),
                          "batch": args.batch, "seconds_best": round(best, 4),
                          "seconds_median": round(float(np.median(times)), 4),
                          "images_per_sec": round(args.batch / best, 3)}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    f = sub.add_parser("fixtures")
    f.add_argument("out")
    ck = sub.add_parser("checkpoint")
    ck.add_argument("--config", required=True)
    ck.add_argument("--seed", type=int, default=1)
    ck.add_argument("--keys", default="ema+model")
    ck.add_argument("out")
    pr = sub.add_parser("params")
    pr.add_argument("--config", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--checkpoint", required=True)
    b.add_argument("--config", required=True)
    b.add_argument("--batch", type=int, default=1)
    b.add_argument("--iters", type=int, default=3)
    b.add_argument("--threads", type=int, default=0)
    b.add_argument("--compile", action="store_true")
    b.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    b.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default="fp32")
    a = p.parse_args()
    torch.manual_seed(0)
    if a.mode == "fixtures":
        write_fixtures(a.out)
    elif a.mode == "checkpoint":
        write_checkpoint(make_config(a.config), a.seed, a.keys, a.out)
    elif a.mode == "params":
        inf, total = count_params(make_config(a.config))
        print(json.dumps({"config": a.config, "inference_parameters": inf,
                          "parameters_with_feature_heads": total}))
    else:
        bench(a)


if __name__ == "__main__":
    main()
