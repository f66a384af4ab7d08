#!/usr/bin/python3
"""tools/convert_fqgan.py on official-format checkpoints written by tools/reference/fqgan_ref.py:
which weights are taken, what is dropped, the metadata, the file layout, and every rejection.
Run by tests/convert_fqgan_test.sh (ctest `convert_fqgan`, skipped without torch)."""
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
import convert_fqgan  # noqa: E402
import fqgan_ref  # noqa: E402


def read_safetensors(path):
    """({name: array}, metadata, data start offset) of a safetensors file, parsed by hand."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__")
    tensors, end = {}, 0
    for name, info in header.items():
        assert info["dtype"] == "F32", name
        begin, stop = info["data_offsets"]
        end = max(end, stop)
        tensors[name] = np.frombuffer(raw[8 + n + begin:8 + n + stop], "<f4").reshape(info["shape"])
    assert 8 + n + end == len(raw), "data section ends at the end of the file"
    return tensors, metadata, 8 + n


class ConvertFqgan(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        cls.dual = os.path.join(cls.dir, "dual16.pt")
        fqgan_ref.write_checkpoint(fqgan_ref.make_config("small-dual16"), 1, "ema+model", cls.dual)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def convert(self, ckpt, name="out.safetensors", heads=8):
        out = os.path.join(self.dir, name)
        err = io.StringIO()
        with redirect_stderr(err):
            status = convert_fqgan.main([ckpt, out, "--adapter-heads", str(heads)])
        return status, out, err.getvalue()

    def save(self, obj, name):
        path = os.path.join(self.dir, name)
        torch.save(obj, path)
        return path

    def expect_error(self, ckpt, fragment):
        status, out, err = self.convert(ckpt, "rejected.safetensors")
        self.assertEqual(status, 1)
        self.assertIn(fragment, err)
        self.assertTrue(err.startswith("convert_fqgan: "), err)
        self.assertFalse(os.path.exists(out), "nothing is written on error")

    def test_ema_weights_are_converted_and_training_heads_dropped(self):
        status, out, _ = self.convert(self.dual)
        self.assertEqual(status, 0)
        tensors, meta, _ = read_safetensors(out)
        ckpt = torch.load(self.dual, map_location="cpu")
        expected = fqgan_ref.inference_keys(ckpt["ema"])
        self.assertEqual(sorted(tensors), sorted(expected))
        for key in expected:
            np.testing.assert_array_equal(tensors[key], ckpt["ema"][key].numpy(), err_msg=key)
        self.assertFalse(any(k.startswith("feat_pred_head.") for k in tensors))
        self.assertFalse(any(k.endswith("codebook_used") for k in tensors))
        # 'model' holds different (seed + 1) weights: the converter took 'ema'
        key = "encoder.conv_in.weight"
        self.assertFalse(np.array_equal(tensors[key], ckpt["model"][key].numpy()))

    def test_weights_are_the_hash_weights_facet_rebuilds(self):
        """The reference's ema weights are facet_fqgan_write_random's for the same seed."""
        _, out, _ = self.convert(self.dual)
        tensors, _, _ = read_safetensors(out)
        for key in ("decoder.conv_out.bias", "quantize_sem.embedding.weight",
                    "encoder.visual_head.0.transformer.1.attn.in_proj_weight"):
            np.testing.assert_array_equal(
                tensors[key], fqgan_ref.hash_tensor(key, tensors[key].shape, 1), err_msg=key)

    def test_metadata_describes_the_variant_and_sizes(self):
        _, out, _ = self.convert(self.dual)
        _, meta, data_start = read_safetensors(out)
        self.assertEqual(meta["format"], "facet-fqgan")
        self.assertEqual(meta["version"], "1")
        self.assertEqual(meta["variant"], "dual")
        config = json.loads(meta["config"])
        small = fqgan_ref.metadata_config(fqgan_ref.make_config("small-dual16"))
        self.assertEqual(config, small)
        self.assertIn("'ema', step 1000", meta["source"])
        self.assertEqual(data_start % 8, 0, "data section 8-byte aligned")

    def test_triple8_reads_its_branches_and_trunk(self):
        path = os.path.join(self.dir, "triple8.pt")
        fqgan_ref.write_checkpoint(fqgan_ref.make_config("small-triple8"), 2, "model", path)
        status, out, _ = self.convert(path, "triple8.safetensors")
        self.assertEqual(status, 0)
        tensors, meta, _ = read_safetensors(out)
        config = json.loads(meta["config"])
        self.assertEqual(config["branches"], ["vis", "sem_mid", "sem_high"])
        self.assertEqual((config["downsample"], config["grid"], config["ch_mult"]),
                         (8, 8, [1, 2, 2, 4]))
        self.assertEqual(config["dec_res_blocks"], 3)
        self.assertNotIn("mid_sem_feat_pred.ln_pre.weight", tensors)
        self.assertEqual(tensors["post_quant_conv.weight"].shape, (32, 24, 1, 1))

    def test_state_dict_and_ddp_prefixes_are_accepted(self):
        sd = torch.load(self.dual, map_location="cpu")["ema"]
        path = self.save({"state_dict": {"module." + k: v for k, v in sd.items()}}, "ddp.pt")
        status, out, _ = self.convert(path, "ddp.safetensors")
        self.assertEqual(status, 0)
        tensors, _, _ = read_safetensors(out)
        np.testing.assert_array_equal(tensors["decoder.conv_in.weight"],
                                      sd["decoder.conv_in.weight"].numpy())

    def test_missing_key_is_named(self):
        sd = dict(torch.load(self.dual, map_location="cpu")["ema"])
        del sd["encoder.mid.1.proj_out.bias"]
        self.expect_error(self.save({"model": sd}, "missing.pt"),
                          "missing key 'encoder.mid.1.proj_out.bias' (expected shape [128])")

    def test_misshaped_key_is_named(self):
        sd = dict(torch.load(self.dual, map_location="cpu")["ema"])
        sd["encoder.semantic_head.0.ln_post.weight"] = torch.zeros(64)
        self.expect_error(self.save({"model": sd}, "shape.pt"),
                          "key 'encoder.semantic_head.0.ln_post.weight' has shape [64], "
                          "expected [128]")

    def test_unexpected_key_is_named(self):
        sd = dict(torch.load(self.dual, map_location="cpu")["ema"])
        sd["encoder.conv_blocks.0.res.0.conv_shortcut.weight"] = torch.zeros(1)
        self.expect_error(self.save({"model": sd}, "extra.pt"),
                          "unexpected key 'encoder.conv_blocks.0.res.0.conv_shortcut.weight'")

    def test_args_disagreeing_with_the_shapes_are_rejected(self):
        ckpt = torch.load(self.dual, map_location="cpu")
        ckpt["args"].vq_model = "VQ-8"
        self.expect_error(self.save(ckpt, "args.pt"),
                          "args.vq_model is 'VQ-8' but the weights' shapes give 'VQ-16'")

    def test_no_weights_and_garbage_are_rejected(self):
        self.expect_error(self.save({"steps": 3, "args": None}, "empty.pt"),
                          "no 'ema', 'model' or 'state_dict' weights")
        garbage = os.path.join(self.dir, "garbage.pt")
        with open(garbage, "wb") as f:
            f.write(b"not a checkpoint")
        self.expect_error(garbage, "cannot be read as a torch checkpoint")

    def test_heads_must_divide_the_width(self):
        status, _, err = self.convert(self.dual, "heads.safetensors", heads=7)
        self.assertEqual(status, 1)
        self.assertIn("adapter width 128 is not divisible by 7 heads", err)

    @unittest.skipUnless(os.environ.get("FACET_BINARY_DIR"), "FACET_BINARY_DIR not set")
    def test_converted_weights_load_and_run_in_facet(self):
        _, out, _ = self.convert(self.dual)
        bench = os.path.join(os.environ["FACET_BINARY_DIR"], "bench_fqgan")
        run = subprocess.run([bench, out, "--iters", "1"], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        lines = [json.loads(line) for line in run.stdout.splitlines()]
        self.assertEqual([(r["variant"], r["op"]) for r in lines],
                         [("dual-16", "encode"), ("dual-16", "decode")])

    def test_failed_conversion_leaves_an_existing_output_alone(self):
        out = os.path.join(self.dir, "keep.safetensors")
        with open(out, "wb") as f:
            f.write(b"previous")
        sd = dict(torch.load(self.dual, map_location="cpu")["ema"])
        del sd["decoder.conv_out.bias"]
        bad = self.save({"model": sd}, "bad.pt")
        with redirect_stderr(io.StringIO()):
            self.assertEqual(convert_fqgan.main([bad, out]), 1)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"previous")
        self.assertEqual([n for n in os.listdir(self.dir) if n.startswith(".tmp-")], [])


if __name__ == "__main__":
    unittest.main()
