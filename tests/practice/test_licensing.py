"""physician_authorization and consult_windows: docs/credentials.md."""

import datetime as dt

import pytest

from practice.selectors import consult_windows
from practice.services.licensing import physician_authorization
from tests.factories import PhysicianUserFactory
from tests.practice.factories import (
    DEARegistrationFactory,
    NJCDSRegistrationFactory,
    StateLicenseFactory,
)

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 15)


def codes(physician, state, action, on=DAY):
    result = physician_authorization(physician=physician, state=state, on=on, action=action)
    assert result.allowed == (not result.reasons)
    return [r.code for r in result.reasons]


@pytest.fixture
def fl_prescriber(physician):
    StateLicenseFactory(physician=physician, state="FL")
    DEARegistrationFactory(physician=physician, state="FL")
    return physician


def test_fully_credentialed_florida_physician_may_consult_and_prescribe(fl_prescriber):
    assert codes(fl_prescriber, "FL", "consult") == []
    assert codes(fl_prescriber, "FL", "prescribe") == []


def test_reasons_carry_messages(physician):
    result = physician_authorization(physician=physician, state="FL", on=DAY, action="consult")
    assert result.allowed is False
    assert result.reasons[0].code == "no_licence" and result.reasons[0].message


def test_no_licence_in_the_patient_state(physician):
    assert codes(physician, "NJ", "consult") == ["no_licence"]


def test_licence_in_the_other_state_only(fl_prescriber):
    assert codes(fl_prescriber, "NJ", "consult") == ["no_licence"]
    assert codes(fl_prescriber, "NJ", "prescribe") == ["no_licence", "dea_missing", "cds_missing"]


def test_expired_licence(physician):
    StateLicenseFactory(physician=physician, state="FL", expires_on=dt.date(2026, 6, 14))
    assert codes(physician, "FL", "consult") == ["licence_expired"]


def test_licence_valid_on_its_expiry_day_and_not_the_day_after(physician):
    StateLicenseFactory(physician=physician, state="FL", expires_on=DAY)
    assert codes(physician, "FL", "consult", on=DAY) == []
    assert codes(physician, "FL", "consult", on=DAY + dt.timedelta(days=1)) == ["licence_expired"]


def test_licence_not_valid_before_its_issue_date(physician):
    StateLicenseFactory(physician=physician, state="FL", issued_on=DAY + dt.timedelta(days=1))
    assert codes(physician, "FL", "consult") == ["licence_not_yet_valid"]


def test_licence_marked_expired_is_refused_even_before_its_date(physician):
    StateLicenseFactory(physician=physician, state="FL", status="expired")
    assert codes(physician, "FL", "consult") == ["licence_expired"]


@pytest.mark.parametrize("status", ["inactive", "suspended"])
def test_inactive_or_suspended_licence(physician, status):
    StateLicenseFactory(physician=physician, state="FL", status=status)
    assert codes(physician, "FL", "consult") == ["licence_inactive"]


def test_renewed_licence_counts_even_with_an_old_expired_one(physician):
    StateLicenseFactory(physician=physician, state="FL", status="expired", expires_on=dt.date(2025, 12, 31))
    StateLicenseFactory(physician=physician, state="FL", issued_on=dt.date(2026, 1, 1))
    assert codes(physician, "FL", "consult") == []


def test_florida_accepts_the_telehealth_registration(physician):
    StateLicenseFactory(physician=physician, state="FL", kind="fl_telehealth_registration")
    DEARegistrationFactory(physician=physician, state="FL")
    assert codes(physician, "FL", "consult") == []
    assert codes(physician, "FL", "prescribe") == []


def test_new_jersey_does_not_accept_a_florida_telehealth_registration(physician):
    StateLicenseFactory(physician=physician, state="FL", kind="fl_telehealth_registration")
    assert codes(physician, "NJ", "consult") == ["no_licence"]


def test_dea_missing_for_the_state(physician):
    StateLicenseFactory(physician=physician, state="FL")
    DEARegistrationFactory(physician=physician, state="NJ")
    assert codes(physician, "FL", "consult") == []
    assert codes(physician, "FL", "prescribe") == ["dea_missing"]


