"""The physician's caseload as a read model: one `CaseloadEntry` per patient on a caseload
(docs/caseload.md).

The live computation stays the one definition of every column (`selectors.caseload_queryset` and
`caseload_rows`, the contracts and the upper apps' providers); this module stores its answer
and says when a stored answer may no longer be shown:

- a write to an input bumps the row's `version` (`caseload_touch`): the inputs' own saves and
  deletes through the signals `connect_inputs` wires (the models below, and the ones each
  provider of scheduling/caseload_columns.py names), and the few services that write an input
  with `QuerySet.update()` call `caseload_touch` themselves (docs/caseload.md#invalidation);
- a row is computed for an instant and kept only until `valid_until`: the next local midnight
  (practice zone, patient's zone), the next visit starting, and what the providers declare
  (a session leaving the 28-day window, a check-in becoming overdue) (docs/caseload.md#time);
- a patient moving to another physician: the row names the physician it was computed for.

The caseload endpoint reads a page of rows in one query and recomputes the page's rows that may
not be shown, in one batch (read-through); `caseload_rebuild` computes everything again.
"""

from __future__ import annotations

import logging
from collections import namedtuple
from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta
from typing import NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import Count
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from accounts.models import User
from api.clock import practice_zone
from api.pagination import PagedRows
from api.prepared import PreparedRead
from scheduling import caseload_columns, contracts, selectors
from scheduling.contracts import resync_names
from scheduling.models import CaseloadEntry

logger = logging.getLogger(__name__)

# The inputs of the columns scheduling computes itself (visits, scores, flags, standing,
# prescription status; the profile holds the assignment and the patient's zone). The upper apps'
# providers name theirs (scheduling/caseload_columns.py).
OWN_INPUTS: tuple[tuple[str, str], ...] = (
    ("scheduling.Appointment", "patient_id"),
    ("patients.PatientProfile", "user_id"),
    ("patients.SafetyFlag", "patient_id"),
    ("patients.QuestionnaireResponse", "patient_id"),
    ("billing.Subscription", "patient_id"),
    ("prescriptions.Prescription", "patient_id"),
)

_UPDATED = [
    f.name
    for f in CaseloadEntry._meta.concrete_fields
    if f.name not in ("patient", "version")  # the version is only ever bumped by caseload_touch
]


class _Standing(NamedTuple):
    ok: bool
    status: str


# --- invalidation ---------------------------------------------------------------------------


