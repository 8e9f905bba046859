"""SEO checks of an article: pure functions from its text to a 0–100 score and explained checks.

Each check has a weight; the score is the sum of the weights of the checks that pass (the
weights add up to 100). Every check, passed or failed, carries a message a writer can act on.
Nothing here reads the database: the caller passes the stored fields and the images' alt texts.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import textstat

from inkline.accounts.voice import DEFAULT_READING_EASE, find_avoided

TITLE_MAX = 60
META_MIN, META_MAX = 120, 160
WORDS_PER_H2 = 300
# Flesch reading ease: 60–70 is plain English, 50–60 "fairly difficult" (high school);
# below 50 reads like academic prose, which web readers abandon. A site's brand voice may set
# its own target (`accounts.voice`).
READING_EASE_MIN = float(DEFAULT_READING_EASE)

# Weight of each check in the 0–100 score, in the order the checks are reported.
WEIGHTS: dict[str, int] = {
    "keyword_in_title": 15,
    "keyword_in_first_paragraph": 10,
    "keyword_in_h2": 10,
    "title_length": 10,
    "meta_description_length": 10,
    "h2_per_300_words": 10,
    "no_empty_sections": 10,
    "image_alt_text": 10,
    "reading_level": 15,
}
assert sum(WEIGHTS.values()) == 100
# Checks that weigh nothing in the score but hold an article in review whatever its score,
# made only when the site sets what they check: words of the brand voice's avoid list.
GATE_CHECKS = ("avoided_words",)

_WORD = re.compile(r"\w+")
_HEADINGS = {"h2": 2, "h3": 3, "h4": 4}
_PROSE = {"p", "li", "td", "th", "blockquote", "figcaption"}


@dataclass(frozen=True)
class CheckResult:
    check: str
    passed: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "passed": self.passed, "message": self.message}


@dataclass(frozen=True)
class SeoReport:
    score: int
    checks: tuple[CheckResult, ...]

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def blocked(self) -> tuple[CheckResult, ...]:
        """The failed checks that hold the article whatever its score (GATE_CHECKS)."""
        return tuple(c for c in self.failed if c.check in GATE_CHECKS)

    def as_list(self) -> list[dict[str, Any]]:
        return [c.as_dict() for c in self.checks]


@dataclass
class _Heading:
    level: int
    text: str = ""
    has_content: bool = False  # text or an image under it before the next heading


@dataclass
class _Outline:
    """What the checks need from an article body: headings, prose blocks, image alts."""

    headings: list[_Heading]
    paragraphs: list[str]  # text of each <p>, in order
    prose: list[str]  # text of every prose block (p, li, cells, quotes, captions)
    image_alts: list[str]
    words: int


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[_Heading] = []
        self.paragraphs: list[str] = []
        self.prose: list[str] = []
        self.image_alts: list[str] = []
        self.words = 0
        self._heading: _Heading | None = None
        self._blocks: list[tuple[str, list[str]]] = []  # open prose blocks and their text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HEADINGS:
            self._heading = _Heading(level=_HEADINGS[tag])
            self.headings.append(self._heading)
        elif tag in _PROSE:
            self._blocks.append((tag, []))
        elif tag == "img":
            self.image_alts.append(dict(attrs).get("alt") or "")
            self._mark_content()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HEADINGS:
            self._heading = None
        elif tag in _PROSE and self._blocks and self._blocks[-1][0] == tag:
            _, parts = self._blocks.pop()
            text = _collapse(" ".join(parts))
            if text and tag == "p":
                self.paragraphs.append(text)
            if self._blocks:  # a nested block's text belongs to its outermost block
                self._blocks[-1][1].append(text)
            elif text:
                self.prose.append(text)

    def handle_data(self, data: str) -> None:
        self.words += len(_WORD.findall(data))
        if self._heading is not None:
            self._heading.text += data
            return
        if data.strip():
            self._mark_content()
            if self._blocks:
                self._blocks[-1][1].append(data)

    def _mark_content(self) -> None:
        """Content belongs to the open heading and every enclosing heading of a higher rank."""
        if self._heading is not None:
            return
        level = 99
        for heading in reversed(self.headings):
            if heading.level < level:
                heading.has_content = True
                level = heading.level


def _outline(html: str) -> _Outline:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    headings = parser.headings
    for heading in headings:
        heading.text = _collapse(heading.text)
    return _Outline(
        headings=headings,
        paragraphs=parser.paragraphs,
        prose=parser.prose,
        image_alts=parser.image_alts,
        words=parser.words,
    )


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _fold(token: str) -> str:
    """Light plural folding so "machines" meets "machine"; "glass" and "press" stay."""
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def _terms(text: str) -> list[str]:
    return [_fold(t) for t in _WORD.findall(unicodedata.normalize("NFKC", text).casefold())]


def contains_keyword(text: str, keyword: str) -> bool:
    """True when the keyword's words appear in `text` in order and next to each other,
    ignoring case, punctuation and plural endings."""
    wanted = _terms(keyword)
    if not wanted:
        return False
    words = _terms(text)
    n = len(wanted)
    return any(words[i : i + n] == wanted for i in range(len(words) - n + 1))


def reading_ease(text: str) -> float:
    """Flesch reading ease of prose (higher is easier), computed by textstat."""
    return float(textstat.flesch_reading_ease(text))


def _check(name: str, passed: bool, ok: str, fix: str) -> CheckResult:
    return CheckResult(check=name, passed=passed, message=ok if passed else fix)


def _keyword_checks(title: str, outline: _Outline, keyword: str) -> list[CheckResult]:
    """The primary keyword in the title, the first paragraph and an H2."""
    if not keyword:
        return [
            CheckResult(name, False, "The article has no primary keyword.")
            for name in ("keyword_in_title", "keyword_in_first_paragraph", "keyword_in_h2")
        ]
    first = outline.paragraphs[0] if outline.paragraphs else ""
    h2s = [h for h in outline.headings if h.level == 2]
    return [
        _check(
            "keyword_in_title",
            contains_keyword(title, keyword),
            f"The title contains the primary keyword '{keyword}'.",
            f"Put the primary keyword '{keyword}' in the title.",
        ),
        _check(
            "keyword_in_first_paragraph",
            contains_keyword(first, keyword),
            f"The first paragraph mentions '{keyword}'.",
            f"Mention the primary keyword '{keyword}' in the first paragraph.",
        ),
        _check(
            "keyword_in_h2",
            any(contains_keyword(h.text, keyword) for h in h2s),
            f"At least one H2 heading contains '{keyword}'.",
            f"Use the primary keyword '{keyword}' in at least one H2 heading.",
        ),
    ]


def _length_checks(title: str, meta_description: str) -> list[CheckResult]:
    """The title's and the meta description's lengths."""
    length = len(_collapse(title))
    meta = len(_collapse(meta_description))
    return [
        _check(
            "title_length",
            0 < length <= TITLE_MAX,
            f"The title is {length} characters (at most {TITLE_MAX}).",
            f"The title is {length} characters; search results cut titles longer than {TITLE_MAX}."
            if length
            else "The article has no title.",
        ),
        _check(
            "meta_description_length",
            META_MIN <= meta <= META_MAX,
            f"The meta description is {meta} characters ({META_MIN}–{META_MAX}).",
            f"The meta description is {meta} characters; write {META_MIN}–{META_MAX}.",
        ),
    ]


def _structure_checks(outline: _Outline, image_alts: Sequence[str]) -> list[CheckResult]:
    """Headings for the length, no empty section, alt text on every image."""
    h2s = [h for h in outline.headings if h.level == 2]
    needed = max(1, math.floor(outline.words / WORDS_PER_H2))
    empty = [h.text or f"(untitled H{h.level})" for h in outline.headings if not h.has_content]
    alts = [*image_alts, *outline.image_alts]
    missing = sum(1 for alt in alts if not alt.strip())
    return [
        _check(
            "h2_per_300_words",
            len(h2s) >= needed,
            f"{len(h2s)} H2 headings for {outline.words} words.",
            f"{len(h2s)} H2 headings for {outline.words} words; add headings to reach at least "
            f"{needed} (one per {WORDS_PER_H2} words).",
        ),
        _check(
            "no_empty_sections",
            not empty,
            "Every section has content.",
            "Empty sections: " + "; ".join(f"'{t}'" for t in empty[:5]) + ".",
        ),
        _check(
            "image_alt_text",
            missing == 0,
            f"All {len(alts)} images have alt text." if alts else "The article has no images.",
            f"{missing} of {len(alts)} images have no alt text.",
        ),
    ]


def _reading_check(outline: _Outline, minimum: float) -> CheckResult:
    prose = " ".join(outline.prose)
    if not (outline.words and prose):
        return CheckResult("reading_level", False, "The article has no text to read.")
    ease = round(reading_ease(prose), 1)
    return _check(
        "reading_level",
        ease >= minimum,
        f"Flesch reading ease {ease} (at least {minimum:g}).",
        f"Flesch reading ease {ease} is hard to read; aim for at least "
        f"{minimum:g} with shorter sentences and plainer words.",
    )


class _Segments(HTMLParser):
    """The text of an HTML body as a reader sees it, cut at every block: inline elements
    (links, emphasis) do not cut a sentence, headings, paragraphs, items and cells do."""

    INLINE = frozenset({"a", "abbr", "b", "code", "em", "i", "mark", "s", "small", "span"})
    INLINE |= {"strong", "sub", "sup", "u"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.segments: list[str] = []
        self._parts: list[str] = []

    def _cut(self) -> None:
        text = _collapse("".join(self._parts))
        if text:
            self.segments.append(text)
        self._parts = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.INLINE:
            self._cut()

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.INLINE:
            self._cut()

    def handle_data(self, data: str) -> None:
        self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._cut()


def text_segments(html: str) -> list[str]:
    """The blocks of text of an article body (see `_Segments`)."""
    parser = _Segments()
    parser.feed(html)
    parser.close()
    return parser.segments


def _avoided_check(texts: Sequence[str], words: Sequence[str]) -> CheckResult:
    found = find_avoided(texts, words)
    return _check(
        "avoided_words",
        not found,
        f"None of the site's {len(words)} words to avoid is used.",
        "The article uses words the site avoids: "
        + ", ".join(f"'{w}'" for w in found[:10])
        + ("" if len(found) <= 10 else f" and {len(found) - 10} more")
        + ".",
    )


def seo_check(
    *,
    title: str,
    html: str,
    meta_description: str,
    primary_keyword: str,
    image_alts: Sequence[str] = (),
    words_to_avoid: Sequence[str] = (),
    reading_ease_min: float = READING_EASE_MIN,
) -> SeoReport:
    """Run every check on an article. `html` is the sanitized body (no <h1>: the title is the
    page heading); `image_alts` are the alt texts of its stored images (featured and
    in-article), to which the body's own <img> tags are added. `words_to_avoid` and
    `reading_ease_min` come from the site's brand voice: with words to avoid, the
    `avoided_words` check looks for them in the title, the meta description and the body's
    text (a GATE_CHECKS check)."""
    outline = _outline(html)
    checks = [
        *_keyword_checks(title, outline, _collapse(primary_keyword)),
        *_length_checks(title, meta_description),
        *_structure_checks(outline, image_alts),
        _reading_check(outline, reading_ease_min),
    ]
    if words_to_avoid:
        texts = [title, meta_description, *text_segments(html)]
        checks.append(_avoided_check(texts, words_to_avoid))
    score = sum(WEIGHTS.get(c.check, 0) for c in checks if c.passed)
    return SeoReport(score=score, checks=tuple(checks))


def held_reason(report: SeoReport, threshold: int) -> str:
    """Why an article is held for review: its score, the threshold and the failed checks; or,
    when the score meets the threshold, the failed checks that hold it anyway (GATE_CHECKS)."""
    if report.score >= threshold:
        blocked = " ".join(c.message for c in report.blocked)
        return f"SEO score {report.score} meets {threshold}, but: {blocked}".strip()
    failed = "; ".join(c.message for c in report.failed)
    return f"SEO score {report.score} is below {threshold}. {failed}".strip()
