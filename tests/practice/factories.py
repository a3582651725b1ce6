"""Factories of physicians' credentials. Dates default to a licence valid 2025-01-01 .. 2027-12-31."""

import datetime as dt

import factory

from practice.identifiers import dea_check_digit, npi_check_digit
from practice.models import DEARegistration, NJCDSRegistration, PhysicianProfile, StateLicense
from tests.factories import PhysicianUserFactory


def valid_npi(n: int) -> str:
    first_nine = f"1{n:08d}"
    return first_nine + npi_check_digit(first_nine)


def valid_dea(n: int, prefix: str = "AB") -> str:
    first = f"{prefix}{n:06d}"
    return first + dea_check_digit(first)


class PhysicianProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhysicianProfile

    user = factory.SubFactory(PhysicianUserFactory)
    npi = factory.Sequence(lambda n: valid_npi(n + 100))


class StateLicenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StateLicense

    physician = factory.SubFactory(PhysicianUserFactory)
    state = "FL"
    number = factory.Sequence(lambda n: f"ME{100000 + n}")
    kind = "full_licence"
    status = "active"
    issued_on = dt.date(2025, 1, 1)
    expires_on = dt.date(2027, 12, 31)


class DEARegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DEARegistration

    physician = factory.SubFactory(PhysicianUserFactory)
    state = "FL"
    number = factory.Sequence(lambda n: valid_dea(n + 1000))
    schedules = factory.LazyFunction(lambda: ["II", "IIN", "III", "IIIN", "IV", "V"])
    status = "active"
    issued_on = dt.date(2025, 1, 1)
    expires_on = dt.date(2027, 12, 31)


class NJCDSRegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NJCDSRegistration

    physician = factory.SubFactory(PhysicianUserFactory)
    number = factory.Sequence(lambda n: f"D{500000 + n}")
    status = "active"
    issued_on = dt.date(2025, 1, 1)
    expires_on = dt.date(2027, 12, 31)
