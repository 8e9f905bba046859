"""Keywords into groups: agglomerative clustering (average or Ward linkage) cut at a threshold,
large batches a chunk at a time, and groups joining the existing clusters they belong to."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.cluster import AgglomerativeClustering
from sklearn.preprocessing import normalize as l2_normalize

from inkline.planner.clustering.lexical import LEXICAL
from inkline.planner.clustering.naming import describe, name_candidates, new_name, terms
from inkline.planner.clustering.quality import cluster_quality
from inkline.planner.clustering.text import collapse
from inkline.planner.clustering.types import Group, Grouped, Grouping, KnownCluster, NewKeyword
from inkline.planner.clustering.vectors import centroids, dense_if_full, neighbour_smoothed

# How many keywords of each existing cluster describe it, with its name.
EXISTING_SAMPLE = 50
# The distance matrix is n² floats: larger batches are grouped a chunk at a time, each chunk's
# groups joining the earlier chunks' groups by centroid similarity (as stage 1's batches do).
DIRECT_LIMIT = 1200
# A group grouped with an existing cluster's keywords joins it only if its centroid is at least
# this share of `existing_similarity` close to the cluster's: a lone keyword on a topic the site
# lacks ("mortgage refinance rates" on the coffee demo, cosine 0.11 to its nearest cluster) is
# merged into some cluster by Ward's criterion, which charges little for one point, and must
# stay new. Not higher: "hario v60 water temperature" belongs to a brewing cluster at cosine
# 0.37, "sourdough starter feeding" does not to the demo's V60 one at 0.34. Stage-1 batches
# (`in_batches`): 2,000 keywords in batches of 500 0.767 → 0.770, the fixture in batches of 100
# 0.374 → 0.379 (lexical 0.530 → 0.539).
VOTE_FLOOR = 0.5


def agglomerate(vectors: sparse.csr_matrix, grouping: Grouping) -> np.ndarray:
    """Labels 0..k-1 from agglomeration cut at the grouping's threshold (no fixed cluster
    count): average linkage on cosine distance, or Ward linkage on euclidean distance (dense
    embeddings, after optional neighbour smoothing).
    Above DIRECT_LIMIT rows the batch is grouped a chunk at a time, the way the engine's stage 1
    sees batches: each chunk is grouped on its own, then each of its groups joins the closest
    group of the earlier chunks when their centroids are at least `existing_similarity`
    (cosine) close, and stays new otherwise."""
    n = vectors.shape[0]
    if n == 1:
        return np.zeros(1, dtype=int)
    if n > DIRECT_LIMIT:
        return _agglomerate_chunks(vectors, grouping)
    if grouping.linkage != "ward":
        return _average_linkage(vectors, grouping.threshold)
    variants = np.arange(n)
    points = vectors
    if grouping.variant_distance:
        variants = _average_linkage(vectors, grouping.variant_distance)
        points = centroids(vectors, variants, int(variants.max()) + 1)
    if points.shape[0] == 1:
        return np.zeros(n, dtype=int)
    points = neighbour_smoothed(points.toarray(), grouping.neighbours)
    ward = AgglomerativeClustering(n_clusters=None, distance_threshold=grouping.threshold)
    labels = np.asarray(ward.fit_predict(points), dtype=int)[variants]
    if grouping.loose_cohesion:
        labels = split_loose(vectors, labels, grouping.loose_cohesion)
    return labels


def split_loose(vectors: sparse.csr_matrix, labels: np.ndarray, cohesion: float) -> np.ndarray:
    """The labels with each group of at least 3 unit rows whose mean pairwise cosine is under
    `cohesion` grouped again by average linkage cut at cosine distance 1 - `cohesion` (parts
    whose rows are on average at least that close): its first part keeps the label, the others
    take new ones. Keywords the model cannot place (product and brand names it does not know:
    "ynab", "thundershirt", "baratza encore") sit far from every topic and from each other, and
    Ward, which charges little for small groups, gathers them into one catch-all group; that
    group holds together loosely, a topic's group does not."""
    labels = labels.copy()
    count = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=count)
    sums = np.asarray(centroids(vectors, labels, count, unit=False).toarray())
    # |sum|² = n + the sum of the n(n-1) pairwise cosines of unit rows.
    squared = (sums * sums).sum(axis=1)
    for label in np.flatnonzero(sizes >= 3):
        n = sizes[label]
        if (squared[label] - n) / (n * (n - 1)) >= cohesion:
            continue
        members = np.flatnonzero(labels == label)
        parts = _average_linkage(vectors[members], 1.0 - cohesion)
        for part in range(1, int(parts.max()) + 1):
            labels[members[parts == part]] = count
            count += 1
    return labels


