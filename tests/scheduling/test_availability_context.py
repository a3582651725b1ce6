"""The search context (physicians, profiles, licences) cached under the practice app's version:
a cached context is the live one. Every practice write it is read from replaces the version after
its commit, the daily expiry job's UPDATE included; a sign-in does not (docs/availability.md#caching).
Real practice rows here, not the scheduling tests' fake world."""

import datetime as dt
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from practice import search_context
from practice.services import credentials
from practice.services.expiry import credential_expiry_watch
from scheduling import availability_cache
from scheduling.models import WeeklyAvailability
from tests.factories import AdminUserFactory
from tests.practice.factories import PhysicianProfileFactory, StateLicenseFactory
from tests.scheduling.factories import book

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = {"date": "2026-06-02", "appointment_type": "free_consultation", "zip": "33101"}
CONTEXT_TABLES = ("practice_physicianprofile", "practice_statelicense", '"accounts_user"')


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def miami(monkeypatch):
    from practice import service_area

    class Result:
        served, reason, state, time_zone, county_choices = True, None, "FL", "America/New_York", []

    monkeypatch.setattr(service_area, "resolve_location", lambda z, c=None: Result())


@pytest.fixture
def doctor(physician):
    PhysicianProfileFactory(user=physician)
    StateLicenseFactory(physician=physician, state="FL")
    for weekday in range(7):
        WeeklyAvailability.objects.create(physician=physician, weekday=weekday, start_time=time(9), end_time=time(10))
    return physician


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def names(client) -> list[str]:
    body = client.get("/api/v1/availability/", DAY).json()
    return [item["physician"]["last_name"] for item in body["results"]]


def strip_physicians(client) -> int:
    params = {"start": "2026-06-02", "end": "2026-06-02", "appointment_type": "free_consultation", "zip": "33101"}
    return client.get("/api/v1/availability/days/", params).json()["days"][0]["physicians"]


def context_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if any(t in q["sql"] for t in CONTEXT_TABLES)]


def test_a_repeated_search_reads_no_physician_profile_or_licence(anon_client, doctor):
    assert names(anon_client) == [doctor.last_name]
    with CaptureQueriesContext(connection) as warm:
        assert names(anon_client) == [doctor.last_name]
    assert context_queries(warm.captured_queries) == []
    availability_cache.contexts.clear()  # another process: from the shared cache
    with CaptureQueriesContext(connection) as shared:
        assert names(anon_client) == [doctor.last_name]
    assert context_queries(shared.captured_queries) == []


def test_a_licence_suspended_through_the_service_leaves_the_next_search(anon_client, doctor, commit):
    assert names(anon_client) and strip_physicians(anon_client) == 1
    licence = doctor.state_licences.get()
    commit(credentials.state_licence_update, actor=AdminUserFactory(), licence=licence, status="suspended")
    assert names(anon_client) == [] and strip_physicians(anon_client) == 0


def test_a_new_licence_joins_the_next_search(anon_client, physician, commit):
    PhysicianProfileFactory(user=physician)
    WeeklyAvailability.objects.create(physician=physician, weekday=1, start_time=time(9), end_time=time(10))
    assert names(anon_client) == []
    commit(StateLicenseFactory, physician=physician, state="FL")
    assert names(anon_client) == [physician.last_name]


def test_the_expiry_job_bumps_the_version_it_changes_with_an_update(doctor, commit, frozen):
    from practice.selectors import licence_spans

    old = StateLicenseFactory(
        physician=doctor, state="FL", issued_on=dt.date(2020, 1, 1), expires_on=dt.date(2026, 5, 31)
    )
    before = search_context.version()
    assert (old.issued_on, old.expires_on) in licence_spans(state="FL")[doctor.pk]
    assert commit(credential_expiry_watch, today=dt.date(2026, 6, 1))["expired"] == 1
    assert search_context.version() != before
    assert (old.issued_on, old.expires_on) not in licence_spans(state="FL")[doctor.pk]
    unchanged = search_context.version()
    commit(credential_expiry_watch, today=dt.date(2026, 6, 1))  # nothing left to expire
    assert search_context.version() == unchanged


