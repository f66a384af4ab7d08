#!/usr/bin/python3
"""tools/convert_lpips.py and tools/torch_pth.py against files torch.save writes itself: state_dicts
in both layouts (zip, legacy) read back exactly as torch.load reads them, a torchvision AlexNet /
VGG16 backbone with the lpips wheel's heads converted tensor for tensor, and every refusal (a
missing, misshaped or unexpected tensor, another net, a pickled module, a damaged file).

The reference run (tools/reference/lpips_reference.py) converts the same way before it records the
fixtures; this test keeps the converter checked wherever torch is installed.

Run: /usr/bin/python3 tests/test_convert_lpips.py -v   (tests/convert_lpips_test.sh under ctest).
"""
import collections
import json
import os
import subprocess
import sys
import tempfile
import unittest
import zipfile

import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONVERTER = os.path.join(ROOT, "tools", "convert_lpips.py")
WHEEL = os.path.join(ROOT, "models", "lpips-0.1.4-py3-none-any.whl")
sys.path.insert(0, os.path.join(ROOT, "tools"))
import safetensors_file  # noqa: E402
import torch_pth  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    header, base = safetensors_file.read_header(data)
    tensors = collections.OrderedDict()
    for name, e in header.items():
        if name != "__metadata__":
            tensors[name] = (e["dtype"], tuple(e["shape"]),
                             data[base + e["data_offsets"][0]:base + e["data_offsets"][1]])
    return header["__metadata__"], tensors


def heads_state_dict(net):
    """Heads of the lpips layout (lin<k>.model.1.weight), random non-negative."""
    channels = {"alex": [64, 192, 384, 256, 256], "vgg16": [64, 128, 256, 512, 512]}[net]
    g = torch.Generator().manual_seed(3)
    return collections.OrderedDict((f"lin{k}.model.1.weight", torch.rand(1, c, 1, 1, generator=g))
                                   for k, c in enumerate(channels))


