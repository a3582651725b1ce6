"""Consents: which document versions are current, who signed what, signing (idempotent)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.audit import audit_log, client_ip
from accounts.models import AuditAction, User
from patients.errors import DocumentSuperseded
from patients.models import ConsentDocument, ConsentKind, ConsentSignature


def current_documents(*, on: datetime | None = None, signed_by: User | None = None) -> list[ConsentDocument]:
    """The version in effect of each kind (the highest version whose effective_at has passed). One query.

    With `signed_by`, each document also says whether that patient signed it (`signed`), in the
    same query."""
    now = on or timezone.now()
    current: dict[str, ConsentDocument] = {}
    documents = ConsentDocument.objects.filter(effective_at__lte=now).order_by("kind", "-version")
    if signed_by is not None:
        documents = documents.annotate(
            signed=Exists(ConsentSignature.objects.filter(patient=signed_by, document=OuterRef("pk")))
        )
    for document in documents:
        current.setdefault(document.kind, document)
    order = list(ConsentKind.values)
    return sorted(current.values(), key=lambda d: order.index(d.kind))


def patient_consents_current(*, patient: User) -> list[str]:
    """Contract: the consent kinds the patient still has to sign (empty = every current version signed).

    A new version of a document puts its kind back on this list until the patient signs it, so
    prescribing (which checks this) waits for the new signature.
    """
    documents = current_documents(signed_by=patient)
    return [d.kind for d in documents if not d.signed]  # type: ignore[attr-defined]  # annotated by current_documents


def body_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Signed:
    signature: ConsentSignature
    created: bool


@transaction.atomic
def consent_sign(*, patient: User, document: ConsentDocument, request=None) -> Signed:
    """Sign the current version of a document; signing it again returns the first signature."""
    existing = ConsentSignature.objects.filter(patient=patient, document=document).first()
    if existing is not None:
        return Signed(existing, created=False)
    current = {d.pk for d in current_documents()}
    if document.pk not in current:
        raise DocumentSuperseded()
    signature = ConsentSignature(
        patient=patient,
        document=document,
        document_kind=document.kind,
        document_version=document.version,
        body_sha256=body_hash(document.body),
        signed_at=timezone.now(),
        ip_address=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:255] if request is not None else ""),
    )
    signature.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            signature.save()
    except IntegrityError:  # the same patient signing twice at once
        return Signed(ConsentSignature.objects.get(patient=patient, document=document), created=False)
    audit_log(request, AuditAction.SIGN, signature, actor=patient, detail=f"{document.kind} v{document.version}")
    return Signed(signature, created=True)
