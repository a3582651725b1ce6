"""api.compiled.CompiledQuery: a queryset compiled once, run with new values, gives the ORM's rows."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from api.compiled import CompiledQuery
from tests.factories import PatientUserFactory, PhysicianUserFactory

pytestmark = pytest.mark.django_db


def _patients(physician_id: int):
    from patients.models import PatientProfile

    return (
        PatientProfile.objects.filter(assigned_physician_id=physician_id)
        .order_by("user__last_name", "user_id")
        .values_list("user_id", "user__public_id", "user__last_name", "user__date_joined", "time_zone")
    )


def test_rows_equal_the_orms_for_every_value_and_window():
    from tests.patients.factories import PatientProfileFactory

    doctors = [PhysicianUserFactory(), PhysicianUserFactory()]
    for i in range(7):
        PatientProfileFactory(assigned_physician=doctors[i % 2], user=PatientUserFactory(last_name=f"N{i % 3}"))
    query = CompiledQuery(_patients, "physician_id")
    for doctor in doctors:
        for offset, limit in ((0, 2), (2, 2), (0, 50), (6, 5)):
            assert query.run(limit=limit, offset=offset, physician_id=doctor.pk) == list(
                _patients(doctor.pk)[offset : offset + limit]
            )


def test_compiled_once_then_one_statement_per_run():
    calls = []

    def build(physician_id):
        calls.append(physician_id)
        return _patients(physician_id)

    query = CompiledQuery(build, "physician_id")
    doctor = PhysicianUserFactory()
    query.run(limit=5, physician_id=doctor.pk)
    with CaptureQueriesContext(connection) as ctx:
        query.run(limit=5, physician_id=doctor.pk + 1)
    assert len(calls) == 1 and calls[0] < 0  # built once, with a sentinel
    assert len(ctx.captured_queries) == 1


def test_parameters_must_be_exactly_the_sentinels():
    with pytest.raises(ImproperlyConfigured):  # a constant parameter besides the sentinel
        CompiledQuery(lambda physician_id: _patients(physician_id).filter(user__role="patient"), "physician_id").sql()
    with pytest.raises(ImproperlyConfigured):  # run() adds the window itself
        CompiledQuery(lambda physician_id: _patients(physician_id)[:5], "physician_id").sql()
    with pytest.raises(TypeError):
        CompiledQuery(_patients, "physician_id").run(limit=1, doctor=1)


def test_two_names_keep_their_places():
    query = CompiledQuery(
        lambda a, b: User.objects.filter(pk__gte=a, pk__lte=b).order_by("pk").values_list("pk", flat=False), "a", "b"
    )
    users = sorted(u.pk for u in (PatientUserFactory(), PatientUserFactory(), PatientUserFactory()))
    assert [r[0] for r in query.run(limit=10, a=users[1], b=users[2])] == users[1:]
