"""The numpy all-MiniLM-L6-v2 encoder against sentence-transformers' own embeddings (stored in
data/, written by make_minilm_reference.py while PyTorch was installed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.special import erf as scipy_erf

from inkline.planner.clustering import minilm, semantic

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], np.ndarray]:
    texts = json.loads((DATA / "minilm_reference.json").read_text(encoding="utf-8"))
    return texts, np.load(DATA / "minilm_reference.npy")


def test_embeddings_equal_sentence_transformers_to_1e_4(
    reference: tuple[list[str], np.ndarray],
) -> None:
    texts, expected = reference
    assert len(texts) >= 400 and expected.shape == (len(texts), minilm.DIMENSIONS)
    got = semantic.load().encode(texts)
    assert got.dtype == np.float32 and got.shape == expected.shape
    difference = float(np.abs(got - expected).max())
    print(f"max abs difference {difference:.2e}")
    assert difference < 1e-4
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_one_thread_and_several_give_the_same_vectors(
    reference: tuple[list[str], np.ndarray],
) -> None:
    texts = reference[0][:120]
    encoder = semantic.load()
    assert np.array_equal(encoder.encode(texts, threads=1), encoder.encode(texts, threads=2))


def test_texts_of_the_same_tokens_are_encoded_once_and_keep_their_rows() -> None:
    encoder = semantic.load()
    texts = ["V60 Recipe", "chemex", "v60  recipe", "chemex", "hario v60"]
    got = encoder.encode(texts)
    assert got.shape == (5, minilm.DIMENSIONS)
    assert np.array_equal(got[0], got[2]) and np.array_equal(got[1], got[3])
    alone = encoder.encode(["hario v60", "chemex"])
    assert np.allclose(got[[4, 1]], alone, atol=1e-6)
    assert float(got[0] @ got[4]) < 0.99


def test_a_text_longer_than_the_model_takes_is_cut_to_256_tokens() -> None:
    encoder = semantic.load()
    long = " ".join(["espresso grinder"] * 400)
    assert len(encoder.tokens([long])[0]) == minilm.MAX_TOKENS
    assert encoder.encode([]).shape == (0, minilm.DIMENSIONS)


def test_gelu_matches_the_exact_one_to_float32_precision() -> None:
    x = np.linspace(-12, 12, 300_000, dtype=np.float32).reshape(3, -1)
    exact = x.astype(np.float64) / 2 * (1 + scipy_erf(x.astype(np.float64) / np.sqrt(2)))
    got = minilm._gelu(x.copy())
    assert got.dtype == np.float32
    # A few float32 ulps of the result (its 1 + erf part to 1e-6), chunk edges included.
    assert float((np.abs(got - exact) / np.maximum(np.abs(x), 1)).max()) < 1e-6
    with pytest.raises(ValueError):
        minilm._gelu(x.T)
