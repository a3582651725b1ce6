"""Plain rows for the hot list endpoints, with their SQL compiled once (docs/performance.md#prepared-reads).

On a page of 20 the ORM spent more CPU compiling the same SELECT again (get_select, get_order_by,
the joins) and building model instances than everything else the request did. A `PreparedRead`
names the columns an answer needs as a NamedTuple (`row`, its fields the ORM paths:
`patient__public_id`) and builds the list's queryset with `build(**arguments)`; `read.rows(...)`
is a `Rows` that the paginators of api/pagination.py page:

- a page of the list's own order (page numbers, a keyset's first page) and a keyset page after a
  cursor (on integer and datetime keys, either direction) run SQL that Django compiled once per
  database connection (kept on it) and shape, with this request's values in their places and the
  page's LIMIT / OFFSET appended, the column converters applied as the ORM applies them;
- anything else (another order, the total, `read.orm_rows(...)`) runs the ORM on the same queryset.

`row=None` reads model instances instead (`Model.from_db`, as the ORM's own iteration builds them:
no select_related, no annotations), for the small reads of one row that services hand on as
models (a physician's licences, a patient's subscriptions); `read.first(**arguments)` is the first
row or None.

Arguments named in `params` are values (int, str, UUID, date or datetime, by `types`: a viewer's id); the
others name the query's shape and are part of the compiled SQL's key (hashable, few values: a
role's reach). The SQL is compiled from `build` called with a distinct sentinel for each value,
twice with two sets: a value that the ORM would transform on its way to the parameters (other
than a datetime, adapted as the backend adapts a DateTimeField's) is refused at the first call.
tests/api/test_prepared.py checks that the reads' SQL equals what the ORM compiles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from uuid import UUID

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist, ImproperlyConfigured
from django.db import connections, router
from django.db.models import NOT_PROVIDED, Model, Q, QuerySet

# Values no real parameter takes (within a 32-bit integer: an out-of-range integer lookup is
# compiled as an empty result).
_INT_SENTINEL = -1_987_650_000
_STR_SENTINEL = "\x00prepared-read-{}\x00"
_ON_CONNECTION = "_api_prepared_reads"  # the compiled reads of a database connection
_DATETIME_SENTINEL = datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=UTC)
_DATE_SENTINEL = date(1901, 2, 3)
_UUID_SENTINEL = 0x5E171E1_0000_4000_8000_000000000000
_INTEGER_FIELDS = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
}


@dataclass(frozen=True)
class _Compiled:
    sql: str | None  # None: the query has no rows whatever the values (EmptyResultSet)
    slots: tuple[tuple[str | None, Any], ...]  # per parameter: the value's name, or None and a constant
    compiler: Any
    converters: dict
    ordering: tuple[str, ...]
    adapters: dict[str, Callable[[Any], Any]]  # per value name: how it reaches the parameters
    attnames: tuple[str, ...] = ()  # a read of model instances: the selected fields' attnames


class PreparedRead:
    """One list's columns (`row`), its queryset (`build`) and its compiled SQL (see the module)."""

    def __init__(
        self,
        model: type[Model],
        row: type[Any] | None,  # a NamedTuple class; None: model instances
        build: Callable[..., QuerySet],
        *,
        params: tuple[str, ...] = (),
        types: dict[str, type] | None = None,
    ):
        self.model = model
        self.row = row
        self.build = build
        self.params = params
        self.types = types or {}
        self._keysets: dict[tuple[str, ...], PreparedRead | None] = {}

    def rows(self, **arguments) -> Rows:
        return Rows(self, arguments)

    def orm_rows(self, **arguments) -> Rows:
        """The same rows through the ORM every time: for arguments of many values (a list's
        filters) that would each compile and keep SQL of their own."""
        return Rows(self, arguments, prepared=False)

    def first(self, **arguments) -> Any:
        """The first row (in the query's own order) or None."""
        found = Rows(self, arguments).slice(0, 1)
        return found[0] if found else None

    def queryset(self, arguments: dict) -> QuerySet:
        if self.row is None:
            return self.build(**arguments)
        return self.build(**arguments).values_list(*self.row._fields)

    def compiled(self, using: str, arguments: dict) -> _Compiled:
        connection = connections[using]
        shape = tuple(sorted((k, v) for k, v in arguments.items() if k not in self.params))
        # Kept on the connection (one per thread), not in a registry: the entry holds the
        # compiler, which holds the connection, so a registry would keep every connection alive.
        per_connection = connection.__dict__.setdefault(_ON_CONNECTION, {})
        found = per_connection.get((self, shape))
        if found is None:
            found = per_connection[(self, shape)] = self._compile(connection, dict(shape))
        return found

    def _sentinels(self, offset: int) -> dict:
        values: dict[str, Any] = {}
        for i, name in enumerate(self.params):
            kind = self.types.get(name, int)
            if kind is str:
                values[name] = _STR_SENTINEL.format(i + offset)
            elif kind is datetime:
                values[name] = _DATETIME_SENTINEL + timedelta(seconds=i + offset)
            elif kind is date:
                values[name] = _DATE_SENTINEL + timedelta(days=i + offset)
            elif kind is UUID:
                values[name] = UUID(int=_UUID_SENTINEL + i + offset)
            else:
                values[name] = _INT_SENTINEL - i - offset
        return values

    def _adapters(self, connection) -> dict[str, Callable[[Any], Any]]:
        """How each value reaches the parameters: a datetime (a date) as the backend adapts a
        DateTimeField's (a DateField's)."""
        adapt = {
            datetime: connection.ops.adapt_datetimefield_value,
            date: connection.ops.adapt_datefield_value,
            UUID: _uuid_adapter(connection),
        }
        return {n: adapt[self.types[n]] for n in self.params if self.types.get(n) in adapt}

    def keyset_read(self, ordering: tuple[str, ...]) -> PreparedRead | None:
        """This list in `ordering` after a keyset position (`key0`, `key1`, ...: the cursor's
        values), as a read of its own; None when a key is neither an integer nor a datetime."""
        if self.row is None:
            return None
        if ordering not in self._keysets:
            types: dict[str, type] = {}
            for i, name in enumerate(ordering):
                try:
                    field = self.model._meta.get_field(name.lstrip("-"))
                except FieldDoesNotExist:
                    self._keysets[ordering] = None
                    return None
                internal = field.get_internal_type()
                kind = datetime if internal == "DateTimeField" else int if internal in _INTEGER_FIELDS else None
                if kind is None:
                    self._keysets[ordering] = None
                    return None
                types[f"key{i}"] = kind
            base = self

            def build(**arguments) -> QuerySet:
                keys = [arguments.pop(f"key{i}") for i in range(len(ordering))]
                return base.queryset(arguments).order_by(*ordering).filter(keyset_after(ordering, keys))

            self._keysets[ordering] = PreparedRead(
                self.model, self.row, build, params=(*self.params, *types), types={**self.types, **types}
            )
        return self._keysets[ordering]

    def _compile(self, connection, shape: dict) -> _Compiled:
        sentinels = self._sentinels(0)
        adapters = self._adapters(connection)
        queryset = self.queryset({**shape, **sentinels})
        ordering = cast(tuple[str, ...], tuple(queryset.query.order_by))
        compiler = queryset.query.get_compiler(connection=connection)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return _Compiled(None, (), compiler, {}, ordering, {})
        adapted = {name: adapters[name](v) if name in adapters else v for name, v in sentinels.items()}
        by_value = {(type(v), v): name for name, v in adapted.items()}
        slots = tuple((by_value.get((type(p), p)), p) for p in params)
        # Compiled again with other values: every parameter that moves must be a value's own slot
        # (a value the ORM transformed, a str made a UUID, would otherwise run as the sentinel).
        other_sql, other = (
            self.queryset({**shape, **self._sentinels(len(self.params))})
            .query.get_compiler(connection=connection)
            .as_sql()
        )
        moved = [i for i, (a, b) in enumerate(zip(params, other, strict=False)) if a != b]
        if (
            other_sql != sql
            or len(other) != len(params)
            or moved != [i for i, (name, _) in enumerate(slots) if name is not None]
        ):
            raise ImproperlyConfigured(f"prepared read {self.row.__name__}: a value does not reach the SQL unchanged")
        converters = compiler.get_converters([col for col, _, _ in compiler.select[: compiler.col_count]])
        return _Compiled(sql, slots, compiler, converters, ordering, adapters, self._attnames(compiler))

    def _attnames(self, compiler) -> tuple[str, ...]:
        """A read of model instances: the attnames of the selected columns, which must be the
        model's own fields and nothing else (no select_related, no annotations, no extra)."""
        if self.row is not None:
            return ()
        query = compiler.query
        if (
            query.select_related
            or query.annotation_select
            or query.extra_select
            or compiler.col_count != len(compiler.select)
        ):
            raise ImproperlyConfigured(f"prepared read of {self.model.__name__}: its own fields only")
        if compiler.klass_info is None or compiler.klass_info.get("related_klass_infos"):
            raise ImproperlyConfigured(f"prepared read of {self.model.__name__}: its own fields only")
        return tuple(col.target.attname for col, _, _ in compiler.select)


