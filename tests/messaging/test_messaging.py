"""Secure messaging: scope, encryption at rest, audited reads, the reply clock, crisis words,
attachments checked by content, and notices without the message (docs/messaging.md)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accounts import notifications as backends
from accounts.models import AuditEvent
from messaging.crisis import has_crisis_words
from messaging.models import Message, Thread
from messaging.services import overdue_notify
from messaging.sla import reply_due
from notifications.models import Delivery
from patients.models import SafetyFlag
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
PATIENT_URL = "/api/v1/patient/messages/"
INBOX_URL = "/api/v1/care-team/inbox/"


def team_url(patient, suffix=""):
    return f"/api/v1/care-team/patients/{patient.public_id}/messages/{suffix}"


def send(patient, body="Can I take it with food?", **extra):
    response = client_for(patient).post(PATIENT_URL, {"body": body, **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="PNG")
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# --- the thread and its scope --------------------------------------------------------------------


def test_patient_writes_and_the_care_team_answers(patient, physician, profile, committed):
    sent = send(patient)
    assert sent["automatic_reply"] is None
    assert sent["message"]["sender_role"] == "patient" and sent["message"]["due_at"]
    with committed():
        reply = client_for(physician).post(team_url(patient), {"body": "Yes, with a light meal."}, format="json")
    assert reply.status_code == 201, reply.content
    thread = Thread.objects.get(patient=patient)
    assert thread.waiting_since is None and thread.due_at is None and thread.last_answered_by == physician
    assert Message.objects.get(public_id=sent["message"]["id"]).answered_at is not None
    # The patient is told a message is waiting, never what it says.
    texts = [m.body for m in mail.outbox] + [s.body for s in backends.sms_outbox]
    assert texts and all(t == "You have a new message from your care team. Open the app to read it." for t in texts)
    assert not any("light meal" in t for t in texts)
    listed = client_for(patient).get(PATIENT_URL).json()["results"]
    assert [m["body"] for m in listed] == ["Yes, with a light meal.", "Can I take it with food?"]
    assert Message.objects.get(sender_role="care_team").read_at is not None  # opened by the patient


def test_bodies_are_encrypted_at_rest(patient, profile):
    send(patient, body="My private words")
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM messaging_message")
        (stored,) = cursor.fetchone()
    assert "private" not in stored and stored.startswith("gA")


def test_reads_are_audited(patient, physician, profile):
    sent = send(patient)
    client_for(physician).get(team_url(patient))
    assert AuditEvent.objects.filter(
        action="read", actor_id=physician.pk, object_type="messaging.message", patient_id=patient.pk
    ).exists()
    response = client_for(physician).post(team_url(patient, f"{sent['message']['id']}/read/"))
    assert response.status_code == 200 and response.json()["read_at"]
    assert AuditEvent.objects.filter(action="update", detail="read", actor_id=physician.pk).exists()


def test_another_patients_thread_and_a_pharmacy_liaison_get_404(
    patient, other_patient, physician, other_physician, profile, other_profile, pharmacy_liaison, admin_user
):
    sent = send(patient)
    # A physician outside the caseload, a pharmacy liaison, an administrator: not found.
    for outsider in (other_physician, pharmacy_liaison, admin_user):
        assert client_for(outsider).get(team_url(patient)).status_code == 404
        assert client_for(outsider).post(team_url(patient), {"body": "x"}, format="json").status_code == 404
        read = client_for(outsider).post(team_url(patient, f"{sent['message']['id']}/read/"))
        assert read.status_code == 404
    assert client_for(pharmacy_liaison).get(INBOX_URL).status_code == 404
    # Another patient's message id through one's own thread: not found; their inbox is empty to others.
    url = f"{PATIENT_URL}{sent['message']['id']}/attachment/"
    assert client_for(other_patient).get(url).status_code == 404
    assert client_for(other_patient).get(PATIENT_URL).json()["results"] == []
    assert client_for(other_physician).get(INBOX_URL + "?status=all").json()["results"] == []
    # A patient cannot use the care-team routes.
    assert client_for(other_patient).get(team_url(patient)).status_code == 404


def test_care_coordinators_and_the_medical_director_see_every_thread(patient, profile, staff, medical_director):
    send(patient)
    for member in (staff, medical_director):
        rows = client_for(member).get(INBOX_URL).json()["results"]
        assert [r["patient"]["id"] for r in rows] == [str(patient.public_id)]
        assert client_for(member).get(team_url(patient)).status_code == 200


# --- the inbox and the reply clock ---------------------------------------------------------------


def test_reply_clock_is_one_business_day_across_a_weekend():
    # Friday 15:00 -> Monday 15:00 (not Saturday).
    assert reply_due(datetime(2026, 12, 4, 15, 0, tzinfo=NY)) == datetime(2026, 12, 7, 15, 0, tzinfo=NY)
    # Saturday 10:00 -> the end of Monday.
    assert reply_due(datetime(2026, 12, 5, 10, 0, tzinfo=NY)) == datetime(2026, 12, 8, 0, 0, tzinfo=NY)
    # Thursday 23:30 EST is Friday 04:30 UTC: the practice's Thursday -> Friday 23:30.
    assert reply_due(datetime(2026, 12, 4, 4, 30, tzinfo=ZoneInfo("UTC"))) == datetime(2026, 12, 4, 23, 30, tzinfo=NY)
    # Across the DST change: Friday 31 Oct 2026 09:00 EDT -> Monday 2 Nov 09:00 EST (wall clock).
    assert reply_due(datetime(2026, 10, 30, 9, 0, tzinfo=NY)) == datetime(2026, 11, 2, 9, 0, tzinfo=NY)


def test_holidays_do_not_count(settings):
    settings.MESSAGING_HOLIDAYS = ["2026-12-25"]
    assert reply_due(datetime(2026, 12, 24, 11, 0, tzinfo=NY)) == datetime(2026, 12, 28, 11, 0, tzinfo=NY)


def test_inbox_sorts_by_due_time_shows_overdue_and_filters(
    patient, other_patient, physician, profile, other_profile, staff
):
    with time_machine.travel(datetime(2026, 12, 4, 15, 0, tzinfo=NY), tick=False):  # Friday
        send(other_patient)
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=NY), tick=False):  # Monday
        send(patient)
    with time_machine.travel(datetime(2026, 12, 7, 16, 0, tzinfo=NY), tick=False):
        rows = client_for(staff).get(INBOX_URL).json()["results"]
        assert [r["patient"]["id"] for r in rows] == [str(other_patient.public_id), str(patient.public_id)]
        assert [r["overdue"] for r in rows] == [True, False]
        assert rows[0]["unread_count"] == 1
        assert "body" not in str(rows)
        # "mine": the physician's caseload only.
        mine = client_for(physician).get(INBOX_URL + "?status=mine").json()["results"]
        assert [r["patient"]["id"] for r in mine] == [str(patient.public_id)]
        client_for(staff).post(team_url(other_patient), {"body": "Answered."}, format="json")
        assert len(client_for(staff).get(INBOX_URL).json()["results"]) == 1  # unanswered only
        assert len(client_for(staff).get(INBOX_URL + "?status=all").json()["results"]) == 2
        assert [r["patient"]["id"] for r in client_for(staff).get(INBOX_URL + "?status=mine").json()["results"]] == []
    bad = client_for(staff).get(INBOX_URL + "?status=everything")
    assert bad.status_code == 400 and bad.json()["fields"]["status"][0]["code"] == "invalid_choice"


def test_the_care_team_is_told_once_when_a_thread_goes_overdue(patient, profile, settings, committed):
    settings.CARE_TEAM_ALERT_EMAILS = ["oncall@practice.example"]
    with time_machine.travel(datetime(2026, 12, 4, 15, 0, tzinfo=NY), tick=False):
        send(patient)
    with time_machine.travel(datetime(2026, 12, 7, 14, 59, tzinfo=NY), tick=False):
        assert overdue_notify() == 0  # not yet
    with time_machine.travel(datetime(2026, 12, 7, 15, 1, tzinfo=NY), tick=False):
        with committed():
            assert overdue_notify() == 1
            assert overdue_notify() == 0  # a duplicated beat task tells nobody twice
    rows = Delivery.objects.filter(kind="message_overdue")
    assert sorted(rows.values_list("address", flat=True)) == ["dr.one@example.test", "oncall@practice.example"]
    assert sorted(m.to[0] for m in mail.outbox) == ["dr.one@example.test", "oncall@practice.example"]
    assert all("Can I take" not in m.body for m in mail.outbox)


# --- crisis words --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,crisis",
    [
        ("I want to kill myself", True),
        ("I\u2019ve been having SUICIDAL thoughts", True),
        ("I think I took too much", True),
        ("chest   pain since this morning", True),
        ("Can I reschedule my visit?", False),
        ("The skill myself was about", False),
    ],
)
def test_crisis_words(text, crisis):
    assert has_crisis_words(text) is crisis


def test_crisis_words_answer_at_once_and_open_a_same_day_flag(patient, physician, profile, settings, committed):
    settings.CARE_TEAM_ALERT_EMAILS = ["oncall@practice.example"]
    with committed():
        sent = send(patient, body="I don't want to live anymore, I want to die")
    reply = sent["automatic_reply"]
    assert reply["sender_role"] == "automatic" and "988" in reply["body"] and "911" in reply["body"]
    assert "not for emergencies" in reply["body"]
    flag = SafetyFlag.objects.get(patient=patient)
    assert flag.kind == "message_crisis" and flag.status == "open" and flag.alerted_at is not None
    alerts = [m for m in mail.outbox if m.subject == "Same-day review needed"]
    assert sorted(m.to[0] for m in alerts) == ["dr.one@example.test", "oncall@practice.example"]
    assert all("die" not in m.body for m in alerts)
    # The thread still waits for a person's answer.
    assert Thread.objects.get(patient=patient).waiting_since is not None


# --- attachments ---------------------------------------------------------------------------------


def test_attachments_are_checked_by_content_and_stored(patient, physician, profile):
    client = client_for(patient)
    image = SimpleUploadedFile("rash.txt", png_bytes(), content_type="text/plain")  # the name lies; the bytes do not
    response = client.post(PATIENT_URL, {"body": "Photo", "attachment": image}, format="multipart")
    assert response.status_code == 201, response.content
    attachment = response.json()["message"]["attachment"]
    assert attachment["content_type"] == "image/png" and attachment["name"] == "rash.txt"
    message = Message.objects.get(public_id=response.json()["message"]["id"])
    assert "rash" not in message.attachment.name
    download = client_for(physician).get(team_url(patient, f"{message.public_id}/attachment/"))
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert download.content == png_bytes()
    pdf = SimpleUploadedFile("labs.pdf", PDF, content_type="application/pdf")
    assert client.post(PATIENT_URL, {"body": "", "attachment": pdf}, format="multipart").status_code == 201


@pytest.mark.parametrize(
    "name,content,code",
    [
        ("photo.png", b"MZ\x90\x00 an executable", "unsupported_file_type"),
        ("photo.png", b"\x89PNG\r\n\x1a\n but not an image", "unsupported_file_type"),
        ("labs.pdf", b"%PDF-1.4 cut short", "unsupported_file_type"),
        ("empty.pdf", b"", "empty_file"),
    ],
)
def test_bad_attachments_are_refused(patient, profile, name, content, code):
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    response = client_for(patient).post(PATIENT_URL, {"body": "x", "attachment": upload}, format="multipart")
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields["attachment"][0]["code"] in {code, "empty"}
    assert not Message.objects.exists()


def test_large_attachments_and_empty_messages_are_refused(patient, profile, settings):
    settings.MESSAGING_ATTACHMENT_MAX_BYTES = 10
    upload = SimpleUploadedFile("labs.pdf", PDF, content_type="application/pdf")
    response = client_for(patient).post(PATIENT_URL, {"attachment": upload}, format="multipart")
    assert response.status_code == 400 and response.json()["fields"]["attachment"][0]["code"] == "file_too_large"
    response = client_for(patient).post(PATIENT_URL, {"body": "  "}, format="json")
    assert response.status_code == 400 and response.json()["fields"]["body"][0]["code"] == "required"


def test_a_new_waiting_period_after_an_answer(patient, staff, profile):
    with time_machine.travel(datetime(2026, 12, 1, 10, 0, tzinfo=NY), tick=False):
        send(patient)
        client_for(staff).post(team_url(patient), {"body": "Answer"}, format="json")
    with time_machine.travel(datetime(2026, 12, 2, 10, 0, tzinfo=NY), tick=False):
        send(patient, body="One more question")
        send(patient, body="And another")
    thread = Thread.objects.get(patient=patient)
    # The clock runs from the oldest unanswered message.
    assert thread.due_at == datetime(2026, 12, 3, 10, 0, tzinfo=NY)
    assert timedelta(0) < thread.due_at - thread.waiting_since <= timedelta(days=1)


# --- the care team's notice of a new patient message ---------------------------------------------


def test_the_first_unanswered_message_tells_the_physician_and_coordinators_once(
    patient, physician, profile, staff, pharmacy_liaison, medical_director, committed
):
    """One email per care-team member when a thread starts waiting; more messages before an
    answer tell nobody; never a pharmacy liaison; no name, no text (docs/messaging.md#notices)."""
    with committed():
        first = send(patient, body="My neighbour Bob asks about my ketamine troche dose")
        send(patient, body="Also: can I drive tomorrow?")
    rows = Delivery.objects.filter(kind="patient_message")
    assert sorted(rows.values_list("address", flat=True)) == sorted([physician.email, staff.email])
    assert set(rows.values_list("dedupe_key", flat=True)) == {
        f"patient-message:{Message.objects.get(public_id=first['message']['id']).pk}"
    }
    notices = [m for m in mail.outbox if m.subject == "A patient sent a message"]
    assert sorted(m.to[0] for m in notices) == sorted([physician.email, staff.email])
    assert pharmacy_liaison.email not in {m.to[0] for m in mail.outbox}
    assert medical_director.email not in {m.to[0] for m in mail.outbox}  # a physician is assigned
    for m in notices:
        assert m.body == "A patient sent a message. Open the inbox on the care dashboard."
        for secret in ("Bob", "ketamine", "troche", "dose", "drive", patient.last_name, patient.email):
            assert secret not in m.body and secret not in m.subject
    # An answer ends the waiting period; the next message tells the team again, once.
    with committed():
        client_for(physician).post(team_url(patient), {"body": "Yes."}, format="json")
        send(patient, body="Thanks!")
    assert Delivery.objects.filter(kind="patient_message").count() == 4


def test_without_a_physician_the_medical_director_is_told(patient, profile, staff, medical_director, committed):
    type(profile).objects.filter(pk=profile.pk).update(assigned_physician=None)
    with committed():
        send(patient)
    told = sorted(Delivery.objects.filter(kind="patient_message").values_list("address", flat=True))
    assert told == sorted([staff.email, medical_director.email])
