"""Keyword import (CSV or JSON rows): all or nothing.

Every line is checked first: when any line is bad, nothing is written and each bad line is
reported with its number. A good input is then written in one transaction, in chunks of
`INSERT … ON CONFLICT DO NOTHING`, so a keyword the site already has, or that a concurrent
import wrote meanwhile, is skipped and counted as a duplicate instead of failing the import.
A CSV file is read as a stream, twice (check, then write): its rows are never all held at once.
Imports into one site take turns (a transaction-scoped lock on PostgreSQL; SQLite has one
writer at a time anyway), so their counts are exact and they cannot deadlock each other.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

from django.db import connection, transaction

from inkline import clock
from inkline.accounts.models import Site
from inkline.accounts.services import site_pipeline_changed
from inkline.core.errors import ValidationFailed
from inkline.core.text import has_words
from inkline.planner.models import Intent, Keyword, normalize_phrase

MAX_PHRASE = 255
MAX_VOLUME = 2_147_483_647  # the column's range on every database
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2_000  # rows per statement (PostgreSQL) or executemany (SQLite)
PROGRESS_EVERY = 10_000  # lines between two progress reports
# Control characters (category Cc, NUL included) and lone surrogates (Cs: bytes that were not
# UTF-8): unstorable or unreadable.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_INTENTS = frozenset(Intent.values)  # "" (none) is handled on its own
# Advisory lock namespace of keyword imports (PostgreSQL): "KWIM".
_IMPORT_LOCK = 0x4B57494D

# progress(phase, line): "validating" or "writing", and the last line number reached.
Progress = Callable[[str, int], None]


class ImportRow(NamedTuple):
    phrase: str
    normalized: str
    volume: int | None
    difficulty: int | None
    intent: str


class Unreadable(NamedTuple):
    """A line the CSV reader could not read (in place of the line's row)."""

    error: str


# (line number, row): a CSV line counts the header as line 1; a JSON row its position from 1.
Lines = Callable[[], Iterable[tuple[int, Any]]]


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Imported, but worth a look: {"line", "keyword", "warning"} (e.g. the keyword is already
    # the primary keyword of published content, so a new article would compete with it).
    warnings: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0  # `errors` may hold only the first ones

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "duplicates": self.duplicates,
            "errors": self.errors,
            "warnings": self.warnings,
        }


@dataclass
class Validation:
    """What checking every line found: the number of good rows, the bad lines."""

    rows: int = 0
    last_line: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    warnings: list[dict[str, Any]] = field(default_factory=list)
    warned: set[str] = field(default_factory=set)  # normalized keywords with a warning


# --- reading --------------------------------------------------------------------------------
def _optional_int(value: Any, name: str, low: int, high: int | None) -> int | None:
    if value is None:
        return None
    if value.__class__ is str and value.isdecimal():  # the common case, quickly
        number = int(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            number = int(text.replace(",", ""))
        except ValueError:
            raise ValueError(f"{name} must be a whole number, got '{str(value)[:40]}'") from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {bound}, got {number}")
    return number


def _has_surrogates(row: Mapping[str, Any]) -> bool:
    try:
        return _SURROGATE.search("".join(row.values())) is not None  # CSV: every value is text
    except TypeError:
        return any(isinstance(v, str) and _SURROGATE.search(v) for v in row.values())


def check_row(row: Any) -> ImportRow:
    """One row (a mapping of column → value) checked and normalized; ValueError says why not."""
    if row.__class__ is not dict:
        if isinstance(row, Unreadable):
            raise ValueError(row.error)
        if not isinstance(row, Mapping):
            raise ValueError('each keyword must be an object like {"keyword": "..."}')
    if _has_surrogates(row):
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
    if _UNPRINTABLE.search(phrase):
        raise ValueError("keyword contains control characters")
    if not has_words(phrase):
        raise ValueError("keyword has no letters or digits once markup is removed")
    normalized = normalize_phrase(phrase)
    if len(normalized) > MAX_PHRASE:
        raise ValueError(f"keyword is longer than {MAX_PHRASE} characters once normalized")
    intent = row.get("intent") or ""
    if intent.__class__ is not str or intent not in _INTENTS:
        intent = str(intent).strip().lower()
        if intent and intent not in _INTENTS:
            raise ValueError(
                f"intent must be one of {', '.join(Intent.values)}, got '{intent[:40]}'"
            )
    return ImportRow(
        phrase=phrase,
        normalized=normalized,
        volume=_optional_int(row.get("volume"), "volume", 0, MAX_VOLUME),
        difficulty=_optional_int(row.get("difficulty"), "difficulty", 0, 100),
        intent=intent,
    )


@dataclass(frozen=True)
class CsvInfo:
    """What a CSV file's first read tells: its encoding and its lines after the header."""

    encoding: str
    lines: int


READ_BLOCK = 1 << 20  # bytes read at a time when a file is counted or stored


def _encoding(head: bytes) -> str:
    """UTF-16 with a BOM, else UTF-8 (with or without a BOM)."""
    return "utf-16" if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"


def _text(raw: IO[bytes], encoding: str) -> io.TextIOWrapper:
    """The file as a text stream. In UTF-8, undecodable bytes become lone surrogates,
    reported on their own line by `check_row`. Detach it when done: closing it would close
    `raw`."""
    errors = "replace" if encoding == "utf-16" else "surrogateescape"
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")


def _header(reader: Any) -> list[str]:
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error, UnicodeError):
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
    return header


class LineCounter:
    """Counts lines of a file fed block by block (blank ones included)."""

    def __init__(self, encoding: str) -> None:
        self.utf16 = encoding == "utf-16"
        self.decoder = codecs.getincrementaldecoder("utf-16")("replace") if self.utf16 else None
        self.newlines = 0
        self.last = ""  # the last character seen (decoded) or byte

    def feed(self, block: bytes) -> None:
        if self.decoder is not None:
            text = self.decoder.decode(block)
            self.newlines += text.count("\n")
            self.last = text[-1:] or self.last
        elif block:
            self.newlines += block.count(b"\n")
            self.last = chr(block[-1])

    def lines(self) -> int:
        """Lines after the header."""
        lines = self.newlines + (1 if self.last and self.last != "\n" else 0)
        return max(0, lines - 1)


def csv_inspect(file: IO[bytes]) -> CsvInfo:
    """Read a CSV file once (seekable; left at its start): refuse it (ValidationFailed on
    `file`) without a header row with a `keyword` column; else its encoding and the number
    of lines after the header, which decides between an import answered at once and a
    background job, and is a job's progress total."""
    file.seek(0)
    encoding = _encoding(file.read(2))
    file.seek(0)
    text = _text(file, encoding)
    try:
        _header(csv.reader(text))
    finally:
        text.detach()
    file.seek(0)
    counter = LineCounter(encoding)
    while block := file.read(READ_BLOCK):
        counter.feed(block)
    file.seek(0)
    return CsvInfo(encoding=encoding, lines=counter.lines())


def csv_lines(raw: IO[bytes], encoding: str) -> Iterator[tuple[int, Any]]:
    """(line number, row) of each non-blank line after the header, read from `raw` as a
    stream; the header is line 1. A line the reader cannot read comes as `Unreadable`."""
    text = _text(raw, encoding)
    try:
        reader = csv.reader(text)
        header = _header(reader)
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a field over the csv module's size limit
                yield reader.line_num, Unreadable(f"unreadable line: {exc}")
                continue
            if not any(v.strip() for v in values):
                continue  # blank lines are not keywords, and not errors
            yield reader.line_num, dict(zip(header, values, strict=False))
    finally:
        text.detach()


# --- checking -------------------------------------------------------------------------------
def _published_primary_keywords(site: Site) -> dict[str, str]:
    """Normalized primary keyword → title, for the site's published content. Read through
    the site's `contents` relation: planner sits below writer and imports none of it."""
    rows = site.contents.filter(status="published").exclude(primary_keyword="")
    return {
        normalize_phrase(keyword): title
        for keyword, title in rows.order_by("-id").values_list("primary_keyword", "title")
    }


ROW_TEXT_MAX = 120  # characters of a bad line shown in its report


def _row_text(row: Any) -> str:
    """A bad line's content as the report shows it: its values joined by commas (the CSV
    line, give or take its quoting), shortened; unreadable bytes become U+FFFD."""
    if isinstance(row, Mapping):
        values = row.values()
        text = ",".join("" if v is None else str(v) for v in values)
    elif isinstance(row, Unreadable):
        return ""
    else:
        text = str(row)
    text = _SURROGATE.sub("\ufffd", text)
    return text if len(text) <= ROW_TEXT_MAX else text[: ROW_TEXT_MAX - 1] + "…"


def keywords_validate(
    *,
    site: Site,
    lines: Lines,
    progress: Progress | None = None,
    max_errors: int | None = None,
) -> Validation:
    """Check every line; nothing is written. `errors` keeps the first `max_errors` bad lines
    (all when None), `error_count` counts them all."""
    result = Validation()
    published = _published_primary_keywords(site)
    reported = 0
    for line, row in lines():
        result.last_line = line
        if progress is not None and line - reported >= PROGRESS_EVERY:
            progress("validating", line)
            reported = line
        try:
            checked = check_row(row)
        except ValueError as exc:
            result.error_count += 1
            if max_errors is None or len(result.errors) < max_errors:
                result.errors.append({"line": line, "error": str(exc), "content": _row_text(row)})
            continue
        result.rows += 1
        title = published.get(checked.normalized)
        if title is not None and checked.normalized not in result.warned:
            result.warned.add(checked.normalized)
            result.warnings.append(
                {
                    "line": line,
                    "keyword": checked.phrase,
                    "normalized": checked.normalized,
                    "warning": f"already the primary keyword of published content ('{title}'); "
                    "a new article would compete with it",
                }
            )
    result.errors.sort(key=lambda e: int(e["line"]))
    if progress is not None:
        progress("validating", result.last_line)
    return result


# --- writing --------------------------------------------------------------------------------
class _Inserter:
    """`INSERT … ON CONFLICT (site, normalized) DO NOTHING` of many rows at once, with the
    model's defaults for the columns an import does not set; counts the rows inserted.

    SQLite runs one prepared single-row statement many times fastest (`executemany`).
    PostgreSQL takes a chunk as one statement over arrays (`unnest`): a handful of parameters
    whatever the chunk's size, one round trip."""

    SET = ("site", "phrase", "normalized", "volume", "difficulty", "intent")  # ImportRow's order

    def __init__(self, site_id: int) -> None:
        meta = Keyword._meta
        by_name = {f.name: f for f in meta.concrete_fields if not f.primary_key}
        rest = [f for name, f in by_name.items() if name not in self.SET]
        now = clock.now()
        self.site_id = site_id
        self.tail = tuple(
            f.get_db_prep_save(
                now if f.name in ("created_at", "updated_at") else f.get_default(), connection
            )
            for f in rest
        )
        quote = connection.ops.quote_name
        columns = [by_name[name].column for name in self.SET] + [f.column for f in rest]
        marks = ", ".join(["%s"] * len(columns))
        unique = f"{quote(by_name['site'].column)}, {quote(by_name['normalized'].column)}"
        conflict = f"ON CONFLICT ({unique}) DO NOTHING"
        # Only the model's own table, column names and types go into the text; values are
        # parameters.
        insert = f"INSERT INTO {quote(meta.db_table)} ({', '.join(map(quote, columns))})"
        self.arrays = connection.vendor == "postgresql"
        if self.arrays:
            arrays = ", ".join(f"%s::{by_name[n].db_type(connection)}[]" for n in self.SET[1:])
            constants = ", ".join(["%s"] * len(rest))
            rows = f"SELECT %s, u.*, {constants} FROM unnest({arrays}) AS u"  # noqa: S608
            self.sql = f"{insert} {rows} {conflict}"
        else:
            self.sql = f"{insert} VALUES ({marks}) {conflict}"
        self.chunk: list[ImportRow] = []
        self.created = 0

    def add(self, row: ImportRow) -> None:
        self.chunk.append(row)

    def flush(self, cursor: Any) -> None:
        if not self.chunk:
            return
        if self.arrays:
            columns = [list(values) for values in zip(*self.chunk, strict=True)]
            cursor.execute(self.sql, [self.site_id, *self.tail, *columns])
        else:
            head, tail = (self.site_id,), self.tail
            cursor.executemany(self.sql, [head + row + tail for row in self.chunk])
        self.created += cursor.rowcount
        self.chunk = []


def _lock_site_imports(site_id: int) -> None:
    """Imports into one site take turns until the end of the current transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_IMPORT_LOCK, site_id % 2**31])


class ImportChanged(Exception):
    """A line checked good is bad when written: the input changed between the two readings."""


def keywords_write(
    *,
    site: Site,
    lines: Lines,
    validation: Validation,
    progress: Progress | None = None,
    before: Callable[[], None] | None = None,
    after: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Write every row of an input `keywords_validate` found good, in one transaction (all
    or none). `before` and `after` run inside it, first and last: a job fences itself there
    and records that it is done in the same commit as its keywords."""
    if validation.error_count:
        raise ValueError("an input with bad lines is never written")
    with transaction.atomic():
        if before is not None:
            before()
        _lock_site_imports(site.pk)
        # A warning about a keyword the site already has is moot: it is a duplicate.
        existing = set(
            Keyword.objects.filter(site=site, normalized__in=validation.warned).values_list(
                "normalized", flat=True
            )
        )
        inserter = _Inserter(site.pk)
        reported = 0
        with connection.cursor() as cursor:
            for line, row in lines():
                try:
                    inserter.add(check_row(row))
                except ValueError as exc:
                    raise ImportChanged(f"line {line}: {exc}") from exc
                if len(inserter.chunk) >= CHUNK:
                    inserter.flush(cursor)
                    if progress is not None and line - reported >= PROGRESS_EVERY:
                        progress("writing", line)
                        reported = line
            inserter.flush(cursor)
        report = ImportReport(
            created=inserter.created,
            duplicates=validation.rows - inserter.created,
            warnings=[
                {k: v for k, v in w.items() if k != "normalized"}
                for w in validation.warnings
                if w["normalized"] not in existing
            ],
        )
        if report.created:
            site_pipeline_changed(site_id=site.pk)
        if after is not None:
            after(report)
    if progress is not None:
        progress("writing", validation.last_line)
    return report


def keywords_import(*, site: Site, lines: Lines, progress: Progress | None = None) -> ImportReport:
    """Check every line, then write them all in one transaction; with any bad line, nothing
    is written and the report lists every bad line (`created` and `duplicates` are 0)."""
    validation = keywords_validate(site=site, lines=lines, progress=progress)
    if validation.error_count:
        return ImportReport(errors=validation.errors, error_count=validation.error_count)
    return keywords_write(site=site, lines=lines, validation=validation, progress=progress)


def keywords_import_rows(*, site: Site, rows: Sequence[Any]) -> ImportReport:
    """Import JSON rows (each an object with `keyword` and optional `volume`, `difficulty`,
    `intent`); errors name a row by its position, from 1. Duplicates are case- and
    whitespace-insensitive per site, within the input and against the site's keywords."""
    return keywords_import(site=site, lines=lambda: enumerate(rows, start=1))


def keywords_import_csv(
    *, site: Site, data: bytes, progress: Progress | None = None
) -> ImportReport:
    """Import a CSV file (header row; `keyword` required; `volume`, `difficulty`, `intent`
    optional). Line numbers count the header as line 1. UTF-8 (with or without a BOM) and
    UTF-16 with a BOM are read; a line that is not valid UTF-8 is reported on its own line.
    A file without a `keyword` column is refused (ValidationFailed on `file`)."""
    info = csv_inspect(io.BytesIO(data))
    return keywords_import(
        site=site, lines=lambda: csv_lines(io.BytesIO(data), info.encoding), progress=progress
    )
