"""safetensors files with the standard library only (no numpy, no torch), for the converters that
scripts/setup.sh runs: tools/text_encoder_format.py (MiniLM, CLIP text) and tools/convert_lpips.py.
The format: an 8-byte little-endian header length N, N bytes of JSON {"__metadata__": {str: str},
name: {"dtype", "shape", "data_offsets": [begin, end]}}, then the tensor bytes (core/safetensors.h
reads it)."""
import json
import os
import struct
import tempfile

DTYPE_SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "U8": 1, "I64": 8}


def read_header(data):
    """(header dict, data offset) of safetensors bytes."""
    if len(data) < 8:
        raise ValueError("shorter than a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError("header length past the end of the file")
    return json.loads(data[8:8 + n].decode("utf-8")), 8 + n


def write(path, tensors, metadata):
    """tensors: list of (name, dtype, shape, raw little-endian bytes), written in order after
    "__metadata__" (string values); the header is padded with spaces to a multiple of 8 bytes.
    Written to a temporary file in the same folder, then renamed (never half-written)."""
    header = {"__metadata__": metadata}
    offset = 0
    for name, dtype, shape, raw in tensors:
        count = 1
        for d in shape:
            count *= d
        if count * DTYPE_SIZES[dtype] != len(raw):
            raise ValueError(f"tensor '{name}': {len(raw)} bytes for {dtype} {list(shape)}")
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for _, _, _, raw in tensors:
                f.write(raw)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
