#!/usr/bin/python3
"""Converts an official LiveScene checkpoint (nerfstudio `step-*.ckpt`) into facet LiveScene
weights (safetensors, fields/livescene_format.md).

Usage:
    python3 tools/convert_livescene.py STEP.ckpt OUT.safetensors [--mapping mapping.yaml]
        [--objects N] [--dataparser-transforms dataparser_transforms.json]
        [--num-proposal-samples 256 128] [--num-samples 48] [--near-plane 0.0] [--dataset DIR]

Needs only torch (to unpickle the checkpoint), numpy and PyYAML. On any problem it prints
`convert_livescene: <file>: <what is wrong>` on stderr and exits 1; the message names the first
missing, unexpected or misshaped key.

Input
-----
The checkpoint is `torch.save({'step', 'pipeline', 'optimizers', 'schedulers', 'scalers'})`
(nerfstudio engine/trainer.py); 'pipeline' is the LiveScenePipeline state dict. With the official
configuration (livescene/livescene_config.py: use_gt_val=True, train_with_lang=False,
appearance_embedding_dim=0, two proposal networks) its keys are:

    _model.device_indicator_param                               [0]   (nerfstudio Model; ignored)
    _model.field.aabb                                           [2, 3]
    _model.field.grids.{s}.plane_coefs.{p}    s < len(multiscale_res), p < 6
    _model.field.sigma_net.params              tcnn FullyFusedMLP, flat, fp32 master copy
    _model.field.direction_encoding.params     tcnn SphericalHarmonics: no parameters, [0]
    _model.field.color_net.params
    _model.proposal_networks.{i}.aabb
    _model.proposal_networks.{i}.grids.plane_coefs.{p}          p < 6
    _model.proposal_networks.{i}.density_net.params
    _model.proposal_language_networks.{k}.aabb                  k = 0 .. number of proposals
    _model.proposal_language_networks.{k}.grids.plane_coefs.{p} p < 3
    _model.proposal_language_networks.{k}.semantic_net.params
    _model.proposal_language_networks.{k}.semantic_mapping.plane_coefs.{o}   [1, R, 512], o < alpha
                                               (only with train_with_lang=True: optional)
    _model.lpips.*                             torchmetrics LPIPS weights (ignored)

The language networks are ONE module registered num_proposal_iterations + 1 times
(livescene_model.py populate_modules), so its tensors appear under every prefix; the copies must
be identical (an error otherwise). The controller, samplers, colliders, renderers, losses and
the PSNR metric hold no persistent tensors; the datamanager's only tensors (RayGenerator
image_coords) are non-persistent buffers.

Ignored keys: `_model.lpips.*` and `_model.psnr.*` (metric state: never used to render),
`_model.device_indicator_param` (an empty tensor nerfstudio uses to find the model's device) and
`datamanager.*` (pipeline-level state that nerfstudio itself loads non-strictly; LiveScene has
none). Checkpoints saved from a DistributedDataParallel run have `_model.module.` prefixes: they
are stripped as nerfstudio's Pipeline.load_state_dict does.

What is read from shapes, and what is not
-----------------------------------------
- Plane resolutions and channels from the plane shapes ([C, res_b, res_a] for the axis pair
  (a, b) in itertools.combinations order); each axis resolution is the majority over the planes
  containing it, so a single misshaped plane is the one named in the error.
- multiscale_res: per scale s the spatial resolution res_s; base = gcd over scales (per axis),
  multiscale_res[s] = res_s / base, which must be the same integer on the three spatial axes. (A
  base and factor pair with the same products is the same model: only res_s is ever used.)
- The kappa axis must have the same resolution at every scale (LiveSceneField scales space only).
- The number of objects (alpha) can NOT be read from the checkpoint: the only tensor that depends
  on it is the semantic network, whose input (C + alpha) and output (alpha + 1) widths tcnn pads
  to multiples of 16, so every alpha in a range of up to 15 values gives the same parameter
  count. alpha comes from --mapping (its entry count; the names become `objects`) or from
  --objects N (names `object0`...); with neither the converter stops with an error. The given
  alpha is checked against the semantic network's parameter count.
- geo_feat_dim is LiveSceneField's default, 15 (LiveSceneModel never passes another value); the
  hidden width (64) and hidden layer counts (sigma 1, colour 2, proposal density 1, semantic 1)
  are the official network configs. All are checked against the parameter counts.
- num_proposal_samples / num_samples default to the official LiveSceneModelConfig values
  (256, 128) / 48; the near plane at evaluation is 0 (nerfstudio's AABBBoxCollider ignores the
  configured 0.01 outside training). Flags override them.

tiny-cuda-nn layout
-------------------
A FullyFusedMLP with n_in inputs, n_out outputs, width 64 and H hidden layers stores H + 1
row-major matrices back to back: [64, ceil16(n_in)], H - 1 times [64, 64], [ceil16(n_out), 64].
tinycudann's torch Module keeps `params` as an fp32 master copy and casts it to fp16 on every
forward (modules.py: self.params.to(param_precision())), so the converter rounds the params to
fp16 (round to nearest even, torch's cast) before unpacking: the weights written are those tcnn
computes with (an fp16 checkpoint converts unchanged; a value beyond fp16 range is an error).
The input is padded with 1.0 (tcnn's Identity encoding), so the padded weight columns are a bias:
the converter writes `NAME.0.weight` = the first n_in columns, `NAME.0.bias` = the fp32 sum of
the padded columns (left to right; zeros when no padding), and drops the padded output rows of the
last layer. All tensors are written as F32 (fp16 weights convert exactly).

dataparser transform
--------------------
--dataparser-transforms, else `dataparser_transforms.json` beside the checkpoint, else in its
parent directory (nerfstudio writes it to the run directory and the checkpoints to
run/nerfstudio_models/), else identity and scale 1 (with a note on stderr).
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
from collections import Counter

import numpy as np
import yaml

PROG = "convert_livescene"
FORMAT = "facet-livescene"
VERSION = 1

# Official architecture constants (livescene_field.py, livescene_config.py).
GEO_FEAT_DIM = 15
SH_DIM = 16  # tcnn SphericalHarmonics degree 4
NEURONS = 64
HIDDEN = {"sigma_net": 1, "color_net": 2, "density_net": 1, "semantic_net": 1}
DEFAULT_PROPOSAL_SAMPLES = (256, 128)
DEFAULT_SAMPLES = 48
EVAL_NEAR_PLANE = 0.0

IGNORED_PREFIXES = ("_model.lpips.", "_model.psnr.", "datamanager.")
IGNORED_KEYS = ("_model.device_indicator_param",)


class ConvertError(Exception):
    """A problem with one input file; str() is the message without the program name."""

    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")


# ---- safetensors -------------------------------------------------------------------------------

_ST_DTYPES = {"F32": "<f4", "F16": "<f2", "I32": "<i4", "I64": "<i8", "U8": "u1", "BOOL": "?"}
_ST_NAMES = {np.dtype(v): k for k, v in _ST_DTYPES.items()}


def write_safetensors(path, tensors, metadata):
    """Writes {name: np.ndarray} and {str: str} metadata as safetensors, atomically.

    Layout: u64 little-endian header length N, N bytes of JSON (padded with spaces so the data
    starts 8-byte aligned), then the tensors back to back in the order given, C order."""
    header = {"__metadata__": dict(metadata)}
    blobs, offset = [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        dtype = _ST_NAMES.get(array.dtype)
        if dtype is None:
            raise ValueError(f"tensor '{name}': unsupported dtype {array.dtype}")
        data = array.astype(_ST_DTYPES[dtype], copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for data in blobs:
                f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_safetensors(path):
    """Returns ({name: np.ndarray}, {str: str} metadata) in header order."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        data = np.frombuffer(raw[base + begin:base + end], dtype=_ST_DTYPES[info["dtype"]])
        tensors[name] = data.reshape(info["shape"])
    return tensors, metadata


