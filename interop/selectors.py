"""What each viewer may read through FHIR, and the search over it (docs/fhir.md#scoping).

Who sees what is `accounts.scopes`, exactly as in the JSON API: a patient their own records, a
physician their caseload (visits: their own, as in scheduling), the medical director every chart,
a care coordinator visits and flags, a pharmacy liaison or an administrator no patient record.
A resource type the viewer has no reach for answers like a record outside scope: 404.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from accounts import scopes
from accounts.models import Role, User
from accounts.scopes import Capability, Reach
from api.clock import practice_date, practice_zone
from interop import codes, resources
from outcomes.models import HeadacheDiaryEntry
from patients.models import ConsentSignature, QuestionnaireResponse, SafetyFlag, VitalReading
from patients.scoring import INSTRUMENTS
from prescriptions.models import DeliveryOrder, Prescription
from scheduling.models import Appointment
from scheduling.selectors import appointment_list


# --- search parameters --------------------------------------------------------------------------
@dataclass(frozen=True)
class DateBound:
    prefix: str  # eq, ge, gt, le, lt
    start: datetime  # the first instant of the value's precision
    end: datetime  # the first instant after it


@dataclass
class Search:
    patient: str | None = None  # a Patient id ("Patient/<id>" or "<id>")
    ids: list[str] = field(default_factory=list)  # _id
    dates: list[DateBound] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # Observation: "system|code" or "code"
    categories: list[str] = field(default_factory=list)  # Observation: survey, vital-signs
    count: int = 20
    offset: int = 0


def _uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    value = value.rsplit("/", 1)[-1]
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _date_q(field_name: str, bounds: list[DateBound]) -> Q:
    q = Q()
    for b in bounds:
        q &= {
            "eq": Q(**{f"{field_name}__gte": b.start, f"{field_name}__lt": b.end}),
            "ge": Q(**{f"{field_name}__gte": b.start}),
            "gt": Q(**{f"{field_name}__gte": b.end}),
            "le": Q(**{f"{field_name}__lt": b.end}),
            "lt": Q(**{f"{field_name}__lt": b.start}),
        }[b.prefix]
    return q


def _date_matches(when: datetime, bounds: list[DateBound]) -> bool:
    for b in bounds:
        ok = {
            "eq": b.start <= when < b.end,
            "ge": when >= b.start,
            "gt": when >= b.end,
            "le": when < b.end,
            "lt": when < b.start,
        }[b.prefix]
        if not ok:
            return False
    return True


def _patient_records_q(viewer: User, capability: Capability, *, own: bool = True) -> Q | None:
    """The patients whose records of this capability `viewer` may read (a model's `patient`):
    a patient their own (the right of access), else the scope table."""
    if viewer.access_role == Role.PATIENT:
        return Q(patient=viewer) if own else None
    return scopes.patient_q(viewer, capability, patient="patient")


# --- resource types -----------------------------------------------------------------------------
class ResourceType:
    name: str = ""
    capability: str = ""  # for the docs and the CapabilityStatement
    date_field: str | None = None
    patient_field: str | None = "patient"
    status_q: dict[str, Q] = {}

    def queryset(self, viewer: User) -> QuerySet | None:
        """The viewer's scope for this type; None when the type is outside their reach."""
        raise NotImplementedError

    def build(self, obj) -> dict:
        raise NotImplementedError

    def visible(self, viewer: User) -> bool:
        return self.queryset(viewer) is not None

    def filtered(self, viewer: User, search: Search) -> QuerySet:
        qs = self.queryset(viewer)
        if search.ids:
            ids = [u for u in (_uuid(i) for i in search.ids) if u]
            qs = qs.filter(public_id__in=ids)
        if search.patient is not None and self.patient_field:
            patient_id = _uuid(search.patient)
            qs = qs.filter(**{f"{self.patient_field}__public_id": patient_id}) if patient_id else qs.none()
        if search.dates and self.date_field:
            qs = qs.filter(_date_q(self.date_field, search.dates))
        if search.statuses:
            q = Q(pk__in=[])
            for s in search.statuses:
                q |= self.status_q.get(s, Q(pk__in=[]))
            qs = qs.filter(q)
        return qs

    def search(self, viewer: User, search: Search) -> tuple[int, list]:
        qs = self.filtered(viewer, search)
        total = qs.count()
        return total, list(qs[search.offset : search.offset + search.count])

    def get(self, viewer: User, resource_id: str):
        public_id = _uuid(resource_id)
        if public_id is None or str(public_id) != resource_id.lower():
            return None
        return self.queryset(viewer).filter(public_id=public_id).first()

    def audit_groups(self, objects: list) -> list[tuple[str | None, list]]:
        return [(None, objects)]


class PatientType(ResourceType):
    name = "Patient"
    capability = "a patient their own; else clinical, flags or scheduling reach"
    patient_field = None

    def queryset(self, viewer):
        qs = User.objects.filter(role=Role.PATIENT).select_related(
            "patient_profile__county", "patient_profile__assigned_physician"
        )
        if viewer.access_role == Role.PATIENT:
            return qs.filter(pk=viewer.pk)
        qs_scope = [scopes.patient_q(viewer, c) for c in (Capability.CLINICAL, Capability.FLAGS, Capability.SCHEDULING)]
        qs_scope = [q for q in qs_scope if q is not None]
        if not qs_scope:
            return None
        combined = qs_scope[0]
        for q in qs_scope[1:]:
            combined |= q
        return qs.filter(combined).order_by("id")

    def filtered(self, viewer, search):
        qs = super().filtered(viewer, search)
        if search.patient is not None:  # Patient?patient= is not a parameter; _id is
            patient_id = _uuid(search.patient)
            qs = qs.filter(public_id=patient_id) if patient_id else qs.none()
        return qs

    def build(self, user):
        return resources.patient(user, getattr(user, "patient_profile", None) if _has_profile(user) else None)


def _has_profile(user) -> bool:
    try:
        return user.patient_profile is not None
    except User.patient_profile.RelatedObjectDoesNotExist:
        return False


class PractitionerType(ResourceType):
    name = "Practitioner"
    capability = "credentials reach (every physician); a physician themselves; a patient the physicians of their care"
    patient_field = None

    def queryset(self, viewer):
        qs = (
            User.objects.filter(role=Role.PHYSICIAN)
            .select_related("physician_profile")
            .prefetch_related("state_licences", "dea_registrations", "nj_cds_registrations")
            .order_by("id")
        )
        if scopes.reach(viewer, Capability.CREDENTIALS) is Reach.ALL:
            return qs
        if viewer.access_role == Role.PHYSICIAN:
            return qs.filter(pk=viewer.pk)
        if viewer.access_role == Role.PATIENT:
            return qs.filter(pk__in=physicians_of(viewer))
        return None

    def build(self, user):
        profile = getattr(user, "physician_profile", None) if hasattr(user, "physician_profile") else None
        return resources.practitioner(
            user,
            profile,
            licences=list(user.state_licences.all()),
            deas=list(user.dea_registrations.all()),
            cds=list(user.nj_cds_registrations.all()),
        )


def physicians_of(patient: User) -> set[int]:
    """The physicians of a patient's care: assigned, seen, or prescribing."""
    ids = set(Appointment.objects.filter(patient=patient).values_list("physician_id", flat=True))
    ids |= set(
        Prescription.objects.filter(patient=patient, signed_at__isnull=False).values_list("physician_id", flat=True)
    )
    if _has_profile(patient) and patient.patient_profile.assigned_physician_id:
        ids.add(patient.patient_profile.assigned_physician_id)
    return ids


class AppointmentType(ResourceType):
    name = "Appointment"
    capability = (
        "scheduling (a patient their own, a physician their own visits, coordinators and the medical director all)"
    )
    date_field = "starts_at"
    status_q = {
        "booked": Q(status="booked"),
        "checked-in": Q(status="in_progress"),
        "fulfilled": Q(status="completed"),
        "cancelled": Q(status="cancelled"),
        "noshow": Q(status="no_show"),
    }

    def queryset(self, viewer):
        if scopes.reach(viewer, Capability.SCHEDULING) is Reach.NONE:
            return None
        return appointment_list(viewer=viewer)

    def build(self, appt):
        return resources.appointment(appt)


class EncounterType(AppointmentType):
    name = "Encounter"
    capability = "scheduling, completed visits only (never the visit note)"
    date_field = "completed_at"
    status_q = {"finished": Q(status="completed")}

    def queryset(self, viewer):
        qs = super().queryset(viewer)
        return None if qs is None else qs.filter(status="completed")

    def build(self, appt):
        return resources.encounter(appt)


class MedicationRequestType(ResourceType):
    name = "MedicationRequest"
    capability = "clinical (a patient their own)"
    date_field = "signed_at"

    @property
    def status_q(self):
        today = practice_date()
        return {
            "active": Q(status="signed") & (Q(expires_on__isnull=True) | Q(expires_on__gte=today)),
            "completed": Q(status="signed", expires_on__lt=today),
            "stopped": Q(status="superseded"),
            "cancelled": Q(status="cancelled"),
        }

    def queryset(self, viewer):
        scope = _patient_records_q(viewer, Capability.CLINICAL)
        if scope is None:
            return None
        return (
            Prescription.objects.filter(scope, signed_at__isnull=False)
            .select_related("patient", "physician", "product", "pharmacy", "supersedes")
            .order_by("-signed_at", "-id")
        )

    def build(self, rx):
        return resources.medication_request(rx, today=practice_date())


class MedicationDispenseType(ResourceType):
    name = "MedicationDispense"
    capability = "clinical (a patient their own)"
    date_field = "created_at"
    status_q = {
        fhir_status: Q(status__in=[k for k, v in resources._DISPENSE_STATUS.items() if v == fhir_status])
        for fhir_status in set(resources._DISPENSE_STATUS.values())
    }

    def queryset(self, viewer):
        scope = _patient_records_q(viewer, Capability.CLINICAL)
        if scope is None:
            return None
        return (
            DeliveryOrder.objects.filter(scope)
            .select_related("patient", "pharmacy", "prescription__product")
            .order_by("-created_at", "-id")
        )

    def build(self, order):
        return resources.medication_dispense(order)


class QuestionnaireResponseType(ResourceType):
    name = "QuestionnaireResponse"
    capability = "clinical (a patient their own)"
    date_field = "taken_at"
    status_q = {"completed": Q()}

    def queryset(self, viewer):
        scope = _patient_records_q(viewer, Capability.CLINICAL)
        if scope is None:
            return None
        return QuestionnaireResponse.objects.filter(scope).select_related("patient").order_by("-taken_at", "-id")

    def build(self, response):
        return resources.questionnaire_response(response)


class ConsentType(ResourceType):
    name = "Consent"
    capability = "clinical (a patient their own)"
    date_field = "signed_at"
    status_q = {"active": Q()}

    def queryset(self, viewer):
        scope = _patient_records_q(viewer, Capability.CLINICAL)
        if scope is None:
            return None
        return (
            ConsentSignature.objects.filter(scope).select_related("patient", "document").order_by("-signed_at", "-id")
        )

    def build(self, signature):
        return resources.consent(signature)


class FlagType(ResourceType):
    name = "Flag"
    capability = "flags (physicians their caseload, coordinators and the medical director all; not patients)"
    date_field = "opened_at"
    status_q = {"active": Q(status="open"), "inactive": Q(status="resolved")}

    def queryset(self, viewer):
        scope = _patient_records_q(viewer, Capability.FLAGS, own=False)
        if scope is None:
            return None
        return SafetyFlag.objects.filter(scope).select_related("patient").order_by("-opened_at", "-id")

    def build(self, safety_flag):
        return resources.flag(safety_flag)


# --- Observation: questionnaire totals, blood pressure, monthly headache days -------------------
_SURVEY, _VITALS = "survey", "vital-signs"


def _observation_sources(search: Search) -> dict[str, set[str] | None]:
    """Which sources (and instruments) the code and category parameters select:
    {"score": instruments or None for all, "bp": ..., "headache": ...}; a source absent is out."""
    sources: dict[str, set[str] | None] = {"score": None, "bp": None, "headache": None}
    if search.categories:
        cats = set(search.categories)
        if _SURVEY not in cats:
            sources.pop("score")
            sources.pop("headache")
        if _VITALS not in cats:
            sources.pop("bp")
    if search.codes:
        wanted = {c.split("|")[-1] for c in search.codes}
        instruments = {i for i in INSTRUMENTS if codes.INSTRUMENT_CODES[i].code in wanted}
        if "score" in sources:
            if instruments:
                sources["score"] = instruments
            else:
                sources.pop("score")
        if "bp" in sources and codes.BLOOD_PRESSURE_PANEL[0] not in wanted:
            sources.pop("bp")
        if "headache" in sources and codes.HEADACHE_DAYS[1] not in wanted:
            sources.pop("headache")
    return sources


class ObservationType(ResourceType):
    name = "Observation"
    capability = "clinical (a patient their own)"
    status_q = {"final": Q()}

    def queryset(self, viewer):
        scope = _patient_records_q(viewer, Capability.CLINICAL)
        if scope is None:
            return None
        return QuestionnaireResponse.objects.filter(scope)  # only says the type is in reach

    def _scoped(self, viewer, model, search: Search, date_field: str):
        scope = _patient_records_q(viewer, Capability.CLINICAL)
        qs = model.objects.filter(scope)
        if search.patient is not None:
            patient_id = _uuid(search.patient)
            qs = qs.filter(patient__public_id=patient_id) if patient_id else qs.none()
        if search.dates:
            qs = qs.filter(_date_q(date_field, search.dates))
        if search.ids:
            qs = qs.filter(public_id__in=[u for u in (_uuid(i) for i in search.ids) if u])
        return qs

    def _rows(self, viewer, search: Search) -> list[tuple[datetime, str, Any]]:
        if search.statuses and "final" not in search.statuses:
            return []
        sources = _observation_sources(search)
        rows: list[tuple[datetime, str, Any]] = []
        if "score" in sources:
            qs = self._scoped(viewer, QuestionnaireResponse, search, "taken_at")
            if sources["score"] is not None:
                qs = qs.filter(instrument__in=sources["score"])
            rows += [(t, "score", pk) for pk, t in qs.values_list("pk", "taken_at")]
        if "bp" in sources:
            qs = self._scoped(viewer, VitalReading, search, "measured_at")
            rows += [(t, "bp", pk) for pk, t in qs.values_list("pk", "measured_at")]
        if "headache" in sources and not search.ids:
            entries = HeadacheDiaryEntry.objects.filter(_patient_records_q(viewer, Capability.CLINICAL))
            if search.patient is not None:
                patient_id = _uuid(search.patient)
                entries = entries.filter(patient__public_id=patient_id) if patient_id else entries.none()
            for month in headache_months(entries):
                when = datetime.combine(month.month, time(0), tzinfo=practice_zone())
                if not search.dates or _date_matches(when, search.dates):
                    rows.append((when, "headache", month))
        rows.sort(key=lambda r: (r[0], str(r[2])), reverse=True)
        return rows

    def search(self, viewer, search):
        rows = self._rows(viewer, search)
        return len(rows), self._load(rows[search.offset : search.offset + search.count])

    def _load(self, rows) -> list:
        scores = QuestionnaireResponse.objects.select_related("patient").in_bulk(
            [pk for _, k, pk in rows if k == "score"]
        )
        vitals = VitalReading.objects.select_related("patient").in_bulk([pk for _, k, pk in rows if k == "bp"])
        out = []
        for _, kind, ref in rows:
            out.append(scores[ref] if kind == "score" else vitals[ref] if kind == "bp" else ref)
        return out

    def get(self, viewer, resource_id):
        scope = _patient_records_q(viewer, Capability.CLINICAL)
        if resource_id.startswith("headache-days-"):
            rest = resource_id.removeprefix("headache-days-")
            month_text, patient_text = rest[:7], rest[8:]
            patient_id = _uuid(patient_text)
            try:
                month = date.fromisoformat(f"{month_text}-01")
            except ValueError:
                return None
            if patient_id is None or rest[7:8] != "-":
                return None
            end = (month + timedelta(days=32)).replace(day=1)
            entries = HeadacheDiaryEntry.objects.filter(
                scope, patient__public_id=patient_id, date__gte=month, date__lt=end
            )
            found = headache_months(entries)
            return found[0] if found and found[0].resource_id == resource_id else None
        public_id = _uuid(resource_id)
        if public_id is None or str(public_id) != resource_id.lower():
            return None
        for model in (QuestionnaireResponse, VitalReading):
            obj = model.objects.filter(scope, public_id=public_id).select_related("patient").first()
            if obj is not None:
                return obj
        return None

    def build(self, obj):
        if isinstance(obj, resources.HeadacheMonth):
            return resources.headache_days(obj)
        if obj._meta.model_name == "vitalreading":
            return resources.blood_pressure(obj)
        return resources.score_observation(obj)

    def audit_groups(self, objects):
        groups: dict[str | None, list] = defaultdict(list)
        for obj in objects:
            groups["outcomes.headachemonth" if isinstance(obj, resources.HeadacheMonth) else None].append(obj)
        return list(groups.items())


def headache_months(entries: QuerySet) -> list[resources.HeadacheMonth]:
    """Monthly headache days from diary entries (their local dates), newest month first."""
    counts: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    for patient_id, day, headache in entries.values_list("patient_id", "date", "headache"):
        bucket = counts[(patient_id, day.replace(day=1))]
        bucket[1] += 1
        bucket[0] += int(bool(headache))
    patients = User.objects.in_bulk({pid for pid, _ in counts})
    months = [
        resources.HeadacheMonth(patient=patients[pid], month=month, headache_days=h, logged_days=n)
        for (pid, month), (h, n) in counts.items()
    ]
    months.sort(key=lambda m: (m.month, m.patient.pk), reverse=True)
    return months


TYPES: dict[str, ResourceType] = {
    t.name: t
    for t in (
        PatientType(),
        PractitionerType(),
        AppointmentType(),
        EncounterType(),
        MedicationRequestType(),
        MedicationDispenseType(),
        QuestionnaireResponseType(),
        ObservationType(),
        ConsentType(),
        FlagType(),
    )
}
