import datetime as dt

import factory
from django.utils import timezone

from patients.models import PatientProfile, QuestionnaireResponse, SafetyFlag
from patients.scoring import score
from tests.factories import PatientUserFactory


class PatientProfileFactory(factory.django.DjangoModelFactory):
    """A verified Florida (Miami-Dade, Eastern time) patient with a monitor and an emergency contact."""

    class Meta:
        model = PatientProfile

    user = factory.SubFactory(PatientUserFactory)
    legal_first_name = factory.LazyAttribute(lambda o: o.user.first_name or "Pat")
    legal_last_name = factory.LazyAttribute(lambda o: o.user.last_name or "Doe")
    date_of_birth = dt.date(1985, 6, 15)
    phone = "+13055550100"
    address_line1 = "1 Ocean Drive"
    city = "Miami"
    state = "FL"
    county_id = "12086"
    zip_code = "33139"
    time_zone = "America/New_York"
    address_verified_at = factory.LazyFunction(timezone.now)
    emergency_contact_name = "Em Contact"
    emergency_contact_phone = "+13055550101"
    emergency_contact_relationship = "sibling"
    monitor_name = "Mo Nitor"
    monitor_phone = "+13055550102"
    monitor_relationship = "spouse"
    monitor_adult_confirmed = True


class QuestionnaireFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuestionnaireResponse

    instrument = "phq9"
    answers = factory.LazyFunction(lambda: [1] * 9)
    total = factory.LazyAttribute(lambda o: score(o.instrument, o.answers).total)
    band = factory.LazyAttribute(lambda o: score(o.instrument, o.answers).band)
    taken_at = factory.LazyFunction(timezone.now)


class SafetyFlagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SafetyFlag

    kind = "phq9_item9"
