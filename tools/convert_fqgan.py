#!/usr/bin/python3
"""Converts an official FQGAN checkpoint (showlab/FQGAN tokenizer/vq_train_dual.py or
vq_train_triple.py, `torch.save` .pt) into facet FQGAN weights (safetensors,
tokenizer/fqgan_format.md).

Usage:
    python3 tools/convert_fqgan.py MODEL.pt OUT.safetensors [--adapter-heads 8]

Needs torch (to unpickle the checkpoint) and numpy; writes the safetensors file by hand when the
`safetensors` package is missing. On any problem it prints `convert_fqgan: <file>: <what is
wrong>` on stderr and exits 1, naming the first missing, unexpected or misshaped key.

Input
-----
A training checkpoint is a dict {model, optimizer, discriminator, optimizer_disc, steps, args
(argparse.Namespace)} plus `ema` when trained with --ema. As the official reconstruction scripts
do, the weights come from `ema` when present, else `model`, else `state_dict`; a bare state dict
is accepted too. `module.` (DistributedDataParallel) and `_orig_mod.` (torch.compile) prefixes are
stripped. Dropped: the training-only feature-prediction heads (`feat_pred_head.*` of Dual,
`mid_sem_feat_pred.*` and `high_sem_feat_pred.*` of Triple) and the `*.codebook_used` usage
buffers. Every other key must be one the official module tree has, with its shape.

What is read from shapes
------------------------
variant (quantize_sem: dual; quantize_sem_mid + quantize_sem_high: triple), ch (conv_in), ch_mult
(each level's first ResnetBlock), levels -> downsample = 2^(levels - 1), residual blocks per level
(encoder, decoder), z_channels, adapter width, layers and grid (positional embedding [grid^2,
width]) -> image_size = grid * downsample, codebook size and dimension. The adapters' head count
is not in the weights: the official FactorizedAdapter hard-codes 8 (--adapter-heads overrides).
When the checkpoint's `args` holds vq_model / codebook_size / codebook_embed_dim / image_size, they
must agree with the shapes.
"""
import argparse
import json
import math
import os
import pickle
import re
import struct
import sys
import tempfile

import numpy as np

PROG = "convert_fqgan"
FORMAT, VERSION = "facet-fqgan", 1
BRANCHES = {"dual": ["vis", "sem"], "triple": ["vis", "sem_mid", "sem_high"]}
HEAD_NAME = {"vis": "visual_head", "sem": "semantic_head", "sem_mid": "semantic_head_mid",
             "sem_high": "semantic_head_high"}
TRAINING_ONLY = ("feat_pred_head.", "mid_sem_feat_pred.", "high_sem_feat_pred.")
OFFICIAL_HEADS = 8


class ConvertError(Exception):
    """A problem with one input file; str() is the message without the program name."""

    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")


# ---- safetensors -------------------------------------------------------------------------------

def _write_by_hand(f, tensors, metadata):
    """u64 little-endian header length N, N bytes of JSON (padded with spaces so the data starts
    8-byte aligned), then the F32 tensors back to back in the order given, C order."""
    header = {"__metadata__": dict(metadata)}
    offset = 0
    for name, array in tensors.items():
        n = array.size * 4
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for array in tensors.values():
        f.write(np.ascontiguousarray(array, dtype="<f4").tobytes())


