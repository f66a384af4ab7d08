#!/usr/bin/python3
"""tools/convert_livescene.py and the committed LiveScene fixtures (tests/fixtures/livescene/).

Run: /usr/bin/python3 tests/test_convert_livescene.py -v   (tests/convert_livescene_test.sh under
ctest). The fixtures come from `tools/reference/livescene_ref.py fixtures tests/fixtures/livescene`.
"""
import itertools
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures", "livescene")
CKPT = os.path.join(FIX, "step-000000100.ckpt")
MAPPING = os.path.join(FIX, "mapping.yaml")
CONVERTER = os.path.join(ROOT, "tools", "convert_livescene.py")
sys.path.insert(0, os.path.join(ROOT, "tools"))
import convert_livescene as conv  # noqa: E402

SMALL_FLAGS = ["--num-proposal-samples", "32", "16", "--num-samples", "8"]


def run_converter(ckpt, out, *extra):
    return subprocess.run([sys.executable, CONVERTER, ckpt, out, *extra], capture_output=True, text=True)


class ConverterCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def state(self):
        return torch.load(CKPT, map_location="cpu")

    def save(self, ckpt):
        path = os.path.join(self.dir, "step-000000100.ckpt")
        torch.save(ckpt, path)
        return path

    def convert(self, ckpt_path, *extra):
        out = os.path.join(self.dir, "out.safetensors")
        return run_converter(ckpt_path, out, *extra), out

    def assert_rejected(self, ckpt_path, *needles, extra=("--mapping", MAPPING)):
        result, out = self.convert(ckpt_path, *extra, *SMALL_FLAGS)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertTrue(result.stderr.startswith(f"convert_livescene: {ckpt_path}: "), result.stderr)
        for needle in needles:
            self.assertIn(needle, result.stderr)
        self.assertFalse(os.path.exists(out), "no output is written on error")
        return result.stderr


