"""Role x route x method matrix, generated from the URL resolver.

A world holds patient A's records of every kind (profile, questionnaire, flag, assessment,
appointment, prescription, order, refill, PDMP check, subscription) with canaries planted in them
(A's email, last name, and the public ids of A's records). For every route, every role and every
method the route answers:

* a role outside the route's scope gets the same answer for A's record as for a random id
  (401/403/404/405, or 400 when input is refused before any lookup), so a status never tells a
  record exists; nothing in the database changes; the canaries never appear in the body;
* a role in scope reading A's record (GET) is not refused (not 401/403/404);
* no 5xx, ever.

A route without an entry in SPECS fails `test_every_route_has_a_matrix_entry`, so a new route
cannot ship unchecked.

Staff come in sub-roles (docs/roles-and-access.md): care_coordinator, pharmacy_liaison and
medical_director, beside admin. "staff" in a Spec means care_coordinator (what every staff
account was before the sub-roles), so entries written with the old names keep their meaning; the
other sub-roles are then outsiders of those routes and checked as such.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.utils import timezone

from tests.conftest import client_for
from tests.security.routes import Route, project_routes

ROLES = [
    "anonymous",
    "patient_a",
    "patient_b",
    "physician_a",
    "physician_b",
    "care_coordinator",
    "pharmacy_liaison",
    "medical_director",
    "admin",
]
ALIASES = {"staff": "care_coordinator"}
# Who sees patient A's records of each kind (accounts.scopes.REACH, as routes).
CARE_A = frozenset({"patient_a", "physician_a", "care_coordinator", "medical_director"})  # A's visits
CHART_A = frozenset({"physician_a", "medical_director"})  # questionnaires, vitals, visit notes
FLAGS_A = frozenset({"physician_a", "care_coordinator", "medical_director"})
PDMP_A = frozenset({"physician_a", "care_coordinator", "medical_director"})
REVIEW_QUEUE = frozenset({"care_coordinator", "medical_director"})
BILLING_STAFF = frozenset({"care_coordinator"})
SHIPPING_STAFF = frozenset({"care_coordinator", "pharmacy_liaison"})
CATALOGUE_STAFF = frozenset({"care_coordinator", "pharmacy_liaison", "medical_director"})
CREDENTIALS_STAFF = frozenset({"care_coordinator", "medical_director", "admin"})
MESSAGES_A = frozenset({"physician_a", "care_coordinator", "medical_director"})  # A's care team; no liaison
# The old names, for entries written before the sub-roles: "staff" is the care coordinator.
CLINICIANS_A = frozenset({"physician_a", "staff", "admin"})
BACK_OFFICE = frozenset({"staff", "admin"})
CANARY = "Canary7f3k"
NOTE_CANARY = "Notecanary4q"  # in A's visit note: only CHART_A may ever read it, on any route
MATRIX_STATS = {"routes": 0, "roles": len(ROLES), "checks": 0}
OUTSIDE = {400, 401, 403, 404, 405}


@dataclass(frozen=True)
class Spec:
    """`obj`: the URL kwargs pointing at A's record (None for collection routes).
    `sees_a`: roles that may see patient A's data through this route.
    `acts`: for object routes, roles in scope of A's record (default: `sees_a`)."""

    obj: Callable[[World], dict] | None = None
    sees_a: frozenset[str] = frozenset()
    acts: frozenset[str] | None = None

    def __post_init__(self):
        for name in ("sees_a", "acts"):
            roles = getattr(self, name)
            if roles is not None:
                object.__setattr__(self, name, frozenset(ALIASES.get(r, r) for r in roles))

    @property
    def in_scope(self) -> frozenset[str]:
        return self.acts if self.acts is not None else self.sees_a


def _a(attr: str, kwarg: str) -> Callable:
    return lambda w: {kwarg: getattr(w, attr).public_id}


def _fhir_id(attr: str) -> Callable:
    return lambda w: {"resource_id": getattr(w, attr).public_id}


def _once(build: Callable) -> Callable:
    """`Spec.obj` is called twice per route (A's URL, then the random one's keys): build once."""

    def obj(w):
        key = f"_once_{build.__name__}"
        if key not in w.__dict__:
            w.__dict__[key] = build(w)
        return w.__dict__[key]

    return obj


