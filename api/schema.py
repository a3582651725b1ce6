"""OpenAPI helpers: the error envelope as a component, and error responses on every operation.

Views document their specific errors with `errors(409, 422, ...)` in `extend_schema(responses=...)`;
the post-processing hook adds the ones every operation can answer (400, 401, 403, 404, 429), so
the schema never hides a status code the API really sends.
"""

from __future__ import annotations

import inspect
import re

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from api.error_registry import operation_errors

ERROR_DESCRIPTIONS = {
    400: "Invalid input: `code` is `validation_error` and `fields` maps each field to [{code, message}].",
    401: "Not authenticated, or the token is invalid or expired.",
    403: "Authenticated, but not allowed to do this.",
    404: "Not found, or outside the caller's scope (existence is never revealed).",
    405: "Method not allowed.",
    409: "Conflicts with the current state (for example `slot_unavailable`).",
    415: "Unsupported media type: send application/json.",
    422: "Refused by a rule: `reasons` lists every failing rule as {code, message}.",
    429: "Too many requests; see Retry-After.",
    503: "A service we depend on is unavailable; safe to retry.",
}


class ErrorReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """The one error envelope of this API."""

    code = serializers.CharField(help_text="Stable machine code; switch on this, not on the message.")
    message = serializers.CharField(help_text="Human-readable, may change.")
    fields = serializers.DictField(help_text="Per-field errors: {field: [{code, message}]}.")
    reasons = ErrorReasonSerializer(many=True, required=False, help_text="Every failing rule, for refusals.")


# The codes DRF and the exception handler (api/exceptions.py) answer on any route, by status.
GENERIC_CODES = {
    400: ("validation_error", "parse_error"),
    401: ("not_authenticated", "authentication_failed", "token_not_valid"),
    403: ("permission_denied",),
    404: ("not_found",),
    405: ("method_not_allowed",),
    415: ("unsupported_media_type",),
    429: ("throttled",),
}


def _humanize(name: str) -> str:
    name = re.sub(r"(Api|APIView|View)$", "", name)
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    words = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words.split())
    return words[:1].upper() + words[1:]


def _own_doc(obj) -> str:
    """The object's own docstring (a class's, never one inherited from a shared base class)."""
    if obj is None:
        return ""
    if isinstance(obj, type):
        return inspect.cleandoc(obj.__dict__.get("__doc__") or "")
    return inspect.getdoc(obj) or ""


class PracticeAutoSchema(AutoSchema):
    """The project's schema class (REST_FRAMEWORK DEFAULT_SCHEMA_CLASS).

    - summary: `extend_schema(summary=...)`, else the first paragraph of the handler's or the view's
      own docstring (never a base class's), else the view's name in words;
    - description: `extend_schema(description=...)`, else that docstring, else the summary and who
      may call it (the permission classes' docstrings);
    - `x-error-codes`: every domain error code the handler can raise, discovered from its code
      (api/error_registry.py); `add_error_responses` turns them into documented responses.
    """

    def _doc(self) -> str:
        handler = getattr(self.view.__class__, getattr(self.view, "action", None) or self.method.lower(), None)
        return _own_doc(handler) or _own_doc(self.view.__class__)

    def get_summary(self):
        summary = super().get_summary()
        if summary:
            return summary
        first = self._doc().split("\n\n")[0].replace("\n", " ").strip()
        if first and len(first) <= 120:
            return first.rstrip(".")
        return _humanize(self.view.__class__.__name__)

    def get_description(self):
        doc = self._doc()
        if doc:
            return doc
        who = [_own_doc(p).split("\n")[0].strip() for p in getattr(self.view, "permission_classes", [])]
        text = f"{self.get_summary()}."
        who = [w if w.endswith(".") else f"{w}." for w in who if w]
        if who:
            text += " Who may call it: " + " ".join(who)
        return text

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return operation
        discovered = operation_errors(self.view.__class__, self.method)
        extra = (operation.get("x-error-codes-extra") or []) if isinstance(operation, dict) else []
        codes = {(e.status, e.code) for e in discovered} | {(int(e["status"]), e["code"]) for e in extra}
        operation.pop("x-error-codes-extra", None)
        operation["x-error-codes"] = [{"status": status, "code": code} for status, code in sorted(codes)]
        return operation


# For views that page by hand (APIView + PagePagination) rather than through GenericAPIView.
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="A page number within the paginated result set (from 1)."),
    OpenApiParameter("page_size", int, description="Number of results per page (default 20, at most 100)."),
]


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    return {s: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS.get(s, "Error.")) for s in statuses}


_ERROR_COMPONENT = "Error"


def add_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    if _ERROR_COMPONENT not in schemas:
        schemas[_ERROR_COMPONENT] = {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {}},
                "reasons": {"type": "array", "items": {"type": "object", "additionalProperties": {}}},
            },
            "required": ["code", "message", "fields"],
        }
    ref = {"$ref": f"#/components/schemas/{_ERROR_COMPONENT}"}

    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            wanted = {429}
            security = operation.get("security", [])
            if not any(s == {} for s in security):
                # 404 too: a role without the capability a route serves is answered "not found".
                wanted |= {401, 403, 404}
            if method in {"post", "put", "patch"} or operation.get("parameters"):
                wanted.add(400)
            if method in {"post", "put", "patch"} and operation.get("requestBody"):
                wanted.add(415)
            if "{" in path:
                wanted.add(404)
            declared = operation.get("x-error-codes") or []
            wanted |= {int(e["status"]) for e in declared}
            for status in sorted(wanted):
                responses.setdefault(
                    str(status),
                    {
                        "description": ERROR_DESCRIPTIONS.get(status, "Error."),
                        "content": {"application/json": {"schema": ref}},
                    },
                )
            _list_codes(operation, declared)
    return result


def _list_codes(operation: dict, declared: list[dict]) -> None:
    """Name, on each error response and on the operation, every code it can carry."""
    responses = operation["responses"]
    by_status: dict[int, set[str]] = {}
    for status_text in responses:
        if status_text[0] in "45" and status_text.isdigit():
            by_status.setdefault(int(status_text), set()).update(GENERIC_CODES.get(int(status_text), ()))
    for entry in declared:
        by_status.setdefault(int(entry["status"]), set()).add(entry["code"])
    every = []
    for status, codes in sorted(by_status.items()):
        response = responses.get(str(status))
        if response is None or not codes:
            continue
        listed = sorted(codes)
        response["x-error-codes"] = listed
        text = response.get("description") or ""
        if "Codes:" not in text:
            response["description"] = f"{text} Codes: {', '.join(f'`{c}`' for c in listed)}.".strip()
        every += [{"status": status, "code": code} for code in listed]
    operation["x-error-codes"] = every


def document_plain_view_codes(operation: dict, codes: dict[int, list[str]]) -> dict:
    """For operations documented by hand (plain Django views such as webhooks, which the schema
    generator cannot see): name their codes as every generated operation's are."""
    declared = [{"status": status, "code": code} for status, listed in codes.items() for code in listed]
    _list_codes(operation, declared)
    return operation
