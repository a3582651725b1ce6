"""The API's one pagination module (docs/api-conventions.md#pagination): page numbers for bounded
lists (PagePagination), keyset cursors for lists that grow without bound (KeysetPagination)."""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import partial
from uuid import UUID

from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.core.paginator import Paginator as DjangoPaginator
from django.db.models import Count, QuerySet, Window
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from api.prepared import Rows, keyset_after

# No list is read this deep by page number (lists that can grow that far use cursors): a larger
# number is refused as past the end before any query, whatever the strategy.
MAX_PAGE = 100_000

# The annotation that carries the total in the page query (page_count = "window").
TOTAL = "_page_total_rows"


class PagedRows:
    """A list read one page at a time by `fetch(offset, limit) -> (rows, total)`: one statement
    that returns the page's rows (plain tuples, dicts...) and the list's total, e.g. with
    COUNT(*) OVER () (scheduling/caseload.py: paged). An empty page cannot tell the total: `fetch(0, 1)` then."""

    def __init__(self, fetch: Callable[[int, int], tuple[list, int]]):
        self.fetch = fetch

    def count(self) -> int:
        """The total alone (Django's Paginator asks for it for `?page=last`)."""
        return self.fetch(0, 1)[1]


class PageFirstPaginator(DjangoPaginator):
    """Django's Paginator counts first, then reads the page: two round trips per list. This one
    reads the page first and counts only when the page cannot tell (the same count, the same
    errors):

    - "from_page": a page that is not full (or an empty first page) ends the list, so the total
      is its offset plus its rows; a full page still runs COUNT(*). For lists that are usually
      short (a patient's own visits).
    - "window": the page query carries COUNT(*) OVER () (PostgreSQL and SQLite): one query for
      rows and total. Only for bounded lists (one physician's caseload): the window needs every
      matching row before the limit.
    - a `count` callable: the total comes from it (a cached count, see the staff delivery board).

    `Rows` (api/prepared.py) are paged like a QuerySet by "from_page" and by a `count`; anything
    else (a list) is paged as Django does."""

    def __init__(self, object_list, per_page, *, strategy: str = "query", count=None):
        super().__init__(object_list, per_page)
        self.strategy = strategy
        if count is not None:
            self.count = count()

    def page(self, number):
        paged = isinstance(self.object_list, PagedRows)
        pageable = isinstance(self.object_list, QuerySet) or (
            isinstance(self.object_list, Rows) and self.strategy == "from_page"
        )
        if not paged and ("count" in self.__dict__ or not pageable or self.strategy == "query"):
            return super().page(number)
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        if number > MAX_PAGE:  # the offset would overflow the database's integer: past any real end
            raise EmptyPage(self.error_messages["no_results"])
        bottom = (number - 1) * self.per_page
        if paged:
            return self._paged_rows(number, bottom)
        queryset = self.object_list
        if self.strategy == "window":
            queryset = queryset.annotate(**{TOTAL: Window(Count("*"))})
        rows = list(queryset[bottom : bottom + self.per_page])
        if rows and self.strategy == "window":
            self.count = getattr(rows[0], TOTAL)  # model instances only: a values() row would show it
        elif (rows and len(rows) < self.per_page) or (not rows and bottom == 0):
            self.count = bottom + len(rows)
        # else: a full page or past the end: `count` runs COUNT(*) below.
        if number > self.num_pages:
            raise EmptyPage(self.error_messages["no_results"])
        return self._get_page(rows, number, self)

    def _paged_rows(self, number: int, bottom: int):
        rows, total = self.object_list.fetch(bottom, self.per_page)
        if not rows and bottom:
            _, total = self.object_list.fetch(0, 1)
        self.count = total  # fetch answers 0 with no rows
        if number > self.num_pages:
            raise EmptyPage(self.error_messages["no_results"])
        return self._get_page(rows, number, self)


