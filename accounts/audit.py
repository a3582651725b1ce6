"""The audit trail of patient health information: one line in any view, service or task.

    audit_log(request, AuditAction.READ, appointment)           # in a view
    audit_log(request, AuditAction.READ, *page_of_records)       # a list: one row per record
    audit_log(None, AuditAction.UPDATE, order, actor=None)       # a task (system actor)

The patient of a record is found, in order, from `obj.audit_patient_id`, `obj.patient_id`, or
the object itself when it is a patient user. Rows never hold values, only ids and field names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings

from accounts.models import AuditAction, AuditEvent, Role, User
from api.middleware import current_request_id

_UNSET: Any = object()


def patient_id_of(obj: Any) -> int | None:
    if hasattr(obj, "audit_patient_id"):
        return obj.audit_patient_id
    if hasattr(obj, "patient_id"):
        return obj.patient_id
    if isinstance(obj, User) and obj.role == Role.PATIENT:
        return obj.pk
    return None


def client_ip(request) -> str | None:
    if request is None:
        return None
    if getattr(settings, "AUDIT_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def audit_log(
    request,
    action: AuditAction | str,
    *objects: Any,
    actor: User | None = _UNSET,
    detail: str = "",
    object_type: str | None = None,
) -> list[AuditEvent]:
    """Write one audit row per object, in one query, in the caller's transaction."""
    if actor is _UNSET:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    rows = [
        AuditEvent(
            actor=actor,
            actor_role=getattr(actor, "role", "") or "system",
            action=str(action),
            object_type=object_type or type(obj)._meta.label_lower,
            object_id=str(obj.pk),
            patient_id=patient_id_of(obj),
            ip_address=client_ip(request),
            request_id=getattr(request, "request_id", "") or current_request_id().replace("-", "") or "",
            path=(request.path[:255] if request is not None else ""),
            detail=detail[:255],
        )
        for obj in _flatten(objects)
    ]
    if rows:
        AuditEvent.objects.bulk_create(rows)
    return rows


def _flatten(objects: Iterable[Any]) -> Iterable[Any]:
    for obj in objects:
        if isinstance(obj, (list, tuple)):
            yield from obj
        else:
            yield obj


class AuditedAdminMixin:
    """For ModelAdmins of records holding patient health information: the change/view page
    logs a read, a save logs a create or update (changed field names only), a delete logs too."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            obj = self.get_object(request, object_id)
            if obj is not None:
                audit_log(request, AuditAction.READ, obj, detail="admin")
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = ",".join(form.changed_data) if form is not None else ""
        audit_log(request, AuditAction.UPDATE if change else AuditAction.CREATE, obj, detail=f"admin {changed}")

    def delete_model(self, request, obj):
        audit_log(request, AuditAction.DELETE, obj, detail="admin")
        super().delete_model(request, obj)
