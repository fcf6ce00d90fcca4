"""Pagination for the API: cursors for large lists, limit/offset for small ones."""

from rest_framework.pagination import CursorPagination, LimitOffsetPagination


class ApiCursorPagination(CursorPagination):
    """Opaque ``next``/``previous`` links; stable while rows are being added.

    The order is the view's ``ordering`` (or the ``ordering`` query parameter);
    ``page_size`` may be asked for, up to 200.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-pk"


class ApiLimitOffsetPagination(LimitOffsetPagination):
    """``limit``/``offset`` for small lists; ``limit`` is capped at 200 (a huge one
    would otherwise reach the database as an out-of-range number)."""

    default_limit = 50
    max_limit = 200