class Rows:
    """A list of `read.row` tuples for the paginators (and a plain `list(rows)`)."""

    ordered = True  # Django's Paginator asks

    def __init__(self, read: PreparedRead, arguments: dict, *, prepared: bool = True):
        self.read = read
        self.arguments = arguments
        self.prepared = prepared
        self.model = read.model
        self.using = router.db_for_read(read.model)

    @property
    def queryset(self) -> QuerySet:
        """The ORM's queryset of the same rows (as value tuples)."""
        return self.read.queryset(self.arguments)

    @property
    def ordering(self) -> tuple[str, ...]:
        if not self.prepared:
            return cast(tuple[str, ...], tuple(self.queryset.query.order_by))
        return self.read.compiled(self.using, self.arguments).ordering

    def __getitem__(self, k: slice) -> list:
        if not isinstance(k, slice) or k.step is not None or (k.start or 0) < 0 or (k.stop is not None and k.stop < 0):
            raise TypeError("Rows are paged by slices with a start and a stop")
        return self.slice(k.start or 0, k.stop)

    def __iter__(self):  # no __len__: list(rows) would ask the database for a COUNT first
        return iter(self.slice(0, None))

    def count(self) -> int:
        return self.queryset.count()

    def slice(self, start: int, stop: int | None) -> list:
        """Rows start..stop of the list's own order: the compiled SQL."""
        if not self.prepared:
            return self._wrap(self.queryset[start:stop])
        compiled = self.read.compiled(self.using, self.arguments)
        if compiled.sql is None or (stop is not None and stop <= start):
            return []
        connection = compiled.compiler.connection
        values = self.arguments
        if compiled.adapters:
            values = {**values, **{name: adapt(values[name]) for name, adapt in compiled.adapters.items()}}
        params = [values[name] if name is not None else constant for name, constant in compiled.slots]
        limits = connection.ops.limit_offset_sql(start, stop)
        if limits and compiled.compiler.query.select_for_update:
            raise ImproperlyConfigured("a prepared read that locks its rows is read whole: slice(0, None)")
        sql = f"{compiled.sql} {limits}" if limits else compiled.sql
        with statement_cursor(connection) as cursor:
            cursor.execute(sql, params)
            fetched: Iterable = cursor.fetchall()
        if compiled.converters:
            fetched = compiled.compiler.apply_converters(fetched, compiled.converters)
        if self.read.row is None:
            from_db, using, names = self.model.from_db, self.using, compiled.attnames
            return [from_db(using, names, r) for r in fetched]
        new, row = tuple.__new__, self.read.row
        return [new(row, r) for r in fetched]

    def keyset(self, ordering: tuple[str, ...], keys: list | None, limit: int) -> list:
        """The first `limit` rows in `ordering` after the keyset position `keys` (None: from the start)."""
        ordering = tuple(ordering)
        if self.prepared and keys is None and ordering == self.ordering:
            return self.slice(0, limit)
        read = self.read.keyset_read(ordering) if self.prepared and keys is not None else None
        if read is not None:
            return Rows(read, {**self.arguments, **{f"key{i}": v for i, v in enumerate(keys or ())}}).slice(0, limit)
        queryset = self.queryset.order_by(*ordering)
        if keys is not None:
            queryset = queryset.filter(keyset_after(ordering, keys))
        return self._wrap(queryset[:limit])

    def _wrap(self, tuples: Iterable) -> list:
        if self.read.row is None:
            return list(tuples)
        new, row = tuple.__new__, self.read.row
        return [new(row, r) for r in tuples]


