"""Keywords into groups and groups into existing clusters: `group_keywords` and the linkage
under it, pure functions run without a database."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from inkline.planner.clustering import (
    LEXICAL,
    Group,
    KnownCluster,
    NewKeyword,
    group_keywords,
)
from inkline.planner.clustering import grouping as grouping_module
from inkline.planner.clustering.grouping import agglomerate, split_loose
from tests.quality.labelled import labelled, new_keywords_of


def keywords(*phrases: str, start: int = 1) -> list[NewKeyword]:
    return [NewKeyword(id=i, phrase=p) for i, p in enumerate(phrases, start=start)]


def placed(groups: tuple[Group, ...]) -> dict[int, int | None]:
    """Each keyword id → the existing cluster it joined (None: a new group)."""
    return {k: g.existing_cluster_id for g in groups for k in g.keyword_ids}


def test_nothing_to_group() -> None:
    grouped = group_keywords([], [KnownCluster(id=1, name="Moka Pot")])
    assert (grouped.groups, grouped.silhouette, grouped.singleton_share) == ((), None, None)


def test_two_keywords_on_one_topic_share_a_group_named_after_the_shared_term() -> None:
    grouped = group_keywords(keywords("how to make cold brew", "cold brew ratio"), [])
    assert grouped.groups == (
        Group(
            keyword_ids=(1, 2),
            name="Cold Brew",
            description="2 keywords about cold brew, e.g. how to make cold brew, cold brew ratio",
        ),
    )
    assert grouped.singleton_share == 0.0
    assert grouped.silhouette is None  # one group: undefined


def test_a_repeated_id_is_placed_once_as_its_first_phrase() -> None:
    batch = [NewKeyword(id=1, phrase="moka pot"), NewKeyword(id=1, phrase="chemex ratio")]
    (group,) = group_keywords(batch, []).groups
    assert group.keyword_ids == (1,)
    assert group.name == "Moka Pot"


def test_groups_list_ids_in_input_order_and_are_deterministic() -> None:
    batch = new_keywords_of(labelled()[:120])
    first = group_keywords(batch, [])
    assert group_keywords(list(batch), []) == first
    for group in first.groups:
        assert list(group.keyword_ids) == sorted(group.keyword_ids)
    firsts = [group.keyword_ids[0] for group in first.groups]
    assert firsts == sorted(firsts)  # new groups in order of their first keyword


def test_a_group_named_like_an_existing_cluster_joins_it() -> None:
    existing = [KnownCluster(id=7, name="Moka  pot")]
    grouped = group_keywords(keywords("moka pot sizes", "moka pot tips"), existing)
    assert grouped.groups == (
        Group(
            keyword_ids=(1, 2),
            name="Moka  pot",
            description="2 keywords about moka pot, e.g. moka pot sizes, moka pot tips",
            existing_cluster_id=7,
        ),
    )


def test_a_group_linked_with_an_existing_clusters_keywords_joins_it() -> None:
    existing = [
        KnownCluster(id=7, name="Brewing", keywords=("chemex ratio", "chemex filters")),
        KnownCluster(id=8, name="Grinders", keywords=("burr grinder", "hand grinder")),
    ]
    batch = keywords("chemex ratio for one cup", "burr grinder settings", "dog harness")
    grouped = group_keywords(batch, existing)
    assert placed(grouped.groups) == {1: 7, 2: 8, 3: None}
    # joined groups first, in the order of the existing clusters, under their names
    assert [(g.existing_cluster_id, g.name) for g in grouped.groups] == [
        (7, "Brewing"),
        (8, "Grinders"),
        (None, "Dog Harness"),
    ]


def test_without_members_in_the_linkage_a_close_centroid_joins_the_cluster() -> None:
    existing = [KnownCluster(id=7, name="Brewing", keywords=("chemex ratio", "chemex filters"))]
    batch = keywords("chemex ratio for one cup", "dog harness")
    by_centroid = dataclasses.replace(LEXICAL, members_in_linkage=0)
    assert placed(group_keywords(batch, existing, by_centroid).groups) == {1: 7, 2: None}
    never = dataclasses.replace(by_centroid, existing_similarity=1.01)
    assert placed(group_keywords(batch, existing, never).groups) == {1: None, 2: None}


def test_a_large_batch_is_grouped_a_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = new_keywords_of(labelled())
    whole = group_keywords(batch, [])
    monkeypatch.setattr(grouping_module, "DIRECT_LIMIT", 70)
    chunked = group_keywords(batch, [])
    assert sorted(placed(chunked.groups)) == [k.id for k in batch]
    assert chunked.groups != whole.groups
    assert len(whole.groups) // 2 <= len(chunked.groups) <= 2 * len(whole.groups)


def test_linkage_of_one_row_and_of_clearly_apart_rows() -> None:
    one = sparse.csr_matrix(np.array([[1.0, 0.0]]))
    assert agglomerate(one, LEXICAL).tolist() == [0]
    rows = sparse.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0], [0.995, 0.0998]]))
    labels = agglomerate(rows, LEXICAL).tolist()
    assert labels[0] == labels[2] != labels[1]


def test_chunks_join_the_earlier_chunks_groups_by_centroid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(grouping_module, "DIRECT_LIMIT", 2)
    a, b = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    near_a, near_b = [0.995, 0.0, 0.0998], [0.0, 0.995, 0.0998]
    # chunks: [a, b], [near b, near a], [opposite a]
    rows = sparse.csr_matrix(np.array([a, b, near_b, near_a, [-1.0, 0.0, 0.0]]))
    labels = agglomerate(rows, LEXICAL).tolist()
    assert labels[0] == labels[3] != labels[1] == labels[2]
    # below `existing_similarity` (0.3) to every earlier group: a group of its own
    assert labels[4] not in {labels[0], labels[1]}
    assert sorted(set(labels)) == [0, 1, 2]


def test_a_loose_group_is_grouped_again_and_a_tight_one_kept() -> None:
    """Ward gathers keywords the model cannot place into one group of many topics; a group
    whose rows hardly resemble each other (mean pairwise cosine under `cohesion`) is split by
    average linkage into parts at least that cohesive: a close pair stays together."""
    e = np.eye(5)
    pair = np.array([0.6, 0.0, 0.0, 0.0, 0.8])  # cosine 0.8 to e[4]
    tight = np.array([[1.0, 0.0, 0.0, 0.0, 0.0], [0.995, 0.0998, 0.0, 0.0, 0.0]] * 2)
    rows = sparse.csr_matrix(np.vstack([tight, e[1], e[2], e[3], e[4], pair]))
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    split = split_loose(rows, labels, cohesion=0.2).tolist()
    assert split[:4] == [0, 0, 0, 0]  # mean pairwise cosine 0.99: kept
    assert split[7] == split[8]  # the close pair of the loose group stays together
    assert len({split[4], split[5], split[6], split[7]}) == 4
    assert set(split) == set(range(5))  # new groups numbered after the existing ones
    # a loose pair is no catch-all: groups of fewer than 3 rows are kept
    assert split_loose(rows[4:6], np.array([0, 0]), 0.2).tolist() == [0, 0]
    # above `cohesion` nothing moves
    assert split_loose(rows, labels, cohesion=0.0).tolist() == labels.tolist()


WORDS = ("cold", "brew", "moka", "pot", "grinder", "burr", "best", "how", "to", "2024", "dog")
phrases = st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join)


@settings(max_examples=60, deadline=None, database=None)
@given(
    batch=st.lists(st.tuples(st.integers(1, 30), phrases), max_size=25),
    known=st.lists(st.tuples(phrases, st.lists(phrases, max_size=4)), max_size=4),
)
def test_every_keyword_lands_once_and_new_names_are_free(
    batch: list[tuple[int, str]], known: list[tuple[str, list[str]]]
) -> None:
    existing = [
        KnownCluster(id=100 + n, name=name or f"cluster {n}", keywords=tuple(members))
        for n, (name, members) in enumerate(known)
    ]
    grouped = group_keywords([NewKeyword(id=i, phrase=p) for i, p in batch], existing)
    ids = [k for g in grouped.groups for k in g.keyword_ids]
    assert sorted(ids) == sorted({i for i, _ in batch})
    names = {c.id: c.name for c in existing}
    joined = [g.existing_cluster_id for g in grouped.groups if g.existing_cluster_id]
    assert len(joined) == len(set(joined)) and set(joined) <= set(names)
    taken = {" ".join(n.split()).lower() for n in names.values()}
    new = [g.name.lower() for g in grouped.groups if g.existing_cluster_id is None]
    assert len(new) == len(set(new)) and not set(new) & taken
    for group in grouped.groups:
        assert group.keyword_ids and group.name and group.description
        if group.existing_cluster_id is not None:
            assert group.name == names[group.existing_cluster_id]
    assert grouped.silhouette is None or -1.0 <= grouped.silhouette <= 1.0
    if batch:
        assert grouped.singleton_share is not None and 0.0 <= grouped.singleton_share <= 1.0
