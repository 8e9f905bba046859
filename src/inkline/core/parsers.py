"""Request body parsers for the API: JSON (the default everywhere) and form data (the token
endpoint), each refusing a body over its size limit (413) before reading it, and JSON nested
deeper than MAX_JSON_DEPTH (400) before parsing it.

Python's json parser recurses once per level: a 2 KB body of 1,000 `[` exhausts the
interpreter's recursion limit and would be a 500. The depth is measured first with two
regular-expression passes (C speed): strings are cut out, everything but brackets is dropped,
and the brackets left are counted.

A view may raise its limit with a `max_body_bytes` attribute (the keyword import does); the
default is Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), which Django applies to form
fields too.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Mapping
from itertools import accumulate
from typing import IO, Any

from django.conf import settings
from django.http import QueryDict
from rest_framework import parsers, renderers
from rest_framework.exceptions import ParseError

from inkline.core.api import PayloadTooLarge

MAX_JSON_DEPTH = 64
# A JSON string (escapes included), and a run of characters that are not brackets.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # as signed bytes: +1, +1, -1, -1


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(literal: str) -> float:
    """A number too large for a float (1e999) is refused, not read as infinity (which could
    be stored in a JSON column and then fail every answer that renders it)."""
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {literal[:20]} is out of range")
    return value


def json_depth(text: str) -> int:
    """How deeply `text` nests arrays and objects (0 for a scalar). Exact for valid JSON; for
    invalid JSON (an unterminated string) it may overcount, which json.loads refuses anyway.
    Each bracket left becomes a signed byte (+1 opens, -1 closes) summed in C."""
    brackets = _NOT_BRACKETS.sub("", _STRING.sub("", text)).encode("ascii")
    steps = array("b", brackets.translate(_STEPS))
    return max(0, max(accumulate(steps), default=0))


def _encoding(parser_context: Mapping[str, Any] | None) -> str:
    """The charset of the Content-Type header (default UTF-8); a codec that is not a text
    encoding (e.g. bz2_codec, which would decompress without bound) is refused, as DRF does."""
    encoding = str((parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET)
    try:
        "".encode(encoding)
    except (LookupError, UnicodeError):
        raise ParseError(f'Unsupported charset "{encoding}" in the Content-Type header.') from None
    return encoding


def body_limit(parser_context: Mapping[str, Any] | None) -> int:
    view = (parser_context or {}).get("view")
    return int(getattr(view, "max_body_bytes", None) or settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def check_length(parser_context: Mapping[str, Any] | None) -> None:
    """413 when the declared length exceeds the view's limit, before anything is read."""
    request = (parser_context or {}).get("request")
    meta = getattr(request, "META", {})
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = body_limit(parser_context)
    if length > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")


class JSONParser(parsers.BaseParser):
    """JSON with the size and depth limits; NaN, Infinity and numbers beyond a float's range
    are refused (the JSON standard has none of them). Not a subclass of DRF's JSONParser: DRF
    reads `request.body` for those first, which applies Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    to every view (a 400) before a view's own limit could answer 413."""

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        check_length(parser_context)
        encoding = _encoding(parser_context)
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not {encoding}: {exc}") from None
        if json_depth(text) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


class FormParser(parsers.BaseParser):
    """A URL-encoded form with the size limit (Django limits its number of fields)."""

    media_type = "application/x-www-form-urlencoded"

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        check_length(parser_context)
        encoding = _encoding(parser_context)
        return QueryDict(stream.read() if stream is not None else b"", encoding=encoding)
