"""Document the EasyPost tracking webhook in the OpenAPI schema.

The webhook is a plain Django view (its HMAC covers the raw body, which DRF would consume), so
drf-spectacular cannot see it; this post-processing hook (SPECTACULAR_SETTINGS, prescriptions block)
adds the operation by hand, as billing's does for Stripe's.
"""

from __future__ import annotations

from api.schema import document_plain_view_codes

WEBHOOK_PATH = "/webhooks/easypost/"


def document_easypost_webhook(result, generator, request, public):
    result.setdefault("paths", {})[WEBHOOK_PATH] = {
        "post": {
            "operationId": "easypost_webhook",
            "tags": ["delivery"],
            "summary": "EasyPost tracking webhook (called by EasyPost only)",
            "description": (
                "Signed by EasyPost: the `X-Hmac-Signature` header (`hmac-sha256-hex=<HMAC-SHA256 of the raw "
                "body with EASYPOST_WEBHOOK_SECRET>`) must match. `tracker.created` and `tracker.updated` "
                "events move the matching delivery order (duplicates by event id and out-of-order updates by "
                "the carrier's time are ignored); other events, and unknown trackers, answer 200 so EasyPost "
                "stops retrying."
            ),
            "security": [],
            "parameters": [
                {"name": "X-Hmac-Signature", "in": "header", "required": True, "schema": {"type": "string"}}
            ],
            "requestBody": _event_body(),
            "responses": _responses(),
        }
    }
    document_plain_view_codes(
        result["paths"][WEBHOOK_PATH]["post"], {400: ["invalid_signature"], 405: ["method_not_allowed"]}
    )
    return result


def _event_body() -> dict:
    """An EasyPost event whose result is the tracker."""
    tracker = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "example": "trk_..."},
            "object": {"type": "string", "example": "Tracker"},
            "tracking_code": {"type": "string"},
            "carrier": {"type": "string", "example": "USPS"},
            "status": {"type": "string", "example": "in_transit"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    }
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "object": {"type": "string", "example": "Event"},
                        "description": {"type": "string", "example": "tracker.updated"},
                        "result": tracker,
                    },
                    "required": ["id", "description", "result"],
                }
            }
        },
    }


def _responses() -> dict:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        "200": {
            "description": "Applied, or ignored (a duplicate, an older update, another event).",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"outcome": {"type": "string", "example": "applied"}},
                        "required": ["outcome"],
                    }
                }
            },
        },
        "400": {"description": "`invalid_signature`: missing or wrong; nothing changes.", "content": error},
        "405": {"description": "Method not allowed.", "content": error},
    }
