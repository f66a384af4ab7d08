"""FQGAN on the runtimes a user would otherwise pick on the CPU: ONNX Runtime and OpenVINO (fp32
and bf16), on the graphs tools/reference/fqgan_onnx.py exports. Runs in the bench-only virtual
environment bench/run_fqgan.sh makes (.venv-bench: onnxruntime, openvino, numpy from PyPI).

    python fqgan_runtimes.py check DIR --runtime R
    python fqgan_runtimes.py bench DIR --runtime R [--batch B] [--iters N] [--threads T]

R: ort (ONNX Runtime, CPU provider, fp32), ov-fp32, ov-bf16 (OpenVINO CPU plugin with
INFERENCE_PRECISION_HINT f32 or bf16; bf16 is refused where the CPU has no bf16 support).

check: encodes DIR/photos.npy (8 at a time) and compares the indices with DIR/tokens_ref.npy
(PyTorch float32). It prints the agreement and, for the mismatches, how many sit on near-ties
(PyTorch's best/runner-up distance gap under NEAR_TIE, DIR/gaps_ref.npy). Exit status 1 when an fp32
runtime disagrees anywhere off a near-tie: then the exported graph is not the reference's. It
also decodes tokens_ref.npy and prints decode_psnr_db: the PSNR of the 8-bit images (the official
post-processing) against those of DIR/decoded_ref.npy (PyTorch float32's decode).

bench: one untimed warm-up call, then --iters timed calls of encode (image -> indices) and of
decode (indices -> image) on a fixed pseudo-random batch; one JSON line per op with the best
and median seconds, in the schema of build/bench_fqgan and fqgan_ref.py bench. Threads default
to all CPUs (the same count facet and PyTorch use in the run).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

NEAR_TIE = 2.5e-4  # the near-tie gap of bench_fqgan.c (see there)


def load_meta(d):
    with open(os.path.join(d, "export.json")) as f:
        return json.load(f)


class Runtime:
    """encode(x [B,3,S,S] float32) -> list of [B,g,g] int64; decode(list) -> [B,3,S,S]."""

    def __init__(self, d, name, threads):
        self.name, self.meta = name, load_meta(d)
        self.names = [f"indices_{b}" for b in self.meta["branches"]]
        enc, dec = os.path.join(d, "encode.onnx"), os.path.join(d, "decode.onnx")
        if name == "ort":
            import onnxruntime as ort
            self.version = ort.__version__
            o = ort.SessionOptions()
            o.intra_op_num_threads = threads
            o.inter_op_num_threads = 1
            o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            p = ["CPUExecutionProvider"]
            self.enc = ort.InferenceSession(enc, o, providers=p)
            self.dec = ort.InferenceSession(dec, o, providers=p)
            self._encode = lambda x: self.enc.run(self.names, {"image": x})
            self._decode = lambda idx: self.dec.run(["image"], dict(zip(self.names, idx)))[0]
        else:
            import openvino as ov
            self.version = ov.__version__ if hasattr(ov, "__version__") else ov.get_version()
            core = ov.Core()
            precision = name.split("-")[1]
            caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
            if precision == "bf16" and "BF16" not in caps:
                raise SystemExit(f"fqgan_runtimes: this CPU has no bf16 in OpenVINO ({caps})")
            cfg = {"INFERENCE_PRECISION_HINT": "f32" if precision == "fp32" else "bf16",
                   "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1,
                   "PERFORMANCE_HINT": "LATENCY"}
            self.enc = core.compile_model(core.read_model(enc), "CPU", cfg)
            self.dec = core.compile_model(core.read_model(dec), "CPU", cfg)
            self.enc_req, self.dec_req = self.enc.create_infer_request(), \
                self.dec.create_infer_request()

            def encode(x):
                r = self.enc_req.infer({"image": x})
                return [np.asarray(r[self.enc.output(n)]) for n in self.names]

            def decode(idx):
                r = self.dec_req.infer(dict(zip(self.names, idx)))
                return np.asarray(r[self.dec.output("image")])
            self._encode, self._decode = encode, decode

    def encode(self, x):
        return [np.asarray(i, dtype=np.int64) for i in self._encode(np.ascontiguousarray(x))]

    def decode(self, idx):
        return self._decode([np.ascontiguousarray(i, dtype=np.int64) for i in idx])


def label(rt, threads, batch=None):
    out = {"implementation": "onnxruntime" if rt.name == "ort" else "openvino",
           "version": rt.version, "config": rt.meta["config"], "device": "cpu",
           "precision": "bf16" if rt.name.endswith("bf16") else "fp32", "threads": threads}
    if batch is not None:
        out["batch"] = batch
    return out


def to_uint8(x):
    """The official post-processing: (uint8) clamp(127.5 x + 128, 0, 255), truncating."""
    return np.clip(127.5 * x.astype(np.float32) + 128.0, 0, 255).astype(np.uint8)


def decode_psnr(got, ref):
    """PSNR (dB) of the 8-bit images decoded from the reference tokens against PyTorch
    float32's (one MSE over all images; 99 when identical)."""
    mse = np.mean((to_uint8(got).astype(np.float64) - to_uint8(ref)) ** 2)
    return 99.0 if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def check(args):
    rt = Runtime(args.dir, args.runtime, args.threads)
    photos = np.load(os.path.join(args.dir, "photos.npy"))
    ref = np.load(os.path.join(args.dir, "tokens_ref.npy"))
    gaps = np.load(os.path.join(args.dir, "gaps_ref.npy"))
    got = np.concatenate([np.stack(rt.encode(photos[i:i + 8]), 1)
                          for i in range(0, len(photos), 8)])
    differ = got != ref
    off_tie = int((differ & (gaps >= NEAR_TIE)).sum())
    agreement = 1.0 - differ.mean()
    decoded = np.concatenate([rt.decode([ref[i:i + 8, k] for k in range(ref.shape[1])])
                              for i in range(0, len(ref), 8)])
    psnr = decode_psnr(decoded, np.load(os.path.join(args.dir, "decoded_ref.npy")))
    print(json.dumps({**label(rt, args.threads), "check": "tokens on photographs",
                      "tokens": int(ref.size), "agreement": round(float(agreement), 5),
                      "differ": int(differ.sum()), "differ_off_near_ties": off_tie,
                      "decode_psnr_db": round(psnr, 2)}), flush=True)
    if rt.name != "ov-bf16" and off_tie:
        print(f"fqgan_runtimes: {rt.name} disagrees with PyTorch on {off_tie} tokens that are "
              f"not near-ties: the exported graph does not compute the reference",
              file=sys.stderr)
        return 1
    return 0


