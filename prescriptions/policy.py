"""The prescribing policy in force on a date (effective-dated rows of PrescribingPolicy)."""

from __future__ import annotations

from datetime import date

from prescriptions.models import PrescribingPolicy


def policy_on(on: date) -> PrescribingPolicy:
    """The latest policy effective on or before `on`; the model defaults if none is stored yet
    (the data migration creates the first row, so this fallback only serves an empty test DB)."""
    policy = PrescribingPolicy.objects.filter(effective_from__lte=on).order_by("-effective_from").first()
    return policy or PrescribingPolicy(effective_from=date(2000, 1, 1))
