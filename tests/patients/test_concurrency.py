"""Real concurrency, on PostgreSQL only (SQLite serialises writers anyway)."""

import threading

import pytest
from django.core import mail
from django.db import connection

from notifications.models import Delivery
from patients.models import QuestionnaireResponse, SafetyFlag
from patients.services.questionnaires import questionnaire_submit
from tests.patients.factories import PatientProfileFactory


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_item9_submissions_open_one_flag_and_one_baseline(on_postgres, settings):
    settings.CARE_TEAM_ALERT_EMAILS = ["oncall@practice.example"]
    profile = PatientProfileFactory()
    patient = profile.user
    barrier = threading.Barrier(4)
    errors = []

    def submit(i):
        try:
            barrier.wait()
            questionnaire_submit(
                actor=patient, patient=patient, instrument="phq9", answers=[i % 3, 1, 1, 1, 1, 1, 1, 1, 2]
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert SafetyFlag.objects.filter(patient=patient, status="open").count() == 1
    # i=3 repeats i=0's answers inside the dedupe window: the same submission.
    assert QuestionnaireResponse.objects.filter(patient=patient).count() == 3
    assert SafetyFlag.objects.get().trigger_count == 3
    assert QuestionnaireResponse.objects.filter(patient=patient, is_baseline=True).count() == 1
    assert list(Delivery.objects.values_list("address", flat=True)) == ["oncall@practice.example"]
    assert len(mail.outbox) == 1
