"""Markdown summary of a bench/run_fqgan.sh log (JSON lines): the token checks, then per op and
batch the median over rounds of each runtime's best-of-iterations seconds per image, and its
ratio to facet fp32's (ratio > 1: facet fp32 is faster).

    python3 bench/fqgan_table.py RUN.jsonl
"""
import json
import statistics
import sys


def name(r):
    impl = r["implementation"]
    if impl == "facet":
        return {"cpu": "facet fp32", "cpu-bf16": "facet bf16"}.get(r["device"],
                                                                  f"facet {r['device']}")
    if impl.startswith("pytorch"):
        return f"PyTorch {impl.split('-', 1)[1]}"
    label = {"onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}[impl]
    return f"{label} {r['version'].split('-')[0]} {r['precision']}"


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    env = next(r["environment"] for r in rows if "environment" in r)
    print(f"Machine: {env['cpu']}, {env['threads']} threads, flags {' '.join(env['flags'])}; "
          f"{env['date']} UTC; facet {env['facet']}, torch {env['torch']}, "
          f"onnxruntime {env['onnxruntime']}, openvino {env['openvino'].split('-')[0]}; "
          f"steering variables: {env['variables'] or 'none'}; load {' '.join(env['load_average'])}")
    print()
    print("| runtime | tokens on the photographs and renders: agreement with PyTorch fp32 | differ off near-ties "
          "| decode of PyTorch's tokens: PSNR of the 8-bit images against PyTorch fp32's |")
    print("|---|---|---|---|")
    for r in rows:
        if r.get("check"):
            psnr = r.get("decode_psnr_db")
            print(f"| {name({**r, 'precision': r.get('precision', 'fp32')})} | "
                  f"{100 * r['agreement']:.2f}% of {r['tokens']} | {r['differ_off_near_ties']} | "
                  f"{'-' if psnr is None else f'{psnr:.1f} dB'} |")
    print()
    times = {}
    for r in rows:
        if "op" in r and "seconds_best" in r:
            key = (r["op"], r["batch"])
            times.setdefault(key, {}).setdefault(name(r), []).append(r["seconds_best"] / r["batch"])
    for (op, batch), by in sorted(times.items(), key=lambda kv: (kv[0][1], kv[0][0] != "encode")):
        facet = [k for k in by if k == "facet fp32"] or [k for k in by if k.startswith("facet")]
        base = statistics.median(by[facet[0]]) if facet else None
        print(f"**{op}, batch {batch}** (s/image, median of {max(len(v) for v in by.values())} "
              f"rounds)\n")
        print("| runtime | s/image | time / facet's |")
        print("|---|---|---|")
        for k, v in sorted(by.items(), key=lambda kv: statistics.median(kv[1])):
            m = statistics.median(v)
            ratio = f"{m / base:.2f}" if base else "-"
            print(f"| {k} | {m:.3f} | {ratio} |")
        print()


if __name__ == "__main__":
    main(sys.argv[1])
