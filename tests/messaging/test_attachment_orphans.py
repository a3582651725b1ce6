"""A file stored by a send whose transaction rolls back is deleted; the sweep removes any other file
no message names (docs/messaging.md#orphaned-files)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from config.queues import REPORTS, queue_for
from messaging import attachments, services, tasks
from messaging.models import Message

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def media(settings):
    """A fresh, empty storage (the test settings' in-memory one, new for each test)."""
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    return default_storage


def _files(storage) -> list[str]:
    return sorted(attachments._stored_names(storage))


def _upload():
    return SimpleUploadedFile("labs.pdf", PDF, content_type="application/pdf")


@pytest.mark.parametrize("sender", ["patient", "care_team"])
def test_a_send_that_rolls_back_leaves_no_file(patient, physician, profile, media, monkeypatch, sender):
    def fail(*args, **kwargs):
        raise RuntimeError("the audit write failed")

    monkeypatch.setattr(services, "audit_log", fail)  # after the file is stored, inside the transaction
    with pytest.raises(RuntimeError):
        if sender == "patient":
            services.message_send_by_patient(patient=patient, body="labs", attachment=_upload())
        else:
            services.message_send_by_care_team(actor=physician, patient=patient, body="labs", attachment=_upload())
    assert not Message.objects.exists()
    assert _files(media) == []


def test_a_committed_send_keeps_its_file(patient, profile, media):
    sent = services.message_send_by_patient(patient=patient, body="labs", attachment=_upload())
    assert _files(media) == [sent.message.attachment.name]
    assert attachments.attachment_orphans_sweep(now=timezone.now() + timedelta(days=30)) == 0
    assert _files(media) == [sent.message.attachment.name]


def test_the_sweep_deletes_files_no_message_names_once_past_the_grace(patient, profile, media):
    kept = services.message_send_by_patient(patient=patient, body="labs", attachment=_upload()).message
    # A rollback the send cannot see (an outer transaction) leaves its file behind:
    with pytest.raises(RuntimeError), transaction.atomic():
        services.message_send_by_patient(patient=patient, body="again", attachment=_upload())
        raise RuntimeError("the caller's transaction failed")
    stray = default_storage.save("messages/stray-upload", ContentFile(b"x"))
    assert len(_files(media)) == 3 and Message.objects.count() == 1

    assert attachments.attachment_orphans_sweep() == 0  # too fresh: a send may still be in flight
    later = timezone.now() + attachments.ORPHAN_GRACE + timedelta(minutes=1)
    assert attachments.attachment_orphans_sweep(now=later) == 2
    assert _files(media) == [kept.attachment.name] and stray not in _files(media)
    assert attachments.attachment_orphans_sweep(now=later) == 0


def test_the_sweep_runs_hourly_on_the_reports_queue(media):
    entry = django_settings.CELERY_BEAT_SCHEDULE["messaging-sweep-orphaned-attachments"]
    assert entry["task"] == tasks.sweep_orphaned_attachments.name
    assert queue_for(entry["task"]) == REPORTS
    assert tasks.sweep_orphaned_attachments.apply().get() == 0  # no media folder yet: nothing to do
