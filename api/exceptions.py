"""One error envelope for every API error: {"code", "message", "fields"} (+ optional extras)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from api.errors import DomainError

logger = logging.getLogger(__name__)

# DRF exception class -> stable code, where DRF's own code is not the one we publish.
_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
}


def envelope(code: str, message: str, fields: dict | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "fields": fields or {}}
    body.update(extra)
    return body


def _error_item(detail: Any) -> dict[str, str]:
    return {"code": getattr(detail, "code", "invalid") or "invalid", "message": str(detail)}


def _field_errors(detail: Any, prefix: str = "") -> dict[str, list[dict[str, str]]]:
    """DRF's nested ErrorDetail structure -> one flat shape: {path: [{"code", "message"}]}.

    A nested object's field is `parent.child`, a list item's is `items.0.field` (its position,
    so the client can point at the row); every value is a list of {code, message}, whatever the
    depth (docs/api-conventions.md#errors)."""
    out: dict[str, list[dict[str, str]]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for sub, items in _field_errors(value, path).items():
                out.setdefault(sub, []).extend(items)
        return out
    if isinstance(detail, list):
        flat = [d for d in detail if isinstance(d, (exceptions.ErrorDetail, str))]
        if flat:
            out[prefix or "non_field_errors"] = [_error_item(d) for d in flat]
        for position, item in enumerate(detail):
            if isinstance(item, (dict, list)) and item:
                for sub, items in _field_errors(item, f"{prefix}.{position}" if prefix else str(position)).items():
                    out.setdefault(sub, []).extend(items)
        return out
    out[prefix or "non_field_errors"] = [_error_item(detail)]
    return out


def _django_validation_fields(exc: DjangoValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if k == "__all__" else k): [
                {"code": e.code or "invalid", "message": " ".join(e.messages)} for e in errs
            ]
            for k, errs in exc.error_dict.items()
        }
    return {
        "non_field_errors": [{"code": e.code or "invalid", "message": " ".join(e.messages)} for e in exc.error_list]
    }


PAYLOAD_TOO_LARGE = "payload_too_large"
_PAYLOAD_TOO_LARGE_MESSAGE = "The request body is too large."


def payload_too_large_body() -> dict[str, Any]:
    return envelope(PAYLOAD_TOO_LARGE, _PAYLOAD_TOO_LARGE_MESSAGE)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        set_rollback()
        return Response(payload_too_large_body(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        set_rollback()
        return Response(envelope("bad_request", "The request is malformed."), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DomainError):
        set_rollback()
        body = envelope(exc.code, exc.message, exc.fields, **exc.extra)
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response(
            envelope("validation_error", "Some fields are invalid.", _django_validation_fields(exc)),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: Django's 500 handler answers (also with the envelope)

    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body = envelope("validation_error", "Some fields are invalid.", _field_errors(detail))
    else:
        code = next((c for klass, c in _CODES.items() if isinstance(exc, klass)), None)
        detail = exc.detail
        if isinstance(detail, dict):  # e.g. simplejwt's {"detail", "code", "messages"}
            code = code if code not in (None, "authentication_failed") else None
            code = code or str(detail.get("code") or exc.default_code)
            message = str(detail.get("detail") or exc.default_detail)
        else:
            code = code or getattr(detail, "code", None) or exc.default_code
            message = str(detail)
        body = envelope(code, message)
    return Response(body, status=exc.status_code, headers=headers)


def not_found_view(request, exception=None):
    return JsonResponse(envelope("not_found", "Not found."), status=404)


def bad_request_view(request, exception=None):
    """handler400: Django's own refusals (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields,
    a disallowed host) in the envelope instead of an HTML page."""
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(payload_too_large_body(), status=413)
    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)
    return JsonResponse(envelope("bad_request", "The request is malformed."), status=400)


def permission_denied_view(request, exception=None):
    if not request.path.startswith("/api/"):
        return defaults.permission_denied(request, exception)
    return JsonResponse(envelope("permission_denied", "You do not have permission to perform this action."), status=403)


def server_error_view(request):
    logger.error("unhandled server error", extra={"path": request.path})
    return JsonResponse(envelope("server_error", "Something went wrong on our side."), status=500)
