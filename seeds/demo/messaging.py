"""Demo messages, a push device and notification preferences (docs/messaging.md).

patient.miami: an unanswered question from an hour ago (due within one business day); an iPhone
  registered for push; quiet hours 22:00-07:00 and no shipping texts.
patient.jersey: a question left unanswered for five days: overdue in the care-team inbox (the
  beat task tells the care team once).
patient.pensacola: a question answered by the care team (the patient was notified).
Idempotent: a patient who already has a thread is left alone.
"""

from __future__ import annotations

from datetime import time, timedelta

from django.utils import timezone

from accounts.models import User
from messaging.models import Message, SenderRole, Thread
from messaging.services import message_send_by_care_team
from messaging.sla import reply_due
from notifications.devices import device_register
from notifications.models import NotificationPreference

MIAMI = "patient.miami@demo.practice.example"
JERSEY = "patient.jersey@demo.practice.example"
PENSACOLA = "patient.pensacola@demo.practice.example"


def _waiting(patient: User, body: str, sent_at) -> bool:
    if Thread.objects.filter(patient=patient).exists():
        return False
    due = reply_due(sent_at)
    thread = Thread.objects.create(
        patient=patient, created_at=sent_at, last_message_at=sent_at, waiting_since=sent_at, due_at=due
    )
    Message.objects.create(
        thread=thread, sender=patient, sender_role=SenderRole.PATIENT, body=body, created_at=sent_at, due_at=due
    )
    return True


def run(stdout) -> None:
    now = timezone.now()
    patients = {u.email: u for u in User.objects.filter(email__in=[MIAMI, JERSEY, PENSACOLA])}
    made = 0
    if MIAMI in patients:
        made += _waiting(
            patients[MIAMI], "Is it all right to have coffee on the morning of a session?", now - timedelta(hours=1)
        )
        device_register(user=patients[MIAMI], platform="ios", token="demo-apns-token-miami", app_version="1.4.0")
        NotificationPreference.objects.get_or_create(
            user=patients[MIAMI],
            defaults={"channels": {"shipping": {"sms": False}}, "quiet_start": time(22), "quiet_end": time(7)},
        )
    if JERSEY in patients:
        made += _waiting(
            patients[JERSEY], "Can my monitor be my neighbour instead of my sister next week?", now - timedelta(days=5)
        )
    pensacola = patients.get(PENSACOLA)
    if pensacola is not None and _waiting(pensacola, "Where do I see my next visit time?", now - timedelta(days=1)):
        team = getattr(getattr(pensacola, "patient_profile", None), "assigned_physician", None)
        team = team or User.objects.filter(role="staff", is_active=True).order_by("pk").first()
        if team is not None:
            message_send_by_care_team(
                actor=team, patient=pensacola, body="Under Visits in the app: it lists every booked visit."
            )
        made += 1
    stdout.write(f"  messaging: {made} new threads (one unanswered, one overdue, one answered)")
