"""Keywords into groups: agglomerative clustering (average or Ward linkage) cut at a threshold,
large batches a chunk at a time, and groups joining the existing clusters they belong to."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.cluster import AgglomerativeClustering
from sklearn.preprocessing import normalize as l2_normalize

from inkline.ai.types import ClusterAssignment, ExistingCluster, KeywordIn
from inkline.planner.clustering.lexical import LEXICAL
from inkline.planner.clustering.naming import _describe, _name_candidates, _numbered, _terms
from inkline.planner.clustering.quality import cluster_quality
from inkline.planner.clustering.text import _collapse
from inkline.planner.clustering.types import Grouping
from inkline.planner.clustering.vectors import _centroids, _dense_if_full, neighbour_smoothed

# How many keywords of each existing cluster describe it, with its name.
EXISTING_SAMPLE = 50
# The distance matrix is n² floats: larger batches are grouped a chunk at a time, each chunk's
# groups joining the earlier chunks' groups by centroid similarity (as stage 1's batches do).
DIRECT_LIMIT = 1200


def _agglomerate(vectors: sparse.csr_matrix, grouping: Grouping) -> np.ndarray:
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
        points = _centroids(vectors, variants, int(variants.max()) + 1)
    if points.shape[0] == 1:
        return np.zeros(n, dtype=int)
    points = neighbour_smoothed(points.toarray(), grouping.neighbours)
    ward = AgglomerativeClustering(n_clusters=None, distance_threshold=grouping.threshold)
    return np.asarray(ward.fit_predict(points), dtype=int)[variants]


def _average_linkage(vectors: sparse.csr_matrix, threshold: float) -> np.ndarray:
    """Labels from average linkage on cosine distance, cut at `threshold`."""
    rows = _dense_if_full(vectors)
    gram = rows @ rows.T
    distance = np.clip(1.0 - (gram.toarray() if sparse.issparse(gram) else gram), 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    model = AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, metric="precomputed", linkage="average"
    )
    return np.asarray(model.fit_predict(distance), dtype=int)


def _agglomerate_chunks(vectors: sparse.csr_matrix, grouping: Grouping) -> np.ndarray:
    """`_agglomerate` of more than DIRECT_LIMIT rows, chunk by chunk (see there)."""
    n = vectors.shape[0]
    labels = np.empty(n, dtype=int)
    sums: list[sparse.csr_matrix] = []  # running sum of the rows of each group so far
    for start in range(0, n, DIRECT_LIMIT):
        chunk = vectors[start : start + DIRECT_LIMIT]
        part = _agglomerate(chunk, grouping)
        count = int(part.max()) + 1
        chunk_sums = _centroids(chunk, part, count, unit=False)
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
    keywords: Sequence[KeywordIn], existing: Sequence[ExistingCluster]
) -> list[ClusterAssignment]:
    """Group keywords by topic: each keyword id lands in exactly one assignment, and a group
    grouped with keywords of an existing cluster, or whose head term names, or whose centroid
    is close to, an existing cluster joins it (existing clusters' keywords never move)."""
    return group_keywords_measured(keywords, existing)[0]


def group_keywords_measured(
    keywords: Sequence[KeywordIn],
    existing: Sequence[ExistingCluster],
    grouping: Grouping = LEXICAL,
) -> tuple[list[ClusterAssignment], float | None, float | None]:
    """`group_keywords` with a chosen grouping (lexical by default, or `ai.semantic`'s), and
    the quality of the result (see `cluster_quality`)."""
    unique = list({k.id: k for k in reversed(keywords)}.values())[::-1]  # first of an id wins
    if not unique:
        return [], None, None
    existing_docs = [[c.name, *c.keywords[:EXISTING_SAMPLE]] for c in existing]
    # Member keywords of the existing clusters grouped with the batch (members_in_linkage):
    # as many per cluster as keep the linkage under DIRECT_LIMIT rows, at most that setting.
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
    keyword_vectors = vectors[: len(unique)]
    linked = len(unique) + len(member_owner)
    if existing:
        owner = np.repeat(np.arange(len(existing)), [len(d) for d in existing_docs])
        existing_vectors = _centroids(vectors[linked:], owner, len(existing))

    batch_frequency = Counter(key for k in unique for key in _terms(k.phrase))
    labels_all = _agglomerate(vectors[:linked], grouping)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels_all[: len(unique)]):
        groups.setdefault(int(label), []).append(index)
    # A group holding member keywords of existing clusters joins the one most of them belong to.
    member_votes: dict[int, Counter[int]] = {}
    for label, owner_index in zip(labels_all[len(unique) :], member_owner, strict=True):
        member_votes.setdefault(int(label), Counter())[int(owner_index)] += 1
    existing_by_name = {_collapse(c.name).lower(): c for c in existing}
    taken_names = set(existing_by_name)
    placed: dict[int, list[int]] = {}
    new: list[ClusterAssignment] = []
    for indices in groups.values():  # in order of each group's first keyword
        rows = keyword_vectors[indices]
        centroid = l2_normalize(sparse.csr_matrix(rows.mean(axis=0)))
        members = [unique[i] for i in indices]
        centrality = (rows @ centroid.T).toarray().ravel()
        candidates = _name_candidates(members, centrality, batch_frequency, len(unique))
        votes = member_votes.get(int(labels_all[indices[0]]))
        match = None
        if votes:
            match = existing[min(votes, key=lambda c: (-votes[c], c))]
        if match is None:
            match = existing_by_name.get(candidates[0].lower())
        if match is None and existing:
            similarity = (existing_vectors @ centroid.T).toarray().ravel()
            best = int(np.argmax(similarity))
            match = existing[best] if similarity[best] >= grouping.existing_similarity else None
        if match is not None:
            placed.setdefault(match.id, []).extend(indices)
            continue
        name = next((c for c in candidates if c.lower() not in taken_names), None)
        name = name or _numbered(candidates[0], taken_names)
        taken_names.add(name.lower())
        new.append(
            ClusterAssignment(
                keyword_ids=tuple(m.id for m in members),
                name=name,
                description=_describe(name, members),
            )
        )
    joined = []
    for cluster in existing:
        if cluster.id in placed:
            members = [unique[i] for i in sorted(placed.pop(cluster.id))]
            joined.append(
                ClusterAssignment(
                    keyword_ids=tuple(m.id for m in members),
                    name=cluster.name,
                    description=_describe(cluster.name, members),
                    existing_cluster_id=cluster.id,
                )
            )
    assignments = joined + new
    position = {k.id: i for i, k in enumerate(unique)}
    labels = [0] * len(unique)
    for number, assignment in enumerate(assignments):
        for keyword_id in assignment.keyword_ids:
            labels[position[keyword_id]] = number
    silhouette, singleton_share = cluster_quality(keyword_vectors, labels)
    return assignments, silhouette, singleton_share
