"""The evening diary reminder (opt-in, at the patient's chosen local time, once per local date).

The scan claims a day by inserting its DiaryReminderDelivery row (unique per patient and local
date), so two scans, or a scan delivered twice, send one reminder. `deliver_diary_reminder`
writes the outbox row (notifications.services.notify, kind `diary_reminder`, dedupe key per
patient and local date) in the transaction that records the claim's outcome; the outbox sends it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from notifications.preferences import channel_allowed, preference_for
from notifications.services import Recipient, notify
from outcomes import selectors
from outcomes.models import DiaryReminderDelivery, DiaryReminderPreference, HeadacheDiaryEntry
from patients.selectors import patient_profile

logger = logging.getLogger(__name__)

# A reminder is sent from the chosen time until this long after it, never later in the night
# (a scan that ran late, or a preference switched on at 11 pm for 7 pm, waits for tomorrow).
SEND_WINDOW = timedelta(hours=3)


def deliver_diary_reminder(*, patient: User, phone: str, local_date) -> str:
    """Queue the reminder (no PHI) by SMS when the patient has a phone and takes diary texts,
    else by email unless they switched diary emails off (docs/notifications.md#preferences): one
    message a night, as before the outbox. Returns the channel used, "" when the patient takes
    neither. Call it inside the transaction that records the outcome."""
    pref = preference_for(patient) or False
    if phone and channel_allowed(user=patient, group="diary", channel="sms", phone=phone, pref=pref):
        channel = "sms"
    elif channel_allowed(user=patient, group="diary", channel="email", pref=pref):
        channel = "email"
    else:
        return ""
    ids = notify(
        kind="diary_reminder",
        recipient=Recipient.of(patient, phone=phone),
        channels=(channel,),
        dedupe_key=f"diary-reminder:{patient.pk}:{local_date.isoformat()}",
    )
    return channel if ids else ""


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
            # The outbox row and "sent" (queued) commit together; the outbox retries a provider.
            with transaction.atomic():
                delivery.channel = deliver_diary_reminder(patient=patient, phone=_phone(patient), local_date=local_date)
                if delivery.channel:
                    delivery.status = DiaryReminderDelivery.Status.SENT
                    delivery.sent_at = timezone.now()
                else:  # every channel switched off for the diary
                    delivery.status = DiaryReminderDelivery.Status.SKIPPED
                delivery.save(update_fields=["status", "channel", "sent_at"])
        except Exception:  # noqa: BLE001 - a failed write is recorded, not retried tonight
            logger.warning("diary reminder failed delivery_id=%s", delivery.pk)
            delivery.status = DiaryReminderDelivery.Status.FAILED
            delivery.save(update_fields=["status"])
            continue
        sent += delivery.status == DiaryReminderDelivery.Status.SENT
    return sent
