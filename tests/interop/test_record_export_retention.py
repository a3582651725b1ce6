"""Record exports past their retention: the contents go, the audit stays
(docs/fhir.md#record-export-retention)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.models import AuditEvent
from config.queues import REPORTS, queue_for
from interop import services, tasks
from interop.models import ExportStatus, RecordExport
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _ready_export(patient, requested_by=None) -> RecordExport:
    export = RecordExport.objects.create(patient=patient, requested_by=requested_by or patient)
    services.record_export_build(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.READY and export.bundle_json and export.pdf_base64
    return export


def test_expired_exports_lose_their_contents_and_keep_the_audit_stub(chart, settings):
    old = _ready_export(chart.patient)
    fresh = _ready_export(chart.patient, requested_by=chart.physician)
    past = old.available_until + dt.timedelta(minutes=1)
    RecordExport.objects.filter(pk=fresh.pk).update(available_until=past + dt.timedelta(days=1))

    assert services.record_export_purge_expired(now=past) == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.bundle_json is None and old.pdf_base64 is None and old.purged_at == past
    # The stub: who asked for whose record, when, how much; the build's audit rows are untouched.
    assert (old.patient_id, old.requested_by_id, old.status) == (chart.patient.pk, chart.patient.pk, ExportStatus.READY)
    assert old.resource_count > 0 and old.finished_at is not None
    assert AuditEvent.objects.filter(object_id=str(old.pk), action="export").count() == 1  # the build's
    purge = AuditEvent.objects.get(object_id=str(old.pk), action="delete")
    assert purge.actor_id is None and "purged" in purge.detail
    assert fresh.bundle_json and fresh.purged_at is None

    assert services.record_export_purge_expired(now=past) == 0  # a second run finds nothing
    assert AuditEvent.objects.filter(object_id=str(old.pk), action="delete").count() == 1


def test_the_patient_still_sees_the_purged_export_without_links(chart):
    export = _ready_export(chart.patient)
    services.record_export_purge_expired(now=export.available_until)
    listed = client_for(chart.patient).get("/api/v1/patient/record-export/").json()
    assert [(e["id"], e["status"], e["downloads"]) for e in listed] == [(str(export.public_id), "ready", [])]


def test_unfinished_and_failed_exports_are_left_alone(chart):
    pending = RecordExport.objects.create(patient=chart.patient, requested_by=chart.patient)
    failed = RecordExport.objects.create(
        patient=chart.patient, requested_by=chart.physician, status=ExportStatus.FAILED, error_code="build_failed"
    )
    assert services.record_export_purge_expired(now=timezone.now() + dt.timedelta(days=365)) == 0
    assert RecordExport.objects.filter(pk__in=[pending.pk, failed.pk], purged_at__isnull=True).count() == 2


def test_the_purge_runs_hourly_on_the_reports_queue(chart):
    entry = django_settings.CELERY_BEAT_SCHEDULE["interop-purge-expired-record-exports"]
    assert entry["task"] == tasks.purge_expired_record_exports.name == "interop.tasks.purge_expired_record_exports"
    assert queue_for(entry["task"]) == REPORTS
    export = _ready_export(chart.patient)
    RecordExport.objects.filter(pk=export.pk).update(available_until=timezone.now() - dt.timedelta(seconds=1))
    assert tasks.purge_expired_record_exports.apply().get() == 1
