#!/usr/bin/python3
"""Gradient fixture for facet's LiveScene fitting: PyTorch autograd of the per-ray training
losses at fixed sample positions, on the small reference model (tests/fixtures/livescene/
small.safetensors, facet layout), written independently of the C code from the official math:

- per point (Tavish9/livescene, nerfstudio KPlanesEncoding, tcnn FullyFusedMLP unpacked to
  weight + first-layer bias): probability field sigmoid(prod of tri-planes at raw positions) ->
  semantic net -> logits, kappa_sel = kappa[argmax softmax[:alpha]]; proposal density
  exp(net(prod 6 planes) - 1); main field exp(sigma_net(concat scales)[15] - 1) and colour
  sigmoid(color_net([SH4(d), geo]));
- RaySamples.get_weights; rgb = sum w c + (1 - sum w) (white);
- losses as facet fit combines them for a batch of R rays (livescene_model.py, nerfstudio
  losses.py): rgb mean over R x 3; interlevel per proposal level mean over R x n_final of
  clip(w - w_outer, 0)^2 / (w + 1e-7) with the final w detached; distortion mean over R;
  ray-mask focal cross-entropy 0.5 (1 - e^-ce)^1.5 ce of softmax(sum w.detach() logits) per level,
  mean over labelled rays.

Sample positions (spacing bins) are inputs, fixed: evaluation-mode sampling with the near plane
0.01, computed here without gradient. Writes tests/fixtures/livescene/grad_fixture.safetensors:
rays (ray.origins, ray.directions, ray.kappa, ray.target, ray.label I32), ray.level{L}.bins,
the loss and weights in __metadata__, and grad.<tensor> for every tensor of small.safetensors in
its file layout.

    /usr/bin/python3 tools/reference/livescene_grad_ref.py
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "livescene")
WEIGHTS = {"rgb": 1.0, "interlevel": 1.0, "distortion": 0.01, "ray_mask": 0.1}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    dtypes = {"F32": np.float32, "F16": np.float16, "I32": np.int32}
    for name, info in header.items():
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[8 + n + b:8 + n + e], dtype=dtypes[info["dtype"]])
        tensors[name] = arr.reshape(info["shape"]).astype(np.float32)
    return tensors, meta


def write_safetensors(path, tensors, meta):
    header, offset, blobs = {"__metadata__": meta}, 0, []
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32"}[arr.dtype]
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(tmp, path)


class Model:
    def __init__(self, tensors, cfg):
        self.p = {k: torch.tensor(v, requires_grad=True) for k, v in tensors.items()}
        self.cfg = cfg
        self.aabb = torch.tensor(cfg["aabb"], dtype=torch.float32)
        self.alpha = len(cfg["objects"])

    def planes(self, prefix, coords, dims):
        combos = [(a, b) for a in range(dims) for b in range(a + 1, dims)]
        out = 1.0
        for p, (a, b) in enumerate(combos):
            grid = self.p[f"{prefix}.plane.{p}"][None]
            pts = coords[:, [a, b]].view(1, 1, -1, 2)
            out = out * F.grid_sample(grid, pts, align_corners=True, padding_mode="border").view(grid.shape[1], -1).T
        return out

    def mlp(self, prefix, x, out_act=None):
        layer, h = 0, x
        while f"{prefix}.{layer}.weight" in self.p:
            h = h @ self.p[f"{prefix}.{layer}.weight"].T
            if layer == 0:
                h = h + self.p[f"{prefix}.0.bias"]
            layer += 1
            if f"{prefix}.{layer}.weight" in self.p:
                h = torch.relu(h)
        return torch.sigmoid(h) if out_act == "sigmoid" else h

    def coords4(self, pos, kappa_sel):
        n = (pos - self.aabb[0]) / (self.aabb[1] - self.aabb[0]) * 2 - 1
        return torch.cat([n, kappa_sel[:, None] * 2 - 1], -1)

    def probability(self, pos, kappa):
        feats = torch.sigmoid(self.planes("probability", pos, 3))
        logits = self.mlp("probability.semantic_net", torch.cat([feats, kappa], -1))
        obj = torch.max(torch.softmax(logits, -1)[:, :-1], -1).indices
        return logits, torch.gather(kappa, -1, obj[:, None])[:, 0].detach()

    def proposal(self, level, pos, kappa_sel):
        return torch.exp(self.mlp(f"proposal.{level}.density_net", self.planes(f"proposal.{level}", self.coords4(pos, kappa_sel), 4))[:, 0] - 1)

    def field(self, pos, dirs, kappa_sel):
        c = self.coords4(pos, kappa_sel)
        feats = torch.cat([self.planes(f"field.grids.{s}", c, 4) for s in range(len(self.cfg["multiscale_res"]))], -1)
        h = self.mlp("field.sigma_net", feats)
        x, y, z = dirs[:, 0], dirs[:, 1], dirs[:, 2]
        xy, xz, yz, x2, y2, z2 = x * y, x * z, y * z, x * x, y * y, z * z
        sh = torch.stack([torch.full_like(x, 0.28209479177387814), -0.48860251190291987 * y, 0.48860251190291987 * z,
                          -0.48860251190291987 * x, 1.0925484305920792 * xy, -1.0925484305920792 * yz,
                          0.94617469575755997 * z2 - 0.31539156525251999, -1.0925484305920792 * xz,
                          0.54627421529603959 * x2 - 0.54627421529603959 * y2, 0.59004358992664352 * y * (-3.0 * x2 + y2),
                          2.8906114426405538 * xy * z, 0.45704579946446572 * y * (1.0 - 5.0 * z2),
                          0.3731763325901154 * z * (5.0 * z2 - 3.0), 0.45704579946446572 * x * (1.0 - 5.0 * z2),
                          1.4453057213202769 * z * (x2 - y2), 0.59004358992664352 * x * (-x2 + 3.0 * y2)], -1)
        rgb = self.mlp("field.color_net", torch.cat([sh, h[:, :15]], -1), "sigmoid")
        return torch.exp(h[:, 15] - 1), rgb


def collide(o, d, aabb, near_plane):
    inv = 1.0 / (d + 1e-6)
    t1, t2 = (aabb[0] - o) * inv, (aabb[1] - o) * inv
    near = torch.clamp(torch.max(torch.minimum(t1, t2), -1).values, min=near_plane)
    far = torch.maximum(torch.min(torch.maximum(t1, t2), -1).values, near + 1e-6)
    return near, far


def weights_of(sigma, delta):
    dd = sigma * delta
    trans = torch.cat([torch.zeros_like(dd[:, :1]), torch.cumsum(dd[:, :-1], -1)], -1)
    return torch.nan_to_num((1 - torch.exp(-dd)) * torch.exp(-trans))


def pdf(bins, w, m):
    w = w + 0.01
    s = w.sum(-1, keepdim=True)
    pad = torch.relu(1e-5 - s)
    w = w + pad / w.shape[-1]
    cdf = torch.cat([torch.zeros_like(w[:, :1]), torch.clamp(torch.cumsum(w / (s + pad), -1), max=1)], -1)
    nb = m + 1
    u = (torch.linspace(0, 1 - 1 / nb, nb) + 1 / (2 * nb)).expand(w.shape[0], nb).contiguous()
    idx = torch.searchsorted(cdf, u, side="right")
    lo, hi = torch.clamp(idx - 1, 0, bins.shape[-1] - 1), torch.clamp(idx, 0, bins.shape[-1] - 1)
    c0, c1 = torch.gather(cdf, -1, lo), torch.gather(cdf, -1, hi)
    t = torch.clip(torch.nan_to_num((u - c0) / (c1 - c0), 0), 0, 1)
    return torch.gather(bins, -1, lo) + t * (torch.gather(bins, -1, hi) - torch.gather(bins, -1, lo))


def outer(c, cp, wp):
    cy = torch.cat([torch.zeros_like(wp[:, :1]), torch.cumsum(wp, -1)], -1)
    lo = torch.clamp(torch.searchsorted(cp[:, :-1].contiguous(), c[:, :-1].contiguous(), side="right") - 1, 0, wp.shape[-1] - 1)
    hi = torch.clamp(torch.searchsorted(cp[:, 1:].contiguous(), c[:, 1:].contiguous(), side="right"), 0, wp.shape[-1] - 1)
    return torch.take_along_dim(cy[:, 1:], hi, -1) - torch.take_along_dim(cy[:, :-1], lo, -1)


def main():
    torch.manual_seed(0)
    tensors, meta = read_safetensors(os.path.join(FIXTURES, "small.safetensors"))
    cfg = json.loads(meta["config"])
    model = Model(tensors, cfg)
    gen = torch.Generator().manual_seed(3)
    R = 8
    eye = torch.tensor([2.6, -1.9, 1.1])
    target = (torch.rand(R, 3, generator=gen) - 0.5) * torch.tensor([1.6, 1.2, 1.0])
    d = target - eye
    d = d / d.norm(dim=-1, keepdim=True)
    o = eye.expand(R, 3).clone()
    kappa = torch.rand(R, model.alpha, generator=gen)
    rgb_target = torch.rand(R, 3, generator=gen)
    label = torch.randint(0, model.alpha + 1, (R,), generator=gen).to(torch.int32)
    label[1] = -1  # one ray without a mask
    counts = list(cfg["num_proposal_samples"]) + [cfg["num_samples"]]
    near, far = collide(o, d, model.aabb, 0.01)
    levels = len(counts) - 1
    bins_list, w_list, logits_list = [], [], []
    bins = torch.linspace(0, 1, counts[0] + 1).expand(R, -1).contiguous()
    for level, n in enumerate(counts):
        if level > 0:
            bins = pdf(bins, w_list[-1].detach(), n).detach()
        t = bins * far[:, None] + (1 - bins) * near[:, None]
        mids = (t[:, 1:] + t[:, :-1]) / 2
        pos = (o[:, None] + d[:, None] * mids[..., None]).reshape(-1, 3)
        k = kappa[:, None].expand(R, n, model.alpha).reshape(-1, model.alpha)
        logits, ksel = model.probability(pos, k)
        if level < levels:
            sigma = model.proposal(level, pos, ksel).view(R, n)
        else:
            dirs = d[:, None].expand(R, n, 3).reshape(-1, 3)
            sigma, rgb = model.field(pos, dirs, ksel)
            sigma, rgb = sigma.view(R, n), rgb.view(R, n, 3)
        w = weights_of(sigma, t[:, 1:] - t[:, :-1])
        bins_list.append(bins)
        w_list.append(w)
        logits_list.append(logits.view(R, n, -1))
    acc = w.sum(-1)
    comp = (w[..., None] * rgb).sum(-2) + (1 - acc)[:, None]
    loss = WEIGHTS["rgb"] * ((comp - rgb_target) ** 2).mean()
    c, wf = bins_list[-1], w_list[-1].detach()
    for level in range(levels):
        wo = outer(c, bins_list[level], w_list[level])
        loss = loss + WEIGHTS["interlevel"] * (torch.clip(wf - wo, min=0) ** 2 / (wf + 1e-7)).mean()
    ut = (c[:, 1:] + c[:, :-1]) / 2
    dut = torch.abs(ut[:, :, None] - ut[:, None, :])
    dist = (w * (w[:, None, :] * dut).sum(-1)).sum(-1) + (w ** 2 * (c[:, 1:] - c[:, :-1])).sum(-1) / 3
    loss = loss + WEIGHTS["distortion"] * dist.mean()
    valid = label >= 0
    for level in range(levels + 1):
        rendered = (w_list[level].detach()[..., None] * logits_list[level]).sum(-2)
        ce = F.cross_entropy(rendered[valid], label[valid].long(), reduction="none")
        focal = 0.5 * (1 - torch.exp(-ce)) ** 1.5 * ce
        loss = loss + WEIGHTS["ray_mask"] * focal.mean()
    loss.backward()
    out = {"ray.origins": o.numpy(), "ray.directions": d.numpy(), "ray.kappa": kappa.numpy(),
           "ray.target": rgb_target.numpy(), "ray.label": label.numpy()}
    for level, b in enumerate(bins_list):
        out[f"ray.level{level}.bins"] = b.numpy().astype(np.float32)
    for name, p in model.p.items():
        out[f"grad.{name}"] = (p.grad if p.grad is not None else torch.zeros_like(p)).numpy().astype(np.float32)
    meta_out = {"format": "facet-livescene-grad-fixture", "loss": repr(float(loss)),
                "weights": json.dumps(WEIGHTS), "near_plane": "0.01"}
    write_safetensors(os.path.join(FIXTURES, "grad_fixture.safetensors"), out, meta_out)
    print(f"loss {float(loss):.6f}; wrote grad_fixture.safetensors")


if __name__ == "__main__":
    main()