def test_dea_without_schedule_iii(physician):
    StateLicenseFactory(physician=physician, state="FL")
    DEARegistrationFactory(physician=physician, state="FL", schedules=["II", "IIN", "IV", "V"])
    assert codes(physician, "FL", "prescribe") == ["dea_schedule_not_covered"]


def test_dea_with_schedule_iii_non_narcotic_only_covers_ketamine(physician):
    StateLicenseFactory(physician=physician, state="FL")
    DEARegistrationFactory(physician=physician, state="FL", schedules=["IIIN"])
    assert codes(physician, "FL", "prescribe") == []


def test_dea_expired_and_valid_on_its_expiry_day(physician):
    StateLicenseFactory(physician=physician, state="FL")
    DEARegistrationFactory(physician=physician, state="FL", expires_on=DAY)
    assert codes(physician, "FL", "prescribe", on=DAY) == []
    assert codes(physician, "FL", "prescribe", on=DAY + dt.timedelta(days=1)) == ["dea_expired"]


def test_dea_inactive(physician):
    StateLicenseFactory(physician=physician, state="FL")
    DEARegistrationFactory(physician=physician, state="FL", status="suspended")
    assert codes(physician, "FL", "prescribe") == ["dea_inactive"]


def test_dea_awaiting_verification_blocks_prescribing_only(physician):
    StateLicenseFactory(physician=physician, state="FL")
    DEARegistrationFactory(physician=physician, state="FL", needs_verification=True)
    assert codes(physician, "FL", "consult") == []
    assert codes(physician, "FL", "prescribe") == ["dea_needs_verification"]


def test_new_jersey_prescribing_needs_cds(physician):
    StateLicenseFactory(physician=physician, state="NJ")
    DEARegistrationFactory(physician=physician, state="NJ")
    assert codes(physician, "NJ", "consult") == []
    assert codes(physician, "NJ", "prescribe") == ["cds_missing"]
    NJCDSRegistrationFactory(physician=physician)
    assert codes(physician, "NJ", "prescribe") == []


def test_new_jersey_cds_expired_and_valid_on_expiry_day(physician):
    StateLicenseFactory(physician=physician, state="NJ")
    DEARegistrationFactory(physician=physician, state="NJ")
    NJCDSRegistrationFactory(physician=physician, expires_on=DAY)
    assert codes(physician, "NJ", "prescribe", on=DAY) == []
    assert codes(physician, "NJ", "prescribe", on=DAY + dt.timedelta(days=1)) == ["cds_expired"]


def test_florida_prescribing_does_not_need_cds(fl_prescriber):
    assert codes(fl_prescriber, "FL", "prescribe") == []


def test_every_failing_rule_is_listed(physician):
    StateLicenseFactory(physician=physician, state="NJ", expires_on=dt.date(2026, 1, 1))
    DEARegistrationFactory(physician=physician, state="NJ", schedules=["II"], needs_verification=True)
    assert codes(physician, "NJ", "prescribe") == [
        "licence_expired",
        "dea_schedule_not_covered",
        "dea_needs_verification",
        "cds_missing",
    ]


def test_unserved_state_and_non_physician(physician, staff):
    assert codes(physician, "NY", "consult") == ["state_not_served"]
    assert codes(staff, "FL", "consult") == ["physician_inactive"]


def test_deactivated_physician_account_is_refused(fl_prescriber):
    fl_prescriber.is_active = False
    fl_prescriber.save()
    assert codes(fl_prescriber, "FL", "consult") == ["physician_inactive"]


def test_unknown_action_is_a_programming_error(physician):
    with pytest.raises(ValueError):
        physician_authorization(physician=physician, state="FL", on=DAY, action="dispense")


def test_authorization_costs_a_few_queries(fl_prescriber, django_assert_max_num_queries):
    NJCDSRegistrationFactory(physician=fl_prescriber)
    with django_assert_max_num_queries(3):
        physician_authorization(physician=fl_prescriber, state="NJ", on=DAY, action="prescribe")


