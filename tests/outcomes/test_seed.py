"""The demo: four months of diary showing a responder and a non-responder."""

import pytest
from django.core.management import call_command

from accounts.models import User
from outcomes.models import ClusterAttack, HeadacheDiaryEntry
from outcomes.selectors import headache_summary

pytestmark = pytest.mark.django_db


def test_demo_shows_a_responder_and_a_non_responder_and_is_idempotent():
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    miami = User.objects.get(email="patient.miami@demo.practice.example")
    jersey = User.objects.get(email="patient.jersey@demo.practice.example")
    assert HeadacheDiaryEntry.objects.filter(patient=miami).count() > 100  # about four months
    responder, non_responder = headache_summary(patient=miami), headache_summary(patient=jersey)
    assert responder.treatment is not None and responder.baseline.days_logged >= 21
    assert (responder.responders[50].status, responder.responders[75].status) == ("responder", "non_responder")
    assert non_responder.responders[50].status == "non_responder"
    assert ClusterAttack.objects.exists()
    counts = HeadacheDiaryEntry.objects.count()
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert HeadacheDiaryEntry.objects.count() == counts
