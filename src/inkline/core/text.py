"""Plain text out of AI output (invariant 8): no markup at all, whitespace collapsed.

Shared by every app that stores AI text (planner's clusters and ideas, writer's articles and
image prompts); `writer.html` sanitizes article HTML.
"""

from __future__ import annotations

import re
from html import unescape

import nh3

_TAG = re.compile(r"<[^>]+>")


def html_text(html: str) -> str:
    return unescape(_TAG.sub(" ", html))


def sanitize_text(text: str) -> str:
    """Plain text fields (titles, meta descriptions): no markup at all."""
    return " ".join(html_text(nh3.clean(text, tags=set())).split())


def has_words(text: str) -> bool:
    """Whether `text` has a letter or digit left once markup is stripped: a keyword such as
    `<img src=x onerror=…>` has none, and no article can be written about it."""
    if "<" in text or "&" in text:
        text = html_text(text)
    return any(c.isalnum() for c in text)
