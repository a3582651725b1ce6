from functools import partial

from django.core.paginator import EmptyPage, PageNotAnInteger
from django.core.paginator import Paginator as DjangoPaginator
from django.db.models import Count, QuerySet, Window
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination

# No list is read this deep by page number (lists that can grow that far use cursors): a larger
# number is refused as past the end before any query, whatever the strategy.
MAX_PAGE = 100_000

# The annotation that carries the total in the page query (page_count = "window").
TOTAL = "_page_total_rows"


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

    Anything but a QuerySet (a list) is paged as Django does."""

    def __init__(self, object_list, per_page, *, strategy: str = "query", count=None):
        super().__init__(object_list, per_page)
        self.strategy = strategy
        if count is not None:
            self.count = count()

    def page(self, number):
        if "count" in self.__dict__ or not isinstance(self.object_list, QuerySet) or self.strategy == "query":
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


class PagePagination(PageNumberPagination):
    """?page=N&page_size=M; the page size is capped so nobody can pull a table in one request.

    A view may set `page_count = "from_page"` or `"window"` (see PageFirstPaginator) to save the
    COUNT(*) round trip, or pass `count=` (a callable) to paginate_queryset."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    django_paginator_class = PageFirstPaginator

    def paginate_queryset(self, queryset, request, view=None, count=None):
        strategy = getattr(view, "page_count", "query")
        self.django_paginator_class = partial(PageFirstPaginator, strategy=strategy, count=count)
        # DRF answers a bad page number with 404, which reads as "this list does not exist";
        # it is bad input, so it gets the 400 field error every other bad parameter gets.
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise ValidationError({self.page_query_param: [str(exc.detail)]}, code="invalid_page") from exc
