"""Good standing: the one answer to "may this patient get treatment-related services on date D?"

DOMAIN 7: new prescriptions, fills and follow-ups need an active (or trialing) membership; a
past_due membership keeps its standing for BILLING_PAST_DUE_GRACE_DAYS days from when the unpaid
invoice fell due, after which new shipments pause until it is paid. The free consultation needs
no card, so callers ask only for the services that need a membership.

Statuses (Standing.status): "none", "incomplete", "trialing", "active", "past_due",
"past_due_in_grace", "canceled", "unpaid". Stripe's "incomplete_expired" counts as "none" (it never
started) and "paused" as "unpaid" (a trial ended without a card). A membership set to cancel at
the end of its period is "canceled" for dates after that end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Case, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from api.prepared import PreparedRead
from billing.models import Subscription, SubscriptionStatus


class StandingStatus(models.TextChoices):
    NONE = "none", "No membership"
    INCOMPLETE = "incomplete", "Incomplete"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE_IN_GRACE = "past_due_in_grace", "Past due (in grace period)"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"
    UNPAID = "unpaid", "Unpaid"


NO_SUBSCRIPTION = "no_subscription"
SUBSCRIPTION_INACTIVE = "subscription_inactive"
PAYMENT_PAST_DUE = "payment_past_due"

_RANK = {
    SubscriptionStatus.ACTIVE: 0,
    SubscriptionStatus.TRIALING: 0,
    SubscriptionStatus.PAST_DUE: 1,
    SubscriptionStatus.UNPAID: 2,
    SubscriptionStatus.PAUSED: 2,
    SubscriptionStatus.INCOMPLETE: 3,
    SubscriptionStatus.CANCELED: 4,
    SubscriptionStatus.INCOMPLETE_EXPIRED: 5,
}


@dataclass(frozen=True)
class Standing:
    ok: bool
    status: str
    reason: str | None
    shipments_paused: bool
    grace_ends_on: date | None = None  # the first day without standing, while past due


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.PRACTICE_TIME_ZONE)


def today() -> date:
    return timezone.now().astimezone(_zone()).date()


def _local_date(moment: datetime) -> date:
    return moment.astimezone(_zone()).date()


def current_subscription(subscriptions: list[Subscription]) -> Subscription | None:
    """The subscription that speaks for the patient: the best status, then the newest."""
    if not subscriptions:
        return None
    return min(
        subscriptions,
        key=lambda s: (_RANK.get(s.status, 9), -(s.stripe_created_at or s.created_at).timestamp(), -s.pk),
    )


def grace_ends_on(subscription: Subscription) -> date | None:
    if subscription.past_due_since is None:
        return None
    return _local_date(subscription.past_due_since) + timedelta(days=settings.BILLING_PAST_DUE_GRACE_DAYS)


def standing_from(subscription: Subscription | None, *, on: date) -> Standing:
    """Pure rule: the standing a mirrored subscription gives on date `on` (practice time zone)."""
    if subscription is None or subscription.status == SubscriptionStatus.INCOMPLETE_EXPIRED:
        return Standing(ok=False, status="none", reason=NO_SUBSCRIPTION, shipments_paused=True)
    status = subscription.status
    if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE):
        ends = subscription.cancel_at
        if ends is None and subscription.cancel_at_period_end:
            ends = subscription.current_period_end
        if ends is not None and on >= _local_date(ends):
            return Standing(ok=False, status="canceled", reason=SUBSCRIPTION_INACTIVE, shipments_paused=True)
    if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        return Standing(ok=True, status=status, reason=None, shipments_paused=False)
    if status == SubscriptionStatus.PAST_DUE:
        grace_end = grace_ends_on(subscription)
        if grace_end is not None and on < grace_end:
            return Standing(
                ok=True,
                status="past_due_in_grace",
                reason=PAYMENT_PAST_DUE,
                shipments_paused=False,
                grace_ends_on=grace_end,
            )
        return Standing(
            ok=False, status="past_due", reason=PAYMENT_PAST_DUE, shipments_paused=True, grace_ends_on=grace_end
        )
    if status in (SubscriptionStatus.UNPAID, SubscriptionStatus.PAUSED):
        return Standing(ok=False, status="unpaid", reason=PAYMENT_PAST_DUE, shipments_paused=True)
    # incomplete (never paid) and canceled: no membership; nothing new ships to a non-member.
    return Standing(ok=False, status=status, reason=SUBSCRIPTION_INACTIVE, shipments_paused=True)


# A patient's subscriptions, read by every booking and prescribing check: compiled once (api/prepared.py).
_SUBSCRIPTIONS = PreparedRead(
    Subscription, None, lambda patient_id: Subscription.objects.filter(patient_id=patient_id), params=("patient_id",)
)


def patient_good_standing(*, patient: User, on: date | None = None, read: dict | None = None) -> Standing:
    """Is this patient in good standing on date `on` (default: today in the practice's zone)? Contract.
    `read`: the values of `current_subscription_columns` a caller's own statement read for this
    patient (no query here); default: the patient's subscriptions are read."""
    if read is not None:
        return standing_from(_from_columns(read), on=on or today())
    subscriptions = _SUBSCRIPTIONS.rows(patient_id=patient.pk).slice(0, None)
    return standing_from(current_subscription(subscriptions), on=on or today())


# What standing_from judges of a subscription, read by current_subscription_columns.
_JUDGED = ("status", "cancel_at", "cancel_at_period_end", "current_period_end", "past_due_since")


def _current_first(subscriptions: models.QuerySet) -> models.QuerySet:
    """`subscriptions` in current_subscription's order: the best status, then the newest (the
    same _RANK; an unknown status last)."""
    rank = Case(*(When(status=s, then=Value(r)) for s, r in _RANK.items()), default=Value(9))
    return subscriptions.order_by(rank, Coalesce("stripe_created_at", "created_at").desc(), "-pk")


def current_subscription_columns(*, patient_ref: str, prefix: str) -> dict[str, Subquery]:
    """The patient's current subscription (current_subscription's pick) as columns of a caller's
    own query, one subquery per field standing_from judges, named `prefix` + field: a service that
    reads the patient's row anyway (a booking's limits) judges standing without a query of its
    own, by passing the values (keyed by field) to `patient_good_standing(read=...)`. `patient_ref`
    names the patient's user id in the caller's queryset. No subscription: every column None."""
    current = _current_first(Subscription.objects.filter(patient_id=OuterRef(patient_ref)))
    return {f"{prefix}{name}": Subquery(current.values(name)[:1]) for name in _JUDGED}


def _from_columns(read: dict) -> Subscription | None:
    if read.get("status") is None:
        return None
    return Subscription(**{name: read.get(name) for name in _JUDGED})
