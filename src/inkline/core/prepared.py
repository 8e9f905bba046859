"""Hot reads whose SQL the ORM compiles once per process.

Building a query is most of what a small read costs: for
`Token.objects.select_related("user__membership").filter(key=key).first()` the ORM resolves
the filter, joins, columns and ordering anew on every call (about 0.5 ms, and as much again
to set up the instances of a `select_related`), while SQLite answers in 0.04 ms. A read made
on every request (authentication, the page's site, the newest run) is declared once as a
`PreparedRead`: the first call on a database alias builds its queryset with placeholder
values and compiles it; every call runs that SQL with its own values and builds the model
instances the way the ORM does (`select_related`, `only` and annotations included), with
the same converters. The statements go through Django's cursor, so query counting and
logging see them.

Only parameters whose SQL does not depend on the value are allowed: `int` and `str` values
in equality filters (`None` or a list would change the SQL). Compiling checks that every
placeholder reached the SQL's parameters, so a parameter used some other way fails loudly
the first time, not silently later. `tests/test_prepared.py` checks the reads against
the plain ORM on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=models.Model)

# Placeholder values: compiled into the SQL's parameters, never sent to the database. An int
# must lie in every integer column's range (out of it, the ORM compiles "matches nothing").
_PLACEHOLDERS: dict[type, Callable[[int], object]] = {
    int: lambda i: 2_147_483_000 + i,
    str: lambda i: f"\x00inkline-placeholder-{i}\x00",
}


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, int], ...]  # (position in params, index of the caller's value)
    compiler: SQLCompiler
    init_list: tuple[str, ...]
    model_slice: slice


class PreparedRead(Generic[M]):
    """`build(*values)` returns the queryset to run (sliced if it should be limited); it is
    called once per database alias, with placeholders of the declared `types`."""

    def __init__(self, build: Callable[..., models.QuerySet[M]], *types: type) -> None:
        unknown = [t for t in types if t not in _PLACEHOLDERS]
        if unknown:
            raise TypeError(f"unsupported parameter types: {unknown}")
        self._build = build
        self._types = types
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, alias: str) -> _Compiled:
        placeholders = [_PLACEHOLDERS[t](i) for i, t in enumerate(self._types)]
        queryset = self._build(*placeholders)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()  # also fills select, klass_info, annotation_col_map
        slots = []
        for position, value in enumerate(params):
            for index, placeholder in enumerate(placeholders):
                if type(value) is type(placeholder) and value == placeholder:
                    slots.append((position, index))
        missing = set(range(len(placeholders))) - {index for _, index in slots}
        if missing:
            raise ValueError(f"parameters {sorted(missing)} do not reach the SQL as values")
        select_fields = compiler.klass_info["select_fields"]
        model_slice = slice(select_fields[0], select_fields[-1] + 1)
        compiled = _Compiled(
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            compiler=compiler,
            init_list=tuple(f[0].target.attname for f in compiler.select[model_slice]),
            model_slice=model_slice,
        )
        with self._lock:
            self._compiled[alias] = compiled
        return compiled

    def __call__(self, *values: object, using: str = DEFAULT_DB_ALIAS) -> list[M]:
        if len(values) != len(self._types):
            raise TypeError(f"expected {len(self._types)} values, got {len(values)}")
        for value, kind in zip(values, self._types, strict=True):
            if not isinstance(value, kind) or isinstance(value, bool):
                raise TypeError(f"expected {kind.__name__}, got {value!r}")
        compiled = self._compiled.get(using) or self._compile(using)
        params = list(compiled.params)
        for position, index in compiled.slots:
            params[position] = values[index]
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.compiler.has_extra_select:  # columns the ORM adds for its own use
            rows = [row[: compiled.compiler.col_count] for row in rows]
        return self._instances(compiled, using, rows)

    def first(self, *values: object, using: str = DEFAULT_DB_ALIAS) -> M | None:
        found = self(*values, using=using)
        return found[0] if found else None

    @staticmethod
    def _instances(compiled: _Compiled, alias: str, rows: list[Any]) -> list[M]:
        compiler = compiled.compiler
        klass_info = compiler.klass_info
        model: type[M] = klass_info["model"]
        populators = get_related_populators(klass_info, compiler.select, alias)
        annotations = compiler.annotation_col_map or {}
        found = []
        for row in compiler.results_iter([rows]):
            obj = model.from_db(alias, list(compiled.init_list), row[compiled.model_slice])
            for populator in populators:
                populator.populate(row, obj)
            for name, column in annotations.items():
                setattr(obj, name, row[column])
            found.append(obj)
        return found
