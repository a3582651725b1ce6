"""One naming rule for ids in answers: `id` for the resource, `<name>_id` for references; the old
names stay and are deprecated in the schema (docs/api-conventions.md#ids)."""

import uuid
from types import SimpleNamespace

import pytest
from rest_framework import serializers

from api.serializers import ReferenceIdsMixin

pytestmark = pytest.mark.django_db


class _Out(ReferenceIdsMixin, serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="patient.public_id")
    order = serializers.UUIDField(source="order.public_id", allow_null=True, default=None)
    status = serializers.CharField()


def test_each_reference_gets_its_suffixed_twin_with_the_same_value():
    patient, order, own = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    row = SimpleNamespace(
        public_id=own, patient=SimpleNamespace(public_id=patient), order=SimpleNamespace(public_id=order), status="x"
    )
    data = _Out(row).data
    assert data["id"] == str(own)
    assert data["patient"] == data["patient_id"] == str(patient)
    assert data["order"] == data["order_id"] == str(order)
    assert "status_id" not in data and "id_id" not in data


def test_the_schema_marks_the_old_names_deprecated(anon_client):
    schema = anon_client.get("/api/schema/?format=json").json()["components"]["schemas"]
    refill = schema["RefillOutput"]["properties"]
    assert refill["patient_id"]["format"] == "uuid" and not refill["patient_id"].get("deprecated")
    assert refill["patient"]["deprecated"] is True and "patient_id" in refill["patient"]["description"]
    prescription = schema["PrescriptionOutput"]["properties"]
    assert prescription["physician"]["deprecated"] is True and "physician_id" in prescription


def test_answers_carry_both_names(physician):
    from prescriptions.serializers import PrescriptionOutput, RefillOutput
    from tests.prescriptions.factories import DeliveryOrderFactory

    rx = DeliveryOrderFactory().prescription
    row = PrescriptionOutput(rx).data
    assert row["patient_id"] == row["patient"] == str(rx.patient.public_id)
    assert row["physician_id"] == row["physician"] == str(rx.physician.public_id)
    assert "patient_id" in RefillOutput().fields and "prescription_id" in RefillOutput().fields