def test_an_expired_licence_leaves_the_search_by_its_date_before_the_job_runs(anon_client, physician, commit, frozen):
    PhysicianProfileFactory(user=physician)
    WeeklyAvailability.objects.create(physician=physician, weekday=1, start_time=time(9), end_time=time(10))
    WeeklyAvailability.objects.create(physician=physician, weekday=2, start_time=time(9), end_time=time(10))
    commit(
        StateLicenseFactory,
        physician=physician,
        state="FL",
        issued_on=dt.date(2020, 1, 1),
        expires_on=dt.date(2026, 6, 2),
    )
    assert names(anon_client) == [physician.last_name]  # valid through its expiry day
    day3 = {**DAY, "date": "2026-06-03"}
    assert anon_client.get("/api/v1/availability/", day3).json()["results"] == []


def test_a_profile_that_stops_accepting_leaves_free_consultations(anon_client, doctor, commit):
    assert names(anon_client) == [doctor.last_name]
    profile = doctor.physician_profile
    commit(
        credentials.physician_profile_update, actor=AdminUserFactory(), profile=profile, accepting_new_patients=False
    )
    assert names(anon_client) == []


def test_a_profile_zone_change_shows_in_the_next_search(anon_client, doctor, commit):
    before = anon_client.get("/api/v1/availability/", DAY).json()["results"][0]
    profile = doctor.physician_profile
    commit(credentials.physician_profile_update, actor=AdminUserFactory(), profile=profile, time_zone="America/Chicago")
    after = anon_client.get("/api/v1/availability/", DAY).json()["results"][0]
    assert (before["physician_time_zone"], after["physician_time_zone"]) == ("America/New_York", "America/Chicago")
    assert before["slots"][0]["starts_at"] == "2026-06-02T09:00:00-04:00"
    assert after["slots"][0]["starts_at"] == "2026-06-02T10:00:00-04:00"


def test_a_deactivated_renamed_or_demoted_physician_shows_in_the_next_search(anon_client, doctor, commit):
    doctor.last_name = "Renamed"
    commit(doctor.save)
    assert names(anon_client) == ["Renamed"]
    doctor.is_active = False
    commit(doctor.save, update_fields=["is_active"])
    assert names(anon_client) == []
    doctor.is_active = True
    commit(doctor.save)
    assert names(anon_client) == ["Renamed"]
    doctor.role = "patient"
    commit(doctor.save, update_fields=["role"])
    assert names(anon_client) == []


def test_a_sign_in_keeps_the_version(doctor, commit):
    from django.contrib.auth.models import update_last_login

    before = search_context.version()
    commit(update_last_login, None, doctor)
    assert search_context.version() == before
    commit(doctor.save)
    assert search_context.version() != before


def test_an_uncommitted_change_keeps_the_cached_context(anon_client, doctor):
    assert names(anon_client) == [doctor.last_name]
    doctor.state_licences.update(status="suspended")  # no signal, never committed in this test
    licence = doctor.state_licences.get()
    licence.save()  # a signal, but the version changes only after a commit
    assert names(anon_client) == [doctor.last_name]


def test_with_the_cache_off_the_context_is_read_live(anon_client, doctor, settings):
    settings.SCHEDULING_AVAILABILITY_CACHE_SECONDS = 0
    assert names(anon_client) == [doctor.last_name]
    doctor.state_licences.update(status="suspended")
    assert names(anon_client) == []


# --- whole answers remembered in the process (scheduling.selectors._answer) ---------------------


def test_a_repeated_search_is_assembled_once_in_a_process(anon_client, doctor, monkeypatch):
    from scheduling import selectors

    assembled = []
    real = selectors._search_pairs
    monkeypatch.setattr(selectors, "_search_pairs", lambda *a: assembled.append(a[0].render) or real(*a))
    first = anon_client.get("/api/v1/availability/", DAY).content
    strip = strip_physicians(anon_client)
    assert anon_client.get("/api/v1/availability/", DAY).content == first
    assert strip_physicians(anon_client) == strip == 1
    assert assembled == ["slots", "days"]
    availability_cache.forget_answers()  # another process: each entry from the shared cache
    assert anon_client.get("/api/v1/availability/", DAY).content == first
    assert assembled == ["slots", "days", "slots"]


