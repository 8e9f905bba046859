"""Clustering quality and speed of the local provider's clusterers on the labelled keyword
fixture: adjusted Rand index (ARI) against the known topics, cluster count, silhouette and
singleton share, and wall time up to 10,000 keywords in one call. The lexical clusterer always
runs; the semantic one when `inkline[semantic]` is installed (its first call includes loading
the model)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.quality.labelled import ari, expanded, keywords_of, labelled

from benchmarks.common import machine

SIZES = (348, 2_000, 10_000)


def main() -> None:
    from inkline.ai import semantic
    from inkline.ai.local import LocalProvider

    print(f"machine: {machine()}")
    rows = labelled()
    topics = len({r.topic for r in rows})
    clusterers = ["lexical"] + (["semantic"] if semantic.available() else [])
    if len(clusterers) == 1:
        print("semantic: not installed (pip install inkline[semantic])")
    for clusterer in clusterers:
        provider = LocalProvider(clusterer=clusterer)
        for size in SIZES:
            sample = rows if size == len(rows) else expanded(size)
            started = time.perf_counter()
            result = provider.cluster_keywords(keywords_of(sample), [])
            seconds = time.perf_counter() - started
            score = ari(sample, result.assignments)
            print(
                f"{clusterer}, {size:>6} keywords ({topics} topics): ARI {score:.3f}, "
                f"{len(result.assignments)} clusters, silhouette {result.silhouette}, "
                f"singleton share {result.singleton_share}, {seconds:.2f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
