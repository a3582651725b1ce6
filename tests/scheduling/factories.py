from datetime import timedelta

import factory
from django.utils import timezone

from scheduling.models import Appointment, AppointmentType, InPersonEvaluation, VisitLocation
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


class VisitLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VisitLocation

    name = "Miami office"
    address_line1 = "200 Biscayne Blvd"
    city = "Miami"
    state = "FL"
    zip_code = "33131"
    time_zone = "America/New_York"


class InPersonEvaluationFactory(factory.django.DjangoModelFactory):
    """A physician-recorded in-person evaluation (source `recorded`) at the Miami office."""

    class Meta:
        model = InPersonEvaluation

    patient = factory.SubFactory(PatientUserFactory)
    physician = factory.SubFactory(PhysicianUserFactory)
    source = "recorded"
    place_address = "200 Biscayne Blvd, Miami, FL 33131"
    place_state = "FL"
    attested_by = factory.SelfAttribute("physician")
    attested_at = factory.LazyFunction(timezone.now)


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