@_once
def _completed_visit_a(w) -> dict:
    from tests.scheduling.factories import AppointmentFactory

    visit = AppointmentFactory(
        patient=w.patient_a,
        physician=w.physician_a,
        starts_at=timezone.now() - dt.timedelta(days=9),
        status="completed",
        completed_at=timezone.now() - dt.timedelta(days=9),
        visit_note=f"{NOTE_CANARY} note",
    )
    w.canaries.append(str(visit.public_id))
    return {"resource_id": visit.public_id}


@_once
def _consent_a(w) -> dict:
    from patients.models import ConsentSignature

    doc = w.consent_document
    signature = ConsentSignature.objects.create(
        patient=w.patient_a, document=doc, document_kind=doc.kind, document_version=doc.version, body_sha256="0" * 64
    )
    w.canaries.append(str(signature.public_id))
    return {"resource_id": signature.public_id}


@_once
def _record_export_a(w):
    return _record_export_of_a(w)


def _record_export_of_a(w, **fields):
    from interop.models import RecordExport

    export = RecordExport.objects.create(patient=w.patient_a, requested_by=w.patient_a, **fields)
    w.canaries.append(str(export.public_id))
    return export


@_once
def _record_export_token_a(w) -> str:
    from interop.services import download_token

    export = _record_export_of_a(
        w,
        status="ready",
        progress=100,
        available_until=timezone.now() + dt.timedelta(days=1),
        bundle_json=json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [], "id": CANARY}),
        pdf_base64="",
    )
    return download_token(export, "bundle").token


_CHART_AND_SELF_A = CHART_A | {"patient_a"}
# FHIR type -> (A's record, who sees A's records of that type): accounts.scopes, as the JSON API.
FHIR_READS: dict[str, tuple[Callable, frozenset[str]]] = {
    "Patient": (_fhir_id("patient_a"), CARE_A),
    "Practitioner": (
        _fhir_id("physician_a"),
        frozenset({"patient_a", "physician_a", "care_coordinator", "medical_director", "admin"}),
    ),
    "Appointment": (_fhir_id("appointment_a"), CARE_A),
    "Encounter": (_completed_visit_a, CARE_A),
    "MedicationRequest": (_fhir_id("rx_a"), _CHART_AND_SELF_A),
    "MedicationDispense": (_fhir_id("order_a"), _CHART_AND_SELF_A),
    "QuestionnaireResponse": (_fhir_id("questionnaire_a"), _CHART_AND_SELF_A),
    "Observation": (_fhir_id("questionnaire_a"), _CHART_AND_SELF_A),
    "Consent": (_consent_a, _CHART_AND_SELF_A),
    "Flag": (_fhir_id("flag_a"), FLAGS_A),
}


