import io

import pytest

from patients.models import Assessment, PatientProfile, QuestionnaireResponse, SafetyFlag
from patients.services.consents import patient_consents_current
from practice.service_area import resolve_location
from seeds.demo import patients as demo

pytestmark = pytest.mark.django_db


def test_demo_patients_without_physicians_are_idempotent():
    demo.run(io.StringIO())
    counts = (PatientProfile.objects.count(), QuestionnaireResponse.objects.count(), Assessment.objects.count())
    demo.run(io.StringIO())
    assert (PatientProfile.objects.count(), QuestionnaireResponse.objects.count(), Assessment.objects.count()) == counts
    assert counts[0] == 4
    # The item-9 flag, and patient.new's claimed screening waiting for a physician's decision.
    assert sorted(SafetyFlag.objects.filter(status="open").values_list("kind", flat=True)) == [
        "phq9_item9",
        "screening_review",
    ]
    assert all(patient_consents_current(patient=p.user) == [] for p in PatientProfile.objects.all())


def test_demo_addresses_match_the_service_area():
    demo.run(io.StringIO())
    for profile in PatientProfile.objects.all():
        location = resolve_location(profile.zip_code)
        assert (location.state, location.county_fips, location.time_zone) == (
            profile.state,
            profile.county_id,
            profile.time_zone,
        )


def test_demo_patients_join_the_demo_physicians_caseloads():
    from seeds.demo import accounts, practice

    accounts.run(io.StringIO())
    practice.run(io.StringIO())
    demo.run(io.StringIO())
    demo.run(io.StringIO())
    assigned = dict(
        PatientProfile.objects.filter(assigned_physician__isnull=False).values_list(
            "user__email", "assigned_physician__email"
        )
    )
    assert assigned == {
        "patient.miami@demo.practice.example": "dr.florida@demo.practice.example",
        "patient.pensacola@demo.practice.example": "dr.both@demo.practice.example",
        "patient.jersey@demo.practice.example": "dr.jersey@demo.practice.example",
    }
