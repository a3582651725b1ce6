"""Supply reconciliation: doses shipped vs sessions logged vs the prescribed frequency
(docs/treatment.md#supply).

Each delivered fill shipped `DeliveryOrder.quantity` dispensing units; every session takes
`dose_units` from one fill. What is left, when it runs out at the prescribed rate, whether a
refill comes too soon, and whether a new fill must wait are all answered here, as plain functions:
`fill_hold_reasons` and `early_refill_detail` are what prescriptions asks through its extension
point (prescriptions/fill_checks.py, setting PRESCRIPTIONS_FILL_CHECKS), so prescriptions never
imports this app.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Max, Min, Sum
from django.db.models.functions import Coalesce

from accounts.models import User
from patients.models import PatientProfile
from patients.services.safety import patient_has_open_safety_flag
from prescriptions.models import DeliveryOrder, OrderStatus, Prescription, PrescriptionStatus
from scheduling.selectors import latest_completed_care_visit, missed_follow_up
from treatment.models import DosingSession
from treatment.policy import policy_on

# Fills on their way (or waiting to go): doses the patient will have without a new request.
PIPELINE_STATUSES = (
    OrderStatus.CREATED,
    OrderStatus.ON_HOLD,
    OrderStatus.SENT_TO_PHARMACY,
    OrderStatus.COMPOUNDING,
    OrderStatus.SHIPPED,
    OrderStatus.IN_TRANSIT,
    OrderStatus.OUT_FOR_DELIVERY,
    OrderStatus.EXCEPTION,
)


@dataclass(frozen=True)
class FillBalance:
    fill: DeliveryOrder
    used: int

    @property
    def left(self) -> int:
        return max(self.fill.quantity - self.used, 0)


@dataclass(frozen=True)
class PrescriptionSupply:
    prescription: Prescription
    doses_shipped: int  # delivered units
    doses_used: int
    doses_in_transit: int
    units_per_session: int
    sessions_per_week: int
    last_session_at: datetime | None
    on: date

    @property
    def doses_left(self) -> int:
        return max(self.doses_shipped - self.doses_used, 0)

    @property
    def sessions_left(self) -> int:
        return self.doses_left // self.units_per_session

    @property
    def run_out_on(self) -> date:
        """The expected run-out date at the prescribed (maximum) rate: the earliest it can be."""
        return self.on + timedelta(days=math.ceil(self.sessions_left * 7 / self.sessions_per_week))


def active_prescriptions(*, patient: User, on: date):
    """Signed, not superseded, unexpired on `on`: the prescriptions whose fills a session may use."""
    return Prescription.objects.filter(
        patient=patient, status=PrescriptionStatus.SIGNED, signed_at__isnull=False, expires_on__gte=on
    )


def sessions_per_week(prescription: Prescription, *, on: date) -> int:
    return prescription.sessions_per_week or policy_on(on).default_sessions_per_week


def fill_balances(*, patient: User, on: date) -> list[FillBalance]:
    """Delivered fills of the patient's active prescriptions with what sessions took from each,
    oldest delivery first (sessions use the oldest fill first)."""
    fills = (
        DeliveryOrder.objects.filter(
            patient=patient,
            status=OrderStatus.DELIVERED,
            prescription__in=active_prescriptions(patient=patient, on=on),
        )
        .select_related("prescription__product")
        .annotate(used=Coalesce(Sum("dosing_sessions__dose_units"), 0))
        .order_by("delivered_at", "id")
    )
    return [FillBalance(fill, fill.used) for fill in fills]


def next_fill(*, patient: User, on: date) -> FillBalance | None:
    """The fill the next session takes its dose from: the oldest delivered fill with enough
    units left for one session of its prescription."""
    for balance in fill_balances(patient=patient, on=on):
        if balance.left >= balance.fill.prescription.units_per_session:
            return balance
    return None


def supply_for_prescriptions(*, patient: User, on: date) -> list[PrescriptionSupply]:
    """Per active prescription: doses delivered, used, left, in transit, and the expected run-out
    date. A fixed number of queries whatever the number of prescriptions and fills."""
    prescriptions = list(active_prescriptions(patient=patient, on=on).select_related("product").order_by("signed_at"))
    ids = [rx.pk for rx in prescriptions]
    shipped = dict(
        DeliveryOrder.objects.filter(prescription_id__in=ids, status=OrderStatus.DELIVERED)
        .values("prescription_id")
        .annotate(n=Sum("quantity"))
        .values_list("prescription_id", "n")
    )
    transit = dict(
        DeliveryOrder.objects.filter(prescription_id__in=ids, status__in=PIPELINE_STATUSES)
        .values("prescription_id")
        .annotate(n=Sum("quantity"))
        .values_list("prescription_id", "n")
    )
    used = {
        row["prescription_id"]: row
        for row in DosingSession.objects.filter(prescription_id__in=ids)
        .values("prescription_id")
        .annotate(n=Sum("dose_units"), last=Max("started_at"))
    }
    return [
        PrescriptionSupply(
            prescription=rx,
            doses_shipped=shipped.get(rx.pk) or 0,
            doses_used=(used.get(rx.pk) or {}).get("n") or 0,
            doses_in_transit=transit.get(rx.pk) or 0,
            units_per_session=rx.units_per_session,
            sessions_per_week=sessions_per_week(rx, on=on),
            last_session_at=(used.get(rx.pk) or {}).get("last"),
            on=on,
        )
        for rx in prescriptions
    ]


def _supply_of(prescription: Prescription, *, on: date) -> PrescriptionSupply:
    shipped = (
        DeliveryOrder.objects.filter(prescription=prescription, status=OrderStatus.DELIVERED).aggregate(
            n=Sum("quantity")
        )["n"]
        or 0
    )
    transit = (
        DeliveryOrder.objects.filter(prescription=prescription, status__in=PIPELINE_STATUSES).aggregate(
            n=Sum("quantity")
        )["n"]
        or 0
    )
    stats = DosingSession.objects.filter(prescription=prescription).aggregate(
        n=Sum("dose_units"), last=Max("started_at")
    )
    return PrescriptionSupply(
        prescription=prescription,
        doses_shipped=shipped,
        doses_used=stats["n"] or 0,
        doses_in_transit=transit,
        units_per_session=prescription.units_per_session,
        sessions_per_week=sessions_per_week(prescription, on=on),
        last_session_at=stats["last"],
        on=on,
    )


# --- What prescriptions asks through PRESCRIPTIONS_FILL_CHECKS ------------------------------------
def early_refill_detail(*, prescription: Prescription, on: date) -> dict | None:
    """A refill is early when the doses on hand plus those already on their way would last more
    than `refill_lead_days` at the prescribed rate (sessions_per_week x units_per_session): more
    medicine is asked for than the logged sessions and the directions account for (possible
    diversion, docs/treatment.md#supply). Returns the figures the physician sees, or None."""
    policy = policy_on(on)
    supply = _supply_of(prescription, on=on)
    available = supply.doses_left + supply.doses_in_transit
    days_covered = math.ceil(available // supply.units_per_session * 7 / supply.sessions_per_week)
    if days_covered <= policy.refill_lead_days:
        return None
    return {
        "doses_left": supply.doses_left,
        "doses_in_transit": supply.doses_in_transit,
        "sessions_per_week": supply.sessions_per_week,
        "units_per_session": supply.units_per_session,
        "days_covered": days_covered,
        "refill_lead_days": policy.refill_lead_days,
        "expected_run_out_on": (on + timedelta(days=days_covered)).isoformat(),
    }


def early_refill(*, prescription: Prescription, on: date) -> bool:
    return early_refill_detail(prescription=prescription, on=on) is not None


def _zone(patient: User) -> ZoneInfo:
    name = PatientProfile.objects.filter(user=patient).values_list("time_zone", flat=True).first()
    return ZoneInfo(name or settings.PRACTICE_TIME_ZONE)


def last_activity(*, patient: User) -> datetime | None:
    """The last session's start, or (before any session) the first delivery: the moment the gap
    rule counts from. None for a patient who never received a fill."""
    last = DosingSession.objects.filter(patient=patient).aggregate(m=Max("started_at"))["m"]
    if last is not None:
        return last
    return DeliveryOrder.objects.filter(patient=patient, status=OrderStatus.DELIVERED).aggregate(m=Min("delivered_at"))[
        "m"
    ]


def fill_hold_reasons(*, prescription: Prescription, on: date) -> list[str]:
    """Why a new fill of this prescription must wait (the order stays `on_hold`), in order:

    * `open_safety_flag`: dosing is held (any open flag; patients.services.safety);
    * `missed_follow_up`: the latest follow-up or medication review was a no-show and none was
      completed since (scheduling);
    * `session_gap_visit_required`: more than `session_gap_days` (90) since the last session
      (or, before any session, since the first delivery) and no follow-up or medication review
      completed after the last session and within the last `session_gap_days`.
    """
    patient = prescription.patient
    reasons: list[str] = []
    if patient_has_open_safety_flag(patient=patient):
        reasons.append("open_safety_flag")
    if missed_follow_up(patient=patient) is not None:
        reasons.append("missed_follow_up")
    last = last_activity(patient=patient)
    if last is not None:
        zone = _zone(patient)
        gap_days = policy_on(on).session_gap_days
        last_day = last.astimezone(zone).date()
        if (on - last_day).days > gap_days:
            # A visit counts when it came after the last session and within the last gap_days.
            since = max(last, datetime.combine(on - timedelta(days=gap_days), time.min, tzinfo=zone))
            if latest_completed_care_visit(patient=patient, since=since) is None:
                reasons.append("session_gap_visit_required")
    return reasons
