"""Reads, scoped to the caller: availability, appointments, caseload, calendar feed."""

from __future__ import annotations

import json
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts import scopes
from accounts.models import Role, User
from accounts.scopes import Capability, Reach
from api.errors import NotFound
from api.prepared import PreparedRead, Rows
from scheduling import appointment_types, availability_cache, caseload_columns, contracts
from scheduling.errors import InvalidWindow, WindowTooLong
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    AppointmentTypeCode,
    AvailabilityException,
    ExceptionKind,
    FreeConsultationGrant,
    InPersonEvaluation,
    Modality,
    VisitLocation,
    WeeklyAvailability,
)
from scheduling.slots import DateException, Interval, Slot, WeeklyBlock, date_ranges_predicate, generate_slots


def appointment_type_list() -> list[AppointmentType]:
    """The kinds of visit a patient can book, in code order."""
    return list(AppointmentType.objects.filter(is_active=True).order_by("code"))


def appointment_type_get(*, code: str) -> AppointmentType:
    """The active type with this code, from the cache (scheduling/appointment_types.py: no query
    while the rows do not change), else a field error."""
    appointment_type = appointment_types.active_types().get(code)
    if appointment_type is None:
        raise ValidationError({"appointment_type": ValidationError("Unknown appointment type.", code="invalid_choice")})
    return appointment_type


def check_window(*, start: date, end: date) -> None:
    if end < start:
        raise InvalidWindow()
    if (end - start).days + 1 > settings.SCHEDULING_MAX_WINDOW_DAYS:
        raise WindowTooLong(f"Ask for at most {settings.SCHEDULING_MAX_WINDOW_DAYS} days at a time.")


def physicians_offering(*, physician_public_id=None) -> QuerySet[User]:
    qs = User.objects.filter(role=Role.PHYSICIAN, is_active=True).order_by("last_name", "first_name", "id")
    if physician_public_id is not None:
        qs = qs.filter(public_id=physician_public_id)
    return qs


def capped_physician_ids(*, physician_ids: list[int], infos: dict, now: datetime) -> set[int]:
    """Physicians not taking new patients: not accepting, or caseload + upcoming free
    consultations at or above their new-patient cap (two queries)."""
    capped = {pid for pid in physician_ids if not infos[pid].accepting_new_patients}
    with_cap = [pid for pid in physician_ids if pid not in capped and infos[pid].new_patient_cap is not None]
    if with_cap:
        assigned = contracts.assigned_counts(with_cap)
        upcoming = dict(
            Appointment.objects.filter(
                physician_id__in=with_cap,
                status=AppointmentStatus.BOOKED,
                appointment_type__code=AppointmentTypeCode.FREE_CONSULTATION,
                starts_at__gte=now,
            )
            .values("physician_id")
            .annotate(n=Count("pk"))
            .values_list("physician_id", "n")
        )
        for pid in with_cap:
            if assigned.get(pid, 0) + upcoming.get(pid, 0) >= infos[pid].new_patient_cap:
                capped.add(pid)
    return capped


def earliest_start(now: datetime) -> datetime:
    """The earliest bookable start: now + the minimum lead time, rounded up to the slot grid.

    Slots start on the grid of the physician's wall clock; the service area's zones are whole
    hours from UTC, so that grid is the UTC grid when the step divides an hour, and rounding up
    removes no slot. It makes every "now" within one grid step give the same answer (what lets
    availability be cached). For a step that does not divide an hour it rounds to the minute."""
    grid = settings.SCHEDULING_SLOT_GRID_MINUTES
    step = timedelta(minutes=grid if 60 % grid == 0 else 1)
    earliest = now + timedelta(minutes=settings.SCHEDULING_MIN_LEAD_MINUTES)
    floor = datetime.min.replace(tzinfo=UTC)
    remainder = (earliest - floor) % step
    return earliest + (step - remainder) if remainder else earliest


def slots_for_physicians(
    *,
    physician_ids: list[int],
    infos: dict,
    appointment_type: AppointmentType,
    state: str,
    viewer_tz: ZoneInfo,
    start: date,
    end: date,
    now: datetime,
    include_busy: bool = True,
    exclude_appointment_id: int | None = None,
    windows: dict[int, list] | None = None,
    location: VisitLocation | None = None,
) -> dict[int, list[Slot]]:
    """Free slots per physician for a patient in `state`, in a constant number of queries
    (weekly hours, exceptions, appointments, consult windows unless given).

    Without `location`: video slots, from the hours without a location, in each physician's
    zone. With one: in-person slots there, from the hours at that location, in its zone
    (docs/in-person-visits.md#hours). Time off applies to both; every booked visit, video or in
    person, holds the physician's time."""
    if not physician_ids:
        return {}
    if windows is None:
        windows = contracts.consult_windows(state=state, start=start, end=end, physician_ids=physician_ids)
    physician_ids = [pid for pid in physician_ids if windows.get(pid)]
    if not physician_ids:
        return {}
    weekly, exceptions = _hours_by_physician(physician_ids, location=location, start=start, end=end)
    busy: dict[int, list[Interval]] = {pid: [] for pid in physician_ids}
    if include_busy:
        busy = _busy_by_physician(physician_ids, start=start, end=end, exclude_appointment_id=exclude_appointment_id)
    not_before = earliest_start(now)
    result = {}
    memo: dict = {}
    for pid in physician_ids:
        result[pid] = generate_slots(
            tz=infos[pid].time_zone if location is None else contracts.zone(location.time_zone),
            weekly=weekly[pid],
            exceptions=exceptions[pid],
            start=start,
            end=end,
            duration=timedelta(minutes=appointment_type.duration_minutes),
            buffer=timedelta(minutes=appointment_type.buffer_minutes),
            grid_minutes=settings.SCHEDULING_SLOT_GRID_MINUTES,
            busy=busy[pid],
            not_before=not_before,
            allowed_dates=date_ranges_predicate(windows[pid]),
            viewer_tz=viewer_tz,
            memo=memo,
        )
    return result


