"""One naming rule for ids in answers: `id` for the resource, `<name>_id` for references; the old
names stay and are deprecated in the schema (docs/api-conventions.md#ids)."""

import re
import uuid
from types import SimpleNamespace

import pytest
from rest_framework import serializers

from api.serializers import ReferenceIdsMixin

pytestmark = pytest.mark.django_db


class _Output(ReferenceIdsMixin, serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="patient.public_id")
    order = serializers.UUIDField(source="order.public_id", allow_null=True, default=None)
    status = serializers.CharField()


def test_each_reference_gets_its_suffixed_twin_with_the_same_value():
    patient, order, own = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    row = SimpleNamespace(
        public_id=own, patient=SimpleNamespace(public_id=patient), order=SimpleNamespace(public_id=order), status="x"
    )
    data = _Output(row).data
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


# --- the whole schema follows the rule ---------------------------------------------------------


def _resource_names() -> set[str]:
    """What a property may be named after: every model (snake case) and every to-one relation's name."""
    from django.apps import apps

    names = set()
    for model in apps.get_models():
        names.add(re.sub(r"(?<!^)(?=[A-Z])", "_", model.__name__).lower())
        names.update(f.name for f in model._meta.get_fields() if f.concrete and (f.many_to_one or f.one_to_one))
    return names


def _refs(node, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out.add(value.rsplit("/", 1)[-1])
            else:
                _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)
    return out


def _response_components(schema: dict) -> set[str]:
    """Every component an answer (any status) uses, directly or nested."""
    components = schema["components"]["schemas"]
    todo = set()
    for operations in schema["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict):
                _refs(operation.get("responses") or {}, todo)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen and name in components:
            seen.add(name)
            todo |= _refs(components[name], set()) - seen
    return seen


def _id_kind(prop: dict) -> str | None:
    """ "uuid" or "integer" if the property holds one (nullable and allOf wrappers looked through)."""
    if prop.get("format") == "uuid":
        return "uuid"
    if prop.get("type") == "integer":
        return "integer"
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in prop.get(key) or []:
            if kind := _id_kind(sub):
                return kind
    return None


def test_every_answer_names_ids_by_the_rule(anon_client):
    """In every answer: a property holding an id (a UUID, or an integer named after a resource) is
    `id`, ends in `_id`, or is an old name marked deprecated beside its `<name>_id` twin. Codes
    (`appointment_type: "free_consultation"`) and embedded objects (`patient: {id, ...}`) hold no
    bare id and keep their names."""
    schema = anon_client.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    resources = _resource_names()
    checked, offenders = 0, []
    for component in sorted(_response_components(schema)):
        properties = components[component].get("properties") or {}
        for name, prop in properties.items():
            kind = _id_kind(prop)
            if name == "id" or name.endswith("_id") or kind is None:
                continue
            if kind == "integer" and name not in resources:
                continue  # a count or a measurement (`quantity`, `total`, `systolic`)
            checked += 1
            if not (prop.get("deprecated") and f"{name}_id" in properties):
                offenders.append(f"{component}.{name}")
    assert not offenders, f"bare references without a deprecated mark and a `<name>_id` twin: {offenders}"
    assert checked >= 20  # the walk reaches the answers (prescriptions, the board, availability, ...)


def test_an_own_id_named_after_the_resource_gets_id_beside_it(anon_client):
    """`flag_id` on a safety flag is the flag's own id: `id` is added (first) and `flag_id` is deprecated."""
    components = anon_client.get("/api/schema/?format=json").json()["components"]["schemas"]
    for component, alias in [
        ("SafetyFlagOutput", "flag_id"),
        ("SessionOutput", "session_id"),
        ("CheckInOutput", "check_in_id"),
        ("QuestionnaireOutput", "questionnaire_id"),
        ("ClusterAttackOutput", "attack_id"),
        ("ReviewFlagOutput", "flag_id"),
        ("ContraindicationOutput", "contraindication_id"),
    ]:
        properties = components[component]["properties"]
        assert next(iter(properties)) == "id", component
        assert properties[alias]["deprecated"] is True and "`id`" in properties[alias]["description"], component
        assert not properties.get("patient_id", {}).get("deprecated"), component  # a reference stays as it is
    deprecated = {
        f"{c}.{n}" for c, s in components.items() for n, p in (s.get("properties") or {}).items() if p.get("deprecated")
    }
    assert "SafetyFlagOutput.patient_id" not in deprecated


def test_own_id_twin_carries_the_same_value():
    out = _Own(SimpleNamespace(public_id=uuid.uuid4(), patient=SimpleNamespace(public_id=uuid.uuid4())))
    data = out.data
    assert list(data)[0] == "id" and data["id"] == data["flag_id"]
    assert data["patient_id"] != data["id"]


class _Own(ReferenceIdsMixin, serializers.Serializer):
    flag_id = serializers.UUIDField(source="public_id")
    patient_id = serializers.UUIDField(source="patient.public_id")


def test_board_rows_and_availability_carry_both_names(physician):
    from prescriptions.selectors import delivery_order_board
    from prescriptions.serializers import DeliveryOrderDetailOutput, DeliveryOrderOutput, delivery_order_list_data
    from scheduling.serializers import AvailabilityExceptionOutput, VisitNoteOutput, WeeklyAvailabilityOutput
    from tests.prescriptions.factories import DeliveryOrderFactory

    order = DeliveryOrderFactory()
    for row in (
        DeliveryOrderOutput(order).data,
        DeliveryOrderDetailOutput(order).data,
        delivery_order_list_data(delivery_order_board()[0:1])[0],
    ):
        assert row["patient_id"] == row["patient"] == str(order.patient.public_id)
        assert row["prescription_id"] == row["prescription"] == str(order.prescription.public_id)
    assert {"location", "location_id"} <= set(WeeklyAvailabilityOutput().fields)
    assert {"location", "location_id"} <= set(AvailabilityExceptionOutput().fields)
    assert {"appointment", "appointment_id"} <= set(VisitNoteOutput().fields)


def test_answers_whose_own_id_is_not_public_id_get_id_too(anon_client):
    """An answer built from a dict (the assessment) or wrapping its record (the pre-session check,
    a consent document with its signature state) declares which field is its own id."""
    schema = anon_client.get("/api/schema/?format=json").json()["components"]["schemas"]
    for component, old in [
        ("AssessmentOutput", "assessment_id"),
        ("PreSessionCheckOutput", "check_id"),
        ("ConsentDocumentOutput", "document_id"),
    ]:
        properties = schema[component]["properties"]
        assert properties["id"]["format"] == "uuid", component
        assert properties[old].get("deprecated") is True, component


def test_an_assessment_answer_carries_its_id_under_both_names():
    from patients.serializers import AssessmentOutput

    fields = AssessmentOutput().fields
    assert list(fields)[0] == "id" and fields["id"].source == "assessment_id"
