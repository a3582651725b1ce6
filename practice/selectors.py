"""Reads of the practice app, scoped to the caller."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import Prefetch, QuerySet

from accounts import scopes
from accounts.models import Role, User
from accounts.scopes import Capability
from api.errors import NotFound
from practice.models import (
    County,
    DEARegistration,
    NJCDSRegistration,
    StateLicense,
)
from practice.services.licensing import ACCEPTED_LICENCE_KINDS, consulting_licences


def county_list(*, state: str | None = None) -> QuerySet[County]:
    """Public: the service area's counties, by state then name."""
    qs = County.objects.order_by("state", "name")
    return qs.filter(state=state) if state else qs


def consult_windows(
    *, state: str, start: dt.date, end: dt.date, physician_ids: list[int] | None = None
) -> dict[int, list[tuple[dt.date, dt.date]]]:
    """Physician user id -> inclusive date ranges within [start, end] on which they may consult in `state`.

    The same licence rule as `physician_authorization` (active licence of a kind the state accepts,
    valid from issue through expiry day inclusive), for many physicians and days in one query.
    With `physician_ids`, every requested id is a key (an empty list: no window); without, only
    physicians who have a window appear.
    """
    windows: dict[int, list[tuple[dt.date, dt.date]]] = {pid: [] for pid in (physician_ids or [])}
    if state not in ACCEPTED_LICENCE_KINDS or end < start or physician_ids == []:
        return windows
    licences = consulting_licences(state).filter(issued_on__lte=end, expires_on__gte=start)
    wanted = None if physician_ids is None else set(physician_ids)
    if wanted is not None and len(wanted) <= 10:
        # A few physicians (booking: one): by key. Many (a search: all of them): the state's
        # licences are a few rows per physician anyway, and a short statement's parsing is cached
        # by psycopg (a 50-id IN list is re-parsed on every call).
        licences = licences.filter(physician_id__in=wanted)
    ranges: dict[int, list[tuple[dt.date, dt.date]]] = {}
    for physician_id, issued_on, expires_on in licences.values_list("physician_id", "issued_on", "expires_on"):
        if wanted is None or physician_id in wanted:
            ranges.setdefault(physician_id, []).append((issued_on, expires_on))
    for physician_id, spans in ranges.items():
        windows[physician_id] = windows_within(spans, start=start, end=end)
    return windows


def licence_spans(*, state: str) -> dict[int, list[tuple[dt.date, dt.date]]]:
    """Physician user id -> (issued_on, expires_on) of each licence that lets them consult in
    `state`, whatever the dates (one query): what consult_windows clips to a window, for a cache
    of the state's search context (practice/search_context.py names its version)."""
    spans: dict[int, list[tuple[dt.date, dt.date]]] = {}
    if state not in ACCEPTED_LICENCE_KINDS:
        return spans
    rows = consulting_licences(state).order_by("physician_id", "issued_on", "expires_on")
    for physician_id, issued_on, expires_on in rows.values_list("physician_id", "issued_on", "expires_on"):
        spans.setdefault(physician_id, []).append((issued_on, expires_on))
    return spans


def windows_within(
    spans: list[tuple[dt.date, dt.date]], *, start: dt.date, end: dt.date
) -> list[tuple[dt.date, dt.date]]:
    """Licence spans (inclusive) -> the merged inclusive ranges they cover within [start, end]
    (overlapping or back-to-back licences make one range)."""
    one_day = dt.timedelta(days=1)
    merged: list[tuple[dt.date, dt.date]] = []
    for lo, hi in sorted((max(a, start), min(b, end)) for a, b in spans if a <= end and b >= start):
        if merged and lo <= merged[-1][1] + one_day:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


# --- credentials (staff see every physician; a physician sees their own) ------------------------


def _with_credentials(qs: QuerySet[User]) -> QuerySet[User]:
    return qs.select_related("physician_profile").prefetch_related(
        Prefetch("state_licences", queryset=StateLicense.objects.order_by("state", "-expires_on", "id")),
        Prefetch("dea_registrations", queryset=DEARegistration.objects.order_by("state", "-expires_on", "id")),
        Prefetch("nj_cds_registrations", queryset=NJCDSRegistration.objects.order_by("-expires_on", "id")),
    )


def physician_list(*, viewer: User) -> QuerySet[User]:
    """Credential managers (`Capability.CREDENTIALS`): every physician with profile and credentials
    (constant queries)."""
    if not scopes.sees_all(viewer, Capability.CREDENTIALS):
        return User.objects.none()
    return _with_credentials(User.objects.filter(role=Role.PHYSICIAN)).order_by("last_name", "first_name", "id")


def physician_get(*, viewer: User, physician_id: uuid.UUID) -> User:
    """Credential managers: any physician; a physician: only themselves; anyone else: not found."""
    qs = _with_credentials(User.objects.filter(role=Role.PHYSICIAN, public_id=physician_id))
    if not scopes.sees_all(viewer, Capability.CREDENTIALS):
        qs = qs.filter(pk=viewer.pk)
    physician = qs.first()
    if physician is None:
        raise NotFound()
    return physician


def physician_credentials(*, physician: User) -> User:
    """A physician's own profile and credentials."""
    return _with_credentials(User.objects.filter(pk=physician.pk)).get()


def _credential_get(model, *, viewer: User, physician_id: uuid.UUID, credential_id: uuid.UUID):
    if not scopes.sees_all(viewer, Capability.CREDENTIALS):
        raise NotFound()
    obj = (
        model.objects.select_related("physician")
        .filter(public_id=credential_id, physician__public_id=physician_id)
        .first()
    )
    if obj is None:
        raise NotFound()
    return obj


def licence_get(*, viewer: User, physician_id: uuid.UUID, licence_id: uuid.UUID) -> StateLicense:
    return _credential_get(StateLicense, viewer=viewer, physician_id=physician_id, credential_id=licence_id)


def dea_registration_get(*, viewer: User, physician_id: uuid.UUID, registration_id: uuid.UUID) -> DEARegistration:
    return _credential_get(DEARegistration, viewer=viewer, physician_id=physician_id, credential_id=registration_id)


def cds_registration_get(*, viewer: User, physician_id: uuid.UUID, registration_id: uuid.UUID) -> NJCDSRegistration:
    return _credential_get(NJCDSRegistration, viewer=viewer, physician_id=physician_id, credential_id=registration_id)
