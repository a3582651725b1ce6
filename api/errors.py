"""Domain errors with stable codes.

Services raise these; the API's exception handler turns them into the one error envelope
`{"code": ..., "message": ..., "fields": {...}}`. Mobile apps switch on `code`, so a code,
once shipped, never changes meaning.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the caller can act on (HTTP 400 unless a subclass says otherwise)."""

    status_code = 400
    code = "invalid_request"
    default_message = "The request cannot be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        self.extra = extra or {}
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class NotFound(DomainError):
    """The record does not exist, or is outside the caller's scope (never say which)."""

    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class Forbidden(DomainError):
    """The caller may see the record but not do this to it."""

    status_code = 403
    code = "permission_denied"
    default_message = "You do not have permission to do this."


class Refused(DomainError):
    """A rule refused the action; `reasons` lists every failing rule as {code, message}."""

    status_code = 422
    code = "refused"
    default_message = "The request was refused."

    def __init__(self, message: str | None = None, *, reasons: list[dict[str, str]] | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.reasons = reasons or []
        self.extra.setdefault("reasons", self.reasons)


class ServiceUnavailable(DomainError):
    """A vendor (Stripe, carrier, video) could not be reached; safe to retry."""

    status_code = 503
    code = "service_unavailable"
    default_message = "A service we depend on is unavailable. Please try again shortly."