class _WeeklyRow(NamedTuple):
    physician_id: int
    weekday: int
    start_time: time
    end_time: time


class _ExceptionRow(NamedTuple):
    physician_id: int
    date: date
    kind: str
    start_time: time | None
    end_time: time | None


def _place(location_id: int | None) -> Q:
    return Q(location__isnull=True) if location_id is None else Q(location_id=location_id)


def _weekly_of(*, physician_id: int, location_id: int | None) -> QuerySet:
    return WeeklyAvailability.objects.filter(_place(location_id), physician_id=physician_id)


def _exceptions_of(*, physician_id: int, location_id: int | None, first: date, last: date) -> QuerySet:
    return AvailabilityException.objects.filter(
        _place(location_id) | Q(kind=ExceptionKind.TIME_OFF),
        physician_id=physician_id,
        date__gte=first,
        date__lte=last,
    )


# One physician's hours, read in every booking's transaction: compiled once per place (the
# location is part of the statement's shape; locations are few).
_WEEKLY = PreparedRead(WeeklyAvailability, _WeeklyRow, _weekly_of, params=("physician_id",))
_EXCEPTIONS = PreparedRead(
    AvailabilityException,
    _ExceptionRow,
    _exceptions_of,
    params=("physician_id", "first", "last"),
    types={"first": date, "last": date},
)


def _hours_by_physician(
    physician_ids: list[int], *, location: VisitLocation | None, start: date, end: date
) -> tuple[dict[int, list[WeeklyBlock]], dict[int, list[DateException]]]:
    """Each physician's weekly hours at the place (video: the hours without a location) and their
    date exceptions around [start, end] (time off wherever it applies): two queries."""
    place = Q(location__isnull=True) if location is None else Q(location=location)
    first, last = start - timedelta(days=2), end + timedelta(days=2)
    location_id = None if location is None else location.pk
    weekly: dict[int, list[WeeklyBlock]] = {pid: [] for pid in physician_ids}
    exceptions: dict[int, list[DateException]] = {pid: [] for pid in physician_ids}
    if len(physician_ids) == 1:  # a booking's re-check: the statements compiled once
        (pid,) = physician_ids
        weekly_rows = list(_WEEKLY.rows(physician_id=pid, location_id=location_id))
        exception_rows = list(_EXCEPTIONS.rows(physician_id=pid, location_id=location_id, first=first, last=last))
    else:
        weekly_rows = WeeklyAvailability.objects.filter(place, physician_id__in=physician_ids).values_list(
            *_WeeklyRow._fields
        )
        exception_rows = AvailabilityException.objects.filter(
            place | Q(kind=ExceptionKind.TIME_OFF), physician_id__in=physician_ids, date__gte=first, date__lte=last
        ).values_list(*_ExceptionRow._fields)
    for pid, weekday, start_time, end_time in weekly_rows:
        weekly[pid].append(WeeklyBlock(weekday, start_time, end_time))
    for pid, day, kind, start_time, end_time in exception_rows:
        exceptions[pid].append(DateException(day, kind, start_time, end_time))
    return weekly, exceptions


