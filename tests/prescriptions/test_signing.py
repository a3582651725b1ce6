"""Signing: every gate of docs/prescribing.md#checks in one service, each failing alone gives its own code,
all failing reasons at once, a step-up, the snapshot, and immutability afterwards."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts.models import AuditEvent
from prescriptions.errors import PrescriptionSigned, SigningRefused, StepUpFailed
from prescriptions.models import (
    DeliveryOrder,
    PDMPCheck,
    PrescribingPolicy,
    Prescription,
    PrescriptionSignedError,
    PrescriptionStatus,
    SigningAttempt,
)
from prescriptions.services.signing import prescription_sign
from tests.factories import PASSWORD
from tests.prescriptions.conftest import complete_epcs_signature, make_ready
from tests.prescriptions.factories import PDMPCheckFactory, PrescriptionFactory

pytestmark = pytest.mark.django_db


SIGN_BODY = {"password": PASSWORD, "patient_pregnant_or_nursing": False}


def sign_url(rx):
    return f"/api/v1/physician/prescriptions/{rx.public_id}/sign/"


def sign(rx, physician):
    """Our signature (gates) then the prescriber's EPCS signature at the sandbox vendor."""
    prescription_sign(actor=physician, prescription_id=rx.public_id, password=PASSWORD, pregnant_or_nursing=False)
    return complete_epcs_signature(rx)


def refusal_codes(rx, physician) -> list[str]:
    with pytest.raises(SigningRefused) as exc:
        sign(rx, physician)
    return [r["code"] for r in exc.value.reasons]


