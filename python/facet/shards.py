"""Reading `facet tokenize` outputs (docs/formats.md, "Token shards") without the library: the
manifest, and each shard's tensors as numpy memory maps (no copy, no load time).

    shards = TokenShards("out/tokens")
    len(shards); tokens, cls, path = shards[i]      # tokens: {branch: uint16 [g, g]}
    for tokens, cls, path in shards: ...
    shards.arrays(k)                                 # shard k: {branch, "index", "class"} memmaps
    shards.torch_dataset()                           # a torch Dataset, when torch is importable
"""
import json
import os
import struct

import numpy as np

from ._lib import FacetError

_DTYPES = {"U16": np.uint16, "I64": np.int64, "U8": np.uint8, "F32": np.float32, "I32": np.int32}
_MAX_HEADER = 100 * 1024 * 1024


def _safe_file_name(name, where):
    if (not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", "..")
            or any(ord(c) < 32 for c in name)):
        raise FacetError("%s: unsafe shard file name %r" % (where, name))
    return name


def read_safetensors(path):
    """(tensors: {name: np.memmap}, metadata: dict) of a safetensors file, every offset checked."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise FacetError("%s: truncated safetensors header" % path)
        (n,) = struct.unpack("<Q", head)
        if n > min(size - 8, _MAX_HEADER):
            raise FacetError("%s: header length %d exceeds the file" % (path, n))
        try:
            header = json.loads(f.read(n))
        except ValueError as e:
            raise FacetError("%s: malformed header: %s" % (path, e))
    if not isinstance(header, dict):
        raise FacetError("%s: the header is not an object" % path)
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        try:
            dtype = np.dtype(_DTYPES[info["dtype"]])
            shape = tuple(int(d) for d in info["shape"])
            begin, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise FacetError("%s: tensor %r: unsupported or malformed entry" % (path, name))
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if begin < 0 or end != begin + count * dtype.itemsize or 8 + n + end > size:
            raise FacetError("%s: tensor %r: offsets [%d, %d) do not fit its shape or the file"
                             % (path, name, begin, end))
        tensors[name] = (np.memmap(path, dtype=dtype, mode="r", offset=8 + n + begin, shape=shape)
                         if count else np.empty(shape, dtype))
    return tensors, meta


class TokenShards:
    """The token shards of a `facet tokenize` output folder, in the manifest's shard order."""

    def __init__(self, directory):
        self.directory = os.fspath(directory)
        manifest_path = os.path.join(self.directory, "manifest.json")
        try:
            with open(manifest_path) as f:
                m = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError("%s: no manifest.json (not a `facet tokenize` output)" % self.directory)
        except ValueError as e:
            raise FacetError("%s: malformed JSON: %s" % (manifest_path, e))
        if m.get("format") != "facet-tokens" or m.get("version") != 1:
            raise FacetError("%s: not a facet-tokens manifest of version 1" % manifest_path)
        self.manifest = m
        self.branches = list(m["branches"])
        self.classes = list(m.get("inputs", {}).get("classes", []))
        self.complete = bool(m.get("complete"))
        entries = sorted(m.get("shards", []), key=lambda s: s["shard"])
        self._files = [os.path.join(self.directory, _safe_file_name(s["file"], manifest_path))
                       for s in entries]
        self._counts = [int(s["count"]) for s in entries]
        self._starts = np.concatenate([[0], np.cumsum(self._counts)]).astype(np.int64)
        self._cache = {}

    def __len__(self):
        return int(self._starts[-1])

    @property
    def shard_count(self):
        return len(self._files)

    def arrays(self, k):
        """Shard k's tensors as read-only memmaps: {branch: uint16 [n, g, g], "index": int64 [n],
        "class": int64 [n]} plus "paths" (list of str)."""
        if k not in self._cache:
            tensors, meta = read_safetensors(self._files[k])
            missing = [b for b in self.branches + ["index", "class"] if b not in tensors]
            if missing:
                raise FacetError("%s: lacks tensor(s) %s" % (self._files[k], missing))
            paths = json.loads(meta.get("paths", "[]"))
            if len(paths) != self._counts[k] or tensors["index"].shape[0] != self._counts[k]:
                raise FacetError("%s: %d rows, the manifest says %d"
                                 % (self._files[k], tensors["index"].shape[0], self._counts[k]))
            out = {b: tensors[b] for b in self.branches}
            out["index"], out["class"], out["paths"] = tensors["index"], tensors["class"], paths
            self._cache[k] = out
        return self._cache[k]

    def __getitem__(self, i):
        n = len(self)
        if not isinstance(i, (int, np.integer)):
            raise TypeError("index with an int")
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("row %d of %d" % (i, n))
        k = int(np.searchsorted(self._starts, i, side="right") - 1)
        a, r = self.arrays(k), i - int(self._starts[k])
        return {b: np.asarray(a[b][r]) for b in self.branches}, int(a["class"][r]), a["paths"][r]

    def __iter__(self):
        for k in range(self.shard_count):
            a = self.arrays(k)
            for r in range(self._counts[k]):
                yield {b: np.asarray(a[b][r]) for b in self.branches}, int(a["class"][r]), a["paths"][r]

    def torch_dataset(self):
        """A torch.utils.data.Dataset of (tokens {branch: LongTensor [g, g]}, class) rows. Needs
        torch, which this package does not depend on."""
        try:
            import torch
        except ImportError:
            raise ImportError("TokenShards.torch_dataset() needs PyTorch (pip install torch)")
        shards = self

        class _Dataset(torch.utils.data.Dataset):
            def __len__(self):
                return len(shards)

            def __getitem__(self, i):
                tokens, cls, _ = shards[i]
                return {b: torch.from_numpy(t.astype(np.int64)) for b, t in tokens.items()}, cls

        return _Dataset()


__all__ = ["TokenShards", "read_safetensors"]
