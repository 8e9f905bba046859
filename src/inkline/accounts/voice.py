"""A site's brand voice as plain data, its bounds, and the matching of words to avoid.

Pure: no database. The stored settings are `accounts.models.BrandVoice`; the writing prompt
(`ai.prompts.ARTICLE`), the local provider and the SEO gate (`writer.seo`) all take a `Voice`.

Words to avoid match whole words and phrases, ignoring case: "use" matches "Use" and "use,"
but not "user", "reuse" or "re-use" (a hyphen joins a word to its neighbour); a phrase's words
may be separated by any whitespace. Text is compared after NFKC normalization, with typographic
apostrophes read as straight ones.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

VOICE_MAX = 1000  # characters of the free-text voice
AUDIENCE_MAX = 300
EXAMPLE_MAX = 2000  # characters of the example paragraph
WORDS_MAX = 50  # words or phrases in each list
WORD_MAX = 60  # characters of one word or phrase
POINTS_OF_VIEW = ("we", "you", "they")  # "" (no preference) as well
# The Flesch reading ease the SEO gate asks for when a site sets no target of its own.
DEFAULT_READING_EASE = 50


@dataclass(frozen=True)
class Voice:
    """What a site asks of its articles' writing. Empty strings and lists: no preference;
    `reading_ease` None: the default target (DEFAULT_READING_EASE)."""

    voice: str = ""
    audience: str = ""
    words_to_use: tuple[str, ...] = ()
    words_to_avoid: tuple[str, ...] = ()
    reading_ease: int | None = None
    point_of_view: str = ""
    example: str = ""

    @property
    def is_set(self) -> bool:
        return any(getattr(self, name) not in ("", (), None) for name in self.__dataclass_fields__)

    @property
    def reading_ease_min(self) -> float:
        return float(DEFAULT_READING_EASE if self.reading_ease is None else self.reading_ease)

    def as_dict(self, *, every: bool = False) -> dict[str, Any]:
        """The settings that are set (`every`: all of them), as JSON: what the prompt and the
        provenance carry."""
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in asdict(self).items()
            if every or v not in ("", (), None)
        }


def clean_words(words: Iterable[str]) -> tuple[str, ...]:
    """Each word or phrase with its whitespace collapsed; blanks and repeats (ignoring case)
    dropped, first spelling kept."""
    seen: dict[str, str] = {}
    for word in words:
        cleaned = " ".join(word.split())
        if cleaned:
            seen.setdefault(cleaned.casefold(), cleaned)
    return tuple(seen.values())


def word_list_errors(words: Sequence[str]) -> list[str]:
    """Why a list of words cannot be stored (empty: it can)."""
    if len(words) > WORDS_MAX:
        return [f"At most {WORDS_MAX} words or phrases."]
    too_long = [w for w in words if len(w) > WORD_MAX]
    if too_long:
        return [f"'{too_long[0][:WORD_MAX]}…' is longer than {WORD_MAX} characters."]
    return []


_TEXTS = {"voice": VOICE_MAX, "audience": AUDIENCE_MAX, "example": EXAMPLE_MAX}
_LISTS = ("words_to_use", "words_to_avoid")
FIELDS = (
    "voice",
    "audience",
    "words_to_use",
    "words_to_avoid",
    "reading_ease",
    "point_of_view",
    "example",
)


def cleaned(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as stored: texts stripped, word lists cleaned (`clean_words`)."""
    out = dict(changes)
    for name in _TEXTS:
        if isinstance(out.get(name), str):
            out[name] = out[name].strip()
    for name in _LISTS:
        if isinstance(out.get(name), list | tuple):
            out[name] = list(clean_words(str(w) for w in out[name]))
    return out


def settings_errors(changes: Mapping[str, Any]) -> dict[str, list[str]]:
    """Why brand voice settings (any of FIELDS) cannot be stored, per field (empty: they can)."""
    errors: dict[str, list[str]] = {}
    for name, limit in _TEXTS.items():
        if name in changes and not isinstance(changes[name], str):
            errors[name] = ["Must be text."]
        elif name in changes and len(changes[name]) > limit:
            errors[name] = [f"At most {limit} characters."]
    for name in _LISTS:
        if name in changes and not isinstance(changes[name], list | tuple):
            errors[name] = ["Must be a list of words or phrases."]
        elif name in changes and (found := word_list_errors(changes[name])):
            errors[name] = found
    ease = changes.get("reading_ease")
    if ease is not None and (isinstance(ease, bool) or not isinstance(ease, int)):
        errors["reading_ease"] = ["Must be a whole number from 0 to 100, or null."]
    elif ease is not None and not 0 <= ease <= 100:
        errors["reading_ease"] = ["Must be between 0 and 100 (or null: the default, 50)."]
    if changes.get("point_of_view", "") not in ("", *POINTS_OF_VIEW):
        errors["point_of_view"] = ["Must be one of we, you, they, or empty (no preference)."]
    for name in sorted(changes.keys() - set(FIELDS)):
        errors[name] = ["Not a brand voice setting."]
    return errors


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'")


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    phrases = sorted({" ".join(_normal(w).split()) for w in words} - {""}, key=len, reverse=True)
    if not phrases:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, p.split(" "))) for p in phrases)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


def find_avoided(texts: Iterable[str], words: Sequence[str]) -> list[str]:
    """The words to avoid found in any of `texts` (each matched on its own: a phrase does not
    run from one text into the next), as the site spells them, in the order found."""
    pattern = _pattern(tuple(words))
    if pattern is None:
        return []
    spelling = {" ".join(_normal(w).split()).casefold(): w for w in words}
    found: dict[str, str] = {}
    for text in texts:
        for match in pattern.finditer(_normal(text)):
            key = " ".join(match.group().split()).casefold()
            found.setdefault(key, spelling.get(key, match.group()))
    return list(found.values())


_SPACES = re.compile(r"[^\S\n]{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"[^\S\n]+([,.;:!?)])")
_REPEATED_PUNCT = re.compile(r"([.!?,;:])(?:[^\S\n]*[,;:])+")
_LEADING_PUNCT = re.compile(r"^[\s,;:]+")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+)([a-z])")


def strip_avoided(text: str, words: Sequence[str]) -> str:
    """`text` (NFKC-normalized) without the words to avoid: each occurrence removed, spacing,
    stray punctuation and sentence capitals tidied, until none is left (a removal can bring
    the words of a phrase together)."""
    pattern = _pattern(tuple(words))
    text = _normal(text)
    if pattern is None or not pattern.search(text):
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    while pattern.search(text):
        text = pattern.sub("", text)
        text = _SPACES.sub(" ", text)
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
        text = _REPEATED_PUNCT.sub(r"\1", text)
        text = _LEADING_PUNCT.sub("", text).strip()
        text = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)
    return f"{lead}{text}{trail}" if text else lead
