"""Reads PyTorch state_dict files (.pth, .pt) without torch, with the standard library only, for
converters that scripts/setup.sh runs where torch is not installed (tools/convert_lpips.py).

Both of torch.save's layouts are read:
  - zip (torch >= 1.6 default): a zip archive whose `<prefix>/data.pkl` pickles the object, with
    tensor storages as persistent ids ('storage', storage type, key, location, numel) and their
    bytes in `<prefix>/data/<key>`; `<prefix>/byteorder` says "little" or "big" (absent: little);
  - legacy (torch < 1.6, or _use_new_zipfile_serialization=False): consecutive pickles of the
    magic number 0x1950a86a20f9469cfc6c, the protocol version 1001, a system-info dict
    (little_endian, type sizes), the object (storages as persistent ids ('storage', storage type,
    root key, location, numel, view metadata)), the list of storage keys; then each storage as an
    8-byte little-endian element count followed by its bytes, in that list's order.
Tensors are rebuilt from torch._utils._rebuild_tensor_v2 (or _rebuild_tensor, _rebuild_parameter)
records: storage, element offset, size, stride.

Unpickling is restricted: only OrderedDict, the tensor and parameter rebuild functions and the
storage type names are resolved; any other global (code the file would run) is refused with
PthError. The result is a dict name -> Tensor (dtype name, shape, C-order little-endian bytes)."""
import collections
import io
import pickle
import struct
import zipfile

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# storage type name -> (safetensors dtype name, element bytes)
STORAGE_TYPES = {
    "FloatStorage": ("F32", 4),
    "DoubleStorage": ("F64", 8),
    "HalfStorage": ("F16", 2),
    "BFloat16Storage": ("BF16", 2),
    "LongStorage": ("I64", 8),
    "IntStorage": ("I32", 4),
    "ShortStorage": ("I16", 2),
    "CharStorage": ("I8", 1),
    "ByteStorage": ("U8", 1),
    "BoolStorage": ("BOOL", 1),
}


class PthError(Exception):
    pass


class Tensor:
    """A tensor read from a .pth: dtype ("F32", ...), shape (tuple) and C-order bytes."""

    def __init__(self, dtype, shape, data):
        self.dtype, self.shape, self.data = dtype, tuple(shape), data


class _StorageType:
    def __init__(self, name):
        if name not in STORAGE_TYPES:
            raise PthError(f"unsupported storage type torch.{name}")
        self.name = name
        self.dtype, self.size = STORAGE_TYPES[name]


class _Storage:
    """A storage's bytes (filled once the storage section is read, for legacy files)."""

    def __init__(self, storage_type, numel):
        self.type, self.numel, self.data = storage_type, numel, None


class _TensorRecord:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, offset, size, stride, *unused):
    return _TensorRecord(storage, offset, size, stride)


def _rebuild_parameter(data, *unused):
    return data


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storage_for):
        super().__init__(f)
        self._storage_for = storage_for

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        raise PthError(f"refusing to unpickle {module}.{name} (not a tensor of a state_dict)")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise PthError(f"unsupported persistent id {pid!r:.80}")
        return self._storage_for(pid[1:])


def _contiguous_strides(size):
    strides, n = [], 1
    for d in reversed(size):
        strides.append(n)
        n *= d
    return tuple(reversed(strides))


def _materialise(record, name):
    storage = record.storage
    dtype, es = storage.type.dtype, storage.type.size
    numel = 1
    for d in record.size:
        numel *= d
    if numel == 0:
        return Tensor(dtype, record.size, b"")
    last = record.offset + sum((d - 1) * s for d, s in zip(record.size, record.stride))
    if record.offset < 0 or last >= storage.numel or any(s < 0 for s in record.stride):
        raise PthError(f"tensor '{name}' reaches outside its storage")
    if record.stride == _contiguous_strides(record.size):
        begin = record.offset * es
        return Tensor(dtype, record.size, storage.data[begin:begin + numel * es])
    out = bytearray()
    index = [0] * len(record.size)
    for _ in range(numel):  # a strided view: element by element (small tensors only in practice)
        at = record.offset + sum(i * s for i, s in zip(index, record.stride))
        out += storage.data[at * es:(at + 1) * es]
        for axis in reversed(range(len(index))):
            index[axis] += 1
            if index[axis] < record.size[axis]:
                break
            index[axis] = 0
    return Tensor(dtype, record.size, bytes(out))


