"""The caseload's read model (scheduling/caseload.py, docs/caseload.md): stored rows are the live
computation on generated data, a write to each kind of input shows on the next read, the clock
alone (a local midnight, a visit starting, a session leaving the 28 days) expires rows, a patient
moving physician, a write racing a computation, and `manage.py caseload_rebuild`.

In the treatment tests' frozen world (tests/treatment/conftest.py: 2026-11-20 15:00 UTC), as the
caseload shows the treatment and headache columns too."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing.models import SubscriptionStatus
from outcomes.services import diary_entry_put
from patients.models import PatientProfile, SafetyFlag
from patients.services.caseload import patient_assign_physician
from patients.services.questionnaires import questionnaire_submit
from patients.services.safety import safety_flag_raise, safety_flag_resolve
from prescriptions.models import OrderStatus
from scheduling import caseload, selectors
from scheduling.models import AppointmentStatus, CaseloadEntry
from scheduling.serializers import caseload_row_data
from scheduling.services.booking import appointment_cancel
from tests.billing.factories import StripeCustomerFactory, SubscriptionFactory
from tests.conftest import client_for
from tests.factories import PhysicianUserFactory
from tests.patients.factories import PatientProfileFactory, QuestionnaireFactory, SafetyFlagFactory
from tests.practice.factories import PhysicianProfileFactory, StateLicenseFactory
from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory
from tests.scheduling.factories import AppointmentFactory
from tests.treatment.conftest import check_in, dosing_session, run_session
from tests.treatment.test_caseload import _mixed_caseload, diary
from treatment.models import DosingSession, SessionStatus
from treatment.services.sessions import sessions_auto_close

pytestmark = pytest.mark.django_db

URL = "/api/v1/physician/caseload/"
PHQ9_MILD = [1, 1, 1, 1, 1, 1, 1, 0, 0]


def live(physician) -> list[dict]:
    """The caseload computed live, in the endpoint's order and shape."""
    profiles = list(selectors.caseload_queryset(physician=physician))
    return [caseload_row_data(r) for r in selectors.caseload_rows(profiles=profiles)]


def read(physician) -> list[dict]:
    response = client_for(physician).get(URL, {"page_size": 100})
    assert response.status_code == 200
    return response.json()["results"]


def row_of(physician, patient) -> dict:
    return next(r for r in read(physician) if r["patient"]["id"] == str(patient.public_id))


def trusted_rows_are_live(physician) -> int:
    """Every stored row the endpoint would show as it is equals the live computation; returns
    how many there were."""
    now = timezone.now()
    expected = {r["patient"]["id"]: r for r in live(physician)}
    shown = 0
    for profile in caseload.page_queryset(physician=physician):
        entry = caseload._stored(profile)
        if caseload.is_fresh(entry, physician_id=physician.pk, now=now):
            assert (
                caseload_row_data(caseload.row_from_entry(entry, profile.user)) == expected[str(profile.user.public_id)]
            )
            shown += 1
    return shown


def _practice(physicians: int = 3, per_physician: int = 8) -> list:
    """Several physicians, each with patients of every kind: prescriptions, sessions, diaries
    (tests/treatment/test_caseload.py), scores, flags, memberships, past and upcoming visits."""
    doctors = [PhysicianUserFactory() for _ in range(physicians)]
    now = timezone.now()
    for k, doctor in enumerate(doctors):
        for i, patient in enumerate(_mixed_caseload(doctor, per_physician, offset=k * per_physician)):
            if i % 2 == 0:
                SubscriptionFactory(customer=StripeCustomerFactory(patient=patient))
            if i % 3 != 2:
                QuestionnaireFactory(patient=patient, is_baseline=True)
            if i % 3 == 0:
                SafetyFlagFactory(patient=patient)
            AppointmentFactory(
                patient=patient,
                physician=doctor,
                starts_at=now - timedelta(days=10 + i),
                status=AppointmentStatus.COMPLETED,
                completed_at=now - timedelta(days=10 + i),
            )
            if i % 4 != 1:
                AppointmentFactory(patient=patient, physician=doctor, starts_at=now + timedelta(days=1, hours=i))
    return doctors


