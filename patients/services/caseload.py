"""The caseload link: which physician a patient is assigned to."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts import scopes
from accounts.audit import audit_log
from accounts.models import AuditAction, User
from accounts.scopes import Capability
from api.errors import Forbidden
from patients.errors import PhysicianUnavailable, ProfileMissing
from patients.models import PatientProfile
from practice.models import PhysicianProfile
from practice.services.licensing import physician_authorization


def _physician_refusals(*, physician: User, profile: PatientProfile) -> list[dict[str, str]]:
    """The practice app's rules (licence for the patient's state, accepting new patients, cap)."""
    reasons: list[dict[str, str]] = []
    today = timezone.localdate()
    authorization = physician_authorization(physician=physician, state=profile.state, on=today, action="consult")
    if not authorization.allowed:
        reasons.extend({"code": r.code, "message": r.message} for r in authorization.reasons)
    physician_profile = PhysicianProfile.objects.filter(user=physician).first()
    if physician_profile is not None and profile.assigned_physician_id != physician.pk:
        if not physician_profile.accepting_new_patients:
            reasons.append({"code": "not_accepting_new_patients", "message": "Not accepting new patients."})
        cap = physician_profile.new_patient_cap
        if cap is not None and PatientProfile.objects.filter(assigned_physician=physician).count() >= cap:
            reasons.append({"code": "caseload_full", "message": "This physician's caseload is full."})
    return reasons


@transaction.atomic
def patient_assign_physician(*, actor: User | None, patient: User, physician: User, request=None) -> PatientProfile:
    """Put the patient on the physician's caseload (staff, or the system when actor is None).

    Refused (422 `physician_unavailable` with every reason) when the physician may not consult
    in the patient's state or takes no new patients.
    """
    if actor is not None and not scopes.sees_all(actor, Capability.REVIEW_QUEUE):
        raise Forbidden("Only the staff who work the review queue assign physicians.")
    profile = PatientProfile.objects.select_for_update().filter(user=patient).first()
    if profile is None:
        raise ProfileMissing("The patient has no profile yet.")
    if not (physician.is_physician and physician.is_active):
        raise PhysicianUnavailable(reasons=[{"code": "not_a_physician", "message": "Not an active physician."}])
    reasons = _physician_refusals(physician=physician, profile=profile)
    if reasons:
        raise PhysicianUnavailable(reasons=reasons)
    if profile.assigned_physician_id != physician.pk:
        profile.assigned_physician = physician
        profile.physician_assigned_at = timezone.now()
        profile.save(update_fields=["assigned_physician", "physician_assigned_at", "updated_at"])
        audit_log(request, AuditAction.UPDATE, profile, actor=actor, detail="assigned_physician")
    return profile
