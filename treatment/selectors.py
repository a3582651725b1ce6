"""Reads of sessions and check-ins, scoped to the caller (outside the scope: 404)."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from api.errors import NotFound
from patients.models import SafetyFlag
from treatment.models import DosingSession

_RELATED = ("patient", "product", "prescription", "fill", "check_in", "check_in__vital_reading")


def sessions_for_patient(*, patient: User) -> QuerySet[DosingSession]:
    return (
        DosingSession.objects.filter(patient=patient)
        .select_related(*_RELATED)
        .prefetch_related(Prefetch("check_in__flags", queryset=SafetyFlag.objects.order_by("opened_at")))
        .order_by("-started_at", "-id")
    )


def session_get_for_patient(*, patient: User, public_id: UUID) -> DosingSession:
    session = DosingSession.objects.filter(patient=patient, public_id=public_id).first()
    if session is None:
        raise NotFound()
    return session


def sessions_for_care_team(*, viewer: User, patient_public_id: UUID) -> QuerySet[DosingSession]:
    """A physician sees the sessions of their caseload's patients, staff every patient's."""
    from patients.selectors import patient_visible_to

    if not (viewer.is_physician or viewer.is_practice_staff):
        raise NotFound()
    patient = patient_visible_to(viewer=viewer, patient_public_id=patient_public_id)
    return sessions_for_patient(patient=patient)
