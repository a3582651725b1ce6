"""The other apps' rules this app relies on, reached only through their published contracts
(README "Scheduling"): licensing and consult windows (practice), location, caseload and scores
(patients), good standing (billing). Kept in one module so the dependency surface is visible
and every read here is one query (or the contract's own constant number) whatever the size.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils.module_loading import import_string

from accounts.models import Role, User
from api.prepared import PreparedRead
from billing import selectors as billing_selectors
from billing.services import standing as billing_standing
from patients import selectors as patients_selectors
from patients.models import PatientProfile
from patients.ordering import resync_names  # noqa: F401 - the caseload order's repair (docs/caseload.md#order)
from patients.services import caseload as patients_caseload
from practice import search_context
from practice import selectors as practice_selectors
from practice.models import PhysicianProfile
from practice.services import licensing

DEFAULT_TIME_ZONE = "America/New_York"


@dataclass(frozen=True)
class PhysicianInfo:
    user_id: int
    time_zone: ZoneInfo
    accepting_new_patients: bool
    new_patient_cap: int | None
    static_video_url: str


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or getattr(settings, "PRACTICE_TIME_ZONE", DEFAULT_TIME_ZONE))
    except (KeyError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


class _InfoRow(NamedTuple):
    user_id: int
    time_zone: str
    accepting_new_patients: bool
    new_patient_cap: int | None
    static_video_url: str


# One physician's profile, read by every booking: compiled once (api/prepared.py).
_INFO = PreparedRead(
    PhysicianProfile,
    _InfoRow,
    lambda physician_id: PhysicianProfile.objects.filter(user_id=physician_id),
    params=("physician_id",),
)


# A physician's profile as columns of a caller's own statement on the user (booking's lock):
# `physician_infos([id], read=values)` then answers without a query.
PHYSICIAN_INFO_PATHS = tuple(f"physician_profile__{name}" for name in _InfoRow._fields)


def _info(row) -> PhysicianInfo:
    return PhysicianInfo(
        user_id=row[0],
        time_zone=zone(row[1]),
        accepting_new_patients=row[2],
        new_patient_cap=row[3],
        static_video_url=row[4] or "",
    )


def physician_infos(physician_ids: list[int], *, read: tuple | None = None) -> dict[int, PhysicianInfo]:
    """One query. A physician without a profile gets the practice zone and no new patients.
    `read`: the values of PHYSICIAN_INFO_PATHS a caller's statement read for the one physician
    asked (no query)."""
    if read is not None:
        rows = [read] if read[0] is not None else []
    elif len(physician_ids) == 1:
        rows = _INFO.rows(physician_id=physician_ids[0]).slice(0, None)
    else:
        rows = PhysicianProfile.objects.filter(user_id__in=physician_ids).values_list(*_InfoRow._fields)
    infos = {r[0]: _info(r) for r in rows}
    for pid in physician_ids:
        infos.setdefault(pid, PhysicianInfo(pid, zone(None), False, 0, ""))
    return infos


def consult_windows(*, state: str, start: date, end: date, physician_ids: list[int]) -> dict[int, list]:
    return practice_selectors.consult_windows(state=state, start=start, end=end, physician_ids=physician_ids)


def search_context_version() -> str | None:
    """The practice app's version of what a search reads from it (physicians, profiles,
    licences); None: do not cache it (practice/search_context.py)."""
    return search_context.version()


def search_context_key() -> str:
    """The cache key of that version (read ahead with others: api.cache.prefetched)."""
    return search_context.KEY


def licence_spans(*, state: str) -> dict[int, list]:
    """Physician id -> (issued, expires) of each licence letting them consult in `state` (one query)."""
    return practice_selectors.licence_spans(state=state)


def windows_within(spans: list, *, start: date, end: date) -> list:
    """licence_spans of one physician -> their consult windows within [start, end] (no query)."""
    return practice_selectors.windows_within(spans, start=start, end=end)


def physician_authorization(*, physician, state: str, on: date):
    return licensing.physician_authorization(physician=physician, state=state, on=on, action="consult")


def consult_licence_exists(*, physician_id, state: str, on):
    """physician_authorization's yes or no as an expression of a caller's own query (a
    booking's limits read); a refusal's reasons come from physician_authorization."""
    return licensing.consult_licence_exists(physician_id=physician_id, state=state, on=on)


def patient_location(*, patient):
    held, row = _held_profile(patient)
    if not held:
        return patients_selectors.patient_location(patient=patient)
    if row is None:
        return None
    return patients_selectors.Location(
        state=row.state,
        county_fips=row.county_id,
        time_zone=row.time_zone,
        zip_code=row.zip_code,
        verified=row.address_verified_at is not None,
    )


def assessment_location(*, public_id, token: str = "", patient=None) -> tuple[str, str] | None:
    """(state, time zone) from a prospective patient's free assessment, usable with its claim
    token or by the patient who claimed it; None otherwise (one answer for every refusal)."""
    return patients_selectors.assessment_location(public_id=public_id, token=token, patient=patient)


def patient_good_standing(*, patient, read: dict | None = None):
    """`read`: the values of `standing_columns` a caller's statement read for this patient."""
    return billing_standing.patient_good_standing(patient=patient, read=read)


STANDING_PREFIX = "standing_"


def standing_columns(*, patient_ref: str) -> dict:
    """What good standing judges (the current subscription's fields) as columns of a caller's own
    query, named STANDING_PREFIX + field; `patient_ref` names the patient's user id there."""
    return billing_standing.current_subscription_columns(patient_ref=patient_ref, prefix=STANDING_PREFIX)


def good_standing_by_patient(*, patient_ids: list[int]) -> dict:
    return billing_selectors.good_standing_by_patient(patient_ids=patient_ids)


def assigned_counts(physician_ids: list[int]) -> dict[int, int]:
    """Patients on each physician's caseload (PatientProfile.assigned_physician); one query."""
    rows = (
        PatientProfile.objects.filter(assigned_physician_id__in=physician_ids)
        .values("assigned_physician_id")
        .annotate(n=Count("pk"))
    )
    return {r["assigned_physician_id"]: r["n"] for r in rows}


class _AssignedRow(NamedTuple):
    assigned_physician_id: int | None


class _ContactRow(NamedTuple):
    phone: str
    time_zone: str


def _profile_of(*, patient_id: int) -> QuerySet:
    return PatientProfile.objects.filter(user_id=patient_id).order_by("pk")


class _BookingPatientRow(NamedTuple):
    """What a booking reads of the patient's profile: location, contact, assigned physician."""

    state: str
    county_id: str | None
    time_zone: str
    zip_code: str
    address_verified_at: datetime | None
    phone: str
    assigned_physician_id: int | None


# The same as columns of a caller's own statement on the user (booking's lock), the profile's
# key first (None: no profile): `patient_profile_read_once(patient, read=values)`.
BOOKING_PATIENT_PATHS = ("patient_profile__pk", *(f"patient_profile__{n}" for n in _BookingPatientRow._fields))

# Read by every booking (the contact) and free consultation (the physician): compiled once.
_ASSIGNED = PreparedRead(PatientProfile, _AssignedRow, _profile_of, params=("patient_id",))
_CONTACT = PreparedRead(PatientProfile, _ContactRow, _profile_of, params=("patient_id",))
_BOOKING_PATIENT = PreparedRead(PatientProfile, _BookingPatientRow, _profile_of, params=("patient_id",))


class _Once:
    def __init__(self, patient_id: int, read: tuple | None):
        self.patient_id = patient_id
        self.read = read is not None
        self.row: _BookingPatientRow | None = None
        if read is not None and read[0] is not None:
            self.row = _BookingPatientRow(*read[1:])


_PROFILE_ONCE: ContextVar[_Once | None] = ContextVar("scheduling_patient_profile_once", default=None)


@contextmanager
def patient_profile_read_once(patient, *, read: tuple | None = None) -> Iterator[None]:
    """Inside the block (a booking's transaction), the patient's location, contact and assigned
    physician come from one read of their profile, made when the first of them is asked: a
    booking asked for each on its own, three reads of one row (docs/write-budgets.md#booking).
    `read`: the values of BOOKING_PATIENT_PATHS a caller's statement already read (no query)."""
    token = _PROFILE_ONCE.set(_Once(patient.pk, read))
    try:
        yield
    finally:
        _PROFILE_ONCE.reset(token)


def _held_profile(patient) -> tuple[bool, _BookingPatientRow | None]:
    """(True, the row or None without a profile) inside a block for this patient; (False, None)
    outside one."""
    once = _PROFILE_ONCE.get()
    if once is None or once.patient_id != patient.pk:
        return False, None
    if not once.read:
        once.row = _BOOKING_PATIENT.first(patient_id=patient.pk)
        once.read = True
    return True, once.row


def assigned_physician_id(patient) -> int | None:
    held, row = _held_profile(patient)
    if not held:
        row = _ASSIGNED.first(patient_id=patient.pk)
    return None if row is None else row.assigned_physician_id


def caseload_patient(*, physician, patient_public_id):
    """The patient with this public id if they are on the physician's caseload, else None."""
    return User.objects.filter(
        public_id=patient_public_id, role=Role.PATIENT, patient_profile__assigned_physician=physician
    ).first()


def patient_contact(patient) -> tuple[str, str, ZoneInfo]:
    """(email, phone or "", time zone) for reminders."""
    held, row = _held_profile(patient)
    if not held:
        row = _CONTACT.first(patient_id=patient.pk)
    if row is None:
        return patient.email, "", zone(None)
    return patient.email, str(row.phone or ""), zone(row.time_zone)


def patient_contacts(patients) -> dict[int, tuple[str, str, ZoneInfo]]:
    """patient_contact for many patients (user objects) in one query: {patient id: (email,
    phone or "", time zone)}. A patient without a profile has no phone and the practice zone."""
    users = {p.pk: p for p in patients}
    rows = {
        r["user_id"]: r
        for r in PatientProfile.objects.filter(user_id__in=list(users)).values("user_id", "phone", "time_zone")
    }
    return {
        pk: (user.email, str(rows.get(pk, {}).get("phone") or ""), zone(rows.get(pk, {}).get("time_zone")))
        for pk, user in users.items()
    }


def assign_physician(*, actor, patient, physician, request=None) -> None:
    patients_caseload.patient_assign_physician(actor=actor, patient=patient, physician=physician, request=request)


def caseload_profiles(physician):
    return PatientProfile.objects.filter(assigned_physician=physician)


def latest_scores_by_patient(*, patient_ids: list[int]) -> dict:
    return patients_selectors.latest_scores_by_patient(patient_ids=patient_ids)


def open_flag_counts(*, patient_ids: list[int]) -> dict[int, int]:
    return patients_selectors.open_flag_counts(patient_ids=patient_ids)


CASELOAD_INSTRUMENTS = ("phq9", "gad7")


def caseload_columns(*, patient_ref: str) -> dict:
    """The caseload's enrichment contracts as expressions for its own query (one query for the
    page instead of one per contract): the latest PHQ-9 and GAD-7 (`<instrument>_total`,
    `_band`, `_taken_at`) and the open flag count `open_flags` (patients), and
    `prescription_status` from the expression the prescriptions app registers in
    `settings.SCHEDULING_PRESCRIPTION_STATUS_COLUMN` (it sits above scheduling, which never imports
    it; unset: no column). `patient_ref` names the patient's user id in the annotated queryset."""
    columns = {
        **patients_selectors.latest_score_columns(patient_ref=patient_ref, instruments=CASELOAD_INSTRUMENTS),
        "open_flags": patients_selectors.open_flag_count_column(patient_ref=patient_ref),
    }
    prescription_status = getattr(settings, "SCHEDULING_PRESCRIPTION_STATUS_COLUMN", "")
    if prescription_status:
        columns["prescription_status"] = import_string(prescription_status)(patient_ref=patient_ref)
    return columns


def score_from_row(row, instrument: str):
    """The patients app's Score of `instrument` from a row annotated by caseload_columns."""
    return patients_selectors.score_from_row(row, instrument)


def patient_home_address(patient) -> tuple[str, str] | None:
    """(one-line address, state) of the patient's verified home address; None when unverified.
    Where a home visit took place (docs/in-person-visits.md#attestation)."""
    row = (
        PatientProfile.objects.filter(user=patient, address_verified_at__isnull=False)
        .values("address_line1", "address_line2", "city", "state", "zip_code")
        .first()
    )
    if row is None:
        return None
    parts = [row["address_line1"], row["address_line2"], row["city"], f"{row['state']} {row['zip_code']}".strip()]
    return ", ".join(p for p in parts if p), row["state"]