def test_a_physician_reaching_the_new_patient_cap_leaves_a_remembered_answer(anon_client, doctor, commit):
    """The cap is read live (an assignment changes no version): the offered physicians are part of
    the answer's name, so the remembered answer is not the one given."""
    from tests.patients.factories import PatientProfileFactory

    profile = doctor.physician_profile
    commit(credentials.physician_profile_update, actor=AdminUserFactory(), profile=profile, new_patient_cap=1)
    assert names(anon_client) == [doctor.last_name]
    assert strip_physicians(anon_client) == 1
    PatientProfileFactory(assigned_physician=doctor)  # no commit hook: no version changes
    assert names(anon_client) == []
    assert strip_physicians(anon_client) == 0
    other = {**DAY, "appointment_type": "follow_up"}  # the cap is for new patients only
    assert anon_client.get("/api/v1/availability/", other).json()["results"] != []


@pytest.fixture
def cache_reads(monkeypatch):
    """The keys of each read of the shared cache, one tuple per round trip."""
    from django.core.cache import cache

    reads, inside = [], []
    real_get, real_get_many = cache.get, cache.get_many

    def get(key, *args, **kwargs):
        if not inside:  # the local-memory cache's get_many calls get per key
            reads.append((key,))
        return real_get(key, *args, **kwargs)

    def get_many(keys, *args, **kwargs):
        reads.append(tuple(keys))
        inside.append(1)
        try:
            return real_get_many(keys, *args, **kwargs)
        finally:
            inside.pop()

    monkeypatch.setattr(cache, "get", get)
    monkeypatch.setattr(cache, "get_many", get_many)
    return reads


def test_a_remembered_answer_costs_one_round_trip_for_its_versions(anon_client, doctor, cache_reads):
    """The appointment types', the search context's and the physicians' generation in one
    get_many (api.cache.prefetched); no physician's token is read for a remembered answer."""
    from scheduling import appointment_types

    first = anon_client.get("/api/v1/availability/", DAY).content
    cache_reads.clear()
    assert anon_client.get("/api/v1/availability/", DAY).content == first
    token = availability_cache.version_key(doctor.pk)
    versions = {appointment_types.version_key(), search_context.KEY, availability_cache.generation_key()}
    assert [set(keys) for keys in cache_reads if versions & set(keys) or token in keys] == [versions]
    availability_cache.forget_answers()  # another process: the answer is assembled again
    cache_reads.clear()
    assert anon_client.get("/api/v1/availability/", DAY).content == first
    assert [keys for keys in cache_reads if token in keys] == [(token,)]


def test_any_physicians_change_replaces_the_generation_with_their_token(doctor, other_physician, commit):
    from django.core.cache import cache

    other = other_physician
    before = availability_cache.generation()
    tokens = availability_cache.versions([doctor.pk, other.pk])
    commit(availability_cache.physician_changed, other.pk)
    assert availability_cache.generation() != before
    after = availability_cache.versions([doctor.pk, other.pk])
    assert (after[doctor.pk], after[other.pk] != tokens[other.pk]) == (tokens[doctor.pk], True)
    cache.delete(availability_cache.generation_key())  # forgotten (evicted): a new one
    assert availability_cache.generation() not in (None, before)


def test_a_booking_of_another_physician_changes_a_remembered_answer_name_not_its_slots(anon_client, doctor, commit):
    """Any physician's change is a new generation: the next search assembles the answer again,
    from the same cached entries of the physicians who did not change."""
    first = anon_client.get("/api/v1/availability/", DAY).content
    commit(availability_cache.physician_changed, doctor.pk + 1000)
    with CaptureQueriesContext(connection) as queries:
        assert anon_client.get("/api/v1/availability/", DAY).content == first
    assert not [q for q in queries.captured_queries if "scheduling_weeklyavailability" in q["sql"]]


