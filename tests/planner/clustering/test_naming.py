"""Names and descriptions of new clusters: pure functions, no database."""

from __future__ import annotations

from collections import Counter

import numpy as np

from inkline.planner.clustering import NewKeyword
from inkline.planner.clustering.naming import describe, name_candidates, new_name, terms


def keywords(*phrases: str) -> list[NewKeyword]:
    return [NewKeyword(id=i, phrase=p) for i, p in enumerate(phrases, start=1)]


def test_terms_are_folded_unigrams_and_bigrams_with_their_surface_form() -> None:
    assert terms("Best Cold Brew Ratios") == {
        "cold": "cold",
        "brew": "brew",
        "ratio": "ratios",
        "cold brew": "cold brew",
        "brew ratio": "brew ratios",
    }
    assert terms("best vs") == {}


def test_a_term_shared_by_the_members_names_the_group_bigrams_first() -> None:
    members = keywords("how to make cold brew", "cold brew ratio", "cold brew concentrate")
    batch = Counter(key for k in members for key in terms(k.phrase))
    names = name_candidates(members, np.ones(3), batch, size=3)
    assert names[:3] == ["Cold Brew", "Brew", "Cold"]  # equally distinctive: alphabetical
    # "brew" in five more keywords of the batch: "cold" is the more distinctive word
    names = name_candidates(members, np.ones(3), batch + Counter({"brew": 5}), size=8)
    assert names[:3] == ["Cold Brew", "Cold", "Brew"]
    # then every member's phrase, the most central first
    assert names[3:] == ["How to Make Cold Brew", "Cold Brew Ratio", "Cold Brew Concentrate"]


def test_without_a_shared_term_the_most_central_phrase_names_the_group() -> None:
    members = keywords("moka pot", "aeropress")
    names = name_candidates(members, np.array([0.5, 0.9]), Counter(), size=2)
    assert names == ["Aeropress", "Moka Pot"]
    ties = [
        NewKeyword(id=1, phrase="moka pot", volume=10),
        NewKeyword(id=2, phrase="kettle", volume=90),
    ]
    # equally central: the higher volume first
    assert name_candidates(ties, np.array([0.7, 0.7]), Counter(), size=2)[0] == "Kettle"


def test_a_group_of_nothing_nameable_is_untitled() -> None:
    assert name_candidates(keywords("", "  "), np.ones(2), Counter(), size=2) == [
        "Untitled Cluster"
    ]


def test_a_new_name_is_one_no_cluster_has_yet() -> None:
    assert new_name(["Cold Brew", "Cold"], {"moka pot"}) == "Cold Brew"
    assert new_name(["Cold Brew", "Cold"], {"cold brew"}) == "Cold"
    assert new_name(["Cold Brew"], {"cold brew", "cold brew 2"}) == "Cold Brew 3"


def test_description_counts_the_keywords_and_quotes_three() -> None:
    members = keywords("cold brew ratio", "cold  brew maker", "nitro cold brew", "iced coffee")
    assert describe("Cold Brew", members) == (
        "4 keywords about cold brew, e.g. cold brew ratio, cold brew maker, nitro cold brew"
    )
    assert describe("Moka Pot", keywords("moka pot")).startswith("1 keyword about moka pot")
    assert len(describe("X", keywords("word " * 200))) <= 250
