"""The signing password re-check is counted and locked like sign-in (accounts.services.step_up_verify)."""

import pytest

from prescriptions.models import PrescriptionStatus
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def sign_url(rx):
    return f"/api/v1/physician/prescriptions/{rx.public_id}/sign/"


def test_repeated_wrong_step_up_passwords_lock_like_sign_in(api, physician, draft, settings):
    client = api(physician)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        answer = client.post(sign_url(draft), {"password": "not-my-password"}, format="json")
        assert answer.status_code == 403 and answer.json()["code"] == "step_up_failed"
    assert client.post(sign_url(draft), {"password": "not-my-password"}, format="json").status_code == 429
    locked = client.post(sign_url(draft), {"password": PASSWORD}, format="json")
    assert locked.status_code == 429 and locked.json()["code"] == "account_locked"
    draft.refresh_from_db()
    assert draft.status == PrescriptionStatus.DRAFT
    # The same counters as sign-in: the stolen session's guesses lock the account's sign-in too.
    signed_in = client.post("/api/v1/auth/token/", {"email": physician.email, "password": PASSWORD}, format="json")
    assert signed_in.status_code == 429


def test_a_right_step_up_password_still_signs(api, physician, draft):
    answer = api(physician).post(
        sign_url(draft), {"password": PASSWORD, "patient_pregnant_or_nursing": False}, format="json"
    )
    assert answer.status_code == 200, answer.json()
