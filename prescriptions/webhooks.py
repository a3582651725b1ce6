"""EasyPost webhook: a plain Django view, because the HMAC covers the raw body (after DRF has
parsed the stream, request.body is gone).

Bad or missing signature -> 400 `invalid_signature`, nothing changes. A verified event is
applied by `services.tracking.shipment_apply_update`, which ignores duplicates (event id) and
out-of-order updates (carrier timestamps). Unknown trackers answer 200 so EasyPost stops retrying.
"""

from __future__ import annotations

import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from api.exceptions import envelope
from prescriptions.carriers import tracker_update_from, verify_easypost_webhook
from prescriptions.models import EventSource
from prescriptions.services.tracking import shipment_apply_update

logger = logging.getLogger(__name__)

TRACKER_EVENTS = {"tracker.updated", "tracker.created"}


@csrf_exempt
@require_POST
def easypost_webhook(request):
    try:
        event = verify_easypost_webhook(body=request.body, headers=request.headers)
    except ValueError:
        logger.warning("easypost webhook refused: invalid signature")
        return JsonResponse(envelope("invalid_signature", "The webhook signature is invalid."), status=400)
    event_id = str(event.get("id") or "")
    result = event.get("result")
    if event.get("description") not in TRACKER_EVENTS or not event_id or not isinstance(result, dict):
        return JsonResponse({"outcome": "ignored"})
    outcome = shipment_apply_update(
        update=tracker_update_from(result), event_id=f"easypost:{event_id}", source=EventSource.EASYPOST
    )
    logger.info("easypost webhook event=%s outcome=%s", event_id, outcome)
    return JsonResponse({"outcome": outcome})
