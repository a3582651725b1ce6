"""The evening diary reminder (opt-in, at the patient's chosen local time, once per local date).

The scan claims a day by inserting its DiaryReminderDelivery row (unique per patient and local
date), so two scans, or a scan delivered twice, send one reminder. Sending is one small function,
`deliver_diary_reminder`, so it can be pointed at the practice's notification outbox later.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import notifications
from accounts.models import User
from notifications.preferences import channel_allowed, preference_for
from outcomes import selectors
from outcomes.models import DiaryReminderDelivery, DiaryReminderPreference, HeadacheDiaryEntry
from outcomes.policy import DIARY_REMINDER_SMS, DIARY_REMINDER_SUBJECT
from patients.selectors import patient_profile

logger = logging.getLogger(__name__)

# A reminder is sent from the chosen time until this long after it, never later in the night
# (a scan that ran late, or a preference switched on at 11 pm for 7 pm, waits for tomorrow).
SEND_WINDOW = timedelta(hours=3)


def deliver_diary_reminder(*, patient: User, phone: str) -> str:
    """Send the reminder text (no PHI) by SMS when the patient has a phone and takes diary texts,
    else by email unless they switched diary emails off (docs/notifications.md#preferences).
    Returns the channel used, "" when the patient takes neither."""
    pref = preference_for(patient) or False
    if phone and channel_allowed(user=patient, group="diary", channel="sms", phone=phone, pref=pref):
        notifications.send_sms(to=phone, body=DIARY_REMINDER_SMS)
        return "sms"
    if not channel_allowed(user=patient, group="diary", channel="email", pref=pref):
        return ""
    notifications.send_email(to=patient.email, subject=DIARY_REMINDER_SUBJECT, body=DIARY_REMINDER_SMS)
    return "email"


def _phone(patient: User) -> str:
    profile = patient_profile(patient=patient)
    return str(profile.phone) if profile and profile.phone else ""


def send_due_diary_reminders(*, now=None) -> int:
    """Send every reminder due now; returns how many were sent. Safe to run twice."""
    now = now or timezone.now()
    sent = 0
    prefs = DiaryReminderPreference.objects.filter(enabled=True, patient__is_active=True).select_related("patient")
    for pref in prefs.iterator():
        patient = pref.patient
        zone = selectors.patient_zone(patient=patient)
        local_now = now.astimezone(zone)
        local_date = local_now.date()
        # The chosen wall-clock time on this local date (on a DST night a time in the skipped hour
        # resolves to the instant after the gap, a repeated one to its first occurrence).
        due = datetime.combine(local_date, pref.local_time, tzinfo=zone)
        if not (due <= local_now < due + SEND_WINDOW):
            continue
        try:
            with transaction.atomic():
                delivery = DiaryReminderDelivery.objects.create(patient=patient, local_date=local_date)
        except IntegrityError:
            continue  # already claimed for this local date
        if HeadacheDiaryEntry.objects.filter(patient=patient, date=local_date).exists():
            delivery.status = DiaryReminderDelivery.Status.SKIPPED
            delivery.save(update_fields=["status"])
            continue
        try:
            delivery.channel = deliver_diary_reminder(patient=patient, phone=_phone(patient))
        except Exception:  # noqa: BLE001 - a transport failure is recorded, not retried tonight
            logger.warning("diary reminder failed delivery_id=%s", delivery.pk)
            delivery.status = DiaryReminderDelivery.Status.FAILED
            delivery.save(update_fields=["status"])
            continue
        if not delivery.channel:  # every channel switched off for the diary
            delivery.status = DiaryReminderDelivery.Status.SKIPPED
            delivery.save(update_fields=["status"])
            continue
        delivery.status = DiaryReminderDelivery.Status.SENT
        delivery.sent_at = timezone.now()
        delivery.save(update_fields=["status", "channel", "sent_at"])
        sent += 1
    return sent
