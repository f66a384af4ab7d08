"""facet.metrics equals `facet metrics` on the same files; bad input raises."""
import json
import os

import numpy as np
import pytest

import facet
from conftest import SOURCE, run_cli

DATA = os.path.join(SOURCE, "assets/demo/data")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    out = tmp_path_factory.mktemp("render")
    run_cli("render", os.path.join(SOURCE, "assets/demo/scene.json"), "--cameras", DATA,
            "--split", "test", "--out", out, "--quiet")
    return str(out / "r_0.png"), os.path.join(DATA, "test", "r_0.png")


def test_psnr_and_ssim_equal_the_cli(pair):
    a, b = pair
    cli = json.loads(run_cli("metrics", a, b).stdout)
    assert facet.psnr(a, b) == pytest.approx(cli["psnr"], abs=1e-12)
    assert facet.ssim(a, b) == pytest.approx(cli["ssim"], abs=1e-12)
    # arrays as facet reads them give the same numbers
    ia, ib = facet.read_image(a)[:, :, :3], facet.read_image(b)[:, :, :3]
    assert facet.psnr(ia, ib) == pytest.approx(cli["psnr"], abs=1e-12)


def test_uint8_arrays_are_divided_by_255(pair):
    a = facet.read_image(pair[0])[:, :, :3]
    u8 = np.rint(a * 255).astype(np.uint8)
    assert facet.psnr(u8, a) == np.inf


def test_identical_images_have_infinite_psnr(pair):
    assert facet.psnr(pair[0], pair[0]) == np.inf


def test_bad_input_raises(pair, tmp_path):
    a = facet.read_image(pair[0])
    with pytest.raises(ValueError):
        facet.psnr(a[:, :, :3], a[:-1, :, :3])
    with pytest.raises(TypeError):
        facet.psnr(a.astype(np.int16), a.astype(np.int16))
    with pytest.raises(ValueError):
        facet.psnr(np.zeros((4, 4, 5), np.float32), np.zeros((4, 4, 5), np.float32))
    with pytest.raises(facet.FacetError, match="missing.png"):
        facet.read_image(tmp_path / "missing.png")
    with pytest.raises(facet.FacetError):
        facet.ssim(np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 3), np.float32))  # < 11 px


def test_lpips_equals_the_cli(pair, tmp_path):
    heads = os.path.join(SOURCE, "models", "lpips_heads_alex.safetensors")
    weights = str(tmp_path / "lpips_alex.safetensors")
    facet.metrics.write_random_lpips_weights(weights, "alex", 3,
                                             heads if os.path.exists(heads) else None)
    for convention in ("nerfstudio", "risesdf"):
        cli = json.loads(run_cli("metrics", pair[0], pair[1], "--lpips", weights,
                                 "--lpips-convention", convention).stdout)
        value, taps = facet.LPIPS(weights)(pair[0], pair[1], convention, taps=True)
        assert value == pytest.approx(cli["lpips"], rel=1e-12, abs=1e-15), convention
        assert sum(taps) == pytest.approx(value, rel=1e-12)
    assert facet.lpips(pair[0], pair[0], weights) == 0.0
    with pytest.raises(ValueError):
        facet.LPIPS(weights)(np.zeros((40, 40, 3), np.float32), np.zeros((40, 41, 3), np.float32))
    with pytest.raises(facet.FacetError):  # under the backbone's 31x31 minimum
        facet.LPIPS(weights)(np.zeros((20, 20, 3), np.float32), np.zeros((20, 20, 3), np.float32))
    with pytest.raises(facet.FacetError, match="nothing.safetensors"):
        facet.LPIPS(str(tmp_path / "nothing.safetensors"))
