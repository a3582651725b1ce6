"""Domain errors of the practice app (stable codes)."""

from api.errors import Conflict, DomainError


class NotAPhysician(DomainError):
    code = "not_a_physician"
    default_message = "Credentials belong to physician accounts only."


class PhysicianProfileExists(Conflict):
    code = "physician_profile_exists"
    default_message = "This physician already has a profile."


class CredentialConflict(Conflict):
    code = "credential_conflict"
    default_message = "This change conflicts with another credential of the physician."
