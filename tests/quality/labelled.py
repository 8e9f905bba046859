"""The labelled keyword fixture: keywords of six niches, each tagged with its topic.

`labelled_keywords.csv` holds 348 keywords in 29 topics (coffee, gardening, personal finance,
running, dog care, baking). Many keywords of a topic share no word with each other ("v60
recipe" and "pour over bloom time"), as in real keyword research exports, so the fixture
measures how far a clusterer gets beyond shared words. `expanded` grows it to any size with
search modifiers, keeping each keyword's topic, for timing and scale measurements; `halves`
splits it by topic for choosing a threshold on one half and checking it on the other.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sklearn.metrics import adjusted_rand_score

from inkline.ai.types import ClusterAssignment, KeywordIn
from inkline.planner.clustering import Group, Grouping, KnownCluster, NewKeyword, group_keywords

FIXTURE = Path(__file__).resolve().parent / "labelled_keywords.csv"

MODIFIERS = (
    "",
    "2025",
    "for beginners",
    "uk",
    "tips",
    "guide",
    "at home",
    "reddit",
    "cheap",
    "explained",
    "checklist",
    "mistakes",
    "faq",
    "step by step",
    "near me",
    "for seniors",
    "on a budget",
    "ideas",
    "for families",
    "without equipment",
    "quick",
    "beginner mistakes",
    "advice",
    "pros and cons",
    "canada",
    "australia",
    "for women",
    "for men",
    "easy",
    "best",
)


@dataclass(frozen=True)
class Labelled:
    phrase: str
    topic: str
    niche: str


def labelled() -> list[Labelled]:
    with FIXTURE.open(encoding="utf-8", newline="") as fh:
        return [Labelled(r["keyword"], r["topic"], r["niche"]) for r in csv.DictReader(fh)]


def expanded(size: int) -> list[Labelled]:
    """`size` keywords: the fixture, then the fixture with each modifier in turn."""
    rows = labelled()
    out: list[Labelled] = []
    for modifier in MODIFIERS:
        for row in rows:
            if len(out) == size:
                return out
            phrase = f"{row.phrase} {modifier}".strip()
            out.append(Labelled(phrase, row.topic, row.niche))
    if len(out) < size:
        raise ValueError(f"at most {len(out)} keywords can be made from the fixture")
    return out


def halves() -> tuple[list[Labelled], list[Labelled]]:
    """The fixture split by topic into two halves (A, B): within each niche the topics in
    alphabetical order go alternately to A and B. A threshold chosen on one half and scored on
    the other measures a clusterer on topics it was not tuned on."""
    rows = labelled()
    niche_of = {r.topic: r.niche for r in rows}
    side: dict[str, int] = {}
    for niche in sorted(set(niche_of.values())):
        topics = sorted(t for t, n in niche_of.items() if n == niche)
        side.update((topic, i % 2) for i, topic in enumerate(topics))
    return [r for r in rows if side[r.topic] == 0], [r for r in rows if side[r.topic] == 1]


def keywords_of(rows: list[Labelled]) -> list[KeywordIn]:
    """The rows as the AI provider takes them, ids from 1."""
    return [KeywordIn(id=i, phrase=r.phrase) for i, r in enumerate(rows, start=1)]


def new_keywords_of(rows: list[Labelled]) -> list[NewKeyword]:
    """The rows as `group_keywords` takes them, ids from 1."""
    return [NewKeyword(id=i, phrase=r.phrase) for i, r in enumerate(rows, start=1)]


def ari(rows: list[Labelled], assignments: Sequence[ClusterAssignment] | Sequence[Group]) -> float:
    """Adjusted Rand index of a clustering of `keywords_of(rows)` (or `new_keywords_of`) against
    the topics: the provider's assignments or `group_keywords`' groups."""
    label = {kid: n for n, a in enumerate(assignments) for kid in a.keyword_ids}
    predicted = [label[i] for i in range(1, len(rows) + 1)]
    return float(adjusted_rand_score([r.topic for r in rows], predicted))


def in_batches(
    rows: list[Labelled], grouping: Grouping, *, batch: int, members: int = 20
) -> tuple[float, int]:
    """(ARI, cluster count) of `rows` clustered the way stage 1 does it: shuffled (seed 0), in
    batches of `batch`, each call given the clusters made so far with their first `members`
    keywords (0: by name only)."""
    order = list(range(len(rows)))
    random.Random(0).shuffle(order)
    cluster_of: dict[int, int] = {}
    names: dict[int, str] = {}
    joined: dict[int, list[str]] = {}
    for start in range(0, len(order), batch):
        keywords = [NewKeyword(id=i, phrase=rows[i].phrase) for i in order[start : start + batch]]
        existing = [
            KnownCluster(id=c, name=n, keywords=tuple(joined[c][:members]))
            for c, n in names.items()
        ]
        for assignment in group_keywords(keywords, existing, grouping).groups:
            cluster = assignment.existing_cluster_id
            if cluster is None:
                cluster = len(names) + 1
                names[cluster] = assignment.name
                joined[cluster] = []
            cluster_of.update((k, cluster) for k in assignment.keyword_ids)
            joined[cluster].extend(rows[k].phrase for k in assignment.keyword_ids)
    predicted = [cluster_of[i] for i in range(len(rows))]
    return float(adjusted_rand_score([r.topic for r in rows], predicted)), len(names)