SPECS: dict[str, Spec] = {
    # public and self-service
    "healthz": Spec(),
    "livez": Spec(),
    "readyz": Spec(),
    "metrics": Spec(),  # token-only: every role, signed in or not, gets 404 without METRICS_TOKEN
    "schema": Spec(),
    "api-docs": Spec(),
    "stripe-webhook": Spec(),
    "easypost-webhook": Spec(),
    "erx-webhook": Spec(),
    "twilio-sms-webhook": Spec(),
    "v1:devices": Spec(),
    "v1:notification-preferences": Spec(),
    "v1:auth-register": Spec(),
    "v1:auth-login": Spec(),
    "v1:auth-refresh": Spec(),
    "v1:auth-logout": Spec(),
    "v1:auth-password-reset": Spec(),
    "v1:auth-password-reset-confirm": Spec(),
    "v1:auth-me": Spec(sees_a=frozenset({"patient_a"})),
    "v1:auth-password-change": Spec(),
    "v1:auth-account-deletion": Spec(),
    "v1:appointment-types": Spec(),
    "v1:service-area-check": Spec(),
    "v1:service-area-counties": Spec(),
    "v1:visit-locations": Spec(),
    "v1:staff-visit-locations": Spec(),
    "v1:staff-visit-location-detail": Spec(obj=_a("visit_location", "public_id"), acts=CREDENTIALS_STAFF),
    "v1:assessment-create": Spec(),
    # billing
    "v1:billing:checkout-session": Spec(sees_a=frozenset({"patient_a"})),
    "v1:billing:subscription": Spec(sees_a=frozenset({"patient_a"})),
    "v1:billing:subscription-cancel": Spec(sees_a=frozenset({"patient_a"})),
    "v1:billing:portal-session": Spec(sees_a=frozenset({"patient_a"})),
    "v1:billing:invoices": Spec(sees_a=frozenset({"patient_a"})),
    "v1:billing:staff-subscriptions": Spec(sees_a=BILLING_STAFF),
    "v1:billing:staff-past-due": Spec(sees_a=BILLING_STAFF),
    "v1:billing:staff-invoices": Spec(sees_a=BILLING_STAFF),
    "v1:billing:sandbox-pay": Spec(sees_a=frozenset({"patient_a"})),
    "v1:billing:staff-sandbox-renewal": Spec(sees_a=BILLING_STAFF),
    # care team: the prescribing-readiness worklist (care coordinators and the medical director: everyone;
    # a physician: their caseload)
    "v1:staff-prescribing-readiness": Spec(sees_a=PDMP_A),
    # physicians' credentials (staff manage; a physician reads their own)
    "v1:staff-physicians": Spec(sees_a=CREDENTIALS_STAFF),
    "v1:staff-physician": Spec(obj=lambda w: {"physician_id": w.physician_a.public_id}, acts=CREDENTIALS_STAFF),
    "v1:staff-physician-licences": Spec(
        obj=lambda w: {"physician_id": w.physician_a.public_id}, acts=CREDENTIALS_STAFF
    ),
    "v1:staff-physician-licence": Spec(
        obj=lambda w: {"physician_id": w.physician_a.public_id, "credential_id": w.licence_a.public_id},
        acts=CREDENTIALS_STAFF,
    ),
    "v1:staff-physician-dea-registrations": Spec(
        obj=lambda w: {"physician_id": w.physician_a.public_id}, acts=CREDENTIALS_STAFF
    ),
    "v1:staff-physician-dea-registration": Spec(
        obj=lambda w: {"physician_id": w.physician_a.public_id, "credential_id": w.dea_a.public_id},
        acts=CREDENTIALS_STAFF,
    ),
    "v1:staff-physician-cds-registrations": Spec(
        obj=lambda w: {"physician_id": w.physician_a.public_id}, acts=CREDENTIALS_STAFF
    ),
    "v1:staff-physician-cds-registration": Spec(
        obj=lambda w: {"physician_id": w.physician_a.public_id, "credential_id": w.cds_a.public_id},
        acts=CREDENTIALS_STAFF,
    ),
    "v1:physician-credentials": Spec(),
    # patients: intake, consents, questionnaires, vitals, flags
    "v1:patient-profile": Spec(sees_a=frozenset({"patient_a"})),
    "v1:patient-consents": Spec(sees_a=frozenset({"patient_a"})),
    "v1:patient-consent-sign": Spec(
        obj=lambda w: {"document_id": w.consent_document.public_id},
        sees_a=frozenset({"patient_a"}),
        acts=frozenset({"patient_a", "patient_b"}),
    ),
    "v1:patient-questionnaires": Spec(sees_a=frozenset({"patient_a"})),
    "v1:patient-vitals": Spec(sees_a=frozenset({"patient_a"})),
    "v1:patient-pre-session-check": Spec(sees_a=frozenset({"patient_a"})),
    "v1:safety-flags": Spec(sees_a=FLAGS_A),
    "v1:safety-flag-resolve": Spec(obj=_a("flag_a", "flag_id"), sees_a=FLAGS_A, acts=frozenset({"physician_a"})),
    "v1:care-team-questionnaires": Spec(obj=_a("patient_a", "patient_id"), sees_a=CHART_A),
    "v1:care-team-vitals": Spec(obj=_a("patient_a", "patient_id"), sees_a=CHART_A),
    "v1:care-team-screenings": Spec(obj=_a("patient_a", "patient_id"), sees_a=CHART_A),
    "v1:care-team-contraindications": Spec(obj=_a("patient_a", "patient_id"), sees_a=CHART_A),
    "v1:contraindication-decision": Spec(
        obj=_a("contraindication_a", "contraindication_id"), sees_a=frozenset({"physician_a"})
    ),
    "v1:review-queue": Spec(sees_a=REVIEW_QUEUE),
    "v1:review-queue-assessments": Spec(sees_a=REVIEW_QUEUE),
    "v1:review-queue-registrations": Spec(sees_a=REVIEW_QUEUE),
    "v1:assessment-mark-reviewed": Spec(obj=_a("assessment_a", "assessment_id"), sees_a=REVIEW_QUEUE),
    "v1:assign-physician": Spec(obj=_a("patient_a", "patient_id"), sees_a=REVIEW_QUEUE),
    # scheduling
    "v1:availability": Spec(),
    "v1:availability-days": Spec(),
    "v1:appointments": Spec(sees_a=CARE_A),
    "v1:appointment-detail": Spec(obj=_a("appointment_a", "public_id"), sees_a=CARE_A),
    "v1:appointment-visit-note": Spec(obj=_a("appointment_a", "public_id"), sees_a=CHART_A),
    "v1:appointment-reschedule": Spec(obj=_a("appointment_a", "public_id"), sees_a=CARE_A),
    "v1:appointment-cancel": Spec(obj=_a("appointment_a", "public_id"), sees_a=CARE_A),
    "v1:appointment-start": Spec(obj=_a("appointment_a", "public_id"), sees_a=CARE_A),
    "v1:appointment-complete": Spec(obj=_a("appointment_a", "public_id"), sees_a=CARE_A),
    "v1:appointment-no-show": Spec(obj=_a("appointment_a", "public_id"), sees_a=CARE_A),
    "v1:appointment-join": Spec(obj=_a("appointment_a", "public_id"), sees_a=frozenset({"patient_a", "physician_a"})),
    "v1:appointment-ics": Spec(obj=_a("appointment_a", "public_id"), sees_a=frozenset({"patient_a", "physician_a"})),
    "v1:physician-calendar": Spec(sees_a=frozenset({"physician_a"})),
    "v1:physician-caseload": Spec(sees_a=frozenset({"physician_a"})),
    "v1:physician-patient-in-person-evaluations": Spec(
        obj=_a("patient_a", "patient_id"), sees_a=frozenset({"physician_a"})
    ),
    "v1:physician-in-person-evaluation-void": Spec(
        obj=_a("evaluation_a", "evaluation_id"), acts=frozenset({"physician_a"})
    ),
    "v1:weekly-availability": Spec(),
    "v1:weekly-availability-detail": Spec(obj=_a("weekly_a", "public_id"), acts=frozenset({"physician_a"})),
    "v1:availability-exceptions": Spec(),
    "v1:availability-exception-detail": Spec(obj=_a("exception_a", "public_id"), acts=frozenset({"physician_a"})),
    # prescriptions and delivery
    "v1:medication-list": Spec(),
    "v1:pharmacy-list": Spec(),
    "v1:staff-medication-list": Spec(),
    "v1:staff-medication-detail": Spec(obj=_a("product", "product_id"), acts=CATALOGUE_STAFF),
    "v1:physician-rx-list": Spec(sees_a=frozenset({"physician_a"})),
    "v1:physician-rx-detail": Spec(obj=_a("rx_a", "prescription_id"), sees_a=frozenset({"physician_a"})),
    "v1:physician-rx-sign": Spec(obj=_a("rx_draft_a", "prescription_id"), sees_a=frozenset({"physician_a"})),
    "v1:physician-rx-discard": Spec(obj=_a("rx_draft_a", "prescription_id"), sees_a=frozenset({"physician_a"})),
    "v1:physician-rx-epcs-session": Spec(obj=_a("rx_draft_a", "prescription_id"), sees_a=frozenset({"physician_a"})),
    "v1:physician-rx-sandbox-sign": Spec(obj=_a("rx_draft_a", "prescription_id"), sees_a=frozenset({"physician_a"})),
    "v1:pdmp-checks": Spec(obj=_a("patient_a", "patient_id"), sees_a=PDMP_A),
    "v1:physician-refill-queue": Spec(sees_a=frozenset({"physician_a"})),
    "v1:physician-refill-approve": Spec(obj=_a("refill_a", "refill_id"), sees_a=frozenset({"physician_a"})),
    "v1:physician-refill-decline": Spec(obj=_a("refill_a", "refill_id"), sees_a=frozenset({"physician_a"})),
    "v1:physician-order-list": Spec(sees_a=frozenset({"physician_a"})),
    "v1:patient-rx-list": Spec(sees_a=frozenset({"patient_a"})),
    "v1:patient-rx-detail": Spec(obj=_a("rx_a", "prescription_id"), sees_a=frozenset({"patient_a"})),
    "v1:patient-refill-request": Spec(obj=_a("rx_a", "prescription_id"), sees_a=frozenset({"patient_a"})),
    "v1:patient-order-list": Spec(sees_a=frozenset({"patient_a"})),
    "v1:patient-order-detail": Spec(obj=_a("order_a", "order_id"), sees_a=frozenset({"patient_a"})),
    "v1:staff-order-list": Spec(sees_a=SHIPPING_STAFF),
    "v1:staff-order-detail": Spec(obj=_a("order_a", "order_id"), sees_a=SHIPPING_STAFF),
    "v1:staff-order-transition": Spec(obj=_a("order_a", "order_id"), sees_a=SHIPPING_STAFF),
    # outcomes: the diary and its summaries, cluster attacks, reminders, review flags, the report
    "v1:headache-diary": Spec(sees_a=frozenset({"patient_a"})),
    # A date, not a record: each patient writes their own day, so patient B is in scope (of B's own day).
    "v1:headache-diary-entry": Spec(
        obj=lambda w: {"date": w.diary_a.date.isoformat()},
        sees_a=frozenset({"patient_a"}),
        acts=frozenset({"patient_a", "patient_b"}),
    ),
    "v1:headache-summary": Spec(sees_a=frozenset({"patient_a"})),
    "v1:cluster-attacks": Spec(sees_a=frozenset({"patient_a"})),
    "v1:diary-reminder": Spec(sees_a=frozenset({"patient_a"})),
    "v1:care-team-headache-summary": Spec(obj=_a("patient_a", "patient_id"), sees_a=CHART_A),
    "v1:outcome-report": Spec(obj=_a("patient_a", "patient_id"), sees_a=CHART_A),
    "v1:outcome-review-flags": Spec(sees_a=CHART_A),
    "v1:outcome-review-flag-resolve": Spec(obj=_a("outcome_flag_a", "flag_id"), sees_a=frozenset({"physician_a"})),
    # treatment: sessions, check-ins, supply
    "v1:patient-sessions": Spec(sees_a=frozenset({"patient_a"})),
    "v1:patient-session-end": Spec(obj=_a("session_a", "session_id"), sees_a=frozenset({"patient_a"})),
    "v1:patient-session-check-in": Spec(obj=_a("session_a", "session_id"), sees_a=frozenset({"patient_a"})),
    "v1:patient-supply": Spec(sees_a=frozenset({"patient_a"})),
    "v1:care-team-sessions": Spec(obj=_a("patient_a", "patient_id"), sees_a=CHART_A),
    # messaging: the patient's own thread; the care team's inbox and threads (not pharmacy liaisons)
    "v1:patient-messages": Spec(sees_a=frozenset({"patient_a"})),
    "v1:patient-message-attachment": Spec(obj=_a("message_a", "message_id"), sees_a=frozenset({"patient_a"})),
    "v1:care-team-inbox": Spec(sees_a=MESSAGES_A),
    "v1:care-team-messages": Spec(obj=_a("patient_a", "patient_id"), sees_a=MESSAGES_A),
    "v1:care-team-message-read": Spec(
        obj=lambda w: {"patient_id": w.patient_a.public_id, "message_id": w.message_a.public_id}, sees_a=MESSAGES_A
    ),
    "v1:care-team-message-attachment": Spec(
        obj=lambda w: {"patient_id": w.patient_a.public_id, "message_id": w.message_a.public_id}, sees_a=MESSAGES_A
    ),
    # interop: the FHIR read API (tests/interop) and the record export
    **{f"fhir-{name.lower()}-search": Spec(sees_a=roles) for name, (_, roles) in FHIR_READS.items()},
    **{f"fhir-{name.lower()}-read": Spec(obj=obj, sees_a=roles) for name, (obj, roles) in FHIR_READS.items()},
    "fhir-metadata": Spec(),
    "v1:patient-record-export": Spec(sees_a=frozenset({"patient_a"})),
    "v1:patient-record-export-detail": Spec(
        obj=lambda w: {"export_id": _record_export_a(w).public_id}, sees_a=frozenset({"patient_a"})
    ),
    "v1:care-team-record-export": Spec(obj=_a("patient_a", "patient_id"), sees_a=CHART_A),
    # The signed link is the credential: whoever holds it downloads (docs/fhir.md#record-export).
    "v1:record-export-download": Spec(obj=lambda w: {"token": _record_export_token_a(w)}, sees_a=frozenset(ROLES)),
}