# ---- tiny-cuda-nn FullyFusedMLP layout ---------------------------------------------------------

def ceil16(n):
    return (n + 15) // 16 * 16


def tcnn_layer_shapes(n_in, n_out, n_hidden, width=NEURONS):
    """[rows, cols] of each row-major weight matrix in a tcnn FullyFusedMLP params vector."""
    shapes = [(width, ceil16(n_in))] + [(width, width)] * (n_hidden - 1) + [(ceil16(n_out), width)]
    return shapes


def tcnn_param_count(n_in, n_out, n_hidden, width=NEURONS):
    return sum(r * c for r, c in tcnn_layer_shapes(n_in, n_out, n_hidden, width))


def tcnn_unpack(params, n_in, n_out, n_hidden, width=NEURONS):
    """Flat tcnn params -> list of padded fp32 matrices [rows, cols] (row-major)."""
    params = np.asarray(params, dtype=np.float32)
    matrices, pos = [], 0
    for rows, cols in tcnn_layer_shapes(n_in, n_out, n_hidden, width):
        matrices.append(params[pos:pos + rows * cols].reshape(rows, cols))
        pos += rows * cols
    return matrices


def tcnn_to_facet(params, n_in, n_out, n_hidden, width=NEURONS):
    """Flat tcnn params -> {'0.weight', '0.bias', '1.weight', ...} of the facet contract: the
    padded input columns (fed 1.0) are summed into 0.bias, the padded output rows dropped."""
    matrices = tcnn_unpack(params, n_in, n_out, n_hidden, width)
    first = matrices[0]
    bias = np.zeros(first.shape[0], dtype=np.float32)
    for col in range(n_in, first.shape[1]):
        bias = (bias + first[:, col]).astype(np.float32)
    out = {"0.weight": np.ascontiguousarray(first[:, :n_in]), "0.bias": bias}
    for layer, matrix in enumerate(matrices[1:], start=1):
        if layer == len(matrices) - 1:
            matrix = matrix[:n_out]
        out[f"{layer}.weight"] = np.ascontiguousarray(matrix)
    return out


