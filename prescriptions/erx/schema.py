"""Document `POST /webhooks/erx/` in the OpenAPI schema (a plain Django view, so drf-spectacular
cannot see it; added by this post-processing hook, SPECTACULAR_SETTINGS in the prescriptions block)."""

from __future__ import annotations

from api.schema import document_plain_view_codes

WEBHOOK_PATH = "/webhooks/erx/"


def document_erx_webhook(result, generator, request, public):
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    event = {
        "type": "object",
        "properties": {
            "EventType": {"type": "string", "example": "PrescriptionResult"},
            "Data": {"type": "object", "additionalProperties": {}},
        },
        "required": ["EventType", "Data"],
    }
    result.setdefault("paths", {})[WEBHOOK_PATH] = {
        "post": {
            "operationId": "erx_webhook",
            "tags": ["prescriptions"],
            "summary": "E-prescribing vendor notifications (called by the vendor only)",
            "description": (
                "DoseSpot push notifications (`PrescriptionResult`, `MedicationStatusUpdate`, "
                "`ClinicianIDPCompleteSuccess`, `ClinicianTfaActivateSuccess`, ...): one event or a list. "
                "The configured secret (ERX_WEBHOOK_SECRET) must be in the `Authorization` header. Each "
                "event is stored once by id and applied asynchronously; transitions only move forward."
            ),
            "security": [],
            "parameters": [{"name": "Authorization", "in": "header", "required": True, "schema": {"type": "string"}}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"oneOf": [event, {"type": "array", "items": event}]}}},
            },
            "responses": {
                "200": {
                    "description": "Stored (duplicates counted, not stored again).",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "received": {"type": "integer"},
                                    "stored": {"type": "integer"},
                                    "duplicates": {"type": "integer"},
                                },
                                "required": ["received", "stored", "duplicates"],
                            }
                        }
                    },
                },
                "400": {"description": "`invalid_signature` (secret or body); nothing stored.", "content": error},
                "405": {"description": "Method not allowed.", "content": error},
            },
        }
    }
    document_plain_view_codes(
        result["paths"][WEBHOOK_PATH]["post"], {400: ["invalid_signature"], 405: ["method_not_allowed"]}
    )
    return result
