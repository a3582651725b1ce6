"""The one fill gate: signing, refill approval and any other fill (a staged shipment through
`delivery_order_create`) are refused by the same gates with the same codes; a patient who moved
is refused until a physician licensed in the new state prescribes; the issue-only gates
(prescriber profile, pregnancy attestation, one active prescription per product)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from prescriptions.errors import FillRefused, RefillRefused, SigningRefused
from prescriptions.models import DeliveryOrder, Prescription, PrescriptionStatus, RefillRequest
from prescriptions.services.orders import delivery_order_create
from prescriptions.services.refills import refill_request_approve, refill_request_create
from prescriptions.services.signing import prescription_sign
from tests.factories import PASSWORD
from tests.prescriptions.conftest import NJ_ADDRESS, enrol_epcs, make_ready
from tests.prescriptions.factories import PrescriptionFactory
from tests.prescriptions.test_signing import GATES, refusal_codes, sign

pytestmark = pytest.mark.django_db


def approve(physician, rx, quantity=None):
    refill = refill_request_create(actor=rx.patient, prescription_id=rx.public_id)
    return refill_request_approve(actor=physician, refill_id=refill.public_id, quantity=quantity)


def refill_refusal(physician, rx) -> list[str]:
    with pytest.raises(RefillRefused) as exc:
        approve(physician, rx)
    return [r["code"] for r in exc.value.reasons]


def move_to_new_jersey(patient):
    from patients.models import PatientProfile

    PatientProfile.objects.filter(user=patient).update(**NJ_ADDRESS, address_verified_at=timezone.now())


# --- every fill path shares the gates ------------------------------------------------------------
FILL_GATES = [(code, breaker) for code, breaker in GATES if code != "pdmp_check_missing"]


@pytest.mark.parametrize(("code", "breaker"), FILL_GATES, ids=[g[0] for g in FILL_GATES])
def test_a_refill_is_refused_by_each_gate_of_signing_with_its_code(patient, physician, signed, code, breaker):
    breaker({"patient": patient, "physician": physician, "rx": signed})
    signed.refresh_from_db()
    assert code in refill_refusal(physician, signed)
    assert DeliveryOrder.objects.filter(prescription=signed).count() == 1  # only the first fill
    assert RefillRequest.objects.get(prescription=signed).status == "open"


@pytest.mark.parametrize(("code", "breaker"), FILL_GATES, ids=[g[0] for g in FILL_GATES])
def test_a_staged_shipment_is_refused_by_each_gate_of_signing_with_its_code(patient, physician, signed, code, breaker):
    breaker({"patient": patient, "physician": physician, "rx": signed})
    signed.refresh_from_db()
    with pytest.raises(FillRefused) as exc:
        delivery_order_create(actor=physician, prescription=signed, quantity=2)
    assert exc.value.code == "fill_refused"
    assert code in [r["code"] for r in exc.value.reasons]
    assert DeliveryOrder.objects.filter(prescription=signed).count() == 1


def test_a_refill_with_every_gate_met_ships(patient, physician, signed):
    refill = approve(physician, signed, quantity=4)
    assert refill.status == "approved" and refill.order.sequence == 2


def test_a_refill_is_refused_for_an_unresolved_contraindication_found_after_signing(patient, physician, signed):
    from patients.services.screening import screening_record

    screening_record(actor=physician, patient=patient, contraindications=["liver_disease"], medications=[])
    assert refill_refusal(physician, signed) == ["open_safety_flag", "contraindication_unresolved"]


def test_a_refill_is_refused_when_the_screening_on_file_is_too_old(patient, physician, signed):
    from patients.models import Screening

    Screening.objects.filter(patient=patient).update(screened_at=timezone.now() - timedelta(days=400))
    assert refill_refusal(physician, signed) == ["screening_missing"]


def test_a_refill_is_refused_when_the_prescribing_basis_lapsed(patient, physician, signed):
    from scheduling.models import Appointment

    Appointment.objects.filter(patient=patient).update(completed_at=timezone.now() - timedelta(days=91))
    assert refill_refusal(physician, signed) == ["evaluation_missing"]


# --- a patient who moved --------------------------------------------------------------------------
def test_a_moved_patients_refill_is_refused_with_the_licensing_and_pharmacy_codes(
    patient, physician, ready, product, fl_only_pharmacy
):
    rx = PrescriptionFactory(patient=ready, physician=physician, product=product, pharmacy=fl_only_pharmacy)
    sign(rx, physician)
    rx.refresh_from_db()
    move_to_new_jersey(patient)
    codes = refill_refusal(physician, rx)
    # A physician licensed only in Florida, a pharmacy licensed only in Florida.
    assert {"no_licence", "dea_missing", "cds_missing"} <= set(codes)
    assert "pharmacy_not_licensed_for_state" in codes and "patient_state_changed" in codes
    assert DeliveryOrder.objects.filter(prescription=rx).count() == 1
    # The same refusal on any other fill path.
    with pytest.raises(FillRefused) as exc:
        delivery_order_create(actor=physician, prescription=rx, quantity=2)
    assert [r["code"] for r in exc.value.reasons] == codes


def test_a_moved_patient_is_refused_even_when_prescriber_and_pharmacy_hold_both_states(patient, physician, signed):
    from tests.practice.factories import DEARegistrationFactory, NJCDSRegistrationFactory, StateLicenseFactory

    StateLicenseFactory(physician=physician, state="NJ")
    DEARegistrationFactory(physician=physician, state="NJ", number="BB1388568")
    NJCDSRegistrationFactory(physician=physician)
    move_to_new_jersey(patient)
    # The prescription was issued for Florida: a new one, written for New Jersey, is needed.
    assert refill_refusal(physician, signed) == ["patient_state_changed"]


def test_after_moving_a_physician_licensed_there_can_prescribe_again(
    patient, physician, other_physician, signed, product, pharmacy
):
    from patients.models import PatientProfile
    from prescriptions.models import PDMPCheck
    from tests.practice.factories import (
        DEARegistrationFactory,
        NJCDSRegistrationFactory,
        PhysicianProfileFactory,
        StateLicenseFactory,
    )
    from tests.scheduling.factories import AppointmentFactory

    move_to_new_jersey(patient)
    PhysicianProfileFactory(
        user=other_physician,
        office_address_line1="1 Hudson St",
        office_city="Hoboken",
        office_state="NJ",
        office_zip_code="07030",
    )
    StateLicenseFactory(physician=other_physician, state="NJ")
    DEARegistrationFactory(physician=other_physician, state="NJ", number="BB1388568")
    NJCDSRegistrationFactory(physician=other_physician)
    PatientProfile.objects.filter(user=patient).update(assigned_physician=other_physician)
    start = timezone.now() - timedelta(days=2)
    AppointmentFactory(
        patient=patient,
        physician=other_physician,
        starts_at=start,
        status="completed",
        completed_at=start + timedelta(minutes=30),
        patient_state="NJ",
        patient_state_at_visit="NJ",
    )
    PDMPCheck.objects.create(
        patient=patient, checked_by=other_physician, state="NJ", checked_at=timezone.now(), result_summary="None."
    )
    new = PrescriptionFactory(
        patient=patient, physician=other_physician, product=product, pharmacy=pharmacy, supersedes=signed
    )
    enrol_epcs(other_physician)
    sign(new, other_physician)
    new.refresh_from_db()
    assert new.status == PrescriptionStatus.SIGNED and new.patient_state == "NJ"
    assert DeliveryOrder.objects.get(prescription=new).ship_to_state == "NJ"
    assert approve(other_physician, new, quantity=2).status == "approved"


# --- fill-only limits: expiry and refills, at their boundaries -------------------------------------
def test_a_refill_on_the_expiry_date_ships_and_the_day_after_is_refused(patient, physician, signed):
    import time_machine

    from billing.models import Subscription
    from patients.models import Screening
    from prescriptions.models import PrescribingPolicy

    assert signed.expires_on == date(2027, 5, 20)
    # Keep everything else valid in May 2027 so only the expiry can refuse.
    PrescribingPolicy.objects.create(
        effective_from=date(2026, 11, 1), evaluation_window_days=365, require_in_person_after_flex_end=False
    )
    Subscription.objects.filter(patient=patient).update(current_period_end=timezone.now() + timedelta(days=400))
    Screening.objects.filter(patient=patient).update(screened_at=timezone.now())
    with time_machine.travel("2027-05-20T15:00:00Z", tick=False):
        assert approve(physician, signed, quantity=1).status == "approved"
    with time_machine.travel("2027-05-21T15:00:00Z", tick=False):
        assert refill_refusal(physician, signed) == ["prescription_expired"]


def test_the_last_refill_ships_and_the_next_is_refused(patient, physician, signed):
    Prescription.objects.filter(pk=signed.pk).update(refills=1)
    signed.refresh_from_db()
    assert approve(physician, signed, quantity=1).status == "approved"  # fill 2 of 1 + 1 refill
    with pytest.raises(RefillRefused) as exc:
        refill_request_create(actor=patient, prescription_id=signed.public_id)
    assert [r["code"] for r in exc.value.reasons] == ["refills_exhausted"]


# --- issue-only gates -----------------------------------------------------------------------------
def test_signing_is_refused_without_the_prescribers_practice_address(physician, draft):
    from practice.models import PhysicianProfile

    PhysicianProfile.objects.filter(user=physician).update(office_address_line1="", office_city="")
    with pytest.raises(SigningRefused) as exc:
        sign(draft, physician)
    reasons = exc.value.reasons
    assert [r["code"] for r in reasons] == ["prescriber_profile_incomplete"]
    assert "office_address_line1" in reasons[0]["message"] and "office_city" in reasons[0]["message"]


def test_signing_is_refused_without_a_prescriber_profile(physician, draft):
    from practice.models import PhysicianProfile

    PhysicianProfile.objects.filter(user=physician).delete()
    assert refusal_codes(draft, physician) == ["prescriber_profile_incomplete"]


def test_signing_without_the_pregnancy_attestation_is_refused(api, physician, draft):
    response = api(physician).post(
        f"/api/v1/physician/prescriptions/{draft.public_id}/sign/", {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 422
    assert [r["code"] for r in response.json()["reasons"]] == ["pregnancy_status_not_attested"]
    with pytest.raises(SigningRefused) as exc:
        prescription_sign(actor=physician, prescription_id=draft.public_id, password=PASSWORD)
    assert [r["code"] for r in exc.value.reasons] == ["pregnancy_status_not_attested"]


def test_a_pregnant_or_nursing_attestation_refuses_and_goes_on_the_chart(api, patient, physician, draft):
    from patients.models import Contraindication, SafetyFlag

    response = api(physician).post(
        f"/api/v1/physician/prescriptions/{draft.public_id}/sign/",
        {"password": PASSWORD, "patient_pregnant_or_nursing": True},
        format="json",
    )
    assert response.status_code == 422
    assert [r["code"] for r in response.json()["reasons"]] == ["pregnant_or_nursing"]
    record = Contraindication.objects.get(patient=patient)
    assert (record.code, record.severity, record.source, record.status) == (
        "pregnant_or_nursing",
        "hard_stop",
        "signing_attestation",
        "unresolved",
    )
    assert SafetyFlag.objects.get(patient=patient, kind="screening_review").status == "open"
    # The next attempt (even attesting "no") is held by the chart until a physician decides.
    assert refusal_codes(draft, physician) == ["open_safety_flag", "contraindication_unresolved"]


def test_signing_is_refused_without_a_screening_on_file(patient, physician, draft):
    from patients.models import Screening

    Screening.objects.filter(patient=patient).delete()
    assert refusal_codes(draft, physician) == ["screening_missing"]


def test_the_screening_window_is_twelve_months_to_the_day(patient, physician, draft):
    from datetime import UTC, datetime

    from patients.models import Screening

    # Signing on 2026-11-20 in Florida: a screening of 2025-11-20 (local) is still on file...
    Screening.objects.filter(patient=patient).update(screened_at=datetime(2025, 11, 20, 5, 30, tzinfo=UTC))
    assert "screening_missing" not in _codes_or_none(draft, physician)
    # ...one of the evening of 2025-11-19 in Miami (already the 20th in UTC) is not.
    Screening.objects.filter(patient=patient).update(screened_at=datetime(2025, 11, 20, 4, 30, tzinfo=UTC))
    assert refusal_codes(draft, physician) == ["screening_missing"]


def test_the_screening_window_is_the_medical_directors_policy(patient, physician, draft):
    from patients.models import Screening
    from prescriptions.models import PrescribingPolicy

    Screening.objects.filter(patient=patient).update(screened_at=timezone.now() - timedelta(days=200))
    PrescribingPolicy.objects.create(effective_from=date(2026, 11, 1), screening_valid_months=6)
    assert refusal_codes(draft, physician) == ["screening_missing"]


def _codes_or_none(rx, physician) -> list[str]:
    from prescriptions.policy import policy_on
    from prescriptions.services.gates import run_gates

    on = date(2026, 11, 20)
    return run_gates(rx=rx, on=on, now=timezone.now(), policy=policy_on(on), pregnant_or_nursing=False).codes


# --- one active prescription per patient and product ----------------------------------------------
def _draft_body(rx, product, pharmacy, **extra):
    return {
        "patient": str(rx.patient.public_id),
        "product": str(product.public_id),
        "pharmacy": str(pharmacy.public_id),
        "dose": "100 mg",
        "directions": "One troche during a monitored session.",
        "quantity": 8,
        "days_supply": 30,
        "refills": 1,
        **extra,
    }


def test_a_second_draft_for_an_actively_prescribed_product_is_refused(api, physician, signed, product, pharmacy):
    url = "/api/v1/physician/prescriptions/"
    response = api(physician).post(url, _draft_body(signed, product, pharmacy), format="json")
    assert response.status_code == 409 and response.json()["code"] == "active_prescription_exists"
    assert Prescription.objects.filter(patient=signed.patient).count() == 1
    named = api(physician).post(
        url, _draft_body(signed, product, pharmacy, supersedes=str(signed.public_id)), format="json"
    )
    assert named.status_code == 201, named.json()


def test_another_product_or_an_expired_prescription_does_not_count(api, physician, signed, product, pharmacy):
    from tests.prescriptions.factories import ProductFactory

    spray = ProductFactory(name="Ketamine nasal spray", dosage_form="nasal_spray", route="intranasal")
    url = "/api/v1/physician/prescriptions/"
    assert api(physician).post(url, _draft_body(signed, spray, pharmacy), format="json").status_code == 201
    Prescription.objects.filter(pk=signed.pk).update(expires_on=date(2026, 11, 19))
    assert api(physician).post(url, _draft_body(signed, product, pharmacy), format="json").status_code == 201


def test_two_drafts_written_before_either_was_signed_cannot_both_be_signed(
    patient, physician, draft, product, pharmacy
):
    second = PrescriptionFactory(patient=patient, physician=physician, product=product, pharmacy=pharmacy)
    sign(draft, physician)
    assert refusal_codes(second, physician) == ["active_prescription_exists"]


@pytest.mark.django_db(transaction=True)
def test_two_drafts_of_one_product_signed_in_parallel_give_one_active_prescription(
    on_postgres, reference_data, patient, physician, product, pharmacy
):
    import threading

    from django.db import connection

    make_ready(patient, physician)
    drafts = [
        PrescriptionFactory(patient=patient, physician=physician, product=product, pharmacy=pharmacy) for _ in range(2)
    ]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(rx):
        try:
            barrier.wait()
            sign(rx, physician)
            outcomes.append("signed")
        except SigningRefused as exc:
            outcomes.append(",".join(r["code"] for r in exc.reasons))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(rx,)) for rx in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["active_prescription_exists", "signed"]
    assert Prescription.objects.filter(patient=patient, status=PrescriptionStatus.SIGNED).count() == 1
