"""Writes of the messaging app (docs/messaging.md).

Every write runs in one transaction with its audit row, its safety flag and its notification
outbox rows: a message exists exactly when its notice does. Notification texts never carry the
message (notifications.kinds `care_team_message`, `patient_message`, `message_overdue`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, Role, StaffRole, User
from messaging.attachments import attachment_check, attachment_store, removes_stored_files_on_failure
from messaging.crisis import AUTOMATIC_REPLY, has_crisis_words
from messaging.errors import FieldInvalid
from messaging.models import Message, SenderRole, Thread
from messaging.selectors import overdue_threads
from messaging.sla import reply_due
from notifications.services import Recipient, notify
from patients.models import SafetyFlagKind
from patients.selectors import notification_contact, patient_profile
from patients.services.safety import safety_flag_raise

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    message: Message
    automatic_reply: Message | None = None


def _thread_for_update(patient: User, now: datetime) -> Thread:
    thread, _ = Thread.objects.get_or_create(patient=patient, defaults={"created_at": now})
    return Thread.objects.select_for_update().get(pk=thread.pk)


def _clean_body(body: str, attachment) -> str:
    text = (body or "").strip()
    if not text and attachment is None:
        raise FieldInvalid("body", "required", "Write a message or attach a file.")
    if len(text) > settings.MESSAGING_MAX_BODY_CHARS:
        raise FieldInvalid("body", "max_length", f"At most {settings.MESSAGING_MAX_BODY_CHARS} characters.")
    return text


def _new_message(*, thread, sender, role, body, now, attachment=None) -> Message:
    message = Message(thread=thread, sender=sender, sender_role=role, body=body, created_at=now)
    if attachment is not None:
        checked = attachment_check(attachment)
        message.attachment_content_type = checked.content_type
        message.attachment_size = checked.size
        message.attachment_name = checked.name
        attachment_store(message, attachment)
    message.save()
    return message


@removes_stored_files_on_failure
@transaction.atomic
def message_send_by_patient(*, patient: User, body: str, attachment=None, request=None) -> Sent:
    """A patient writes to their care team. The reply clock starts with the oldest unanswered
    message (docs/messaging.md#reply-time). Crisis words: an automatic reply with 988 and 911
    now, and a same-day safety flag that alerts the care team."""
    now = timezone.now()
    text = _clean_body(body, attachment)
    thread = _thread_for_update(patient, now)
    message = _new_message(
        thread=thread, sender=patient, role=SenderRole.PATIENT, body=text, now=now, attachment=attachment
    )
    if thread.waiting_since is None:
        thread.waiting_since, thread.due_at, thread.overdue_notified_at = now, reply_due(now), None
        _tell_care_team(patient=patient, message=message)
    message.due_at = thread.due_at
    reply = None
    if has_crisis_words(text):
        message.crisis = True
        reply = Message.objects.create(
            thread=thread, sender=None, sender_role=SenderRole.AUTOMATIC, body=AUTOMATIC_REPLY, created_at=now
        )
        _raise_crisis_flag(patient=patient, request=request)
    message.save(update_fields=["due_at", "crisis"])
    thread.last_message_at = now
    thread.save(update_fields=["waiting_since", "due_at", "overdue_notified_at", "last_message_at"])
    audit_log(request, AuditAction.CREATE, message, actor=patient)
    logger.info("patient message sent message_id=%s crisis=%s", message.pk, message.crisis)
    return Sent(message, reply)


def care_team_recipients(*, patient: User) -> list[User]:
    """Who is told that a patient wrote (docs/messaging.md#notices): the assigned physician
    (when active) and every active care coordinator, each once; the medical director only when
    the patient has no active physician, so someone clinical hears of it. Never a pharmacy
    liaison or an administrator (they may not read messages: docs/messaging.md#who-sees-what)."""
    profile = patient_profile(patient=patient)
    physician = profile.assigned_physician if profile is not None else None
    people = [physician] if physician is not None and physician.is_active else []
    # A staff account without a sub-role is a care coordinator (User.access_role).
    roles = ["", StaffRole.CARE_COORDINATOR] + ([StaffRole.MEDICAL_DIRECTOR] if not people else [])
    people.extend(User.objects.filter(role=Role.STAFF, staff_role__in=roles, is_active=True).order_by("pk"))
    return list({p.pk: p for p in people if p.email}.values())


def _tell_care_team(*, patient: User, message: Message) -> None:
    """The first unanswered message of a waiting period: one email each (kind `patient_message`,
    no name, no text). Later messages before an answer tell nobody (the inbox shows them, and
    `message_overdue` follows if the reply time passes)."""
    for person in care_team_recipients(patient=patient):
        notify(kind="patient_message", recipient=Recipient.of(person), dedupe_key=f"patient-message:{message.pk}")


def _raise_crisis_flag(*, patient: User, request) -> None:
    safety_flag_raise(patient=patient, kind=SafetyFlagKind.MESSAGE_CRISIS, request=request)


def _patient_recipient(patient: User) -> Recipient:
    phone, _ = notification_contact(user=patient)
    return Recipient.of(patient, phone=phone)


@removes_stored_files_on_failure
@transaction.atomic
def message_send_by_care_team(*, actor: User, patient: User, body: str, attachment=None, request=None) -> Message:
    """A care-team member replies (the caller found the patient through the viewer's scope). The
    thread is answered: its reply clock stops; the patient is told a message is waiting, never
    what it says."""
    now = timezone.now()
    text = _clean_body(body, attachment)
    thread = _thread_for_update(patient, now)
    message = _new_message(
        thread=thread, sender=actor, role=SenderRole.CARE_TEAM, body=text, now=now, attachment=attachment
    )
    Message.objects.filter(thread=thread, sender_role=SenderRole.PATIENT, answered_at__isnull=True).update(
        answered_at=now
    )
    thread.waiting_since = thread.due_at = None
    thread.last_message_at, thread.last_answered_by = now, actor
    thread.save(update_fields=["waiting_since", "due_at", "last_message_at", "last_answered_by"])
    audit_log(request, AuditAction.CREATE, message, actor=actor)
    notify(
        kind="care_team_message",
        recipient=_patient_recipient(patient),
        dedupe_key=f"message:{message.pk}",
    )
    logger.info("care team message sent message_id=%s", message.pk)
    return message


def message_mark_read(*, actor: User, message: Message, request=None) -> Message:
    """The care team read a patient's message (a care-team or automatic message: nothing to mark).
    The first reader is kept."""
    if message.sender_role == SenderRole.PATIENT and message.read_at is None:
        now = timezone.now()
        Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=now, read_by=actor)
        message.refresh_from_db(fields=["read_at", "read_by"])
        audit_log(request, AuditAction.UPDATE, message, actor=actor, detail="read")
    return message


def messages_mark_read_by_patient(*, patient: User, messages: list[Message]) -> int:
    """The patient opened a page of their thread: the care team's (and automatic) messages on it
    are read. One UPDATE whatever the page holds."""
    if not messages:
        return 0
    now = timezone.now()
    marked = (
        Message.objects.filter(pk__in=[m.pk for m in messages], read_at__isnull=True)
        .exclude(sender_role=SenderRole.PATIENT)
        .update(read_at=now, read_by=patient)
    )
    for m in messages:
        if m.sender_role != SenderRole.PATIENT and m.read_at is None:
            m.read_at = now
    return marked


def _care_team_addresses(thread: Thread) -> list[str]:
    profile = patient_profile(patient=thread.patient)
    physician = profile.assigned_physician if profile is not None else None
    addresses = [physician.email] if physician is not None and physician.is_active else []
    addresses.extend(settings.CARE_TEAM_ALERT_EMAILS)
    return list(dict.fromkeys(a.strip().lower() for a in addresses if a and a.strip()))


def overdue_notify(*, now: datetime | None = None) -> int:
    """Beat: tell the care team once when a thread passes its reply time (the assigned physician
    and the care-team address). Claimed per thread by compare-and-swap, and the outbox rows carry
    a dedupe key per waiting period, so a duplicated or overlapping task tells nobody twice."""
    now = now or timezone.now()
    told = 0
    for thread_id, due_at in list(overdue_threads(now=now).values_list("pk", "due_at")[:500]):
        with transaction.atomic():
            claimed = Thread.objects.filter(Q(pk=thread_id, due_at=due_at, overdue_notified_at__isnull=True)).update(
                overdue_notified_at=now
            )
            if not claimed:
                continue
            thread = Thread.objects.select_related("patient").get(pk=thread_id)
            for address in _care_team_addresses(thread):
                notify(
                    kind="message_overdue",
                    recipient=address,
                    dedupe_key=f"message-overdue:{thread.pk}:{int(due_at.timestamp())}",
                )
            told += 1
    if told:
        logger.info("overdue message threads notified count=%d", told)
    return told