class ReaderCase(unittest.TestCase):
    def check_same(self, sd, legacy):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "sd.pth")
            torch.save(sd, path, _use_new_zipfile_serialization=not legacy)
            got = torch_pth.load_state_dict(path)
            ref = torch.load(path, map_location="cpu")
        self.assertEqual(list(got), list(ref))
        for name, t in ref.items():
            self.assertEqual(got[name].shape, tuple(t.shape), name)
            self.assertEqual(got[name].data, t.detach().contiguous().numpy().tobytes(), name)

    def state_dict(self):
        g = torch.Generator().manual_seed(1)
        base = torch.randn(6, 5, generator=g)
        return collections.OrderedDict([
            ("contiguous", torch.randn(3, 4, generator=g)),
            ("transposed", base.t()),                       # strides (1, 5)
            ("slice", torch.arange(20, dtype=torch.int64)[3:11]),  # storage offset 3
            ("shared_a", base[1]), ("shared_b", base[2:4]),  # one storage, three views
            ("half", torch.randn(7, generator=g).half()),
            ("empty", torch.zeros(0, 3)),
            ("scalar", torch.tensor(2.5)),
            ("parameter", torch.nn.Parameter(torch.randn(2, 2, generator=g))),
        ])

    def test_zip_layout_reads_as_torch_load(self):
        self.check_same(self.state_dict(), legacy=False)

    def test_legacy_layout_reads_as_torch_load(self):
        self.check_same(self.state_dict(), legacy=True)

    def test_refuses_what_is_not_a_state_dict(self):
        with tempfile.TemporaryDirectory() as tmp:
            module = os.path.join(tmp, "module.pth")
            torch.save(torch.nn.Linear(2, 3), module)
            with self.assertRaisesRegex(torch_pth.PthError, "refusing to unpickle"):
                torch_pth.load_state_dict(module)
            with open(module, "rb") as f:
                data = f.read()
            for cut in (10, len(data) // 2):
                with self.assertRaises(torch_pth.PthError):
                    torch_pth.load_state_dict_bytes(data[:cut])
            legacy = os.path.join(tmp, "legacy.pth")
            torch.save({"w": torch.ones(100)}, legacy, _use_new_zipfile_serialization=False)
            with open(legacy, "rb") as f:
                data = f.read()
            with self.assertRaisesRegex(torch_pth.PthError, "truncated"):
                torch_pth.load_state_dict_bytes(data[:-40])


class ConverterCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.backbones = {}
        for net, ctor, legacy in (("alex", torchvision.models.alexnet, True),
                                  ("vgg16", torchvision.models.vgg16, False)):
            torch.manual_seed(0)
            sd = ctor().state_dict()
            sd = collections.OrderedDict((k, v) for k, v in sd.items()
                                         if k.startswith("features.") or k == "classifier.6.bias")
            path = os.path.join(cls.tmp.name, f"{net}.pth")
            torch.save(sd, path, _use_new_zipfile_serialization=not legacy)
            heads = os.path.join(cls.tmp.name, f"{net}_heads.pth")
            torch.save(heads_state_dict(net), heads, _use_new_zipfile_serialization=False)
            cls.backbones[net] = (sd, path, heads)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_converter(self, *args):
        return subprocess.run([sys.executable, CONVERTER, *args], capture_output=True, text=True)

    def out_path(self):
        return os.path.join(self.tmp.name, "out.safetensors")

    def convert_ok(self, *args):
        r = self.run_converter(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return read_safetensors(self.out_path())

    def test_backbones_and_heads_convert_tensor_for_tensor(self):
        for net, (sd, path, heads) in self.backbones.items():
            metadata, tensors = self.convert_ok(path, heads, self.out_path())
            self.assertEqual(metadata["format"], "facet-lpips")
            self.assertEqual(metadata["version"], "1")
            self.assertEqual(json.loads(metadata["config"]),
                             {"net": net, "lpips_version": "0.1", "backbone": True})
            self.assertIn("sha256:", metadata["source_backbone"])
            want = collections.OrderedDict((k, v) for k, v in sd.items()
                                           if k.startswith("features."))
            for k, v in heads_state_dict(net).items():
                want[k.replace(".model.1", "")] = v
            self.assertEqual(list(tensors), list(want))
            for name, t in want.items():
                self.assertEqual(tensors[name], ("F32", tuple(t.shape), t.numpy().tobytes()),
                                 name)

    @unittest.skipUnless(os.path.exists(WHEEL), "no models/lpips wheel (scripts/setup.sh)")
    def test_the_wheels_heads(self):
        sd, path, _ = self.backbones["alex"]
        _, tensors = self.convert_ok(path, WHEEL, self.out_path())
        with zipfile.ZipFile(WHEEL) as z, tempfile.TemporaryDirectory() as tmp:
            z.extract("lpips/weights/v0.1/alex.pth", tmp)
            ref = torch.load(os.path.join(tmp, "lpips/weights/v0.1/alex.pth"), map_location="cpu")
        for k in range(5):
            self.assertEqual(tensors[f"lin{k}.weight"][2],
                             ref[f"lin{k}.model.1.weight"].numpy().tobytes())
        metadata, tensors = self.convert_ok("--heads-only", WHEEL, self.out_path(), "--net", "vgg")
        self.assertEqual(json.loads(metadata["config"])["backbone"], False)
        self.assertEqual(list(tensors), [f"lin{k}.weight" for k in range(5)])
        self.assertEqual(tensors["lin3.weight"][1], (1, 512, 1, 1))

    def modified(self, net, change):
        sd, _, heads = self.backbones[net]
        sd = collections.OrderedDict(sd)
        change(sd)
        path = os.path.join(self.tmp.name, "modified.pth")
        torch.save(sd, path)
        return path, heads

    def expect_error(self, fragment, *args):
        r = self.run_converter(*args)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(fragment, r.stderr)
        self.assertTrue(r.stderr.startswith("convert_lpips: "), r.stderr)

    def test_refusals(self):
        out = self.out_path()
        path, heads = self.modified("alex", lambda sd: sd.pop("features.8.bias"))
        self.expect_error("missing tensor 'features.8.bias'", path, heads, out)
        path, heads = self.modified("alex", lambda sd: sd.update(
            {"features.6.weight": torch.zeros(384, 192, 5, 5)}))
        self.expect_error("'features.6.weight' is [384, 192, 5, 5], expected [384, 192, 3, 3]",
                          path, heads, out)
        path, heads = self.modified("alex", lambda sd: sd.update(
            {"features.3.weight": sd["features.3.weight"].double()}))
        self.expect_error("float32", path, heads, out)
        path, heads = self.modified("alex", lambda sd: sd.update({"features.1.weight":
                                                                  torch.zeros(3)}))
        self.expect_error("unexpected tensor 'features.1.weight'", path, heads, out)
        path, heads = self.modified("alex", lambda sd: sd.update(
            {"features.0.weight": torch.zeros(64, 3, 7, 7)}))
        self.expect_error("neither AlexNet", path, heads, out)
        _, alex, alex_heads = self.backbones["alex"]
        _, vgg, vgg_heads = self.backbones["vgg16"]
        self.expect_error("a alex backbone, but --net vgg16", alex, alex_heads, out, "--net",
                          "vgg16")
        self.expect_error("'lin1.model.1.weight' is [1, 128, 1, 1], expected [1, 192, 1, 1]", alex,
                          vgg_heads, out)  # heads of the other net
        self.expect_error("missing tensor 'lin0.model.1.weight'", alex, vgg, out)
        self.expect_error("No such file", os.path.join(self.tmp.name, "none.pth"), alex_heads,
                          out)
        damaged = os.path.join(self.tmp.name, "damaged.pth")
        with open(alex, "rb") as f, open(damaged, "wb") as g:
            g.write(f.read()[:5000])
        self.expect_error("damaged.pth", damaged, alex_heads, out)
        module = os.path.join(self.tmp.name, "module.pth")
        torch.save(torchvision.models.alexnet(), module)
        self.expect_error("refusing to unpickle", module, alex_heads, out)
        r = self.run_converter("--heads-only", alex_heads, out)
        self.assertEqual(r.returncode, 2)  # usage: --heads-only needs --net
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "out.safetensors.tmp")))


if __name__ == "__main__":
    unittest.main()
