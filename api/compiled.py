"""A queryset compiled to SQL once per process, then run with new values (docs/performance.md#profile).

On the hottest reads Django's work around a short indexed query costs more than the query:
turning a queryset with joins, a window and an ordering into SQL takes ~1.2-1.8 ms of CPU each
request, and building model instances for 20 rows with their related rows another ~1.5 ms,
while PostgreSQL answers in well under a millisecond (bench.profile on the caseload page).

`CompiledQuery` keeps the ORM as the one definition of the query: `build(**values)` returns the
queryset (usually a `values_list`) for given parameter values; it is built once per database
with distinct sentinel values, compiled, and the sentinels' positions among the parameters
recorded. Each run executes that SQL text with the real values and `LIMIT %s OFFSET %s`
appended, and returns plain tuples (the fields' own conversions applied, as the ORM would).

Only for shapes whose SQL does not depend on the values (filters by equality on ids, a fixed
ordering): `build` is asked once. If the compiled parameters are not exactly the sentinels, the
query refuses to be cached (ImproperlyConfigured) instead of running something else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import QuerySet

# Distinct values no real primary key or parameter takes; one per named parameter.
_SENTINEL_BASE = -7_316_000_000


class CompiledQuery:
    def __init__(self, build: Callable[..., QuerySet], *names: str):
        self.build = build
        self.names = names
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, using: str) -> _Compiled:
        sentinels = {name: _SENTINEL_BASE - i for i, name in enumerate(self.names)}
        queryset = self.build(**sentinels)
        if queryset.query.low_mark or queryset.query.high_mark is not None:
            raise ImproperlyConfigured("CompiledQuery: build() must not slice; run() adds LIMIT and OFFSET")
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        by_value = {value: name for name, value in sentinels.items()}
        if len(params) != len(sentinels) or set(params) != set(sentinels.values()):
            raise ImproperlyConfigured(f"CompiledQuery: parameters {params!r} are not the sentinels of {self.names}")
        order = tuple(self.names.index(by_value[p]) for p in params)
        # The fields' own conversions of database values (a JSON text, SQLite's datetimes and
        # UUIDs), found once, applied to every run's rows as the ORM would.
        converters = compiler.get_converters([s[0] for s in compiler.select[0 : compiler.col_count]])
        return _Compiled(f"{sql} LIMIT %s OFFSET %s", order, compiler, converters)

    def sql(self, using: str = "default") -> _Compiled:
        found = self._compiled.get(using)
        if found is None:
            with self._lock:
                found = self._compiled.get(using) or self._compile(using)
                self._compiled[using] = found
        return found

    def run(self, *, limit: int, offset: int = 0, using: str = "default", **values) -> list[tuple]:
        if set(values) != set(self.names):
            raise TypeError(f"CompiledQuery.run() needs exactly {self.names}")
        compiled = self.sql(using)
        ordered = [values[name] for name in self.names]
        params = [ordered[i] for i in compiled.order] + [limit, offset]
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = [tuple(row) for row in compiled.compiler.apply_converters(rows, compiled.converters)]
        return rows


class _Compiled(NamedTuple):
    sql: str
    order: tuple[int, ...]
    compiler: Any
    converters: dict