@dataclass
class World:
    users: dict = field(default_factory=dict)

    def __getattr__(self, name):
        raise AttributeError(name)


def build_world() -> World:
    from patients.models import Assessment, ConsentDocument
    from scheduling.models import AvailabilityException, WeeklyAvailability
    from tests.billing.factories import InvoiceFactory, SubscriptionFactory
    from tests.factories import (
        AdminUserFactory,
        MedicalDirectorFactory,
        PatientUserFactory,
        PharmacyLiaisonFactory,
        PhysicianUserFactory,
        StaffUserFactory,
    )
    from tests.patients.factories import PatientProfileFactory, QuestionnaireFactory, SafetyFlagFactory
    from tests.practice.factories import (
        DEARegistrationFactory,
        NJCDSRegistrationFactory,
        PhysicianProfileFactory,
        StateLicenseFactory,
    )
    from tests.prescriptions.factories import (
        DeliveryOrderFactory,
        PDMPCheckFactory,
        PrescriptionFactory,
        ProductFactory,
        SignedPrescriptionFactory,
    )
    from tests.scheduling.factories import AppointmentFactory, InPersonEvaluationFactory, VisitLocationFactory

    w = World()
    w.physician_a = PhysicianUserFactory(email="matrix.dr.a@example.test")
    w.physician_b = PhysicianUserFactory(email="matrix.dr.b@example.test")
    for doc in (w.physician_a, w.physician_b):
        PhysicianProfileFactory(user=doc)
    w.licence_a = StateLicenseFactory(physician=w.physician_a)
    w.dea_a = DEARegistrationFactory(physician=w.physician_a)
    w.cds_a = NJCDSRegistrationFactory(physician=w.physician_a)
    w.patient_a = PatientUserFactory(email=f"{CANARY.lower()}.a@example.test", last_name=CANARY)
    w.patient_b = PatientUserFactory(email="matrix.b@example.test", last_name="Other")
    PatientProfileFactory(user=w.patient_a, legal_last_name=CANARY, assigned_physician=w.physician_a)
    PatientProfileFactory(user=w.patient_b, assigned_physician=w.physician_b)
    w.staff = StaffUserFactory(email="matrix.staff@example.test")
    w.pharmacy_liaison = PharmacyLiaisonFactory(email="matrix.pharmacy@example.test")
    w.medical_director = MedicalDirectorFactory(email="matrix.director@example.test")
    w.admin = AdminUserFactory(email="matrix.admin@example.test")

    w.questionnaire_a = QuestionnaireFactory(patient=w.patient_a)
    w.flag_a = SafetyFlagFactory(patient=w.patient_a)
    w.assessment_a = Assessment.objects.create(
        date_of_birth=dt.date(1985, 6, 15),
        zip_code="33139",
        state="FL",
        outcome="needs_review",
        claim_token_hash="0" * 64,
        patient=w.patient_a,
        contact_email=w.patient_a.email,
        consent_to_contact=True,
        claimed_at=timezone.now(),
    )
    w.consent_document = ConsentDocument.objects.order_by("id").first()
    from patients.models import Contraindication

    w.contraindication_a = Contraindication.objects.create(
        patient=w.patient_a, code="heart_disease", severity="review", source="assessment", source_date=dt.date.today()
    )
    start = timezone.now() + dt.timedelta(days=3)
    w.appointment_a = AppointmentFactory(
        patient=w.patient_a,
        physician=w.physician_a,
        starts_at=start.replace(second=0, microsecond=0),
        visit_note=f"{NOTE_CANARY} note",
    )
    w.weekly_a = WeeklyAvailability.objects.create(
        physician=w.physician_a, weekday=1, start_time=dt.time(9), end_time=dt.time(12)
    )
    w.exception_a = AvailabilityException.objects.create(
        physician=w.physician_a, date=timezone.localdate() + dt.timedelta(days=5), kind="time_off"
    )
    w.visit_location = VisitLocationFactory()
    w.product = ProductFactory()
    w.rx_a = SignedPrescriptionFactory(patient=w.patient_a, physician=w.physician_a, directions=f"{CANARY} directions")
    w.rx_draft_a = PrescriptionFactory(patient=w.patient_a, physician=w.physician_a)
    w.order_a = DeliveryOrderFactory(prescription=w.rx_a, ship_to_name=f"Alice {CANARY}")
    w.refill_a = apps.get_model("prescriptions", "RefillRequest").objects.create(
        prescription=w.rx_a, patient=w.patient_a
    )
    PDMPCheckFactory(patient=w.patient_a, checked_by=w.physician_a)
    w.evaluation_a = InPersonEvaluationFactory(
        patient=w.patient_a, physician=w.physician_a, evaluated_on=dt.date(2026, 11, 2), others_present=f"{CANARY} RN"
    )
    from outcomes.models import ClusterAttack, HeadacheDiaryEntry, OutcomeReviewFlag

    w.diary_a = HeadacheDiaryEntry.objects.create(
        patient=w.patient_a, date=timezone.localdate() - dt.timedelta(days=1), headache=True, peak_pain=5
    )
    w.attack_a = ClusterAttack.objects.create(
        patient=w.patient_a, started_at=timezone.now() - dt.timedelta(hours=5), minutes=30, side="left"
    )
    w.outcome_flag_a = OutcomeReviewFlag.objects.create(
        patient=w.patient_a, kind="medication_overuse", window_end=timezone.localdate()
    )
    w.session_a = _session_for(w.patient_a, w.rx_a)
    w.message_a = _message_for(w.patient_a)
    InvoiceFactory(subscription=SubscriptionFactory(customer__patient=w.patient_a))
    w.users = {
        "anonymous": None,
        "patient_a": w.patient_a,
        "patient_b": w.patient_b,
        "physician_a": w.physician_a,
        "physician_b": w.physician_b,
        "care_coordinator": w.staff,
        "pharmacy_liaison": w.pharmacy_liaison,
        "medical_director": w.medical_director,
        "admin": w.admin,
    }
    w.canaries = [CANARY, CANARY.lower()] + [
        str(o.public_id)
        for o in (
            w.patient_a,
            w.questionnaire_a,
            w.flag_a,
            w.assessment_a,
            w.contraindication_a,
            w.appointment_a,
            w.rx_a,
            w.rx_draft_a,
            w.order_a,
            w.refill_a,
            w.evaluation_a,
            w.attack_a,
            w.outcome_flag_a,
            w.session_a,
            w.message_a,
            w.message_a.thread,
        )
    ]
    return w


