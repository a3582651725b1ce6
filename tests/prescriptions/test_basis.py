"""The prescribing basis across the end of the federal telemedicine flexibilities (31 Dec 2026),
in the practice's time zone: a video-only patient is signable through 31 Dec and refused from
1 Jan 2027 until an in-person evaluation (or a practitioner-present visit) is on file; a new
policy row extending the flexibilities restores it with no deploy."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from billing.models import Subscription
from prescriptions.errors import SigningRefused
from prescriptions.models import PDMPCheck, PrescribingPolicy, PrescriptionStatus, RefillRequest
from prescriptions.services.basis import prescribing_basis
from prescriptions.services.signing import prescription_sign
from scheduling.models import Appointment, VisitPractitionerPresence
from tests.factories import PASSWORD
from tests.prescriptions.conftest import complete_epcs_signature
from tests.prescriptions.factories import PrescriptionFactory, SignedPrescriptionFactory
from tests.scheduling.factories import AppointmentFactory, InPersonEvaluationFactory

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")


def at(local: str):
    """time_machine at a New York wall-clock time (the practice's zone)."""
    return time_machine.travel(datetime.fromisoformat(local).replace(tzinfo=NY), tick=False)


def refresh_gates(patient):
    """Keep the other gates met at the travelled-to moment: PDMP today, membership current."""
    PDMPCheck.objects.filter(patient=patient).update(checked_at=timezone.now())
    Subscription.objects.filter(patient=patient).update(
        current_period_start=timezone.now() - timedelta(days=1),
        current_period_end=timezone.now() + timedelta(days=30),
    )


def codes_of(rx, physician) -> list[str]:
    with pytest.raises(SigningRefused) as exc:
        prescription_sign(actor=physician, prescription_id=rx.public_id, password=PASSWORD, pregnant_or_nursing=False)
    return [r["code"] for r in exc.value.reasons]


def sign(rx, physician):
    """Our gates, then the prescriber's EPCS signature at the (sandbox) vendor: a signed rx."""
    prescription_sign(actor=physician, prescription_id=rx.public_id, password=PASSWORD, pregnant_or_nursing=False)
    return complete_epcs_signature(rx)


def test_video_only_patient_is_signable_at_2330_on_31_december_in_new_york(patient, physician, draft):
    # 23:30 EST on 31 Dec is 04:30 UTC on 1 Jan: a UTC date would already apply the 2027 rule.
    with at("2026-12-31T23:30:00"):
        refresh_gates(patient)
        rx = sign(draft, physician)
    assert rx.status == PrescriptionStatus.SIGNED
    assert rx.prescribing_basis == "telemedicine_flexibility"
    assert rx.snapshot["prescribing_basis"] == "telemedicine_flexibility"
    assert rx.snapshot["issued_on"] == "2026-12-31"
    assert rx.expires_on == date(2027, 6, 30)


def test_video_only_patient_is_refused_from_the_first_minute_of_2027(patient, physician, draft):
    with at("2027-01-01T00:01:00"):
        refresh_gates(patient)
        assert codes_of(draft, physician) == ["in_person_evaluation_required"]
    draft.refresh_from_db()
    assert draft.status == PrescriptionStatus.DRAFT
    attempt = draft.signing_attempts.get()
    assert attempt.signing_date == date(2027, 1, 1)
    assert {"gate": "basis", "passed": False, "codes": ["in_person_evaluation_required"]} in attempt.checks


def test_an_in_person_evaluation_by_the_prescriber_restores_signing_in_2027(patient, physician, draft):
    with at("2027-01-04T10:00:00"):
        refresh_gates(patient)
        assert codes_of(draft, physician) == ["in_person_evaluation_required"]
        evaluation = InPersonEvaluationFactory(patient=patient, physician=physician, evaluated_on=date(2027, 1, 4))
        rx = sign(draft, physician)
    assert rx.prescribing_basis == "in_person_evaluation"
    evidence = rx.snapshot["prescribing_basis_evidence"]
    assert evidence["in_person_evaluation_id"] == str(evaluation.public_id)
    assert evidence["evaluated_on"] == "2027-01-04" and evidence["place_state"] == "FL"


def test_an_in_person_evaluation_counts_without_the_90_day_window_by_default(patient, physician, draft):
    with at("2027-06-01T10:00:00"):
        # The video evaluation stays recent; the in-person one is 17 months old.
        Appointment.objects.filter(patient=patient).update(completed_at=timezone.now() - timedelta(days=5))
        refresh_gates(patient)
        InPersonEvaluationFactory(patient=patient, physician=physician, evaluated_on=date(2026, 1, 10))
        assert sign(draft, physician).prescribing_basis == "in_person_evaluation"


def test_a_policy_limit_on_how_long_an_in_person_evaluation_counts(patient, physician, draft):
    PrescribingPolicy.objects.create(effective_from=date(2027, 1, 1), in_person_evaluation_valid_days=365)
    with at("2027-06-01T10:00:00"):
        Appointment.objects.filter(patient=patient).update(completed_at=timezone.now() - timedelta(days=5))
        refresh_gates(patient)
        InPersonEvaluationFactory(patient=patient, physician=physician, evaluated_on=date(2026, 5, 31))
        assert codes_of(draft, physician) == ["in_person_evaluation_required"]
        InPersonEvaluationFactory(patient=patient, physician=physician, evaluated_on=date(2026, 6, 1))
        assert sign(draft, physician).prescribing_basis == "in_person_evaluation"


def test_an_in_person_evaluation_by_another_physician_does_not_count(patient, physician, other_physician, draft):
    with at("2027-01-04T10:00:00"):
        refresh_gates(patient)
        InPersonEvaluationFactory(patient=patient, physician=other_physician, evaluated_on=date(2027, 1, 3))
        assert codes_of(draft, physician) == ["in_person_evaluation_required"]


def test_a_voided_in_person_evaluation_does_not_count(patient, physician, draft):
    with at("2027-01-04T10:00:00"):
        refresh_gates(patient)
        InPersonEvaluationFactory(
            patient=patient, physician=physician, evaluated_on=date(2027, 1, 3), voided_at=timezone.now()
        )
        assert codes_of(draft, physician) == ["in_person_evaluation_required"]


def test_an_in_person_evaluation_alone_satisfies_the_recent_evaluation_gate(patient, physician, draft):
    with at("2027-03-01T10:00:00"):
        Appointment.objects.filter(patient=patient).update(completed_at=timezone.now() - timedelta(days=120))
        refresh_gates(patient)
        assert codes_of(draft, physician) == ["evaluation_missing", "in_person_evaluation_required"]
        InPersonEvaluationFactory(patient=patient, physician=physician, evaluated_on=date(2027, 2, 20))
        assert sign(draft, physician).status == PrescriptionStatus.SIGNED


def _presence(appointment, physician, state="FL"):
    return VisitPractitionerPresence.objects.create(
        appointment=appointment,
        practitioner_name="Nina Reyes, APRN",
        practitioner_npi="1558598797",
        practitioner_dea_number="BB1388568",
        practitioner_state=state,
        recorded_by=physician,
    )


def test_a_practitioner_present_video_visit_is_a_basis_in_2027(patient, physician, draft):
    with at("2027-01-10T10:00:00"):
        refresh_gates(patient)
        visit = Appointment.objects.filter(patient=patient).get()
        visit.completed_at = timezone.now() - timedelta(days=2)
        visit.save(update_fields=["completed_at"])
        _presence(visit, physician)
        rx = sign(draft, physician)
    assert rx.prescribing_basis == "practitioner_present"
    evidence = rx.snapshot["prescribing_basis_evidence"]
    assert evidence["practitioner_dea_number"] == "BB1388568" and evidence["practitioner_state"] == "FL"
    assert evidence["appointment_id"] == str(visit.public_id)


def test_a_practitioner_registered_in_another_state_is_not_a_basis(patient, physician, draft):
    with at("2027-01-10T10:00:00"):
        refresh_gates(patient)
        visit = Appointment.objects.filter(patient=patient).get()
        visit.completed_at = timezone.now() - timedelta(days=2)
        visit.save(update_fields=["completed_at"])
        _presence(visit, physician, state="NJ")
        assert codes_of(draft, physician) == ["in_person_evaluation_required"]


def test_a_practitioner_present_visit_stops_counting_after_the_policy_window(patient, physician, draft):
    with at("2027-05-10T10:00:00"):
        refresh_gates(patient)
        old = Appointment.objects.filter(patient=patient).get()
        old.completed_at = timezone.now() - timedelta(days=91)
        old.save(update_fields=["completed_at"])
        _presence(old, physician)
        AppointmentFactory(
            patient=patient,
            physician=physician,
            starts_at=timezone.now() - timedelta(days=3),
            status="completed",
            completed_at=timezone.now() - timedelta(days=3),
            patient_state_at_visit="FL",
        )
        assert codes_of(draft, physician) == ["in_person_evaluation_required"]


def test_the_practitioner_present_ground_can_be_switched_off_by_policy(patient, physician, draft):
    PrescribingPolicy.objects.create(effective_from=date(2027, 1, 1), practitioner_present_allowed=False)
    with at("2027-01-10T10:00:00"):
        refresh_gates(patient)
        visit = Appointment.objects.filter(patient=patient).get()
        visit.completed_at = timezone.now() - timedelta(days=2)
        visit.save(update_fields=["completed_at"])
        _presence(visit, physician)
        assert codes_of(draft, physician) == ["in_person_evaluation_required"]


def test_a_fifth_extension_is_a_policy_row_not_a_deploy(patient, physician, draft):
    PrescribingPolicy.objects.create(
        effective_from=date(2026, 12, 20),
        telemedicine_flexibility_ends_on=date(2027, 12, 31),
        note="Fifth temporary extension",
    )
    with at("2027-01-04T10:00:00"):
        refresh_gates(patient)
        assert sign(draft, physician).prescribing_basis == "telemedicine_flexibility"


def test_special_registration_counts_only_once_a_policy_row_turns_it_on(patient, physician, draft):
    from practice.models import PhysicianProfile

    PhysicianProfile.objects.filter(user=physician).update(telemedicine_special_registration="TR1234567")
    with at("2027-01-04T10:00:00"):
        refresh_gates(patient)
        assert codes_of(draft, physician) == ["in_person_evaluation_required"]
    PrescribingPolicy.objects.create(effective_from=date(2027, 2, 1), special_registration_enabled=True)
    with at("2027-02-01T10:00:00"):
        refresh_gates(patient)
        rx = sign(draft, physician)
    assert rx.prescribing_basis == "special_registration"
    assert rx.snapshot["prescribing_basis_evidence"] == {"special_registration": "TR1234567"}


def test_an_in_person_evaluation_is_preferred_while_the_flexibilities_still_hold(patient, physician, draft):
    InPersonEvaluationFactory(patient=patient, physician=physician, evaluated_on=date(2026, 11, 2))
    assert sign(draft, physician).prescribing_basis == "in_person_evaluation"


def test_the_basis_function_judges_a_date_not_the_clock(patient, physician, ready):
    from prescriptions.policy import policy_on

    for on, expected in [(date(2026, 12, 31), "telemedicine_flexibility"), (date(2027, 1, 1), None)]:
        decision = prescribing_basis(patient=patient, physician=physician, state="FL", on=on, policy=policy_on(on))
        assert decision.basis == expected


def test_a_refill_at_2200_edt_on_the_expiry_day_is_accepted(patient, physician, signed, api):
    signed.expires_on = date(2027, 5, 20)
    signed.save(update_fields=["expires_on"])
    with at("2027-05-20T22:00:00"):  # 02:00 UTC on 21 May
        refresh_gates(patient)
        response = api(patient).post(
            f"/api/v1/patient/prescriptions/{signed.public_id}/refill-requests/", {}, format="json"
        )
        assert response.status_code == 201, response.json()
    with at("2027-05-21T00:30:00"):
        RefillRequest.objects.all().delete()
        response = api(patient).post(
            f"/api/v1/patient/prescriptions/{signed.public_id}/refill-requests/", {}, format="json"
        )
        assert response.status_code == 422 and response.json()["reasons"][0]["code"] == "prescription_expired"


def test_a_second_draft_signed_after_new_year_records_its_own_basis(patient, physician, signed, product, pharmacy):
    assert signed.prescribing_basis == "telemedicine_flexibility"
    nxt = PrescriptionFactory(
        patient=patient, physician=physician, product=product, pharmacy=pharmacy, supersedes=signed
    )
    with at("2027-01-05T09:00:00"):
        refresh_gates(patient)
        InPersonEvaluationFactory(patient=patient, physician=physician, evaluated_on=date(2027, 1, 5))
        assert sign(nxt, physician).prescribing_basis == "in_person_evaluation"
    signed.refresh_from_db()
    assert signed.prescribing_basis == "telemedicine_flexibility"  # a past signature keeps its basis


# --- The journey in 2027: book an in-person evaluation, complete it, sign --------------------
def test_video_only_patient_books_and_completes_an_in_person_evaluation_then_is_signable(
    api, patient, physician, draft, django_capture_on_commit_callbacks
):
    from scheduling.models import InPersonEvaluation, WeeklyAvailability
    from tests.scheduling.factories import VisitLocationFactory

    miami = VisitLocationFactory()
    # Mondays 13:00-16:00 at the Miami office (the location's wall-clock time).
    WeeklyAvailability.objects.create(
        physician=physician,
        location=miami,
        weekday=0,
        start_time=datetime.min.time().replace(hour=13),
        end_time=datetime.min.time().replace(hour=16),
    )
    with at("2027-01-04T09:00:00"):  # Monday 4 January 2027
        refresh_gates(patient)
        assert codes_of(draft, physician) == ["in_person_evaluation_required"]
        search = api(patient).get(
            "/api/v1/availability/",
            {"appointment_type": "in_person_evaluation", "start": "2027-01-04", "end": "2027-01-04"},
        )
        assert search.status_code == 200, search.json()
        [entry] = search.json()["results"]
        assert entry["location"]["address"].startswith("200 Biscayne Blvd")
        slot = entry["slots"][0]
        assert slot["starts_at"] == "2027-01-04T13:00:00-05:00"
        with django_capture_on_commit_callbacks(execute=True):
            booked = api(patient).post(
                "/api/v1/appointments/",
                {
                    "physician": str(physician.public_id),
                    "appointment_type": "in_person_evaluation",
                    "starts_at": slot["starts_at_utc"],
                    "idempotency_key": "in-person-2027-01-04",
                },
                format="json",
            )
        assert booked.status_code == 201, booked.json()
        # The readiness worklist shows the booked visit for the care team (for the current
        # prescription, signed in 2026 under the flexibilities).
        current = SignedPrescriptionFactory(patient=patient, physician=physician, expires_on=date(2027, 3, 1))
        draft.supersedes = current  # the new prescription replaces it (one active per product)
        draft.save(update_fields=["supersedes"])
        row = api(physician).get("/api/v1/staff/prescribing-readiness/", {"on": "2027-01-04"}).json()["results"][0]
        assert row["ready"] is False and row["next_in_person_visit"] is not None
    with at("2027-01-04T13:55:00"):
        done = api(physician).post(
            f"/api/v1/appointments/{booked.json()['id']}/complete/",
            {"visit_note": "Examined in person.", "attest_in_person": True, "others_present": "Medical assistant"},
            format="json",
        )
        assert done.status_code == 200, done.json()
        evaluation = InPersonEvaluation.objects.get(patient=patient)
        assert (evaluation.source, evaluation.evaluated_on) == ("visit", date(2027, 1, 4))
        refresh_gates(patient)
        signed = api(physician).post(
            f"/api/v1/physician/prescriptions/{draft.public_id}/sign/",
            {"password": PASSWORD, "patient_pregnant_or_nursing": False},
            format="json",
        )
        assert signed.status_code == 200, signed.json()
        complete_epcs_signature(draft)
    assert draft.status == PrescriptionStatus.SIGNED
    assert draft.prescribing_basis == "in_person_evaluation"
    assert draft.snapshot["prescribing_basis_evidence"]["in_person_evaluation_id"] == str(evaluation.public_id)


def test_a_physician_records_an_evaluation_done_elsewhere_and_lists_it(api, patient, physician, other_physician, draft):
    url = f"/api/v1/physician/patients/{patient.public_id}/in-person-evaluations/"
    body = {
        "evaluated_on": "2027-01-02",
        "place_state": "FL",
        "place_address": "Tampa General Hospital, 1 Tampa General Cir, Tampa, FL 33606",
        "others_present": "Resident physician",
    }
    with at("2027-01-03T10:00:00"):
        refresh_gates(patient)
        assert api(other_physician).post(url, body, format="json").status_code == 404  # not their caseload
        created = api(physician).post(url, body, format="json")
        assert created.status_code == 201, created.json()
        assert created.json()["source"] == "recorded" and created.json()["physician_id"] == str(physician.public_id)
        assert sign(draft, physician).prescribing_basis == "in_person_evaluation"
        listed = api(physician).get(url).json()
        assert [e["id"] for e in listed["results"]] == [created.json()["id"]]
        assert api(other_physician).get(url).status_code == 404
        assert api(patient).get(url).status_code == 403


def test_recording_an_evaluation_refuses_bad_input_with_codes(api, patient, physician, ready):
    url = f"/api/v1/physician/patients/{patient.public_id}/in-person-evaluations/"
    with at("2027-01-03T10:00:00"):
        future = api(physician).post(url, {"evaluated_on": "2027-01-04", "place_state": "FL", "place_address": "x"})
        assert future.status_code == 400 and future.json()["code"] == "date_in_future"
        other_state = api(physician).post(
            url, {"evaluated_on": "2027-01-02", "place_state": "GA", "place_address": "x"}
        )
        assert other_state.status_code == 400 and "place_state" in other_state.json()["fields"]
        bad_date = api(physician).post(url, {"evaluated_on": "02/01/2027", "place_state": "FL"})
        assert bad_date.status_code == 400 and "evaluated_on" in bad_date.json()["fields"]
        from scheduling.models import InPersonEvaluation

        assert not InPersonEvaluation.objects.exists()


def test_a_voided_evaluation_stops_counting_and_cannot_be_voided_twice(api, patient, physician, draft):
    url = f"/api/v1/physician/patients/{patient.public_id}/in-person-evaluations/"
    with at("2027-01-03T10:00:00"):
        refresh_gates(patient)
        created = (
            api(physician)
            .post(url, {"evaluated_on": "2027-01-02", "place_state": "FL", "place_address": "Office"}, format="json")
            .json()
        )
        void_url = f"/api/v1/physician/in-person-evaluations/{created['id']}/void/"
        voided = api(physician).post(void_url, {"reason": "Wrong patient"}, format="json")
        assert voided.status_code == 200 and voided.json()["voided_at"] is not None
        assert api(physician).post(void_url, {"reason": "again"}, format="json").json()["code"] == "already_voided"
        assert codes_of(draft, physician) == ["in_person_evaluation_required"]
