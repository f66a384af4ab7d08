#!/usr/bin/env python3
"""Fixtures for facet's LiveScene-mode grounding (language/grounding.h), from a reimplementation of
the official controller (Tavish9/livescene livescene/livescene_controller.py: get_obj_status,
get_atrb_vals, LiveSceneClipEncoder.get_relevancy) and of the semantic mapping
(livescene_encoding.py LiveSceneEncoding.forward), line by line in torch.

Upstream runs on CUDA in fp16 (the CLIP model is created with precision="fp16"); this
reimplementation runs on the CPU and rounds to fp16 at the same points: the text embeddings and
their normalisation, the normalised field embeddings, the matrix product's output (accumulated in
float64 here, fp32 on the GPU, then rounded), 10 x the similarities, and the softmax output.

Writes into OUT_DIR (tests/fixtures/language):
- livescene_votes.safetensors: cases of stored embeddings, per case k:
  "k.field" [rows, objects, dim], "k.text" [dim], "k.negatives" [4, dim] (raw fp32, the inputs),
  "k.pos_prob" [rows, objects] (each row's positive probability), "k.winner" I64 [1] (the object
  whose kappa changes, -1 for none) and "k.votes" I64 [1] (frames that vote);
- livescene_lang.safetensors: tests/fixtures/livescene/small.safetensors plus language features
  for its two objects (drawer, door) in the 16-wide space of clip_tiny.safetensors: per object
  a semantic mapping of R = 11 rows (20 training frames) near the tiny CLIP embedding of its name,
  and language.frame_ids;
- livescene_prompts.json: prompts with the object the official rule opens or closes on
  livescene_lang.safetensors with clip_tiny ({"prompt", "object" or null, "kappa" or null}).

Environment: the venv of tools/reference/language_encoder_fixtures.py (open_clip), run after it.
"""
import json
import os
import re
import sys

import open_clip
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import text_encoder_format  # noqa: E402

NEGATIVES = ("object", "things", "stuff", "texture")


def half_normalized_text(x):
    """The fp16 model's embedding, normalised in fp16 (get_phrases_embed / __init__)."""
    h = x.half()
    norm = h.double().norm(dim=-1, keepdim=True).float().half()
    return (h.float() / norm.float()).half()


def get_relevancy(field_embed, pos, negs):
    """LiveSceneClipEncoder.get_relevancy with phrases already embedded (fp16)."""
    phrases_embeds = torch.cat([pos[None], negs], dim=0)
    field_embed = (field_embed / field_embed.norm(dim=-1, keepdim=True)).half()
    output = (field_embed.double() @ phrases_embeds.double().T).half()  # rays x phrases
    positive_vals = output[..., 0:1]
    negative_vals = output[..., 1:]
    repeated_pos = positive_vals.repeat(1, negative_vals.shape[-1])
    sims = torch.stack((repeated_pos, negative_vals), dim=-1)
    softmax = torch.softmax((10 * sims.float()).half().float(), dim=-1).half()
    best_id = softmax[..., 0].argmin(dim=1)
    return torch.gather(softmax, 1, best_id[..., None, None].expand(best_id.shape[0],
                                                                  negative_vals.shape[-1], 2))[:, 0, :]


def get_atrb_vals(field_embed, num_attributes, pos, negs):
    """The decision of get_atrb_vals: (winner or -1, voting rows, pos_prob [rows, objects])."""
    probs = get_relevancy(field_embed, pos, negs)
    pos_prob_all = probs[..., 0].reshape(-1, num_attributes)
    pos_prob = pos_prob_all[torch.any(pos_prob_all >= 0.5, dim=-1)]
    winner = -1
    if pos_prob.shape[0] >= 10:
        winner = int(torch.bincount(pos_prob.float().max(-1)[1]).max(-1)[1])
    return winner, int(pos_prob.shape[0]), pos_prob_all


def semantic_mapping(grids, ids):
    """LiveSceneEncoding.forward (reduce "none"): [N, objects, D] for ids in [0, 1]."""
    output = []
    for grid in grids:  # [1, R, D], resolution R - 1
        coords = (grid.shape[1] - 1) * ids.reshape(-1)
        codf, codc = coords.floor().long(), coords.ceil().long()
        factor = (coords - codf).reshape(1, -1, 1)
        output.append(((1 - factor) * grid[:, codf] + factor * grid[:, codc])[0])
    return torch.stack(output, dim=1)


def get_obj_status(prompt):
    match = re.match(r'^(open|close) (.*)', prompt)
    if match:
        action, obj = match.groups()
        return obj, 1 if action == "open" else 0
    return None, None


def entry(name, t):
    if t.dtype == torch.int64:
        return (name, "I64", list(t.shape), t.contiguous().numpy().tobytes())
    return (name, "F32", list(t.shape), t.float().contiguous().numpy().tobytes())


