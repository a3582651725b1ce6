"""Reads of the patients app, always scoped to the caller: out of scope is simply not found (404).

Scope: a patient sees their own records; a physician sees the patients on their caseload
(PatientProfile.assigned_physician); staff see what their sub-role needs (`accounts.scopes`:
the medical director every chart, a care coordinator flags and queues but no chart, a pharmacy
liaison none of it). Contract functions for other apps are marked "Contract".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db.models import Count, Exists, F, IntegerField, OuterRef, QuerySet, Subquery, Value, Window
from django.db.models.functions import Coalesce, RowNumber

from accounts import scopes
from accounts.models import Role, User
from accounts.scopes import Capability
from api.errors import NotFound
from api.prepared import PreparedRead
from patients import policy
from patients.models import (
    Assessment,
    AssessmentOutcome,
    Contraindication,
    ContraindicationStatus,
    PatientProfile,
    QuestionnaireResponse,
    SafetyFlag,
    SafetyFlagStatus,
    Screening,
    VitalReading,
)


@dataclass(frozen=True)
class Location:
    state: str
    county_fips: str
    time_zone: str
    zip_code: str
    verified: bool


@dataclass(frozen=True)
class Score:
    instrument: str
    total: int
    band: str
    taken_at: datetime


def patient_profile(*, patient: User) -> PatientProfile | None:
    return PatientProfile.objects.select_related("county", "assigned_physician").filter(user=patient).first()


class _LocationRow(NamedTuple):
    state: str
    county_id: str | None
    time_zone: str
    zip_code: str
    address_verified_at: datetime | None


_LOCATION = PreparedRead(
    PatientProfile,
    _LocationRow,
    lambda patient_id: PatientProfile.objects.filter(user_id=patient_id),
    params=("patient_id",),
)


def patient_location(*, patient: User) -> Location | None:
    """Contract: where the patient lives, from the verified profile address (None: no profile yet).
    Read on every availability search: its SQL compiled once (api/prepared.py)."""
    rows = _LOCATION.rows(patient_id=patient.pk).slice(0, 1)
    if not rows:
        return None
    row = rows[0]
    return Location(
        state=row.state,
        county_fips=row.county_id,
        time_zone=row.time_zone,
        zip_code=row.zip_code,
        verified=row.address_verified_at is not None,
    )


def patient_time_zones(*, patient_ids: list[int]) -> dict[int, str]:
    """Contract: patient id -> the profile's time zone name ("" when unknown; patients without a
    profile are absent). One query."""
    rows = PatientProfile.objects.filter(user_id__in=patient_ids).values_list("user_id", "time_zone")
    return {pid: tz or "" for pid, tz in rows}


def open_safety_flags(*, patient: User) -> QuerySet[SafetyFlag]:
    """Contract: the patient's open safety flags (any of them holds dosing)."""
    return SafetyFlag.objects.filter(patient=patient, status=SafetyFlagStatus.OPEN).order_by("opened_at", "id")


def open_flag_counts(*, patient_ids: list[int]) -> dict[int, int]:
    """Contract: patient id -> number of open flags (patients without any are absent). One query."""
    rows = (
        SafetyFlag.objects.filter(patient_id__in=patient_ids, status=SafetyFlagStatus.OPEN)
        .values("patient_id")
        .annotate(n=Count("id"))
    )
    return {r["patient_id"]: r["n"] for r in rows}


