"""Domain errors of the messaging app, with stable codes."""

from __future__ import annotations

from api.errors import DomainError


class FieldInvalid(DomainError):
    """One field refused by a rule (a 400 shaped like the serializer's own field errors)."""

    code = "validation_error"
    default_message = "Some fields are invalid."

    def __init__(self, field: str, code: str, message: str):
        super().__init__(fields={field: [{"code": code, "message": message}]})
