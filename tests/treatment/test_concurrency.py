"""Real concurrency, on PostgreSQL only (SQLite serialises writers anyway)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from patients.models import SafetyFlag
from tests.treatment.conftest import CALM, go_check
from treatment.models import DosingSession, SessionCheckIn

pytestmark = pytest.mark.postgres


def _race(n, work):
    barrier = threading.Barrier(n)
    outcomes: list = []

    def run(i):
        try:
            barrier.wait()
            outcomes.append(work(i))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_starts_open_one_session(on_postgres, patient, rx, fill):
    from treatment.errors import SessionAlreadyOpen, SessionRefused
    from treatment.services.sessions import session_start

    type(rx).objects.filter(pk=rx.pk).update(sessions_per_day=3, sessions_per_week=5)
    go_check(patient)
    outcomes = _race(4, lambda i: session_start(patient=patient, monitor_attested=True))
    assert DosingSession.objects.filter(patient=patient).count() == 1
    assert sum(isinstance(o, DosingSession) for o in outcomes) == 1
    assert all(isinstance(o, DosingSession | SessionAlreadyOpen | SessionRefused) for o in outcomes), outcomes


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_check_ins_record_one_and_open_one_flag(on_postgres, patient, rx, fill, clock):
    from treatment.services.check_ins import check_in_submit
    from treatment.services.sessions import session_end, session_start

    go_check(patient)
    session = session_start(patient=patient, monitor_attested=True)
    clock.shift(timedelta(minutes=60))
    session_end(patient=patient, session_id=session.public_id)
    answers = {k: v for k, v in CALM.items()} | {"dissociation": 9}
    _race(4, lambda i: check_in_submit(patient=patient, session_id=session.public_id, **answers))
    assert SessionCheckIn.objects.count() == 1
    assert SafetyFlag.objects.filter(patient=patient, status="open").count() == 1
