"""Every kind of message the practice sends, with its text and default channels.

The text is rendered here, once, when the outbox row is written (`str.format` with the caller's
context). **No PHI in any subject or body**: say that something happened and where to look,
never who, what medicine, which score or why ("Your order has shipped. Open the app for
details."). Context values are times, counts, opaque ids: never names, drugs or answers.
docs/notifications.md#what-is-sent-where lists who receives each kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifications.models import Channel

PATIENT_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.PUSH)  # SMS with a phone, push with a device
EMAIL = (Channel.EMAIL,)

# The groups a person chooses channels for (GET/PATCH /api/v1/me/notification-preferences/).
GROUPS = ("reminders", "shipping", "messages", "diary", "billing")


@dataclass(frozen=True)
class Kind:
    subject: str
    body: str
    channels: tuple[str, ...] = EMAIL  # defaults; SMS only goes out where a phone is known
    # The preference group ("" for the care team's own notices: preferences do not apply).
    group: str = ""
    # Safety and billing-required notices: sent whatever the person opted out of and whatever
    # the hour (still no PHI, and never by SMS to a number that answered STOP).
    required: bool = False


KINDS: dict[str, Kind] = {
    # Care team: a safety flag needs same-day review (patients).
    "safety_alert": Kind(
        subject="Same-day review needed",
        body="A patient needs same-day review. Open the care dashboard.",
        required=True,
    ),
    # Patient: their order moved (prescriptions). No drug name, no address.
    "order_shipped": Kind(
        subject="Your order",
        body="Your order has shipped. Open the app to track it.",
        channels=PATIENT_CHANNELS,
        group="shipping",
    ),
    "order_out_for_delivery": Kind(
        subject="Your order",
        body="Your order is out for delivery today. An adult must sign for it. Open the app to track it.",
        channels=PATIENT_CHANNELS,
        group="shipping",
    ),
    "order_delivered": Kind(
        subject="Your order",
        body="Your order was delivered. Open the app for details.",
        channels=PATIENT_CHANNELS,
        group="shipping",
    ),
    # Staff: an order needs attention (prescriptions). The order's opaque public id only.
    "order_attention": Kind(
        subject="{what}: order {order}",
        body="Order {order} needs attention ({what_lower}, status {status}). Open the delivery board for details.",
    ),
    # Patient: a membership payment failed (billing).
    "payment_failed": Kind(
        subject="Your membership payment",
        body="Your payment for your membership didn't go through. Open the app to update your card.",
        channels=PATIENT_CHANNELS,
        group="billing",
        required=True,
    ),
    "payment_action_required": Kind(
        subject="Your membership payment",
        body="Your bank needs you to confirm your membership payment. Open the app to finish.",
        channels=PATIENT_CHANNELS,
        group="billing",
        required=True,
    ),
    # Staff: physician credentials expiring soon (practice). Kinds, states, ids and dates only.
    "credential_expiry": Kind(
        subject="Credential expiry: {count} expiring within {days} days",
        body=(
            "{count} physician credential(s) expire within {days} days. Renew them, or the physician drops out "
            "of that state's availability the day after expiry.\n\n{lines}"
        ),
    ),
    # Patient: a care-team message is waiting (for the messaging app); never the message itself.
    "care_team_message": Kind(
        subject="New message",
        body="You have a new message from your care team. Open the app to read it.",
        channels=PATIENT_CHANNELS,
        group="messages",
    ),
    # Care team: before a prescribing-policy switch, daily counts of patients not ready (careteam).
    # Counts per state and physician names only.
    "readiness_digest": Kind(
        subject="Prescribing readiness for {switch_on}",
        body=(
            "Prescribing readiness for {switch_on}, the first day prescribing by telemedicine needs an "
            "in-person evaluation or another lawful basis.\n\n{lines}\n\nThe worklist with names is on the "
            "staff board: /api/v1/staff/prescribing-readiness/?on={switch_on}"
        ),
    ),
    # Patient: not ready for the policy switch (careteam). No date, drug or condition.
    "in_person_visit_needed": Kind(
        subject="Please book your in-person visit",
        body="Please book your in-person visit with your physician. Open the app to choose a time.",
        channels=PATIENT_CHANNELS,
        group="reminders",
    ),
    # Care team: a patient's message passed its reply time (messaging). No patient, no text.
    "message_overdue": Kind(
        subject="A patient message is overdue",
        body="A patient message is past its reply time. Open the inbox on the care dashboard.",
    ),
    # Physician: today's agenda (scheduling): a count and times, no patient.
    "physician_agenda": Kind(
        subject="Today's video visits",
        body="You have {count} video {noun} today ({zone}): {times}. Open the app for details.",
    ),
    # Patient: a visit is coming (scheduling; planned rows, sent through notify_many). The time in
    # the patient's zone; a video visit says nothing else. docs/notifications.md#visit-reminders
    "visit_reminder": Kind(
        subject="Your upcoming video visit",
        body="Reminder: you have a video visit {when} at {clock} {zone}. Open the app for details.",
        channels=PATIENT_CHANNELS,
        group="reminders",
    ),
    # An in-person visit: the time at the location and the office's address (a practice address is
    # not PHI), or "at your home"; the text approved in docs/in-person-visits.md#reminders.
    "in_person_visit_reminder": Kind(
        subject="Your upcoming in-person visit",
        body="Reminder: your in-person visit is {when} at {clock} {zone} {place}.",
        channels=PATIENT_CHANNELS,
        group="reminders",
    ),
    # Patient: the post-session check-in is missing (treatment). No session, no medicine.
    "check_in_reminder": Kind(
        subject="Your check-in is waiting",
        body="Please complete your post-session check-in. Open the app for details.",
        channels=PATIENT_CHANNELS,
        group="reminders",
    ),
    # Care team: a post-session check-in is still missing after the reminder (treatment).
    "check_in_overdue": Kind(
        subject="Post-session check-in overdue",
        body="A patient's post-session check-in is overdue. Open the care dashboard.",
    ),
    # Patient: the evening headache diary (outcomes, opt-in).
    "diary_reminder": Kind(
        subject="Your daily check-in",
        body="Reminder: take a minute to fill in today's diary. Open the app to log it.",
        channels=PATIENT_CHANNELS,
        group="diary",
    ),
    # Care team: a patient wrote and the thread was not waiting yet (messaging). No patient, no text.
    "patient_message": Kind(
        subject="A patient sent a message",
        body="A patient sent a message. Open the inbox on the care dashboard.",
    ),
}


class UnknownKind(LookupError):
    pass


def render(kind: str, context: dict) -> tuple[str, str]:
    """(subject, body) of a kind with its context; a missing context key raises KeyError."""
    try:
        spec = KINDS[kind]
    except KeyError as exc:
        raise UnknownKind(kind) from exc
    return spec.subject.format_map(context), spec.body.format_map(context)
