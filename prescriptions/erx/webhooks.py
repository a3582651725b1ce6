"""`POST /webhooks/erx/`: the e-prescribing vendor's notifications. A plain Django view: the
verification reads the raw request (DoseSpot puts the shared secret in the Authorization header).

Unverified -> 400 `invalid_signature`, nothing stored. Each verified event is stored once by its
id (`ErxEvent`) and applied after commit by `prescriptions.erx.tasks.process_event`; a redelivered
event answers 200 `duplicate`. ERX_PROVIDER names the vendor whose scheme applies.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from api.exceptions import envelope
from prescriptions.erx.gateway import WebhookRejected, erx_gateway
from prescriptions.services.erx import erx_event_receive

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def erx_webhook(request):
    gateway = erx_gateway()
    try:
        events = gateway.parse_webhook(body=request.body, headers=request.headers)
    except WebhookRejected:
        logger.warning("erx webhook refused: verification failed provider=%s", settings.ERX_PROVIDER)
        return JsonResponse(envelope("invalid_signature", "The webhook signature is invalid."), status=400)
    stored = duplicates = 0
    with transaction.atomic():
        for event in events:
            _, created = erx_event_receive(provider=gateway.provider, event=event, source="webhook")
            stored += created
            duplicates += not created
    logger.info("erx webhook events=%d stored=%d duplicates=%d", len(events), stored, duplicates)
    return JsonResponse({"received": len(events), "stored": stored, "duplicates": duplicates})
