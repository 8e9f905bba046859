"""Planner writes: keyword import (CSV or JSON rows).

Bad lines are reported one by one and never cost a good line: every valid row is kept.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from inkline.accounts.models import Site
from inkline.core.errors import ValidationFailed
from inkline.planner.models import Intent, Keyword, normalize_phrase

MAX_PHRASE = 255
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500  # rows per INSERT: well inside SQLite's parameter limit


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "duplicates": self.duplicates, "errors": self.errors}


def _optional_int(value: Any, name: str, low: int, high: int | None) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = int(str(value).strip().replace(",", ""))
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got '{value}'") from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {bound}, got {number}")
    return number


def _row_to_keyword(site: Site, row: Mapping[str, Any]) -> Keyword:
    phrase = " ".join(str(row.get("keyword") or "").split())
    if not phrase:
        raise ValueError("keyword is empty")
    if len(phrase) > MAX_PHRASE:
        raise ValueError(f"keyword is longer than {MAX_PHRASE} characters")
    if phrase.startswith(FORMULA_PREFIXES):
        raise ValueError("keyword starts with a formula character (= + - @)")
    intent = str(row.get("intent") or "").strip().lower()
    if intent and intent not in Intent.values:
        raise ValueError(f"intent must be one of {', '.join(Intent.values)}, got '{intent}'")
    return Keyword(
        site=site,
        phrase=phrase,
        normalized=normalize_phrase(phrase),
        volume=_optional_int(row.get("volume"), "volume", 0, None),
        difficulty=_optional_int(row.get("difficulty"), "difficulty", 0, 100),
        intent=intent,
    )


def keywords_import_rows(
    *, site: Site, rows: Iterable[tuple[int, Mapping[str, Any]]]
) -> ImportReport:
    """Import (line number, row) pairs; duplicates are case- and whitespace-insensitive per
    site, within the input and against the site's keywords."""
    report = ImportReport()
    seen = set(Keyword.objects.filter(site=site).values_list("normalized", flat=True))
    batch: list[Keyword] = []
    for line, row in rows:
        try:
            keyword = _row_to_keyword(site, row)
        except ValueError as exc:
            report.errors.append({"line": line, "error": str(exc)})
            continue
        if keyword.normalized in seen:
            report.duplicates += 1
            continue
        seen.add(keyword.normalized)
        batch.append(keyword)
        if len(batch) >= BATCH:
            report.created += len(Keyword.objects.bulk_create(batch))
            batch = []
    if batch:
        report.created += len(Keyword.objects.bulk_create(batch))
    return report


def keywords_import_csv(*, site: Site, data: bytes) -> ImportReport:
    """Import a CSV file (header row; `keyword` required; `volume`, `difficulty`, `intent`
    optional). Line numbers count the header as line 1."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            {"file": [f"The file is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV."]}
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ValidationFailed({"file": ["The file is empty."]}) from None
    if "keyword" not in header:
        raise ValidationFailed({"file": ["The header row has no 'keyword' column."]})

    def rows() -> Iterable[tuple[int, dict[str, Any]]]:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines are not keywords, and not errors
            yield line, dict(zip(header, values, strict=False))

    return keywords_import_rows(site=site, rows=rows())
