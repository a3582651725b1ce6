"""The prescribing-readiness worklist, its CSV and command, and the daily watch before a policy
switch (notices once, counts without patient information)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from accounts.models import AuditEvent
from careteam.models import ReadinessDigest, ReadinessNotice
from careteam.readiness import next_policy_switch
from careteam.services import readiness_watch
from prescriptions.models import PrescribingPolicy
from tests.factories import PatientUserFactory
from tests.patients.factories import PatientProfileFactory
from tests.prescriptions.conftest import make_ready
from tests.prescriptions.factories import SignedPrescriptionFactory, licensed_pharmacy
from tests.scheduling.factories import InPersonEvaluationFactory

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
PATIENT_TEXT = "Please book your in-person visit with your physician. Open the app to choose a time."
URL = "/api/v1/staff/prescribing-readiness/"


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=NY), tick=False):
        yield


@pytest.fixture
def cohort(patient, other_patient, physician, other_physician):
    """Alice (FL, video only) and Bruno (NJ, in-person evaluation on file) with `physician`; Carla
    (FL, video only) with `other_physician`; Dan, whose prescription expired (not on treatment)."""
    pharmacy = licensed_pharmacy("FL", "NJ")
    make_ready(patient, physician)
    make_ready(other_patient, physician, state="NJ")
    carla = PatientUserFactory(email="carla@example.test", first_name="Carla", last_name="Cruz")
    make_ready(carla, other_physician)
    dan = PatientUserFactory(email="dan@example.test")
    PatientProfileFactory(user=dan, assigned_physician=other_physician)
    for who, doc in [(patient, physician), (other_patient, physician), (carla, other_physician)]:
        SignedPrescriptionFactory(patient=who, physician=doc, pharmacy=pharmacy)
    SignedPrescriptionFactory(patient=dan, physician=other_physician, pharmacy=pharmacy, expires_on=date(2026, 11, 1))
    InPersonEvaluationFactory(
        patient=other_patient, physician=physician, evaluated_on=date(2026, 11, 2), place_state="NJ"
    )
    return {"alice": patient, "bruno": other_patient, "carla": carla, "dan": dan}


def test_staff_see_every_patient_on_treatment_with_readiness_on_1_january(api, staff, cohort):
    body = api(staff).get(URL, {"on": "2027-01-01"}).json()
    assert body["on"] == "2027-01-01"
    assert body["totals"] == {"total": 3, "ready": 1, "not_ready": 2}
    rows = {r["patient_name"]: r for r in body["results"]}
    assert set(rows) == {"Alice Anders", "Bruno Baker", "Carla Cruz"}  # Dan's prescription expired
    assert rows["Alice Anders"]["ready"] is False
    assert rows["Alice Anders"]["reasons"] == ["in_person_evaluation_required"]
    assert rows["Bruno Baker"] == {**rows["Bruno Baker"], "ready": True, "basis": "in_person_evaluation"}
    assert [r["ready"] for r in body["results"]] == [False, False, True]  # not ready first
    assert {s["state"]: s["not_ready"] for s in body["by_state"]} == {"FL": 2, "NJ": 0}
    by_doc = {p["physician_name"]: (p["total"], p["not_ready"]) for p in body["by_physician"]}
    assert by_doc == {"Maria Lopez": (2, 1), "John Kim": (1, 1)}


def test_in_2026_everyone_is_ready_under_the_flexibilities(api, staff, cohort):
    body = api(staff).get(URL, {"on": "2026-12-31"}).json()
    assert body["totals"] == {"total": 3, "ready": 3, "not_ready": 0}
    assert {r["basis"] for r in body["results"]} == {"telemedicine_flexibility", "in_person_evaluation"}


def test_a_policy_row_extending_the_flexibilities_makes_the_worklist_all_ready(api, staff, cohort):
    assert api(staff).get(URL, {"on": "2027-01-01"}).json()["totals"]["not_ready"] == 2
    PrescribingPolicy.objects.create(
        effective_from=date(2026, 12, 15), telemedicine_flexibility_ends_on=date(2027, 12, 31)
    )
    body = api(staff).get(URL, {"on": "2027-01-01"}).json()
    assert body["totals"] == {"total": 3, "ready": 3, "not_ready": 0}
    assert body["policy"]["telemedicine_flexibility_ends_on"] == "2027-12-31"
    assert api(staff).get(URL, {"on": "2028-01-01"}).json()["totals"]["not_ready"] == 2


def test_a_physician_sees_only_their_caseload(api, physician, other_physician, cohort):
    body = api(physician).get(URL, {"on": "2027-01-01"}).json()
    assert {r["patient_name"] for r in body["results"]} == {"Alice Anders", "Bruno Baker"}
    assert api(other_physician).get(URL, {"on": "2027-01-01"}).json()["totals"]["total"] == 1


def test_patients_pharmacy_liaisons_and_anonymous_callers_are_refused(
    api, patient, pharmacy_liaison, admin_user, anon_client, cohort
):
    assert api(patient).get(URL).status_code == 404
    assert api(pharmacy_liaison).get(URL).status_code == 404  # minimum necessary: not their work
    assert api(admin_user).get(URL).status_code == 404
    assert anon_client.get(URL).status_code == 401


def test_the_medical_director_sees_every_patient(api, medical_director, cohort):
    assert api(medical_director).get(URL, {"on": "2027-01-01"}).json()["totals"]["total"] == 3


def test_a_bad_date_is_a_field_error(api, staff):
    response = api(staff).get(URL, {"on": "2027-13-01"})
    assert response.status_code == 400
    assert response.json()["fields"]["on"][0]["code"] == "invalid"


def test_the_worklist_reads_are_audited(api, staff, cohort):
    api(staff).get(URL, {"on": "2027-01-01"})
    assert AuditEvent.objects.filter(actor=staff, action="read", detail="readiness").count() == 3


def test_the_csv_export_has_a_row_per_patient(api, staff, cohort):
    response = api(staff).get(URL, {"on": "2027-01-01", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "prescribing-readiness-2027-01-01.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 3
    alice = next(r for r in rows if r["patient_name"] == "Alice Anders")
    assert (alice["ready"], alice["reasons"], alice["state"]) == ("no", "in_person_evaluation_required", "FL")


def test_the_csv_export_neutralises_spreadsheet_formulas(api, staff, cohort):
    from patients.models import PatientProfile

    PatientProfile.objects.filter(user=cohort["alice"]).update(legal_first_name="=HYPERLINK(1)")
    response = api(staff).get(URL, {"on": "2027-01-01", "format": "csv"})
    assert "'=HYPERLINK(1)" in response.content.decode()


def test_the_command_prints_the_counts(cohort):
    out = io.StringIO()
    call_command("prescribing_readiness", "--on", "2027-01-01", stdout=out)
    text = out.getvalue()
    assert "Patients on active treatment: 3  ready: 1  not ready: 2" in text
    assert "Maria Lopez" in text and "Alice" not in text


def test_the_next_switch_is_the_day_after_the_flexibilities_end():
    assert next_policy_switch(after=date(2026, 11, 30)) == date(2027, 1, 1)
    assert next_policy_switch(after=date(2027, 1, 1)) is None
    PrescribingPolicy.objects.create(
        effective_from=date(2026, 12, 20), telemedicine_flexibility_ends_on=date(2027, 12, 31)
    )
    assert next_policy_switch(after=date(2026, 11, 30)) == date(2028, 1, 1)


def _watch_at(local: str, capture=None):
    with time_machine.travel(datetime.fromisoformat(local).replace(tzinfo=NY), tick=False):
        if capture is None:
            return readiness_watch()
        with capture(execute=True):
            return readiness_watch()


def _deliveries(kind: str):
    """The email deliveries of a kind (patients with a phone also get the same text by SMS)."""
    from notifications.models import Delivery

    return Delivery.objects.filter(kind=kind, channel="email")


def test_nothing_is_written_before_the_notice_window(cohort):
    result = _watch_at("2026-11-16T08:00:00")  # 46 days before 1 Jan
    assert result.switch_on == date(2027, 1, 1) and not result.digest_written and result.notices_written == 0
    assert not ReadinessNotice.objects.exists() and not ReadinessDigest.objects.exists()


def test_inside_the_window_the_care_team_gets_counts_and_each_patient_not_ready_one_notice(
    cohort, settings, django_capture_on_commit_callbacks
):
    settings.CARE_TEAM_ALERT_EMAILS = ["care@practice.example"]
    result = _watch_at("2026-11-17T08:00:00", django_capture_on_commit_callbacks)  # 45 days before
    assert result.digest_written and result.notices_written == 2
    digest = next(m for m in mail.outbox if m.to == ["care@practice.example"])
    assert "not ready: 2" in digest.body and "2027-01-01" in digest.subject
    assert "Alice" not in digest.body and "Anders" not in digest.body
    notices = [m for m in mail.outbox if m is not digest]
    assert sorted(m.to[0] for m in notices) == ["carla@example.test", "patient.a@example.test"]
    assert all(m.body == PATIENT_TEXT for m in notices)
    assert ReadinessDigest.objects.get().counts["totals"] == {"total": 3, "ready": 1, "not_ready": 2}
    assert set(_deliveries("in_person_visit_needed").values_list("status", flat=True)) == {"sent"}


def test_a_second_run_the_same_day_writes_nothing_and_the_next_day_only_the_digest(cohort):
    _watch_at("2026-11-17T08:00:00")
    counts = (_deliveries("readiness_digest").count(), _deliveries("in_person_visit_needed").count())
    assert counts == (1, 2)
    again = _watch_at("2026-11-17T09:00:00")
    assert (again.digest_written, again.notices_written) == (False, 0)
    assert (_deliveries("readiness_digest").count(), _deliveries("in_person_visit_needed").count()) == counts
    next_day = _watch_at("2026-11-18T08:00:00")
    assert (next_day.digest_written, next_day.notices_written) == (True, 0)
    assert _deliveries("readiness_digest").count() == 2 and _deliveries("in_person_visit_needed").count() == 2


def test_a_patient_who_becomes_not_ready_later_gets_their_notice_then(cohort, physician):
    from scheduling.models import InPersonEvaluation

    _watch_at("2026-11-17T08:00:00")
    assert not ReadinessNotice.objects.filter(patient=cohort["bruno"]).exists()
    InPersonEvaluation.objects.filter(patient=cohort["bruno"]).update(voided_at=datetime(2026, 11, 20, tzinfo=NY))
    _watch_at("2026-11-21T08:00:00")
    assert ReadinessNotice.objects.filter(patient=cohort["bruno"]).count() == 1
    assert _deliveries("in_person_visit_needed").filter(recipient=cohort["bruno"]).count() == 1


def test_the_notice_text_carries_no_health_information(cohort):
    _watch_at("2026-11-17T08:00:00")
    for body in _deliveries("in_person_visit_needed").values_list("body", flat=True):
        assert body == PATIENT_TEXT
    digest = _deliveries("readiness_digest").get().body
    for name in ("Alice", "Anders", "Carla", "Cruz", "Bruno", "ketamine", "troche"):
        assert name not in digest


def test_the_watch_task_is_in_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["careteam-prescribing-readiness-watch"]
    assert entry["task"] == "careteam.tasks.prescribing_readiness_watch"
    _ = timedelta  # noqa: F841
