"""The semantic grouping's pieces apart from its quality (tests/quality measures that): intent
words, the embedding cache, the choice of clusterer by name. No database."""

from __future__ import annotations

import os
from typing import Any

import pytest

from inkline.planner.clustering import CLUSTERERS, LEXICAL, clusterer_grouping, semantic


@pytest.fixture(scope="module")
def installed() -> None:
    if not semantic.available():
        if os.environ.get("CI") == "true":
            pytest.fail("the semantic extra is part of the dev install and must be present in CI")
        pytest.skip("pip install inkline[semantic] to run the semantic clusterer")


def test_intent_words_are_removed_before_embedding() -> None:
    assert semantic.without_intent("best v60 recipe vs chemex") == "v60 recipe chemex"
    assert semantic.without_intent("How To  descale a Keurig") == "descale a Keurig"
    assert semantic.without_intent("ynab review") == "ynab"
    assert semantic.without_intent("best reviews") == "best reviews"  # nothing else: kept
    assert semantic.without_intent("bestseller topology") == "bestseller topology"


def test_embeddings_are_cached_by_phrase(installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    model = semantic._load()
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
    assert list(semantic._cache) == ["cold brew ratio", "aeropress"]


def test_a_clusterer_name_selects_its_grouping(monkeypatch: pytest.MonkeyPatch) -> None:
    assert CLUSTERERS == ("lexical", "semantic")
    assert clusterer_grouping("lexical") is LEXICAL
    monkeypatch.setattr(semantic, "available", lambda: True)
    assert clusterer_grouping("semantic") is semantic.SEMANTIC
    assert semantic.SEMANTIC.linkage == "ward" and LEXICAL.linkage == "average"


def test_semantic_falls_back_to_lexical_with_a_warning_when_not_installed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(semantic, "available", lambda: False)
    assert clusterer_grouping("semantic") is LEXICAL
    assert "pip install inkline[semantic]" in caplog.text


def test_no_phrases_embed_to_an_empty_matrix_without_loading_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse() -> Any:
        raise AssertionError("the model must not be loaded for nothing")

    monkeypatch.setattr(semantic, "_load", refuse)
    assert semantic.embed([]).shape == (0, semantic.DIMENSIONS)
