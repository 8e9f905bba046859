"""Vector helpers shared by the groupings: neighbour smoothing, centroids, dense or sparse rows."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize as l2_normalize


def neighbour_smoothed(vectors: np.ndarray, neighbours: int, weight: float = 0.5) -> np.ndarray:
    """Unit rows, each moved toward the mean of its `neighbours` most similar other rows
    (cosine): x + weight x mean(neighbours). One step of neighbourhood averaging: a keyword whose
    own vector is pulled aside by a modifier ("… review", "… vs …") is drawn back toward the
    keywords it is closest to, which sharpens topics before linkage."""
    n = vectors.shape[0]
    k = min(neighbours, n - 1)
    if k <= 0:
        return vectors
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    moved = vectors + weight * vectors[nearest].mean(axis=1)
    return np.asarray(l2_normalize(moved))


def dense_if_full(
    vectors: sparse.csr_matrix | np.ndarray,
) -> sparse.csr_matrix | np.ndarray:
    """Mostly-nonzero rows (embeddings) as a dense array, whose products run on BLAS; sparse
    rows (TF-IDF) as they are."""
    if isinstance(vectors, np.ndarray):
        return vectors
    if vectors.nnz > 0.25 * vectors.shape[0] * vectors.shape[1]:
        return vectors.toarray()
    return vectors


def centroids(
    vectors: sparse.csr_matrix, labels: np.ndarray, k: int, *, unit: bool = True
) -> sparse.csr_matrix:
    """The unit-length mean vector of each of the k labels (`unit=False`: the plain sum)."""
    membership = sparse.csr_matrix(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels))
    )
    total = sparse.csr_matrix(membership @ vectors)
    return l2_normalize(total) if unit else total
