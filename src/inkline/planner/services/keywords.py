"""Keyword import (CSV or JSON rows).

Bad lines are reported one by one and never cost a good line: every valid row is kept.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from inkline.accounts.models import Site
from inkline.accounts.services import site_pipeline_changed
from inkline.core.errors import ValidationFailed
from inkline.planner.models import Intent, Keyword, normalize_phrase

MAX_PHRASE = 255
MAX_VOLUME = 2_147_483_647  # the column's range on every database
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500  # rows per INSERT: well inside SQLite's parameter limit


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Imported, but worth a look: {"line", "keyword", "warning"} (e.g. the keyword is already
    # the primary keyword of published content, so a new article would compete with it).
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "duplicates": self.duplicates,
            "errors": self.errors,
            "warnings": self.warnings,
        }


def _optional_int(value: Any, name: str, low: int, high: int | None) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = int(str(value).strip().replace(",", ""))
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got '{str(value)[:40]}'") from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {bound}, got {number}")
    return number


def _surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _unprintable(text: str) -> bool:
    """Control characters (NUL included) or lone surrogates: unstorable or unreadable."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def _row_to_keyword(site: Site, row: Any) -> Keyword:
    if not isinstance(row, Mapping):
        raise ValueError('each keyword must be an object like {"keyword": "..."}')
    if any(isinstance(v, str) and _surrogates(v) for v in row.values()):
        raise ValueError("the line is not UTF-8 text; save the file as UTF-8 CSV")
    raw = row.get("keyword")
    if raw is not None and not isinstance(raw, str):
        raise ValueError("keyword must be text")
    phrase = " ".join((raw or "").split())
    if not phrase:
        raise ValueError("keyword is empty")
    if len(phrase) > MAX_PHRASE:
        raise ValueError(f"keyword is longer than {MAX_PHRASE} characters ({len(phrase)})")
    if phrase.startswith(FORMULA_PREFIXES):
        raise ValueError(
            f"keyword starts with '{phrase[0]}', which spreadsheets run as a formula; "
            "remove the leading = + - @"
        )
    if _unprintable(phrase):
        raise ValueError("keyword contains control characters")
    normalized = normalize_phrase(phrase)
    if len(normalized) > MAX_PHRASE:
        raise ValueError(f"keyword is longer than {MAX_PHRASE} characters once normalized")
    intent = str(row.get("intent") or "").strip().lower()
    if intent and intent not in Intent.values:
        raise ValueError(f"intent must be one of {', '.join(Intent.values)}, got '{intent[:40]}'")
    return Keyword(
        site=site,
        phrase=phrase,
        normalized=normalized,
        volume=_optional_int(row.get("volume"), "volume", 0, MAX_VOLUME),
        difficulty=_optional_int(row.get("difficulty"), "difficulty", 0, 100),
        intent=intent,
    )


def _published_primary_keywords(site: Site) -> dict[str, str]:
    """Normalized primary keyword → title, for the site's published content. Read through
    the site's `contents` relation: planner sits below writer and imports none of it."""
    rows = site.contents.filter(status="published").exclude(primary_keyword="")
    return {
        normalize_phrase(keyword): title
        for keyword, title in rows.order_by("-id").values_list("primary_keyword", "title")
    }


def keywords_import_rows(
    *, site: Site, rows: Iterable[tuple[int, Mapping[str, Any]]]
) -> ImportReport:
    """Import (line number, row) pairs; duplicates are case- and whitespace-insensitive per
    site, within the input and against the site's keywords."""
    report = ImportReport()
    seen = set(Keyword.objects.filter(site=site).values_list("normalized", flat=True))
    published = _published_primary_keywords(site)
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
        if keyword.normalized in published:
            report.warnings.append(
                {
                    "line": line,
                    "keyword": keyword.phrase,
                    "warning": "already the primary keyword of published content "
                    f"('{published[keyword.normalized]}'); a new article would compete with it",
                }
            )
        batch.append(keyword)
        if len(batch) >= BATCH:
            report.created += len(Keyword.objects.bulk_create(batch))
            batch = []
    if batch:
        report.created += len(Keyword.objects.bulk_create(batch))
    if report.created:
        site_pipeline_changed(site_id=site.pk)
    return report


def keywords_import_csv(*, site: Site, data: bytes) -> ImportReport:
    """Import a CSV file (header row; `keyword` required; `volume`, `difficulty`, `intent`
    optional). Line numbers count the header as line 1.

    UTF-8 (with or without a BOM) and UTF-16 with a BOM are read; a line that is not valid
    UTF-8 is reported on its own line number and the other lines are kept."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
    else:
        # Undecodable bytes become lone surrogates, reported per line by _row_to_keyword.
        text = data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise ValidationFailed({"file": ["The file is empty or has no header row."]}) from None
    if "keyword" not in header:
        raise ValidationFailed(
            {
                "file": [
                    "The header row has no 'keyword' column (columns: keyword, volume, "
                    "difficulty, intent)."
                ]
            }
        )
    errors: list[dict[str, Any]] = []

    def rows() -> Iterable[tuple[int, dict[str, Any]]]:
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a field over the csv module's size limit
                errors.append({"line": reader.line_num, "error": f"unreadable line: {exc}"})
                continue
            if not any(v.strip() for v in values):
                continue  # blank lines are not keywords, and not errors
            yield reader.line_num, dict(zip(header, values, strict=False))

    report = keywords_import_rows(site=site, rows=rows())
    report.errors = sorted([*report.errors, *errors], key=lambda e: int(e["line"]))
    return report
