"""Names and descriptions of new clusters, from the terms their keywords share."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from inkline.ai.types import KeywordIn
from inkline.planner.clustering.text import (
    _ascii,
    _collapse,
    _content_tokens,
    _stem,
    _title_case,
    _trim,
)


def _terms(phrase: str) -> dict[str, str]:
    """Content unigrams and bigrams of a phrase: folded key → surface form."""
    tokens = _content_tokens(phrase)
    keys = [_stem(t) for t in tokens]
    terms = dict(zip(keys, tokens, strict=True))
    for i in range(len(tokens) - 1):
        terms[f"{keys[i]} {keys[i + 1]}"] = f"{tokens[i]} {tokens[i + 1]}"
    return terms


def _name_candidates(
    members: Sequence[KeywordIn], centrality: np.ndarray, batch_frequency: Counter[str], size: int
) -> list[str]:
    """Names for a group, best first: terms shared by at least half of the members, ranked by
    how distinctive they are in the batch (tf-idf, bigrams preferred, then volume); then the
    members' phrases by centrality and volume."""
    frequency: Counter[str] = Counter()
    volume: Counter[str] = Counter()
    surfaces: dict[str, Counter[str]] = {}
    for keyword in members:
        for key, surface in _terms(keyword.phrase).items():
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
    names += [_collapse(_ascii(members[i].phrase)).lower() for i in by_centrality]
    return [_title_case(name) for name in names if name] or ["Untitled Cluster"]


def _numbered(name: str, taken: set[str]) -> str:
    number = 2
    while f"{name} {number}".lower() in taken:
        number += 1
    return f"{name} {number}"


def _describe(name: str, members: Sequence[KeywordIn]) -> str:
    examples = ", ".join(_collapse(m.phrase) for m in members[:3])
    noun = "keyword" if len(members) == 1 else "keywords"
    return _trim(f"{len(members)} {noun} about {name.lower()}, e.g. {examples}", 250)
