"""Keyword phrases as the clusterer reads them: ascii, lower case, intent and stop words out,
word forms folded; and the few text helpers names and descriptions are made with."""

from __future__ import annotations

import re
import unicodedata


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Intent, question and filler words: removed before vectorizing so they do not drive grouping.
STOP_WORDS = word_set(
    """
    a an the and or of to in on at for with without by from into under than per as
    how what why when where which who whom is are was were be do does did can could should
    would will i you your my me we our us it its this that these those there
    best top cheap cheapest review reviews rated vs versus compare comparison near buy bought
    online deal deals price prices sale guide tips easy good better make making use using get
    much many way ways need new ideas long often
    """
)
TOKEN_RE = re.compile(r"[a-z0-9]+")
_NUMBER_RE = re.compile(r"^\d+$")  # years, prices, sizes
_SMALL_WORDS = word_set("a an and as at but by for from in into of on or per the to vs with")


def ascii_fold(text: str) -> str:
    """The text in ascii, accents dropped: "café crème" → "cafe creme"."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def collapse(text: str) -> str:
    """Single spaces, no surrounding whitespace."""
    return " ".join(text.split())


def trim(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary when there is one."""
    text = collapse(text)
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else text[:limit]
    return cut.rstrip(" ,;:-")


def stem(token: str) -> str:
    """Light suffix folding so word forms meet: machines / machine → machin, descaling /
    descaler / descale → descal, frothing / frother → froth; press and process stay as they
    are."""
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        token = token[:-1]
    if len(token) > 5:
        for suffix in ("ing", "er", "ed", "e"):
            if token.endswith(suffix):
                return token[: -len(suffix)]
    return token


def content_tokens(phrase: str) -> list[str]:
    """Lower-case ascii tokens without intent / stop words and bare numbers."""
    tokens = TOKEN_RE.findall(ascii_fold(phrase).lower())
    return [t for t in tokens if t not in STOP_WORDS and not _NUMBER_RE.match(t)]


def fold_phrase(phrase: str) -> str:
    """The phrase as the clusterer sees it: content words only, word forms folded.
    A phrase made only of stop words ("how to") keeps all its words."""
    tokens = content_tokens(phrase) or TOKEN_RE.findall(ascii_fold(phrase).lower())
    return " ".join(stem(t) for t in tokens)


def title_case(text: str) -> str:
    """Headline case: small words lower-case (except first), v60 → V60."""
    words = collapse(text).split(" ")
    out = []
    for i, word in enumerate(words):
        if i and word.lower() in _SMALL_WORDS:
            out.append(word.lower())
        elif any(c.isdigit() for c in word) and any(c.isalpha() for c in word):
            out.append(word.upper())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)
