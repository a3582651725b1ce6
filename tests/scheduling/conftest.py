"""Scheduling fixtures.

`world` stands in for the other apps' contracts (scheduling.contracts): licences, profiles,
locations, standing, caseload. It keeps these tests about scheduling's own rules and fast;
tests/scheduling/test_integration.py runs the same flows against the real apps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

import pytest

from scheduling import contracts
from scheduling.models import WeeklyAvailability


@dataclass
class FakeLocation:
    state: str
    time_zone: str
    county_fips: str = "12086"
    zip_code: str = "33101"
    verified: bool = True


@dataclass
class FakeReason:
    code: str
    message: str = ""


@dataclass
class FakeAuthorization:
    allowed: bool
    reasons: list = field(default_factory=list)


@dataclass
class FakeStanding:
    ok: bool
    status: str
    reason: str | None = None
    shipments_paused: bool = False


@dataclass
class World:
    # physician id -> (tz, accepting, cap, static url)
    physicians: dict = field(default_factory=dict)
    # (physician id, state) -> list of (from, to) inclusive
    licences: dict = field(default_factory=dict)
    locations: dict = field(default_factory=dict)
    standing: dict = field(default_factory=dict)
    assigned: dict = field(default_factory=dict)  # patient id -> physician id
    phones: dict = field(default_factory=dict)
    consult_window_calls: int = 0

    def physician(self, user, *, tz="America/New_York", accepting=True, cap=None, static_url="", states=("FL", "NJ")):
        self.physicians[user.pk] = (tz, accepting, cap, static_url)
        for state in states:
            self.licences[(user.pk, state)] = [(date(2020, 1, 1), date(2030, 12, 31))]
        return user

    def patient(self, user, *, state="FL", tz="America/New_York", phone="+13055550100", good_standing=True):
        self.locations[user.pk] = FakeLocation(state=state, time_zone=tz)
        self.phones[user.pk] = phone
        self.standing[user.pk] = FakeStanding(ok=good_standing, status="active" if good_standing else "none")
        return user

    def hours(self, user, start=time(9), end=time(17), weekdays=range(7)):
        for d in weekdays:
            WeeklyAvailability.objects.create(physician=user, weekday=d, start_time=start, end_time=end)


@pytest.fixture(autouse=True)
def _appointment_types(request):
    """The types come from a data migration; a transactional test elsewhere flushes them."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    from django.db import connection

    if "on_postgres" in request.fixturenames and connection.vendor != "postgresql":
        return  # about to be skipped: do not set up (and flush) a transactional database for nothing
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    from scheduling.models import AppointmentType

    for code, name, duration, buffer, subscription in [
        ("free_consultation", "Free consultation", 20, 10, False),
        ("follow_up", "Follow-up", 30, 10, True),
        ("medication_review", "Medication review", 20, 10, True),
        ("in_person_evaluation", "In-person evaluation", 60, 15, True),
    ]:
        AppointmentType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "duration_minutes": duration,
                "buffer_minutes": buffer,
                "requires_subscription": subscription,
                "in_person": code == "in_person_evaluation",
            },
        )


@pytest.fixture
def world(monkeypatch):
    w = World()

    def physician_infos(ids, *, read=None):  # the world's profiles, whatever a statement read
        return {
            pid: contracts.PhysicianInfo(
                pid,
                contracts.zone(w.physicians.get(pid, ("America/New_York",))[0]),
                w.physicians.get(pid, (None, False))[1],
                w.physicians.get(pid, (None, False, 0))[2],
                w.physicians.get(pid, (None, False, 0, ""))[3],
            )
            for pid in ids
        }

    def consult_windows(*, state, start, end, physician_ids):
        w.consult_window_calls += 1
        out = {}
        for pid in physician_ids:
            ranges = []
            for a, b in w.licences.get((pid, state), []):
                lo, hi = max(a, start), min(b, end)
                if lo <= hi:
                    ranges.append((lo, hi))
            out[pid] = ranges
        return out

    def physician_authorization(*, physician, state, on):
        ok = any(a <= on <= b for a, b in w.licences.get((physician.pk, state), []))
        return FakeAuthorization(ok, [] if ok else [FakeReason("no_licence", "No licence for this state.")])

    monkeypatch.setattr(contracts, "physician_infos", physician_infos)
    monkeypatch.setattr(contracts, "consult_windows", consult_windows)
    # The fake world changes without the practice app's writes: its search context is never cached.
    monkeypatch.setattr(contracts, "search_context_version", lambda: None)
    monkeypatch.setattr(
        contracts,
        "licence_spans",
        lambda *, state: {pid: list(spans) for (pid, st), spans in w.licences.items() if st == state and spans},
    )
    monkeypatch.setattr(contracts, "physician_authorization", physician_authorization)
    monkeypatch.setattr(contracts, "patient_location", lambda *, patient: w.locations.get(patient.pk))
    monkeypatch.setattr(
        contracts,
        "patient_good_standing",
        lambda *, patient, read=None: w.standing.get(patient.pk, FakeStanding(False, "none")),
    )
    monkeypatch.setattr(
        contracts,
        "assigned_counts",
        lambda ids: {pid: sum(1 for v in w.assigned.values() if v == pid) for pid in ids},
    )
    monkeypatch.setattr(contracts, "assigned_physician_id", lambda patient: w.assigned.get(patient.pk))
    monkeypatch.setattr(
        contracts,
        "patient_contact",
        lambda patient: (
            patient.email,
            w.phones.get(patient.pk, ""),
            contracts.zone(w.locations[patient.pk].time_zone if patient.pk in w.locations else None),
        ),
    )

    def assign(*, actor, patient, physician, request=None):
        w.assigned[patient.pk] = physician.pk

    monkeypatch.setattr(contracts, "assign_physician", assign)
    return w


@pytest.fixture
def types_cached():
    """The appointment types already in the cache, as after the first search of a running server
    (scheduling/appointment_types.py): a query count measured from here is the steady state."""
    from scheduling.appointment_types import active_types

    return active_types()
