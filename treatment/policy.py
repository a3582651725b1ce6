"""The treatment policy in force on a date (effective-dated rows of TreatmentPolicy), and the
patient-facing texts of this app (no PHI in any message body)."""

from __future__ import annotations

from datetime import date

from treatment.models import TreatmentPolicy


def policy_on(on: date) -> TreatmentPolicy:
    """The latest policy effective on or before `on`; the model defaults if none is stored yet
    (the data migration stores the first row, so this fallback only serves an empty test DB)."""
    policy = TreatmentPolicy.objects.filter(effective_from__lte=on).order_by("-effective_from").first()
    return policy or TreatmentPolicy(effective_from=date(2000, 1, 1))


def policy_resolver():
    """policy_on for many dates at the cost of one query (a list reads each row's day): the rows
    are loaded once, newest first, and each date takes the first in force."""
    rows = list(TreatmentPolicy.objects.order_by("-effective_from"))
    fallback = TreatmentPolicy(effective_from=date(2000, 1, 1))

    def resolve(on: date) -> TreatmentPolicy:
        return next((row for row in rows if row.effective_from <= on), fallback)

    return resolve


# The check-in reminder's and alert's texts (no PHI) are notifications.kinds `check_in_reminder`
# and `check_in_overdue` (docs/notifications.md#what-is-sent-where).

URINARY_INSTRUCTIONS = (
    "Pain when passing urine or blood in the urine can be a side effect of ketamine on the bladder. "
    "Do not take another dose until your physician has spoken with you. Your care team has been told."
)
DISSOCIATION_INSTRUCTIONS = (
    "Stay where you are with your monitor until the effects have fully passed. Do not drive. "
    "Your care team has been told and will contact you before your next dose."
)
