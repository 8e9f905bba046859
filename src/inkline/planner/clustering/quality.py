"""How good a grouping is, measured without labels: silhouette and singleton share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.metrics import silhouette_score

from inkline.planner.clustering.vectors import dense_if_full

# Above this many keywords the silhouette is estimated on a fixed sample of this size.
SILHOUETTE_SAMPLE = 2000


def cluster_quality(
    vectors: sparse.csr_matrix | np.ndarray, labels: Sequence[int]
) -> tuple[float | None, float]:
    """(mean cosine silhouette or None when undefined, share of items alone in their group).
    The silhouette needs 2..n-1 groups; above SILHOUETTE_SAMPLE items it is estimated on a
    fixed random sample (it costs n² distances)."""
    n = len(labels)
    if n == 0:
        return None, 0.0
    sizes = Counter(labels)
    singleton_share = round(sum(1 for size in sizes.values() if size == 1) / n, 4)
    if not 2 <= len(sizes) <= n - 1:
        return None, singleton_share
    rows, kept = vectors, np.asarray(labels)
    if n > SILHOUETTE_SAMPLE:
        # The sample silhouette_score(sample_size=…, random_state=0) takes, taken before the
        # rows are made dense: the same figure without a dense copy of every row.
        chosen = np.random.RandomState(0).permutation(n)[:SILHOUETTE_SAMPLE]
        rows, kept = vectors[chosen], kept[chosen]
        if len(set(kept.tolist())) < 2:
            return None, singleton_share
    value = silhouette_score(dense_if_full(rows), kept, metric="cosine")
    return round(float(value), 4), singleton_share
