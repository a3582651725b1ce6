from datetime import timedelta

import factory

from scheduling.models import Appointment, AppointmentType
from tests.factories import PatientUserFactory, PhysicianUserFactory


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    patient = factory.SubFactory(PatientUserFactory)
    physician = factory.SubFactory(PhysicianUserFactory)
    appointment_type = factory.LazyFunction(lambda: AppointmentType.objects.get(code="free_consultation"))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(minutes=o.appointment_type.duration_minutes))
    buffer_minutes = factory.LazyAttribute(lambda o: o.appointment_type.buffer_minutes)
    idempotency_key = factory.Sequence(lambda n: f"factory-key-{n:06d}")
    patient_state = "FL"


def book(client, physician, starts_at="2026-06-03T13:00:00Z", key="key-00000001", appointment_type="free_consultation"):
    """POST /api/v1/appointments/ as the client's patient (default: Wednesday 3 June 2026, 09:00 EDT)."""
    return client.post(
        "/api/v1/appointments/",
        {
            "physician": str(physician.public_id),
            "appointment_type": appointment_type,
            "starts_at": starts_at,
            "idempotency_key": key,
        },
        format="json",
    )