def _average_linkage(vectors: sparse.csr_matrix, threshold: float) -> np.ndarray:
    """Labels from average linkage on cosine distance, cut at `threshold`."""
    rows = dense_if_full(vectors)
    gram = rows @ rows.T
    distance = np.clip(1.0 - (gram.toarray() if sparse.issparse(gram) else gram), 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    model = AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, metric="precomputed", linkage="average"
    )
    return np.asarray(model.fit_predict(distance), dtype=int)


def _agglomerate_chunks(vectors: sparse.csr_matrix, grouping: Grouping) -> np.ndarray:
    """`agglomerate` of more than DIRECT_LIMIT rows, chunk by chunk (see there)."""
    n = vectors.shape[0]
    labels = np.empty(n, dtype=int)
    sums: list[sparse.csr_matrix] = []  # running sum of the rows of each group so far
    for start in range(0, n, DIRECT_LIMIT):
        chunk = vectors[start : start + DIRECT_LIMIT]
        part = agglomerate(chunk, grouping)
        count = int(part.max()) + 1
        chunk_sums = centroids(chunk, part, count, unit=False)
        if sums:
            known = sparse.vstack(sums, format="csr")
            similarity = (l2_normalize(chunk_sums) @ l2_normalize(known).T).toarray()
            best = similarity.argmax(axis=1)
            joins = similarity[np.arange(count), best] >= grouping.existing_similarity
        else:
            best = np.zeros(count, dtype=int)
            joins = np.zeros(count, dtype=bool)
        mapping = np.empty(count, dtype=int)
        for group in range(count):
            if joins[group]:
                mapping[group] = best[group]
                sums[best[group]] = sums[best[group]] + chunk_sums[group]
            else:
                mapping[group] = len(sums)
                sums.append(chunk_sums[group])
        labels[start : start + len(part)] = mapping[part]
    return labels


def group_keywords(
    keywords: Sequence[NewKeyword],
    existing: Sequence[KnownCluster] = (),
    grouping: Grouping = LEXICAL,
) -> Grouped:
    """Group keywords by topic: each keyword id lands in exactly one group (the first keyword of
    an id wins), and a group grouped with keywords of an existing cluster, or whose head term
    names, or whose centroid is close to, an existing cluster joins it (existing clusters'
    keywords never move). With the quality of the result (see `cluster_quality`)."""
    unique = list({k.id: k for k in reversed(keywords)}.values())[::-1]
    if not unique:
        return Grouped(groups=(), silhouette=None, singleton_share=None)
    batch = _vectorized(unique, existing, grouping)
    placed, new = _place(unique, existing, batch, grouping.existing_similarity)
    joined = [
        _group([unique[i] for i in sorted(placed[c.id])], c.name, existing_cluster_id=c.id)
        for c in existing
        if c.id in placed
    ]
    groups = (*joined, *new)
    silhouette, singleton_share = cluster_quality(batch.keyword_vectors, _labels(groups, unique))
    return Grouped(groups=groups, silhouette=silhouette, singleton_share=singleton_share)


@dataclass(frozen=True)
class _Batch:
    """A batch in vector space, with the member keywords of the existing clusters grouped
    together with it (`Grouping.members_in_linkage`)."""

    keyword_vectors: sparse.csr_matrix  # one row per keyword of the batch
    existing_vectors: sparse.csr_matrix | None  # one centroid per existing cluster
    labels: np.ndarray  # the group of each keyword of the batch, then of each member keyword
    member_owner: np.ndarray  # the existing cluster (index) of each member keyword


def _vectorized(
    unique: Sequence[NewKeyword], existing: Sequence[KnownCluster], grouping: Grouping
) -> _Batch:
    """The batch's vectors and groups. Each existing cluster is described by its name and up
    to EXISTING_SAMPLE keywords (its centroid), and gives as many member keywords to the
    linkage as keep it under DIRECT_LIMIT rows, at most `grouping.members_in_linkage`."""
    existing_docs = [[c.name, *c.keywords[:EXISTING_SAMPLE]] for c in existing]
    per_cluster = 0
    if grouping.members_in_linkage and existing:
        per_cluster = min(
            grouping.members_in_linkage, (DIRECT_LIMIT - len(unique)) // len(existing)
        )
    member_docs = [list(c.keywords[: max(per_cluster, 0)]) for c in existing]
    member_owner = np.repeat(np.arange(len(existing)), [len(d) for d in member_docs])
    docs = (
        [k.phrase for k in unique]
        + [doc for docs in member_docs for doc in docs]
        + [doc for docs in existing_docs for doc in docs]
    )
    vectors = grouping.vectorize(docs)
    linked = len(unique) + len(member_owner)
    existing_vectors = None
    if existing:
        owner = np.repeat(np.arange(len(existing)), [len(d) for d in existing_docs])
        existing_vectors = centroids(vectors[linked:], owner, len(existing))
    return _Batch(
        keyword_vectors=_head(vectors, len(unique)),
        existing_vectors=existing_vectors,
        labels=agglomerate(_head(vectors, linked), grouping),
        member_owner=member_owner,
    )


