"""A readable diff of two versions of an article (pure: no database).

The HTML of each version is read as its blocks (headings, paragraphs, list items, table rows,
quotes) in plain text; the blocks are matched with difflib, and a block changed in place is
diffed word by word. The result renders as HTML with every piece of text escaped: removed
words in `<del>`, added ones in `<ins>`, so the review page shows what a refresh changes.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from typing import Protocol

BLOCK_TAGS = frozenset(
    {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "blockquote", "pre", "figcaption"}
)
_WORDS = re.compile(r"\S+\s*")


class _Blocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self.tag = ""
        self.text: list[str] = []

    def _flush(self) -> None:
        text = " ".join("".join(self.text).split())
        if text:
            self.blocks.append((self.tag or "p", text))
        self.text = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCK_TAGS:
            self._flush()
            self.tag = tag
        elif tag in ("td", "th"):
            self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCK_TAGS:
            self._flush()
            self.tag = ""

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def blocks_of(html: str) -> list[tuple[str, str]]:
    """The article's blocks as (tag, plain text), in order."""
    parser = _Blocks()
    parser.feed(html)
    parser.close()
    parser._flush()
    return parser.blocks


@dataclass(frozen=True)
class DiffBlock:
    kind: str  # "same", "added", "removed" or "changed"
    tag: str  # the block's element ("p", "h2", "li" …)
    html: str  # its text, escaped, with <ins>/<del> marking the changed words


@dataclass(frozen=True)
class ArticleDiff:
    blocks: tuple[DiffBlock, ...]
    added: int  # words
    removed: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def _words_diff(before: str, after: str) -> tuple[str, int, int]:
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    parts, added, removed = [], 0, 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(escape("".join(old[i1:i2])))
            continue
        if i2 > i1:
            parts.append(f"<del>{escape(''.join(old[i1:i2]))}</del>")
            removed += i2 - i1
        if j2 > j1:
            parts.append(f"<ins>{escape(''.join(new[j1:j2]))}</ins>")
            added += j2 - j1
    return "".join(parts), added, removed


def article_diff(before: str, after: str, *, title: tuple[str, str] | None = None) -> ArticleDiff:
    """What changes from the HTML `before` to `after`, block by block (and the title, when
    `title` gives it as (before, after))."""
    old, new = blocks_of(before), blocks_of(after)
    if title is not None:
        old, new = [("h1", title[0]), *old], [("h1", title[1]), *new]
    out: list[DiffBlock] = []
    added = removed = 0
    matcher = difflib.SequenceMatcher(
        None, [t for _, t in old], [t for _, t in new], autojunk=False
    )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out += [DiffBlock("same", tag, escape(text)) for tag, text in old[i1:i2]]
            continue
        pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for k in range(pairs):  # changed in place: word by word
            (tag, a), (_, b) = old[i1 + k], new[j1 + k]
            shown, plus, minus = _words_diff(a, b)
            out.append(DiffBlock("changed", tag, shown))
            added, removed = added + plus, removed + minus
        for tag, text in old[i1 + pairs : i2]:
            out.append(DiffBlock("removed", tag, f"<del>{escape(text)}</del>"))
            removed += len(text.split())
        for tag, text in new[j1 + pairs : j2]:
            out.append(DiffBlock("added", tag, f"<ins>{escape(text)}</ins>"))
            added += len(text.split())
    return ArticleDiff(blocks=tuple(out), added=added, removed=removed)


class Versions(Protocol):
    """A revision's two versions (`ContentRevision`)."""

    base_title: str
    base_html: str
    title: str
    html: str


def revision_diff(revision: Versions) -> ArticleDiff:
    """What a refresh changes: from the live version it was written against to its own."""
    return article_diff(
        revision.base_html, revision.html, title=(revision.base_title, revision.title)
    )
