#!/usr/bin/python3
"""ONNX export of the PyTorch FQGAN reference (fqgan_ref.py) for the runtimes a user would pick
instead of facet on the CPU (ONNX Runtime, OpenVINO), plus a set of real photographs with their
PyTorch float32 tokens, so that every runtime is checked for equal tokens before it is timed.

    fqgan_onnx.py export --checkpoint CKPT --config C OUT_DIR
    fqgan_onnx.py inputs --checkpoint CKPT --config C OUT_DIR   (the .npy files and export.json
                                                                 only, for an older export)

writes, atomically (each file through a .tmp and a rename):
  OUT_DIR/encode.onnx     image [B, 3, S, S] in [-1, 1] -> one int64 index map [B, g, g] per
                          branch (outputs named indices_<branch>); opset 17, dynamic batch
  OUT_DIR/decode.onnx     indices_<branch> [B, g, g] int64 -> image [B, 3, S, S] (unclamped)
  OUT_DIR/photos.npy      [N, 3, S, S] float32: the skimage photographs (astronaut, coffee,
                          chelsea, rocket, immunohistochemistry, hubble_deep_field, retina,
                          camera as grey RGB), each as its central square and that square's four
                          quadrants (40 images), then 32 Blender renders from the repository
                          (assets/demo/data's 16 views, frames 1, 7, ..., 91 of
                          tests/fixtures/blender/cabinet), each as its central square; all
                          resized to S x S (PIL bicubic) and mapped to [-1, 1] as
                          ToTensor + Normalize(0.5, 0.5) do: N = 72
  OUT_DIR/tokens_ref.npy  [N, branches, g, g] int64: PyTorch float32 indices of photos.npy
  OUT_DIR/gaps_ref.npy    [N, branches, g, g] float32: best/runner-up distance gap per position
  OUT_DIR/decoded_ref.npy [N, 3, S, S] float32: PyTorch float32 decode of tokens_ref.npy (the
                          reference each runtime's decode is scored against)
  OUT_DIR/export.json     config, branches, torch version, opset

The graphs are traced from fqgan_ref.VQModel (encode, then the quantiser's argmin; decode_code),
so they compute exactly what the reference computes, operator for operator.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fqgan_ref  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry",
          "hubble_deep_field", "retina", "camera")
OPSET = 17


class EncodeIndices(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return tuple(idx for _, idx, _ in self.model.encode(x))


class DecodeIndices(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *indices):
        return self.model.decode_code(list(indices))


def photo_crops(size):
    """[N, 3, size, size] float32 in [-1, 1]: per photograph its central square and quadrants."""
    import skimage.data
    out = []
    for name in PHOTOS:
        a = getattr(skimage.data, name)()
        if a.ndim == 2:
            a = np.stack([a] * 3, -1)
        a = a[..., :3]
        h, w = a.shape[:2]
        s = min(h, w)
        sq = a[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
        half = s // 2
        crops = [sq] + [sq[y:y + half, x:x + half] for y in (0, half) for x in (0, half)]
        for c in crops:
            img = Image.fromarray(np.ascontiguousarray(c)).resize((size, size), Image.BICUBIC)
            t = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
            out.append((t - 0.5) / 0.5)
    return np.stack(out).astype(np.float32)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def blender_renders(size):
    """[32, 3, size, size] float32 in [-1, 1]: Blender (Cycles) renders shipped in the repository,
    each as its central square."""
    paths = [os.path.join(ROOT, "assets/demo/data", split, f"r_{i}.png")
             for split, first in (("train", 1), ("test", 0)) for i in range(first, 16, 2)]
    paths += [os.path.join(ROOT, "tests/fixtures/blender/cabinet/images", f"frame_{i:05d}.png")
              for i in range(1, 97, 6)]
    out = []
    for p in paths:
        im = Image.open(p).convert("RGB")
        w, h = im.size
        s = min(w, h)
        im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
        t = np.asarray(im.resize((size, size), Image.BICUBIC), dtype=np.float32)
        out.append((t.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5)
    return np.stack(out).astype(np.float32), [os.path.relpath(p, ROOT) for p in paths]


def save_npy(path, array):
    tmp = path + ".tmp.npy"
    np.save(tmp, array)
    os.replace(tmp, path)


def write_decoded_ref(model, out):
    """decoded_ref.npy: the reference's float32 decode of tokens_ref.npy, in batches of 8."""
    tokens = np.load(os.path.join(out, "tokens_ref.npy"))
    with torch.no_grad():
        images = [model.decode_code([torch.from_numpy(tokens[i:i + 8, k])
                                     for k in range(tokens.shape[1])]).numpy()
                  for i in range(0, len(tokens), 8)]
    save_npy(os.path.join(out, "decoded_ref.npy"), np.concatenate(images).astype(np.float32))