class RoundTrip(ConverterCase):
    def test_converting_the_committed_checkpoint_reproduces_small_safetensors(self):
        # dataparser_transforms.json is found beside the checkpoint (no flag)
        result, out = self.convert(CKPT, "--mapping", MAPPING, *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        got, got_meta = conv.read_safetensors(out)
        want, want_meta = conv.read_safetensors(os.path.join(FIX, "small.safetensors"))
        self.assertEqual(list(got), list(want))
        for name in want:
            self.assertEqual(got[name].dtype, want[name].dtype, name)
            self.assertEqual(got[name].shape, want[name].shape, name)
            self.assertTrue(np.array_equal(got[name], want[name]), name)
        self.assertEqual(got_meta["format"], "facet-livescene")
        self.assertEqual(got_meta["version"], "1")
        self.assertEqual(json.loads(got_meta["config"]), json.loads(want_meta["config"]))

    def test_config_is_read_from_the_shapes_and_the_side_files(self):
        result, out = self.convert(CKPT, "--mapping", MAPPING, *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        config = json.loads(conv.read_safetensors(out)[1]["config"])
        # the small config of tools/reference/livescene_ref.py
        self.assertEqual(config["grid_base_resolution"], [12, 10, 8, 6])
        self.assertEqual(config["multiscale_res"], [1, 2])
        self.assertEqual(config["grid_feature_dim"], 4)
        self.assertEqual(config["geo_feat_dim"], 15)
        self.assertEqual(config["proposals"], [{"resolution": [8, 8, 8, 6], "feature_dim": 4},
                                               {"resolution": [10, 10, 10, 6], "feature_dim": 4}])
        self.assertEqual(config["probability"], {"resolution": [9, 9, 9], "feature_dim": 4})
        self.assertEqual(config["objects"], ["drawer", "door"])  # mapping.yaml, id order
        self.assertEqual(config["num_proposal_samples"], [32, 16])
        self.assertEqual(config["num_samples"], 8)
        self.assertEqual(config["near_plane"], 0.0)
        with open(os.path.join(FIX, "dataparser_transforms.json")) as f:
            dt = json.load(f)
        self.assertEqual(config["dataparser_transform"], dt["transform"])
        self.assertEqual(config["dataparser_scale"], dt["scale"])

    def test_official_sample_counts_are_the_default(self):
        result, out = self.convert(CKPT, "--mapping", MAPPING)
        self.assertEqual(result.returncode, 0, result.stderr)
        config = json.loads(conv.read_safetensors(out)[1]["config"])
        self.assertEqual(config["num_proposal_samples"], [256, 128])
        self.assertEqual(config["num_samples"], 48)

    def test_objects_flag_names_objects_by_index(self):
        result, out = self.convert(CKPT, "--objects", "2", *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(conv.read_safetensors(out)[1]["config"])["objects"], ["object0", "object1"])

    def test_tcnn_padding_is_folded_into_the_first_bias(self):
        # sigma_net: 8 inputs padded to 16 with 1.0, so 0.bias is the sum of columns 8..15
        params = self.state()["pipeline"]["_model.field.sigma_net.params"].float().numpy()
        first = params[:64 * 16].reshape(64, 16)
        result, out = self.convert(CKPT, "--mapping", MAPPING, *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        t = conv.read_safetensors(out)[0]
        np.testing.assert_array_equal(t["field.sigma_net.0.weight"], first[:, :8])
        np.testing.assert_allclose(t["field.sigma_net.0.bias"], first[:, 8:].sum(axis=1), rtol=1e-6, atol=1e-6)
        # last layer: 16 rows in tcnn; the density head has 1 output row
        self.assertEqual(t["proposal.0.density_net.1.weight"].shape, (1, 64))

    def test_fp32_master_params_are_rounded_to_the_fp16_tcnn_computes_with(self):
        ckpt = self.state()
        key = "_model.field.color_net.params"
        params = ckpt["pipeline"][key].clone()
        params[0] = 0.1  # not an fp16 value: tcnn computes with fp16(0.1) = 0.0999755859375
        ckpt["pipeline"][key] = params
        result, out = self.convert(self.save(ckpt), "--mapping", MAPPING, *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(conv.read_safetensors(out)[0]["field.color_net.0.weight"][0, 0], np.float32(0.0999755859375))

    def test_fp16_params_convert_unchanged(self):
        ckpt = self.state()
        for key in [k for k in ckpt["pipeline"] if k.endswith(".params")]:
            ckpt["pipeline"][key] = ckpt["pipeline"][key].half()
        result, out = self.convert(self.save(ckpt), "--mapping", MAPPING, *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        got = conv.read_safetensors(out)[0]
        want = conv.read_safetensors(os.path.join(FIX, "small.safetensors"))[0]
        self.assertTrue(all(np.array_equal(got[k], want[k]) for k in want))

    def test_metric_weights_and_the_device_parameter_are_ignored(self):
        ckpt = self.state()
        for key in [k for k in ckpt["pipeline"] if k.startswith("_model.lpips.")]:
            del ckpt["pipeline"][key]
        del ckpt["pipeline"]["_model.device_indicator_param"]
        result, out = self.convert(self.save(ckpt), "--mapping", MAPPING, *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        got = conv.read_safetensors(out)[0]
        want = conv.read_safetensors(os.path.join(FIX, "small.safetensors"))[0]
        self.assertTrue(all(np.array_equal(got[k], want[k]) for k in want))

    def test_distributed_data_parallel_prefix_is_stripped(self):
        ckpt = self.state()
        ckpt["pipeline"] = {k.replace("_model.", "_model.module.", 1): v for k, v in ckpt["pipeline"].items()}
        result, out = self.convert(self.save(ckpt), "--mapping", MAPPING, *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)


class Rejections(ConverterCase):
    def test_missing_key_is_named(self):
        ckpt = self.state()
        del ckpt["pipeline"]["_model.field.sigma_net.params"]
        self.assert_rejected(self.save(ckpt), "missing key '_model.field.sigma_net.params'")

    def test_missing_plane_is_named(self):
        ckpt = self.state()
        del ckpt["pipeline"]["_model.proposal_networks.1.grids.plane_coefs.4"]
        self.assert_rejected(self.save(ckpt), "missing key '_model.proposal_networks.1.grids.plane_coefs.4'")

    def test_unexpected_key_is_named(self):
        ckpt = self.state()
        ckpt["pipeline"]["_model.field.extra_plane"] = torch.zeros(3)
        self.assert_rejected(self.save(ckpt), "unexpected key '_model.field.extra_plane'")

    def test_misshaped_plane_is_named(self):
        ckpt = self.state()
        key = "_model.field.grids.1.plane_coefs.3"  # axes (1, 2): [4, 16, 20]
        ckpt["pipeline"][key] = torch.zeros(4, 16, 21)
        self.assert_rejected(self.save(ckpt), f"key '{key}' has shape [4, 16, 21], expected [4, 16, 20]")

    def test_misshaped_network_is_named(self):
        ckpt = self.state()
        key = "_model.proposal_networks.0.density_net.params"
        ckpt["pipeline"][key] = ckpt["pipeline"][key][:-16].clone()
        self.assert_rejected(self.save(ckpt), f"key '{key}' has shape [2032], expected [2048]")

    def test_differing_language_network_copies_are_rejected(self):
        ckpt = self.state()
        key = "_model.proposal_language_networks.2.semantic_net.params"
        changed = ckpt["pipeline"][key].clone()
        changed[5] += 1
        ckpt["pipeline"][key] = changed
        self.assert_rejected(self.save(ckpt), f"key '{key}' differs from "
                                              "'_model.proposal_language_networks.0.semantic_net.params'")

    def test_object_count_is_required(self):
        self.assert_rejected(CKPT, "--mapping", "--objects", extra=())

    def test_object_count_must_fit_the_semantic_network(self):
        # 20 objects: input 4 + 20 pads to 32, output 21 to 32: 64*32 + 32*64 != 2048
        self.assert_rejected(CKPT, "key '_model.proposal_language_networks.0.semantic_net.params'",
                             "expected [4096]", extra=("--objects", "20"))

    def test_not_a_checkpoint(self):
        path = os.path.join(self.dir, "bad.ckpt")
        torch.save({"step": 1}, path)
        self.assert_rejected(path, "no 'pipeline' state dict")


def bilinear(plane, x, y):
    """grid_sample(align_corners=True, padding_mode='border') of plane [C, H, W] at (x, y) [M]."""
    c, h, w = plane.shape
    px = np.clip((x + 1) / 2 * (w - 1), 0, w - 1)
    py = np.clip((y + 1) / 2 * (h - 1), 0, h - 1)
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = px - x0, py - y0
    return ((plane[:, y0, x0] * (1 - fx) + plane[:, y0, x1] * fx) * (1 - fy)
            + (plane[:, y1, x0] * (1 - fx) + plane[:, y1, x1] * fx) * fy).T


class Language(ConverterCase):
    """Models trained with language: the official semantic_mapping and the training frames' ids."""

    KEY = "_model.proposal_language_networks.{}.semantic_mapping.plane_coefs.{}"

    def with_mapping(self, rows=2, dim=8, objects=2):
        ckpt = self.state()
        generator = torch.Generator().manual_seed(0)
        grids = [torch.rand(1, rows, dim, generator=generator) for _ in range(objects)]
        for k in range(3):  # one module under the three language-network prefixes
            for o, grid in enumerate(grids):
                ckpt["pipeline"][self.KEY.format(k, o)] = grid.clone()
        return ckpt, grids

    def test_semantic_mapping_and_training_frame_ids_are_carried(self):
        ckpt, grids = self.with_mapping()
        result, out = self.convert(self.save(ckpt), "--mapping", MAPPING, "--dataset",
                                   os.path.join(FIX, "dataset"), *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        got, _ = conv.read_safetensors(out)
        for o, grid in enumerate(grids):
            self.assertTrue(np.array_equal(got[f"language.semantic_mapping.{o}"], grid[0].numpy()))
        # frames frame_00001 .. frame_00006; the interval rule trains on indices 1, 3, 5
        np.testing.assert_array_equal(got["language.frame_ids"],
                                      np.array([2 / 6, 4 / 6, 6 / 6], np.float32))

    def test_without_a_dataset_only_the_mapping_is_carried(self):
        ckpt, _ = self.with_mapping()
        result, out = self.convert(self.save(ckpt), "--mapping", MAPPING, *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        got, _ = conv.read_safetensors(out)
        self.assertIn("language.semantic_mapping.1", got)
        self.assertNotIn("language.frame_ids", got)

    def test_training_frame_count_must_fit_the_mapping_rows(self):
        ckpt, _ = self.with_mapping(rows=3)
        dataset = os.path.join(FIX, "dataset")
        result, out = self.convert(self.save(ckpt), "--mapping", MAPPING, "--dataset", dataset,
                                   *SMALL_FLAGS)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"convert_livescene: {dataset}: has 3 training frames: the semantic mapping "
                      "of 3 rows needs 4 or 5", result.stderr)
        self.assertFalse(os.path.exists(out))

    def test_mapping_for_fewer_objects_than_the_model_is_rejected(self):
        ckpt, _ = self.with_mapping(objects=1)
        self.assert_rejected(self.save(ckpt), "the semantic mapping has 1 objects, the model 2")

    def test_differing_mapping_copies_are_rejected(self):
        ckpt, _ = self.with_mapping()
        ckpt["pipeline"][self.KEY.format(2, 1)] = ckpt["pipeline"][self.KEY.format(2, 1)] + 1
        self.assert_rejected(self.save(ckpt), f"key '{self.KEY.format(2, 1)}' differs from "
                                              f"'{self.KEY.format(0, 1)}'")


class Contract:
    """fields/livescene_format.md, implemented independently in float64 numpy on the converted
    weights: checks the converter output and the reference against the contract's formulas."""

    def __init__(self, path):
        tensors, meta = conv.read_safetensors(path)
        self.t = {k: v.astype(np.float64) for k, v in tensors.items()}
        self.c = json.loads(meta["config"])
        self.aabb = np.array(self.c["aabb"])
        self.alpha = len(self.c["objects"])

    def grid(self, prefix, coords):
        dims = coords.shape[1]
        out = 1.0
        for p, (a, b) in enumerate(itertools.combinations(range(dims), 2)):
            out = out * bilinear(self.t[f"{prefix}{p}"], coords[:, a], coords[:, b])
        return out

    def mlp(self, name, x, sigmoid=False):
        h = x @ self.t[f"{name}.0.weight"].T + self.t[f"{name}.0.bias"]
        layer = 1
        while f"{name}.{layer}.weight" in self.t:
            h = np.maximum(h, 0) @ self.t[f"{name}.{layer}.weight"].T
            layer += 1
        return 1 / (1 + np.exp(-h)) if sigmoid else h

    def probability(self, x, kappa):
        f = 1 / (1 + np.exp(-self.grid("probability.plane.", x)))
        logits = self.mlp("probability.semantic_net", np.concatenate([f, kappa], -1))
        obj = np.argmax(logits[:, :self.alpha], -1)
        return f, logits, obj, kappa[np.arange(len(x)), obj]

    def coords(self, x, ksel):
        return np.concatenate([(x - self.aabb[0]) / (self.aabb[1] - self.aabb[0]) * 2 - 1, 2 * ksel[:, None] - 1], -1)

    def proposal(self, i, x, ksel):
        features = self.grid(f"proposal.{i}.plane.", self.coords(x, ksel))
        return np.exp(self.mlp(f"proposal.{i}.density_net", features)[:, 0] - 1)

    @staticmethod
    def sh(d):
        x, y, z = d[:, 0], d[:, 1], d[:, 2]
        return np.stack([np.full_like(x, 0.28209479177387814), -0.48860251190291987 * y, 0.48860251190291987 * z,
                         -0.48860251190291987 * x, 1.0925484305920792 * x * y, -1.0925484305920792 * y * z,
                         0.94617469575755997 * z * z - 0.31539156525251999, -1.0925484305920792 * x * z,
                         0.54627421529603959 * (x * x - y * y), 0.59004358992664352 * y * (-3 * x * x + y * y),
                         2.8906114426405538 * x * y * z, 0.45704579946446572 * y * (1 - 5 * z * z),
                         0.3731763325901154 * z * (5 * z * z - 3), 0.45704579946446572 * x * (1 - 5 * z * z),
                         1.4453057213202769 * z * (x * x - y * y), 0.59004358992664352 * x * (-x * x + 3 * y * y)], -1)

    def field(self, x, d, ksel):
        coords = self.coords(x, ksel)
        feats = np.concatenate([self.grid(f"field.grids.{s}.plane.", coords)
                                for s in range(len(self.c["multiscale_res"]))], -1)
        h = self.mlp("field.sigma_net", feats)
        sh = self.sh(d)
        rgb = self.mlp("field.color_net", np.concatenate([sh, h[:, :15]], -1), sigmoid=True)
        return feats, h, np.exp(h[:, 15] - 1), sh, rgb

    def render(self, o, d, kappa):
        t1 = (self.aabb[0] - o) / (d + 1e-6)
        t2 = (self.aabb[1] - o) / (d + 1e-6)
        near = np.maximum(np.max(np.minimum(t1, t2), -1), self.c["near_plane"])
        far = np.maximum(np.min(np.maximum(t1, t2), -1), near + 1e-6)
        counts = self.c["num_proposal_samples"] + [self.c["num_samples"]]
        bins = np.arange(counts[0] + 1) / counts[0]
        levels = []
        for level, n in enumerate(counts):
            if level > 0:
                w = levels[-1]["weights"] + 0.01
                w += max(0.0, 1e-5 - w.sum()) / len(w)
                cdf = np.concatenate([[0.0], np.minimum(1, np.cumsum(w / w.sum()))])
                u = (np.arange(n + 1) + 0.5) / (n + 1)
                i = np.searchsorted(cdf, u, side="right")
                below, above = np.clip(i - 1, 0, len(bins) - 1), np.clip(i, 0, len(bins) - 1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    frac = np.clip(np.nan_to_num((u - cdf[below]) / (cdf[above] - cdf[below])), 0, 1)
                bins = bins[below] + frac * (bins[above] - bins[below])
            t = bins * far + (1 - bins) * near
            mids = (t[:-1] + t[1:]) / 2
            x = o + d * mids[:, None]
            _, logits, _, ksel = self.probability(x, np.tile(kappa, (n, 1)))
            if level < len(counts) - 1:
                sigma = self.proposal(level, x, ksel)
            else:
                _, _, sigma, _, rgb = self.field(x, np.tile(d, (n, 1)), ksel)
            sd = sigma * (t[1:] - t[:-1])
            weights = (1 - np.exp(-sd)) * np.exp(-np.concatenate([[0.0], np.cumsum(sd)[:-1]]))
            levels.append({"bins": bins, "weights": weights, "logits": logits, "ksel": ksel, "density": sigma})
        w = levels[-1]["weights"]
        acc = w.sum()
        color = np.clip((w[:, None] * rgb).sum(0) + (1 - acc), 0, 1)
        k = min(np.searchsorted(np.cumsum(w), 0.5, side="left"), len(w) - 1)
        m = (w[:, None] * levels[-1]["logits"]).sum(0)
        masks = np.exp(m - m.max()) / np.exp(m - m.max()).sum()
        return {"near": near, "far": far, "levels": levels, "rgb": color, "depth": mids[k], "acc": acc, "masks": masks}


class ContractMath(unittest.TestCase):
    """The contract's math on the converted weights reproduces the reference's fixtures."""

    @classmethod
    def setUpClass(cls):
        cls.model = Contract(os.path.join(FIX, "small.safetensors"))
        fixtures, cls.meta = conv.read_safetensors(os.path.join(FIX, "fixtures.safetensors"))
        cls.f = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in fixtures.items()}

    def close(self, got, name, rtol=1e-5, atol=1e-6):
        np.testing.assert_allclose(got, self.f[name], rtol=rtol, atol=atol, err_msg=name)

    def test_fixture_config_is_the_converted_config(self):
        self.assertEqual(json.loads(self.meta["config"]), self.model.c)

    def test_points(self):
        f = self.f
        x, kappa, d = f["point.positions"], f["point.kappa"], f["point.directions"]
        feats, logits, obj, ksel = self.model.probability(x, kappa)
        self.close(feats, "point.prob_features")
        self.close(logits, "point.logits")
        np.testing.assert_array_equal(obj, f["point.object"])
        self.close(ksel, "point.kappa_sel")
        for i in range(2):
            self.close(self.model.proposal(i, x, ksel), f"point.proposal.{i}.density")
        feats, h, sigma, sh, rgb = self.model.field(x, d, ksel)
        self.close(feats, "point.field.features")
        self.close(h, "point.field.sigma_out", atol=1e-5)
        self.close(sigma, "point.field.density")
        self.close(sh, "point.sh")
        self.close(rgb, "point.rgb")

    def test_rays(self):
        f = self.f
        for r in range(f["ray.origins"].shape[0]):
            out = self.model.render(f["ray.origins"][r], f["ray.directions"][r], f["ray.kappa"][r])
            with self.subTest(ray=r):
                np.testing.assert_allclose(out["near"], f["ray.nears"][r], rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(out["far"], f["ray.fars"][r], rtol=1e-5, atol=1e-6)
                for level, lv in enumerate(out["levels"]):
                    np.testing.assert_allclose(lv["bins"], f[f"ray.level{level}.bins"][r], rtol=1e-4, atol=1e-5)
                    np.testing.assert_allclose(lv["ksel"], f[f"ray.level{level}.kappa_sel"][r], atol=1e-7)
                    np.testing.assert_allclose(lv["weights"], f[f"ray.level{level}.weights"][r], rtol=1e-3, atol=1e-5)
                np.testing.assert_allclose(out["rgb"], f["ray.rgb"][r], rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(out["depth"], f["ray.depth"][r], rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(out["acc"], f["ray.accumulation"][r], rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(out["masks"], f["ray.masks"][r], rtol=1e-4, atol=1e-5)


class Dataset(unittest.TestCase):
    """tests/fixtures/livescene/dataset: the LiveScene sim layout the official dataparser reads."""

    root = os.path.join(FIX, "dataset")

    def test_kappa_normalisation_is_the_identity_in_both_splits(self):
        with open(os.path.join(self.root, "transforms.json")) as f:
            frames = [os.path.basename(fr["file_path"]) for fr in json.load(f)["frames"]]
        with open(os.path.join(self.root, "key_frame_value.yaml")) as f:
            values = yaml.safe_load(f)
        with open(os.path.join(self.root, "mapping.yaml")) as f:
            names = [v for _, v in sorted(yaml.safe_load(f).items())]
        for split in (0, 1):  # index % 2 == 0: test (eval_interval 2), else train
            rows = [[values[name][o] for o in names] for i, name in enumerate(frames) if i % 2 == split]
            v = np.array(rows, np.float32)
            normalised = (v - v.min(0)) / (v.max(0) - v.min(0))  # atrb_utils.interp_atrb_values
            np.testing.assert_array_equal(normalised, v)

    def test_images_and_masks(self):
        from PIL import Image

        with open(os.path.join(self.root, "transforms.json")) as f:
            frames = json.load(f)["frames"]
        for fr in frames:
            image = np.array(Image.open(os.path.join(self.root, fr["file_path"] + ".png")))
            self.assertEqual(image.shape, (18, 24, 3))
            fid = fr["file_path"].rsplit("_", 1)[1]
            mask = np.load(os.path.join(self.root, "masks", fid + ".npy"))
            self.assertEqual((mask.shape, mask.dtype), ((18, 24, 3), np.bool_))
            np.testing.assert_array_equal(mask.sum(-1), 1)  # one-hot


if __name__ == "__main__":
    unittest.main()
