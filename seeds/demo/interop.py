"""A ready record export for the Miami demo patient (FHIR Bundle + PDF summary), so the demo
shows the export screen with its download links; docs/fhir.md#record-export."""

from __future__ import annotations

from accounts.models import User

DEMO_PATIENT = "patient.miami@demo.practice.example"


def run(stdout) -> None:
    from interop.models import RecordExport
    from interop.services import record_export_build

    patient = User.objects.filter(email=DEMO_PATIENT).first()
    if patient is None or RecordExport.objects.filter(patient=patient).exists():
        return
    export = RecordExport.objects.create(patient=patient, requested_by=patient)
    record_export_build(export_id=export.pk)
    export.refresh_from_db()
    stdout.write(f"  record export of {DEMO_PATIENT}: {export.status}, {export.resource_count} FHIR resources")