def vote_cases():
    g = torch.Generator().manual_seed(11)
    cases = []
    dim, negs = 64, torch.randn(4, 64, generator=g)
    text = torch.randn(dim, generator=g)
    # 1: object 1's rows are the text plus noise: object 1 wins
    field = torch.randn(40, 3, dim, generator=g)
    field[:, 1] = text + 0.8 * torch.randn(40, dim, generator=g)
    cases.append((field, text, negs))
    # 2: only 6 frames resemble the text, the others a negative: fewer than 10 vote, no change
    field = negs[0] + 0.3 * torch.randn(40, 2, dim, generator=g)
    field[:6, 0] = text + 0.3 * torch.randn(6, dim, generator=g)
    cases.append((field, text, negs))
    # 3: two objects both resemble the text, one more closely
    field = torch.randn(30, 2, dim, generator=g)
    field[:, 0] = text + 1.2 * torch.randn(30, dim, generator=g)
    field[:, 1] = text + 0.9 * torch.randn(30, dim, generator=g)
    cases.append((field, text, negs))
    # 4: pure noise
    cases.append((torch.randn(50, 4, dim, generator=g), torch.randn(dim, generator=g), negs))
    # 5: identical rows for two objects: ties resolved towards the first object
    field = torch.randn(20, 2, dim, generator=g)
    field[:, 0] = text
    field[:, 1] = text
    cases.append((field, text, negs))
    return cases


def main():
    out_dir = sys.argv[1]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    entries = []
    for k, (field, text, negs) in enumerate(vote_cases()):
        rows, objects, dim = field.shape
        winner, votes, pos_prob = get_atrb_vals(field.reshape(-1, dim), objects,
                                                half_normalized_text(text),
                                                half_normalized_text(negs))
        entries += [entry(f"{k}.field", field), entry(f"{k}.text", text),
                    entry(f"{k}.negatives", negs), entry(f"{k}.pos_prob", pos_prob.float()),
                    entry(f"{k}.winner", torch.tensor([winner])),
                    entry(f"{k}.votes", torch.tensor([votes]))]
        print(f"case {k}: {rows} frames x {objects} objects: winner {winner}, {votes} voting")
    text_encoder_format.write(os.path.join(out_dir, "livescene_votes.safetensors"), entries, {},
                              "tools/reference/language_livescene_fixtures.py")

    # end to end: tiny CLIP (the model language_encoder_fixtures.py converted) and small weights
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from language_encoder_fixtures import tiny_clip
    model = tiny_clip(seed=3)
    tokenizer = open_clip.get_tokenizer("ViT-B-16")

    def encode(texts):
        with torch.no_grad():
            return model.encode_text(tokenizer(texts)).float()

    g = torch.Generator().manual_seed(5)
    names = ["drawer", "door"]
    centres = encode(names)
    grids = [(c + 0.1 * c.norm() * torch.randn(11, 16, generator=g))[None] for c in centres]
    ids = torch.tensor([(2 * i + 2) / 40 for i in range(20)], dtype=torch.float32)

    small = os.path.join(root, "tests", "fixtures", "livescene", "small.safetensors")
    with open(small, "rb") as f:
        data = f.read()
    header, base = text_encoder_format.read_safetensors_header(data)
    meta = header.pop("__metadata__")
    tensors = [(n, e["dtype"], e["shape"], data[base + e["data_offsets"][0]:base + e["data_offsets"][1]])
               for n, e in header.items()]
    tensors += [entry(f"language.semantic_mapping.{o}", grid[0]) for o, grid in enumerate(grids)]
    tensors.append(entry("language.frame_ids", ids))
    header_meta = dict(meta)
    header_meta["source"] = ("tests/fixtures/livescene/small.safetensors with language features "
                             "(tools/reference/language_livescene_fixtures.py)")
    write_with_metadata(os.path.join(out_dir, "livescene_lang.safetensors"), tensors, header_meta)

    field = semantic_mapping(grids, ids).reshape(-1, 16)
    negs = half_normalized_text(encode(list(NEGATIVES)))
    prompts = ["open drawer", "close door", "open the door", "close the drawer", "Open drawer",
               "open door\nand more", "shut the door", "open cabinet", "close stuff", "open "]
    results = []
    for prompt in prompts:
        obj, value = get_obj_status(prompt)
        entry_ = {"prompt": prompt, "object": None, "kappa": None}
        if obj is not None:
            winner, votes, _ = get_atrb_vals(field, 2, half_normalized_text(encode([obj])[0]), negs)
            if winner >= 0:
                entry_ = {"prompt": prompt, "object": names[winner], "kappa": value}
        results.append(entry_)
        print(f"{prompt!r}: {entry_['object']} -> {entry_['kappa']}")
    with open(os.path.join(out_dir, "livescene_prompts.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
        f.write("\n")


def write_with_metadata(path, tensors, metadata):
    """text_encoder_format.write with the LiveScene metadata instead of a text-encoder one."""
    import struct
    header = {"__metadata__": metadata}
    offset = 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, raw in tensors:
            f.write(raw)


if __name__ == "__main__":
    main()
