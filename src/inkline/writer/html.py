"""Sanitizing AI HTML (invariant 8) and measuring it. Plain text: `inkline.core.text`."""

from __future__ import annotations

import re

import nh3

from inkline.core.text import html_text as html_text
from inkline.core.text import sanitize_text as sanitize_text

ALLOWED_TAGS = {
    "p", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i", "a", "blockquote",
    "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "img", "br", "hr",
    "code", "pre",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}
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


def word_count(html: str) -> int:
    return len(_WORD.findall(html_text(html)))