def _message_for(patient):
    """A's message to the care team, with a canary in its body and a PNG attached."""
    import io

    from django.core.files.base import ContentFile
    from PIL import Image

    from messaging.services import message_send_by_patient

    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, format="PNG")
    upload = ContentFile(buffer.getvalue(), name="scan.png")
    upload.size = len(buffer.getvalue())
    return message_send_by_patient(patient=patient, body=f"{CANARY} message", attachment=upload).message


def _session_for(patient, rx):
    """An open dosing session of patient A from a delivered fill (written directly: the matrix
    checks who may reach it, tests/treatment checks how it is started)."""
    from patients.services.vitals import Reading, pre_session_check_submit
    from tests.prescriptions.factories import DeliveryOrderFactory
    from treatment.models import DosingSession

    fill = DeliveryOrderFactory(prescription=rx, status="delivered", delivered_at=timezone.now())
    check = pre_session_check_submit(
        patient=patient,
        readings=[Reading(120, 80), Reading(118, 78)],
        rested_5_minutes=True,
        monitor_present=True,
        monitor_adult=True,
        monitor_sober=True,
    ).check
    return DosingSession.objects.create(
        patient=patient,
        prescription=rx,
        fill=fill,
        product=rx.product,
        pre_session_check=check,
        dose_units=1,
        dispensing_unit="troche",
        dose_text=rx.dose,
        monitor_name=CANARY,
        monitor_attested_at=timezone.now(),
        local_date=timezone.localdate(),
        time_zone="America/New_York",
    )


