"""The local provider's brand voice: its articles rewritten into the site's point of view and
cleared of the site's words to avoid, deterministically.

The point of view is a rewrite of the templates' pronouns: whole phrases first (so verbs
agree: "we cover" becomes "this guide covers"), then single pronouns. The site's keywords are
left as they are (a search phrase such as "how do you descale a kettle" is the user's).
Words to avoid are removed last, so nothing a rewrite brings in survives, from every text of
the article: title, meta description and each text node of the body (inline tags are unwrapped
when a phrase runs across them), as `writer.seo` reads them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence

from inkline.accounts.voice import find_avoided, strip_avoided
from inkline.writer.seo import text_segments

# Phrases whose verb changes with the pronoun, then single pronouns, per point of view.
# Leaving "we" behind rewrites the same phrases for "you" and for "they".
_NOT_WE = (
    ("we also cover", "this guide also covers"),
    (
        "we cover the fundamentals first, then move on",
        "this guide covers the fundamentals first, then moves on",
    ),
    ("we cover", "this guide covers"),
    ("we compare", "this guide compares"),
    ("how we chose", "how the picks were chosen"),
    ("our top picks", "the top picks"),
)
_PHRASES: dict[str, tuple[tuple[str, str], ...]] = {
    "you": _NOT_WE,
    "they": (
        *_NOT_WE,
        ("you are in the right place", "this guide is the right place"),
        ("you have been searching", "readers have been searching"),
    ),
    "we": (
        ("if you have been searching for", "if the search is for"),
        ("you are in the right place", "this is the right place"),
    ),
}
_WORDS: dict[str, dict[str, str]] = {
    "you": {
        "we": "you",
        "we're": "you're",
        "we've": "you've",
        "we'll": "you'll",
        "our": "your",
        "ours": "yours",
        "ourselves": "yourselves",
        "us": "you",
    },
    "they": {
        "you": "readers",
        "you're": "readers are",
        "you've": "readers have",
        "you'll": "readers will",
        "your": "their",
        "yours": "theirs",
        "yourself": "themselves",
        "yourselves": "themselves",
        "we": "people",
        "we're": "people are",
        "we've": "people have",
        "we'll": "people will",
        "our": "their",
        "ours": "theirs",
        "ourselves": "themselves",
        "us": "people",
    },
    "we": {
        "you": "we",
        "you're": "we're",
        "you've": "we've",
        "you'll": "we'll",
        "your": "our",
        "yours": "ours",
        "yourself": "ourselves",
        "yourselves": "ourselves",
    },
}
# "you" after these is an object ("give you"): "us" in the first person.
_OBJECT_BEFORE = re.compile(
    r"(?:\b(?:give|gives|carry|carries|tell|tells|help|helps|let|lets|show|shows|to|for|"
    r"with|suits|about)\s+)$",
    re.IGNORECASE,
)
_PRONOUN_EDGE = r"(?<![\w'-]){}(?![\w'-])"


_MINOR = frozenset({"a", "an", "and", "for", "of", "the", "to"})


def _cased(found: str, replacement: str) -> str:
    if found.isupper() and len(found) > 1:
        return replacement.upper()
    words = found.split()
    if len(words) > 1 and all(w[:1].isupper() for w in words):  # a title-cased heading
        return " ".join(
            w if i and w in _MINOR else w[:1].upper() + w[1:]
            for i, w in enumerate(replacement.split())
        )
    if found[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _compiled(pov: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    phrases = "|".join(r"\s+".join(map(re.escape, p.split())) for p, _ in _PHRASES[pov])
    words = "|".join(sorted(map(re.escape, _WORDS[pov]), key=len, reverse=True))
    return (
        re.compile(_PRONOUN_EDGE.format(f"(?:{phrases})"), re.IGNORECASE),
        # "US" (the country) is not "us": the lowercase and capitalized forms only.
        re.compile(_PRONOUN_EDGE.format(f"(?:{words})"), re.IGNORECASE),
    )


_COMPILED = {pov: _compiled(pov) for pov in _WORDS}


def _rewrite_free(text: str, pov: str) -> str:
    phrases, words = _COMPILED[pov]
    phrase_map = dict(_PHRASES[pov])
    word_map = _WORDS[pov]
    text = phrases.sub(
        lambda m: _cased(m.group(), phrase_map[" ".join(m.group().split()).lower()]), text
    )

    def word(match: re.Match[str]) -> str:
        found = match.group()
        if found == "US":
            return found
        key = found.lower().replace("\u2019", "'")
        replacement = word_map.get(key, found)
        if pov == "we" and key == "you" and _OBJECT_BEFORE.search(text[: match.start()]):
            replacement = "us"
        return _cased(found, replacement)

    return words.sub(word, text)


def in_point_of_view(text: str, pov: str, keep: Sequence[str] = ()) -> str:
    """`text` rewritten into the point of view `pov` (we, you, they; anything else: as it
    is), except where it quotes one of the phrases in `keep` (ignoring case)."""
    if pov not in _WORDS:
        return text
    kept = [k for k in keep if k.strip()]
    if not kept:
        return _rewrite_free(text, pov)
    pattern = re.compile(
        "|".join(re.escape(k) for k in sorted(kept, key=len, reverse=True)), re.IGNORECASE
    )
    out, start = [], 0
    for match in pattern.finditer(text):
        out.append(_rewrite_free(text[start : match.start()], pov))
        out.append(match.group())
        start = match.end()
    out.append(_rewrite_free(text[start:], pov))
    return "".join(out)


_TEXT_NODES = re.compile(r"(<[^>]*>)")
_INLINE_TAG = re.compile(r"</?(?:strong|em|b|i|a|span|code)\b[^>]*>", re.IGNORECASE)


def map_text(markup: str, change: Callable[[str], str]) -> str:
    """`markup` with `change` applied to the text of each of its text nodes."""
    parts = _TEXT_NODES.split(markup)
    for i in range(0, len(parts), 2):  # text at even indexes, tags at odd ones
        if parts[i]:
            parts[i] = html.escape(change(html.unescape(parts[i])), quote=False)
    return "".join(parts)


def without_avoided(markup: str, words: Sequence[str]) -> str:
    """An HTML body with no word to avoid left in its text (as `writer.seo` reads it)."""
    if not words:
        return markup
    body = map_text(markup, lambda t: strip_avoided(t, words))
    if find_avoided(text_segments(body), words):  # a phrase across inline tags
        body = map_text(_INLINE_TAG.sub("", body), lambda t: strip_avoided(t, words))
    return body
