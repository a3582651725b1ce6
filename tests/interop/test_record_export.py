"""Record exports: who may start them, progress, expiring signed links, audit."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditEvent
from interop import services
from interop.models import ExportStatus, RecordExport
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _start(client, url, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(url)


def test_a_patient_exports_their_record_once_at_a_time(chart, django_capture_on_commit_callbacks):
    client = client_for(chart.patient)
    with django_capture_on_commit_callbacks(execute=False):  # no worker yet: stays pending
        first = client.post("/api/v1/patient/record-export/")
        again = client.post("/api/v1/patient/record-export/")
    assert first.status_code == 202 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"] and first.json()["status"] == "pending"
    assert first.json()["downloads"] == []
    export = RecordExport.objects.get()
    services.record_export_build(export_id=export.pk)
    export.refresh_from_db()
    assert (export.status, export.progress) == (ExportStatus.READY, 100)
    services.record_export_build(export_id=export.pk)  # a redelivered job does nothing
    assert AuditEvent.objects.filter(action="export", object_id=str(export.pk)).count() == 2
    listed = client.get("/api/v1/patient/record-export/").json()
    assert [e["status"] for e in listed] == ["ready"] and listed[0]["resource_count"] == export.resource_count


def test_download_links_expire_and_cannot_be_forged(chart, django_capture_on_commit_callbacks, settings):
    client = client_for(chart.patient)
    export_id = _start(client, "/api/v1/patient/record-export/", django_capture_on_commit_callbacks).json()["id"]
    downloads = client.get(f"/api/v1/patient/record-export/{export_id}/").json()["downloads"]
    bundle_url = next(d["url"] for d in downloads if d["part"] == "bundle")
    anonymous = client_for(None)
    assert anonymous.get(bundle_url).status_code == 200
    read = AuditEvent.objects.filter(detail="record export download bundle").get()
    assert read.actor_id == chart.patient.pk and read.patient_id == chart.patient.pk
    token = bundle_url.rstrip("/").rsplit("/", 1)[-1]
    assert anonymous.get(f"/api/v1/record-export/download/{token[:-2]}xx/").status_code == 404
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=settings.RECORD_EXPORT_LINK_TTL_SECONDS + 5)):
        expired = anonymous.get(bundle_url)
    assert expired.status_code == 404 and expired.json()["code"] == "not_found"
    # Past the retention the export serves nothing, even through a fresh link.
    with time_machine.travel(timezone.now() + dt.timedelta(days=settings.RECORD_EXPORT_RETENTION_DAYS, hours=1)):
        status = client_for(chart.patient).get(f"/api/v1/patient/record-export/{export_id}/").json()
        assert status["downloads"] == []
        fresh = services.download_token(RecordExport.objects.get(), "bundle").token
        assert anonymous.get(f"/api/v1/record-export/download/{fresh}/").status_code == 404


def test_other_patients_exports_are_not_found(chart, django_capture_on_commit_callbacks):
    export_id = _start(
        client_for(chart.patient), "/api/v1/patient/record-export/", django_capture_on_commit_callbacks
    ).json()["id"]
    assert client_for(chart.other_patient).get(f"/api/v1/patient/record-export/{export_id}/").status_code == 404
    assert client_for(chart.other_patient).get("/api/v1/patient/record-export/").json() == []


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("physician", 202),
        ("medical_director", 202),
        ("other_physician", 404),
        ("staff", 404),
        ("pharmacy_liaison", 404),
        ("admin_user", 404),
        ("other_patient", 404),
    ],
)
def test_clinicians_export_for_a_patient_in_their_chart_scope(
    request, chart, viewer, expected, django_capture_on_commit_callbacks
):
    user = request.getfixturevalue(viewer)
    url = f"/api/v1/physician/patients/{chart.patient.public_id}/record-export/"
    response = _start(client_for(user), url, django_capture_on_commit_callbacks)
    assert response.status_code in ({expected} if expected == 202 else {403, 404})
    if expected == 202:
        export = RecordExport.objects.get()
        assert (export.patient, export.requested_by, export.status) == (chart.patient, user, ExportStatus.READY)
        assert client_for(user).get(url).json()[0]["id"] == str(export.public_id)
        # The clinician's export includes the flags too: it is the whole record.
        assert '"resourceType":"Flag"' in export.bundle_json
    else:
        assert not RecordExport.objects.exists()


def test_a_failed_build_is_marked_failed_and_another_may_start(chart, monkeypatch, django_capture_on_commit_callbacks):
    import interop.export

    def boom(**kwargs):
        raise RuntimeError("renderer down")

    monkeypatch.setattr(interop.export, "render_summary_pdf", boom)
    client = client_for(chart.patient)
    first = _start(client, "/api/v1/patient/record-export/", django_capture_on_commit_callbacks).json()
    status = client.get(f"/api/v1/patient/record-export/{first['id']}/").json()
    assert (status["status"], status["error_code"], status["downloads"]) == ("failed", "build_failed", [])
    monkeypatch.undo()
    second = _start(client, "/api/v1/patient/record-export/", django_capture_on_commit_callbacks)
    assert second.status_code == 202 and second.json()["id"] != first["id"]


def test_a_body_cannot_choose_the_patient_or_the_status(chart, django_capture_on_commit_callbacks):
    body = {
        "patient": str(chart.other_patient.public_id),
        "patient_id": str(chart.other_patient.public_id),
        "status": "ready",
    }
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(chart.patient).post("/api/v1/patient/record-export/", body, format="json")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    export = RecordExport.objects.get()
    assert (export.patient, export.requested_by) == (chart.patient, chart.patient)
