#!/usr/bin/python3
"""Converts the text tower of a CLIP checkpoint into facet text-encoder weights
(language/text_encoder_format.md).

Usage:
    python3 tools/convert_clip_text.py CHECKPOINT OUT.safetensors [--activation gelu|quick_gelu]
        [--dtype f32|f16] [--heads N]

CHECKPOINT is one of
- an OpenCLIP state dict: open_clip_pytorch_model.bin / a .pt file saved with torch.save (a bare
  state dict, or {"state_dict": ...} from open_clip training, "module." prefixes stripped), or
  open_clip_model.safetensors;
- an OpenAI CLIP TorchScript archive (ViT-B-16.pt from the clip package): its state dict is read
  with torch.jit.load.
The text tower's keys (an optional "text." prefix is stripped, as CustomTextCLIP models have it):
    token_embedding.weight [V, W]          -> token_embedding
    positional_embedding [P, W]            -> position_embedding
    transformer.resblocks.{i}.ln_1.*       -> layers.{i}.norm1.*
    transformer.resblocks.{i}.attn.in_proj_weight, in_proj_bias [3W, W], [3W] -> layers.{i}.qkv.*
    transformer.resblocks.{i}.attn.out_proj.*  -> layers.{i}.out.*
    transformer.resblocks.{i}.ln_2.*       -> layers.{i}.norm2.*
    transformer.resblocks.{i}.mlp.c_fc.*   -> layers.{i}.fc1.*
    transformer.resblocks.{i}.mlp.c_proj.* -> layers.{i}.fc2.*
    ln_final.*                             -> final_norm.*
    text_projection [W, E]                 -> projection.weight [E, W] (transposed)
Ignored: visual.* (the image tower), logit_scale, logit_bias, attn_mask (the causal mask, which
facet applies itself), and the OpenAI archive's input_resolution, context_length, vocab_size.
Heads: width / 64 (every OpenCLIP and OpenAI text tower uses 64-wide heads) unless --heads. Activation: GELU for
OpenCLIP models, QuickGELU for OpenAI archives (their `-quickgelu` twins in OpenCLIP); override with
--activation. On a problem it prints `convert_clip_text: <file>: <what is wrong>` and exits 1,
naming the first missing, unexpected or misshaped key.
"""
import argparse
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import text_encoder_format  # noqa: E402

IGNORED = re.compile(r"^(visual\..*|logit_scale|logit_bias|attn_mask|input_resolution|"
                     r"context_length|vocab_size)$")
HEAD_WIDTH = 64


class ConvertError(Exception):
    pass


def load_state(path):
    """(state dict of tensors, is an OpenAI TorchScript archive)."""
    if path.endswith(".safetensors"):
        import safetensors.torch  # only needed for this input kind
        return safetensors.torch.load_file(path), False
    try:
        archive = torch.jit.load(path, map_location="cpu")
        return {k: v for k, v in archive.state_dict().items()}, True
    except RuntimeError:
        pass
    state = torch.load(path, map_location="cpu")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ConvertError("not a state dict, OpenCLIP checkpoint or OpenAI archive")
    return {(k[len("module."):] if k.startswith("module.") else k): v
            for k, v in state.items()}, False