def open_flag_count_column(*, patient_ref: str):
    """Contract: open_flag_counts as an expression for a queryset of patients (`patient_ref`
    names the patient id in it), so a list reads the counts in its own query: 0 when none."""
    counts = (
        SafetyFlag.objects.filter(patient_id=OuterRef(patient_ref), status=SafetyFlagStatus.OPEN)
        .order_by()
        .values("patient_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def unresolved_contraindications(*, patient: User) -> list[str]:
    """Contract: the codes of the patient's contraindication records that no physician has decided
    yet (e.g. "pregnant_or_nursing", "heart_disease", "medication_benzodiazepines"). One query."""
    return list(
        Contraindication.objects.filter(patient=patient, status=ContraindicationStatus.UNRESOLVED)
        .order_by("recorded_at", "id")
        .values_list("code", flat=True)
    )


def confirmed_contraindications(*, patient: User) -> list[str]:
    """Contract: codes a physician confirmed (the patient is not a candidate). One query."""
    return list(
        Contraindication.objects.filter(patient=patient, status=ContraindicationStatus.CONFIRMED)
        .order_by("decided_at", "id")
        .values_list("code", flat=True)
        .distinct()
    )


def latest_screening_at(*, patient: User):
    """Contract: when the patient's latest screening on file was taken, or None. One query."""
    return (
        Screening.objects.filter(patient=patient).order_by("-screened_at").values_list("screened_at", flat=True).first()
    )


def prescribing_fact_columns(*, patient_ref: str) -> dict:
    """Contract: what the prescribing gates ask of the patients app, as expressions for a queryset
    of patients (`patient_ref` names the patient id in it), so the gates read them in one query
    (docs/write-budgets.md#signing): `open_safety_flag` (patient_has_open_safety_flag),
    `contraindication_unresolved` / `contraindication_confirmed` (whether
    unresolved_contraindications / confirmed_contraindications would list any code) and
    `latest_screening_at` (latest_screening_at). The same filters as those functions."""
    patient = OuterRef(patient_ref)
    return {
        "open_safety_flag": Exists(SafetyFlag.objects.filter(patient_id=patient, status=SafetyFlagStatus.OPEN)),
        "contraindication_unresolved": Exists(
            Contraindication.objects.filter(patient_id=patient, status=ContraindicationStatus.UNRESOLVED)
        ),
        "contraindication_confirmed": Exists(
            Contraindication.objects.filter(patient_id=patient, status=ContraindicationStatus.CONFIRMED)
        ),
        "latest_screening_at": Subquery(
            Screening.objects.filter(patient_id=patient).order_by("-screened_at").values("screened_at")[:1]
        ),
    }


def screening_list(*, patient: User) -> QuerySet[Screening]:
    return Screening.objects.filter(patient=patient).select_related("recorded_by").order_by("-screened_at", "-id")


def contraindication_list(*, patient: User) -> QuerySet[Contraindication]:
    return Contraindication.objects.filter(patient=patient).select_related("patient").order_by("-recorded_at", "-id")


def contraindication_for_physician(*, viewer: User, public_id) -> Contraindication:
    """A record of a patient on this physician's caseload, else NotFound."""
    record = (
        Contraindication.objects.filter(public_id=public_id, patient__patient_profile__assigned_physician=viewer)
        .select_related("patient")
        .first()
    )
    if record is None or not viewer.is_physician:
        raise NotFound()
    return record


def latest_scores_by_patient(*, patient_ids: list[int]) -> dict[int, dict[str, Score]]:
    """Contract: patient id -> instrument -> latest Score. One query (a window function)."""
    latest = (
        QuestionnaireResponse.objects.filter(patient_id__in=patient_ids)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("patient_id"), F("instrument")],
                order_by=[F("taken_at").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
        .values("patient_id", "instrument", "total", "band", "taken_at")
    )
    result: dict[int, dict[str, Score]] = {}
    for row in latest:
        result.setdefault(row["patient_id"], {})[row["instrument"]] = Score(
            instrument=row["instrument"], total=row["total"], band=row["band"], taken_at=row["taken_at"]
        )
    return result


SCORE_FIELDS = ("total", "band", "taken_at")


def latest_score_columns(*, patient_ref: str, instruments: tuple[str, ...]) -> dict:
    """Contract: latest_scores_by_patient as expressions for a queryset of patients (`patient_ref`
    names the patient id in it): `<instrument>_<field>` for each field of SCORE_FIELDS, each a
    subquery on the (patient, instrument, taken_at) index, null when the patient has none.
    `score_from_row` turns them back into a Score."""
    columns = {}
    for instrument in instruments:
        latest = QuestionnaireResponse.objects.filter(patient_id=OuterRef(patient_ref), instrument=instrument).order_by(
            "-taken_at", "-id"
        )
        for name in SCORE_FIELDS:
            columns[f"{instrument}_{name}"] = Subquery(latest.values(name)[:1])
    return columns


def score_from_row(row, instrument: str) -> Score | None:
    """The Score of `instrument` from a row annotated with latest_score_columns (None: no response)."""
    taken_at = getattr(row, f"{instrument}_taken_at")
    if taken_at is None:
        return None
    return Score(
        instrument=instrument,
        total=getattr(row, f"{instrument}_total"),
        band=getattr(row, f"{instrument}_band"),
        taken_at=taken_at,
    )


# --- scoped patient lookups -----------------------------------------------------------------


def patient_visible_to(*, viewer: User, patient_public_id, capability: Capability = Capability.CLINICAL) -> User:
    """The patient with this public id, if the viewer may see this kind of their records (by
    default their chart: questionnaires, vitals); else NotFound."""
    scope = scopes.patient_q(viewer, capability)
    if scope is None:
        raise NotFound()
    patient = User.objects.filter(scope, public_id=patient_public_id, role=Role.PATIENT).first()
    if patient is None:
        raise NotFound()
    return patient


def questionnaire_history(*, patient: User, instrument: str | None = None) -> QuerySet[QuestionnaireResponse]:
    responses = QuestionnaireResponse.objects.filter(patient=patient)
    if instrument:
        responses = responses.filter(instrument=instrument)
    return responses.order_by("-taken_at", "-id")


def baselines(*, patient: User) -> dict[str, QuestionnaireResponse]:
    """instrument -> the patient's baseline response. One query."""
    return {r.instrument: r for r in QuestionnaireResponse.objects.filter(patient=patient, is_baseline=True)}


@dataclass(frozen=True)
class Progress:
    change_from_baseline: int | None
    response: bool
    remission: bool


def progress(response: QuestionnaireResponse, baseline: QuestionnaireResponse | None) -> Progress:
    """Change from baseline; response = a drop of at least the clinical policy's response percentage of the
    baseline total; remission = under the instrument's remission threshold (PHQ-9: 5)."""
    threshold = policy.remission_below(response.instrument)
    remission = threshold is not None and response.total < threshold
    if baseline is None or baseline.pk == response.pk:
        return Progress(change_from_baseline=0 if baseline else None, response=False, remission=remission)
    change = response.total - baseline.total
    responded = baseline.total > 0 and -change >= policy.response_drop_fraction() * baseline.total
    return Progress(change_from_baseline=change, response=responded, remission=remission)


def vitals_history(*, patient: User) -> QuerySet[VitalReading]:
    return VitalReading.objects.filter(patient=patient).order_by("-measured_at", "-id")


# --- care-team lists ------------------------------------------------------------------------


def safety_flag_list(*, viewer: User) -> QuerySet[SafetyFlag]:
    """Open flags: a physician's caseload; every open flag for care coordinators and the medical
    director; none for anyone else (a pharmacy liaison sees no flag)."""
    flags = SafetyFlag.objects.filter(status=SafetyFlagStatus.OPEN).select_related(
        "patient", "patient__patient_profile"
    )
    scope = scopes.patient_q(viewer, Capability.FLAGS, patient="patient")
    if scope is None:
        return flags.none()
    return flags.filter(scope).order_by("opened_at", "id")


def safety_flag_for_physician(*, viewer: User, flag_public_id) -> SafetyFlag:
    """A flag of a patient on this physician's caseload (any status), else NotFound."""
    flag = (
        SafetyFlag.objects.filter(public_id=flag_public_id, patient__patient_profile__assigned_physician=viewer)
        .select_related("patient")
        .first()
    )
    if flag is None or not viewer.is_physician:
        raise NotFound()
    return flag


def review_queue_assessments(*, viewer: User) -> QuerySet[Assessment]:
    """New assessments a physician should look at (needs_review), not yet reviewed by staff."""
    if not scopes.sees_all(viewer, Capability.REVIEW_QUEUE):
        return Assessment.objects.none()
    return (
        Assessment.objects.filter(outcome=AssessmentOutcome.NEEDS_REVIEW, reviewed_at__isnull=True)
        .select_related("county", "patient")
        .order_by("created_at", "id")
    )


def review_queue_registrations(*, viewer: User) -> QuerySet[PatientProfile]:
    """Registered patients with a profile and no physician yet."""
    if not scopes.sees_all(viewer, Capability.REVIEW_QUEUE):
        return PatientProfile.objects.none()
    return (
        PatientProfile.objects.filter(assigned_physician__isnull=True, user__is_active=True)
        .select_related("user", "county")
        .order_by("created_at", "id")
    )


def assessment_for_staff(*, viewer: User, public_id) -> Assessment:
    if not scopes.sees_all(viewer, Capability.REVIEW_QUEUE):
        raise NotFound()
    assessment = Assessment.objects.filter(public_id=public_id).first()
    if assessment is None:
        raise NotFound()
    return assessment


def assessment_location(*, public_id, token: str = "", patient: User | None = None) -> tuple[str, str] | None:
    """Contract (scheduling): (state, time zone) of a free assessment, for whoever may use it.

    An assessment id alone proves nothing (ids leak in links and logs): it is usable with its claim
    token (what the app holds from the answer), or by the patient who claimed it. Unknown id, wrong
    token, someone else's, or outside the service area: None, one answer for all, so the search
    cannot tell whether an id exists (docs/security.md#enumeration).
    """
    import hashlib
    import hmac

    row = (
        Assessment.objects.filter(public_id=public_id)
        .values("state", "time_zone", "patient_id", "claim_token_hash")
        .first()
    )
    if row is None:
        return None
    claimed_by_caller = patient is not None and row["patient_id"] == patient.pk
    offered = hashlib.sha256((token or "").encode("utf-8")).hexdigest()
    holds_token = bool(token) and hmac.compare_digest(row["claim_token_hash"], offered)
    if not (claimed_by_caller or holds_token) or not row["state"]:
        return None
    return row["state"], row["time_zone"]


def notification_contact(*, user: User) -> tuple[str, str]:
    """Contract for notifications (NOTIFICATIONS_CONTACT_LOOKUP): (phone or "", time zone name or
    "") of a patient, for SMS and quiet hours; ("", "") for anyone without a profile."""
    row = PatientProfile.objects.filter(user=user).values("phone", "time_zone").first() or {}
    return str(row.get("phone") or ""), row.get("time_zone") or ""


def phone_owner_ids(*, phone: str) -> list[int]:
    """Contract for notifications (NOTIFICATIONS_PHONE_OWNERS): the patients with this phone (E.164),
    whose SMS consent follows a STOP or START from it."""
    return list(PatientProfile.objects.filter(phone=phone).values_list("user_id", flat=True))