# --- the passing case ---------------------------------------------------------------------------
def test_sign_passes_when_every_gate_is_met(api, physician, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(physician).post(sign_url(draft), SIGN_BODY, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "awaiting_epcs_signature"
    complete_epcs_signature(draft)
    assert draft.status == PrescriptionStatus.SIGNED and draft.signed_at is not None
    assert draft.expires_on == date(2027, 5, 20)  # issue + 6 months
    snap = draft.snapshot
    assert snap["patient_name"] == "Alice Anders"
    assert snap["patient_address"] == "1 Ocean Drive, Miami, FL 33139"
    assert snap["strength"] == "100 mg" and snap["dosage_form"] == "Buccal troche"
    assert (snap["quantity"], snap["directions"]) == (8, draft.directions)
    assert snap["prescriber_name"] == "Maria Lopez"
    assert snap["prescriber_address"] == "100 Clinic Way, Tampa, FL 33602"
    assert snap["prescriber_dea_number"] == "AP5836727"
    attempt = SigningAttempt.objects.get(prescription=draft)
    assert attempt.succeeded and attempt.reasons == [] and all(c["passed"] for c in attempt.checks)
    assert AuditEvent.objects.filter(object_id=str(draft.pk), action="sign", actor=physician).count() == 1
    # The first (staged, smaller) fill is created and handed off to the pharmacy.
    order = DeliveryOrder.objects.get(prescription=draft)
    assert (order.sequence, order.quantity, order.ship_to_state) == (1, 4, "FL")
    assert order.adult_signature_required is True
    order.refresh_from_db()
    assert order.status == "sent_to_pharmacy"


# --- each gate failing alone --------------------------------------------------------------------
def _break_evaluation(ctx):
    from scheduling.models import Appointment

    Appointment.objects.filter(patient=ctx["patient"]).update(completed_at=timezone.now() - timedelta(days=91))


def _break_licence(ctx):
    from practice.models import StateLicense

    StateLicense.objects.filter(physician=ctx["physician"]).update(expires_on=date(2026, 11, 19))


def _break_dea(ctx):
    from practice.models import DEARegistration

    DEARegistration.objects.filter(physician=ctx["physician"]).delete()


def _break_pdmp(ctx):
    PDMPCheck.objects.filter(patient=ctx["patient"]).delete()


def _break_safety(ctx):
    from tests.patients.factories import SafetyFlagFactory

    SafetyFlagFactory(patient=ctx["patient"])


def _break_consents(ctx):
    # A new version of a consent document: the patient has not signed it yet.
    from patients.models import ConsentDocument

    current = ConsentDocument.objects.order_by("kind", "-version").first()
    ConsentDocument.objects.create(
        kind=current.kind,
        version=current.version + 1,
        title=current.title,
        body=current.body + " (revised)",
        effective_at=timezone.now() - timedelta(minutes=1),
    )


def _break_subscription(ctx):
    from billing.models import Subscription

    Subscription.objects.filter(patient=ctx["patient"]).update(status="canceled")


def _break_days_supply(ctx):
    Prescription.objects.filter(pk=ctx["rx"].pk).update(days_supply=90)


def _break_refills(ctx):
    # The medical director lowered the refill limit after the draft was written.
    PrescribingPolicy.objects.create(effective_from=date(2026, 11, 1), max_refills=1)


def _break_pharmacy(ctx):
    ctx["rx"].pharmacy.state_licences.filter(state="FL").update(expires_on=date(2026, 11, 19))


def _break_product(ctx):
    ctx["rx"].product.__class__.objects.filter(pk=ctx["rx"].product_id).update(active=False)


def _break_address(ctx):
    from patients.models import PatientProfile

    PatientProfile.objects.filter(user=ctx["patient"]).update(address_verified_at=None)


GATES = [
    ("evaluation_missing", _break_evaluation),
    ("licence_expired", _break_licence),
    ("dea_missing", _break_dea),
    ("pdmp_check_missing", _break_pdmp),
    ("open_safety_flag", _break_safety),
    ("consents_missing", _break_consents),
    ("subscription_inactive", _break_subscription),
    ("days_supply_exceeds_limit", _break_days_supply),
    ("too_many_refills", _break_refills),
    ("pharmacy_not_licensed_for_state", _break_pharmacy),
    ("product_retired", _break_product),
    ("address_not_verified", _break_address),
]


@pytest.mark.parametrize(("code", "breaker"), GATES, ids=[g[0] for g in GATES])
def test_each_gate_failing_alone_refuses_with_its_code(patient, physician, draft, code, breaker):
    breaker({"patient": patient, "physician": physician, "rx": draft})
    draft.refresh_from_db()
    assert refusal_codes(draft, physician) == [code]
    draft.refresh_from_db()
    assert draft.status == PrescriptionStatus.DRAFT and draft.signed_at is None
    assert not DeliveryOrder.objects.filter(prescription=draft).exists()
    attempt = SigningAttempt.objects.get(prescription=draft)  # the refusal is on record
    assert attempt.succeeded is False and attempt.reasons == [code]


def test_unresolved_contraindication_refuses_signing(patient, physician, draft):
    from patients.services.screening import screening_record

    screening_record(actor=physician, patient=patient, contraindications=["heart_disease"], medications=[])
    # The screening also opens the review flag (dosing held), so both reasons show.
    assert refusal_codes(draft, physician) == ["open_safety_flag", "contraindication_unresolved"]


def test_every_failing_reason_is_returned_at_once(api, patient, physician, draft):
    _break_pdmp({"patient": patient})
    _break_consents({"patient": patient})
    _break_subscription({"patient": patient})
    response = api(physician).post(sign_url(draft), SIGN_BODY, format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "signing_refused"
    assert [r["code"] for r in body["reasons"]] == ["pdmp_check_missing", "consents_missing", "subscription_inactive"]
    # "Why was it refused?" stays answerable from the prescription's detail.
    detail = api(physician).get(f"/api/v1/physician/prescriptions/{draft.public_id}/").json()
    assert detail["signing_attempts"][0]["reasons"] == [
        "pdmp_check_missing",
        "consents_missing",
        "subscription_inactive",
    ]


# --- evaluation and the federal flexibility end date -------------------------------------------
def test_after_the_flexibility_end_date_an_in_person_evaluation_is_required(patient, physician, draft):
    PrescribingPolicy.objects.create(
        effective_from=date(2026, 11, 1), telemedicine_flexibility_ends_on=date(2026, 11, 19)
    )
    assert refusal_codes(draft, physician) == ["in_person_evaluation_required"]
    from tests.scheduling.factories import InPersonEvaluationFactory

    InPersonEvaluationFactory(patient=patient, physician=physician, evaluated_on=date(2026, 11, 18))
    assert sign(draft, physician).status == PrescriptionStatus.SIGNED


def test_the_default_policy_demands_in_person_from_2027(patient, physician, draft):
    with time_machine.travel("2027-01-04T15:00:00Z", tick=False):
        from scheduling.models import Appointment

        Appointment.objects.filter(patient=patient).update(completed_at=timezone.now() - timedelta(days=3))
        PDMPCheck.objects.filter(patient=patient).update(checked_at=timezone.now())
        from billing.models import Subscription

        Subscription.objects.filter(patient=patient).update(
            current_period_start=timezone.now(), current_period_end=timezone.now() + timedelta(days=30)
        )
        assert refusal_codes(draft, physician) == ["in_person_evaluation_required"]


def test_an_evaluation_by_another_physician_does_not_count(patient, physician, other_physician, draft):
    from scheduling.models import Appointment

    Appointment.objects.filter(patient=patient).update(physician=other_physician)
    assert refusal_codes(draft, physician) == ["evaluation_missing"]


# --- PDMP rules per state -----------------------------------------------------------------------
def test_florida_pdmp_check_from_yesterday_is_refused(patient, physician, draft):
    PDMPCheck.objects.filter(patient=patient).update(checked_at=timezone.now() - timedelta(days=1))
    assert refusal_codes(draft, physician) == ["pdmp_check_missing"]


def test_florida_same_day_means_the_patients_calendar_day(patient, physician, draft):
    # 23:30 in Miami the evening before is already "today" in UTC, but not in Florida.
    PDMPCheck.objects.filter(patient=patient).update(checked_at=datetime(2026, 11, 20, 4, 30, tzinfo=UTC))
    assert refusal_codes(draft, physician) == ["pdmp_check_missing"]
    PDMPCheckFactory(patient=patient, checked_by=physician, state="FL", checked_at=timezone.now() - timedelta(hours=2))
    assert sign(draft, physician).status == PrescriptionStatus.SIGNED


def test_a_pdmp_check_of_the_other_state_does_not_count(patient, physician, draft):
    PDMPCheck.objects.filter(patient=patient).update(state="NJ")
    assert refusal_codes(draft, physician) == ["pdmp_check_missing"]


@pytest.fixture
def nj_draft(other_patient, physician, product, pharmacy):
    make_ready(other_patient, physician, state="NJ", pdmp=False)
    return PrescriptionFactory(
        patient=other_patient, physician=physician, product=product, pharmacy=pharmacy, patient_state="NJ"
    )


def test_new_jersey_first_prescription_needs_a_pdmp_check(other_patient, physician, nj_draft):
    assert refusal_codes(nj_draft, physician) == ["pdmp_check_missing"]
    PDMPCheckFactory(patient=other_patient, checked_by=physician, state="NJ", checked_at=timezone.now())
    signed = sign(nj_draft, physician)
    assert signed.snapshot["prescriber_dea_number"] == "BB1388568"


def test_new_jersey_check_is_good_for_90_days_then_needed_again(other_patient, physician, nj_draft):
    check = PDMPCheckFactory(
        patient=other_patient, checked_by=physician, state="NJ", checked_at=timezone.now() - timedelta(days=91)
    )
    assert refusal_codes(nj_draft, physician) == ["pdmp_check_missing"]
    PDMPCheck.objects.filter(pk=check.pk).update(checked_at=timezone.now() - timedelta(days=89))
    assert sign(nj_draft, physician).status == PrescriptionStatus.SIGNED


def test_new_jersey_prescribing_needs_the_cds_registration(other_patient, physician, nj_draft):
    from practice.models import NJCDSRegistration

    PDMPCheckFactory(patient=other_patient, checked_by=physician, state="NJ", checked_at=timezone.now())
    NJCDSRegistration.objects.filter(physician=physician).delete()
    assert refusal_codes(nj_draft, physician) == ["cds_missing"]


def test_pdmp_check_endpoint_records_a_check_for_a_caseload_patient(api, patient, physician, ready):
    url = f"/api/v1/physician/patients/{patient.public_id}/pdmp-checks/"
    response = api(physician).post(url, {"result_summary": "No other prescribers."}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "FL" and body["checked_by"] == str(physician.public_id)
    assert AuditEvent.objects.filter(object_type="prescriptions.pdmpcheck", action="create").count() == 1


def test_pdmp_check_endpoint_allows_staff_delegates_and_hides_other_caseloads(
    api, patient, physician, other_physician, staff, ready
):
    url = f"/api/v1/physician/patients/{patient.public_id}/pdmp-checks/"
    assert api(staff).post(url, {"result_summary": "Delegate lookup."}, format="json").status_code == 201
    assert api(other_physician).post(url, {"result_summary": "x"}, format="json").status_code == 404
    assert api(patient).post(url, {"result_summary": "x"}, format="json").status_code == 404
    assert api(physician).get(url).json()["count"] == 2  # the fixture's and the delegate's


def test_pdmp_check_cannot_be_in_the_future(api, patient, physician, ready):
    url = f"/api/v1/physician/patients/{patient.public_id}/pdmp-checks/"
    future = (timezone.now() + timedelta(days=1)).isoformat()
    response = api(physician).post(url, {"result_summary": "x", "checked_at": future}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "checked_at_in_future"


# --- step-up, scope, double signature -----------------------------------------------------------
def test_wrong_password_is_403_step_up_failed_and_nothing_changes(api, physician, draft):
    response = api(physician).post(sign_url(draft), {"password": "not-my-password"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "step_up_failed"
    draft.refresh_from_db()
    assert draft.status == PrescriptionStatus.DRAFT
    assert not SigningAttempt.objects.exists()


def test_missing_password_is_a_validation_error(api, physician, draft):
    response = api(physician).post(sign_url(draft), {}, format="json")
    assert response.status_code == 400 and "password" in response.json()["fields"]


def test_another_physician_cannot_see_or_sign(api, other_physician, draft):
    assert api(other_physician).post(sign_url(draft), SIGN_BODY, format="json").status_code == 404


def test_signing_twice_is_409_prescription_signed(physician, draft):
    sign(draft, physician)
    with pytest.raises(PrescriptionSigned):
        sign(draft, physician)
    assert SigningAttempt.objects.filter(prescription=draft).count() == 1


def test_step_up_is_checked_in_the_service_too(physician, draft):
    with pytest.raises(StepUpFailed):
        prescription_sign(actor=physician, prescription_id=draft.public_id, password="")


# --- immutability -------------------------------------------------------------------------------
def test_a_signed_prescription_cannot_be_edited_through_the_api(api, physician, draft):
    sign(draft, physician)
    url = f"/api/v1/physician/prescriptions/{draft.public_id}/"
    response = api(physician).patch(url, {"quantity": 10}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "prescription_signed"
    draft.refresh_from_db()
    assert draft.quantity == 8


def test_the_model_refuses_to_change_or_delete_a_signed_prescription(physician, draft):
    sign(draft, physician)
    draft.refresh_from_db()
    draft.directions = "changed"
    with pytest.raises(PrescriptionSignedError):
        draft.save()
    draft.refresh_from_db()
    with pytest.raises(PrescriptionSignedError):
        draft.delete()
    assert Prescription.objects.get(pk=draft.pk).directions != "changed"


def test_a_change_is_a_new_prescription_that_supersedes_the_old(api, physician, draft, product, pharmacy):
    sign(draft, physician)
    response = api(physician).post(
        "/api/v1/physician/prescriptions/",
        {
            "patient": str(draft.patient.public_id),
            "product": str(product.public_id),
            "pharmacy": str(pharmacy.public_id),
            "dose": "100 mg",
            "directions": "One troche during a monitored session, twice weekly.",
            "quantity": 8,
            "days_supply": 28,
            "refills": 1,
            "supersedes": str(draft.public_id),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    new = Prescription.objects.get(public_id=response.json()["id"])
    sign(new, physician)
    new.refresh_from_db()
    draft.refresh_from_db()
    assert draft.status == PrescriptionStatus.SUPERSEDED
    assert new.supersedes_id == draft.pk and new.status == PrescriptionStatus.SIGNED
    assert draft.quantity == 8 and draft.snapshot  # the old record itself is unchanged


# --- concurrency --------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_concurrent_signing_gives_one_signature(on_postgres, reference_data, patient, physician, product, pharmacy):
    make_ready(patient, physician)
    rx = PrescriptionFactory(patient=patient, physician=physician, product=product, pharmacy=pharmacy)
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt():
        try:
            barrier.wait()
            prescription_sign(
                actor=physician, prescription_id=rx.public_id, password=PASSWORD, pregnant_or_nursing=False
            )
            outcomes.append("signed")
        except PrescriptionSigned:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "signed"]
    assert SigningAttempt.objects.filter(prescription=rx, succeeded=True).count() == 1
    assert rx.erx_submissions.count() == 1  # one proposal to the EPCS vendor


def test_signing_statement_budget(api, physician, draft):
    """Signing re-reads nothing (docs/write-budgets.md#signing): the draft is found in scope with
    its row and its patient's row locked and the prescriber's profile joined, in one statement;
    what the gates ask about the patient (profile, evaluation, safety flag, contraindications,
    screening, PDMP, the pharmacy's licence for the state, another active prescription) is one
    annotated read; the licensing gate's credentials give the snapshot its DEA number; queuing
    the EPCS proposal validates the three fields it changes without constraint round trips.

    The budget counts every statement of the request (the signed-in user, the step-up's lockout
    reads, every gate, the writes, the answer) except the request's own SAVEPOINT/RELEASE, which
    only the test's wrapping transaction produces. 68 statements at first, 36 before the gates'
    facts were folded; 23 now (goal 25)."""
    from django.test.utils import CaptureQueriesContext

    client = api(physician)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(sign_url(draft), SIGN_BODY, format="json")
    assert response.status_code == 200, response.json()
    statements = [q["sql"] for q in queries.captured_queries]
    savepoints = [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE"))]
    assert len(savepoints) == 2, savepoints  # the request's own atomic block, nothing for validation
    work = [s for s in statements if s not in savepoints]
    # 23, plus the caseload row's version bump (docs/caseload.md#invalidation).
    assert len(work) <= 24, "\n".join(s[:160] for s in work)
    assert sum('"patients_patientprofile"."legal_first_name"' in s for s in work) == 1
    assert sum('"practice_physicianprofile"."npi"' in s for s in work) == 1
