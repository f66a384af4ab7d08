"""Reference values for facet's LPIPS (lpips/lpips.h) from the real PyPI package `lpips` 0.1.4:
lpips.LPIPS(net='alex' | 'vgg', version='0.1', lpips=True, spatial=False) with the package's own
v0.1 heads and a reproducible random backbone in place of the ImageNet one (torchvision's
pretrained weights cannot be downloaded here, and 2.5M / 14.7M parameters are too large to commit).

Environment (torch and torchvision from Debian, the package from its wheel; it imports scipy and
tqdm at import time):
    /usr/bin/python3 -m venv --system-site-packages /tmp/lpips-ref
    /tmp/lpips-ref/bin/pip install --no-deps lpips==0.1.4
    /tmp/lpips-ref/bin/pip install tqdm 'scipy<1.12'
Usage (from the repository root):
    /tmp/lpips-ref/bin/python tools/reference/lpips_reference.py tests/fixtures/lpips \\
        --wheel models/lpips-0.1.4-py3-none-any.whl   (scripts/setup.sh keeps the wheel there)

The random backbone (hash rule; core/hash.h, hash_rule.py; lpips/lpips_weights.c writes the same
with facet_lpips_write_random): with r in [-1, 1) the hash of (seed, tensor name, element index),
    features.<i>.weight [out, in, kh, kw] = r * sqrt(6 / (in kh kw))   (Kaiming-uniform for ReLU)
    features.<i>.bias   [out]             = 0.1 r
for every convolution of torchvision's alexnet().features / vgg16().features up to the last tap,
seed 1 for alex, 2 for vgg16. The heads are the wheel's lpips/weights/v0.1/{alex,vgg}.pth.

What it does, per net:
 1. writes the backbone as a torchvision-style state_dict (features.* plus one classifier tensor,
    which the converter must ignore): alex in torch.save's legacy layout, vgg16 in the zip layout,
    so both of tools/torch_pth.py's readers run;
 2. runs tools/convert_lpips.py on it and the wheel, checks that the output holds exactly those
    tensors and the wheel's heads, and records each tensor's sha256 (test_lpips compares
    facet_lpips_write_random's tensors with them);
 3. builds lpips.LPIPS with torchvision's constructor patched to return the hash-weight network,
    and records LPIPS and the five per-tap values (retPerLayer) of each image pair under both
    conventions of lpips.h:
      nerfstudio: the [H, W, 3] image moved to [1, 3, H, W] (torch.moveaxis), normalize=True;
      risesdf:    the [H, W, 3] buffer .reshape(1, 3, H, W) (RISE-SDF's test_step), normalize=False;
 4. measures how much torchmetrics >= 1.3's feature normalisation (sqrt(sum f^2 + 1e-8) instead
    of sqrt(sum f^2) + 1e-10) would change each value (recorded, not used by the test).

Images: pairs of 8-bit PNGs written here from a seeded formula (smooth colour fields, edges and
noise; B is A shifted, blurred or re-noised), read back as float32 v / 255 exactly as facet reads
PNGs: "square" 64x64, "wide" 72x40 (non-square), "small" 31x31 (alex's smallest input).
Output: OUT/<pair>_a.png, OUT/<pair>_b.png, OUT/expected.json.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections import OrderedDict

import numpy as np
import torch
import torchvision
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
from hash_rule import signed_uniform  # noqa: E402
import safetensors_file  # noqa: E402

import lpips  # noqa: E402  (the PyPI package)
from lpips import pretrained_networks  # noqa: E402

NETS = {"alex": {"package": "alex", "seed": 1, "legacy": True, "ctor": "alexnet"},
        "vgg16": {"package": "vgg", "seed": 2, "legacy": False, "ctor": "vgg16"}}
PAIRS = {"square": (64, 64), "wide": (72, 40), "small": (31, 31)}  # width, height
CONVENTIONS = ("nerfstudio", "risesdf")


# ---- images ------------------------------------------------------------------------------------

def formula_pair(width, height, seed):
    """Two uint8 [H, W, 3] images: A a smooth field with edges and noise, B a perturbed A."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / width, y / height
    a = np.stack([0.5 + 0.4 * np.sin(6.0 * u + 2.0 * v),
                  0.5 + 0.4 * np.cos(5.0 * v - 3.0 * u * v),
                  0.3 + 0.6 * ((u - 0.5) ** 2 + (v - 0.4) ** 2 < 0.08)], axis=-1)
    a += 0.05 * rng.standard_normal(a.shape)
    b = np.roll(a, shift=(1, 2), axis=(0, 1)) * 0.9 + 0.05
    b[height // 3:height // 2, :, 1] += 0.3  # a band that differs
    b += 0.08 * rng.standard_normal(b.shape)
    to8 = lambda img: np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)  # noqa: E731
    return to8(a), to8(b)