def _db_fingerprint() -> str:
    """A hash of every row of the project's tables: any insert, update or delete changes it."""
    digest = hashlib.sha256()
    for model in apps.get_models():
        if model._meta.app_label not in {
            "accounts",
            "billing",
            "practice",
            "patients",
            "scheduling",
            "prescriptions",
            "careteam",
            "outcomes",
            "treatment",
            "messaging",
            "notifications",
        }:
            continue
        if model._meta.label == "accounts.AuditEvent":
            continue  # reads are audited on purpose; audit rows are append-only and checked elsewhere
        rows = list(model.objects.order_by("pk").values_list())
        digest.update(model._meta.label.encode())
        digest.update(json.dumps(rows, default=str).encode())
    return digest.hexdigest()


def _url(route: Route, kwargs: dict | None) -> str:
    path = route.pattern
    for key, value in (kwargs or {}).items():
        start = path.index("<")
        while not path[start:].startswith("<") or f":{key}>" not in path[start : path.index(">", start) + 1]:
            start = path.index("<", start + 1)
        end = path.index(">", start)
        path = path[:start] + str(value) + path[end + 1 :]
    assert "<" not in path, f"{route.name}: unfilled URL parameter in {path}"
    return "/" + path


def _call(role_user, method: str, url: str):
    client = client_for(role_user)
    return getattr(client, method.lower())(url, {}, format="json") if method != "GET" else client.get(url)


