from __future__ import annotations

import pytest
from django.core.management import call_command

from prescriptions.models import DeliveryOrder, OrderStatus
from tests.conftest import client_for
from treatment.models import DosingSession, SessionCheckIn

pytestmark = pytest.mark.django_db


def test_demo_has_a_patient_mid_treatment_with_supply_running_low():
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    sessions = DosingSession.objects.filter(patient__email="patient.miami@demo.practice.example")
    assert sessions.count() == 3 and SessionCheckIn.objects.filter(session__in=sessions).count() == 2
    patient = sessions.first().patient
    supply = client_for(patient).get("/api/v1/patient/supply/").json()
    assert supply[0]["doses_left"] == 1
    care = client_for(patient.patient_profile.assigned_physician).get(
        f"/api/v1/physician/patients/{patient.public_id}/sessions/"
    )
    assert [row["check_in_status"] for row in care.json()["results"]] == ["overdue", "done", "done"]
    assert DeliveryOrder.objects.filter(status=OrderStatus.ON_HOLD).exclude(hold_reasons=[]).exists()
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert DosingSession.objects.count() == 3
