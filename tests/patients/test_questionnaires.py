import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEvent
from notifications.models import Delivery
from patients.models import ClinicalPolicy, QuestionnaireResponse, SafetyFlag

pytestmark = pytest.mark.django_db

URL = "/api/v1/patient/questionnaires/"
SAFE = [1, 1, 1, 1, 1, 1, 1, 1, 0]  # PHQ-9 total 8, item 9 = 0
ITEM9 = [1, 1, 1, 1, 1, 1, 1, 1, 1]


def submit(client, answers, instrument="phq9", **extra):
    return client.post(URL, {"instrument": instrument, "answers": answers, **extra}, format="json")


def submit_at(api, user, when, answers, instrument="phq9"):
    """Submit as `user` at another time (a token is minted then, as the app would have)."""
    with time_machine.travel(when, tick=False):
        return submit(api(user), answers, instrument=instrument)


def test_submit_returns_score_band_and_baseline(api, profile):
    response = submit(api(profile.user), SAFE)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["total"], body["band"], body["is_baseline"]) == (8, "mild", True)
    assert body["safety_flag_opened"] is False and body["crisis_resources"] is None
    assert QuestionnaireResponse.objects.get().total == 8


def test_phq9_with_eight_answers_is_a_400_and_saves_nothing(api, profile):
    response = submit(api(profile.user), [1] * 8)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["fields"]["answers"][0]["code"] == "wrong_item_count"
    assert not QuestionnaireResponse.objects.exists()


def test_an_answer_of_4_is_a_400_answer_out_of_range(api, profile):
    response = submit(api(profile.user), [4, 0, 0, 0, 0, 0, 0, 0, 0])
    assert response.status_code == 400
    assert response.json()["fields"]["answers"] == [
        {"code": "answer_out_of_range", "message": "Item 1 must be between 0 and 3.", "item": 1}
    ]
    assert not QuestionnaireResponse.objects.exists()


def test_unknown_instrument_is_a_field_error(api, profile):
    response = submit(api(profile.user), [0] * 6, instrument="hit6")
    assert response.status_code == 400
    assert response.json()["fields"]["instrument"][0]["code"] == "invalid_choice"


def test_item9_opens_one_flag_shows_crisis_resources_and_alerts_physician_and_care_team(
    api, profile, on_commit, settings
):
    settings.CARE_TEAM_ALERT_EMAILS = ["oncall@practice.example"]
    with on_commit():
        response = submit(api(profile.user), ITEM9)
    assert response.status_code == 201
    body = response.json()
    assert body["safety_flag_opened"] is True
    assert "988" in body["crisis_resources"]["message"]
    assert {line["call"] for line in body["crisis_resources"]["lines"]} == {"988", "911"}
    flag = SafetyFlag.objects.get()
    assert (flag.kind, flag.status, flag.source_questionnaire.total) == ("phq9_item9", "open", 9)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([profile.assigned_physician.email, "oncall@practice.example"])
    for message in mail.outbox:  # no PHI: nothing about who, or what they answered
        assert message.body == "A patient needs same-day review. Open the care dashboard."
        assert profile.user.email not in message.body and profile.legal_last_name not in message.body
    assert SafetyFlag.objects.get().alerted_at is not None