# ---- checkpoint reading ------------------------------------------------------------------------

def load_checkpoint(path):
    """torch.load on the CPU; weights-only unpickling when this torch supports it."""
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
    if not isinstance(ckpt, dict) or "pipeline" not in ckpt:
        raise ConvertError(path, "not a nerfstudio checkpoint: no 'pipeline' state dict at the top level")
    if not isinstance(ckpt["pipeline"], dict):
        raise ConvertError(path, "'pipeline' is not a state dict")
    return ckpt


def _shape(t):
    return "[" + ", ".join(str(int(d)) for d in t.shape) + "]"


class _Checker:
    """Validates the pipeline state dict of one checkpoint and collects its tensors."""

    def __init__(self, path, state):
        self.path = path
        model = {k: v for k, v in state.items() if k.startswith("_model.")}
        if model and all(k.startswith("_model.module.") for k in model):
            state = {("_model." + k[len("_model.module."):] if k.startswith("_model.module.") else k): v
                     for k, v in state.items()}
        self.state = state

    def fail(self, message):
        raise ConvertError(self.path, message)

    def tensor(self, key):
        import torch

        value = self.state[key]
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            self.fail(f"key '{key}' is not a floating-point tensor")
        return value

    # -- key set --
    def expected_keys(self):
        keys = list(self.state)
        scales = self._count(keys, r"_model\.field\.grids\.(\d+)\.")
        props = self._count(keys, r"_model\.proposal_networks\.(\d+)\.")
        langs = self._count(keys, r"_model\.proposal_language_networks\.(\d+)\.")
        props = max(props, langs - 1)
        if scales == 0:
            scales = 1
        if props == 0:
            props = 1
        expected = ["_model.field.aabb"]
        expected += [f"_model.field.grids.{s}.plane_coefs.{p}" for s in range(scales) for p in range(6)]
        expected += ["_model.field.sigma_net.params", "_model.field.direction_encoding.params",
                     "_model.field.color_net.params"]
        for i in range(props):
            pre = f"_model.proposal_networks.{i}."
            expected += [pre + "aabb"] + [f"{pre}grids.plane_coefs.{p}" for p in range(6)]
            expected += [pre + "density_net.params"]
        for k in range(props + 1):
            pre = f"_model.proposal_language_networks.{k}."
            expected += [pre + "aabb"] + [f"{pre}grids.plane_coefs.{p}" for p in range(3)]
            expected += [pre + "semantic_net.params"]
        return expected, scales, props

    @staticmethod
    def _count(keys, pattern):
        found = [int(m.group(1)) for m in (re.match(pattern, k) for k in keys) if m]
        return max(found) + 1 if found else 0

    def check_keys(self):
        expected, scales, props = self.expected_keys()
        present = set(self.state)
        for key in expected:
            if key not in present:
                self.fail(f"missing key '{key}'")
        wanted = set(expected)
        for key in self.state:
            if key in wanted or key in IGNORED_KEYS or key.startswith(IGNORED_PREFIXES):
                continue
            if re.match(LANGUAGE_KEY, key):  # optional: converted by language_tensors
                continue
            hint = ""
            if ".val_embeds." in key or ".val_net." in key:
                hint = " (a model trained with use_gt_val=False: only ground-truth kappa is supported)"
            elif ".appearance_ambedding." in key or ".color_basis." in key:
                hint = " (appearance embeddings and the linear decoder are not part of the official config)"
            self.fail(f"unexpected key '{key}'{hint}")
        return scales, props

    # -- shapes --
    def planes(self, prefix, count, dims):
        """Checks the planes prefix{p} (p < count) of a dims-D K-Planes grid; returns
        (resolution list, channels, [tensors])."""
        import itertools

        combos = list(itertools.combinations(range(dims), 2))
        assert len(combos) == count
        tensors = [self.tensor(f"{prefix}{p}") for p in range(count)]
        for p, t in enumerate(tensors):
            if t.dim() != 3:
                self.fail(f"key '{prefix}{p}' has shape {_shape(t)}, expected 3 dimensions [C, res_b, res_a]")
        votes = {a: Counter() for a in range(dims)}
        channels = Counter()
        for (a, b), t in zip(combos, tensors):
            channels[int(t.shape[0])] += 1
            votes[a][int(t.shape[2])] += 1
            votes[b][int(t.shape[1])] += 1
        res = [votes[a].most_common(1)[0][0] for a in range(dims)]
        c = channels.most_common(1)[0][0]
        for p, ((a, b), t) in enumerate(zip(combos, tensors)):
            want = (c, res[b], res[a])
            if tuple(int(d) for d in t.shape) != want:
                self.fail(f"key '{prefix}{p}' has shape {_shape(t)}, expected [{c}, {res[b]}, {res[a]}] "
                          f"(axes ({a}, {b}) of a grid with resolution {res} and {c} channels)")
        return res, c, tensors

    def mlp(self, key, n_in, n_out, n_hidden, what):
        import torch

        t = self.tensor(key)
        want = tcnn_param_count(n_in, n_out, n_hidden)
        if t.dim() != 1 or t.numel() != want:
            layers = " + ".join(f"{r}x{c}" for r, c in tcnn_layer_shapes(n_in, n_out, n_hidden))
            self.fail(f"key '{key}' has shape {_shape(t)}, expected [{want}] ({what}: FullyFusedMLP "
                      f"{n_in} -> {NEURONS} x{n_hidden} -> {n_out}, padded layers {layers})")
        half = t.detach().to(torch.float16)
        if not bool(torch.isfinite(half).all()) and bool(torch.isfinite(t).all()):
            self.fail(f"key '{key}' has values beyond the fp16 range tcnn computes with")
        return half.to(torch.float32).numpy()

    def aabb(self, key, reference=None):
        t = self.tensor(key)
        if tuple(t.shape) != (2, 3):
            self.fail(f"key '{key}' has shape {_shape(t)}, expected [2, 3]")
        if reference is not None and not bool((t.float() == reference.float()).all()):
            self.fail(f"key '{key}' differs from '_model.field.aabb' (all fields share the scene box)")
        return t


