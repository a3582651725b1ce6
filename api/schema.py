"""OpenAPI helpers: the error envelope as a component, and error responses on every operation.

Views document their specific errors with `errors(409, 422, ...)` in `extend_schema(responses=...)`;
the post-processing hook adds the ones every operation can answer (400, 401, 403, 404, 429), so
the schema never hides a status code the API really sends.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

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
            for status in sorted(wanted):
                responses.setdefault(
                    str(status),
                    {"description": ERROR_DESCRIPTIONS[status], "content": {"application/json": {"schema": ref}}},
                )
    return result