def test_every_stored_row_is_the_live_computation_on_a_generated_practice(physician, patient, rx, fill, api, clock):
    doctors = [physician, *_practice()]
    caseload.rebuild()
    for doctor in doctors:
        assert trusted_rows_are_live(doctor) == len(live(doctor))

    # Writes through the services (and the session API), then the invariant again before any
    # read: a stored row that would be shown is still exact.
    others = [PatientProfile.objects.filter(assigned_physician=d).order_by("user_id")[0].user for d in doctors[1:]]
    questionnaire_submit(actor=others[0], patient=others[0], instrument="phq9", answers=PHQ9_MILD)
    flag = safety_flag_raise(patient=others[1], kind="bp_hold").flag
    diary_entry_put(actor=others[2], patient=others[2], on=timezone.localdate(), data={"headache": True})
    session_id = run_session(api, patient, clock)
    upcoming = selectors.caseload_queryset(physician=doctors[1]).exclude(next_appointment_id=None)[0]
    appointment = upcoming.user.appointments.get(public_id=upcoming.next_appointment_id)
    appointment_cancel(actor=doctors[1], appointment=appointment)
    for doctor in doctors:
        trusted_rows_are_live(doctor)

    clock.shift(timedelta(hours=1))
    check_in(api, patient, session_id)
    safety_flag_resolve(actor=doctors[2], flag=flag, note="rechecked: normal")
    for doctor in doctors:
        trusted_rows_are_live(doctor)
        assert read(doctor) == live(doctor)  # the endpoint: stale rows recomputed, the rest stored
        assert trusted_rows_are_live(doctor) == len(live(doctor))  # and every row stored again


def _book(physician, patient):
    AppointmentFactory(patient=patient, physician=physician, starts_at=timezone.now() + timedelta(days=3))


def _cancel(physician, patient):
    appointment_cancel(actor=physician, appointment=patient.appointments.get())


def _score(physician, patient):
    questionnaire_submit(actor=patient, patient=patient, instrument="phq9", answers=PHQ9_MILD)


def _flag(physician, patient):
    safety_flag_raise(patient=patient, kind="bp_hold")


def _resolve(physician, patient):
    safety_flag_resolve(actor=physician, flag=SafetyFlag.objects.get(patient=patient), note="ok")


def _membership(physician, patient):
    SubscriptionFactory(customer=StripeCustomerFactory(patient=patient))


def _membership_ended(physician, patient):
    subscription = patient.subscriptions.get()
    subscription.status = SubscriptionStatus.CANCELED
    subscription.save()


def _prescription(physician, patient):
    SignedPrescriptionFactory(patient=patient, physician=physician)


def _delivery(physician, patient):
    rx = patient.prescriptions.get()
    DeliveryOrderFactory(prescription=rx, quantity=4, status=OrderStatus.DELIVERED, delivered_at=timezone.now())


def _session(physician, patient):
    dosing_session(patient.prescriptions.get(), at=timezone.now() - timedelta(hours=2))


def _open_session(physician, patient):
    rx = SignedPrescriptionFactory(patient=patient, physician=physician)
    dosing_session(rx, at=timezone.now() - timedelta(hours=12), ended=False)


def _auto_close(physician, patient):
    assert sessions_auto_close() == 1  # a compare-and-swap update(): no signal, a direct touch
    assert DosingSession.objects.get(patient=patient).status == SessionStatus.AUTO_CLOSED


def _diary(physician, patient):
    diary_entry_put(actor=patient, patient=patient, on=timezone.localdate(), data={"headache": True, "peak_pain": 6})


def _diary_days(physician, patient):
    diary(patient, dt.date(2026, 11, 20), days=1, headache_days=1)  # today in New York
    diary(patient, dt.date(2026, 10, 24), days=1, headache_days=1)  # 27 days back: in the window


def _zone(physician, patient):
    profile = PatientProfile.objects.get(user=patient)
    profile.time_zone = "Pacific/Kiritimati"  # UTC+14: already Nov 21 there, Oct 24 left the window
    profile.save(update_fields=["time_zone"])


# kind: (what is there before, the write, a column it changes)
WRITES = {
    "visit booked": (None, _book, "next_appointment_at"),
    "visit cancelled": (_book, _cancel, "next_appointment_at"),
    "score": (None, _score, "phq9"),
    "flag raised": (None, _flag, "open_safety_flags"),
    "flag resolved": (_flag, _resolve, "open_safety_flags"),
    "membership": (None, _membership, "subscription"),
    "membership ended": (_membership, _membership_ended, "subscription"),
    "prescription signed": (None, _prescription, "prescription_status"),
    "delivery": (_prescription, _delivery, "doses_left"),
    "session": (_prescription, _session, "sessions_last_28_days"),
    "session auto-closed": (_open_session, _auto_close, "overdue_check_in"),
    "headache diary": (None, _diary, "headache_days_last_28"),
    "patient's zone": (_diary_days, _zone, "headache_days_last_28"),
}