def statement_cursor(connection):
    """Django's cursor for SQL that a connection runs again and again; on PostgreSQL a cursor
    that binds the values on the server and has the statement prepared (psycopg: `prepare=True`),
    so that PostgreSQL plans it once per connection rather than on every request: planning the
    board's five-table join took 0.7 ms of a 1 ms statement (docs/performance.md#prepared-reads).

    Django's own cursors bind on the client and never prepare; prepare=True takes effect only
    when the connection has a `prepare_threshold` (config/database.py sets one that no statement
    reaches by count; behind PgBouncer there is none, and the statement is then sent unprepared,
    still bound on the server). The cursor is wrapped as Django wraps its own, so query logging,
    execute_wrapper and the test query counts see it. It loads timestamps with psycopg's own
    loader (see _preparing_cursor_class)."""
    if connection.vendor != "postgresql" or connection.timezone is None:  # USE_TZ off: Django's naive loader
        return connection.cursor()
    connection.ensure_connection()
    raw = _preparing_cursor_class()(connection.connection)
    return connection._prepare_cursor(raw)  # noqa: SLF001 - Django's wrapping of a new cursor


_PREPARING: list = []  # the class, built on first use (PostgreSQL's modules load only there)


def _preparing_cursor_class():
    if not _PREPARING:
        from django.db.backends.postgresql.base import ServerBindingCursor
        from psycopg import adapters as psycopg_adapters
        from psycopg.postgres import types as pg_types
        from psycopg.pq import Format

        # psycopg's own timestamptz loader (C, with psycopg[binary]): the value in the session's
        # zone, which Django sets to its own (connection.timezone_name), so the same datetime as
        # Django's loader (psycopg_any.BaseTzLoader, Python: parse, then replace the zone) at a
        # fraction of the cost (the board's page: 0.41 -> 0.23 ms of CPU; the caseload page reads
        # ~110 timestamps).
        timestamptz = pg_types["timestamptz"].oid
        fast_loader = psycopg_adapters.get_loader(timestamptz, Format.TEXT)

        class PreparingCursor(ServerBindingCursor):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.adapters.register_loader(timestamptz, fast_loader)

            def execute(self, query, params=None, *, prepare=None, binary=None):
                super().execute(query, params, prepare=True, binary=binary)
                if self._query is None:  # a prepared statement's run leaves no text behind
                    self._query = _Shown(self.connection, query, params)
                return self

        _PREPARING.append(PreparingCursor)
    return _PREPARING[0]


