"""Content ideas from a cluster's keywords: one per ~3 keywords, typed by search intent."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from inkline.ai.local.text import as_question, seed_of
from inkline.ai.types import IdeaOut, KeywordIn
from inkline.planner.clustering.text import (
    TOKEN_RE,
    ascii_fold,
    collapse,
    fold_phrase,
    title_case,
    word_set,
)

STRUCTURE_OF = {
    "how_to": "steps",
    "best_of": "listicle",
    "comparison": "comparison_table",
    "question": "faq",
    "guide": "article",
}
_QUESTION_WORDS = word_set("what why when where which who can does do is are should how")
_VERSUS_RE = re.compile(r"\s+(?:vs\.?|versus|or)\s+", re.IGNORECASE)

_TITLES = {
    "how_to": (
        "{K}: A Step-by-Step Guide",
        "{K}: Step by Step",
        "{K}: Simple Steps That Work",
        "{K}",
    ),
    "best_of": (
        "{K}: Top Picks and Buying Guide",
        "{K}: Our Top Picks",
        "{K}: Tested and Compared",
        "{K}",
    ),
    "comparison": ("{K}: Which Should You Choose?", "{K}: Key Differences", "{K} Compared", "{K}"),
    "question": ("{Q} Here Is the Answer", "{Q} What You Need to Know", "{Q} Explained", "{Q}"),
    "guide": ("{K}: The Complete Guide", "{K}: A Practical Guide", "{K} Explained", "{K}"),
}
_OUTLINES = {
    "how_to": (
        "What You Need Before You Start",
        "{K}: Step by Step",
        "Common Mistakes to Avoid",
        "Tips for Better Results",
        "Troubleshooting Common Problems",
    ),
    "best_of": (
        "What to Look For",
        "{K}: Our Top Picks",
        "How We Chose",
        "Budget vs Premium Options",
        "Buying Tips",
    ),
    "comparison": (
        "{K}: At a Glance",
        "Key Differences",
        "{A}: Strengths and Weaknesses",
        "{B}: Strengths and Weaknesses",
        "Which One Should You Choose?",
    ),
    "question": (
        "{Q} The Short Answer",
        "Why It Matters",
        "What Affects the Answer",
        "Common Misconceptions",
        "Related Questions",
    ),
    "guide": (
        "{K}: The Basics",
        "Why It Matters",
        "How to Get Started",
        "Common Mistakes",
        "Expert Tips",
    ),
}


def intent_of(phrase: str) -> str:
    """The content type a keyword's search intent calls for."""
    text = collapse(ascii_fold(phrase).lower())
    tokens = TOKEN_RE.findall(text)
    if "how to" in " ".join(tokens):
        return "how_to"
    if {"vs", "versus", "compare", "comparison", "compared"} & set(tokens):
        return "comparison"
    if {"best", "top"} & set(tokens):
        return "best_of"
    if "?" in text or (tokens and tokens[0] in _QUESTION_WORDS) or {"what", "why"} & set(tokens):
        return "question"
    return "guide"


def compared_sides(phrase: str) -> tuple[str, str] | None:
    """The two things a comparison keyword compares: "chemex vs v60" → (Chemex, V60)."""
    parts = _VERSUS_RE.split(collapse(phrase), maxsplit=1)
    if len(parts) != 2 or not all(p.strip() for p in parts):
        return None
    return title_case(parts[0]), title_case(parts[1])


def _fill(template: str, keyword: str) -> str:
    title = title_case(keyword)
    sides = compared_sides(keyword) or ("The First Option", "The Second Option")
    return template.format(K=title, Q=as_question(title), A=sides[0], B=sides[1])


def idea_title(keyword: str, content_type: str) -> str:
    """A title containing the keyword, at most 60 characters when any template allows it."""
    options = [_fill(t, keyword) for t in _TITLES[content_type]]
    fitting = [t for t in options[:-1] if len(t) <= 60]
    if not fitting:
        return options[-1]
    return fitting[seed_of(keyword) % len(fitting)]


def idea_outline(keyword: str, content_type: str, secondary: Sequence[str] = ()) -> tuple[str, ...]:
    """Four to seven H2 headings: the type's skeleton plus up to two secondary keywords."""
    headings = [_fill(t, keyword) for t in _OUTLINES[content_type]]
    extra = [title_case(s) for s in secondary if collapse(s)][:2]
    if content_type == "question":
        extra = [as_question(s) for s in extra]
    seen = {h.lower() for h in headings}
    extra = [h for h in dict.fromkeys(extra) if h.lower() not in seen]
    return tuple(headings[:2] + extra + headings[2:])


def _pick_primaries(phrases: Sequence[str], count: int) -> list[str]:
    """`count` phrases, highest volume first, preferring a different intent for each."""
    chosen: list[str] = []
    intents: set[str] = set()
    for phrase in phrases:
        if len(chosen) < count and intent_of(phrase) not in intents:
            chosen.append(phrase)
            intents.add(intent_of(phrase))
    for phrase in phrases:
        if len(chosen) < count and phrase not in chosen:
            chosen.append(phrase)
    return sorted(chosen, key=phrases.index)


def plan_ideas(cluster_name: str, keywords: Sequence[KeywordIn]) -> list[IdeaOut]:
    """One idea per ~3 keywords (1 to 4), each led by a distinct primary keyword and covering
    the keywords closest to it."""
    ranked = sorted(enumerate(keywords), key=lambda pair: (-(pair[1].volume or 0), pair[0]))
    phrases: list[str] = []
    seen: set[str] = set()
    for _, keyword in ranked:
        phrase = collapse(keyword.phrase)
        if phrase and phrase.lower() not in seen:
            seen.add(phrase.lower())
            phrases.append(phrase)
    if not phrases:
        phrases = [collapse(cluster_name).lower() or "untitled topic"]
    primaries = _pick_primaries(phrases, min(4, math.ceil(len(phrases) / 3)))
    covered: dict[str, list[str]] = {p: [p] for p in primaries}
    for phrase in phrases:
        if phrase in covered:
            continue
        words = set(fold_phrase(phrase).split())
        home = max(
            primaries,
            key=lambda p: (
                len(words & set(fold_phrase(p).split())),
                -len(covered[p]),
                -primaries.index(p),
            ),
        )
        covered[home].append(phrase)
    ideas = []
    for primary in primaries:
        content_type = intent_of(primary)
        ideas.append(
            IdeaOut(
                title=idea_title(primary, content_type),
                primary_keyword=primary,
                target_keywords=tuple(covered[primary]),
                content_type=content_type,
                content_structure=STRUCTURE_OF[content_type],
                outline=idea_outline(primary, content_type, covered[primary][1:]),
            )
        )
    return ideas
