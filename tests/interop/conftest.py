"""A chart with one record of every kind the FHIR API serves, for patient A of physician A."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from tests.factories import PatientUserFactory, PhysicianUserFactory


@pytest.fixture
def chart(db, patient, other_patient, physician, other_physician):
    from outcomes.models import HeadacheDiaryEntry
    from patients.models import ConsentDocument, ConsentSignature, VitalReading
    from tests.patients.factories import PatientProfileFactory, QuestionnaireFactory, SafetyFlagFactory
    from tests.practice.factories import (
        DEARegistrationFactory,
        NJCDSRegistrationFactory,
        PhysicianProfileFactory,
        StateLicenseFactory,
    )
    from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory
    from tests.scheduling.factories import AppointmentFactory

    for doc in (physician, other_physician):
        PhysicianProfileFactory(user=doc)
    StateLicenseFactory(physician=physician)
    DEARegistrationFactory(physician=physician)
    NJCDSRegistrationFactory(physician=physician)
    PatientProfileFactory(user=patient, assigned_physician=physician)
    PatientProfileFactory(user=other_patient, assigned_physician=other_physician)
    now = timezone.now()
    c = SimpleNamespace(patient=patient, other_patient=other_patient, physician=physician)
    c.phq9 = QuestionnaireFactory(patient=patient, taken_at=now - dt.timedelta(days=40))
    c.peg3 = QuestionnaireFactory(
        patient=patient, instrument="peg3", answers=[4, 5, 5], taken_at=now - dt.timedelta(days=2)
    )
    c.other_phq9 = QuestionnaireFactory(patient=other_patient)
    c.bp = VitalReading.objects.create(
        patient=patient, systolic=128, diastolic=82, measured_at=now - dt.timedelta(days=1)
    )
    for days in range(3):
        HeadacheDiaryEntry.objects.create(
            patient=patient, date=timezone.localdate() - dt.timedelta(days=days + 1), headache=days != 1, peak_pain=4
        )
    c.visit = AppointmentFactory(
        patient=patient,
        physician=physician,
        starts_at=now - dt.timedelta(days=10),
        status="completed",
        started_at=now - dt.timedelta(days=10),
        completed_at=now - dt.timedelta(days=10, minutes=-30),
        modality="audio_video",
    )
    c.upcoming = AppointmentFactory(patient=patient, physician=physician, starts_at=now + dt.timedelta(days=3))
    c.rx = SignedPrescriptionFactory(patient=patient, physician=physician, first_fill_quantity=4)
    c.fill = DeliveryOrderFactory(
        prescription=c.rx,
        sequence=1,
        status="delivered",
        shipped_at=now - dt.timedelta(days=3),
        delivered_at=now - dt.timedelta(days=2),
        carrier="UPS",
        tracking_number="1Z999",
    )
    document = ConsentDocument.objects.order_by("id").first()
    c.consent = ConsentSignature.objects.create(
        patient=patient,
        document=document,
        document_kind=document.kind,
        document_version=document.version,
        body_sha256="0" * 64,
    )
    c.flag = SafetyFlagFactory(patient=patient)
    c.other_flag = SafetyFlagFactory(patient=other_patient)
    return c


@pytest.fixture
def unrelated_patient(db):
    return PatientUserFactory(email="unrelated@example.test")


@pytest.fixture
def unrelated_physician(db):
    return PhysicianUserFactory(email="unrelated.dr@example.test")