class _Shown:
    """What Django's query log reads of a prepared statement's run (`cursor._query.query`, in
    DEBUG and the tests' query captures): the statement with its values, composed when read."""

    __slots__ = ("_connection", "_params", "_sql")

    def __init__(self, connection, sql, params):
        self._connection, self._sql, self._params = connection, sql, params

    @property
    def query(self) -> bytes:
        from psycopg import ClientCursor

        return ClientCursor(self._connection).mogrify(self._sql, self._params).encode()


def _uuid_adapter(connection) -> Callable[[Any], Any]:
    """A UUID (or its text) as UUIDField.get_db_prep_value sends it: native, or 32 hex digits.
    Text that is no UUID raises ValidationError, as the ORM's filter does."""
    from django.db.models import UUIDField

    field = UUIDField()

    def adapt(value):
        return field.get_db_prep_value(value, connection)

    return adapt


def keyset_after(ordering: tuple[str, ...], values: list) -> Q:
    """Rows strictly after `values` in `ordering` (mixed directions): the keyset condition.

    It starts with the bound every row after the position meets on the first key (`<=` going
    down, `>=` going up), which the OR of the steps implies: PostgreSQL uses that bound as the
    start of an index scan on an index led by the first key, where it used to apply the OR as a
    filter to every row before the position (the board's page 500: 9,980 rows read and dropped,
    4.2 ms; docs/performance.md#figures)."""
    first = ordering[0]
    condition = Q(**{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}": values[0]})
    steps = Q()
    for i, field in enumerate(ordering):
        name = field.lstrip("-")
        step = Q(**{f"{name}__{'lt' if field.startswith('-') else 'gt'}": values[i]})
        for prior, value in zip(ordering[:i], values[:i], strict=False):
            step &= Q(**{prior.lstrip("-"): value})
        steps |= step
    return condition & steps


_INSERTS = "_api_prepared_inserts"  # per connection: {(model, rows): INSERT text}


def insert_new(objs: list[Model], *, signals: bool = False) -> list[Model]:
    """INSERT new instances of one model in one statement whose text is built once per database
    connection and row count, and set their primary keys (RETURNING), as `bulk_create` and
    `save()` leave them: every concrete field but an auto primary key, each value as the field
    prepares it for a new row (`pre_save(obj, add=True)`: auto_now_add, defaults already set;
    `get_db_prep_save`). Django's insert compiler spent more CPU than the rest of the write on
    booking's visit and reminders (docs/performance.md#profile).

    `signals=True` sends pre_save and post_save (created) around it, as `save()` does (one
    instance); without, none, as `bulk_create`. Models with parents (multi-table inheritance)
    or without an auto primary key are refused."""
    if not objs:
        return objs
    model = type(objs[0])
    meta = model._meta
    if meta.parents or meta.auto_field is None or any(type(o) is not model or not o._state.adding for o in objs):
        raise ImproperlyConfigured(f"insert_new: new {model.__name__} rows of one model without parents")
    if signals and len(objs) != 1:
        raise ImproperlyConfigured("insert_new: signals are sent for one instance, as save() does")
    fields = [f for f in meta.concrete_fields if f is not meta.auto_field]
    if any(getattr(f, "generated", False) or f.db_default is not NOT_PROVIDED for f in fields):
        raise ImproperlyConfigured(f"insert_new: {model.__name__} has a field the database fills")
    using = router.db_for_write(model)
    connection = connections[using]
    per_connection = connection.__dict__.setdefault(_INSERTS, {})
    sql = per_connection.get((model, len(objs)))
    if sql is None:
        quote = connection.ops.quote_name
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = per_connection[(model, len(objs))] = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES {', '.join([row] * len(objs))} RETURNING {quote(meta.auto_field.column)}"
        )
    if signals:
        from django.db.models.signals import pre_save

        pre_save.send(sender=model, instance=objs[0], raw=False, using=using, update_fields=None)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    with statement_cursor(connection) as cursor:  # on PostgreSQL prepared: parsed once per connection
        cursor.execute(sql, params)
        keys = cursor.fetchall()
    for obj, (pk,) in zip(objs, keys, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, using
    if signals:
        from django.db.models.signals import post_save

        post_save.send(sender=model, instance=objs[0], created=True, update_fields=None, raw=False, using=using)
    return objs