@pytest.mark.parametrize("kind", list(WRITES))
def test_a_write_to_each_input_changes_the_row_on_the_next_read(physician, kind):
    setup, write, column = WRITES[kind]
    patient = PatientProfileFactory(assigned_physician=physician).user
    if setup is not None:
        setup(physician, patient)
    read(physician)
    before = row_of(physician, patient)  # computed, stored, then read from the stored row
    entry = CaseloadEntry.objects.get(patient=patient)
    assert entry.computed_version == entry.version  # the row is stored and trusted
    write(physician, patient)
    assert row_of(physician, patient)[column] != before[column]
    assert read(physician) == live(physician)


def test_the_clock_alone_expires_rows_at_local_midnight_and_at_instants(physician, clock):
    """Nov 20 15:00 UTC is 09:00 in Chicago. The diary day 27 days back leaves the 28-day window
    at the patient's midnight, the session of 27 days 23 hours ago leaves `sessions_last_28_days`
    an hour later, and the visit in 30 minutes stops being the next one when it starts."""
    chicago = PatientProfileFactory(assigned_physician=physician, time_zone="America/Chicago").user
    diary(chicago, dt.date(2026, 10, 24), days=1, headache_days=1)  # the window's first day today
    rx = SignedPrescriptionFactory(patient=chicago, physician=physician)
    dosing_session(rx, at=timezone.now() - timedelta(days=27, hours=23))
    AppointmentFactory(patient=chicago, physician=physician, starts_at=timezone.now() + timedelta(minutes=30))
    read(physician)
    first = row_of(physician, chicago)
    assert (first["headache_days_last_28"], first["sessions_last_28_days"]) == (1, 1)
    assert first["next_appointment_at"] is not None

    clock.shift(timedelta(minutes=45))  # the visit started
    assert row_of(physician, chicago)["next_appointment_at"] is None
    clock.shift(timedelta(minutes=30))  # the session left the 28 days (24-hour periods)
    assert row_of(physician, chicago)["sessions_last_28_days"] == 0
    clock.move_to(dt.datetime(2026, 11, 21, 5, 59, tzinfo=dt.UTC))  # 23:59 in Chicago
    assert row_of(physician, chicago)["headache_days_last_28"] == 1
    clock.shift(timedelta(minutes=2))  # 00:01 on Nov 21 in Chicago: Oct 24 left the window
    assert row_of(physician, chicago)["headache_days_last_28"] is None
    assert read(physician) == live(physician)


def test_a_patient_moving_physician(physician, clock):
    other = PhysicianProfileFactory().user
    StateLicenseFactory(physician=other, state="FL")
    patient = PatientProfileFactory(assigned_physician=physician).user
    AppointmentFactory(patient=patient, physician=physician, starts_at=timezone.now() + timedelta(days=2))
    read(physician)
    assert row_of(physician, patient)["next_appointment_at"] is not None

    patient_assign_physician(actor=None, patient=patient, physician=other)
    assert str(patient.public_id) not in {r["patient"]["id"] for r in read(physician)}
    row = row_of(other, patient)
    assert row["next_appointment_at"] is None  # the visit is with the first physician
    assert read(other) == live(other)
    assert CaseloadEntry.objects.get(patient=patient).physician_id == other.pk


def test_a_write_while_a_row_is_computed_leaves_it_untrusted(physician):
    patient = PatientProfileFactory(assigned_physician=physician).user
    versions = caseload.versions_of([patient.pk])  # a reader read the version ...
    caseload.caseload_touch(patient_ids=[patient.pk])  # ... a write committed meanwhile ...
    caseload.refresh(physician=physician, versions=versions, now=timezone.now())  # ... then it stored
    entry = CaseloadEntry.objects.get(patient=patient)
    assert not caseload.is_fresh(entry, physician_id=physician.pk, now=timezone.now())
    read(physician)
    entry.refresh_from_db()
    assert caseload.is_fresh(entry, physician_id=physician.pk, now=timezone.now())


def test_a_stored_page_costs_four_queries_whatever_its_size(physician, django_assert_num_queries):
    _mixed_caseload(physician, 30)
    call_command("caseload_rebuild", stdout=StringIO())
    client = client_for(physician)
    client.get(URL, {"page_size": 1})  # per-process caches
    for size in (1, 5, 30):
        # auth, the page with its stored rows, the caseload's size (a full page cannot tell), the audit rows
        with django_assert_num_queries(4):
            response = client.get(URL, {"page_size": size})
        assert len(response.json()["results"]) == size and response.json()["count"] == 30
    with django_assert_num_queries(3):  # a page that ends the list tells the total
        response = client.get(URL, {"page_size": 20, "page": 2})
    assert len(response.json()["results"]) == 10 and response.json()["count"] == 30