def _head(vectors: sparse.csr_matrix, n: int) -> sparse.csr_matrix:
    """The first n rows: the matrix itself when that is all of them (slicing copies, 46 MB
    for 10,000 embeddings)."""
    return vectors if n == vectors.shape[0] else vectors[:n]


def _place(
    unique: Sequence[NewKeyword],
    existing: Sequence[KnownCluster],
    batch: _Batch,
    existing_similarity: float,
) -> tuple[dict[int, list[int]], list[Group]]:
    """({existing cluster id: indices of the keywords joining it}, the new groups in order of
    their first keyword, each named by its best candidate not taken yet)."""
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(batch.labels[: len(unique)]):
        groups.setdefault(int(label), []).append(index)
    member_votes: dict[int, Counter[int]] = {}
    for label, owner in zip(batch.labels[len(unique) :], batch.member_owner, strict=True):
        member_votes.setdefault(int(label), Counter())[int(owner)] += 1
    by_name = {collapse(c.name).lower(): c for c in existing}
    taken_names = set(by_name)
    batch_frequency = Counter(key for k in unique for key in terms(k.phrase))
    placed: dict[int, list[int]] = {}
    new: list[Group] = []
    for indices in groups.values():  # in order of each group's first keyword
        rows = batch.keyword_vectors[indices]
        centroid = l2_normalize(sparse.csr_matrix(rows.mean(axis=0)))
        members = [unique[i] for i in indices]
        centrality = (rows @ centroid.T).toarray().ravel()
        candidates = name_candidates(members, centrality, batch_frequency, len(unique))
        match = _match(
            existing,
            member_votes.get(int(batch.labels[indices[0]])),
            by_name.get(candidates[0].lower()),
            batch.existing_vectors,
            centroid,
            existing_similarity,
        )
        if match is not None:
            placed.setdefault(match.id, []).extend(indices)
            continue
        name = new_name(candidates, taken_names)
        taken_names.add(name.lower())
        new.append(_group(members, name))
    return placed, new


def _match(
    existing: Sequence[KnownCluster],
    votes: Counter[int] | None,
    named: KnownCluster | None,
    existing_vectors: sparse.csr_matrix | None,
    centroid: sparse.csr_matrix,
    threshold: float,
) -> KnownCluster | None:
    """The existing cluster a group joins: the one most of the member keywords grouped with it
    belong to (`votes`, by index; the first on a tie) if its centroid is at least VOTE_FLOOR x
    `threshold` close; else the one its best name names; else
    the one whose centroid is closest to the group's (cosine), if at least `threshold` close."""
    if votes:
        chosen = min(votes, key=lambda c: (-votes[c], c))
        if existing_vectors is None or _similarity(existing_vectors, chosen, centroid) >= (
            VOTE_FLOOR * threshold
        ):
            return existing[chosen]
    if named is not None or existing_vectors is None:
        return named
    similarity = (existing_vectors @ centroid.T).toarray().ravel()
    best = int(np.argmax(similarity))
    return existing[best] if similarity[best] >= threshold else None


def _similarity(vectors: sparse.csr_matrix, row: int, centroid: sparse.csr_matrix) -> float:
    return float((vectors[row] @ centroid.T).toarray()[0, 0])


def _group(
    members: Sequence[NewKeyword], name: str, existing_cluster_id: int | None = None
) -> Group:
    return Group(
        keyword_ids=tuple(m.id for m in members),
        name=name,
        description=describe(name, members),
        existing_cluster_id=existing_cluster_id,
    )


def _labels(groups: Sequence[Group], unique: Sequence[NewKeyword]) -> list[int]:
    """The group number of each keyword, in the batch's order."""
    position = {k.id: i for i, k in enumerate(unique)}
    labels = [0] * len(unique)
    for number, group in enumerate(groups):
        for keyword_id in group.keyword_ids:
            labels[position[keyword_id]] = number
    return labels
