"""The semantic grouping's pieces apart from its quality (tests/quality measures that): intent
words, the embedding cache, the choice of clusterer by name and the lexical fallback. No
database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inkline.planner.clustering import (
    CLUSTERERS,
    DEFAULT_CLUSTERER,
    LEXICAL,
    clusterer_grouping,
    minilm,
    semantic,
)


@pytest.fixture
def fresh() -> Iterator[None]:
    semantic.forget()
    yield
    semantic.forget()


def test_intent_words_are_removed_before_embedding() -> None:
    assert semantic.without_intent("best v60 recipe vs chemex") == "v60 recipe chemex"
    assert semantic.without_intent("How To  descale a Keurig") == "descale a Keurig"
    assert semantic.without_intent("ynab review") == "ynab"
    assert semantic.without_intent("best reviews") == "best reviews"  # nothing else: kept
    assert semantic.without_intent("bestseller topology") == "bestseller topology"


def test_embeddings_are_cached_by_phrase(monkeypatch: pytest.MonkeyPatch) -> None:
    model = semantic.load()
    encoded: list[str] = []
    real = model.encode

    def counting(texts: list[str], **options: Any) -> Any:
        encoded.extend(texts)
        return real(texts, **options)

    monkeypatch.setattr(model, "encode", counting)
    monkeypatch.setattr(semantic, "_cache", type(semantic._cache)())
    first = semantic.embed(["cold brew ratio", "best cold brew ratio", "moka pot"])
    assert encoded == ["cold brew ratio", "moka pot"]  # "best …" is the same text once stripped
    again = semantic.embed(["moka pot", "cold brew ratio"])
    assert encoded == ["cold brew ratio", "moka pot"]
    assert abs(again[0] - first[2]).max() == 0 and abs(again[1] - first[0]).max() == 0
    monkeypatch.setattr(semantic, "CACHE_SIZE", 2)
    semantic.embed(["aeropress"])
    assert list(semantic._cache) == [("", "cold brew ratio"), ("", "aeropress")]


def test_another_embedder_has_its_own_cache_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "_cache", type(semantic._cache)())
    asked: list[str] = []

    def endpoint(texts: Any) -> np.ndarray:
        asked.extend(texts)
        return np.eye(3, 384, dtype=np.float32)[: len(texts)]

    vectors = semantic.embed(["cold brew", "moka pot"], endpoint, "remote")
    assert asked == ["cold brew", "moka pot"] and vectors.shape == (2, 384)
    semantic.embed(["cold brew"], endpoint, "remote")
    assert asked == ["cold brew", "moka pot"]
    local = semantic.embed(["cold brew"])  # the local model's vector is another entry
    assert abs(local[0] - vectors[0]).max() > 0.1


def test_a_clusterer_name_selects_its_grouping() -> None:
    assert CLUSTERERS == ("semantic", "lexical") and DEFAULT_CLUSTERER == "semantic"
    assert clusterer_grouping("lexical") is LEXICAL
    assert clusterer_grouping("semantic") is semantic.SEMANTIC
    assert semantic.SEMANTIC.linkage == "ward" and LEXICAL.linkage == "average"


def test_semantic_falls_back_to_lexical_with_a_warning_when_the_model_cannot_load(
    fresh: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(minilm.MODEL_DIR_SETTING, str(tmp_path))  # an empty directory
    assert clusterer_grouping("semantic") is LEXICAL
    assert "semantic clustering unavailable" in caplog.text
    assert "lacks config.json, tokenizer.json, model.safetensors" in caplog.text
    with pytest.raises(minilm.ModelUnavailable):
        semantic.load()


def test_a_model_directory_the_setting_names_is_used(
    fresh: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = minilm.default_model_dir()
    assert source is not None
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        (tmp_path / name).symlink_to(source / name)
    monkeypatch.setenv(minilm.MODEL_DIR_SETTING, str(tmp_path))
    assert minilm.default_model_dir() == tmp_path
    assert clusterer_grouping("semantic") is semantic.SEMANTIC


def test_no_phrases_embed_to_an_empty_matrix_without_loading_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse() -> Any:
        raise AssertionError("the model must not be loaded for nothing")

    monkeypatch.setattr(semantic, "load", refuse)
    assert semantic.embed([]).shape == (0, semantic.DIMENSIONS)
