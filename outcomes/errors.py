"""Domain errors of the outcomes app, with stable codes."""

from __future__ import annotations

from api.errors import Conflict, DomainError


class FieldInvalid(DomainError):
    """One field refused by a rule that needs the database or the patient's clock (a 400 like the
    serializer's own field errors, so clients handle both the same way)."""

    code = "validation_error"
    default_message = "Some fields are invalid."

    def __init__(self, field: str, code: str, message: str):
        super().__init__(fields={field: [{"code": code, "message": message}]})


class FlagAlreadyResolved(Conflict):
    code = "flag_already_resolved"
    default_message = "This flag is already resolved."
