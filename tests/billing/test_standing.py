"""The good-standing contract other apps call (scheduling follow-ups, prescriptions, shipments)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from billing.selectors import good_standing_by_patient
from billing.services.standing import patient_good_standing, standing_from
from tests.billing.factories import SubscriptionFactory
from tests.factories import PatientUserFactory

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")


def test_no_subscription_is_not_in_good_standing(patient):
    standing = patient_good_standing(patient=patient)
    assert (standing.ok, standing.status, standing.reason) == (False, "none", "no_subscription")


@pytest.mark.parametrize(
    ("status", "ok", "expected_status", "reason"),
    [
        ("active", True, "active", None),
        ("trialing", True, "trialing", None),
        ("incomplete", False, "incomplete", "subscription_inactive"),
        ("incomplete_expired", False, "none", "no_subscription"),
        ("canceled", False, "canceled", "subscription_inactive"),
        ("unpaid", False, "unpaid", "payment_past_due"),
        ("paused", False, "unpaid", "payment_past_due"),
    ],
)
def test_standing_by_stripe_status(patient, status, ok, expected_status, reason):
    SubscriptionFactory(customer__patient=patient, status=status)
    standing = patient_good_standing(patient=patient)
    assert (standing.ok, standing.status, standing.reason) == (ok, expected_status, reason)
    assert standing.shipments_paused is (not ok)


def test_past_due_is_in_grace_for_the_configured_days_counted_in_the_practice_zone(settings):
    settings.BILLING_PAST_DUE_GRACE_DAYS = 7
    # 11:30 PM in New York on March 1 is already March 2 in UTC: the grace counts from March 1.
    since = datetime(2026, 3, 1, 23, 30, tzinfo=NY)
    subscription = SubscriptionFactory.build(status="past_due", past_due_since=since)
    last_day = standing_from(subscription, on=date(2026, 3, 7))
    first_paused = standing_from(subscription, on=date(2026, 3, 8))
    assert (last_day.ok, last_day.status, last_day.shipments_paused) == (True, "past_due_in_grace", False)
    assert (first_paused.ok, first_paused.status, first_paused.shipments_paused) == (False, "past_due", True)
    assert first_paused.grace_ends_on == date(2026, 3, 8)


def test_a_live_subscription_beats_an_older_canceled_one(patient):
    SubscriptionFactory(customer__patient=patient, status="canceled")
    SubscriptionFactory(customer=patient.stripe_customer, status="active")
    assert patient_good_standing(patient=patient).ok


def test_standing_on_a_future_date_after_a_scheduled_cancellation_is_lost(patient):
    subscription = SubscriptionFactory(customer__patient=patient, status="active", cancel_at_period_end=True)
    end = subscription.current_period_end.astimezone(NY).date()
    assert patient_good_standing(patient=patient, on=end - timedelta(days=1)).ok
    assert patient_good_standing(patient=patient, on=end).status == "canceled"


def test_default_date_is_today_in_the_practice_zone(patient, settings):
    settings.BILLING_PAST_DUE_GRACE_DAYS = 1
    SubscriptionFactory(
        customer__patient=patient, status="past_due", past_due_since=datetime(2026, 3, 1, 12, tzinfo=NY)
    )
    # 01:00 UTC on March 2 is still March 1 in New York: in grace.
    with time_machine.travel(datetime(2026, 3, 2, 1, 0, tzinfo=ZoneInfo("UTC"))):
        assert patient_good_standing(patient=patient).status == "past_due_in_grace"
    with time_machine.travel(datetime(2026, 3, 2, 6, 0, tzinfo=ZoneInfo("UTC"))):
        assert patient_good_standing(patient=patient).status == "past_due"


def test_good_standing_by_patient_answers_many_patients_in_one_query(django_assert_num_queries, patient):
    others = PatientUserFactory.create_batch(4)
    SubscriptionFactory(customer__patient=patient, status="active")
    for other, status in zip(others, ["past_due", "canceled", "trialing"], strict=False):
        SubscriptionFactory(customer__patient=other, status=status, past_due_since=None)
    ids = [patient.pk] + [o.pk for o in others]
    with django_assert_num_queries(1):
        standings = good_standing_by_patient(patient_ids=ids)
    assert [standings[i].status for i in ids] == ["active", "past_due", "canceled", "trialing", "none"]
    assert standings[patient.pk].ok and not standings[others[3].pk].ok


def _standing_through_columns(patients, on):
    """Each patient's standing judged from current_subscription_columns, read in one query."""
    from accounts.models import User
    from billing.services.standing import current_subscription_columns

    columns = current_subscription_columns(patient_ref="pk", prefix="s_")
    rows = User.objects.filter(pk__in=[p.pk for p in patients]).annotate(**columns).values("pk", *columns)
    return {
        row["pk"]: patient_good_standing(patient=None, on=on, read={k[2:]: v for k, v in row.items() if k != "pk"})
        for row in rows
    }


def test_the_current_subscriptions_columns_judge_as_the_patients_rows_do():
    """The columns a caller's query reads (a booking's limits) pick the subscription
    current_subscription picks (best status, then the newest by Stripe's creation time or ours,
    then the id) and give the same standing, over many mixes of statuses, ties and dates."""
    import random

    from billing.models import SubscriptionStatus

    pick = random.Random(20261201)
    moments = [datetime(2026, 11, 1, tzinfo=NY) + timedelta(days=d) for d in (0, 0, 3, 20)]
    patients = []
    for _ in range(80):
        patient = PatientUserFactory()
        patients.append(patient)
        for i in range(pick.randint(0, 3)):
            moment, status = pick.choice(moments), pick.choice(SubscriptionStatus.values)
            clock = status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)  # the table's constraint
            SubscriptionFactory(
                **({"customer__patient": patient} if i == 0 else {"customer": patient.stripe_customer}),
                status=status,
                stripe_created_at=pick.choice([moment, None]),
                created_at=pick.choice(moments),
                cancel_at=pick.choice([None, None, moment + timedelta(days=10)]),
                cancel_at_period_end=pick.random() < 0.3,
                past_due_since=pick.choice([None, moment]) if clock else None,
            )
    for on in (date(2026, 11, 5), date(2026, 11, 12), date(2026, 12, 31), date(2027, 1, 1)):
        expected = {p.pk: patient_good_standing(patient=p, on=on) for p in patients}
        assert _standing_through_columns(patients, on) == expected, on
    assert len({s.status for s in expected.values()}) >= 5  # the mix exercised most outcomes