def write_inputs(model, c, args):
    """photos.npy, tokens_ref.npy, gaps_ref.npy, decoded_ref.npy and export.json."""
    s, g = c["image_size"], c["grid"]
    photos = photo_crops(s)
    renders, render_paths = blender_renders(s)
    images = np.concatenate([photos, renders])
    tokens, gaps = [], []
    with torch.no_grad():
        for i in range(0, len(images), 8):
            enc = model.encode(torch.from_numpy(images[i:i + 8]))
            tokens.append(np.stack([idx.numpy() for _, idx, _ in enc], 1))
            gaps.append(np.stack([gap.reshape(idx.shape).numpy() for _, idx, gap in enc], 1))
    save_npy(os.path.join(args.out, "photos.npy"), images)
    save_npy(os.path.join(args.out, "tokens_ref.npy"), np.concatenate(tokens).astype(np.int64))
    save_npy(os.path.join(args.out, "gaps_ref.npy"), np.concatenate(gaps).astype(np.float32))
    write_decoded_ref(model, args.out)
    meta = {"config": args.config, "branches": c["branches"], "image_size": s, "grid": g,
            "photos": list(PHOTOS), "crops_per_photo": 5, "renders": render_paths,
            "torch": torch.__version__, "opset": OPSET}
    with open(os.path.join(args.out, "export.json.tmp"), "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(os.path.join(args.out, "export.json.tmp"), os.path.join(args.out, "export.json"))
    return len(images)


def inputs(args):
    c = fqgan_ref.make_config(args.config)
    n = write_inputs(fqgan_ref.load_checkpoint(c, args.checkpoint), c, args)
    print(f"fqgan_onnx: {args.out}: {n} images with PyTorch tokens and decodes")


def export(args):
    c = fqgan_ref.make_config(args.config)
    model = fqgan_ref.load_checkpoint(c, args.checkpoint)
    branches = c["branches"]
    s, g = c["image_size"], c["grid"]
    os.makedirs(args.out, exist_ok=True)
    x = torch.zeros(2, 3, s, s)
    names = [f"indices_{b}" for b in branches]
    axes = {n: {0: "batch"} for n in names}
    with torch.no_grad():
        tmp = os.path.join(args.out, "encode.onnx.tmp")
        torch.onnx.export(EncodeIndices(model), (x,), tmp, input_names=["image"],
                          output_names=names, dynamic_axes={"image": {0: "batch"}, **axes},
                          opset_version=OPSET)
        os.replace(tmp, os.path.join(args.out, "encode.onnx"))
        idx = tuple(torch.zeros(2, g, g, dtype=torch.int64) for _ in branches)
        tmp = os.path.join(args.out, "decode.onnx.tmp")
        torch.onnx.export(DecodeIndices(model), idx, tmp, input_names=names,
                          output_names=["image"],
                          dynamic_axes={**axes, "image": {0: "batch"}}, opset_version=OPSET)
        os.replace(tmp, os.path.join(args.out, "decode.onnx"))
    n = write_inputs(model, c, args)
    print(f"fqgan_onnx: {args.config} -> {args.out}: encode.onnx, decode.onnx, "
          f"{n} images with PyTorch tokens and decodes")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    for mode in ("export", "inputs"):
        e = sub.add_parser(mode)
        e.add_argument("--checkpoint", required=True)
        e.add_argument("--config", required=True)
        e.add_argument("out")
    a = p.parse_args()
    torch.manual_seed(0)
    export(a) if a.mode == "export" else inputs(a)


if __name__ == "__main__":
    main()