def convert(path, out_path, activation=None, dtype="f32", heads=None):
    state, openai = load_state(path)
    if any(k.startswith("text.") for k in state):
        state = {(k[5:] if k.startswith("text.") else k): v for k, v in state.items()}
    used = set()

    def get(key, shape=None):
        if key not in state:
            raise ConvertError(f"missing key '{key}'")
        t = state[key]
        if not torch.is_tensor(t) or not t.is_floating_point():
            raise ConvertError(f"key '{key}': expected a float tensor")
        if shape is not None and list(t.shape) != list(shape):
            raise ConvertError(f"key '{key}': expected shape {list(shape)}, got {list(t.shape)}")
        used.add(key)
        return t

    tok = get("token_embedding.weight")
    if tok.dim() != 2:
        raise ConvertError("key 'token_embedding.weight': expected 2 dimensions")
    vocab, width = tok.shape
    pos = get("positional_embedding")
    if pos.dim() != 2 or pos.shape[1] != width:
        raise ConvertError(f"key 'positional_embedding': expected [P, {width}], "
                           f"got {list(pos.shape)}")
    context = pos.shape[0]
    layers = 1 + max((int(m.group(1)) for k in state
                      for m in [re.match(r"transformer\.resblocks\.(\d+)\.", k)] if m), default=-1)
    if layers == 0:
        raise ConvertError("no transformer.resblocks.* keys")
    proj = get("text_projection")
    if proj.dim() != 2 or proj.shape[0] != width:
        raise ConvertError(f"key 'text_projection': expected [{width}, E], got {list(proj.shape)}")
    embed_dim = proj.shape[1]
    ffn = state.get("transformer.resblocks.0.mlp.c_fc.weight", torch.empty(0, 0)).shape[0]
    heads = heads or width // HEAD_WIDTH
    if heads < 1 or width % heads:
        raise ConvertError(f"{heads} heads do not divide the width {width} (--heads)")

    out = [("token_embedding", tok), ("position_embedding", pos)]
    for i in range(layers):
        p = f"transformer.resblocks.{i}."
        out += [
            (f"layers.{i}.norm1.weight", get(p + "ln_1.weight", [width])),
            (f"layers.{i}.norm1.bias", get(p + "ln_1.bias", [width])),
            (f"layers.{i}.qkv.weight", get(p + "attn.in_proj_weight", [3 * width, width])),
            (f"layers.{i}.qkv.bias", get(p + "attn.in_proj_bias", [3 * width])),
            (f"layers.{i}.out.weight", get(p + "attn.out_proj.weight", [width, width])),
            (f"layers.{i}.out.bias", get(p + "attn.out_proj.bias", [width])),
            (f"layers.{i}.norm2.weight", get(p + "ln_2.weight", [width])),
            (f"layers.{i}.norm2.bias", get(p + "ln_2.bias", [width])),
            (f"layers.{i}.fc1.weight", get(p + "mlp.c_fc.weight", [ffn, width])),
            (f"layers.{i}.fc1.bias", get(p + "mlp.c_fc.bias", [ffn])),
            (f"layers.{i}.fc2.weight", get(p + "mlp.c_proj.weight", [width, ffn])),
            (f"layers.{i}.fc2.bias", get(p + "mlp.c_proj.bias", [width])),
        ]
    out += [("final_norm.weight", get("ln_final.weight", [width])),
            ("final_norm.bias", get("ln_final.bias", [width])),
            ("projection.weight", proj.t())]
    for key in sorted(state):
        if key not in used and not IGNORED.match(key):
            raise ConvertError(f"unexpected key '{key}'")

    torch_dtype, name = (torch.float16, "F16") if dtype == "f16" else (torch.float32, "F32")
    tensors = [(n, name, list(t.shape), t.detach().to(torch_dtype).contiguous().numpy().tobytes())
               for n, t in out]
    config = {
        "architecture": "clip", "vocab_size": int(vocab), "width": int(width),
        "heads": int(heads), "layers": layers,
        "ffn": int(ffn), "max_positions": int(context), "max_length": int(context),
        "embed_dim": int(embed_dim),
        "activation": activation or ("quick_gelu" if openai else "gelu"),
        "layer_norm_eps": 1e-5,
    }
    text_encoder_format.write(out_path, tensors, config,
                              f"CLIP text tower from {os.path.basename(path)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("out")
    parser.add_argument("--activation", choices=["gelu", "quick_gelu"])
    parser.add_argument("--dtype", choices=["f32", "f16"], default="f32")
    parser.add_argument("--heads", type=int, help="attention heads (default: width / 64)")
    args = parser.parse_args()
    try:
        convert(args.checkpoint, args.out, args.activation, args.dtype, args.heads)
    except (ConvertError, OSError, RuntimeError, ValueError) as e:
        print(f"convert_clip_text: {args.checkpoint}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
