"""Scenes (render/scene.h): the scene graph `facet render` and `facet view` share, with kappa
control, language commands, rendering and field queries.

    scene = Scene("assets/cabinet/scene.json")
    scene.objects, scene.kappa            # ["drawer", "door"], {"drawer": 0.5, "door": 0.8}
    scene.set_kappa("drawer", 1.0); scene.control("close the door")
    out = scene.render()                  # the scene's camera; out["srgb8"] is facet render's PNG
    rgb, density = scene.query(points, kappa={"drawer": 1.0})   # LiveScene field
"""
import json
import threading
from ctypes import POINTER, byref, c_double, c_float, c_int, c_uint8

import numpy as np

from ._lib import FacetError, Handle, check, check_handle, lib, path_bytes, ptr


class Scene(Handle):
    """Scene(path): a scene file (docs/formats.md, "Scene file"). Calls on one Scene are
    serialised; use one Scene per thread to render in parallel."""

    _close_fn = staticmethod(lib.facet_api_scene_close)
    _what = "scene"

    def __init__(self, path):
        self._handle = check_handle(lib.facet_api_scene_open(path_bytes(path)))
        self._lock = threading.Lock()
        h = self._handle
        self.path = str(path)
        self.objects = [lib.facet_api_scene_object_name(h, i).decode()
                        for i in range(lib.facet_api_scene_object_count(h))]
        self.aux_names = [lib.facet_api_scene_aux_name(h, i).decode()
                          for i in range(lib.facet_api_scene_aux_count(h))]
        self.nodes = []
        for n in range(lib.facet_api_scene_node_count(h)):
            channels = [lib.facet_api_scene_query_name(h, n, c).decode()
                        for c in range(lib.facet_api_scene_query_channels(h, n))]
            self.nodes.append({"name": lib.facet_api_scene_node_name(h, n).decode(),
                               "type": lib.facet_api_scene_node_type(h, n).decode(),
                               "query": channels})


    # ---- objects ----------------------------------------------------------------------------
    @property
    def kappa(self):
        """{object: kappa} now."""
        return {o: self.get_kappa(o) for o in self.objects}

    def get_kappa(self, name):
        v = c_float()
        check(lib.facet_api_scene_get_kappa(self._live(), name.encode(), byref(v)))
        return v.value

    def set_kappa(self, name, value):
        """Sets an object's kappa in [0, 1] (FacetError naming the scene's objects otherwise)."""
        with self._lock:
            check(lib.facet_api_scene_set_kappa(self._live(), name.encode(), float(value)))

    def control(self, text, device="cpu"):
        """Grounds and applies a language command as `facet control` does; returns its JSON as a
        dict (outcome, actions, candidates)."""
        with self._lock:
            p = lib.facet_api_scene_control(self._live(), text.encode(), device.encode())
            if not p:
                raise FacetError(_last())
            try:
                from ctypes import c_char_p, cast
                return json.loads(cast(p, c_char_p).value.decode())
            finally:
                lib.facet_api_free(p)

    # ---- rendering --------------------------------------------------------------------------
    @property
    def camera(self):
        """The scene file's camera {c2w [4, 4], fx, fy, cx, cy, width, height}, or None."""
        c2w = np.empty(16, np.float64)
        intr = np.empty(4, np.float64)
        size = np.empty(2, np.int32)
        if not lib.facet_api_scene_camera(self._live(), ptr(c2w, c_double), ptr(intr, c_double),
                                          ptr(size, c_int)):
            return None
        return {"c2w": c2w.reshape(4, 4), "fx": intr[0], "fy": intr[1], "cx": intr[2],
                "cy": intr[3], "width": int(size[0]), "height": int(size[1])}

    def render(self, camera=None, width=None, height=None, device="cpu", projection="perspective"):
        """Renders as `facet render` does. camera: a dict as `Scene.camera` returns (c2w and
        fx, fy, cx, cy, width, height; or fov_y in degrees instead of the focal lengths), None for
        the scene's camera, or a 4x4 c2w with `fov_y` taken as 50 degrees. width/height rescale
        the intrinsics as `--width/--height` do. Returns {"rgb": float32 [H, W, 3] linear,
        "alpha", "depth": [H, W], "srgb8": uint8 [H, W, 3] (the PNG's bytes), "masks":
        {aux name: [H, W]}}."""
        if camera is None:
            camera = self.camera
            if camera is None:
                raise ValueError("%s has no camera: pass one" % self.path)
        if not isinstance(camera, dict):
            camera = {"c2w": camera, "fov_y": 50.0}
        c2w = np.ascontiguousarray(np.asarray(camera["c2w"], np.float64))
        if c2w.shape == (3, 4):
            c2w = np.vstack([c2w, [0, 0, 0, 1]])
        if c2w.shape != (4, 4):
            raise ValueError("c2w must be [4, 4] or [3, 4], got %s" % (c2w.shape,))
        w0 = camera.get("width", width)
        h0 = camera.get("height", height)
        if w0 is None or h0 is None:
            raise ValueError("give the camera's width and height")
        w, h = int(width or w0), int(height or h0)
        if projection not in ("perspective", "equirectangular"):
            raise ValueError("projection must be perspective or equirectangular")
        if projection == "perspective":
            if "fx" in camera:
                intr = [camera["fx"], camera["fy"], camera["cx"], camera["cy"]]
            else:
                f = 0.5 * h0 / np.tan(0.5 * np.radians(camera["fov_y"]))
                intr = [f, f, w0 / 2.0, h0 / 2.0]
            # intrinsics scale with the image, as render/camera.h facet_camera_resized (in float)
            sx, sy = np.float32(w) / np.float32(w0), np.float32(h) / np.float32(h0)
            intr = [float(np.float32(intr[0]) * sx), float(np.float32(intr[1]) * sy),
                    float(np.float32(intr[2]) * sx), float(np.float32(intr[3]) * sy)]
        else:
            intr = [1.0, 1.0, w / 2.0, h / 2.0]
        intr = np.asarray(intr, np.float64)
        rgba = np.empty((h, w, 4), np.float32)
        srgb = np.empty((h, w, 3), np.uint8)
        depth = np.empty((h, w), np.float32)
        aux = np.empty((h, w, max(len(self.aux_names), 1)), np.float32)
        with self._lock:
            check(lib.facet_api_scene_render(
                self._live(), device.encode(), ptr(c2w, c_double), ptr(intr, c_double), w, h,
                0 if projection == "perspective" else 1, ptr(rgba, c_float), ptr(srgb, c_uint8),
                ptr(depth, c_float), ptr(aux, c_float) if self.aux_names else None))
        return {"rgb": rgba[:, :, :3], "alpha": rgba[:, :, 3], "srgb8": srgb, "depth": depth,
                "masks": {n: aux[:, :, i] for i, n in enumerate(self.aux_names)}}

    # ---- field queries ----------------------------------------------------------------------
    def query(self, points, directions=None, kappa=None, node=None, frame="world"):
        """Queries a node's field at points [N, 3] (float32, world frame; frame="model": the
        node's model frame and units, for LiveScene what the nerfstudio field computes).
        LiveScene nodes return (rgb [N, 3], density [N]) at `kappa` ({object: value}, applied
        for this call only; view directions [N, 3], default (0, 0, -1)); SDF nodes return
        {"sdf": [N], "albedo": [N, 3], "roughness": [N], "metallic": [N]}. node: index or name
        (default: the first node with a query)."""
        index = self._node_index(node)
        channels = self.nodes[index]["query"]
        p = np.asarray(points)
        if p.dtype.kind != "f":
            raise TypeError("points must be floats, got %s" % p.dtype)
        p = np.ascontiguousarray(p, np.float32)
        if p.ndim != 2 or p.shape[1] != 3:
            raise ValueError("points must be [N, 3], got shape %s" % (p.shape,))
        d = None
        if directions is not None:
            d = np.ascontiguousarray(np.asarray(directions, np.float32))
            if d.shape != p.shape:
                raise ValueError("directions must be [N, 3] like points, got shape %s" % (d.shape,))
        if frame not in ("world", "model"):
            raise ValueError("frame must be world or model")
        out = np.empty((p.shape[0], len(channels)), np.float32)
        with self._lock:
            saved = {}
            try:
                for name, value in (kappa or {}).items():
                    saved[name] = self.get_kappa(name)
                    check(lib.facet_api_scene_set_kappa(self._live(), name.encode(), float(value)))
                check(lib.facet_api_scene_query(
                    self._live(), index, ptr(p, c_float), ptr(d, c_float) if d is not None else None,
                    p.shape[0], 1 if frame == "model" else 0, ptr(out, c_float)))
            finally:
                for name, value in saved.items():
                    lib.facet_api_scene_set_kappa(self._handle, name.encode(), value)
        col = {c: out[:, i] for i, c in enumerate(channels)}
        if "density" in col:
            return out[:, 1:4].copy(), col["density"].copy()
        return {"sdf": col["sdf"].copy(), "albedo": out[:, 1:4].copy(),
                "roughness": col["roughness"].copy(), "metallic": col["metallic"].copy()}

    def _node_index(self, node):
        if node is None:
            for i, n in enumerate(self.nodes):
                if n["query"]:
                    return i
            raise FacetError("%s has no node with a field query" % self.path)
        if isinstance(node, str):
            for i, n in enumerate(self.nodes):
                if n["name"] == node:
                    return i
            raise KeyError("no node %r (nodes: %s)" % (node, [n["name"] for n in self.nodes]))
        if not 0 <= node < len(self.nodes):
            raise IndexError("node %d of %d" % (node, len(self.nodes)))
        if not self.nodes[node]["query"]:
            raise FacetError("node %r (%s) has no field query"
                             % (self.nodes[node]["name"], self.nodes[node]["type"]))
        return node


def _last():
    from ._lib import last_error
    return last_error()


__all__ = ["Scene"]