def as_float(img8):
    """uint8 -> float32 v / 255 (one float32 division, as core/image.c)."""
    return img8.astype(np.float32) / np.float32(255.0)


# ---- weights -----------------------------------------------------------------------------------

def hash_backbone(model, seed):
    """The hash rule's state_dict for torchvision `model`'s convolutions (features.*)."""
    sd = OrderedDict()
    for name, module in model.features.named_children():
        if not isinstance(module, torch.nn.Conv2d):
            continue
        w = module.weight
        fan_in = int(np.prod(w.shape[1:]))
        bound = np.float32(np.sqrt(np.float32(6.0) / np.float32(fan_in)))
        key = f"features.{name}.weight"
        sd[key] = torch.from_numpy(
            (bound * signed_uniform(key, w.numel(), seed)).reshape(tuple(w.shape)))
        key = f"features.{name}.bias"
        sd[key] = torch.from_numpy(np.float32(0.1) * signed_uniform(key, w.shape[0], seed))
    return sd


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    header, base = safetensors_file.read_header(data)
    out = OrderedDict()
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        out[name] = (entry["dtype"], tuple(entry["shape"]), data[base + begin:base + end])
    return header.get("__metadata__", {}), out


def convert_and_check(net, backbone_sd, wheel, scratch):
    """Writes the backbone .pth, converts it with the wheel's heads, checks the output, returns
    {tensor name: sha256 of its bytes}."""
    cfg = NETS[net]
    pth = os.path.join(scratch, f"{net}_backbone.pth")
    saved = OrderedDict(backbone_sd)
    saved["classifier.6.bias"] = torch.from_numpy(signed_uniform("classifier.6.bias", 1000, 0))
    torch.save(saved, pth, _use_new_zipfile_serialization=not cfg["legacy"])
    out = os.path.join(scratch, f"{net}.safetensors")
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "convert_lpips.py"), pth, wheel,
                    out], check=True)
    metadata, tensors = read_safetensors(out)
    config = json.loads(metadata["config"])
    assert metadata["format"] == "facet-lpips" and metadata["version"] == "1", metadata
    assert config == {"net": net, "lpips_version": "0.1", "backbone": True}, config
    heads = torch.load(os.path.join(os.path.dirname(lpips.__file__), "weights", "v0.1",
                                    cfg["package"] + ".pth"), map_location="cpu")
    want = OrderedDict((k, v) for k, v in backbone_sd.items())
    for k in range(5):
        want[f"lin{k}.weight"] = heads[f"lin{k}.model.1.weight"]
    assert list(tensors) == list(want), (list(tensors), list(want))
    digests = OrderedDict()
    for name, t in want.items():
        dtype, shape, raw = tensors[name]
        assert dtype == "F32" and shape == tuple(t.shape), (name, dtype, shape)
        assert raw == t.contiguous().numpy().tobytes(), f"{name}: converted bytes differ"
        digests[name] = hashlib.sha256(raw).hexdigest()
    print(f"{net}: convert_lpips.py output checked ({len(digests)} tensors)")
    return digests


# ---- LPIPS -------------------------------------------------------------------------------------

