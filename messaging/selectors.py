"""Reads of the messaging app; every care-team read is scoped by accounts.scopes (Capability.MESSAGES)."""

from __future__ import annotations

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from accounts import scopes
from accounts.models import User
from accounts.scopes import Capability
from api.errors import NotFound
from messaging.models import Message, SenderRole, Thread
from patients.selectors import patient_visible_to

INBOX_STATUSES = ("unanswered", "mine", "all")


def patient_for_care_team(*, viewer: User, patient_public_id) -> User:
    """The patient, if the viewer is on their care team for messages (a physician: caseload; care
    coordinators and the medical director: every patient); else NotFound."""
    return patient_visible_to(viewer=viewer, patient_public_id=patient_public_id, capability=Capability.MESSAGES)


def thread_of(*, patient: User) -> Thread | None:
    return Thread.objects.filter(patient=patient).first()


def thread_messages(*, thread: Thread | None) -> QuerySet[Message]:
    """Newest first (page 1 is the latest); the thread is loaded once for the audit trail."""
    if thread is None:
        return Message.objects.none()
    return Message.objects.filter(thread=thread).select_related("thread", "sender").order_by("-created_at", "-id")


def message_in_thread(*, thread: Thread | None, message_public_id) -> Message:
    message = (
        Message.objects.filter(thread=thread, public_id=message_public_id).select_related("thread").first()
        if thread is not None
        else None
    )
    if message is None:
        raise NotFound()
    return message


def inbox(*, viewer: User, status: str = "unanswered", now=None) -> QuerySet[Thread]:
    """The care team's threads, soonest due first (unanswered ones), then the latest activity.

    `unanswered`: waiting for a reply; `mine`: waiting, and on the viewer's caseload or last
    answered by the viewer; `all`: every thread in scope."""
    scope = scopes.patient_q(viewer, Capability.MESSAGES, patient="patient")
    if scope is None:
        raise NotFound()
    now = now or timezone.now()
    threads = (
        Thread.objects.filter(scope)
        .select_related("patient", "last_answered_by")
        .annotate(
            unread_count=Count(
                "messages", filter=Q(messages__sender_role=SenderRole.PATIENT, messages__read_at__isnull=True)
            )
        )
    )
    if status in ("unanswered", "mine"):
        threads = threads.filter(waiting_since__isnull=False)
    if status == "mine":
        threads = threads.filter(Q(patient__patient_profile__assigned_physician=viewer) | Q(last_answered_by=viewer))
    return threads.order_by(F("due_at").asc(nulls_last=True), F("last_message_at").desc(nulls_last=True), "id")


def overdue_threads(*, now) -> QuerySet[Thread]:
    """Waiting threads past their reply time whose care team was not told yet."""
    return Thread.objects.filter(due_at__lte=now, overdue_notified_at__isnull=True).order_by("due_at", "id")
