"""Clustering quality and speed of the local provider's clusterers on the labelled keyword
fixture: adjusted Rand index (ARI) against the known topics, cluster count, silhouette and
singleton share, and wall time up to 10,000 keywords in one call. The lexical clusterer always
runs; the semantic one when `inkline[semantic]` is installed.

Also printed, for each clusterer:
- the threshold rule checked on held-out topics: the fixture is split by topic into two halves
  (`tests.quality.labelled.halves`); the best threshold of each half is scored on the other;
- the fixture clustered the way the engine's stage 1 does it, in batches (shuffled, 100
  keywords each) with the clusters made so far passed in by name;
- for the semantic clusterer, the model load and the encoding apart from the clustering, and
  the process's peak RSS.
"""

from __future__ import annotations

import dataclasses
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.quality.labelled import Labelled, ari, expanded, halves, keywords_of, labelled

from benchmarks.common import machine

SIZES = (348, 2_000, 10_000)
STAGE_BATCH = 100


def held_out(grouping: object, thresholds: list[float]) -> str:
    from inkline.ai.local import Grouping, group_keywords_measured

    assert isinstance(grouping, Grouping)
    scores = []
    for rows in halves():
        line = []
        for threshold in thresholds:
            variant = dataclasses.replace(grouping, threshold=threshold)
            line.append(ari(rows, group_keywords_measured(keywords_of(rows), [], variant)[0]))
        scores.append(line)
    a, b = scores
    shipped = thresholds.index(grouping.threshold)
    best_a = max(range(len(thresholds)), key=lambda i: a[i])
    best_b = max(range(len(thresholds)), key=lambda i: b[i])
    return (
        f"threshold chosen on half A {thresholds[best_a]:.2f} (A {a[best_a]:.3f}) scores "
        f"{b[best_a]:.3f} on half B (B's own best {max(b):.3f}); chosen on B "
        f"{thresholds[best_b]:.2f} (B {b[best_b]:.3f}) scores {a[best_b]:.3f} on A (A's own best "
        f"{max(a):.3f}); shipped {grouping.threshold}: A {a[shipped]:.3f}, B {b[shipped]:.3f}"
    )


def in_stage_batches(grouping: object, rows: list[Labelled]) -> str:
    """ARI of the fixture clustered in shuffled batches, existing clusters passed by name."""
    from inkline.ai.local import Grouping, group_keywords_measured
    from inkline.ai.types import ExistingCluster, KeywordIn

    assert isinstance(grouping, Grouping)
    order = list(range(len(rows)))
    random.Random(0).shuffle(order)
    cluster_of: dict[int, int] = {}
    names: dict[int, str] = {}
    for start in range(0, len(order), STAGE_BATCH):
        batch = [KeywordIn(id=i, phrase=rows[i].phrase) for i in order[start : start + STAGE_BATCH]]
        existing = [ExistingCluster(id=c, name=n) for c, n in names.items()]
        for assignment in group_keywords_measured(batch, existing, grouping)[0]:
            cluster = assignment.existing_cluster_id
            if cluster is None:
                cluster = len(names) + 1
                names[cluster] = assignment.name
            cluster_of.update((k, cluster) for k in assignment.keyword_ids)
    from sklearn.metrics import adjusted_rand_score

    score = adjusted_rand_score([r.topic for r in rows], [cluster_of[i] for i in range(len(rows))])
    return f"ARI {score:.3f}, {len(names)} clusters"


def main() -> None:
    from inkline.ai import semantic
    from inkline.ai.local import LocalProvider, clusterer_grouping

    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    rows = labelled()
    topics = len({r.topic for r in rows})
    clusterers = ["lexical"] + (["semantic"] if semantic.available() else [])
    if len(clusterers) == 1:
        print("semantic: not installed (pip install inkline[semantic])")
    for clusterer in clusterers:
        grouping = clusterer_grouping(clusterer)
        if clusterer == "semantic":
            started = time.perf_counter()
            semantic._load()
            print(f"semantic: model loaded in {time.perf_counter() - started:.1f} s")
        provider = LocalProvider(clusterer=clusterer)
        for size in SIZES:
            sample = rows if size == len(rows) else expanded(size)
            encode = 0.0
            texts = 0
            if clusterer == "semantic":
                semantic._cache.clear()  # every distinct text of this size is encoded
                texts = len({semantic.without_intent(r.phrase) for r in sample})
                started = time.perf_counter()
                semantic.embed([r.phrase for r in sample])  # fills the cache: timed apart
                encode = time.perf_counter() - started
            started = time.perf_counter()
            result = provider.cluster_keywords(keywords_of(sample), [])
            seconds = time.perf_counter() - started
            score = ari(sample, result.assignments)
            timing = f"{seconds:.2f} s" + (
                f" + encoding {encode:.1f} s ({texts} distinct texts)"
                if clusterer == "semantic"
                else ""
            )
            print(
                f"{clusterer}, {size:>6} keywords ({topics} topics): ARI {score:.3f}, "
                f"{len(result.assignments)} clusters, silhouette {result.silhouette}, "
                f"singleton share {result.singleton_share}, {timing}, "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        base = grouping.threshold
        grid = sorted(
            {round(base + step * (0.04 if base > 1 else 0.02), 2) for step in range(-12, 13)}
        )
        print(f"{clusterer}, held-out topics: {held_out(grouping, grid)}", flush=True)
        print(
            f"{clusterer}, fixture in stage-1 batches of {STAGE_BATCH}: "
            f"{in_stage_batches(grouping, rows)}",
            flush=True,
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
