"""facet.Tokenizer and facet.TokenShards against `facet tokenize` / `facet detokenize`."""
import os
import threading
import time

import numpy as np
import pytest

import facet
from conftest import run_cli


@pytest.fixture(scope="module")
def cli_tokens(small_model, image_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("tokens")
    run_cli("tokenize", small_model, image_folder, "--out", out, "--shard-size", 2, "--quiet")
    return str(out)


@pytest.fixture(scope="module")
def tok(small_model):
    with facet.Tokenizer(small_model, batch=2) as t:
        yield t


def test_config(tok):
    assert tok.branches == ["vis", "sem"]
    assert (tok.grid, tok.image_size, tok.codebook_size) == (4, 64, 512)


def test_tokens_equal_the_cli(tok, cli_tokens, image_folder):
    shards = facet.TokenShards(cli_tokens)
    assert len(shards) == 5 and shards.shard_count == 3 and shards.complete
    paths = [p for _, _, p in shards]
    ours = tok.encode([os.path.join(image_folder, p) for p in paths])
    for i, (tokens, cls, path) in enumerate(shards):
        for b in tok.branches:
            assert ours[b].dtype == np.uint16 and ours[b].shape == (5, 4, 4)
            np.testing.assert_array_equal(ours[b][i], tokens[b], err_msg=path)
        assert shards.classes[cls] == path.split("/")[0]


def test_arrays_preprocess_like_files(tok, image_folder):
    # an 8-bit RGB file decoded to uint8 gives the same crop and tokens as the file itself
    path = os.path.join(image_folder, "dog/d.jpg")
    rgb = tok.preprocess(path)  # 64x64 crop of the file
    big = np.ascontiguousarray(np.repeat(np.repeat(rgb, 3, axis=0), 3, axis=1))  # 192x192 array
    a = tok.preprocess(big)
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    same = tok.preprocess(rgb)  # already the model's size: unchanged
    np.testing.assert_array_equal(same, rgb)
    t1, t2 = tok.encode([path]), tok.encode(rgb[None])
    for b in tok.branches:
        np.testing.assert_array_equal(t1[b], t2[b])


def test_cpu_bf16_keeps_the_tokens_and_decodes_near_fp32(tok, small_model, image_folder):
    path = os.path.join(image_folder, "dog/d.jpg")
    if " avx512_bf16" not in open("/proc/cpuinfo").read():
        with pytest.raises(facet.FacetError, match="AVX-512 BF16"):
            facet.Tokenizer(small_model, precision="bf16")
        return
    with facet.Tokenizer(small_model, precision="bf16", batch=2) as t16:
        tokens = tok.encode([path])
        same = t16.encode([path])
        for b in tok.branches:
            np.testing.assert_array_equal(same[b], tokens[b])
        a, b16 = tok.decode(tokens).astype(np.float64), t16.decode(tokens).astype(np.float64)
        mse = ((a - b16) ** 2).mean()
        assert 0 < mse and 10 * np.log10(255 ** 2 / mse) > 30  # bf16 ran, within bf16's error


def test_decode_equals_detokenize(tok, small_model, cli_tokens, tmp_path):
    run_cli("detokenize", small_model, cli_tokens, "--out", tmp_path, "--quiet")
    shards = facet.TokenShards(cli_tokens)
    tokens, _, path = shards[3]
    image = tok.decode({b: t[None] for b, t in tokens.items()})
    assert image.shape == (1, 64, 64, 3) and image.dtype == np.uint8
    cli = facet.read_image(tmp_path / (os.path.splitext(path)[0] + ".png"))
    np.testing.assert_array_equal(image[0], np.rint(cli * 255).astype(np.uint8))


def test_token_shards_memmap_and_indexing(cli_tokens):
    shards = facet.TokenShards(cli_tokens)
    a = shards.arrays(0)
    assert isinstance(a["vis"], np.memmap) and a["vis"].dtype == np.uint16
    last = shards[-1]
    assert last[2] == list(shards)[-1][2]
    with pytest.raises(IndexError):
        shards[5]
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="PyTorch"):
            shards.torch_dataset()


def test_the_gil_is_released_during_encode(small_model):
    # while another thread encodes, this thread keeps running Python
    crops = np.random.default_rng(0).integers(0, 256, (16, 64, 64, 3), dtype=np.uint8)
    t = facet.Tokenizer(small_model, batch=16)
    done = threading.Event()

    def work():
        t.encode(crops)
        done.set()

    thread = threading.Thread(target=work)
    ticks = 0
    thread.start()
    start = time.perf_counter()
    while not done.is_set():
        ticks += 1
    elapsed = time.perf_counter() - start
    thread.join()
    assert elapsed < 0.05 or ticks > 1000, "the main thread was blocked during encode"


def test_bad_input_raises(tok, tmp_path, cli_tokens):
    with pytest.raises(TypeError):
        tok.encode(np.zeros((1, 64, 64, 3), np.float32))
    with pytest.raises(ValueError):
        tok.encode(np.zeros((1, 64, 64), np.uint8))
    with pytest.raises(ValueError):
        tok.preprocess(np.zeros((64, 64, 4), np.uint8))
    with pytest.raises(facet.FacetError, match="nothing.jpg"):
        tok.encode([str(tmp_path / "nothing.jpg")])
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(facet.FacetError):
        tok.encode([str(tmp_path / "garbage.png")])
    with pytest.raises(ValueError, match="codebook|\\[0, 512\\)"):
        tok.decode({"vis": np.full((1, 4, 4), 600), "sem": np.zeros((1, 4, 4), np.uint16)})
    with pytest.raises(ValueError, match="lack"):
        tok.decode({"vis": np.zeros((1, 4, 4), np.uint16)})
    with pytest.raises(ValueError):
        tok.decode(np.zeros((2, 1, 3, 3), np.uint16))
    with pytest.raises(FileNotFoundError):
        facet.Tokenizer(str(tmp_path / "none.safetensors"))
    (tmp_path / "bad.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(facet.FacetError, match="bad.safetensors"):
        facet.Tokenizer(str(tmp_path / "bad.safetensors"))
    with pytest.raises(ValueError, match="tf32"):
        facet.Tokenizer(str(tmp_path / "bad.safetensors"), device="cpu", precision="tf32")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        facet.Tokenizer(str(tmp_path / "bad.safetensors"), device="tpu")
    with pytest.raises(TypeError):
        facet.Tokenizer(str(tmp_path / "bad.safetensors"), precision=16)
    with pytest.raises(FileNotFoundError):
        facet.TokenShards(tmp_path)
