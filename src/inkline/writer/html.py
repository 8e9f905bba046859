"""Sanitizing AI HTML (invariant 8) and measuring it."""

from __future__ import annotations

import re
from html import unescape

import nh3

ALLOWED_TAGS = {
    "p", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i", "a", "blockquote",
    "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "img", "br", "hr",
    "code", "pre",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}
_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"\b[\w'’-]+\b")


def sanitize_html(html: str) -> str:
    """Keep structure and text; drop scripts, styles, event handlers and javascript: URLs."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def html_text(html: str) -> str:
    return unescape(_TAG.sub(" ", html))


def word_count(html: str) -> int:
    return len(_WORD.findall(html_text(html)))


def sanitize_text(text: str) -> str:
    """Plain text fields (titles, meta descriptions): no markup at all."""
    return " ".join(html_text(nh3.clean(text, tags=set())).split())