def write_safetensors(path, tensors, metadata):
    """Writes {name: float32 np.ndarray} and {str: str} metadata atomically (temporary file in the
    same directory, then rename)."""
    try:
        from safetensors.numpy import save as st_save
    except ImportError:
        st_save = None
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        with os.fdopen(fd, "wb") as f:
            if st_save is not None:
                f.write(st_save({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                                metadata=dict(metadata)))
            else:
                _write_by_hand(f, tensors, metadata)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---- checkpoint reading ------------------------------------------------------------------------

def load_checkpoint(path):
    """torch.load on the CPU; weights-only unpickling when this torch supports it (training
    checkpoints hold an argparse.Namespace, which needs the full unpickler)."""
    import torch

    if not os.path.isfile(path):
        raise ConvertError(path, "no such file")
    try:
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except TypeError:  # torch without the weights_only argument
            ckpt = torch.load(path, map_location="cpu")
        except pickle.UnpicklingError:  # objects outside the weights-only allow-list
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many types for a corrupt file
        raise ConvertError(path, f"cannot be read as a torch checkpoint ({type(e).__name__}: {e})")
    if not isinstance(ckpt, dict):
        raise ConvertError(path, f"expected a dict, got {type(ckpt).__name__}")
    for key in ("ema", "model", "state_dict"):
        if key in ckpt:
            if not isinstance(ckpt[key], dict):
                raise ConvertError(path, f"'{key}' is not a state dict")
            return ckpt, ckpt[key], key
    if "encoder.conv_in.weight" in ckpt:
        return {}, ckpt, "(bare state dict)"
    raise ConvertError(path, "no 'ema', 'model' or 'state_dict' weights (keys: "
                             + ", ".join(sorted(map(str, ckpt))[:8]) + ")")


def _strip(key):
    for prefix in ("module.", "_orig_mod."):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key


def _shape(shape):
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


# ---- the official module tree ------------------------------------------------------------------

def expected_tensors(c):
    """{name: shape} of every inference tensor of the official model for config c."""
    out = {}

    def conv(prefix, cin, cout, k):
        out[prefix + ".weight"] = (cout, cin, k, k)
        out[prefix + ".bias"] = (cout,)

    def norm(prefix, ch):
        out[prefix + ".weight"] = (ch,)
        out[prefix + ".bias"] = (ch,)

    def res(prefix, cin, cout):
        norm(prefix + ".norm1", cin)
        conv(prefix + ".conv1", cin, cout, 3)
        norm(prefix + ".norm2", cout)
        conv(prefix + ".conv2", cout, cout, 3)
        if cin != cout:
            conv(prefix + ".nin_shortcut", cin, cout, 1)

    def attn(prefix, ch):
        norm(prefix + ".norm", ch)
        for m in ("q", "k", "v", "proj_out"):
            conv(f"{prefix}.{m}", ch, ch, 1)

    ch, mult, levels = c["ch"], c["ch_mult"], len(c["ch_mult"])
    top, d, z = ch * mult[-1], c["adapter_width"], c["z_channels"]
    conv("encoder.conv_in", 3, ch, 3)
    block_in = ch
    for i in range(levels):
        for r in range(c["enc_res_blocks"]):
            res(f"encoder.conv_blocks.{i}.res.{r}", block_in, ch * mult[i])
            block_in = ch * mult[i]
            if i == levels - 1:
                attn(f"encoder.conv_blocks.{i}.attn.{r}", block_in)
        if i != levels - 1:
            conv(f"encoder.conv_blocks.{i}.downsample.conv", block_in, block_in, 3)
    res("encoder.mid.0", top, top)
    attn("encoder.mid.1", top)
    res("encoder.mid.2", top, top)
    for b in BRANCHES[c["variant"]]:
        p = f"encoder.{HEAD_NAME[b]}.0"
        out[p + ".positional_embedding"] = (c["grid"] ** 2, d)
        norm(p + ".ln_pre", d)
        for layer in range(c["adapter_layers"]):
            t = f"{p}.transformer.{layer}"
            norm(t + ".ln_1", d)
            out[t + ".attn.in_proj_weight"] = (3 * d, d)
            out[t + ".attn.in_proj_bias"] = (3 * d,)
            out[t + ".attn.out_proj.weight"] = (d, d)
            out[t + ".attn.out_proj.bias"] = (d,)
            norm(t + ".ln_2", d)
            out[t + ".mlp.c_fc.weight"] = (4 * d, d)
            out[t + ".mlp.c_fc.bias"] = (4 * d,)
            out[t + ".mlp.c_proj.weight"] = (d, 4 * d)
            out[t + ".mlp.c_proj.bias"] = (d,)
        norm(p + ".ln_post", d)
        norm(f"encoder.norm_out_{b}", top)
        conv(f"encoder.conv_out_{b}", top, z, 3)
        conv(f"quant_conv_{b}", z, c["codebook_dim"], 1)
        out[f"quantize_{b}.embedding.weight"] = (c["codebook_size"], c["codebook_dim"])
    conv("post_quant_conv", c["codebook_dim"] * len(BRANCHES[c["variant"]]), z, 1)
    conv("decoder.conv_in", z, top, 3)
    res("decoder.mid.0", top, top)
    attn("decoder.mid.1", top)
    res("decoder.mid.2", top, top)
    block_in = top
    for j in range(levels):
        i = levels - 1 - j
        for r in range(c["dec_res_blocks"]):
            res(f"decoder.conv_blocks.{j}.res.{r}", block_in, ch * mult[i])
            block_in = ch * mult[i]
            if i == levels - 1:
                attn(f"decoder.conv_blocks.{j}.attn.{r}", block_in)
        if i != 0:
            conv(f"decoder.conv_blocks.{j}.upsample.conv", block_in, block_in, 3)
    norm("decoder.norm_out", block_in)
    conv("decoder.conv_out", block_in, 3, 3)
    return out


def _count(keys, pattern):
    found = {int(m.group(1)) for k in keys for m in [re.match(pattern, k)] if m}
    if found and found != set(range(len(found))):
        return -1
    return len(found)


def infer_config(path, sd, heads):
    """The `config` metadata of tokenizer/fqgan_format.md, from the tensor shapes."""
    def need(key):
        if key not in sd:
            raise ConvertError(path, f"missing key '{key}'")
        return tuple(sd[key].shape)

    has_sem = "quantize_sem.embedding.weight" in sd
    has_triple = "quantize_sem_mid.embedding.weight" in sd or \
        "quantize_sem_high.embedding.weight" in sd
    if has_sem == has_triple:
        raise ConvertError(path, "cannot tell Dual from Triple: expected either "
                                 "'quantize_sem.embedding.weight' (Dual) or "
                                 "'quantize_sem_mid.embedding.weight' (Triple)")
    variant = "dual" if has_sem else "triple"
    conv_in = need("encoder.conv_in.weight")
    if len(conv_in) != 4 or conv_in[1] != 3:
        raise ConvertError(path, f"'encoder.conv_in.weight' has shape {_shape(conv_in)}, "
                                 "expected [ch, 3, 3, 3]")
    ch = conv_in[0]
    keys = list(sd)
    levels = _count(keys, r"encoder\.conv_blocks\.(\d+)\.")
    enc_res = _count(keys, r"encoder\.conv_blocks\.0\.res\.(\d+)\.")
    dec_res = _count(keys, r"decoder\.conv_blocks\.0\.res\.(\d+)\.")
    if levels < 1 or enc_res < 1 or dec_res < 2:
        raise ConvertError(path, "encoder/decoder conv_blocks are missing or not numbered 0..n-1")
    mult = []
    for i in range(levels):
        out = need(f"encoder.conv_blocks.{i}.res.0.conv1.weight")[0]
        if out % ch:
            raise ConvertError(path, f"level {i} has {out} channels, not a multiple of ch {ch}")
        mult.append(out // ch)
    z = need("decoder.conv_in.weight")[1]
    pos = need("encoder.visual_head.0.positional_embedding")
    grid = math.isqrt(pos[0])
    if grid * grid != pos[0]:
        raise ConvertError(path, f"positional embedding of {pos[0]} positions is not a square grid")
    codebook = need("quantize_vis.embedding.weight")
    downsample = 2 ** (levels - 1)
    c = {"variant": variant, "branches": BRANCHES[variant], "image_size": grid * downsample,
         "downsample": downsample, "grid": grid, "ch": ch, "ch_mult": mult, "z_channels": z,
         "enc_res_blocks": enc_res, "dec_res_blocks": dec_res, "adapter_width": pos[1],
         "adapter_layers": _count(keys, r"encoder\.visual_head\.0\.transformer\.(\d+)\."),
         "adapter_heads": heads, "codebook_size": codebook[0], "codebook_dim": codebook[1]}
    if c["adapter_width"] % heads:
        raise ConvertError(path, f"adapter width {c['adapter_width']} is not divisible by "
                                 f"{heads} heads")
    return c


def check_args(path, args, c):
    """The training arguments saved in the checkpoint must describe the same model."""
    if args is None:
        return
    expect = {"vq_model": f"VQ-{c['downsample']}", "codebook_size": c["codebook_size"],
              "codebook_embed_dim": c["codebook_dim"], "image_size": c["image_size"]}
    for key, value in expect.items():
        got = getattr(args, key, None)
        if got is not None and got != value:
            raise ConvertError(path, f"args.{key} is {got!r} but the weights' shapes give "
                                     f"{value!r}")


def convert(ckpt_path, out_path, heads=OFFICIAL_HEADS):
    import torch

    ckpt, weights, source_key = load_checkpoint(ckpt_path)
    sd = {}
    for key, value in weights.items():
        key = _strip(str(key))
        if key.startswith(TRAINING_ONLY) or key.endswith(".codebook_used"):
            continue
        if not isinstance(value, torch.Tensor):
            raise ConvertError(ckpt_path, f"key '{key}' is not a tensor")
        sd[key] = value
    c = infer_config(ckpt_path, sd, heads)
    check_args(ckpt_path, ckpt.get("args"), c)
    expected = expected_tensors(c)
    for key, shape in expected.items():
        if key not in sd:
            raise ConvertError(ckpt_path, f"missing key '{key}' (expected shape {_shape(shape)})")
        if tuple(sd[key].shape) != shape:
            raise ConvertError(ckpt_path, f"key '{key}' has shape {_shape(sd[key].shape)}, "
                                          f"expected {_shape(shape)}")
    for key in sd:
        if key not in expected:
            raise ConvertError(ckpt_path, f"unexpected key '{key}' (not part of the "
                                          f"{c['variant']}-{c['downsample']} model)")
    tensors = {}
    for key in expected:
        t = sd[key].detach().to(torch.float32).contiguous()
        if not torch.isfinite(t).all():
            raise ConvertError(ckpt_path, f"key '{key}' holds NaN or infinite values")
        tensors[key] = t.numpy()
    steps = ckpt.get("steps")
    metadata = {
        "format": FORMAT,
        "version": str(VERSION),
        "variant": c["variant"],
        "config": json.dumps(c),
        "source": f"tools/convert_fqgan.py from {os.path.basename(ckpt_path)} ('{source_key}'"
                  + (f", step {steps}" if steps is not None else "") + ")",
    }
    try:
        write_safetensors(out_path, tensors, metadata)
    except OSError as e:
        raise ConvertError(out_path, f"cannot be written ({e.strerror})")
    return c


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="convert_fqgan.py",
        description="Convert an official FQGAN checkpoint into facet safetensors "
                    "(tokenizer/fqgan_format.md).")
    parser.add_argument("checkpoint", help="official .pt (training checkpoint or state dict)")
    parser.add_argument("output", help="output .safetensors (written atomically)")
    parser.add_argument("--adapter-heads", type=int, default=OFFICIAL_HEADS,
                        help="attention heads of the adapters (official: 8; not in the weights)")
    args = parser.parse_args(argv)
    try:
        c = convert(args.checkpoint, args.output, heads=args.adapter_heads)
    except ConvertError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    print(f"{PROG}: {c['variant']}-{c['downsample']} ({c['image_size']}x{c['image_size']}, "
          f"{c['codebook_size']} x {c['codebook_dim']} codebooks) -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