def read_mapping(path):
    """mapping.yaml {id: name} -> names in id order; ids must be 0 .. n-1 (the official
    atrb_utils uses the id as the object's column)."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise ConvertError(path, f"cannot be read ({e.strerror})")
    except yaml.YAMLError as e:
        raise ConvertError(path, f"is not valid YAML ({e})")
    if not isinstance(data, dict) or not data:
        raise ConvertError(path, "expected a non-empty mapping {id: object_name}")
    names = {}
    for key, value in data.items():
        if not isinstance(key, int) or isinstance(key, bool):
            raise ConvertError(path, f"key '{key}': object ids are integers")
        if not isinstance(value, str):
            raise ConvertError(path, f"key '{key}': the object name must be a string")
        names[key] = value
    if sorted(names) != list(range(len(names))):
        raise ConvertError(path, f"object ids must be 0 .. {len(names) - 1}, got {sorted(names)}")
    return [names[i] for i in range(len(names))]


LANGUAGE_KEY = r"_model\.proposal_language_networks\.(\d+)\.semantic_mapping\.plane_coefs\.(\d+)$"


def train_frame_ids(dataset):
    """Normalised ids fid / max_fid of a LiveScene dataset's training frames, as the official
    dataparsers compute them (livescene_dataparser.py): fid is the number after the last '_' of a
    frame's file name, max_fid the largest over all frames; the training frames are those listed
    in the transforms' train_filenames, else nerfstudio's interval rule with eval_interval 2
    (frames whose index i in transforms.json order has i % 2 != 0)."""
    path = os.path.join(dataset, "transforms.json")
    try:
        with open(path, "r", encoding="utf-8") as f:
            meta = json.load(f)
        stems = [os.path.splitext(os.path.basename(frame["file_path"]))[0] for frame in meta["frames"]]
        fids = [int(stem.split("_")[-1]) for stem in stems]
    except OSError as e:
        raise ConvertError(path, f"cannot be read ({e.strerror})")
    except (ValueError, KeyError, TypeError) as e:
        raise ConvertError(path, f"expected frames whose file names end in _<frame id> ({e})")
    if not fids or max(fids) <= 0:
        raise ConvertError(path, "needs frames with positive frame ids")
    if "train_filenames" in meta:
        train = {os.path.splitext(os.path.basename(name))[0] for name in meta["train_filenames"]}
        indices = [i for i, stem in enumerate(stems) if stem in train]
    else:
        indices = [i for i in range(len(fids)) if i % 2 != 0]
    return [fids[i] / max(fids) for i in indices]


def language_tensors(chk, props, alpha, dataset):
    """The official semantic_mapping of a model trained with language (LiveSceneEncoding:
    plane_coefs.{o} [1, R, D] per object, one module under every language-network prefix) as
    language.semantic_mapping.{o} [R, D], and with a dataset the training frames' normalised ids
    as language.frame_ids (R must be len(ids) // 2 + 1: max_fids // 2 + 1 upstream)."""
    import torch

    key = "_model.proposal_language_networks.{}.semantic_mapping.plane_coefs.{}"
    count = chk._count(list(chk.state), LANGUAGE_KEY.replace("(\\d+)", "0", 1))
    if count == 0:
        return {}
    if count != alpha:
        chk.fail(f"key '{key.format(0, count - 1)}': the semantic mapping has {count} objects, "
                 f"the model {alpha}")
    out, first = {}, None
    for o in range(alpha):
        t = chk.tensor(key.format(0, o))
        if t.dim() != 3 or t.shape[0] != 1 or t.shape[1] < 2 or (first is not None and t.shape != first):
            chk.fail(f"key '{key.format(0, o)}' has shape {_shape(t)}, expected [1, R >= 2, D] "
                     "like the first object's")
        first = t.shape
        for k in range(1, props + 1):
            if key.format(k, o) not in chk.state:
                chk.fail(f"missing key '{key.format(k, o)}'")
            if not torch.equal(chk.tensor(key.format(k, o)), t):
                chk.fail(f"key '{key.format(k, o)}' differs from '{key.format(0, o)}'")
        out[f"language.semantic_mapping.{o}"] = t[0].detach().float().numpy()
    if dataset is not None:
        ids = train_frame_ids(dataset)
        if len(ids) // 2 + 1 != first[1]:
            raise ConvertError(dataset, f"has {len(ids)} training frames: the semantic mapping of "
                                        f"{first[1]} rows needs {2 * (first[1] - 1)} or "
                                        f"{2 * (first[1] - 1) + 1}")
        out["language.frame_ids"] = np.array(ids, dtype=np.float32)
    return out


def find_dataparser_transforms(ckpt_path):
    here = os.path.dirname(os.path.abspath(ckpt_path))
    for directory in (here, os.path.dirname(here)):
        candidate = os.path.join(directory, "dataparser_transforms.json")
        if os.path.isfile(candidate):
            return candidate
    return None


def read_dataparser_transforms(path):
    """nerfstudio dataparser_transforms.json {"transform": 3x4, "scale": s}."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise ConvertError(path, f"cannot be read ({e.strerror})")
    except json.JSONDecodeError as e:
        raise ConvertError(path, f"is not valid JSON ({e})")
    if not isinstance(data, dict) or "transform" not in data or "scale" not in data:
        raise ConvertError(path, "expected {\"transform\": 3x4 matrix, \"scale\": number}")
    t = data["transform"]
    ok = isinstance(t, list) and len(t) in (3, 4) and all(
        isinstance(r, list) and len(r) == 4 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in r)
        for r in t)
    if not ok:
        raise ConvertError(path, "key 'transform': expected a 3x4 matrix of numbers")
    if len(t) == 4 and [float(x) for x in t[3]] != [0.0, 0.0, 0.0, 1.0]:
        raise ConvertError(path, "key 'transform': the fourth row of a 4x4 transform must be 0 0 0 1")
    scale = data["scale"]
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not math.isfinite(scale) or scale <= 0:
        raise ConvertError(path, "key 'scale': expected a positive number")
    return [[float(x) for x in r] for r in t[:3]], float(scale)


def convert(ckpt_path, out_path, mapping=None, objects=None, dataparser_transforms=None,
            num_proposal_samples=None, num_samples=None, near_plane=EVAL_NEAR_PLANE, log=sys.stderr,
            dataset=None):
    """Converts ckpt_path into out_path; returns the config dict written. Raises ConvertError."""
    import torch

    names = read_mapping(mapping) if mapping else None
    if names is not None and objects is not None and objects != len(names):
        raise ConvertError(mapping, f"has {len(names)} objects but --objects is {objects}")
    if names is None and objects is not None:
        if objects < 1:
            raise ConvertError(ckpt_path, "--objects must be at least 1")
        names = [f"object{i}" for i in range(objects)]
    searched = dataparser_transforms is None
    if searched:
        dataparser_transforms = find_dataparser_transforms(ckpt_path)
    transform, scale = ([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]], 1.0)
    if dataparser_transforms is not None:
        transform, scale = read_dataparser_transforms(dataparser_transforms)

    ckpt = load_checkpoint(ckpt_path)
    chk = _Checker(ckpt_path, ckpt["pipeline"])
    scales, props = chk.check_keys()

    # language copies: one module registered props + 1 times
    lang_suffixes = ["aabb"] + [f"grids.plane_coefs.{p}" for p in range(3)] + ["semantic_net.params"]
    for k in range(1, props + 1):
        for suffix in lang_suffixes:
            a = f"_model.proposal_language_networks.0.{suffix}"
            b = f"_model.proposal_language_networks.{k}.{suffix}"
            ta, tb = chk.tensor(a), chk.tensor(b)
            if ta.shape != tb.shape or ta.dtype != tb.dtype or not torch.equal(ta, tb):
                chk.fail(f"key '{b}' differs from '{a}' (the official model registers one language "
                         "network for every sampling level, so the copies must be identical)")

    aabb = chk.aabb("_model.field.aabb")
    for i in range(props):
        chk.aabb(f"_model.proposal_networks.{i}.aabb", aabb)
    chk.aabb("_model.proposal_language_networks.0.aabb", aabb)
    if not bool((aabb[1] > aabb[0]).all()):
        chk.fail("key '_model.field.aabb': the box maximum must exceed its minimum on every axis")

    out = {}
    # main field
    grid_res, channels = [], None
    for s in range(scales):
        prefix = f"_model.field.grids.{s}.plane_coefs."
        res, c, tensors = chk.planes(prefix, 6, 4)
        if channels is not None and c != channels:
            chk.fail(f"key '{prefix}0' has {c} channels, scale 0 has {channels} (grid_feature_dim is shared)")
        if grid_res and res[3] != grid_res[0][3]:
            chk.fail(f"key '{prefix}2' has kappa resolution {res[3]}, scale 0 has {grid_res[0][3]} "
                     "(multiscale_res scales the spatial axes only)")
        channels = c
        grid_res.append(res)
        for p, t in enumerate(tensors):
            out[f"field.grids.{s}.plane.{p}"] = t.detach().float().numpy()
    base, multiscale = [], None
    for a in range(3):
        g = 0
        for res in grid_res:
            g = math.gcd(g, res[a])
        base.append(g)
        factors = [res[a] // g for res in grid_res]
        if multiscale is None:
            multiscale = factors
        elif factors != multiscale:
            chk.fail(f"key '_model.field.grids.{len(grid_res) - 1}.plane_coefs.0': the scales' spatial "
                     f"resolutions {[r[:3] for r in grid_res]} are not one base resolution times "
                     "per-scale factors")
    base.append(grid_res[0][3])

    feature_dim = channels * scales
    sigma = chk.mlp("_model.field.sigma_net.params", feature_dim, GEO_FEAT_DIM + 1, HIDDEN["sigma_net"],
                    "density network: grid features -> geo_feat_dim 15 + 1")
    sh = chk.tensor("_model.field.direction_encoding.params")
    if sh.numel() != 0:
        chk.fail(f"key '_model.field.direction_encoding.params' has shape {_shape(sh)}, expected [0] "
                 "(tcnn SphericalHarmonics has no parameters)")
    color = chk.mlp("_model.field.color_net.params", SH_DIM + GEO_FEAT_DIM, 3, HIDDEN["color_net"],
                    "colour network: 16 SH + 15 geometry features -> RGB")
    for name, params, n_in, n_out, hidden in (("sigma_net", sigma, feature_dim, GEO_FEAT_DIM + 1, HIDDEN["sigma_net"]),
                                              ("color_net", color, SH_DIM + GEO_FEAT_DIM, 3, HIDDEN["color_net"])):
        for k, v in tcnn_to_facet(params, n_in, n_out, hidden).items():
            out[f"field.{name}.{k}"] = v

    # proposal density fields
    proposals = []
    for i in range(props):
        res, c, tensors = chk.planes(f"_model.proposal_networks.{i}.grids.plane_coefs.", 6, 4)
        for p, t in enumerate(tensors):
            out[f"proposal.{i}.plane.{p}"] = t.detach().float().numpy()
        params = chk.mlp(f"_model.proposal_networks.{i}.density_net.params", c, 1, HIDDEN["density_net"],
                         "proposal density network: grid features -> 1")
        for k, v in tcnn_to_facet(params, c, 1, HIDDEN["density_net"]).items():
            out[f"proposal.{i}.density_net.{k}"] = v
        proposals.append({"resolution": res, "feature_dim": c})

    # object probability field
    pre = "_model.proposal_language_networks.0."
    prob_res, prob_c, tensors = chk.planes(pre + "grids.plane_coefs.", 3, 3)
    for p, t in enumerate(tensors):
        out[f"probability.plane.{p}"] = t.detach().float().numpy()
    if names is None:
        chk.fail(f"the number of objects cannot be read from the checkpoint (tcnn pads the inputs and "
                 f"outputs of '{pre}semantic_net.params' to multiples of 16): pass --mapping mapping.yaml "
                 "(the dataset's) or --objects N")
    alpha = len(names)
    params = chk.mlp(pre + "semantic_net.params", prob_c + alpha, alpha + 1, HIDDEN["semantic_net"],
                     f"semantic network: {prob_c} features + {alpha} kappa values -> {alpha} objects + background")
    for k, v in tcnn_to_facet(params, prob_c + alpha, alpha + 1, HIDDEN["semantic_net"]).items():
        out[f"probability.semantic_net.{k}"] = v
    out.update(language_tensors(chk, props, alpha, dataset))

    if num_proposal_samples is None:
        num_proposal_samples = list(DEFAULT_PROPOSAL_SAMPLES)
    if len(num_proposal_samples) != props:
        raise ConvertError(ckpt_path, f"--num-proposal-samples has {len(num_proposal_samples)} values, "
                                      f"the checkpoint has {props} proposal networks")
    if any(n < 1 for n in num_proposal_samples) or (num_samples is not None and num_samples < 1):
        raise ConvertError(ckpt_path, "sample counts must be positive")

    config = {
        "aabb": aabb.double().tolist(),
        "grid_base_resolution": base,
        "multiscale_res": multiscale,
        "grid_feature_dim": channels,
        "geo_feat_dim": GEO_FEAT_DIM,
        "proposals": proposals,
        "probability": {"resolution": prob_res, "feature_dim": prob_c},
        "num_proposal_samples": [int(n) for n in num_proposal_samples],
        "num_samples": int(num_samples if num_samples is not None else DEFAULT_SAMPLES),
        "near_plane": float(near_plane),
        "background_color": [1.0, 1.0, 1.0],
        "objects": names,
        "dataparser_transform": transform,
        "dataparser_scale": scale,
    }
    step = ckpt.get("step")
    metadata = {
        "format": FORMAT,
        "version": str(VERSION),
        "config": json.dumps(config),
        "source": f"tools/convert_livescene.py from {os.path.basename(ckpt_path)} (step {step})",
    }
    try:
        write_safetensors(out_path, out, metadata)
    except OSError as e:
        raise ConvertError(out_path, f"cannot be written ({e.strerror})")
    if searched and dataparser_transforms is None and log is not None:
        print(f"{PROG}: note: no dataparser_transforms.json beside {ckpt_path} or in its parent "
              "directory: wrote the identity transform and scale 1", file=log)
    return config


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="convert_livescene.py",
        description="Convert an official LiveScene nerfstudio checkpoint into facet safetensors "
                    "(fields/livescene_format.md).")
    parser.add_argument("checkpoint", help="nerfstudio step-*.ckpt")
    parser.add_argument("output", help="output .safetensors (written atomically)")
    parser.add_argument("--mapping", help="the dataset's mapping.yaml {id: object_name}: object count and names")
    parser.add_argument("--objects", type=int, help="object count when no mapping.yaml is at hand (names object0...)")
    parser.add_argument("--dataparser-transforms",
                        help="nerfstudio dataparser_transforms.json (default: beside the checkpoint or in its parent)")
    parser.add_argument("--num-proposal-samples", type=int, nargs="+", metavar="N",
                        help=f"samples per proposal level (default {' '.join(map(str, DEFAULT_PROPOSAL_SAMPLES))})")
    parser.add_argument("--num-samples", type=int, help=f"final samples per ray (default {DEFAULT_SAMPLES})")
    parser.add_argument("--near-plane", type=float, default=EVAL_NEAR_PLANE,
                        help="near plane (default 0: nerfstudio's AABB collider at evaluation)")
    parser.add_argument("--dataset", help="the LiveScene dataset (transforms.json): the training frames' ids "
                                          "for a model trained with language (language.frame_ids)")
    args = parser.parse_args(argv)
    try:
        convert(args.checkpoint, args.output, mapping=args.mapping, objects=args.objects,
                dataparser_transforms=args.dataparser_transforms,
                num_proposal_samples=args.num_proposal_samples, num_samples=args.num_samples,
                near_plane=args.near_plane, dataset=args.dataset)
    except ConvertError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