def test_a_booking_leaves_a_remembered_day_view_and_strip(anon_client, doctor, commit):
    from tests.factories import PatientUserFactory
    from tests.scheduling.factories import AppointmentFactory

    def starts():
        body = anon_client.get("/api/v1/availability/", DAY).json()
        return [s["starts_at_utc"] for item in body["results"] for s in item["slots"]]

    def strip_earliest():
        params = {"start": "2026-06-02", "end": "2026-06-02", "appointment_type": "free_consultation", "zip": "33101"}
        return anon_client.get("/api/v1/availability/days/", params).json()["days"][0]["earliest_start"]

    patient = PatientUserFactory()  # (a new user is a practice write of its own)
    before, earliest_before = starts(), strip_earliest()
    assert before[0] == "2026-06-02T13:00:00Z" and (starts(), strip_earliest()) == (before, earliest_before)
    starts_at = datetime(2026, 6, 2, 13, 0, tzinfo=UTC)
    commit(AppointmentFactory.create, physician=doctor, patient=patient, starts_at=starts_at)
    after = starts()
    assert "2026-06-02T13:00:00Z" not in after and len(after) < len(before)
    assert strip_earliest() > earliest_before


# --- the booking's statements on real rows (docs/write-budgets.md#booking) -----------------------


def booking_statements(client, physician, **kwargs) -> tuple[list[str], str]:
    """The statements of one booking through the API (the transaction's BEGIN / COMMIT left out)
    and their listing for a failure message."""
    with CaptureQueriesContext(connection) as queries:
        response = book(client, physician, **kwargs)
    assert response.status_code == 201, response.json()
    work = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN IMMEDIATE", "BEGIN", "COMMIT")]
    return work, "\n".join(s[:160] for s in work)


def own_reads_of(work: list[str], *apps: str) -> list[str]:
    """The statements that read the apps' tables as their own FROM (not joined or subqueried)."""
    return [s for s in work if any(f'FROM "{app}_' in s.split(" WHERE ")[0].split(" JOIN ")[0] for app in apps)]


@pytest.mark.django_db(transaction=True)
def test_a_new_patients_first_booking_on_real_rows_runs_ten_statements(api, doctor, commit):
    """The write budget (docs/write-budgets.md#booking) on real rows, every contract real: the
    user; the lock, which also reads both profiles (outer joins); the limits, with the consult
    licence's yes; weekly hours; exceptions; the visits around; four writes (visit, caseload bump,
    reminders, audit). No statement of its own for a profile or a licence."""
    from scheduling.selectors import appointment_type_get
    from tests.billing.factories import SubscriptionFactory
    from tests.patients.factories import PatientProfileFactory

    profile = PatientProfileFactory()
    SubscriptionFactory(customer__patient=profile.user)
    appointment_type_get(code="free_consultation")  # cached by the search before any booking
    work, listing = booking_statements(api(profile.user), doctor, starts_at="2026-06-02T13:00:00Z")
    assert len(work) == 10, listing
    assert own_reads_of(work, "practice", "patients", "billing") == [], listing
    lock = next(s for s in work if '"has_device"' in s)  # FOR UPDATE on PostgreSQL
    assert 'LEFT OUTER JOIN "patients_patientprofile"' in lock, lock
    assert 'LEFT OUTER JOIN "practice_physicianprofile"' in lock, lock
    gates = next(s for s in work if '"licensed"' in s)
    assert '"practice_statelicense"' in gates and '"standing_status"' not in gates, gates


@pytest.mark.django_db(transaction=True)
def test_a_members_follow_up_on_real_rows_runs_ten_statements(api, doctor, commit):
    """A follow-up needs good standing: what it judges of the current subscription is read in the
    limits' statement, not on its own (the benchmark's booking is this one)."""
    from scheduling.selectors import appointment_type_get
    from tests.billing.factories import SubscriptionFactory
    from tests.patients.factories import PatientProfileFactory

    profile = PatientProfileFactory(assigned_physician=doctor)
    SubscriptionFactory(customer__patient=profile.user)
    appointment_type_get(code="follow_up")
    work, listing = booking_statements(
        api(profile.user), doctor, starts_at="2026-06-02T13:00:00Z", appointment_type="follow_up"
    )
    assert len(work) == 10, listing
    assert own_reads_of(work, "practice", "patients", "billing") == [], listing
    gates = next(s for s in work if '"licensed"' in s)
    assert '"billing_subscription"' in gates and '"standing_status"' in gates, gates
