"""How the clusterer reads a phrase: pure functions, no database."""

from __future__ import annotations

import pytest

from inkline.planner.clustering.text import (
    ascii_fold,
    collapse,
    content_tokens,
    fold_phrase,
    stem,
    title_case,
    trim,
)


@pytest.mark.parametrize(
    ("forms", "folded"),
    [
        (("machines", "machine"), "machin"),
        (("descaling", "descaler", "descale"), "descal"),
        (("frothing", "frother"), "froth"),
        (("press",), "press"),
        (("process",), "process"),
        (("grinders", "grinder"), "grind"),
    ],
)
def test_word_forms_fold_to_one_stem(forms: tuple[str, ...], folded: str) -> None:
    assert {stem(form) for form in forms} == {folded}


def test_intent_words_and_bare_numbers_are_not_content() -> None:
    assert content_tokens("Best Café Crème 2024 vs Latte") == ["cafe", "creme", "latte"]
    assert content_tokens("v60 recipe") == ["v60", "recipe"]  # digits inside a word stay


def test_the_phrase_as_the_clusterer_sees_it() -> None:
    assert fold_phrase("Best Espresso Machines 2025") == "espresso machin"
    assert fold_phrase("cheap espresso machine") == fold_phrase("espresso machines review")
    assert fold_phrase("how to") == "how to"  # nothing but stop words: kept whole
    assert fold_phrase("") == ""


def test_headline_case_keeps_small_words_low_and_model_names_high() -> None:
    assert title_case("how to use a v60 for the moka pot") == "How to Use a V60 for the Moka Pot"
    assert title_case("  the   aeropress ") == "The Aeropress"


def test_trim_cuts_at_a_word_boundary() -> None:
    assert trim("one two three four", 9) == "one two"
    assert trim("one two,  three", 8) == "one two"
    assert trim("abcdefghijkl", 5) == "abcde"  # no space to cut at
    assert trim("short", 50) == "short"


def test_ascii_and_spaces() -> None:
    assert ascii_fold("café crème brûlée") == "cafe creme brulee"
    assert collapse("  a \t b\n c ") == "a b c"
