#!/usr/bin/env python3
"""Converts LPIPS weights (the PyPI package `lpips` 0.1.4, version 0.1 heads, on a torchvision
AlexNet or VGG16 backbone) into one facet LPIPS weights file (docs/formats.md, "LPIPS weights").

Usage:
    python3 tools/convert_lpips.py BACKBONE.pth HEADS OUT.safetensors [--net alex|vgg16]
    python3 tools/convert_lpips.py --heads-only HEADS OUT.safetensors --net alex|vgg16

BACKBONE.pth: a torchvision state_dict, alexnet-owt-7be5be79.pth or vgg16-397923af.pth (what
torchvision.models.alexnet(pretrained=True) / vgg16(pretrained=True) download), or any state_dict
with their `features.<i>.weight` / `features.<i>.bias` (`classifier.*` is ignored). The net is
read from its first convolution's shape unless --net is given.
HEADS: the lpips wheel (lpips-0.1.4-py3-none-any.whl: lpips/weights/v0.1/<alex|vgg>.pth inside),
or one of those .pth files: lin<k>.model.1.weight [1, C_k, 1, 1], k = 0..4 (lin<k>.model.0.weight,
as saved without dropout, is accepted too).
--heads-only writes the heads alone (config "backbone": false): what scripts/setup.sh keeps in
models/lpips_heads_<net>.safetensors for the tests, which add a random backbone
(facet_lpips_write_random). facet_lpips_load refuses such a file.

Standard library only (tools/torch_pth.py reads both torch.save layouts without torch), so setup
runs it without torch. Output tensors, F32, in layer order:
    features.<i>.weight [out, in, k, k], features.<i>.bias [out]   every convolution up to the
                                                                    last tap (alex: 0 3 6 8 10;
                                                                    vgg16: 0 2 5 7 10 12 14 17
                                                                    19 21 24 26 28)
    lin<k>.weight [1, C_k, 1, 1]                                    k = 0..4
__metadata__: format "facet-lpips", version "1", config {"net", "lpips_version": "0.1",
"backbone": bool}, source_backbone, source_heads (file name and sha256).
On a problem it prints `convert_lpips: <file>: <what is wrong>` and exits 1.
"""
import argparse
import hashlib
import json
import os
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_file  # noqa: E402
import torch_pth  # noqa: E402

FORMAT = "facet-lpips"
VERSION = "1"
LPIPS_VERSION = "0.1"

# The convolutions up to the last tap (lpips/lpips_weights.c has the same tables):
# features index -> (in, out, kernel)
NETS = {
    "alex": {0: (3, 64, 11), 3: (64, 192, 5), 6: (192, 384, 3), 8: (384, 256, 3),
             10: (256, 256, 3)},
    "vgg16": {0: (3, 64, 3), 2: (64, 64, 3), 5: (64, 128, 3), 7: (128, 128, 3),
              10: (128, 256, 3), 12: (256, 256, 3), 14: (256, 256, 3), 17: (256, 512, 3),
              19: (512, 512, 3), 21: (512, 512, 3), 24: (512, 512, 3), 26: (512, 512, 3),
              28: (512, 512, 3)},
}
TAP_CHANNELS = {"alex": [64, 192, 384, 256, 256], "vgg16": [64, 128, 256, 512, 512]}
WHEEL_HEADS = {"alex": "lpips/weights/v0.1/alex.pth", "vgg16": "lpips/weights/v0.1/vgg.pth"}


class ConvertError(Exception):
    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ConvertError(path, e.strerror or str(e)) from None


def source_of(path, data):
    return f"{os.path.basename(path)} sha256:{hashlib.sha256(data).hexdigest()}"


def state_dict(path, data):
    try:
        return torch_pth.load_state_dict_bytes(data)
    except torch_pth.PthError as e:
        raise ConvertError(path, str(e)) from None


