#!/usr/bin/python3
"""tools/convert_risesdf.py against official-format checkpoints written by the independent
reference tools/reference/risesdf_ref.py, and the committed fixtures (tests/fixtures/risesdf/).

Run: /usr/bin/python3 tests/test_convert_risesdf.py -v   (tests/convert_risesdf_test.sh under
ctest).
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures", "risesdf")
CONVERTER = os.path.join(ROOT, "tools", "convert_risesdf.py")
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
import convert_risesdf as conv  # noqa: E402
import risesdf_ref as ref  # noqa: E402
from convert_livescene import read_safetensors  # noqa: E402

SMALL_FLAGS = ["--n-levels", "6", "--log2-hashmap-size", "11", "--base-resolution", "8",
               "--per-level-scale", "1.5"]


class ConverterCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ckpt = os.path.join(cls.tmp.name, "small.ckpt")
        ref.write_checkpoint(cls.ckpt, "small", 1)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def convert(self, ckpt, *extra):
        out = os.path.join(self.tmp.name, "out.safetensors")
        if os.path.exists(out):
            os.unlink(out)
        result = subprocess.run([sys.executable, CONVERTER, ckpt, out, *extra],
                                capture_output=True, text=True)
        return result, out

    def modified(self, change):
        ckpt = torch.load(self.ckpt, map_location="cpu")
        change(ckpt["state_dict"])
        path = os.path.join(self.tmp.name, "modified.ckpt")
        torch.save(ckpt, path)
        return path

    def assert_rejected(self, ckpt, *needles):
        result, out = self.convert(ckpt, *SMALL_FLAGS)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertTrue(result.stderr.startswith(f"convert_risesdf: {ckpt}: "), result.stderr)
        for needle in needles:
            self.assertIn(needle, result.stderr)
        self.assertFalse(os.path.exists(out), "no output is written on error")

    def test_converts_the_reference_checkpoint_to_the_committed_fixture(self):
        """Same seed -> byte-identical tensors to tests/fixtures/risesdf/small.safetensors."""
        result, out = self.convert(self.ckpt, *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        got, meta = read_safetensors(out)
        want, want_meta = read_safetensors(os.path.join(FIX, "small.safetensors"))
        self.assertEqual(list(got), list(want))
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
        self.assertEqual(meta["format"], "facet-risesdf")
        self.assertEqual(meta["version"], "1")
        self.assertEqual(json.loads(meta["config"]), json.loads(want_meta["config"]))

    def test_layout_follows_the_format_doc(self):
        result, out = self.convert(self.ckpt, *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        got, meta = read_safetensors(out)
        cfg = json.loads(meta["config"])
        # f16 tcnn params stay f16; weight_g [out, 1] becomes [out]
        self.assertEqual(got["geometry.encoding.params"].dtype, np.float16)
        self.assertEqual(got["geometry.encoding.params"].shape, (conv.grid_param_count(cfg),))
        self.assertEqual(got["geometry.network.0.weight_v"].shape, (64, 3 + 6 * 2))
        self.assertEqual(got["geometry.network.0.weight_g"].shape, (64,))
        self.assertEqual(got["texture.albedo.4.weight"].shape, (6, 64))
        self.assertEqual(got["texture.metallic.2.bias"].shape, (2,))
        self.assertEqual(got["variance"].shape, (1,))
        self.assertAlmostEqual(float(got["variance"][0]), 0.3, places=6)
        self.assertAlmostEqual(cfg["finite_difference_eps"], 3 / (8 * 1.5 ** 5))
        self.assertFalse(any(k.startswith("texture.env") for k in got), "env head is skipped")

    def test_default_config_matches_tcnn_parameter_count(self):
        self.assertEqual(conv.grid_param_count(conv.DEFAULTS), 14533536)
        self.assertAlmostEqual(conv.DEFAULTS["per_level_scale"], 1.447269237440378)

    def test_new_style_weight_norm_keys_are_accepted(self):
        def rename(sd):
            for i in (0, 2, 4):
                base = f"model.geometry.network.layers.{i}"
                sd[base + ".parametrizations.weight.original0"] = sd.pop(base + ".weight_g")
                sd[base + ".parametrizations.weight.original1"] = sd.pop(base + ".weight_v")
        result, out = self.convert(self.modified(rename), *SMALL_FLAGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        got, _ = read_safetensors(out)
        want, _ = read_safetensors(os.path.join(FIX, "small.safetensors"))
        np.testing.assert_array_equal(got["geometry.network.2.weight_v"],
                                      want["geometry.network.2.weight_v"])

    def test_missing_key_is_named(self):
        ckpt = self.modified(lambda sd: sd.pop("model.texture.roughness_network.layers.2.bias"))
        self.assert_rejected(ckpt, "missing key 'model.texture.roughness_network.layers.2.bias'")

    def test_missing_hash_grid_is_named(self):
        ckpt = self.modified(lambda sd: sd.pop("model.geometry.encoding.encoding.encoding.params"))
        self.assert_rejected(ckpt, "missing key 'model.geometry.encoding.encoding.encoding.params'")

    def test_misshaped_key_is_named_with_both_shapes(self):
        def shrink(sd):
            sd["model.texture.albedo_network.layers.2.bias"] = torch.zeros(63)
        self.assert_rejected(self.modified(shrink),
                             "key 'model.texture.albedo_network.layers.2.bias': expected shape [64], "
                             "got [63]")

    def test_hash_grid_size_must_match_the_config(self):
        result, out = self.convert(self.ckpt)  # default config flags: 16 levels
        self.assertEqual(result.returncode, 1)
        self.assertIn("key 'model.geometry.encoding.encoding.encoding.params': expected shape "
                      "[14533536]", result.stderr)

    def test_unexpected_key_in_a_converted_module_is_named(self):
        def extra(sd):
            sd["model.geometry.network.layers.0.weight_extra"] = torch.zeros(1)
        self.assert_rejected(self.modified(extra),
                             "unexpected key 'model.geometry.network.layers.0.weight_extra'")

    def test_keys_outside_model_are_rejected(self):
        def outside(sd):
            sd["ema.variance"] = torch.zeros(1)
        self.assert_rejected(self.modified(outside), "unexpected key 'ema.variance'")

    def test_not_a_lightning_checkpoint(self):
        path = os.path.join(self.tmp.name, "plain.ckpt")
        torch.save({"weights": torch.zeros(1)}, path)
        self.assert_rejected(path, "not a Lightning checkpoint (no 'state_dict')")

    def test_official_config_yaml_sets_the_grid(self):
        path = os.path.join(self.tmp.name, "config.yaml")
        with open(path, "w") as f:
            f.write("model:\n  radius: 1.5\n  geometry:\n    feature_dim: 48\n"
                    "    xyz_encoding_config:\n      otype: ProgressiveBandHashGrid\n"
                    "      n_levels: 6\n      n_features_per_level: 2\n"
                    "      log2_hashmap_size: 11\n      base_resolution: 8\n"
                    "      per_level_scale: 1.5\n"
                    "  texture:\n    xyz_encoding_config:\n      n_frequencies: 6\n")
        result, out = self.convert(self.ckpt, "--config", path)
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
