"""Billing reads, scoped to the caller: another patient's records are simply not found."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from accounts import scopes
from accounts.models import User
from accounts.scopes import Capability, Reach
from api.errors import NotFound
from billing.models import Invoice, Subscription, SubscriptionStatus
from billing.services.standing import Standing, current_subscription, standing_from, today


def subscription_current(*, patient: User) -> Subscription | None:
    """The subscription that decides the patient's standing (live first, then the newest)."""
    return current_subscription(list(Subscription.objects.filter(patient=patient)))


def subscription_for_patient(*, viewer: User, public_id=None) -> Subscription:
    """One of the patient's own subscriptions by public id, or their current one."""
    if public_id is not None:
        subscription = Subscription.objects.filter(patient=viewer, public_id=public_id).first()
    else:
        subscription = subscription_current(patient=viewer)
    if subscription is None:
        raise NotFound()
    return subscription


def _billing_scope(qs: QuerySet, viewer: User) -> QuerySet:
    reach = scopes.reach(viewer, Capability.BILLING_STANDING)
    if reach is Reach.ALL:
        return qs
    if reach is Reach.SELF:
        return qs.filter(patient=viewer)
    return qs.none()


def invoice_list(*, viewer: User, status: str | None = None, patient_public_id=None) -> QuerySet[Invoice]:
    """The caller's own invoices, newest first (care coordinators see every patient's, filterable)."""
    qs = _billing_scope(Invoice.objects.select_related("patient"), viewer)
    if status:
        qs = qs.filter(status=status)
    if patient_public_id:
        qs = qs.filter(patient__public_id=patient_public_id)
    return qs.order_by("-stripe_created_at", "-id")


def subscription_list(*, viewer: User, status: str | None = None, patient_public_id=None) -> QuerySet[Subscription]:
    """Care coordinators: every patient's subscriptions, filterable; a patient: their own."""
    qs = _billing_scope(Subscription.objects.select_related("patient"), viewer)
    if status:
        qs = qs.filter(status=status)
    if patient_public_id:
        qs = qs.filter(patient__public_id=patient_public_id)
    return qs.order_by("-created_at", "-id")


def past_due_list(*, viewer: User) -> QuerySet[Subscription]:
    """The dunning list: past-due and unpaid memberships, the longest overdue first."""
    return (
        subscription_list(viewer=viewer)
        .filter(status__in=[SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID])
        .order_by("past_due_since", "id")
    )


def good_standing_by_patient(*, patient_ids: list[int], on: date | None = None) -> dict[int, Standing]:
    """Standing of many patients in one query (a caseload, a shipment batch). Contract."""
    on = on or today()
    by_patient: dict[int, list[Subscription]] = {pid: [] for pid in patient_ids}
    for subscription in Subscription.objects.filter(patient_id__in=patient_ids):
        by_patient[subscription.patient_id].append(subscription)
    return {pid: standing_from(current_subscription(subs), on=on) for pid, subs in by_patient.items()}
