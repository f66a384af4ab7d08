"""facet.Scene against `facet render` and `facet control`, field queries, bad input."""
import json
import os

import numpy as np
import pytest

import facet
from conftest import SOURCE, run_cli

CABINET = os.path.join(SOURCE, "assets/cabinet/scene.json")
RELIGHT = os.path.join(SOURCE, "assets/relight/scene.json")


def png_bytes(path):
    return np.rint(facet.read_image(path)[:, :, :3] * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def cabinet():
    with facet.Scene(CABINET) as s:
        yield s


def test_objects_and_camera(cabinet):
    assert cabinet.objects == ["drawer", "door"]
    assert cabinet.kappa == pytest.approx({"drawer": 0.5, "door": 0.8})
    cam = cabinet.camera
    assert cam["width"] == 256 and cam["c2w"].shape == (4, 4)
    assert cabinet.nodes[0]["type"] == "livescene"
    assert cabinet.nodes[0]["query"] == ["density", "r", "g", "b"]


def test_render_equals_the_cli(cabinet, tmp_path):
    cabinet.set_kappa("drawer", 1.0)
    try:
        out = cabinet.render(width=96, height=96)
    finally:
        cabinet.set_kappa("drawer", 0.5)
    run_cli("render", CABINET, "--set", "drawer=1", "--width", 96, "--height", 96, "--masks",
            "--out", tmp_path, "--quiet")
    np.testing.assert_array_equal(out["srgb8"], png_bytes(tmp_path / "camera.png"))
    assert out["rgb"].dtype == np.float32 and out["rgb"].shape == (96, 96, 3)
    mask = facet.read_image(tmp_path / "camera_mask_drawer.png")[:, :, 0]
    np.testing.assert_allclose(out["masks"]["mask_drawer"], mask, atol=0.5 / 255 + 1e-6)
    covered = out["alpha"] > 0.5
    assert covered.any() and np.isfinite(out["depth"][covered]).all()


def test_control_equals_the_cli(tmp_path):
    with facet.Scene(CABINET) as s:
        result = s.control("open the drawer all the way")
        assert s.get_kappa("drawer") == pytest.approx(1.0)
    cli = json.loads(run_cli("control", CABINET, "open the drawer all the way").stdout)
    assert result == cli


def test_livescene_query(cabinet):
    cam = cabinet.camera
    c2w = cam["c2w"]
    origin, forward = c2w[:3, 3], -c2w[:3, 2]
    t = np.linspace(0.5, 6.0, 64)[:, None]
    points = (origin + t * forward).astype(np.float32)
    directions = np.tile(forward / np.linalg.norm(forward), (64, 1)).astype(np.float32)
    rgb, density = cabinet.query(points, directions=directions, kappa={"drawer": 1.0})
    assert rgb.shape == (64, 3) and density.shape == (64,)
    assert np.isfinite(rgb).all() and np.isfinite(density).all() and (density >= 0).all()
    assert ((rgb >= 0) & (rgb <= 1)).all()
    assert density.max() > 1.0, "the camera's centre ray crosses the cabinet"
    assert cabinet.get_kappa("drawer") == pytest.approx(0.5), "query kappa is for the call only"
    # the model frame: the same points pushed through the weights' dataparser transform by hand
    meta = json.loads(_safetensors_metadata(os.path.join(SOURCE, "assets/cabinet/model.safetensors")))
    R_t = np.array(json.loads(meta["dataparser_transform"]) if isinstance(meta["dataparser_transform"], str)
                   else meta["dataparser_transform"], np.float64)
    scale = float(meta["dataparser_scale"])
    model_points = (scale * (points @ R_t[:, :3].T + R_t[:, 3])).astype(np.float32)
    d_model = (forward @ R_t[:, :3].T)
    d_model = np.tile(d_model / np.linalg.norm(d_model), (64, 1)).astype(np.float32)
    rgb_m, density_m = cabinet.query(model_points, directions=d_model, kappa={"drawer": 1.0},
                                     frame="model")
    np.testing.assert_allclose(density, density_m * scale, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(rgb, rgb_m, atol=1e-3)


def _safetensors_metadata(path):
    import struct
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return json.dumps(header["__metadata__"]) if "config" not in header["__metadata__"] else \
        json.dumps(json.loads(header["__metadata__"]["config"]) | header["__metadata__"])


def test_sdf_query_is_the_analytic_distance():
    with facet.Scene(RELIGHT) as s:
        points = np.array([[-2.4, 0, 0.8], [-2.4, 0, 2.0], [0.8, 0.0, 0.8]], np.float32)
        out = s.query(points, node="mirror_ball")
        np.testing.assert_allclose(out["sdf"], [-0.8, 0.4, np.hypot(3.2, 0) - 0.8], atol=1e-5)
        np.testing.assert_allclose(out["albedo"][0], [0.95, 0.95, 0.95])
        assert out["roughness"][0] == pytest.approx(0.08) and out["metallic"][0] == 1.0


def test_bad_input_raises(cabinet, tmp_path):
    with pytest.raises(facet.FacetError, match="nothing.json"):
        facet.Scene(tmp_path / "nothing.json")
    with pytest.raises(facet.FacetError, match="drawer"):
        cabinet.set_kappa("lid", 0.5)
    with pytest.raises(facet.FacetError):
        cabinet.set_kappa("drawer", 2.0)
    with pytest.raises(ValueError):
        cabinet.query(np.zeros((4, 2), np.float32))
    with pytest.raises(TypeError):
        cabinet.query(np.zeros((4, 3), np.int32))
    with pytest.raises(ValueError):
        cabinet.render({"c2w": np.eye(3), "fov_y": 40, "width": 8, "height": 8})
    with pytest.raises(facet.FacetError):
        cabinet.render({"c2w": np.eye(4), "fx": -1, "fy": 1, "cx": 4, "cy": 4, "width": 8,
                        "height": 8})
    with pytest.raises(KeyError):
        cabinet.query(np.zeros((1, 3), np.float32), node="nope")
