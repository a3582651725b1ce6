"""The functions other apps call (COMMON.md contracts), exactly as named."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.errors import Forbidden
from patients.errors import PhysicianUnavailable, ProfileMissing
from patients.models import SafetyFlag
from patients.selectors import (
    latest_scores_by_patient,
    open_flag_counts,
    open_safety_flags,
    patient_location,
    unresolved_contraindications,
)
from patients.services.caseload import patient_assign_physician
from patients.services.consents import patient_consents_current
from patients.services.safety import patient_has_open_safety_flag
from tests.patients.factories import QuestionnaireFactory

pytestmark = pytest.mark.django_db


def test_patient_location_from_the_profile(profile, patient, other_patient):
    location = patient_location(patient=patient)
    assert (location.state, location.county_fips, location.time_zone, location.zip_code, location.verified) == (
        "FL",
        "12086",
        "America/New_York",
        "33139",
        True,
    )
    assert patient_location(patient=other_patient) is None


def test_open_flags_contracts(profile, other_profile, staff, physician):
    patient = profile.user
    assert not patient_has_open_safety_flag(patient=patient)
    flag = SafetyFlag.objects.create(patient=patient, kind="phq9_item9")
    SafetyFlag.objects.create(patient=patient, kind="bp_hold")
    assert patient_has_open_safety_flag(patient=patient)
    assert list(open_safety_flags(patient=patient))[0] == flag
    assert open_flag_counts(patient_ids=[patient.pk, other_profile.user_id]) == {patient.pk: 2}
    flag.status, flag.resolved_at, flag.resolved_by = "resolved", timezone.now(), physician
    flag.save()
    assert open_flag_counts(patient_ids=[patient.pk]) == {patient.pk: 1}


def test_one_open_flag_per_patient_and_kind_is_a_database_constraint(profile):
    from django.db import IntegrityError, transaction

    SafetyFlag.objects.create(patient=profile.user, kind="bp_hold")
    with pytest.raises(IntegrityError), transaction.atomic():
        SafetyFlag.objects.create(patient=profile.user, kind="bp_hold")


def test_latest_scores_by_patient_in_one_query(profile, other_profile, django_assert_num_queries):
    now = timezone.now()
    QuestionnaireFactory(patient=profile.user, answers=[3] * 9, taken_at=now - timedelta(days=30))
    QuestionnaireFactory(patient=profile.user, answers=[1] * 9, taken_at=now)
    QuestionnaireFactory(patient=profile.user, instrument="gad7", answers=[3] * 7, taken_at=now)
    QuestionnaireFactory(patient=other_profile.user, answers=[0] * 9, taken_at=now)
    with django_assert_num_queries(1):
        scores = latest_scores_by_patient(patient_ids=[profile.user_id, other_profile.user_id])
    assert (scores[profile.user_id]["phq9"].total, scores[profile.user_id]["phq9"].band) == (9, "mild")
    assert scores[profile.user_id]["gad7"].band == "severe"
    assert scores[other_profile.user_id]["phq9"].band == "minimal"


def test_consents_current_lists_missing_kinds(patient):
    assert "telehealth" in patient_consents_current(patient=patient)


def test_unresolved_contraindications_empty_without_a_screening_flag(patient):
    assert unresolved_contraindications(patient=patient) == []


def test_only_a_decision_clears_a_contraindication_and_the_last_one_resolves_the_flag(
    api, anon_client, patient, physician
):
    created = anon_client.post(
        "/api/v1/assessments/",
        {
            "zip_code": "33139",
            "date_of_birth": "1980-01-01",
            "conditions": ["depression"],
            "treatments_tried": [],
            "contraindications": ["liver_disease"],
            "medications": [],
        },
        format="json",
    ).json()
    from patients.services.assessments import assessment_claim

    assessment_claim(patient=patient, public_id=created["assessment_id"], token=created["claim_token"])
    assert unresolved_contraindications(patient=patient) == ["liver_disease"]
    flag = SafetyFlag.objects.get(kind="screening_review")
    from patients.services.safety import safety_flag_resolve

    # Resolving the flag alone is not a decision on the contraindication: it stays on the chart.
    safety_flag_resolve(actor=physician, flag=flag, note="Seen.")
    assert unresolved_contraindications(patient=patient) == ["liver_disease"]
    from patients.models import Contraindication
    from patients.services.screening import contraindication_decide

    record = Contraindication.objects.get(patient=patient)
    assert (record.source, record.severity) == ("assessment", "review") and record.source_date is not None
    contraindication_decide(
        actor=physician, contraindication=record, decision="resolved", note="Liver panel normal; cleared."
    )
    assert unresolved_contraindications(patient=patient) == []


def test_assign_physician_guards(patient, staff, physician, other_physician):
    from tests.patients.factories import PatientProfileFactory
    from tests.practice.factories import PhysicianProfileFactory, StateLicenseFactory

    with pytest.raises(ProfileMissing):
        patient_assign_physician(actor=staff, patient=patient, physician=physician)
    PatientProfileFactory(user=patient)
    with pytest.raises(Forbidden):
        patient_assign_physician(actor=physician, patient=patient, physician=physician)
    StateLicenseFactory(physician=other_physician, state="FL")
    PhysicianProfileFactory(user=other_physician, accepting_new_patients=False)
    with pytest.raises(PhysicianUnavailable) as exc:
        patient_assign_physician(actor=staff, patient=patient, physician=other_physician)
    assert [r["code"] for r in exc.value.extra["reasons"]] == ["not_accepting_new_patients"]
    StateLicenseFactory(physician=physician, state="FL")
    profile = patient_assign_physician(actor=None, patient=patient, physician=physician)
    assert profile.assigned_physician == physician and profile.physician_assigned_at
