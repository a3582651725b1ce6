from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    """?page=N&page_size=M; the page size is capped so nobody can pull a table in one request."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
