"""Pagination of the apps' lists: ``?page=N&page_size=M`` (at most 200 rows per page)."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class AppPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
