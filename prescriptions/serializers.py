"""Input serializers check shape and types only (never query); output serializers use public ids."""

from __future__ import annotations

from rest_framework import serializers

from api.fields import iso_datetime
from api.serializers import ReferenceIdsMixin
from prescriptions.models import (
    STATES,
    DeliveryOrder,
    MedicationProduct,
    OrderEvent,
    OrderStatus,
    PDMPCheck,
    Pharmacy,
    Prescription,
    PrescriptionStatus,
    RefillRequest,
    SigningAttempt,
    product_label,
)


# --- Catalogue and pharmacies -----------------------------------------------------------------
class ProductOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    strength_text = serializers.CharField(read_only=True)

    class Meta:
        model = MedicationProduct
        fields = [
            "id",
            "name",
            "dosage_form",
            "strength",
            "strength_unit",
            "strength_text",
            "route",
            "dea_schedule",
            "dispensing_unit",
            "heat_sensitive",
            "active",
        ]


class ProductInput(serializers.ModelSerializer):
    class Meta:
        model = MedicationProduct
        fields = [
            "name",
            "dosage_form",
            "strength",
            "strength_unit",
            "route",
            "dea_schedule",
            "dispensing_unit",
            "heat_sensitive",
            "active",
        ]
        validators: list = []  # uniqueness is the service's (full_clean) job: no queries here


class ProductPatchInput(ProductInput):
    class Meta(ProductInput.Meta):
        extra_kwargs = {f: {"required": False} for f in ProductInput.Meta.fields}


class PharmacyOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Pharmacy
        fields = ["id", "name", "ncpdp_id", "phone", "city", "state"]


class PharmacyQueryInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=STATES)


# --- Prescriptions ----------------------------------------------------------------------------
class PrescriptionQueryInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=PrescriptionStatus.choices, required=False)


class PrescriptionCreateInput(serializers.Serializer):
    patient = serializers.UUIDField(help_text="The patient's public id (on your caseload).")
    product = serializers.UUIDField()
    pharmacy = serializers.UUIDField()
    dose = serializers.CharField(max_length=120)
    directions = serializers.CharField(max_length=2000)
    quantity = serializers.IntegerField()
    days_supply = serializers.IntegerField()
    refills = serializers.IntegerField(default=0)
    first_fill_quantity = serializers.IntegerField(required=False, allow_null=True, help_text="Staged supply.")
    units_per_session = serializers.IntegerField(required=False, min_value=1, max_value=20, default=1)
    sessions_per_day = serializers.IntegerField(required=False, min_value=1, max_value=3, default=1)
    sessions_per_week = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=14, default=None, help_text="Empty: policy default."
    )
    supersedes = serializers.UUIDField(required=False, allow_null=True, help_text="A signed prescription to replace.")


class PrescriptionPatchInput(serializers.Serializer):
    product = serializers.UUIDField(required=False)
    pharmacy = serializers.UUIDField(required=False)
    dose = serializers.CharField(max_length=120, required=False)
    directions = serializers.CharField(max_length=2000, required=False)
    quantity = serializers.IntegerField(required=False)
    days_supply = serializers.IntegerField(required=False)
    refills = serializers.IntegerField(required=False)
    first_fill_quantity = serializers.IntegerField(required=False, allow_null=True)
    units_per_session = serializers.IntegerField(required=False, min_value=1, max_value=20)
    sessions_per_day = serializers.IntegerField(required=False, min_value=1, max_value=3)
    sessions_per_week = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=14)


class SignInput(serializers.Serializer):
    password = serializers.CharField(help_text="Re-enter your password: a signature is a legal act.")
    patient_pregnant_or_nursing = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Asked at every signing: is the patient pregnant or nursing? Omitted: refused with "
        "`pregnancy_status_not_attested`; true: refused with `pregnant_or_nursing` and recorded on the chart.",
    )


class SigningAttemptOutput(serializers.ModelSerializer):
    class Meta:
        model = SigningAttempt
        fields = ["attempted_at", "signing_date", "succeeded", "reasons", "checks"]


class OrderEventOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    actor = serializers.UUIDField(source="actor.public_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = OrderEvent
        fields = ["from_status", "to_status", "source", "actor", "occurred_at", "note"]


class OrderSummaryOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = DeliveryOrder
        fields = ["id", "sequence", "quantity", "status", "carrier", "tracking_number", "created_at"]


class PrescriptionOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    physician = serializers.UUIDField(source="physician.public_id", read_only=True)
    product = ProductOutput(read_only=True)
    pharmacy = PharmacyOutput(read_only=True)
    supersedes = serializers.UUIDField(source="supersedes.public_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Prescription
        fields = [
            "id",
            "status",
            "patient",
            "physician",
            "product",
            "pharmacy",
            "dose",
            "directions",
            "quantity",
            "first_fill_quantity",
            "days_supply",
            "refills",
            "units_per_session",
            "sessions_per_day",
            "sessions_per_week",
            "supersedes",
            "patient_state",
            "signed_at",
            "expires_on",
            "erx_status",
            "erx_message",
            "created_at",
        ]


class PrescriptionDetailOutput(PrescriptionOutput):
    snapshot = serializers.JSONField(read_only=True)
    signing_attempts = SigningAttemptOutput(many=True, read_only=True)
    orders = OrderSummaryOutput(many=True, read_only=True)

    class Meta(PrescriptionOutput.Meta):
        fields = [*PrescriptionOutput.Meta.fields, "snapshot", "signing_attempts", "orders"]


class PatientPrescriptionOutput(PrescriptionOutput):
    refills_remaining = serializers.SerializerMethodField()
    orders = OrderSummaryOutput(many=True, read_only=True)

    class Meta(PrescriptionOutput.Meta):
        fields = [*PrescriptionOutput.Meta.fields, "refills_remaining", "orders"]

    def get_refills_remaining(self, rx: Prescription) -> int:
        used = sum(1 for o in rx.orders.all() if o.status != OrderStatus.CANCELLED)
        return max(0, 1 + rx.refills - used)


class PDMPCheckInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=STATES, required=False, help_text="Defaults to the patient's state.")
    checked_at = serializers.DateTimeField(required=False, help_text="Defaults to now.")
    result_summary = serializers.CharField(max_length=4000)


class PDMPCheckOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    checked_by = serializers.UUIDField(source="checked_by.public_id", read_only=True)

    class Meta:
        model = PDMPCheck
        fields = ["id", "patient", "checked_by", "state", "checked_at", "result_summary", "created_at"]


# --- Delivery orders --------------------------------------------------------------------------
class DeliveryOrderOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    prescription = serializers.UUIDField(source="prescription.public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    pharmacy = PharmacyOutput(read_only=True)
    product = serializers.CharField(source="prescription.product", read_only=True)

    class Meta:
        model = DeliveryOrder
        fields = [
            "id",
            "prescription",
            "patient",
            "pharmacy",
            "product",
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
        ]


def delivery_order_list_data(rows) -> list[dict]:
    """DeliveryOrderOutput(orders, many=True).data as plain dicts, from the board's
    DeliveryOrderRow tuples (selectors.delivery_order_board; the same keys, order and values:
    tests/perf/test_read_paths.py compares them): DRF's generic field machinery was a third of
    the staff board's time, model instances and the query's compilation most of the rest."""
    dt = iso_datetime
    return [
        {
            "id": str(o.public_id),
            "prescription": str(o.prescription__public_id),
            "patient": str(o.patient__public_id),
            "pharmacy": {
                "id": str(o.pharmacy__public_id),
                "name": o.pharmacy__name,
                "ncpdp_id": o.pharmacy__ncpdp_id,
                "phone": o.pharmacy__phone,
                "city": o.pharmacy__city,
                "state": o.pharmacy__state,
            },
            "product": product_label(
                o.prescription__product__name, o.prescription__product__strength, o.prescription__product__strength_unit
            ),
            "sequence": o.sequence,
            "quantity": o.quantity,
            "status": o.status,
            "status_changed_at": dt(o.status_changed_at),
            "ship_to_state": o.ship_to_state,
            "adult_signature_required": o.adult_signature_required,
            "carrier": o.carrier,
            "tracking_number": o.tracking_number,
            "carrier_status": o.carrier_status,
            "last_carrier_update": dt(o.last_carrier_update),
            "shipped_at": dt(o.shipped_at),
            "delivered_at": dt(o.delivered_at),
            "hold_reasons": list(o.hold_reasons or []),
            "created_at": dt(o.created_at),
            # ReferenceIdsMixin's twins, appended after the declared fields (docs/api-conventions.md#ids).
            "prescription_id": str(o.prescription__public_id),
            "patient_id": str(o.patient__public_id),
        }
        for o in rows
    ]


class DeliveryOrderDetailOutput(DeliveryOrderOutput):
    timeline = OrderEventOutput(source="events", many=True, read_only=True)

    class Meta(DeliveryOrderOutput.Meta):
        fields = [
            *DeliveryOrderOutput.Meta.fields,
            "ship_to_name",
            "ship_to_line1",
            "ship_to_line2",
            "ship_to_city",
            "ship_to_zip",
            "timeline",
        ]


class DeliveryOrderQueryInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
    state = serializers.ChoiceField(choices=STATES, required=False)
    pharmacy = serializers.UUIDField(required=False)
    carrier = serializers.CharField(max_length=32, required=False)
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)


class TransitionInput(serializers.Serializer):
    to = serializers.ChoiceField(choices=OrderStatus.choices)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    carrier = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    tracking_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


# --- Refills ----------------------------------------------------------------------------------
class RefillCreateInput(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefillApproveInput(serializers.Serializer):
    quantity = serializers.IntegerField(required=False, allow_null=True, help_text="Staged supply; default: per fill.")
    note = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default="", help_text="Required when `early_refill`."
    )


class RefillDeclineInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class RefillOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    prescription = serializers.UUIDField(source="prescription.public_id", read_only=True)
    patient = serializers.UUIDField(source="patient.public_id", read_only=True)
    order = serializers.UUIDField(source="order.public_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = RefillRequest
        fields = [
            "id",
            "prescription",
            "patient",
            "status",
            "patient_note",
            "requested_at",
            "decided_at",
            "decline_reason",
            "early_refill",
            "early_refill_detail",
            "approval_note",
            "order",
        ]
