#!/usr/bin/env python3
"""Convert an official RISE-SDF Lightning checkpoint (dehezhang2/RISE-SDF, `*.ckpt`) into facet's
RISE-SDF weights (safetensors, format 'facet-risesdf', fields/risesdf_format.md).

    python3 tools/convert_risesdf.py CKPT OUT.safetensors [--config CONFIG.yaml]
        [--n-levels 16] [--n-features-per-level 2] [--log2-hashmap-size 19]
        [--base-resolution 32] [--per-level-scale 1.447269237440378] [--radius 1.5]
        [--n-frequencies 6]

The hash-grid and scene settings come from the official config YAML when given
(model.radius, model.geometry.xyz_encoding_config, model.geometry.feature_dim,
model.texture.xyz_encoding_config.n_frequencies), else from the options (official defaults).
Read from `state_dict` (keys prefixed `model.`):
  geometry.encoding.encoding.encoding.params        tcnn HashGrid params (f16 or f32, kept)
  geometry.network.layers.{0,2,4}.weight_g/weight_v/bias   (or parametrizations.weight.original0/1)
  texture.{albedo,roughness,metallic}_network.layers.{2i}.weight/bias
  variance.variance
Other keys (emitter, env/secondary networks, buffers) are not needed for relighting and are
skipped; unknown keys under the converted modules are errors. Errors name the key and exit 1.
"""
import argparse
import json
import math
import os
import re
import sys

DEFAULTS = dict(radius=1.5, n_levels=16, n_features_per_level=2, log2_hashmap_size=19,
                base_resolution=32, per_level_scale=1.447269237440378, feature_dim=48,
                n_frequencies=6)
HEADS = {"albedo": 6, "roughness": 1, "metallic": 2}


class ConvertError(Exception):
    pass


