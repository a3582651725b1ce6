"""The appointment types' cache (scheduling/appointment_types.py, docs/write-budgets.md#booking)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling import appointment_types
from scheduling.models import AppointmentType
from scheduling.selectors import appointment_type_get

pytestmark = pytest.mark.django_db


def test_a_cached_type_costs_no_query():
    appointment_type_get(code="follow_up")
    with CaptureQueriesContext(connection) as queries:
        assert appointment_type_get(code="follow_up").duration_minutes == 30
    assert len(queries) == 0


def test_an_admin_change_is_seen_at_once():
    assert appointment_type_get(code="follow_up").duration_minutes == 30
    row = AppointmentType.objects.get(code="follow_up")
    row.duration_minutes = 45
    row.save()
    assert appointment_type_get(code="follow_up").duration_minutes == 45


def test_a_type_switched_off_or_deleted_is_unknown():
    appointment_type_get(code="medication_review")
    row = AppointmentType.objects.get(code="medication_review")
    row.is_active = False
    row.save()
    with pytest.raises(ValidationError):
        appointment_type_get(code="medication_review")
    row.is_active = True
    row.save()
    assert appointment_type_get(code="medication_review").code == "medication_review"
    row.delete()
    with pytest.raises(ValidationError):
        appointment_type_get(code="medication_review")


def test_every_process_sees_the_change_through_the_shared_version(django_capture_on_commit_callbacks):
    """Another process shares the cache, not this one's memory: what it reads after a change is
    keyed by the new version (bumped again after the commit)."""
    from django.core.cache import cache

    before = cache.get(f"{appointment_types.NAMESPACE}:v")
    appointment_type_get(code="follow_up")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        AppointmentType.objects.filter(code="follow_up").get().save()
    assert callbacks  # the bump after the commit
    assert cache.get(f"{appointment_types.NAMESPACE}:v") not in (None, before)


def test_callers_get_copies():
    first = appointment_type_get(code="follow_up")
    first.duration_minutes = 999
    assert appointment_type_get(code="follow_up").duration_minutes == 30


def test_the_entry_this_process_holds_costs_no_cache_read_but_the_version(monkeypatch):
    from django.core.cache import cache

    appointment_types.active_types()
    asked = []
    real_get = cache.get
    monkeypatch.setattr(cache, "get", lambda key, *a, **k: asked.append(key) or real_get(key, *a, **k))
    first, second = appointment_types.active_types(), appointment_types.active_types()
    assert asked == [appointment_types.version_key()] * 2  # the version only
    assert first == second and first["follow_up"] is not second["follow_up"]  # still copies


def test_the_entry_this_process_holds_expires_with_the_shared_one(monkeypatch):
    import time

    from django.core.cache import cache

    appointment_types.active_types()
    now = time.monotonic()
    monkeypatch.setattr(appointment_types.time, "monotonic", lambda: now + appointment_types.ENTRY_SECONDS + 1)
    asked = []
    real_get = cache.get
    monkeypatch.setattr(cache, "get", lambda key, *a, **k: asked.append(key) or real_get(key, *a, **k))
    appointment_types.active_types()
    assert len(asked) == 2  # the version, then the entry again
