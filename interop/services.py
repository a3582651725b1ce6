"""Record exports: request one, build it (a worker, through the outbox), sign download links.
docs/fhir.md#record-export."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from interop import export as builder
from interop.models import ExportStatus, RecordExport
from notifications.services import effect_enqueue

logger = logging.getLogger(__name__)

_UNFINISHED = (ExportStatus.PENDING, ExportStatus.RUNNING)
_SALT = "interop.record-export.download"
PARTS = ("bundle", "pdf")


def record_export_request(*, request, requested_by: User, patient: User) -> tuple[RecordExport, bool]:
    """Start an export of `patient`'s record for `requested_by` (the patient, or a clinician
    whose scope the caller checked). An unfinished export of the same pair is returned instead
    of a second one (False: not created)."""
    existing = RecordExport.objects.filter(patient=patient, requested_by=requested_by, status__in=_UNFINISHED).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            export = RecordExport.objects.create(patient=patient, requested_by=requested_by)
            audit_log(request, AuditAction.EXPORT, export, actor=requested_by, detail="record export requested")
            effect_enqueue(
                handler="interop.services.record_export_build",
                args={"export_id": export.pk},
                dedupe_key=f"record-export:{export.pk}",
            )
    except IntegrityError:  # a concurrent request of the same pair won the constraint
        return RecordExport.objects.get(patient=patient, requested_by=requested_by, status__in=_UNFINISHED), False
    return export, True


def _progress(export_id: int, percent: int) -> None:
    RecordExport.objects.filter(pk=export_id, status=ExportStatus.RUNNING).update(progress=min(percent, 99))


def record_export_build(*, export_id: int) -> None:
    """The worker's part (an outbox effect, so a dead worker's job is run again): claim the
    export, build the Bundle and the PDF, store them encrypted, audit. A failure marks the
    export failed (the patient may ask again) instead of retrying forever."""
    now = timezone.now()
    claimed = RecordExport.objects.filter(pk=export_id, status__in=_UNFINISHED).update(
        status=ExportStatus.RUNNING, started_at=now, progress=1
    )
    if not claimed:
        return  # already built (a redelivery), or gone
    export = RecordExport.objects.select_related("patient").get(pk=export_id)
    try:
        bundle = builder.patient_bundle(
            patient=export.patient, generated_at=now, progress=lambda p: _progress(export_id, p)
        )
        _progress(export_id, 85)
        pdf = builder.render_summary_pdf(bundle=bundle, patient=export.patient, generated_at=now)
    except Exception:
        logger.exception("record export build failed export=%s", export.public_id)
        RecordExport.objects.filter(pk=export_id).update(
            status=ExportStatus.FAILED, error_code="build_failed", finished_at=timezone.now()
        )
        return
    finished = timezone.now()
    with transaction.atomic():
        RecordExport.objects.filter(pk=export_id).update(
            status=ExportStatus.READY,
            progress=100,
            finished_at=finished,
            available_until=finished + timedelta(days=settings.RECORD_EXPORT_RETENTION_DAYS),
            resource_count=len(bundle["entry"]),
        )
        # Encrypted fields go through save(), not update().
        export.refresh_from_db()
        export.bundle_json = json.dumps(bundle, separators=(",", ":"))
        export.pdf_base64 = base64.b64encode(pdf).decode("ascii")
        export.save(update_fields=["bundle_json", "pdf_base64"])
        audit_log(
            None,
            AuditAction.EXPORT,
            export,
            actor=export.requested_by,
            detail=f"record export built: {len(bundle['entry'])} resources",
        )


# --- retention ------------------------------------------------------------------------------------
def record_export_purge_expired(*, now=None, batch_size: int = 200) -> int:
    """Delete the contents (the encrypted Bundle and PDF) of every export past `available_until`
    and keep the row as an audit stub: who requested whose record, when, and how many resources
    (docs/fhir.md#record-export-retention). Safe to run twice; returns how many were purged."""
    now = now or timezone.now()
    due = RecordExport.objects.filter(available_until__lte=now, purged_at__isnull=True).order_by("pk")
    purged = 0
    while ids := list(due.values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            rows = list(
                RecordExport.objects.select_for_update()
                .filter(pk__in=ids, purged_at__isnull=True)
                .only("pk", "public_id")
            )
            RecordExport.objects.filter(pk__in=[r.pk for r in rows]).update(
                bundle_json=None, pdf_base64=None, purged_at=now
            )
            audit_log(None, AuditAction.DELETE, rows, actor=None, detail="record export contents purged (retention)")
        purged += len(rows)
    return purged


# --- download links -----------------------------------------------------------------------------
@dataclass(frozen=True)
class DownloadLink:
    part: str
    token: str
    expires_at: object


def download_token(export: RecordExport, part: str) -> DownloadLink:
    """A signed, expiring token for one part of a ready export (the link is the credential, so
    it lives RECORD_EXPORT_LINK_TTL_SECONDS; a new status read issues a fresh one)."""
    token = signing.dumps({"e": str(export.public_id), "p": part}, salt=_SALT, compress=False)
    return DownloadLink(part, token, timezone.now() + timedelta(seconds=settings.RECORD_EXPORT_LINK_TTL_SECONDS))


def export_for_token(token: str) -> tuple[RecordExport, str] | None:
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.RECORD_EXPORT_LINK_TTL_SECONDS)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(payload, dict) or payload.get("p") not in PARTS:
        return None
    export = RecordExport.objects.filter(public_id=payload.get("e")).select_related("patient", "requested_by").first()
    if export is None or not export.is_available():
        return None
    return export, payload["p"]