def test_item9_submitted_twice_with_the_same_key_opens_one_flag_and_sends_one_alert(api, profile, on_commit, settings):
    settings.CARE_TEAM_ALERT_EMAILS = []
    key = str(uuid.uuid4())
    client = api(profile.user)
    with on_commit():
        first = submit(client, ITEM9, client_submission_id=key)
    with on_commit():
        second = submit(client, ITEM9, client_submission_id=key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["questionnaire_id"] == second.json()["questionnaire_id"]
    assert second.json()["safety_flag_opened"] is True  # the retry still shows crisis resources
    assert QuestionnaireResponse.objects.count() == 1
    assert SafetyFlag.objects.count() == 1
    assert len(mail.outbox) == 1 and Delivery.objects.count() == 1


def test_identical_resubmission_without_a_key_is_the_same_submission(api, profile, on_commit):
    client = api(profile.user)
    with on_commit():
        submit(client, ITEM9)
    with on_commit():
        again = submit(client, ITEM9)
    assert again.status_code == 200
    assert QuestionnaireResponse.objects.count() == 1 and SafetyFlag.objects.count() == 1
    assert Delivery.objects.count() == len(mail.outbox)


def test_reusing_a_key_for_different_answers_is_a_conflict(api, profile):
    key = str(uuid.uuid4())
    client = api(profile.user)
    submit(client, SAFE, client_submission_id=key)
    response = submit(client, [0] * 9, client_submission_id=key)
    assert response.status_code == 409
    assert response.json()["code"] == "submission_id_reused"


def test_two_different_item9_questionnaires_the_same_day_share_one_open_flag_and_one_alert(
    api, profile, on_commit, settings
):
    settings.CARE_TEAM_ALERT_EMAILS = []
    client = api(profile.user)
    with on_commit():
        submit(client, ITEM9)
    with on_commit():
        second = submit(client, [2, 2, 1, 1, 1, 1, 1, 1, 2])
    assert second.status_code == 201 and second.json()["safety_flag_opened"] is True
    flag = SafetyFlag.objects.get()
    assert flag.trigger_count == 2
    assert QuestionnaireResponse.objects.count() == 2
    assert len(mail.outbox) == 1


def test_after_the_flag_is_resolved_a_new_item9_opens_a_new_flag(api, profile, on_commit):
    client = api(profile.user)
    submit(client, ITEM9)
    flag = SafetyFlag.objects.get()
    api(profile.assigned_physician).post(
        f"/api/v1/physician/safety-flags/{flag.public_id}/resolve/", {"note": "Called, safety plan in place."}
    )
    submit(client, [1, 1, 1, 1, 1, 1, 1, 2, 1])
    assert SafetyFlag.objects.filter(status="open").count() == 1
    assert SafetyFlag.objects.count() == 2


def test_history_shows_change_from_baseline_response_and_remission(api, profile):
    start = timezone.now()
    submit_at(api, profile.user, start - timedelta(days=28), [2, 2, 2, 2, 2, 2, 2, 2, 0])  # 16: baseline
    submit_at(api, profile.user, start - timedelta(days=14), [1, 1, 1, 1, 1, 1, 1, 2, 0])  # 9: 44% drop
    submit_at(api, profile.user, start, [1, 1, 1, 1, 0, 0, 0, 0, 0])  # 4: -12, response and remission
    response = api(profile.user).get(URL)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["total"], r["change_from_baseline"], r["response"], r["remission"], r["is_baseline"]) for r in rows] == [
        (4, -12, True, True, False),
        (9, -7, False, False, False),
        (16, 0, False, False, True),
    ]


def test_response_threshold_is_policy(api, profile):
    ClinicalPolicy.objects.create(effective_from=timezone.localdate() - timedelta(days=30), response_drop_percent=40)
    submit_at(api, profile.user, timezone.now() - timedelta(days=14), [2, 2, 2, 2, 2, 2, 2, 2, 0])  # 16
    assert submit(api(profile.user), [1, 1, 1, 1, 1, 1, 1, 2, 0]).json()["response"] is True  # 9: 44% drop


def test_history_filters_by_instrument_and_audits_each_row(api, profile):
    client = api(profile.user)
    submit(client, SAFE)
    submit(client, [0] * 7, instrument="gad7")
    before = AuditEvent.objects.filter(action="read").count()
    response = client.get(URL, {"instrument": "gad7"})
    assert [r["instrument"] for r in response.json()["results"]] == ["gad7"]
    assert AuditEvent.objects.filter(action="read").count() == before + 1


def test_history_list_is_constant_queries(api, profile, django_assert_max_num_queries):
    for i in range(3):
        submit_at(api, profile.user, timezone.now() - timedelta(days=10 * i), [i] * 7, instrument="gad7")
    client = api(profile.user)
    with django_assert_max_num_queries(8):
        response = client.get(URL)
    assert response.json()["count"] == 3


def test_other_roles_cannot_use_the_patient_endpoint(api, physician, staff):
    assert submit(api(physician), SAFE).status_code == 403
    assert api(staff).get(URL).status_code == 403
