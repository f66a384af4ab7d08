"""Test fixture for facet's DFG table (lighting/dfg_lut.c): sampled entries of the official split-sum
lookup table bsdf_256_256.bin (byte-identical in NVlabs/nvdiffrec data/irrmaps/ and
liuyuan-pal/NeRO assets/, used by RISE-SDF as load/bsdf/bsdf_256_256.bin).

The table is 256 x 256 x 2 float32: row i = roughness (i + 0.5) / 256, column j = NdotV
(j + 0.5) / 256, channels (A, B). Only a few hundred sampled values are committed (a 17 x 17 grid
including every corner, the first two columns where the integrand is hardest, and random entries).

    python3 tools/reference/dfg_reference.py BSDF_256_256.BIN \
        tests/fixtures/relight/dfg_reference.json
    (BSDF_256_256.BIN: e.g. the output of
     `git --git-dir=<nvdiffrec mirror> show HEAD:data/irrmaps/bsdf_256_256.bin`)
"""
import hashlib
import json
import sys

import numpy as np


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    raw = open(sys.argv[1], "rb").read()
    if len(raw) != 256 * 256 * 2 * 4:
        sys.exit(f"{sys.argv[1]}: expected 524288 bytes, got {len(raw)}")
    table = np.frombuffer(raw, dtype="<f4").reshape(256, 256, 2)
    grid = sorted(set(np.linspace(0, 255, 17).round().astype(int).tolist()))
    picks = {(i, j) for i in grid for j in grid}
    picks |= {(i, j) for i in grid for j in (0, 1, 2, 3)}
    rng = np.random.default_rng(20240417)
    picks |= {tuple(p) for p in rng.integers(0, 256, size=(96, 2)).tolist()}
    entries = [[i, j, float(table[i, j, 0]), float(table[i, j, 1])] for i, j in sorted(picks)]
    out = {
        "source": "nvdiffrec data/irrmaps/bsdf_256_256.bin (= NeRO assets/bsdf_256_256.bin)",
        "sha256": hashlib.sha256(raw).hexdigest(),
        "layout": "row = roughness (i+0.5)/256, column = NdotV (j+0.5)/256, [row, column, A, B]",
        "entries": entries,
    }
    text = json.dumps({k: v for k, v in out.items() if k != "entries"}, indent=1)[:-2]
    rows = ",\n  ".join(json.dumps(e) for e in entries)
    with open(sys.argv[2], "w") as f:
        f.write(f'{text},\n "entries": [\n  {rows}\n ]\n}}\n')
    print(f"{len(entries)} entries -> {sys.argv[2]}")


if __name__ == "__main__":
    main()
