"""Writing facet text-encoder weights (language/text_encoder_format.md) with the standard library
only, so scripts/setup.sh can convert MiniLM without numpy or torch. Used by
tools/convert_minilm.py and tools/convert_clip_text.py."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_file  # noqa: E402

FORMAT = "facet-text-encoder"
VERSION = "1"
DTYPE_SIZES = safetensors_file.DTYPE_SIZES
read_safetensors_header = safetensors_file.read_header


def write(path, tensors, config, source):
    """tensors: list of (name, dtype, shape, raw little-endian bytes), written in order."""
    safetensors_file.write(path, tensors, {
        "format": FORMAT, "version": VERSION,
        "config": json.dumps(config, separators=(",", ":")), "source": source})