def test_caseload_rebuild_is_idempotent_and_takes_one_physician(physician, other_physician):
    _mixed_caseload(physician, 5)
    PatientProfileFactory(assigned_physician=other_physician)
    out = StringIO()
    call_command("caseload_rebuild", "--physician", str(physician.public_id), stdout=out)
    assert "5/5 rows" in out.getvalue() and "caseload rebuilt: 5 rows" in out.getvalue()
    assert CaseloadEntry.objects.filter(physician=other_physician).count() == 0

    call_command("caseload_rebuild", stdout=StringIO())
    first = {e.pk: caseload_row_data(caseload.row_from_entry(e, e.patient)) for e in CaseloadEntry.objects.all()}
    call_command("caseload_rebuild", "--batch", "2", stdout=StringIO())
    again = {e.pk: caseload_row_data(caseload.row_from_entry(e, e.patient)) for e in CaseloadEntry.objects.all()}
    assert first == again and len(first) == 6
    assert trusted_rows_are_live(physician) == 5 and trusted_rows_are_live(other_physician) == 1
    with pytest.raises(CommandError):
        call_command("caseload_rebuild", "--physician", "nobody@example.test", stdout=StringIO())


# --- the order kept on the profile (patients/ordering.py, docs/caseload.md#order) -------------


def _names(physician, **params) -> list[tuple[str, str]]:
    response = client_for(physician).get(URL, {"page_size": 100, **params})
    assert response.status_code == 200
    return [(r["patient"]["last_name"], r["patient"]["first_name"]) for r in response.json()["results"]]


def _live_order(physician) -> list[tuple[str, str]]:
    return [(p.user.last_name, p.user.first_name) for p in caseload.page_queryset(physician=physician)]


def test_a_new_profile_copies_its_users_name():
    profile = PatientProfileFactory(user__last_name="Ng", user__first_name="Ada")
    profile.refresh_from_db()
    assert (profile.user_last_name, profile.user_first_name) == ("Ng", "Ada")


def test_a_name_change_moves_the_patient_in_the_caseload(physician):
    patients = [PatientProfileFactory(assigned_physician=physician, user__last_name=n).user for n in "BCD"]
    assert [n for n, _ in _names(physician)] == ["B", "C", "D"]
    patients[2].last_name = "A"
    patients[2].save()
    assert [n for n, _ in _names(physician)] == ["A", "B", "C"]
    assert _names(physician) == _live_order(physician)


def test_a_save_that_does_not_touch_the_name_costs_no_statement(physician, django_assert_num_queries):
    patient = PatientProfileFactory(assigned_physician=physician).user
    with django_assert_num_queries(1):  # the user's own UPDATE
        patient.save(update_fields=["last_login"])


def test_a_name_written_past_save_is_repaired_by_the_next_page(physician):
    for name in ("B", "C", "D"):
        PatientProfileFactory(assigned_physician=physician, user__last_name=name)
    from accounts.models import User

    User.objects.filter(last_name="D").update(last_name="A")  # no signal: the copy still says D
    assert [n for n, _ in _names(physician)] == ["A", "B", "C"]  # noticed on the page, repaired, read again
    copies = PatientProfile.objects.filter(assigned_physician=physician).values_list("user_last_name", flat=True)
    assert sorted(copies) == ["A", "B", "C"]


def test_caseload_rebuild_repairs_every_copy(physician, other_physician):
    PatientProfileFactory(assigned_physician=physician, user__last_name="Old")
    PatientProfileFactory(assigned_physician=other_physician, user__last_name="Old")
    from accounts.models import User

    User.objects.filter(last_name="Old").update(last_name="New")
    out = StringIO()
    call_command("caseload_rebuild", stdout=out)
    assert "2 name copies repaired" in out.getvalue()
    assert set(PatientProfile.objects.values_list("user_last_name", flat=True)) == {"New"}


def test_every_page_is_the_live_order_on_a_generated_practice(physician):
    surnames = ["Diaz", "diaz", "Díaz", "O'Neil", "Oneil", "", "Zhang", "Abel", "Abel", "Abel"]
    patients = [
        PatientProfileFactory(assigned_physician=physician, user__last_name=surname, user__first_name=f"P{i % 4}").user
        for i, surname in enumerate(surnames * 3)
    ]
    for patient in patients[::7]:  # renamed the ways the practice renames: save() (services, admin)
        patient.last_name, patient.first_name = "Aaron", patient.first_name + "x"
        patient.save()
    shown = []
    for page in (1, 2, 3, 4):
        response = client_for(physician).get(URL, {"page_size": 8, "page": page})
        assert response.status_code == 200 and response.json()["count"] == 30
        shown += [(r["patient"]["last_name"], r["patient"]["first_name"]) for r in response.json()["results"]]
    assert shown == _live_order(physician)
