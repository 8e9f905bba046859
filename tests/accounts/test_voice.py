"""Brand voice data (accounts.voice): whole-word matching of words to avoid, their removal,
and the bounds every way in (API, UI, admin) shares."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inkline.accounts.voice import (
    WORD_MAX,
    WORDS_MAX,
    Voice,
    clean_words,
    cleaned,
    find_avoided,
    settings_errors,
    strip_avoided,
)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Use it daily.", ["use"]),
        ("We USE it.", ["use"]),
        ("Every user agrees.", []),  # not inside another word
        ("Reuse the filter; re-use it.", []),
        ("Unused, useful, misused.", []),
        ("use, then use.", ["use"]),
        ("Top  Notch\nresults", ["top notch"]),  # a phrase across any whitespace
        ("top-notch results", []),
        ("It’s a game changer", ["game changer", "it's"]),  # typographic apostrophe
    ],
)
def test_avoided_words_match_whole_words_and_phrases_ignoring_case(
    text: str, found: list[str]
) -> None:
    assert sorted(find_avoided([text], ["use", "top notch", "game changer", "it's"])) == found


def test_a_phrase_does_not_run_from_one_text_into_the_next() -> None:
    assert find_avoided(["the best", "value here"], ["best value"]) == []
    assert find_avoided(["the best value here"], ["Best Value"]) == ["Best Value"]


def test_found_words_are_named_as_the_site_spells_them_once_each() -> None:
    texts = ["SYNERGY and synergy", "Leverage it", "synergy"]
    assert find_avoided(texts, ["Synergy", "leverage", "paradigm"]) == ["Synergy", "leverage"]


def test_removal_tidies_spacing_punctuation_and_sentence_capitals() -> None:
    text = "Best value: most of it. We use it, daily. The user guide."
    assert strip_avoided(text, ["best value", "use"]) == "Most of it. We it, daily. The user guide."
    assert strip_avoided("  a x b  ", ["x", "a b"]) == "  "  # a removal can join a phrase
    assert strip_avoided("nothing to do", []) == "nothing to do"


words = st.lists(
    st.text(alphabet="abcdeé -'’,.", min_size=1, max_size=12).filter(lambda w: w.strip()),
    min_size=1,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="abcdeé -'’,.!?\n\t", max_size=120), avoid=words)
def test_after_removal_no_word_to_avoid_is_left(text: str, avoid: list[str]) -> None:
    assert find_avoided([strip_avoided(text, avoid)], avoid) == []


def test_lists_are_cleaned_and_every_setting_is_bounded() -> None:
    assert clean_words([" Top   notch ", "top notch", "", "  ", "Synergy"]) == (
        "Top notch",
        "Synergy",
    )
    assert cleaned({"voice": "  warm  ", "words_to_avoid": ["a", "A "]}) == {
        "voice": "warm",
        "words_to_avoid": ["a"],
    }
    assert settings_errors({"voice": "warm", "reading_ease": 60, "point_of_view": "we"}) == {}
    errors = settings_errors(
        {
            "voice": "x" * 1001,
            "audience": "x" * 301,
            "example": "x" * 2001,
            "words_to_use": [f"w{i}" for i in range(WORDS_MAX + 1)],
            "words_to_avoid": ["x" * (WORD_MAX + 1)],
            "reading_ease": 101,
            "point_of_view": "I",
            "tone": "loud",
        }
    )
    assert set(errors) == {
        "voice", "audience", "example", "words_to_use", "words_to_avoid", "reading_ease",
        "point_of_view", "tone",
    }  # fmt: skip
    assert settings_errors({"reading_ease": -1}) and settings_errors({"reading_ease": True})
    assert settings_errors({"reading_ease": None}) == {}


def test_a_voice_is_set_by_any_setting_and_its_dict_holds_only_those_set() -> None:
    assert not Voice().is_set
    assert Voice().reading_ease_min == 50.0
    assert Voice(reading_ease=0).is_set and Voice(reading_ease=0).reading_ease_min == 0.0
    voice = Voice(voice="warm", words_to_avoid=("synergy",), point_of_view="we")
    assert voice.as_dict() == {
        "voice": "warm",
        "words_to_avoid": ["synergy"],
        "point_of_view": "we",
    }
    assert set(voice.as_dict(every=True)) == {
        "voice", "audience", "words_to_use", "words_to_avoid", "reading_ease", "point_of_view",
        "example",
    }  # fmt: skip