class PagePagination(PageNumberPagination):
    """?page=N&page_size=M; the page size is capped so nobody can pull a table in one request.

    A view may set `page_count = "from_page"` or `"window"` (see PageFirstPaginator) to save the
    COUNT(*) round trip, or pass `count=` (a callable) to paginate_queryset."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    django_paginator_class = PageFirstPaginator

    def paginate_queryset(self, queryset, request, view=None, count=None):
        # A view whose whole list fits one page by default (the counties of a state) says so.
        self.page_size = getattr(view, "default_page_size", type(self).page_size)
        strategy = getattr(view, "page_count", "query")
        self.django_paginator_class = partial(PageFirstPaginator, strategy=strategy, count=count)
        # DRF answers a bad page number with 404, which reads as "this list does not exist";
        # it is bad input, so it gets the 400 field error every other bad parameter gets.
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise ValidationError({self.page_query_param: [str(exc.detail)]}, code="invalid_page") from exc


# --- Keyset (cursor) pagination -----------------------------------------------------------------
class KeysetPagination(BasePagination):
    """?cursor=<opaque>&page_size=M over a fixed ordering whose last field is unique
    (docs/api-conventions.md#pagination).

    Each page is one indexed range read (`WHERE (created_at, id) < (...) ORDER BY ... LIMIT n+1`),
    so page 500 costs what page 1 costs, and rows inserted meanwhile neither repeat nor vanish
    between pages. The cursor is signed (a tampered or foreign one is `400 invalid_cursor`) and
    carries the last row's ordering values and the direction; follow `next` and `previous`, do
    not build cursors.

    The ordering is the view's `cursor_ordering`, else the queryset's own `order_by` (so the first
    page is the one page numbers gave), else ("-created_at", "-id"); its last field must be the
    primary key. Two ways to keep v1 clients working (docs/api-conventions.md#pagination):

    - `page_number_fallback = True` (cursors by default): a request that sends `page` and no
      `cursor` is answered by page numbers (deprecated in the schema);
    - `cursor_opt_in = True` (page numbers by default): a request without `cursor` is answered
      by page numbers exactly as before; sending `cursor` (empty for the first page) switches
      to cursors, and then `next` / `previous` carry cursors.

    `count` in the answer is the list's total (a callable may supply a cached one). A cursor is
    valid only on the path that issued it, with the same ordering."""

    page_size = 20
    max_page_size = 100
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    default_ordering = ("-created_at", "-id")
    _SALT = "api.pagination.cursor"

    def paginate_queryset(self, queryset, request, view=None, count=None):
        self.request = request
        self.fallback = None
        if self._pages_asked(request, view):
            self.fallback = PagePagination()
            return self.fallback.paginate_queryset(queryset, request, view=view, count=count)
        self.ordering = _ordering(queryset, getattr(view, "cursor_ordering", None), self.default_ordering)
        self.size = self._page_size(request)
        cursor = self._decode(request.query_params.get(self.cursor_query_param))
        backwards = cursor is not None and cursor["d"] == "p"
        ordering = tuple(_flip(f) for f in self.ordering) if backwards else self.ordering
        if isinstance(queryset, Rows):
            rows = queryset.keyset(ordering, cursor["k"] if cursor is not None else None, self.size + 1)
        else:
            rows_qs = queryset.order_by(*ordering)
            if cursor is not None:
                rows_qs = rows_qs.filter(keyset_after(ordering, cursor["k"]))
            rows = list(rows_qs[: self.size + 1])
        more = len(rows) > self.size
        rows = rows[: self.size]
        if backwards:
            rows.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, cursor is not None
        self.rows = rows
        self.total = count() if count is not None else queryset.count()
        return rows

    def get_paginated_response(self, data):
        if self.fallback is not None:
            return self.fallback.get_paginated_response(data)
        return Response(
            {
                "count": self.total,
                "next": self._link("n", self.rows[-1]) if self.has_next and self.rows else None,
                "previous": self._link("p", self.rows[0]) if self.has_previous and self.rows else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "next": {"type": "string", "nullable": True, "format": "uri", "description": "The next page."},
                "previous": {"type": "string", "nullable": True, "format": "uri", "description": "The previous page."},
                "results": schema,
            },
        }

    def _pages_asked(self, request, view) -> bool:
        """Whether this request is answered by page numbers (see the class's docstring)."""
        if self.cursor_query_param in request.query_params:
            return False
        if getattr(view, "cursor_opt_in", False):
            return True
        return getattr(view, "page_number_fallback", False) and PagePagination.page_query_param in request.query_params

    def get_schema_operation_parameters(self, view):
        if getattr(view, "cursor_opt_in", False):
            return [
                *PagePagination().get_schema_operation_parameters(view),
                {
                    "name": self.cursor_query_param,
                    "required": False,
                    "in": "query",
                    "description": "Opt in to keyset cursors (constant cost at any depth): send it empty for the "
                    "first page, then follow `next` / `previous`, which carry it. Without it, page numbers.",
                    "schema": {"type": "string"},
                },
            ]
        params = [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "An opaque position from a `next` or `previous` link; omit it for the first page.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (1 to {self.max_page_size}, default {self.page_size}).",
                "schema": {"type": "integer"},
            },
        ]
        if getattr(view, "page_number_fallback", False):
            params.append(
                {
                    "name": PagePagination.page_query_param,
                    "required": False,
                    "in": "query",
                    "deprecated": True,
                    "description": "Deprecated: page numbers, for clients written before cursors. Follow `next`.",
                    "schema": {"type": "integer"},
                }
            )
        return params

    # -- helpers --
    def _page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError(
                {self.page_size_query_param: [ErrorDetail("A positive whole number.", code="invalid_page_size")]}
            )
        return min(size, self.max_page_size)

    def _decode(self, raw):
        if raw in (None, ""):
            return None
        try:
            payload = signing.loads(raw, salt=self._SALT)
            keys = [_load_value(v) for v in payload["k"]]
            direction = payload["d"]
            if (
                direction not in ("n", "p")
                or payload.get("o") != list(self.ordering)
                or payload.get("p") != self.request.path
                or len(keys) != len(self.ordering)
            ):
                raise ValueError
        except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                {self.cursor_query_param: [ErrorDetail("This cursor is not valid here.", code="invalid_cursor")]}
            ) from exc
        return {"k": keys, "d": direction}

    @classmethod
    def cursor(cls, *, path: str, ordering: tuple[str, ...], keys: list, direction: str = "n") -> str:
        """The cursor of the page after (`n`) or before (`p`) the row whose `ordering` values are
        `keys`, on the list at `path`: what the `next` and `previous` links carry."""
        payload = {"k": [_dump_value(k) for k in keys], "d": direction, "o": list(ordering), "p": path}
        return signing.dumps(payload, salt=cls._SALT, compress=True)

    def _link(self, direction: str, row) -> str:
        keys = [_row_value(row, f.lstrip("-")) for f in self.ordering]
        token = self.cursor(path=self.request.path, ordering=self.ordering, keys=keys, direction=direction)
        url = self.request.build_absolute_uri()
        url = remove_query_param(url, PagePagination.page_query_param)
        return replace_query_param(url, self.cursor_query_param, token)


def _ordering(queryset, declared, default) -> tuple[str, ...]:
    """The keyset's ordering: the view's, else the queryset's own, else the default. The last
    field must be the primary key (unique: ties on the others are broken by it)."""
    ordering = tuple(declared or ())
    if not ordering and isinstance(queryset, QuerySet):
        ordering = tuple(queryset.query.order_by) or tuple(queryset.model._meta.ordering or ())
    if not ordering and isinstance(queryset, Rows):
        ordering = queryset.ordering
    ordering = ordering or tuple(default)
    if not all(isinstance(f, str) for f in ordering) or ordering[-1].lstrip("-") not in ("id", "pk"):
        raise ImproperlyConfigured(f"a keyset ordering ends with the primary key and names fields only: {ordering}")
    if isinstance(queryset, (QuerySet, Rows)):
        # NULL compares as neither before nor after: a nullable key would drop rows between pages.
        for name in (f.lstrip("-") for f in ordering):
            try:
                nullable = queryset.model._meta.get_field(name).null
            except FieldDoesNotExist:
                continue  # a related path or an annotation: the view vouches for it
            if nullable:
                raise ImproperlyConfigured(f"a keyset ordering needs non-null fields: {name} is nullable")
    return ordering


def _flip(field: str) -> str:
    return field[1:] if field.startswith("-") else f"-{field}"


def _row_value(row, path: str):
    value = row
    for part in path.split("__"):
        value = getattr(value, part)
    return value


def _dump_value(value):
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    return value


def _load_value(value):
    if isinstance(value, dict) and set(value) == {"dt"}:
        parsed = datetime.fromisoformat(value["dt"])
        if parsed.tzinfo is None:
            raise ValueError("naive cursor datetime")
        return parsed
    return value
