"""Factories for the prescriptions app. Signed prescriptions and orders built directly here are
for tests of what happens after signing; the signing tests build the real prerequisites."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from prescriptions.models import (
    DeliveryOrder,
    DosageForm,
    MedicationProduct,
    OrderStatus,
    PDMPCheck,
    Pharmacy,
    PharmacyLicenceKind,
    PharmacyStateLicence,
    Prescription,
    PrescriptionStatus,
    Route,
)
from tests.factories import PatientUserFactory, PhysicianUserFactory


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MedicationProduct
        django_get_or_create = ("dosage_form", "strength", "strength_unit")

    name = "Ketamine buccal troche"
    dosage_form = DosageForm.BUCCAL_TROCHE
    strength = Decimal("100")
    strength_unit = "mg"
    route = Route.BUCCAL
    dispensing_unit = "troche"
    heat_sensitive = True


class PharmacyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pharmacy

    name = factory.Sequence(lambda n: f"Compounding Pharmacy {n}")
    email = factory.Sequence(lambda n: f"orders{n}@pharmacy.example")
    state = "TX"
    ncpdp_id = factory.Sequence(lambda n: f"{4400000 + n:07d}")


class LicenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PharmacyStateLicence

    pharmacy = factory.SubFactory(PharmacyFactory)
    state = "FL"
    kind = PharmacyLicenceKind.FL_NONRESIDENT_PERMIT
    licence_number = factory.Sequence(lambda n: f"NRP{n:05d}")
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=365))


def licensed_pharmacy(*states: str, **kwargs) -> Pharmacy:
    pharmacy = PharmacyFactory(**kwargs)
    for state in states or ("FL", "NJ"):
        kind = PharmacyLicenceKind.NJ_REGISTRATION if state == "NJ" else PharmacyLicenceKind.FL_NONRESIDENT_PERMIT
        LicenceFactory(pharmacy=pharmacy, state=state, kind=kind)
    return pharmacy


class PrescriptionFactory(factory.django.DjangoModelFactory):
    """A draft."""

    class Meta:
        model = Prescription

    patient = factory.SubFactory(PatientUserFactory)
    physician = factory.SubFactory(PhysicianUserFactory)
    product = factory.SubFactory(ProductFactory)
    pharmacy = factory.LazyFunction(lambda: licensed_pharmacy("FL", "NJ"))
    dose = "100 mg"
    directions = "Dissolve one troche between cheek and gum during a monitored session."
    quantity = 8
    days_supply = 30
    refills = 2
    patient_state = "FL"


class SignedPrescriptionFactory(PrescriptionFactory):
    status = PrescriptionStatus.SIGNED
    signed_at = factory.LazyFunction(timezone.now)
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=180))
    snapshot = factory.LazyAttribute(lambda o: {"patient_name": "Test Patient", "drug": "Ketamine HCl"})


class DeliveryOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryOrder

    prescription = factory.SubFactory(SignedPrescriptionFactory)
    patient = factory.SelfAttribute("prescription.patient")
    pharmacy = factory.SelfAttribute("prescription.pharmacy")
    sequence = factory.Sequence(lambda n: n + 1)
    quantity = 4
    status = OrderStatus.CREATED
    ship_to_name = "Test Patient"
    ship_to_line1 = "1 Main St"
    ship_to_city = "Gainesville"
    ship_to_state = "FL"
    ship_to_zip = "32601"


class PDMPCheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PDMPCheck

    patient = factory.SubFactory(PatientUserFactory)
    checked_by = factory.SubFactory(PhysicianUserFactory)
    state = "FL"
    checked_at = factory.LazyFunction(timezone.now)
    result_summary = "No other controlled-substance prescriptions in 12 months."
