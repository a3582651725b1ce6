"""The Stripe webhook: a plain Django view, because the signature covers the raw body.

DRF would parse the stream first (after which `request.body` raises); here the bytes are read
untouched, verified, stored once by event id, and applied by a Celery task after commit.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from api.errors import DomainError
from api.exceptions import envelope
from billing.services.webhooks import webhook_receive


@csrf_exempt
def stripe_webhook(request):
    if request.method != "POST":
        return JsonResponse(envelope("method_not_allowed", "Use POST."), status=405, headers={"Allow": "POST"})
    if not settings.BILLING_ENABLED:
        return JsonResponse(envelope("billing_unavailable", "Billing is switched off."), status=503)
    try:
        recorded = webhook_receive(payload=request.body, signature_header=request.headers.get("Stripe-Signature"))
    except DomainError as exc:
        return JsonResponse(envelope(exc.code, exc.message), status=exc.status_code)
    return JsonResponse({"received": True, "duplicate": not recorded.created})