def lpips_model(net, backbone_sd):
    cfg = NETS[net]
    tv_model = getattr(torchvision.models, cfg["ctor"])()
    missing = tv_model.load_state_dict(backbone_sd, strict=False)
    assert not missing.unexpected_keys and all(k.startswith("classifier")
                                               for k in missing.missing_keys), missing
    original = getattr(pretrained_networks.tv, cfg["ctor"])
    setattr(pretrained_networks.tv, cfg["ctor"], lambda pretrained=False, **kw: tv_model)
    try:
        model = lpips.LPIPS(net=cfg["package"], version="0.1", lpips=True, spatial=False,
                            pretrained=True, pnet_rand=True, verbose=False)
    finally:
        setattr(pretrained_networks.tv, cfg["ctor"], original)
    model.eval()
    return model


def inputs(img, convention):
    """The [1, 3, H, W] tensor a convention feeds, and the package's normalize flag."""
    h, w, _ = img.shape
    t = torch.from_numpy(np.ascontiguousarray(img))
    if convention == "nerfstudio":
        return torch.moveaxis(t, -1, 0)[None, ...], True
    return t.reshape(1, 3, h, w), False  # RISE-SDF: the HWC buffer read as CHW


def torchmetrics_normalize(in_feat, eps=1e-8):
    """torchmetrics >= 1.3's _normalize_tensor (for the recorded difference only)."""
    return in_feat / torch.sqrt(eps + torch.sum(in_feat ** 2, dim=1, keepdim=True))


def evaluate(model, a, b, convention):
    ta, normalize = inputs(a, convention)
    tb, _ = inputs(b, convention)
    with torch.no_grad():
        value, taps = model(ta, tb, retPerLayer=True, normalize=normalize)
    return float(value.flatten()[0]), [float(t.flatten()[0]) for t in taps]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="fixture folder (tests/fixtures/lpips)")
    p.add_argument("--wheel", required=True, help="lpips-0.1.4-py3-none-any.whl")
    args = p.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    images = OrderedDict()
    for i, (pair, (width, height)) in enumerate(PAIRS.items()):
        a8, b8 = formula_pair(width, height, seed=100 + i)
        for side, img in (("a", a8), ("b", b8)):
            Image.fromarray(img).save(os.path.join(args.out, f"{pair}_{side}.png"),
                                      optimize=True)
        images[pair] = (as_float(a8), as_float(b8))
    expected = OrderedDict(
        generator="tools/reference/lpips_reference.py", lpips_package=lpips.__version__
        if hasattr(lpips, "__version__") else "0.1.4", torch=torch.__version__,
        torchvision=torchvision.__version__,
        pairs=OrderedDict((k, {"a": f"{k}_a.png", "b": f"{k}_b.png", "width": w, "height": h})
                          for k, (w, h) in PAIRS.items()),
        nets=OrderedDict())
    largest_tm = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        for net, cfg in NETS.items():
            tv_model = getattr(torchvision.models, cfg["ctor"])()
            backbone = hash_backbone(tv_model, cfg["seed"])
            digests = convert_and_check(net, backbone, args.wheel, scratch)
            model = lpips_model(net, backbone)
            cases = []
            for pair, (a, b) in images.items():
                for convention in CONVENTIONS:
                    distance, taps = evaluate(model, a, b, convention)
                    original = lpips.normalize_tensor
                    lpips.normalize_tensor = torchmetrics_normalize
                    try:
                        tm_distance, _ = evaluate(model, a, b, convention)
                    finally:
                        lpips.normalize_tensor = original
                    largest_tm = max(largest_tm, abs(tm_distance - distance))
                    same, _ = evaluate(model, a, a, convention)
                    assert same == 0.0, (net, pair, convention, same)
                    cases.append(OrderedDict(pair=pair, convention=convention,
                                             distance=distance, taps=taps,
                                             torchmetrics_1_3_distance=tm_distance))
                    print(f"{net:5s} {pair:6s} {convention:10s} {distance:.9f} "
                          f"(torchmetrics>=1.3: {tm_distance - distance:+.2e})")
            expected["nets"][net] = OrderedDict(seed=cfg["seed"], tensor_sha256=digests,
                                                cases=cases)
    expected["torchmetrics_1_3_max_difference"] = largest_tm
    with open(os.path.join(args.out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}/expected.json")


if __name__ == "__main__":
    main()