def bench(args):
    rt = Runtime(args.dir, args.runtime, args.threads)
    s, g = rt.meta["image_size"], rt.meta["grid"]
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (args.batch, 3, s, s)).astype(np.float32)
    idx = rt.encode(x)
    rt.decode(idx)
    for what, fn, arg in (("encode", rt.encode, x), ("decode", rt.decode, idx)):
        times = []
        for _ in range(args.iters):
            t0 = time.perf_counter()
            fn(arg)
            times.append(time.perf_counter() - t0)
        best = min(times)
        print(json.dumps({**label(rt, args.threads, args.batch), "op": what,
                          "seconds_best": round(best, 4),
                          "seconds_median": round(float(np.median(times)), 4),
                          "images_per_sec": round(args.batch / best, 3)}), flush=True)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    for mode in ("check", "bench"):
        m = sub.add_parser(mode)
        m.add_argument("dir")
        m.add_argument("--runtime", choices=["ort", "ov-fp32", "ov-bf16"], required=True)
        m.add_argument("--threads", type=int, default=os.cpu_count())
        if mode == "bench":
            m.add_argument("--batch", type=int, default=1)
            m.add_argument("--iters", type=int, default=3)
    a = p.parse_args()
    return check(a) if a.mode == "check" else bench(a)


if __name__ == "__main__":
    sys.exit(main())