def heads_bytes(path, data, net):
    """The heads .pth bytes of `net` from a wheel or a .pth file."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as z:
                if WHEEL_HEADS[net] in z.namelist():
                    return z.read(WHEEL_HEADS[net])
                if not any(n.endswith("data.pkl") for n in z.namelist()):
                    raise ConvertError(path, f"neither the lpips wheel ({WHEEL_HEADS[net]}) nor "
                                             "a torch.save archive")
        except zipfile.BadZipFile as e:
            raise ConvertError(path, f"a damaged zip archive ({e})") from None
    return data


def net_of_backbone(path, sd):
    w = sd.get("features.0.weight")
    if w is None:
        raise ConvertError(path, "no 'features.0.weight': not a torchvision AlexNet or VGG16 "
                                 "state_dict")
    for net, layers in NETS.items():
        cin, cout, k = layers[0]
        if w.shape == (cout, cin, k, k):
            return net
    raise ConvertError(path, f"'features.0.weight' is {list(w.shape)}: neither AlexNet "
                             "[64, 3, 11, 11] nor VGG16 [64, 3, 3, 3]")


def expect(path, sd, name, shape):
    t = sd.get(name)
    if t is None:
        raise ConvertError(path, f"missing tensor '{name}'")
    if t.shape != tuple(shape):
        raise ConvertError(path, f"tensor '{name}' is {list(t.shape)}, expected {list(shape)}")
    if t.dtype != "F32":
        raise ConvertError(path, f"tensor '{name}' is {t.dtype}, expected float32")
    return t


def backbone_tensors(path, sd, net):
    out = []
    for index, (cin, cout, k) in NETS[net].items():
        out.append((f"features.{index}.weight", expect(path, sd, f"features.{index}.weight",
                                                       (cout, cin, k, k))))
        out.append((f"features.{index}.bias", expect(path, sd, f"features.{index}.bias",
                                                     (cout,))))
    for name in sd:
        parts = name.split(".")
        if parts[0] == "classifier":
            continue
        if (len(parts) != 3 or parts[0] != "features" or not parts[1].isdigit()
                or parts[2] not in ("weight", "bias")):
            raise ConvertError(path, f"unexpected tensor '{name}' (not torchvision "
                                     f"{'alexnet' if net == 'alex' else 'vgg16'}'s)")
        if int(parts[1]) not in NETS[net]:
            raise ConvertError(path, f"unexpected tensor '{name}' for {net}")
    return out


def head_tensors(path, sd, net):
    out = []
    for k, channels in enumerate(TAP_CHANNELS[net]):
        names = [f"lin{k}.model.1.weight", f"lin{k}.model.0.weight"]
        name = next((n for n in names if n in sd), None)
        if name is None:
            raise ConvertError(path, f"missing tensor '{names[0]}' (LPIPS v0.1 heads of {net})")
        out.append((f"lin{k}.weight", expect(path, sd, name, (1, channels, 1, 1))))
    allowed = {f"lin{k}.model.{m}.weight" for k in range(5) for m in (0, 1)}
    extra = [n for n in sd if n not in allowed]
    if extra:
        raise ConvertError(path, f"unexpected tensor '{extra[0]}' (not an LPIPS head)")
    return out


def convert(backbone_path, heads_path, out_path, net=None):
    tensors, metadata_sources = [], {}
    if backbone_path:
        data = read_bytes(backbone_path)
        sd = state_dict(backbone_path, data)
        found = net_of_backbone(backbone_path, sd)
        if net and net != found:
            raise ConvertError(backbone_path, f"a {found} backbone, but --net {net} was given")
        net = found
        tensors += backbone_tensors(backbone_path, sd, net)
        metadata_sources["source_backbone"] = source_of(backbone_path, data)
    data = read_bytes(heads_path)
    heads = state_dict(heads_path, heads_bytes(heads_path, data, net))
    tensors += head_tensors(heads_path, heads, net)
    metadata_sources["source_heads"] = source_of(heads_path, data)
    config = {"net": net, "lpips_version": LPIPS_VERSION, "backbone": bool(backbone_path)}
    metadata = {"format": FORMAT, "version": VERSION,
                "config": json.dumps(config, separators=(",", ":"))}
    metadata.update(metadata_sources)
    safetensors_file.write(out_path, [(name, "F32", t.shape, t.data) for name, t in tensors],
                           metadata)
    return net


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="FILE",
                   help="BACKBONE.pth HEADS OUT.safetensors, or HEADS OUT.safetensors with "
                        "--heads-only")
    p.add_argument("--net", choices=["alex", "vgg16", "vgg"],
                   help="the backbone (default: from BACKBONE.pth; required with --heads-only)")
    p.add_argument("--heads-only", action="store_true",
                   help="write the v0.1 heads alone (for the tests' random backbones)")
    args = p.parse_args(argv)
    net = "vgg16" if args.net == "vgg" else args.net
    if args.heads_only:
        if len(args.inputs) != 2:
            p.error("--heads-only takes HEADS OUT.safetensors")
        if not net:
            p.error("--heads-only needs --net alex or --net vgg16")
        backbone, heads, out = None, args.inputs[0], args.inputs[1]
    else:
        if len(args.inputs) != 3:
            p.error("expected BACKBONE.pth HEADS OUT.safetensors")
        backbone, heads, out = args.inputs
    try:
        net = convert(backbone, heads, out, net)
    except (ConvertError, OSError) as e:
        print(f"convert_lpips: {e}", file=sys.stderr)
        return 1
    print(f"convert_lpips: wrote {out} (LPIPS {net}{'' if backbone else ', heads only'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
