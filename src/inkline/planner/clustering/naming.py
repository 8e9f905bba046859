"""Names and descriptions of new clusters, from the terms their keywords share."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from inkline.planner.clustering.text import (
    ascii_fold,
    collapse,
    content_tokens,
    stem,
    title_case,
    trim,
)
from inkline.planner.clustering.types import NewKeyword


def terms(phrase: str) -> dict[str, str]:
    """Content unigrams and bigrams of a phrase: folded key → surface form."""
    tokens = content_tokens(phrase)
    keys = [stem(t) for t in tokens]
    found = dict(zip(keys, tokens, strict=True))
    for i in range(len(tokens) - 1):
        found[f"{keys[i]} {keys[i + 1]}"] = f"{tokens[i]} {tokens[i + 1]}"
    return found


def name_candidates(
    members: Sequence[NewKeyword], centrality: np.ndarray, batch_frequency: Counter[str], size: int
) -> list[str]:
    """Names for a group, best first: terms shared by at least half of the members, ranked by
    how distinctive they are in the batch (tf-idf, bigrams preferred, then volume); then the
    members' phrases by centrality and volume."""
    frequency: Counter[str] = Counter()
    volume: Counter[str] = Counter()
    surfaces: dict[str, Counter[str]] = {}
    for keyword in members:
        for key, surface in terms(keyword.phrase).items():
            frequency[key] += 1
            volume[key] += keyword.volume or 0
            surfaces.setdefault(key, Counter())[surface] += 1
    needed = max(2, math.ceil(len(members) / 2))

    def score(key: str) -> float:
        idf = math.log((1 + size) / (1 + batch_frequency[key])) + 1
        return round(frequency[key] * idf * (1.5 if " " in key else 1.0), 9)

    shared = sorted(
        (key for key, count in frequency.items() if count >= needed),
        key=lambda key: (-score(key), -volume[key], key),
    )
    names = [surfaces[key].most_common(1)[0][0] for key in shared]
    by_centrality = sorted(
        range(len(members)),
        key=lambda i: (-round(float(centrality[i]), 6), -(members[i].volume or 0), i),
    )
    names += [collapse(ascii_fold(members[i].phrase)).lower() for i in by_centrality]
    return [title_case(name) for name in names if name] or ["Untitled Cluster"]


def new_name(candidates: Sequence[str], taken: set[str]) -> str:
    """The first candidate no cluster is called yet (`taken`: lower-case names), else the best
    one numbered ("Cold Brew 2")."""
    name = next((c for c in candidates if c.lower() not in taken), None)
    return name or numbered(candidates[0], taken)


def numbered(name: str, taken: set[str]) -> str:
    """`name` with the lowest number from 2 up that makes it free: "Cold Brew 2"."""
    number = 2
    while f"{name} {number}".lower() in taken:
        number += 1
    return f"{name} {number}"


def describe(name: str, members: Sequence[NewKeyword]) -> str:
    """A one-line description: how many keywords, about what, and the first three."""
    examples = ", ".join(collapse(m.phrase) for m in members[:3])
    noun = "keyword" if len(members) == 1 else "keywords"
    return trim(f"{len(members)} {noun} about {name.lower()}, e.g. {examples}", 250)
