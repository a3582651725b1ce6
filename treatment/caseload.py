"""The treatment columns of the physician's caseload, published to scheduling through its
extension point (scheduling/caseload_columns.py, `settings.SCHEDULING_CASELOAD_COLUMNS`):
docs/treatment.md#caseload."""

from __future__ import annotations

from rest_framework import serializers

from scheduling.caseload_columns import CaseloadColumns
from treatment.selectors import caseload_treatment_columns, caseload_treatment_valid_until


def _fields() -> dict:
    return {
        "last_session_at": serializers.DateTimeField(
            allow_null=True, help_text="When the patient's latest dosing session started (null: none yet)."
        ),
        "sessions_last_28_days": serializers.IntegerField(
            allow_null=True, help_text="Dosing sessions started in the last 28 days (24-hour periods up to now)."
        ),
        "doses_left": serializers.IntegerField(
            allow_null=True,
            help_text="Dispensing units delivered for active prescriptions minus the units sessions took.",
        ),
        "overdue_check_in": serializers.BooleanField(
            allow_null=True,
            help_text="True when an ended session has no check-in and its check-in window has closed.",
        ),
    }


def _load(*, patient_ids: list[int], now) -> dict[int, dict]:
    return caseload_treatment_columns(patient_ids=patient_ids, now=now)


def _valid_until(*, patient_ids: list[int], now) -> dict:
    return caseload_treatment_valid_until(patient_ids=patient_ids, now=now)


# What the columns are computed from: a save or delete of one marks the patient's caseload row
# stale (docs/caseload.md#invalidation).
INPUTS = (
    ("treatment.DosingSession", "patient_id"),
    ("treatment.SessionCheckIn", "session.patient_id"),
    ("prescriptions.Prescription", "patient_id"),
    ("prescriptions.DeliveryOrder", "patient_id"),
)

COLUMNS = CaseloadColumns(fields=_fields, load=_load, inputs=INPUTS, valid_until=_valid_until)
