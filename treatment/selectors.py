"""Reads of sessions and check-ins, scoped to the caller (outside the scope: 404)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from api.errors import NotFound
from patients.models import SafetyFlag
from patients.selectors import patient_visible_to
from prescriptions.models import DeliveryOrder, OrderStatus, PrescriptionStatus
from treatment.models import DosingSession
from treatment.policy import policy_on

_RELATED = ("patient", "product", "prescription", "fill", "check_in", "check_in__vital_reading")


def sessions_for_patient(*, viewer: User) -> QuerySet[DosingSession]:
    return (
        DosingSession.objects.filter(patient=viewer)
        .select_related(*_RELATED)
        .prefetch_related(Prefetch("check_in__flags", queryset=SafetyFlag.objects.order_by("opened_at")))
        .order_by("-started_at", "-id")
    )


def session_get_for_patient(*, viewer: User, public_id: UUID) -> DosingSession:
    session = DosingSession.objects.filter(patient=viewer, public_id=public_id).first()
    if session is None:
        raise NotFound()
    return session


def sessions_for_care_team(*, viewer: User, patient_public_id: UUID) -> QuerySet[DosingSession]:
    """Sessions are chart content (docs/roles-and-access.md): a physician sees their caseload's,
    the medical director every patient's, anyone else nothing (404)."""
    patient = patient_visible_to(viewer=viewer, patient_public_id=patient_public_id)
    return sessions_for_patient(viewer=patient)


def caseload_treatment_columns(*, patient_ids: list[int], now=None) -> dict[int, dict]:
    """Contract for the caseload (published through treatment/caseload.py: scheduling sits below
    and cannot call it): per patient, `last_session_at`, `sessions_last_28_days`, `doses_left`
    (delivered units of active prescriptions minus units used) and `overdue_check_in` (an ended
    session with no check-in after the window closed). Two queries whatever the number of
    patients (docs/treatment.md#caseload)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    window = timedelta(hours=policy_on(today).check_in_window_hours)
    result = {
        pid: {"last_session_at": None, "sessions_last_28_days": 0, "doses_left": 0, "overdue_check_in": False}
        for pid in patient_ids
    }
    active_rx = Q(prescription__status=PrescriptionStatus.SIGNED, prescription__expires_on__gte=today)
    rows = (
        DosingSession.objects.filter(patient_id__in=patient_ids)
        .values("patient_id")
        .annotate(
            last=Max("started_at"),
            recent=Count("id", filter=Q(started_at__gte=now - timedelta(days=28))),
            overdue=Count("id", filter=Q(ended_at__lt=now - window, check_in__isnull=True)),
            used=Sum("dose_units", filter=active_rx),
        )
    )
    used: dict[int, int] = {}
    for row in rows:
        result[row["patient_id"]].update(
            last_session_at=row["last"], sessions_last_28_days=row["recent"], overdue_check_in=row["overdue"] > 0
        )
        used[row["patient_id"]] = row["used"] or 0
    shipped = DeliveryOrder.objects.filter(active_rx, status=OrderStatus.DELIVERED, patient_id__in=patient_ids)
    for row in shipped.values("patient_id").annotate(n=Sum("quantity")):
        result[row["patient_id"]]["doses_left"] = row["n"] or 0
    for pid, n in used.items():
        result[pid]["doses_left"] = max(result[pid]["doses_left"] - n, 0)
    return result


def caseload_treatment_valid_until(*, patient_ids: list[int], now=None) -> dict:
    """Contract for the caseload's read model (docs/caseload.md#time): per patient, the first
    instant after `now` at which caseload_treatment_columns changes with the clock alone: the
    oldest session of the 28-day window leaving it, an ended session without a check-in becoming
    overdue, or the next midnight of the date the active prescriptions and the check-in window
    are judged on (`timezone.localdate`). One query."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    midnight = timezone.make_aware(
        datetime.combine(local.date() + timedelta(days=1), datetime.min.time()), local.tzinfo
    )
    window = timedelta(hours=policy_on(local.date()).check_in_window_hours)
    result = dict.fromkeys(patient_ids, midnight)
    rows = (
        DosingSession.objects.filter(patient_id__in=patient_ids)
        .values("patient_id")
        .annotate(
            oldest=Min("started_at", filter=Q(started_at__gte=now - timedelta(days=28))),
            pending=Min("ended_at", filter=Q(ended_at__gte=now - window, check_in__isnull=True)),
        )
    )
    for row in rows:
        candidates = [midnight]
        if row["oldest"] is not None:
            candidates.append(row["oldest"] + timedelta(days=28))
        if row["pending"] is not None:
            candidates.append(row["pending"] + window)
        result[row["patient_id"]] = min(candidates)
    return result


def first_session_dates(*, patient_ids: list[int]) -> dict[int, date]:
    """Contract (outcomes' treatment start, docs/outcomes.md#baseline): the local date of each
    patient's first dosing session (any status: a started session was a dose); patients who
    have not dosed are absent. One query."""
    rows = (
        DosingSession.objects.filter(patient_id__in=patient_ids).values("patient_id").annotate(first=Min("local_date"))
    )
    return {r["patient_id"]: r["first"] for r in rows}
