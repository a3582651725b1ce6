"""Questionnaire submission: score on the server, keep the history, raise the item-9 flag."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log
from accounts.models import AuditAction, User
from api.errors import Conflict
from patients import policy
from patients.models import QuestionnaireResponse, SafetyFlag, SafetyFlagKind
from patients.scoring import score
from patients.services.safety import safety_flag_raise


@dataclass(frozen=True)
class Submission:
    response: QuestionnaireResponse
    created: bool  # False: a retry of an earlier submission, answered with the stored one
    flag: SafetyFlag | None  # the open item-9 flag this response raised or attached to


@transaction.atomic
def questionnaire_submit(
    *,
    actor: User,
    patient: User,
    instrument: str,
    answers: list,
    client_submission_id: uuid.UUID | None = None,
    request=None,
) -> Submission:
    """Score and store one questionnaire; a PHQ-9 with item 9 above 0 raises a safety flag.

    Invalid answers raise before anything is written. A retry (same `client_submission_id`, or
    the same answers again within PATIENTS_QUESTIONNAIRE_DEDUPE_MINUTES: a double tap) returns
    the stored response, so it never scores, flags or alerts twice.
    """
    scored = score(instrument, answers)
    # Serialise this patient's submissions (baseline choice, duplicate detection). SQLite
    # already serialises writers with its IMMEDIATE transactions.
    User.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True).first()

    duplicate = _earlier_submission(
        patient=patient, instrument=instrument, scored=scored, client_submission_id=client_submission_id
    )
    if duplicate is not None:
        return Submission(duplicate, created=False, flag=_open_item9_flag(patient, scored))

    response = QuestionnaireResponse(
        patient=patient,
        instrument=instrument,
        answers=list(scored.answers),
        total=scored.total,
        band=scored.band,
        taken_at=timezone.now(),
        is_baseline=not QuestionnaireResponse.objects.filter(
            patient=patient, instrument=instrument, is_baseline=True
        ).exists(),
        client_submission_id=client_submission_id,
    )
    response.full_clean(validate_constraints=False)
    response.save()
    audit_log(request, AuditAction.CREATE, response, actor=actor)

    flag = None
    if policy.self_harm_positive(scored):
        flag = safety_flag_raise(
            patient=patient, kind=SafetyFlagKind.PHQ9_ITEM9, source_questionnaire=response, request=request
        ).flag
    return Submission(response, created=True, flag=flag)


def _earlier_submission(
    *, patient: User, instrument: str, scored, client_submission_id: uuid.UUID | None
) -> QuestionnaireResponse | None:
    """The stored response this submission repeats: the same submission id (refused when its answers
    differ), or else the same answers within the dedupe window (a double tap)."""
    duplicate = None
    if client_submission_id is not None:
        duplicate = QuestionnaireResponse.objects.filter(
            patient=patient, client_submission_id=client_submission_id
        ).first()
        if duplicate is not None and (duplicate.instrument, list(duplicate.answers)) != (
            instrument,
            list(scored.answers),
        ):
            raise Conflict("This submission id was already used for different answers.", code="submission_id_reused")
    if duplicate is None:
        window_start = timezone.now() - timedelta(minutes=settings.PATIENTS_QUESTIONNAIRE_DEDUPE_MINUTES)
        recent = QuestionnaireResponse.objects.filter(
            patient=patient, instrument=instrument, total=scored.total, taken_at__gte=window_start
        )
        duplicate = next((r for r in recent if list(r.answers) == list(scored.answers)), None)
    return duplicate


def _open_item9_flag(patient: User, scored) -> SafetyFlag | None:
    if not policy.self_harm_positive(scored):
        return None
    return SafetyFlag.objects.filter(patient=patient, kind=SafetyFlagKind.PHQ9_ITEM9, status="open").first()
