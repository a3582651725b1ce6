"""Reads of prescriptions, pharmacies and delivery orders, always scoped to the caller.

A record outside the caller's scope is simply not found (404): a patient sees their own signed
prescriptions and orders, a physician the patients on their caseload, staff everything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Case,
    CharField,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Role, User
from accounts.scopes import Capability
from api.clock import practice_date
from api.errors import NotFound
from api.prepared import PreparedRead, Rows
from patients.selectors import patient_visible_to
from prescriptions.models import (
    DeliveryOrder,
    MedicationProduct,
    OrderStatus,
    PDMPCheck,
    Pharmacy,
    PharmacyStateLicence,
    Prescription,
    PrescriptionStatus,
    RefillRequest,
    RefillStatus,
)
from prescriptions.state_machine import IN_CARRIER_HANDS


# --- Catalogue and pharmacies -----------------------------------------------------------------
def product_list(*, include_retired: bool = False) -> QuerySet[MedicationProduct]:
    qs = MedicationProduct.objects.all()
    return qs if include_retired else qs.filter(active=True)


def product_get(*, public_id: UUID) -> MedicationProduct:
    product = MedicationProduct.objects.filter(public_id=public_id).first()
    if product is None:
        raise NotFound()
    return product


def pharmacies_allowed_for_state(*, state: str, on: date) -> QuerySet[Pharmacy]:
    """Pharmacies holding an active, unexpired licence or registration for `state` on `on`."""
    return Pharmacy.objects.filter(
        active=True,
        state_licences__state=state,
        state_licences__active=True,
        state_licences__expires_on__gte=on,
    ).distinct()


def pharmacy_allowed_for_state(*, pharmacy: Pharmacy, state: str, on: date) -> bool:
    return pharmacies_allowed_for_state(state=state, on=on).filter(pk=pharmacy.pk).exists()


def pharmacy_allowed_column(*, pharmacy: Pharmacy, state_ref: str, on: date):
    """pharmacy_allowed_for_state as an expression, the state named by `state_ref` in the
    annotated queryset (the gates read it with the patient's facts: their state)."""
    return Exists(
        PharmacyStateLicence.objects.filter(
            pharmacy=pharmacy, pharmacy__active=True, state=OuterRef(state_ref), active=True, expires_on__gte=on
        )
    )


# --- Caseload ---------------------------------------------------------------------------------
def caseload_patient(*, viewer: User, patient_public_id: UUID) -> User:
    """A patient on this physician's caseload (PatientProfile.assigned_physician), else 404."""
    patient = User.objects.filter(
        public_id=patient_public_id, role=Role.PATIENT, patient_profile__assigned_physician=viewer
    ).first()
    if patient is None:
        raise NotFound()
    return patient


def patient_for_care_team(*, viewer: User, patient_public_id: UUID) -> User:
    """A patient whose PDMP checks the viewer may record and read: a physician's caseload; every
    patient for their delegates (care coordinators) and the medical director. The patients app's
    scope, reused (patients.selectors.patient_visible_to)."""
    return patient_visible_to(viewer=viewer, patient_public_id=patient_public_id, capability=Capability.PDMP)


def pdmp_checks_of(*, patient: User) -> QuerySet[PDMPCheck]:
    return PDMPCheck.objects.filter(patient=patient).select_related("checked_by", "patient")


# --- Prescriptions ----------------------------------------------------------------------------
_RX_RELATED = ("patient", "physician", "product", "pharmacy", "supersedes")


def prescription_list_for_physician(*, viewer: User, status: str | None = None) -> QuerySet[Prescription]:
    """Prescriptions for the patients on this physician's caseload (written by anyone)."""
    qs = Prescription.objects.filter(patient__patient_profile__assigned_physician=viewer).select_related(*_RX_RELATED)
    return qs.filter(status=status) if status else qs


def prescription_get_for_physician(*, viewer: User, public_id: UUID, lock: bool = False) -> Prescription:
    """A prescription in the physician's scope, else NotFound; `lock`: its row locked (FOR UPDATE
    of the prescription only) in the same statement."""
    rows = prescription_list_for_physician(viewer=viewer).filter(public_id=public_id)
    if lock:
        rows = rows.select_for_update(of=("self",))
    rx = rows.first()
    if rx is None:
        raise NotFound()
    return rx


def prescription_for_signing(*, viewer: User, public_id: UUID) -> Prescription:
    """The prescription to sign, in the physician's scope (else NotFound), in one statement: its
    row and its patient's row locked (FOR UPDATE OF both: two signatures of one draft serialise,
    and so do the drafts of one patient, docs/write-budgets.md#signing) and the prescriber's
    profile joined (`rx.physician.physician_profile`, for the gates and the snapshot)."""
    rx = (
        prescription_list_for_physician(viewer=viewer)
        .filter(public_id=public_id)
        .select_related("physician__physician_profile")
        .select_for_update(of=("self", "patient"))
        .first()
    )
    if rx is None:
        raise NotFound()
    return rx


def prescription_list_for_patient(*, viewer: User) -> QuerySet[Prescription]:
    """A patient sees their signed (and superseded) prescriptions, never drafts."""
    return (
        Prescription.objects.filter(patient=viewer, signed_at__isnull=False)
        .select_related(*_RX_RELATED)
        .prefetch_related("orders")
    )


def prescription_get_for_patient(*, viewer: User, public_id: UUID) -> Prescription:
    rx = prescription_list_for_patient(viewer=viewer).filter(public_id=public_id).first()
    if rx is None:
        raise NotFound()
    return rx


def first_signed_prescription_at(*, patient: User) -> datetime | None:
    """Contract: when the patient's first prescription was signed (any later status: a superseded
    or expired one still started treatment), or None. One query."""
    return (
        Prescription.objects.filter(patient=patient, signed_at__isnull=False)
        .order_by("signed_at")
        .values_list("signed_at", flat=True)
        .first()
    )


def first_signed_prescriptions_at(*, patient_ids: list[int]) -> dict[int, datetime]:
    """Contract: first_signed_prescription_at for many patients (those without one are absent).
    One query."""
    rows = (
        Prescription.objects.filter(patient_id__in=patient_ids, signed_at__isnull=False)
        .values("patient_id")
        .annotate(first=Min("signed_at"))
    )
    return {r["patient_id"]: r["first"] for r in rows}


def prescription_status_by_patient(*, patient_ids: list[int]) -> dict[int, str]:
    """For the caseload: each patient's prescription status in one query.

    "active" (a signed, unexpired, not superseded prescription) > "draft" > "expired" (only
    expired or superseded ones) > "none".
    """
    today = practice_date()
    result = {pid: "none" for pid in patient_ids}
    rank = {"none": 0, "expired": 1, "draft": 2, "active": 3}
    rows = Prescription.objects.filter(patient_id__in=patient_ids).exclude(status=PrescriptionStatus.DISCARDED)
    for pid, status, expires_on in rows.values_list("patient_id", "status", "expires_on"):
        if status in (PrescriptionStatus.DRAFT, PrescriptionStatus.AWAITING_EPCS_SIGNATURE):
            label = "draft"  # awaiting the EPCS signature: not yet a valid prescription
        elif status == PrescriptionStatus.SIGNED and expires_on and expires_on >= today:
            label = "active"
        else:
            label = "expired"
        if rank[label] > rank[result[pid]]:
            result[pid] = label
    return result


def prescription_status_column(*, patient_ref: str):
    """Contract: prescription_status_by_patient as an expression for a queryset of patients
    (`patient_ref` names the patient id in it), so a list reads it in its own query: the best
    label of the patient's prescriptions by the same ranking, "none" without any."""
    today = practice_date()
    draft = Q(status__in=[PrescriptionStatus.DRAFT, PrescriptionStatus.AWAITING_EPCS_SIGNATURE])
    active = Q(status=PrescriptionStatus.SIGNED, expires_on__gte=today)
    best = (
        Prescription.objects.filter(patient_id=OuterRef(patient_ref))
        .exclude(status=PrescriptionStatus.DISCARDED)
        .annotate(
            rank=Case(
                When(active, then=Value(3)), When(draft, then=Value(2)), default=Value(1), output_field=IntegerField()
            )
        )
        .annotate(
            label=Case(
                When(active, then=Value("active")),
                When(draft, then=Value("draft")),
                default=Value("expired"),
                output_field=CharField(),
            )
        )
        .order_by("-rank")
        .values("label")[:1]
    )
    return Coalesce(Subquery(best, output_field=CharField()), Value("none"))


def fills_used(*, prescription: Prescription) -> int:
    """Fills that count against the prescription (cancelled orders were never dispensed)."""
    return prescription.orders.exclude(status=OrderStatus.CANCELLED).count()


# --- Delivery orders --------------------------------------------------------------------------
_ORDER_RELATED = ("patient", "pharmacy", "prescription", "prescription__product")


_BOARD_COLUMNS = (
    "public_id",
    "patient_id",
    "sequence",
    "quantity",
    "status",
    "status_changed_at",
    "ship_to_state",
    "adult_signature_required",
    "carrier",
    "tracking_number",
    "carrier_status",
    "last_carrier_update",
    "shipped_at",
    "delivered_at",
    "hold_reasons",
    "created_at",
    "patient__public_id",
    "pharmacy__public_id",
    "pharmacy__name",
    "pharmacy__ncpdp_id",
    "pharmacy__phone",
    "pharmacy__city",
    "pharmacy__state",
    "prescription__public_id",
    "prescription__product__name",
    "prescription__product__strength",
    "prescription__product__strength_unit",
)


def stuck_q(*, now: datetime | None = None) -> Q:
    """Orders in a status longer than its threshold (DELIVERY_STUCK_AFTER_HOURS)."""
    now = now or timezone.now()
    q = Q(pk__in=[])
    for status, hours in settings.DELIVERY_STUCK_AFTER_HOURS.items():
        q |= Q(status=status, status_changed_at__lt=now - timedelta(hours=int(hours)))
    return q


def silent_q(*, now: datetime | None = None) -> Q:
    """Orders in the carrier's hands with no carrier update for SHIPMENT_SILENT_ALERT_HOURS."""
    now = now or timezone.now()
    silent_cut = now - timedelta(hours=settings.SHIPMENT_SILENT_ALERT_HOURS)
    return Q(status__in=IN_CARRIER_HANDS) & (
        Q(last_carrier_update__lt=silent_cut) | Q(last_carrier_update__isnull=True, shipped_at__lt=silent_cut)
    )


def overdue_q(*, now: datetime | None = None) -> Q:
    """Orders stuck in a status longer than its threshold, or silent shipments (the two above)."""
    now = now or timezone.now()
    return stuck_q(now=now) | silent_q(now=now)


def delivery_order_list_for_staff(
    *,
    status: str | None = None,
    state: str | None = None,
    pharmacy: UUID | None = None,
    carrier: str | None = None,
    overdue: bool | None = None,
) -> QuerySet[DeliveryOrder]:
    # Start-up cycle: prescriptions.filters imports overdue_q from this module.
    from prescriptions.filters import DeliveryOrderFilter

    filters = {"status": status, "state": state, "pharmacy": pharmacy, "carrier": carrier, "overdue": overdue}
    # Only what the board shows (DeliveryOrderOutput): not the prescription's signed snapshot
    # (JSON parsed per row) nor the users' and pharmacies' other columns.
    qs = DeliveryOrder.objects.select_related(*_ORDER_RELATED).only(*_BOARD_COLUMNS)
    qs = DeliveryOrderFilter({k: v for k, v in filters.items() if v not in (None, "")}, queryset=qs).qs
    return qs.order_by("-created_at", "-id")


class DeliveryOrderRow(NamedTuple):
    """An order as the staff board shows it (prescriptions.serializers.delivery_order_list_data)."""

    id: int
    public_id: UUID
    patient_id: int
    prescription__public_id: UUID
    patient__public_id: UUID
    pharmacy__public_id: UUID
    pharmacy__name: str
    pharmacy__ncpdp_id: str
    pharmacy__phone: str
    pharmacy__city: str
    pharmacy__state: str
    prescription__product__name: str
    prescription__product__strength: Decimal
    prescription__product__strength_unit: str
    sequence: int
    quantity: int
    status: str
    status_changed_at: datetime
    ship_to_state: str
    adult_signature_required: bool
    carrier: str
    tracking_number: str
    carrier_status: str
    last_carrier_update: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    hold_reasons: list | None
    created_at: datetime

    @property
    def pk(self) -> int:  # audit_log's object id
        return self.id


BOARD_ROWS = PreparedRead(DeliveryOrder, DeliveryOrderRow, lambda **filters: delivery_order_list_for_staff(**filters))


def delivery_order_board(**filters) -> Rows:
    """delivery_order_list_for_staff's orders (the same filters and order) as DeliveryOrderRow
    tuples. The unfiltered board (the page every staff member opens) runs SQL compiled once
    (api/prepared.py); a filtered one goes through the ORM."""
    filters = {k: v for k, v in filters.items() if v not in (None, "")}
    return BOARD_ROWS.orm_rows(**filters) if filters else BOARD_ROWS.rows()


class _NewestOrder(NamedTuple):
    id: int
    public_id: UUID


_NEWEST_ORDER = PreparedRead(DeliveryOrder, _NewestOrder, lambda: DeliveryOrder.objects.order_by("-id"))


BOARD_COUNT_SECONDS = 60
# The count as this process last read it ({key: (total, monotonic expiry)}): the same key and
# lifetime as the shared cache's, so no staler than it, without its round trip on every page.
_BOARD_COUNTS: dict[str, tuple[int, float]] = {}


def delivery_order_board_count(*, filters: dict) -> Callable[[], int] | None:
    """The staff board's total for its paginator, or None for an exact COUNT(*).

    Unfiltered, the board counts every order: a COUNT(*) of the whole table on every page (13 ms
    of a 20 ms request at 50,000 orders). That count is cached for BOARD_COUNT_SECONDS under the
    newest order (its id and random public id, one index probe), so a new order starts a new
    count at once; orders are never deleted (PROTECT everywhere). It can lag only when an older
    transaction's order commits after a newer one, and then for at most BOARD_COUNT_SECONDS
    (twice that at worst: a process may keep for its lifetime a count it read near its end).
    A filtered board counts exactly (its own, smaller query)."""
    if any(v not in (None, "") for v in filters.values()):
        return None

    def count() -> int:
        found = _NEWEST_ORDER.rows()[0:1]
        if not found:
            return 0
        newest = found[0]
        key = f"prescriptions:board-count:{newest.id}:{newest.public_id.hex}"
        remembered = _BOARD_COUNTS.get(key)
        if remembered is not None and remembered[1] > time.monotonic():
            return remembered[0]
        total = cache.get(key)
        if total is None:
            total = DeliveryOrder.objects.count()
            cache.set(key, total, BOARD_COUNT_SECONDS)
        _BOARD_COUNTS.clear()  # one key lives: the newest order's
        _BOARD_COUNTS[key] = (total, time.monotonic() + BOARD_COUNT_SECONDS)
        return total

    return count


def delivery_order_get_for_staff(*, public_id: UUID) -> DeliveryOrder:
    order = (
        DeliveryOrder.objects.select_related(*_ORDER_RELATED)
        .prefetch_related("events__actor")
        .filter(public_id=public_id)
        .first()
    )
    if order is None:
        raise NotFound()
    return order


def delivery_order_list_for_patient(*, viewer: User) -> QuerySet[DeliveryOrder]:
    return (
        DeliveryOrder.objects.filter(patient=viewer)
        .select_related(*_ORDER_RELATED)
        .prefetch_related("events")
        .order_by("-created_at", "-id")
    )


def delivery_order_get_for_patient(*, viewer: User, public_id: UUID) -> DeliveryOrder:
    order = delivery_order_list_for_patient(viewer=viewer).filter(public_id=public_id).first()
    if order is None:
        raise NotFound()
    return order


def delivery_order_list_for_physician(*, viewer: User) -> QuerySet[DeliveryOrder]:
    return (
        DeliveryOrder.objects.filter(patient__patient_profile__assigned_physician=viewer)
        .select_related(*_ORDER_RELATED)
        .prefetch_related("events")
        .order_by("-created_at", "-id")
    )


# --- Refills ----------------------------------------------------------------------------------
def refill_queue_for_physician(*, viewer: User, status: str | None = RefillStatus.OPEN) -> QuerySet[RefillRequest]:
    qs = RefillRequest.objects.filter(patient__patient_profile__assigned_physician=viewer).select_related(
        "patient", "prescription", "prescription__product", "order"
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("requested_at", "id")


def refill_request_get_for_physician(*, viewer: User, public_id: UUID) -> RefillRequest:
    refill = refill_queue_for_physician(viewer=viewer, status=None).filter(public_id=public_id).first()
    if refill is None:
        raise NotFound()
    return refill
