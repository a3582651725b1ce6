"""Document the Stripe webhook in the OpenAPI schema.

The webhook is a plain Django view (the signature covers the raw body, which DRF would consume),
so drf-spectacular cannot see it; this post-processing hook (SPECTACULAR_SETTINGS, billing block)
adds the operation by hand.
"""

from __future__ import annotations

from api.schema import document_plain_view_codes

WEBHOOK_PATH = "/webhooks/stripe/"


def document_stripe_webhook(result, generator, request, public):
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    result.setdefault("paths", {})[WEBHOOK_PATH] = {
        "post": {
            "operationId": "stripe_webhook",
            "tags": ["billing"],
            "summary": "Stripe webhook (called by Stripe only)",
            "description": (
                "Signed by Stripe: the `Stripe-Signature` header (`t=<unix time>,v1=<HMAC-SHA256 of "
                '"{t}.{raw body}" with the endpoint secret>`) must match and be at most '
                "STRIPE_WEBHOOK_TOLERANCE_SECONDS old. Each event is stored once by id and applied "
                "asynchronously; a redelivery answers 200 with `duplicate: true`."
            ),
            "security": [],
            "parameters": [
                {"name": "Stripe-Signature", "in": "header", "required": True, "schema": {"type": "string"}}
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object", "additionalProperties": {}}}},
            },
            "responses": {
                "200": {
                    "description": "Stored (or already stored).",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "received": {"type": "boolean"},
                                    "duplicate": {"type": "boolean"},
                                },
                                "required": ["received", "duplicate"],
                            }
                        }
                    },
                },
                "400": {
                    "description": "`invalid_signature` (missing, wrong or stale) or `invalid_payload`; "
                    "nothing stored.",
                    "content": error,
                },
                "405": {"description": "Method not allowed.", "content": error},
                "503": {"description": "`billing_unavailable`: billing is switched off.", "content": error},
            },
        }
    }
    document_plain_view_codes(
        result["paths"][WEBHOOK_PATH]["post"],
        {400: ["invalid_signature", "invalid_payload"], 405: ["method_not_allowed"], 503: ["billing_unavailable"]},
    )
    return result