def grid_param_count(cfg):
    """tcnn GridEncoding parameter count (levels of min(next_multiple(res^3, 8), 2^log2T) rows)."""
    total = 0
    log2s = math.log2(cfg["per_level_scale"])
    for level in range(cfg["n_levels"]):
        scale = 2.0 ** (level * log2s) * cfg["base_resolution"] - 1.0
        res = int(math.ceil(scale)) + 1
        total += min((res ** 3 + 7) // 8 * 8, 1 << cfg["log2_hashmap_size"])
    return total * cfg["n_features_per_level"]


def read_yaml_config(path, cfg):
    import yaml
    with open(path) as f:
        doc = yaml.safe_load(f)
    try:
        model = doc["model"]
        enc = model["geometry"]["xyz_encoding_config"]
    except (KeyError, TypeError) as e:
        raise ConvertError(f"{path}: missing key {e} (expected model.geometry.xyz_encoding_config)")
    for key in ("n_levels", "n_features_per_level", "log2_hashmap_size", "base_resolution",
                "per_level_scale"):
        if key in enc:
            cfg[key] = enc[key]
    if isinstance(model.get("radius"), (int, float)):
        cfg["radius"] = float(model["radius"])
    if isinstance(model["geometry"].get("feature_dim"), int):
        cfg["feature_dim"] = model["geometry"]["feature_dim"]
    tex = model.get("texture", {}).get("xyz_encoding_config", {})
    if isinstance(tex.get("n_frequencies"), int):
        cfg["n_frequencies"] = tex["n_frequencies"]


def load_state_dict(path):
    import torch
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # Lightning checkpoints may pickle hyper-parameters objects
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ConvertError(f"{path}: not a Lightning checkpoint (no 'state_dict')")
    sd = {}
    for key, value in ckpt["state_dict"].items():
        if not key.startswith("model."):
            raise ConvertError(f"{path}: unexpected key '{key}' (official keys start with 'model.')")
        sd[key[len("model."):]] = value
    return sd


def convert(sd, cfg):
    """-> ({facet name: tensor}, ignored keys)."""
    import torch
    used, out = set(), {}

    def take(key, shape=None):
        if key not in sd:
            raise ConvertError(f"missing key 'model.{key}'")
        t = sd[key]
        if not torch.is_tensor(t) or not t.is_floating_point():
            raise ConvertError(f"key 'model.{key}': expected a float tensor")
        if shape is not None and tuple(t.shape) != tuple(shape):
            raise ConvertError(f"key 'model.{key}': expected shape {list(shape)}, "
                               f"got {list(t.shape)}")
        used.add(key)
        return t

    n_params = grid_param_count(cfg)
    params = take("geometry.encoding.encoding.encoding.params", (n_params,))
    out["geometry.encoding.params"] = params.half() if params.dtype == torch.float16 else params.float()

    width = 3 + cfg["n_levels"] * cfg["n_features_per_level"]
    layer = 0
    while True:
        base = f"geometry.network.layers.{2 * layer}"
        if f"{base}.weight_v" in sd:
            gk, vk = f"{base}.weight_g", f"{base}.weight_v"
        elif f"{base}.parametrizations.weight.original1" in sd:
            gk = f"{base}.parametrizations.weight.original0"
            vk = f"{base}.parametrizations.weight.original1"
        elif layer == 0 or f"{base}.weight" in sd:
            raise ConvertError(f"missing key 'model.{base}.weight_v' (the geometry network is "
                               "weight-normed)")
        else:
            break
        v = take(vk)
        if v.dim() != 2 or v.shape[1] != width:
            raise ConvertError(f"key 'model.{vk}': expected shape [out, {width}], "
                               f"got {list(v.shape)}")
        g = take(gk, (v.shape[0], 1))
        b = take(f"{base}.bias", (v.shape[0],))
        out[f"geometry.network.{layer}.weight_v"] = v.float()
        out[f"geometry.network.{layer}.weight_g"] = g.float().reshape(-1)
        out[f"geometry.network.{layer}.bias"] = b.float()
        width = v.shape[0]
        layer += 1
    if width != cfg["feature_dim"]:
        raise ConvertError(f"geometry network has {width} outputs, feature_dim is "
                           f"{cfg['feature_dim']}")

    for head, outputs in HEADS.items():
        width = cfg["feature_dim"] + 6 * cfg["n_frequencies"]
        layer = 0
        while f"texture.{head}_network.layers.{2 * layer}.weight" in sd or layer == 0:
            base = f"texture.{head}_network.layers.{2 * layer}"
            w = take(f"{base}.weight")
            if w.dim() != 2 or w.shape[1] != width:
                raise ConvertError(f"key 'model.{base}.weight': expected shape [out, {width}], "
                                   f"got {list(w.shape)}")
            b = take(f"{base}.bias", (w.shape[0],))
            out[f"texture.{head}.{layer}.weight"] = w.float()
            out[f"texture.{head}.{layer}.bias"] = b.float()
            width = w.shape[0]
            layer += 1
        if width != outputs:
            raise ConvertError(f"texture.{head}_network has {width} outputs, expected {outputs}")

    variance = take("variance.variance")
    if variance.numel() != 1:
        raise ConvertError(f"key 'model.variance.variance': expected a scalar, got shape "
                           f"{list(variance.shape)}")
    out["variance"] = variance.float().reshape(1)

    converted = re.compile(r"^(geometry\.|texture\.(albedo|roughness|metallic)_network\.|variance\.)")
    for key in sd:
        if key not in used and converted.match(key):
            raise ConvertError(f"unexpected key 'model.{key}'")
    return out, sorted(k for k in sd if k not in used)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("out")
    p.add_argument("--config", help="official config YAML (hash grid and scene settings)")
    for key, value in DEFAULTS.items():
        p.add_argument("--" + key.replace("_", "-"), type=type(value), default=value)
    args = p.parse_args(argv)
    cfg = {key: getattr(args, key) for key in DEFAULTS}
    try:
        if args.config:
            read_yaml_config(args.config, cfg)
        cfg["finite_difference_eps"] = (2 * cfg["radius"] / (cfg["base_resolution"] *
                                        cfg["per_level_scale"] ** (cfg["n_levels"] - 1)))
        sd = load_state_dict(args.checkpoint)
        tensors, ignored = convert(sd, cfg)
    except (ConvertError, OSError) as e:
        print(f"convert_risesdf: {args.checkpoint}: {e}", file=sys.stderr)
        return 1
    meta = {"format": "facet-risesdf", "version": "1", "config": json.dumps(cfg),
            "source": f"{args.checkpoint} (tools/convert_risesdf.py)"}
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from convert_livescene import write_safetensors
    write_safetensors(args.out, {k: v.contiguous().numpy() for k, v in tensors.items()}, meta)
    print(f"wrote {args.out}: {len(tensors)} tensors, skipped {len(ignored)} keys not used for "
          "relighting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