# --- consult_windows -----------------------------------------------------------------------------


def test_consult_windows_clip_to_the_range_and_include_the_expiry_day(physician, other_physician):
    StateLicenseFactory(physician=physician, state="FL", issued_on=dt.date(2026, 1, 1), expires_on=dt.date(2026, 6, 20))
    StateLicenseFactory(
        physician=other_physician, state="FL", issued_on=dt.date(2026, 6, 10), expires_on=dt.date(2028, 1, 1)
    )
    windows = consult_windows(state="FL", start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30))
    assert windows == {
        physician.pk: [(dt.date(2026, 6, 1), dt.date(2026, 6, 20))],
        other_physician.pk: [(dt.date(2026, 6, 10), dt.date(2026, 6, 30))],
    }


def test_consult_windows_follow_the_state_rule(physician, other_physician):
    StateLicenseFactory(physician=physician, state="FL", kind="fl_telehealth_registration")
    StateLicenseFactory(physician=other_physician, state="NJ")
    start, end = dt.date(2026, 6, 1), dt.date(2026, 6, 7)
    assert consult_windows(state="FL", start=start, end=end) == {physician.pk: [(start, end)]}
    assert consult_windows(state="NJ", start=start, end=end) == {other_physician.pk: [(start, end)]}
    assert consult_windows(state="NY", start=start, end=end) == {}


def test_consult_windows_skip_inactive_and_expired_licences(physician, other_physician):
    StateLicenseFactory(physician=physician, state="FL", status="suspended")
    StateLicenseFactory(physician=other_physician, state="FL", expires_on=dt.date(2026, 5, 31))
    assert consult_windows(state="FL", start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30)) == {}


def test_consult_windows_merge_back_to_back_renewals(physician):
    StateLicenseFactory(physician=physician, state="FL", issued_on=dt.date(2024, 1, 1), expires_on=dt.date(2026, 6, 10))
    StateLicenseFactory(
        physician=physician, state="FL", issued_on=dt.date(2026, 6, 11), expires_on=dt.date(2028, 6, 10)
    )
    StateLicenseFactory(
        physician=physician,
        state="FL",
        kind="fl_telehealth_registration",
        issued_on=dt.date(2026, 6, 20),
        expires_on=dt.date(2026, 6, 25),
    )
    assert consult_windows(state="FL", start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30)) == {
        physician.pk: [(dt.date(2026, 6, 1), dt.date(2026, 6, 30))]
    }


def test_consult_windows_keep_a_gap_between_licences(physician):
    StateLicenseFactory(physician=physician, state="FL", issued_on=dt.date(2024, 1, 1), expires_on=dt.date(2026, 6, 10))
    StateLicenseFactory(
        physician=physician, state="FL", issued_on=dt.date(2026, 6, 15), expires_on=dt.date(2028, 6, 10)
    )
    assert consult_windows(state="FL", start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30))[physician.pk] == [
        (dt.date(2026, 6, 1), dt.date(2026, 6, 10)),
        (dt.date(2026, 6, 15), dt.date(2026, 6, 30)),
    ]


def test_consult_windows_for_requested_physicians_list_each_one(physician, other_physician):
    StateLicenseFactory(physician=physician, state="FL")
    StateLicenseFactory(physician=PhysicianUserFactory(), state="FL")
    windows = consult_windows(state="FL", start=DAY, end=DAY, physician_ids=[physician.pk, other_physician.pk])
    assert windows == {physician.pk: [(DAY, DAY)], other_physician.pk: []}


def test_consult_windows_in_one_query_for_many_physicians(django_assert_num_queries):
    for _ in range(5):
        StateLicenseFactory(state="NJ")
    with django_assert_num_queries(1):
        windows = consult_windows(state="NJ", start=DAY, end=DAY + dt.timedelta(days=30))
    assert len(windows) == 5


def test_consult_windows_ignore_deactivated_accounts(physician):
    StateLicenseFactory(physician=physician, state="FL")
    physician.is_active = False
    physician.save()
    assert consult_windows(state="FL", start=DAY, end=DAY) == {}