def caseload_touch(*, patient_ids: Iterable[int | None]) -> None:
    """Record that a write changed something the patients' caseload rows show: bump each row's
    version, creating the row (untrusted) when there is none yet, so that a row being computed
    at this moment cannot be trusted either. Call it in the writer's transaction
    (docs/caseload.md#invalidation). One statement."""
    ids = sorted({pid for pid in patient_ids if pid is not None})
    if not ids:
        return
    table = connection.ops.quote_name(CaseloadEntry._meta.db_table)
    values = ", ".join(["(%s, 1, -1, 0, '{}')"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (patient_id, version, computed_version, open_flags, columns) VALUES {values} "  # noqa: S608
            f"ON CONFLICT (patient_id) DO UPDATE SET version = {table}.version + 1",
            ids,
        )


def _patient_id_of(instance, path: str) -> int | None:
    value = instance
    try:
        for part in path.split("."):
            value = getattr(value, part)
    except ObjectDoesNotExist:
        return None
    return value


def _receiver(path: str) -> Callable:
    def changed(sender, instance, **kwargs) -> None:
        if kwargs.get("raw"):  # fixtures loading
            return
        caseload_touch(patient_ids=[_patient_id_of(instance, path)])

    return changed


def connect_inputs() -> list[str]:
    """Wire post_save/post_delete of every input model to caseload_touch (AppConfig.ready).
    A model of an app that is not installed is skipped. Returns the labels wired."""
    wired = []
    for label, path in list(OWN_INPUTS) + caseload_columns.inputs():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        receiver = _receiver(path)
        uid = f"caseload-{label}-{path}"
        post_save.connect(receiver, sender=model, dispatch_uid=f"{uid}-saved", weak=False)
        post_delete.connect(receiver, sender=model, dispatch_uid=f"{uid}-deleted", weak=False)
        wired.append(label)
    return wired


# --- freshness --------------------------------------------------------------------------------


def _next_midnight(now: datetime, zone: ZoneInfo) -> datetime:
    local_date = now.astimezone(zone).date()
    return datetime.combine(local_date + timedelta(days=1), time.min, tzinfo=zone)


def is_fresh(entry: CaseloadEntry | None, *, physician_id: int, now: datetime) -> bool:
    """May this stored row be shown to this physician at `now`?"""
    return (
        entry is not None
        and entry.computed_version == entry.version
        and entry.valid_until is not None
        and entry.physician_id == physician_id
        and entry.valid_until > now
    )


# --- computing rows ---------------------------------------------------------------------------


def _entry(row: selectors.CaseloadRow, *, physician_id: int, zone: ZoneInfo, now: datetime, until: datetime | None):
    """The CaseloadEntry holding a live row (versions filled in by the caller)."""
    candidates = [_next_midnight(now, practice_zone()), _next_midnight(now, zone)]
    if row.next_appointment_at is not None:
        candidates.append(row.next_appointment_at)  # it stops being the next visit once it starts
    if until is not None:
        candidates.append(until)
    standing = row.subscription
    entry = CaseloadEntry(
        patient_id=row.patient.pk,
        physician_id=physician_id,
        computed_at=now,
        valid_until=min(candidates),
        next_appointment_at=row.next_appointment_at,
        next_appointment_id=row.next_appointment_id,
        last_visit_at=row.last_visit_at,
        open_flags=row.open_flags,
        subscription_ok=bool(standing.ok) if standing is not None else None,
        subscription_status=standing.status if standing is not None else None,
        prescription_status=row.prescription_status,
        columns={
            name: (None if (value := row.columns.get(name)) is None else field.to_representation(value))
            for name, field in _extra_fields().items()
        },
    )
    for instrument in contracts.CASELOAD_INSTRUMENTS:
        score = row.scores.get(instrument)
        for name in ("total", "band", "taken_at"):
            setattr(entry, f"{instrument}_{name}", getattr(score, name) if score is not None else None)
    return entry


_FIELDS: dict = {}


def _extra_fields() -> dict:
    """The upper apps' DRF fields (read once; the serializer reads them once as well)."""
    if not _FIELDS:
        _FIELDS.update(caseload_columns.fields())
    return _FIELDS


def _compute(*, physician: User, patient_ids: list[int], now: datetime) -> dict[int, tuple]:
    """{patient id: (live CaseloadRow, CaseloadEntry without versions)} for those of the
    patients still on the physician's caseload; a fixed number of queries for any number."""
    if not patient_ids:
        return {}
    profiles = list(selectors.caseload_queryset(physician=physician, now=now).filter(user_id__in=patient_ids))
    rows = selectors.caseload_rows(profiles=profiles, now=now)
    until = caseload_columns.valid_until(patient_ids=[p.user_id for p in profiles], now=now)
    result = {}
    for profile, row in zip(profiles, rows, strict=True):
        pid = profile.user_id
        entry = _entry(
            row, physician_id=physician.pk, zone=contracts.zone(profile.time_zone), now=now, until=until.get(pid)
        )
        result[pid] = (row, entry)
    return result


def _store(entries: list[CaseloadEntry]) -> None:
    """Upsert in patient order (the same lock order in every writer). An existing row keeps its
    version (bumped only by caseload_touch, perhaps since the caller read it)."""
    entries.sort(key=lambda e: e.patient_id)
    CaseloadEntry.objects.bulk_create(
        entries, update_conflicts=True, unique_fields=["patient"], update_fields=_UPDATED, batch_size=500
    )


def versions_of(patient_ids: list[int]) -> dict[int, int]:
    """{patient id: row version}, creating an untrusted row for patients without one first: a
    version is always read before the inputs are (a write that commits later bumps it, and one
    still uncommitted makes the insert wait for it). Two queries."""
    CaseloadEntry.objects.bulk_create([CaseloadEntry(patient_id=pid) for pid in patient_ids], ignore_conflicts=True)
    return dict(CaseloadEntry.objects.filter(patient_id__in=patient_ids).values_list("patient_id", "version"))


def refresh(*, physician: User, versions: dict[int, int], now: datetime) -> dict[int, selectors.CaseloadRow]:
    """Recompute the rows of these patients and store them; returns the live rows. `versions`:
    {patient id: the row's version as read BEFORE computing}. A row is stored as trusted
    (`computed_version = version`) with that version: a write committed meanwhile has bumped
    the row past it, so it is recomputed on the next read (docs/caseload.md#invalidation)."""
    computed = _compute(physician=physician, patient_ids=list(versions), now=now)
    entries = []
    for pid, (_row, entry) in computed.items():
        entry.version = entry.computed_version = versions[pid]
        entries.append(entry)
    if entries:
        _store(entries)
    return {pid: row for pid, (row, _entry) in computed.items()}


# --- reading ----------------------------------------------------------------------------------


def page_queryset(*, physician: User):
    """The physician's patients (live: PatientProfile.assigned_physician) in the caseload's order,
    each with its stored row in the same query (a left join: null when none yet)."""
    return (
        contracts.caseload_profiles(physician)
        .select_related("user", "user__caseload_entry")
        .only(
            "user",
            "time_zone",
            "user__public_id",
            "user__first_name",
            "user__last_name",
            "user__role",
            *(f"user__caseload_entry__{name}" for name in ["patient", "version", *_UPDATED]),
        )
        .order_by("user__last_name", "user__first_name", "user_id")
    )


def _stored(profile) -> CaseloadEntry | None:
    try:
        return profile.user.caseload_entry
    except CaseloadEntry.DoesNotExist:
        return None


def row_from_entry(entry: CaseloadEntry, patient: User) -> selectors.CaseloadRow:
    scores = {}
    for instrument in contracts.CASELOAD_INSTRUMENTS:
        score = contracts.score_from_row(entry, instrument)
        if score is not None:
            scores[instrument] = score
    return selectors.CaseloadRow(
        patient=patient,
        next_appointment_at=entry.next_appointment_at,
        next_appointment_id=entry.next_appointment_id,
        last_visit_at=entry.last_visit_at,
        scores=scores,
        open_flags=entry.open_flags,
        subscription=_Standing(entry.subscription_ok, entry.subscription_status)
        if entry.subscription_ok is not None
        else None,
        prescription_status=entry.prescription_status,
        columns=entry.columns,
        columns_represented=True,  # stored as their fields represent them (_entry)
    )


def page_rows(*, physician: User, profiles: list, now: datetime | None = None) -> list[selectors.CaseloadRow]:
    """The rows of one page of page_queryset: stored rows that may be shown as they are, the
    others recomputed together (a fixed number of queries for the page) and stored."""
    return _rows(physician=physician, page=[(p.user_id, _stored(p), p.user) for p in profiles], now=now)


def _rows(*, physician: User, page: list[tuple], now: datetime | None) -> list[selectors.CaseloadRow]:
    """page: [(patient id, stored entry or None, the patient as shown)] in display order."""
    now = now or timezone.now()
    stored = {pid: entry for pid, entry, _patient in page}
    stale = {
        pid: entry.version
        for pid, entry in stored.items()
        if entry is not None and not is_fresh(entry, physician_id=physician.pk, now=now)
    }
    missing = [pid for pid, entry in stored.items() if entry is None]
    if missing:
        stale.update(versions_of(missing))
    live = refresh(physician=physician, versions=stale, now=now) if stale else {}
    rows = []
    for pid, entry, patient in page:
        row = live.get(pid)
        if row is not None:
            row.patient = patient
        elif pid not in stale:
            row = row_from_entry(entry, patient)
        else:
            continue  # moved to another caseload since the page was read
        rows.append(row)
    return rows


# --- the endpoint's page: compiled statements, plain rows (docs/caseload.md#reading) ------


class PagePatient:
    """A patient as the caseload page shows them; audited as the accounts.User row it is. (Not a
    tuple: audit_log flattens tuples and lists of objects.)"""

    __slots__ = ("first_name", "last_name", "pk", "public_id")

    def __init__(self, pk: int, public_id: UUID, first_name: str, last_name: str):
        self.pk, self.public_id, self.first_name, self.last_name = pk, public_id, first_name, last_name

    @property
    def audit_patient_id(self) -> int:
        return self.pk


PATIENT_OBJECT_TYPE = User._meta.label_lower


# The page's columns as the ORM paths the page query reads them by (api/prepared.py's row): the
# patient as shown, the order's copies of the name (to notice a copy that drifted), the stored row.
_ENTRY_FIELDS = [f for f in CaseloadEntry._meta.concrete_fields if f.name != "patient"]
_PageColumns = namedtuple(  # type: ignore[misc]  # noqa: PYI024 - built from the model's fields
    "_PageColumns",
    [
        "user_id",
        "user__public_id",
        "user__first_name",
        "user__last_name",
        "user_first_name",
        "user_last_name",
        *(f"user__caseload_entry__{f.name}" for f in _ENTRY_FIELDS),
    ],
)
# The same row with the stored row's attribute names (what is_fresh and row_from_entry read).
_PageRow = namedtuple(  # type: ignore[misc]  # noqa: PYI024
    "_PageRow",
    ["patient_id", "public_id", "first_name", "last_name", "order_first", "order_last"]
    + [f.attname for f in _ENTRY_FIELDS],
)


def ordered_queryset(*, physician: User):
    """page_queryset in the order kept on the profile (its copies of the name, indexed with the
    assignment: docs/caseload.md#order), so a page is read from the index: its cost does not grow
    with the caseload."""
    return page_queryset(physician=physician).order_by("user_last_name", "user_first_name", "user_id")


class _Total(NamedTuple):
    assigned_physician_id: int
    total: int


_PAGE = PreparedRead(
    contracts.PatientProfile,
    _PageColumns,
    lambda physician_id: ordered_queryset(physician=User(pk=physician_id)),
    params=("physician_id",),
)
_TOTAL = PreparedRead(  # the caseload's size: an index-only count
    contracts.PatientProfile,
    _Total,
    lambda physician_id: (
        contracts.caseload_profiles(User(pk=physician_id))
        .values("assigned_physician_id")
        .annotate(total=Count("*"))
        .order_by()
    ),
    params=("physician_id",),
)


def _page(physician: User, offset: int, limit: int) -> list:
    rows = [_PageRow._make(r) for r in _PAGE.rows(physician_id=physician.pk).slice(offset, offset + limit)]
    if any((r.order_last, r.order_first) != (r.last_name, r.first_name) for r in rows):
        # A name written past save() (docs/caseload.md#order): repair the copies, read again.
        logger.warning("caseload order: name copies repaired", extra={"physician_id": physician.pk})
        resync_names(assigned_physician=physician)
        rows = [_PageRow._make(r) for r in _PAGE.rows(physician_id=physician.pk).slice(offset, offset + limit)]
    return rows


def paged(*, physician: User) -> PagedRows:
    """The caseload a page at a time, for page_rows_of: the page (patients, their stored rows) read
    in the order kept on the profile, its SQL compiled once (api/prepared.py), and the total from
    the page when the page ends the list, else from an index-only count (docs/caseload.md#reading)."""

    def fetch(offset: int, limit: int) -> tuple[list, int]:
        rows = _page(physician, offset, limit)
        if (rows and len(rows) < limit) or (not rows and offset == 0):
            return rows, offset + len(rows)
        found = _TOTAL.rows(physician_id=physician.pk)[0:1]
        return rows, (found[0].total if found else 0)

    return PagedRows(fetch)


def page_rows_of(*, physician: User, rows: list, now: datetime | None = None) -> list[selectors.CaseloadRow]:
    """page_rows for a page of `paged`: the same rows, with PagePatient as each row's patient."""
    page = [
        (
            r.patient_id,
            r if r.version is not None else None,
            PagePatient(r.patient_id, r.public_id, r.first_name, r.last_name),
        )
        for r in rows
    ]
    return _rows(physician=physician, page=page, now=now)


# --- rebuilding -------------------------------------------------------------------------------


def rebuild(*, physician: User | None = None, batch: int = 200, progress: Callable[[str], None] | None = None) -> int:
    """Compute the rows of one physician's caseload, or of every caseload, again. Idempotent and
    safe while the practice is in use (each batch reads its versions before its inputs). Rows
    are never deleted (a version only grows); a patient's row names the physician it was
    computed for, so a patient who moved reads as stale until recomputed. Returns rows stored.
    The caseload order's copies of the names are repaired first (docs/caseload.md#order)."""
    say = progress or (lambda _msg: None)
    repaired = resync_names(**({"assigned_physician": physician} if physician is not None else {}))
    say(f"caseload order: {repaired} name copies repaired")
    physicians = (
        [physician]
        if physician is not None
        else list(User.objects.filter(caseload_profiles__isnull=False).distinct().order_by("pk"))
    )
    stored = 0
    for doctor in physicians:
        ids = list(contracts.caseload_profiles(doctor).order_by("user_id").values_list("user_id", flat=True))
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            versions = versions_of(chunk)
            stored += len(refresh(physician=doctor, versions=versions, now=timezone.now()))
            say(f"physician {doctor.public_id}: {start + len(chunk)}/{len(ids)} rows")
    say(f"{stored} rows stored for {len(physicians)} physicians")
    return stored