def _busy_by_physician(
    physician_ids: list[int], *, start: date, end: date, exclude_appointment_id: int | None
) -> dict[int, list[Interval]]:
    """The time each physician's booked visits hold (with their buffers) around [start, end]: one query."""
    busy: dict[int, list[Interval]] = {pid: [] for pid in physician_ids}
    lo = datetime.combine(start - timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    hi = datetime.combine(end + timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    booked = Appointment.objects.filter(
        physician_id__in=physician_ids, status__in=ACTIVE_STATUSES, starts_at__lt=hi, ends_at__gt=lo
    )
    if exclude_appointment_id is not None:
        booked = booked.exclude(pk=exclude_appointment_id)
    for pid, starts_at, ends_at, buffer_minutes in booked.values_list(
        "physician_id", "starts_at", "ends_at", "buffer_minutes"
    ):
        busy[pid].append(Interval(starts_at, ends_at + timedelta(minutes=buffer_minutes)))
    return busy


@dataclass(frozen=True)
class OfferedPhysician:
    pk: int
    public_id: object  # UUID
    first_name: str
    last_name: str


@dataclass(frozen=True)
class SearchContext:
    """What a search in one state reads from the practice app: the active physicians in display
    order, their profiles, their licences there (whatever the dates)."""

    physicians: tuple[OfferedPhysician, ...]
    infos: dict
    spans: dict


def _build_search_context(state: str) -> SearchContext:
    physicians = tuple(
        OfferedPhysician(pk, public_id, first_name, last_name)
        for pk, public_id, first_name, last_name in physicians_offering().values_list(
            "id", "public_id", "first_name", "last_name"
        )
    )
    ids = [p.pk for p in physicians]
    infos = contracts.physician_infos(ids) if ids else {}
    spans = contracts.licence_spans(state=state) if ids else {}
    return SearchContext(physicians, infos, spans)


def availability_token_keys() -> list[str]:
    """The cache keys of the version tokens every availability search reads: the appointment
    types', the search context's and the physicians' generation. The view reads them in one
    round trip (api.cache.prefetched); a remembered answer needs no other (_answer_name)."""
    return [appointment_types.version_key(), contracts.search_context_key(), availability_cache.generation_key()]


def search_context(*, state: str) -> SearchContext:
    """The state's search context, cached under the practice app's version of it (bumped after
    every commit that changes a physician, a profile or a licence, the expiry job included), so
    a cached context is the live one (docs/availability.md#caching): three queries saved per
    search, one cache read instead."""
    version = contracts.search_context_version() if availability_cache.enabled() else None
    if version is None:
        return _build_search_context(state)
    key = availability_cache.entry_key("context", version, state)
    found = availability_cache.get_object(key)
    if found is None:
        found = _build_search_context(state)
        availability_cache.set_object(key, found)
    return found


def _offered(
    *, appointment_type: AppointmentType, patient: User | None, physician_public_id, now: datetime, state: str
):
    """(physicians in display order, their infos, the ids that may be offered, their licence spans).
    Physicians not taking new patients are left out of free consultations, except the patient's
    own physician (that count is read live: bookings change it)."""
    context = search_context(state=state)
    physicians = list(context.physicians)
    if physician_public_id is not None:
        physicians = [p for p in physicians if str(p.public_id) == str(physician_public_id)]
    ids = [p.pk for p in physicians]
    infos = context.infos
    if ids and appointment_type.code == AppointmentTypeCode.FREE_CONSULTATION:
        own = contracts.assigned_physician_id(patient) if patient is not None else None
        capped = capped_physician_ids(physician_ids=ids, infos=infos, now=now) - {own}
        ids = [pid for pid in ids if pid not in capped]
    return physicians, infos, ids, context.spans


def _iso_utc(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def slots_json(slots: list[Slot], viewer_tz: ZoneInfo, memo: dict | None = None) -> str:
    """The `slots` array of an availability entry, as JSON text. `memo` (shared by the entries of
    one search) holds each slot's text: physicians share the grid, so 40 physicians' 13,000 slots
    are ~1,000 distinct texts."""
    memo = {} if memo is None else memo
    texts = []
    for s in slots:
        key = (s.starts_at, s.ends_at)
        text = memo.get(key)
        if text is None:
            text = memo[key] = json.dumps(
                {
                    "starts_at": s.starts_at.astimezone(viewer_tz).isoformat(),
                    "ends_at": s.ends_at.astimezone(viewer_tz).isoformat(),
                    "starts_at_utc": _iso_utc(s.starts_at),
                    "ends_at_utc": _iso_utc(s.ends_at),
                },
                separators=(",", ":"),
            )
        texts.append(text)
    return "[" + ",".join(texts) + "]"


def visit_locations(
    *, state: str | None = None, public_id=None, include_inactive: bool = False
) -> QuerySet[VisitLocation]:
    """Active visit locations (offices and home-visit areas), optionally of one state. Public:
    an office's address is not PHI. `include_inactive`: staff's list."""
    rows = VisitLocation.objects.order_by("state", "name", "id")
    if not include_inactive:
        rows = rows.filter(is_active=True)
    if state:
        rows = rows.filter(state=state)
    if public_id is not None:
        rows = rows.filter(public_id=public_id)
    return rows


def in_person_places(
    *, physician_ids: list[int], locations: list[VisitLocation], start: date, end: date
) -> dict[int, list[VisitLocation]]:
    """The locations (of `locations`, in their order) at which each physician has in-person
    hours: weekly hours, or extra hours in the window (one query)."""
    if not physician_ids or not locations:
        return {}
    by_pk = {loc.pk: loc for loc in locations}
    weekly = (
        WeeklyAvailability.objects.filter(physician_id__in=physician_ids, location_id__in=list(by_pk))
        .order_by()
        .values_list("physician_id", "location_id")
    )
    extra = (
        AvailabilityException.objects.filter(
            physician_id__in=physician_ids,
            location_id__in=list(by_pk),
            kind=ExceptionKind.EXTRA_HOURS,
            date__gte=start - timedelta(days=1),
            date__lte=end + timedelta(days=1),
        )
        .order_by()
        .values_list("physician_id", "location_id")
    )
    pairs = set(weekly.union(extra))
    return {
        pid: [loc for loc in locations if (pid, loc.pk) in pairs]
        for pid in physician_ids
        if any((pid, loc.pk) in pairs for loc in locations)
    }


def location_data(location: VisitLocation) -> dict:
    """What an answer says about a visit location (the same keys as VisitLocationOutput)."""
    return {
        "id": str(location.public_id),
        "name": location.name,
        "kind": location.kind,
        "address": location.address_text,
        "address_line1": location.address_line1,
        "address_line2": location.address_line2,
        "city": location.city,
        "state": location.state,
        "zip_code": location.zip_code,
        "time_zone": location.time_zone,
        "instructions": location.instructions,
    }


class AvailabilityEntries(NamedTuple):
    texts: tuple[str, ...]  # JSON text of each entry, in display order (shared: never changed)
    version: str | None  # names this exact list (None when the cache is off)


def _days_json(slots: list[Slot], tz: ZoneInfo, memo: dict | None = None) -> str:
    """A physician's day summary for the strip, as JSON text: {local date: [slots, earliest start
    (UTC)]}, local dates in `tz` (the patient's zone; an in-person location's)."""
    days: dict[str, list] = {}
    for s in slots:  # sorted by start: the first of a date is its earliest
        day = s.starts_at.astimezone(tz).date().isoformat()
        found = days.get(day)
        if found is None:
            days[day] = [1, _iso_utc(s.starts_at)]
        else:
            found[0] += 1
    return json.dumps(days, separators=(",", ":"))


_RENDER = {"slots": slots_json, "days": _days_json}


class _Search(NamedTuple):
    """What one availability search asks: both answers (the day view's entries, the strip) take it."""

    render: str  # "slots": slots_json; "days": the strip's summary
    start: date
    end: date
    appointment_type: AppointmentType
    state: str
    viewer_tz: ZoneInfo
    patient: User | None
    physician_public_id: object
    location_public_id: object
    now: datetime | None


def _answer(ask: _Search, assemble):
    """`assemble(pairs, infos, complete)` of the search's pairs, remembered in this process under
    the search's answer name (_answer_name) when it has one: a repeated search (the same day
    asked by many patients of a state) then costs its version tokens and the live cap check, not
    a cache key, a lookup and a JSON text per physician (docs/availability.md#caching)."""
    check_window(start=ask.start, end=ask.end)
    now = ask.now or timezone.now()
    offered = _offered(
        appointment_type=ask.appointment_type,
        patient=ask.patient,
        physician_public_id=ask.physician_public_id,
        now=now,
        state=ask.state,
    )
    name = _answer_name(ask, offered[2], now)
    if name is not None and (found := availability_cache.get_answer(name)) is not None:
        return found
    answer = assemble(*_search_pairs(ask, offered, now))
    if name is not None:
        availability_cache.set_answer(name, answer)
    return answer


def _answer_name(ask: _Search, ids: list[int], now: datetime) -> str | None:
    """The name of a search's answer: every input of every entry in it (scheduling.
    availability_cache), so equal names mean equal answers. The search context's version names
    the physicians, their order, names, zones and licence windows; `ids` are the physicians
    offered after the live cap check; the physicians' generation names all their visits, hours
    and exceptions (it is replaced with any physician's token, atomically). It is read before
    the tokens an answer is computed from, so an answer is never kept under a newer name than
    its tokens. None when the answer is not remembered: the cache is off, the context is not
    versioned, or the type is in person (its places are read live)."""
    if not availability_cache.enabled() or ask.appointment_type.in_person:
        return None
    context_version = contracts.search_context_version()
    if context_version is None:
        return None
    kind = ask.appointment_type
    return availability_cache.entry_key(
        "answer",
        ask.render,
        context_version,
        availability_cache.generation(),
        ask.state,
        kind.code,
        kind.duration_minutes,
        kind.buffer_minutes,
        ask.viewer_tz.key,
        ask.start,
        ask.end,
        settings.SCHEDULING_SLOT_GRID_MINUTES,
        earliest_start(now),
        tuple(ids),
    )


def _search_pairs(ask: _Search, offered: tuple, now: datetime):
    """The search behind both answers: [(physician, location or None, entry text, cache key)] in
    display order, for every (physician, place) offered, the entry rendered by `ask.render` and
    cached per physician (scheduling.availability_cache explains why that is exact); the
    physicians' infos; and whether every entry had a key."""
    physicians, infos, ids, spans = offered
    windows = {pid: contracts.windows_within(spans.get(pid, []), start=ask.start, end=ask.end) for pid in ids}
    ids = [pid for pid in ids if windows.get(pid)]
    places = _places(
        ids,
        appointment_type=ask.appointment_type,
        state=ask.state,
        location_public_id=ask.location_public_id,
        start=ask.start,
        end=ask.end,
    )
    pairs = [(pid, loc) for pid in ids for loc in places.get(pid, [])]
    search = _PairSearch(
        render=ask.render,
        appointment_type=ask.appointment_type,
        state=ask.state,
        viewer_tz=ask.viewer_tz,
        start=ask.start,
        end=ask.end,
        now=now,
        infos=infos,
        windows=windows,
    )
    keys, texts = _entry_texts(pairs, search)
    found_pairs = [
        (p, loc, texts.get(_pair_id(p.pk, loc)), keys.get(_pair_id(p.pk, loc)))
        for p in physicians
        for loc in places.get(p.pk, [])
    ]
    return found_pairs, infos, bool(keys) and len(keys) == len(pairs)


def _entry_texts(pairs: list[tuple[int, VisitLocation | None]], search: _PairSearch) -> tuple[dict, dict]:
    """({pair id: cache key}, {pair id: entry text}): the cached entries, the others computed
    (once across concurrent identical searches: availability_cache.computed_once) and stored."""
    keys = _entry_keys(pairs, search) if pairs and availability_cache.enabled() else {}
    found = availability_cache.get_entries(list(keys.values()))
    texts = {pid_loc: found[key] for pid_loc, key in keys.items() if key in found}
    missing = [(pid, loc) for pid, loc in pairs if _pair_id(pid, loc) not in texts]
    if not keys:
        texts.update(_render_missing(missing, search))
        return keys, texts
    pair_of = {keys[_pair_id(pid, loc)]: (pid, loc) for pid, loc in missing}
    computed = availability_cache.computed_once(
        list(pair_of),
        lambda wanted: {keys[k]: text for k, text in _render_missing([pair_of[key] for key in wanted], search).items()},
    )
    texts.update({_pair_id(*pair_of[key]): text for key, text in computed.items()})
    return keys, texts


def _pair_id(pid: int, loc: VisitLocation | None) -> tuple[int, int | None]:
    return (pid, loc.pk if loc is not None else None)


def _pair_tz(loc: VisitLocation | None, viewer_tz: ZoneInfo) -> ZoneInfo:
    return viewer_tz if loc is None else contracts.zone(loc.time_zone)


def _places(
    ids: list[int], *, appointment_type: AppointmentType, state: str, location_public_id, start: date, end: date
) -> dict[int, list[VisitLocation | None]]:
    """Where each physician is offered, in display order: video (None), or the locations in the
    state (or the one asked for) where they keep hours in the window."""
    if not appointment_type.in_person:
        return {pid: [None] for pid in ids}
    locations = list(visit_locations(state=state, public_id=location_public_id)) if ids else []
    return dict(in_person_places(physician_ids=ids, locations=locations, start=start, end=end))


@dataclass(frozen=True)
class _PairSearch:
    """What every (physician, place) entry of one search shares."""

    render: str
    appointment_type: AppointmentType
    state: str
    viewer_tz: ZoneInfo
    start: date
    end: date
    now: datetime
    infos: dict
    windows: dict


def _entry_keys(pairs: list[tuple[int, VisitLocation | None]], search: _PairSearch) -> dict[tuple, str]:
    """The cache key of each (physician, place) entry: everything its text depends on."""
    keys: dict[tuple, str] = {}
    earliest = earliest_start(search.now)
    tokens = availability_cache.versions({pid for pid, _ in pairs})
    for pid, loc in pairs:
        keys[_pair_id(pid, loc)] = availability_cache.entry_key(
            pid,
            tokens[pid],
            search.appointment_type.duration_minutes,
            search.appointment_type.buffer_minutes,
            search.infos[pid].time_zone.key,
            _pair_tz(loc, search.viewer_tz).key,
            search.start,
            search.end,
            tuple(search.windows[pid]),
            settings.SCHEDULING_SLOT_GRID_MINUTES,
            earliest,
            # The place: video hours, or the hours at this location (its zone is above).
            None if loc is None else loc.pk,
            search.render,
        )
    return keys


def _render_missing(missing_pairs: list[tuple[int, VisitLocation | None]], search: _PairSearch) -> dict[tuple, str]:
    """The entries the cache did not have, computed one place at a time (one slot search each)."""
    missing_by_place: dict[int | None, tuple[VisitLocation | None, list[int]]] = {}
    for pid, loc in missing_pairs:
        missing_by_place.setdefault(loc.pk if loc else None, (loc, []))[1].append(pid)
    computed: dict[tuple, str] = {}
    for loc, missing in missing_by_place.values():
        tz = _pair_tz(loc, search.viewer_tz)
        slots = slots_for_physicians(
            physician_ids=missing,
            infos=search.infos,
            appointment_type=search.appointment_type,
            state=search.state,
            viewer_tz=tz,
            start=search.start,
            end=search.end,
            now=search.now,
            windows=search.windows,
            location=loc,
        )
        texts_memo: dict = {}
        for pid in missing:
            computed[_pair_id(pid, loc)] = _RENDER[search.render](slots.get(pid, []), tz, texts_memo)
    return computed


def availability_entries(
    *,
    start: date,
    end: date,
    appointment_type: AppointmentType,
    state: str,
    viewer_tz: ZoneInfo,
    patient: User | None = None,
    physician_public_id=None,
    location_public_id=None,
    now: datetime | None = None,
) -> AvailabilityEntries:
    """The availability answer's `results`, as the JSON text of each entry (physician, their
    zone, their slots in the patient's zone), for the physicians with at least one slot, in
    display order, from slots_for_physicians; each physician's slots are cached
    (scheduling.availability_cache explains why that is exact). A constant number of queries
    whatever the number of physicians; none for slots found in the cache. One day
    (start == end) is the day view (docs/availability.md#day).

    In-person types (docs/in-person-visits.md#search): one entry per physician and location, only
    at active locations in the patient's state (`location_public_id` narrows to one), from the
    hours at that location, with the slots in the location's zone and the location named."""
    return _answer(
        _Search(
            "slots",
            start,
            end,
            appointment_type,
            state,
            viewer_tz,
            patient,
            physician_public_id,
            location_public_id,
            now,
        ),
        _entries_of,
    )


def _entries_of(pairs: list, infos: dict, cached: bool) -> AvailabilityEntries:
    entries, parts = [], []
    for p, loc, text, key in pairs:
        if not text or text == "[]":
            continue
        person = json.dumps(
            {"id": str(p.public_id), "first_name": p.first_name, "last_name": p.last_name}, separators=(",", ":")
        )
        zone_name = json.dumps(infos[p.pk].time_zone.key)
        if loc is None:
            entries.append(f'{{"physician":{person},"physician_time_zone":{zone_name},"slots":{text}}}')
            parts.append((key, person, zone_name))
        else:
            place = json.dumps(location_data(loc), separators=(",", ":"))
            entries.append(
                f'{{"physician":{person},"physician_time_zone":{zone_name},"location":{place},"slots":{text}}}'
            )
            parts.append((key, person, zone_name, place))
    return AvailabilityEntries(tuple(entries), availability_cache.entry_key("answer", *parts) if cached else None)


@dataclass(frozen=True)
class AvailabilityDay:
    date: date
    physicians: int  # physicians with at least one free slot that day
    slots: int
    earliest_start: datetime | None  # UTC

    @property
    def available(self) -> bool:
        return self.physicians > 0


def availability_days(
    *,
    start: date,
    end: date,
    appointment_type: AppointmentType,
    state: str,
    viewer_tz: ZoneInfo,
    patient: User | None = None,
    physician_public_id=None,
    location_public_id=None,
    now: datetime | None = None,
) -> list[AvailabilityDay]:
    """The day strip: for every local date in [start, end] (the patient's zone; an in-person
    location's zone for its slots), how many physicians have a free slot and the earliest one.
    The same search as availability_entries, each physician's summary cached alike; it agrees
    with the day view by construction (docs/availability.md#strip)."""
    days = _answer(
        _Search(
            "days",
            start,
            end,
            appointment_type,
            state,
            viewer_tz,
            patient,
            physician_public_id,
            location_public_id,
            now,
        ),
        lambda pairs, _infos, complete: _strip(pairs, complete, start=start, end=end),
    )
    return list(days)


def _strip(pairs: list, complete: bool, *, start: date, end: date) -> tuple[AvailabilityDay, ...]:
    """The strip of a search's pairs. In person (whose answer has no name: _answer_name) it is
    kept in this process under the keys of the entries it summarises (which name every
    physician's version): the same entries make the same strip, without parsing ~50-200 of them."""
    answer_key = availability_cache.entry_key("strip", *(key for *_, key in pairs)) if complete else None
    if answer_key is not None and (found := availability_cache.strips.get(answer_key)) is not None:
        return found
    days = tuple(_strip_of(pairs, start=start, end=end))
    if answer_key is not None:
        availability_cache.strips.set(answer_key, days)
    return days


def _strip_of(pairs: list, *, start: date, end: date) -> list[AvailabilityDay]:
    who: dict[str, set[int]] = {}
    counts: dict[str, int] = {}
    earliest: dict[str, str] = {}
    for p, _loc, text, _key in pairs:
        for day, (n, first) in json.loads(text or "{}").items():
            who.setdefault(day, set()).add(p.pk)
            counts[day] = counts.get(day, 0) + n
            if day not in earliest or first < earliest[day]:  # same-format UTC texts sort by time
                earliest[day] = first
    days = []
    day = start
    while day <= end:
        key = day.isoformat()
        first = earliest.get(key)
        days.append(
            AvailabilityDay(
                date=day,
                physicians=len(who.get(key, ())),
                slots=counts.get(key, 0),
                earliest_start=datetime.fromisoformat(first.replace("Z", "+00:00")) if first else None,
            )
        )
        day += timedelta(days=1)
    return days


# --- appointments ------------------------------------------------------------------------


def appointment_list(*, viewer: User) -> QuerySet[Appointment]:
    """Patient: own; physician: own visits; care coordinators and the medical director: all;
    anyone else (a pharmacy liaison, an administrator): none."""
    return _appointment_rows(reach=scopes.reach(viewer, Capability.SCHEDULING), viewer_id=viewer.pk).select_related(
        "appointment_type", "patient", "physician", "location"
    )


class AppointmentRow(NamedTuple):
    """A visit as the appointment list shows it (scheduling.serializers.appointment_list_data)."""

    id: int
    public_id: UUID
    patient_id: int
    patient__public_id: UUID
    patient__first_name: str
    patient__last_name: str
    physician__public_id: UUID
    physician__first_name: str
    physician__last_name: str
    appointment_type__code: str
    starts_at: datetime
    ends_at: datetime
    status: str
    modality: str
    patient_state: str
    patient_state_at_visit: str
    started_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    reschedule_count: int
    video_status: str
    location_id: int | None
    location__public_id: UUID | None
    location__name: str | None
    location__kind: str | None
    location__address_line1: str | None
    location__address_line2: str | None
    location__city: str | None
    location__state: str | None
    location__zip_code: str | None
    location__time_zone: str | None
    location__instructions: str | None
    created_at: datetime

    @property
    def pk(self) -> int:  # audit_log's object id
        return self.id


def _appointment_rows(*, reach: Reach, viewer_id: int) -> QuerySet[Appointment]:
    """The visits a viewer of this reach sees, newest first: the one scoping rule of
    appointment_list and of its prepared rows."""
    qs = Appointment.objects.order_by("-starts_at", "-id")
    if reach is Reach.ALL:
        return qs
    if reach is Reach.CARE:
        return qs.filter(physician_id=viewer_id)
    if reach is Reach.SELF:
        return qs.filter(patient_id=viewer_id)
    return qs.none()


APPOINTMENT_ROWS = PreparedRead(Appointment, AppointmentRow, _appointment_rows, params=("viewer_id",))


def appointment_list_rows(*, viewer: User) -> Rows:
    """appointment_list's visits as AppointmentRow tuples, its SQL compiled once (api/prepared.py):
    the list endpoint's page (a patient's first screen)."""
    return APPOINTMENT_ROWS.rows(reach=scopes.reach(viewer, Capability.SCHEDULING), viewer_id=viewer.pk)


def appointment_get(*, viewer: User, public_id) -> Appointment:
    appointment = appointment_list(viewer=viewer).filter(public_id=public_id).first()
    if appointment is None:
        raise NotFound()
    return appointment


def visit_note_get(*, viewer: User, public_id) -> Appointment:
    """A visit whose note the caller may read: clinical content, so its physician or the medical
    director; a care coordinator sees the visit but not its note (docs/roles-and-access.md)."""
    if not scopes.sees_clinical(viewer):
        raise NotFound()
    return appointment_get(viewer=viewer, public_id=public_id)


def latest_completed_evaluation(*, patient: User, physician: User, since: datetime) -> Appointment | None:
    """The latest completed audio-video visit of this patient with this physician since `since`
    (the prescriptions app's evaluation check, docs/prescribing.md#checks)."""
    return (
        Appointment.objects.filter(
            patient=patient,
            physician=physician,
            status=AppointmentStatus.COMPLETED,
            modality="audio_video",
            completed_at__gte=since,
        )
        .order_by("-completed_at", "-id")
        .first()
    )


def completed_evaluation_column(*, patient_ref: str, physician: User, since: datetime):
    """Contract: whether latest_completed_evaluation would find a visit, as an expression for a
    queryset of patients (`patient_ref` names the patient id in it): the prescribing gates read it
    with the patient's other facts in one query."""
    return Exists(
        Appointment.objects.filter(
            patient_id=OuterRef(patient_ref),
            physician=physician,
            status=AppointmentStatus.COMPLETED,
            modality="audio_video",
            completed_at__gte=since,
        )
    )


def physician_calendar(*, physician: User, now: datetime | None = None) -> QuerySet[Appointment]:
    """The physician's booked and in-progress visits from 30 days back (for the .ics feed)."""
    now = now or timezone.now()
    return (
        Appointment.objects.filter(
            physician=physician,
            status__in=[AppointmentStatus.BOOKED, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED],
            starts_at__gte=now - timedelta(days=30),
        )
        .select_related("location")
        .order_by("starts_at")
    )


def appointments_for_day(*, physician_ids: list[int], lo: datetime, hi: datetime) -> QuerySet[Appointment]:
    return Appointment.objects.filter(
        physician_id__in=physician_ids, status=AppointmentStatus.BOOKED, starts_at__gte=lo, starts_at__lt=hi
    ).order_by("starts_at")


# --- caseload ----------------------------------------------------------------------------


@dataclass
class CaseloadRow:
    patient: User
    next_appointment_at: datetime | None
    next_appointment_id: object | None
    last_visit_at: datetime | None
    scores: dict
    open_flags: int
    subscription: object | None
    prescription_status: str | None
    columns: dict = field(default_factory=dict)  # the upper apps' columns (scheduling/caseload_columns.py)
    # True when `columns` already hold their fields' representations (a stored row: docs/caseload.md)
    columns_represented: bool = False


def caseload_queryset(*, physician: User, now: datetime | None = None):
    """The physician's patients (PatientProfile.assigned_physician) with, in the same query, their
    next booked and last completed visit and the other apps' enrichment (contracts.caseload_columns:
    latest scores, open flags, prescription status). Only the columns the caseload shows are read
    (the profile's phone numbers, parsed on load, are not)."""
    now = now or timezone.now()
    upcoming = Appointment.objects.filter(
        patient_id=OuterRef("user_id"), physician=physician, status=AppointmentStatus.BOOKED, starts_at__gte=now
    ).order_by("starts_at")
    last = Appointment.objects.filter(
        patient_id=OuterRef("user_id"), physician=physician, status=AppointmentStatus.COMPLETED
    ).order_by("-completed_at")
    return (
        contracts.caseload_profiles(physician)
        .select_related("user")
        .only("user", "time_zone", "user__public_id", "user__first_name", "user__last_name", "user__role")
        .annotate(
            next_appointment_at=Subquery(upcoming.values("starts_at")[:1]),
            next_appointment_id=Subquery(upcoming.values("public_id")[:1]),
            last_visit_at=Subquery(last.values("completed_at")[:1]),
            **contracts.caseload_columns(patient_ref="user_id"),
        )
        .order_by("user__last_name", "user__first_name", "user_id")
    )


def caseload_rows(*, profiles: list, now: datetime | None = None) -> list[CaseloadRow]:
    """One page of caseload_queryset as rows; billing's standing is the one contract read apart
    (its rule is Python over the subscriptions: one query for the page), and the apps above
    scheduling add their columns through caseload_columns (each a fixed number of queries for
    the page: sessions and supply, headache days against the baseline)."""
    ids = [p.user_id for p in profiles]
    standing = contracts.good_standing_by_patient(patient_ids=ids) if ids else {}
    extra = caseload_columns.load(patient_ids=ids, now=now or timezone.now())
    rows = []
    for p in profiles:
        scores = {}
        for instrument in contracts.CASELOAD_INSTRUMENTS:
            score = contracts.score_from_row(p, instrument)
            if score is not None:
                scores[instrument] = score
        rows.append(
            CaseloadRow(
                patient=p.user,
                next_appointment_at=p.next_appointment_at,
                next_appointment_id=p.next_appointment_id,
                last_visit_at=p.last_visit_at,
                scores=scores,
                open_flags=p.open_flags,
                subscription=standing.get(p.user_id),
                prescription_status=getattr(p, "prescription_status", None),
                columns=extra.get(p.user_id, {}),
            )
        )
    return rows


def own_availability(*, physician: User) -> tuple[QuerySet[WeeklyAvailability], QuerySet[AvailabilityException]]:
    return (
        WeeklyAvailability.objects.filter(physician=physician).select_related("location"),
        AvailabilityException.objects.filter(
            physician=physician, date__gte=timezone.now().date() - timedelta(days=1)
        ).select_related("location"),
    )


class BookingGates(NamedTuple):
    """What a booking judges after its locks, read in one statement (`booking_gates`)."""

    free_consultations_used: int
    free_consultations_allowed: int
    future_active: int
    licensed: bool  # the consult licence rule says yes (a no: its reasons are read on their own)
    standing: dict | None  # the current subscription's judged fields (contracts.standing_columns)


def _count_of(qs) -> Coalesce:
    return Coalesce(Subquery(qs.order_by().values("patient_id").annotate(n=Count("pk")).values("n")[:1]), 0)


_GATE_COUNTS = ("used", "grants", "future", "licensed")
_STANDING_FIELDS = tuple(contracts.standing_columns(patient_ref="pk"))


class _GatesRow(NamedTuple):
    used: int
    grants: int
    future: int
    licensed: bool


_GatesStandingRow = namedtuple(  # type: ignore[misc]  # noqa: PYI024 (fields named by the billing contract)
    "_GatesStandingRow", [*_GATE_COUNTS, *_STANDING_FIELDS]
)


def _booking_gates_of(*, patient_id: int, now: datetime, physician_id: int, on: date, state: str, standing: bool):
    gates = User.objects.filter(pk=patient_id).annotate(
        used=_count_of(
            Appointment.objects.filter(
                patient_id=OuterRef("pk"), appointment_type__code=AppointmentTypeCode.FREE_CONSULTATION
            ).exclude(status=AppointmentStatus.CANCELLED)
        ),
        grants=_count_of(FreeConsultationGrant.objects.filter(patient_id=OuterRef("pk"))),
        future=_count_of(
            Appointment.objects.filter(
                patient_id=OuterRef("pk"),
                status__in=[AppointmentStatus.BOOKED, AppointmentStatus.IN_PROGRESS],
                starts_at__gte=now,
            )
        ),
        licensed=contracts.consult_licence_exists(physician_id=physician_id, state=state, on=on),
    )
    return gates.annotate(**contracts.standing_columns(patient_ref="pk")) if standing else gates


# Read inside every booking's transaction: its subqueries compiled once per state (api/prepared.py).
_GATE_PARAMS = ("patient_id", "now", "physician_id", "on")
_GATE_TYPES = {"now": datetime, "on": date}
BOOKING_GATES = PreparedRead(User, _GatesRow, _booking_gates_of, params=_GATE_PARAMS, types=_GATE_TYPES)
BOOKING_GATES_STANDING = PreparedRead(
    User, _GatesStandingRow, _booking_gates_of, params=_GATE_PARAMS, types=_GATE_TYPES
)


def booking_gates(
    *, patient: User, physician_id: int, state: str, on: date, now: datetime, standing: bool
) -> BookingGates:
    """In one query, after the booking's locks: the patient's limits (free consultations used,
    every one not cancelled counting, a no-show too, and allowed, one plus any staff grants; the
    visits booked or in progress from `now` on), whether the physician's licence lets them
    consult in `state` on `on`, and with `standing` what good standing judges."""
    read = BOOKING_GATES_STANDING if standing else BOOKING_GATES
    row = read.first(patient_id=patient.pk, now=now, physician_id=physician_id, on=on, state=state, standing=standing)
    if row is None:  # no such user: nothing booked, nothing held
        return BookingGates(0, 1, 0, False, {} if standing else None)
    judged = None
    if standing:
        judged = {name[len(contracts.STANDING_PREFIX) :]: getattr(row, name) for name in _STANDING_FIELDS}
    return BookingGates(row.used, 1 + row.grants, row.future, bool(row.licensed), judged)


# --- Evidence for the prescribing basis (read by prescriptions; docs/prescribing-basis.md) ------
def in_person_evaluations(*, patient: User, physician: User | None = None) -> QuerySet[InPersonEvaluation]:
    """The patient's in-person evaluations that stand (not voided), newest first."""
    rows = InPersonEvaluation.objects.filter(patient=patient, voided_at__isnull=True)
    if physician is not None:
        rows = rows.filter(physician=physician)
    return rows.select_related("physician", "location").order_by("-evaluated_on", "-id")


def latest_in_person_evaluation(
    *, patient: User, physician: User, on: date, since: date | None = None
) -> InPersonEvaluation | None:
    """The latest standing in-person evaluation by this physician on or before `on` (and on or
    after `since` when given)."""
    rows = in_person_evaluations(patient=patient, physician=physician).filter(evaluated_on__lte=on)
    if since is not None:
        rows = rows.filter(evaluated_on__gte=since)
    return rows.first()


def in_person_evaluations_for(*, patient_ids, physician_ids) -> QuerySet[InPersonEvaluation]:
    """Standing in-person evaluations of these patients by these physicians, newest first."""
    return InPersonEvaluation.objects.filter(
        patient_id__in=patient_ids, physician_id__in=physician_ids, voided_at__isnull=True
    ).order_by("-evaluated_on", "-id")


def practitioner_present_visits_for(*, patient_ids, physician_ids) -> QuerySet[Appointment]:
    """Completed video visits of these patients with these physicians at which a DEA-registered
    practitioner was with the patient (21 U.S.C. 802(54)(B)), newest first."""
    return (
        Appointment.objects.filter(
            patient_id__in=patient_ids,
            physician_id__in=physician_ids,
            status=AppointmentStatus.COMPLETED,
            modality=Modality.AUDIO_VIDEO,
            practitioner_presence__isnull=False,
        )
        .select_related("practitioner_presence")
        .order_by("-completed_at", "-id")
    )


def upcoming_in_person_visits_for(*, pairs, now: datetime) -> dict[tuple[int, int], datetime]:
    """The next booked in-person evaluation of each (patient id, physician id) pair, if any."""
    pairs = set(pairs)
    if not pairs:
        return {}
    rows = Appointment.objects.filter(
        patient_id__in={p for p, _ in pairs},
        physician_id__in={d for _, d in pairs},
        appointment_type__code=AppointmentTypeCode.IN_PERSON_EVALUATION,
        status__in=[AppointmentStatus.BOOKED, AppointmentStatus.IN_PROGRESS],
        starts_at__gte=now - timedelta(hours=12),
    ).order_by("starts_at")
    result: dict[tuple[int, int], datetime] = {}
    for patient_id, physician_id, starts_at in rows.values_list("patient_id", "physician_id", "starts_at"):
        if (patient_id, physician_id) in pairs:
            result.setdefault((patient_id, physician_id), starts_at)
    return result


def caseload_patient_get(*, viewer: User, patient_public_id) -> User:
    """A patient on this physician's caseload, else NotFound (never say which)."""
    patient = contracts.caseload_patient(physician=viewer, patient_public_id=patient_public_id)
    if patient is None:
        raise NotFound()
    return patient


def in_person_evaluation_history(*, patient: User) -> QuerySet[InPersonEvaluation]:
    """Every in-person evaluation of the patient, voided ones included (the chart keeps them)."""
    return (
        InPersonEvaluation.objects.filter(patient=patient)
        .select_related("patient", "physician", "appointment", "location")
        .order_by("-evaluated_on", "-id")
    )


# --- Contracts for the treatment app (docs/treatment.md#supply) -----------------------------------
_CARE_VISITS = (AppointmentTypeCode.FOLLOW_UP, AppointmentTypeCode.MEDICATION_REVIEW)


def latest_completed_care_visit(*, patient: User, since: datetime) -> Appointment | None:
    """The latest completed follow-up or medication review of this patient (any physician) since
    `since`: the clinician check-in that a long gap without sessions needs before the next fill."""
    return (
        Appointment.objects.filter(
            patient=patient,
            status=AppointmentStatus.COMPLETED,
            appointment_type__code__in=_CARE_VISITS,
            completed_at__gte=since,
        )
        .order_by("-completed_at", "-id")
        .first()
    )


def missed_follow_up(*, patient: User) -> Appointment | None:
    """The patient's latest follow-up or medication review, when it was a no-show and no such
    visit was completed after it (a missed follow-up pauses new fills); else None."""
    latest = (
        Appointment.objects.filter(
            patient=patient,
            appointment_type__code__in=_CARE_VISITS,
            status__in=[AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW],
        )
        .order_by("-starts_at", "-id")
        .first()
    )
    return latest if latest is not None and latest.status == AppointmentStatus.NO_SHOW else None
