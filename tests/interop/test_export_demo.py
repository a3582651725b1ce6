"""The demo patients' record exports, parsed back with fhir.resources (the round trip)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from fhir.resources.R4B.bundle import Bundle

from accounts.models import AuditEvent, User
from interop.models import ExportStatus, RecordExport
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _resource_types(bundle: dict) -> set[str]:
    return {e["resource"]["resourceType"] for e in bundle["entry"]}


def test_every_demo_patient_exports_and_the_bundle_parses_back(django_capture_on_commit_callbacks):
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    patients = list(User.objects.filter(role="patient", email__endswith="@demo.practice.example"))
    assert patients
    for patient in patients:
        client = client_for(patient)
        with django_capture_on_commit_callbacks(execute=True):
            started = client.post("/api/v1/patient/record-export/")
        assert started.status_code == 202, started.content
        export = RecordExport.objects.get(public_id=started.json()["id"])
        assert export.status == ExportStatus.READY, export.error_code
        status = client.get(f"/api/v1/patient/record-export/{export.public_id}/").json()
        assert status["progress"] == 100 and {d["part"] for d in status["downloads"]} == {"bundle", "pdf"}
        links = {d["part"]: d["url"] for d in status["downloads"]}
        bundle_response = client_for(None).get(links["bundle"])
        assert bundle_response.status_code == 200
        assert bundle_response["Content-Type"] == "application/fhir+json"
        text = b"".join(bundle_response.streaming_content) if bundle_response.streaming else bundle_response.content
        parsed = Bundle.model_validate_json(text)  # the round trip: every entry is a valid R4B resource
        assert parsed.type == "collection" and len(parsed.entry) == status["resource_count"]
        bundle = json.loads(text)
        assert {"Patient", "Consent"} <= _resource_types(bundle)
        pdf = client_for(None).get(links["pdf"])
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        exported = AuditEvent.objects.filter(patient=patient, action="export", object_id=str(export.pk))
        assert exported.count() == 2  # requested, built
    miami = User.objects.get(email="patient.miami@demo.practice.example")
    bundle = json.loads(RecordExport.objects.filter(patient=miami).first().bundle_json)
    assert {
        "Patient",
        "Practitioner",
        "Appointment",
        "Encounter",
        "MedicationRequest",
        "MedicationDispense",
        "QuestionnaireResponse",
        "Observation",
        "Consent",
    } <= _resource_types(bundle)


def test_the_demo_seed_builds_a_ready_export_once():
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115  (idempotent)
    export = RecordExport.objects.get()
    assert export.patient.email == "patient.miami@demo.practice.example"
    assert export.status == ExportStatus.READY and export.is_available()
    Bundle.model_validate_json(export.bundle_json)
