"""Pagination shared by the selectors' long lists."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100


def page_of(items: Any, *, page: object = 1, per_page: int = DEFAULT_PER_PAGE) -> Page:
    """One page of a queryset; a missing, malformed or out-of-range number gives a valid page."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    return Paginator(items, per_page).get_page(page)
