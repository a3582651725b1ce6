"""The SMS provider's inbound webhook: STOP / START (docs/notifications.md#sms-consent).

A plain Django view: Twilio signs the full URL and the POSTed form fields (X-Twilio-Signature,
HMAC-SHA1 with the auth token), checked with the twilio library's RequestValidator. A bad or
missing signature is a 400 `invalid_signature` and changes nothing. The answer is an empty TwiML
document: the provider's own opt-out handling sends the carrier-required confirmation text.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from api.exceptions import envelope
from notifications.preferences import sms_keyword_apply

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signature_valid(request) -> bool:
    from twilio.request_validator import RequestValidator, get_signature_algorithm

    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    # The URL Twilio called: behind a proxy that rewrites scheme or host, set TWILIO_INBOUND_URL.
    url = settings.TWILIO_INBOUND_URL or request.build_absolute_uri()
    params = {key: request.POST.get(key) for key in request.POST}
    # HMAC-SHA1 unless the account signs with SHA-256 (and says so in this header).
    algorithm = get_signature_algorithm(request.headers.get("X-Twilio-Webhooks-Signature-Settings", ""))
    return RequestValidator(token).validate(url, params, signature, algorithm)


@csrf_exempt
@require_POST
def twilio_sms_webhook(request):
    if not _signature_valid(request):
        logger.warning("twilio inbound webhook refused: invalid signature")
        return JsonResponse(envelope("invalid_signature", "The webhook signature is invalid."), status=400)
    phone = (request.POST.get("From") or "").strip()
    outcome = sms_keyword_apply(phone=phone, body=request.POST.get("Body") or "") if phone else ""
    logger.info("twilio inbound sms outcome=%s", outcome or "ignored")
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
