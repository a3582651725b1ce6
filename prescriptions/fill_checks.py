"""The one extension point through which apps ABOVE prescriptions take part in fills.

Prescriptions sits below the treatment app (sessions, supply) and must never import it, yet two
of its decisions need treatment's knowledge (docs/treatment.md#supply):

* whether a new fill may go to the pharmacy now (a 90-day gap without sessions needs a clinician
  visit first; a missed follow-up or an open hold pauses new fills), and
* whether a refill request comes sooner than the logged use and the directions allow.

Both are asked through `settings.PRESCRIPTIONS_FILL_CHECKS`, a dict of dotted paths loaded with
`import_string`:

    PRESCRIPTIONS_FILL_CHECKS = {
        "hold_reasons": ["treatment.services.supply.fill_hold_reasons"],   # (*, prescription, on) -> list[str]
        "early_refill": ["treatment.services.supply.early_refill_detail"],  # (*, prescription, on) -> dict | None
    }

Called from `services/orders.py` (`delivery_order_create` and `delivery_order_hand_off`: an order
with reasons waits in `on_hold`) and `services/refills.py` (`refill_request_create` sets
`early_refill`). An empty list switches a check off.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.utils.module_loading import import_string

from prescriptions.models import Prescription


def _checks(kind: str) -> list:
    return [import_string(path) for path in getattr(settings, "PRESCRIPTIONS_FILL_CHECKS", {}).get(kind, [])]


def hold_reasons(*, prescription: Prescription, on: date) -> list[str]:
    """Every reason (a stable code) why a new fill of this prescription must wait, in order."""
    reasons: list[str] = []
    for check in _checks("hold_reasons"):
        for code in check(prescription=prescription, on=on):
            if code not in reasons:
                reasons.append(code)
    return reasons


def early_refill(*, prescription: Prescription, on: date) -> dict | None:
    """The first check that finds a refill early answers with its detail (for the physician);
    None when no check finds it early."""
    for check in _checks("early_refill"):
        detail = check(prescription=prescription, on=on)
        if detail:
            return detail
    return None