ROUTES = [r for r in project_routes()]


def test_every_route_has_a_matrix_entry():
    missing = sorted(r.name or r.pattern for r in ROUTES if r.name not in SPECS)
    assert not missing, f"routes without a permission-matrix entry: {missing}"
    stale = sorted(set(SPECS) - {r.name for r in ROUTES})
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in ROUTES if r.name in SPECS], ids=lambda r: r.name)
def test_route_matrix(route):
    spec = SPECS[route.name]
    world = build_world()
    MATRIX_STATS["routes"] += 1
    methods = route.methods
    a_url = _url(route, spec.obj(world) if spec.obj else None)
    random_url = _url(route, {k: uuid.uuid4() for k in spec.obj(world)}) if spec.obj else None

    # 1. Everyone outside the scope of A's record first, with a fingerprint around them.
    outsiders = [r for r in ROLES if r not in spec.in_scope] if spec.obj else []
    before = _db_fingerprint() if outsiders else None
    for role in outsiders:
        for method in methods:
            MATRIX_STATS["checks"] += 1
            response = _call(world.users[role], method, a_url)
            control = _call(world.users[role], method, random_url)
            assert response.status_code in OUTSIDE, f"{role} {method} {a_url}: {response.status_code}"
            assert response.status_code == control.status_code, (
                f"{role} {method} {route.name}: {response.status_code} for A's record but "
                f"{control.status_code} for a random id (an existence oracle)"
            )
            _assert_no_canary(world, response, role, method, route)
    if outsiders:
        assert _db_fingerprint() == before, f"{route.name}: a refused request changed the database"

    # 2. Reads by every role: never a 5xx; A's data only to those who may see it.
    if "GET" in methods:
        for role in ROLES:
            MATRIX_STATS["checks"] += 1
            response = _call(world.users[role], "GET", a_url)
            assert response.status_code < 500, f"{role} GET {a_url}: {response.status_code}"
            if role not in CHART_A:
                _assert_no_visit_note(response, role, "GET", route)
            if role not in spec.sees_a:
                _assert_no_canary(world, response, role, "GET", route)
            elif spec.obj:
                assert response.status_code not in {401, 403, 404}, f"{role} may read {a_url}: {response.status_code}"


def _assert_no_canary(world, response, role, method, route):
    body = response.content.decode(errors="replace")
    leaked = [c for c in world.canaries if c in body]
    assert not leaked, f"{role} {method} {route.name} leaked patient A's data: {leaked}"


def _assert_no_visit_note(response, role, method, route):
    body = response.content.decode(errors="replace")
    assert NOTE_CANARY not in body, f"{role} {method} {route.name} leaked A's visit note"
