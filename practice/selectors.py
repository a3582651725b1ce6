"""Reads of the practice app, scoped to the caller."""

from __future__ import annotations

from django.db.models import QuerySet

from practice.models import County


def county_list(*, state: str | None = None) -> QuerySet[County]:
    """Public: the service area's counties, by state then name."""
    qs = County.objects.order_by("state", "name")
    return qs.filter(state=state) if state else qs
