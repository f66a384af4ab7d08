"""Shared fixtures: the facet executable and source tree the bindings are compared with.

FACET_BIN (the CLI) and FACET_SOURCE (the repository) come from tests/python_test.sh; run
directly, they default to ../../build/facet and ../.."""
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("FACET_SOURCE", os.path.abspath(os.path.join(HERE, "..", "..")))
FACET = os.environ.get("FACET_BIN", os.path.join(SOURCE, "build", "facet"))


def run_cli(*args, check=True):
    """Runs the facet CLI; returns CompletedProcess (text)."""
    result = subprocess.run([FACET, *map(str, args)], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError("facet %s failed (%d): %s" % (" ".join(map(str, args)),
                                                           result.returncode, result.stderr))
    return result


@pytest.fixture(scope="session")
def source():
    return SOURCE


@pytest.fixture(scope="session")
def small_model(tmp_path_factory):
    """Small Dual-16 FQGAN weights (64x64 images, 4x4 grid, 512 codes), the hash weights of
    tests/fixtures/fqgan/small-dual16 (seed 1)."""
    import json
    import facet
    meta = json.load(open(os.path.join(SOURCE, "tests/fixtures/fqgan/small-dual16/meta.json")))
    path = str(tmp_path_factory.mktemp("model") / "small.safetensors")
    facet.tokenizer.write_random_weights(path, meta["config"], 1)
    return path


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory):
    """Five decodable photos and drawings of several formats and sizes, in two class folders."""
    inputs = os.path.join(SOURCE, "tests/fixtures/tokenize/inputs")
    root = tmp_path_factory.mktemp("images")
    picks = {"cat/a.jpg": "jpeg420_1030x771.jpg", "cat/b.png": "png_gray_333x277.png",
             "dog/c.png": "png_rgb16_150x130.png", "dog/d.jpg": "jpeg444_300x300.jpg",
             "dog/e.bmp": "bmp_rgb_130x97.bmp"}
    for rel, name in picks.items():
        os.makedirs(root / os.path.dirname(rel), exist_ok=True)
        shutil.copy(os.path.join(inputs, name), root / rel)
    return str(root)
