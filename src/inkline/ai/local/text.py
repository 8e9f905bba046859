"""Small text helpers the local provider's writers share."""

from __future__ import annotations

import hashlib
import html
import re

_TAG_RE = re.compile(r"<[^>]+>")


def word_count(markup: str) -> int:
    """Words of the text of an HTML fragment, tags excluded."""
    return len(html.unescape(_TAG_RE.sub(" ", markup)).split())


def seed_of(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode("utf-8")).digest()[:8], "big")


def as_question(text: str) -> str:
    return text if text.endswith("?") else f"{text}?"
