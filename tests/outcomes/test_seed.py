"""The demo: four months of diary showing a responder and a non-responder."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command

from accounts.models import User
from outcomes.models import ClusterAttack, HeadacheDiaryEntry
from outcomes.selectors import headache_summary

pytestmark = pytest.mark.django_db


# The diary's pattern is fixed to the calendar (each date's ordinal) and the current window ends
# today, which has no entry yet: which of the pattern's days that leaves out moves with the date.
# 2026-12-01 is a date on which a plan of 4 migraine days a month read as a 75 % responder.
@pytest.mark.parametrize(
    "moment", [datetime(2026, 12, 1, 17, 0, tzinfo=UTC), datetime(2026, 11, 30, 17, 0, tzinfo=UTC)]
)
def test_demo_shows_a_responder_and_a_non_responder_and_is_idempotent(moment):
    with time_machine.travel(moment, tick=False):
        _demo_outcomes()


def _demo_outcomes():
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