def _state_dict(obj):
    if not isinstance(obj, dict):
        raise PthError(f"holds a {type(obj).__name__}, not a state_dict")
    if "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    out = collections.OrderedDict()
    for name, value in obj.items():
        if not isinstance(value, _TensorRecord):
            raise PthError(f"entry '{name}' is not a tensor")
        out[name] = _materialise(value, name)
    return out


def _read_zip(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("data.pkl")]
        if len(pkl) != 1:
            raise PthError("a zip file without a single data.pkl (not a torch.save archive)")
        prefix = pkl[0][: -len("data.pkl")]
        if prefix + "byteorder" in names and z.read(prefix + "byteorder") != b"little":
            raise PthError("stored big-endian")
        storages = {}

        def storage_for(pid):
            storage_type, key, _location, numel = pid[:4]
            if key not in storages:
                s = _Storage(storage_type, numel)
                try:
                    s.data = z.read(f"{prefix}data/{key}")
                except KeyError:
                    raise PthError(f"storage {key} is missing from the archive") from None
                if len(s.data) < numel * storage_type.size:
                    raise PthError(f"storage {key} is truncated")
                storages[key] = s
            return storages[key]

        obj = _Unpickler(io.BytesIO(z.read(pkl[0])), storage_for).load()
    return _state_dict(obj)


def _read_legacy(data):
    f = io.BytesIO(data)
    try:
        magic = pickle.load(f)
        if magic != LEGACY_MAGIC:
            raise PthError("not a torch.save file (no zip archive, no legacy magic number)")
        if pickle.load(f) != LEGACY_PROTOCOL:
            raise PthError("unsupported legacy protocol version")
        info = pickle.load(f)
        if not info.get("little_endian", True):
            raise PthError("stored big-endian")
        storages = {}

        def storage_for(pid):
            storage_type, key, _location, numel, view = pid[:5]
            if view is not None:
                raise PthError("storage views (pre-0.4 torch files) are not supported")
            if key not in storages:
                storages[key] = _Storage(storage_type, numel)
            return storages[key]

        obj = _Unpickler(f, storage_for).load()
        keys = pickle.load(f)
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError) as e:
        raise PthError(f"not a readable torch.save file ({type(e).__name__}: {e})") from None
    for key in keys:
        header = f.read(8)
        if len(header) != 8:
            raise PthError(f"truncated before storage {key}")
        (numel,) = struct.unpack("<q", header)
        s = storages.get(key)
        if s is None or numel != s.numel:
            raise PthError(f"storage {key}: unexpected entry in the storage section")
        s.data = f.read(numel * s.type.size)
        if len(s.data) != numel * s.type.size:
            raise PthError(f"storage {key} is truncated")
    if any(s.data is None for s in storages.values()):
        raise PthError("a storage the tensors use is missing from the storage section")
    return _state_dict(obj)


def load_state_dict_bytes(data):
    """name -> Tensor of a torch.save'd state_dict given as bytes."""
    try:
        return _read_zip(data) if data[:4] == b"PK\x03\x04" else _read_legacy(data)
    except PthError:
        raise
    except Exception as e:  # a damaged archive or pickle stream
        raise PthError(f"not a readable torch.save file ({type(e).__name__}: {e})") from None


def load_state_dict(path):
    """name -> Tensor of the torch.save'd state_dict in file `path`."""
    with open(path, "rb") as f:
        return load_state_dict_bytes(f.read())
