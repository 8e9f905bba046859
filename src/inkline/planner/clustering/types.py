"""The clusterer's inputs and outputs (plain data: the AI provider adapts its own types to
these), and what a grouping is made of: how phrases become vectors and vectors groups."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scipy import sparse

# Member keywords of each existing cluster grouped together with a batch (see Grouping):
# fixture in shuffled batches of 100, lexical ARI 0.480 → 0.530; 2,000 keywords in batches of
# 500, semantic 0.669 → 0.767 (benchmarks/clustering.py). Matching groups to existing clusters
# only by the centroid of their name and keywords scored 0.474 and 0.676.
MEMBERS_IN_LINKAGE = 20


@dataclass(frozen=True)
class Grouping:
    """How keywords become vectors and vectors become groups: `vectorize` maps phrases to unit
    rows; groups merge under `threshold` with `linkage`; a group joins an existing cluster whose
    centroid is at least `existing_similarity` (cosine) close."""

    name: str
    vectorize: Callable[[Sequence[str]], sparse.csr_matrix]
    linkage: str
    threshold: float
    existing_similarity: float
    # Before grouping, each row x becomes x + 0.5 x the mean of its `neighbours` nearest rows
    # of the batch, at unit length (0: not at all); see `neighbour_smoothed`.
    neighbours: int = 0
    # Ward linkage only: keywords within this average cosine distance of each other (variants
    # of one keyword: "v60 recipe", "v60 recipe uk") count as one point, so a topic's weight in
    # Ward's criterion does not grow with its number of variants (0: no such step).
    variant_distance: float = 0.0
    # Up to this many member keywords of each existing cluster are grouped together with the
    # batch, and a group holding some joins the cluster most of them belong to (0: existing
    # clusters are matched only by name and by the centroid of their name and keywords).
    members_in_linkage: int = 0
    # Ward linkage only: a group of at least 3 keywords whose mean pairwise cosine is under
    # `loose_cohesion` (a catch-all of keywords the model cannot place: unknown product and
    # brand names) is grouped again by average linkage, into parts whose keywords' mean cosine
    # to each other's is at least `loose_cohesion` (0: no such step; see `split_loose`).
    loose_cohesion: float = 0.0


@dataclass(frozen=True)
class NewKeyword:
    """A keyword to place: `id` is the caller's, returned in the group it lands in."""

    id: int
    phrase: str
    volume: int | None = None


@dataclass(frozen=True)
class KnownCluster:
    """A cluster made earlier, described by its name and some of its keywords (oldest first)."""

    id: int
    name: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """Keywords that belong together: joining the known cluster `existing_cluster_id`, or a new
    cluster called `name`."""

    keyword_ids: tuple[int, ...]
    name: str
    description: str = ""
    existing_cluster_id: int | None = None


@dataclass(frozen=True)
class Grouped:
    """The groups of one call, in order (groups joining known clusters first, in the order the
    clusters were given, then new ones by their first keyword), and the quality of the
    grouping: mean cosine silhouette (None when undefined) and the share of keywords alone."""

    groups: tuple[Group, ...]
    silhouette: float | None
    singleton_share: float | None
