"""Measuring a grouping and smoothing vectors before it: pure functions, no database."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from inkline.planner.clustering.quality import cluster_quality
from inkline.planner.clustering.vectors import centroids, neighbour_smoothed


def test_neighbour_smoothing_draws_a_straggler_toward_its_neighbours() -> None:
    # three points near 0°, a straggler at 50°, a far point at 120°
    points = np.array([[1.0, 0.0], [0.96, 0.28], [0.96, -0.28], [0.643, 0.766], [-0.5, 0.866]])
    smoothed = neighbour_smoothed(points, 2)
    assert np.allclose(np.linalg.norm(smoothed, axis=1), 1.0)
    # the straggler moves toward its two nearest points, away from the far one
    assert smoothed[3] @ points[1] > points[3] @ points[1]
    assert smoothed[3] @ points[4] < points[3] @ points[4]
    assert neighbour_smoothed(points, 0) is points
    assert np.allclose(neighbour_smoothed(points[:1], 8), points[:1])  # no neighbours at all
    assert neighbour_smoothed(points, 99).shape == points.shape  # k capped at n - 1


def test_cluster_quality_of_clear_and_degenerate_groupings() -> None:
    points = np.array([[1.0, 0.0], [0.99, 0.05], [0.0, 1.0], [0.05, 0.99]])
    silhouette, singles = cluster_quality(points, [0, 0, 1, 1])
    assert silhouette is not None and silhouette > 0.9
    assert singles == 0.0
    mixed, _ = cluster_quality(points, [0, 1, 0, 1])
    assert mixed is not None and mixed < 0
    assert cluster_quality(points, [0, 1, 2, 3]) == (None, 1.0)  # all alone: undefined
    assert cluster_quality(points, [0, 0, 0, 0]) == (None, 0.0)  # one group: undefined
    assert cluster_quality(points, [0, 0, 1, 2])[1] == 0.5
    assert cluster_quality(np.zeros((0, 2)), []) == (None, 0.0)


def test_centroids_are_unit_means_or_plain_sums() -> None:
    rows = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0]])
    matrix = sparse.csr_matrix(rows)
    unit = centroids(matrix, np.array([0, 0, 1]), 2).toarray()
    assert np.allclose(unit, [[0.7071068, 0.7071068], [0.6, 0.8]])
    sums = centroids(matrix, np.array([0, 0, 1]), 2, unit=False).toarray()
    assert np.allclose(sums, [[1.0, 1.0], [3.0, 4.0]])
