"""Every DateTimeField input of every serializer refuses a naive value (docs/api-conventions.md#datetimes)."""

import importlib
from datetime import datetime

import pytest
from django.apps import apps
from rest_framework import serializers

from api.fields import TIMEZONE_REQUIRED


def _all_serializer_classes():
    for config in apps.get_app_configs():
        if config.name.split(".")[0] not in {
            "api", "accounts", "notifications", "billing", "practice", "patients",
            "scheduling", "prescriptions", "treatment", "outcomes", "careteam",
        }:  # fmt: skip
            continue
        try:
            importlib.import_module(f"{config.name}.serializers")
        except ModuleNotFoundError:
            pass
    seen, stack = set(), [serializers.Serializer]
    while stack:
        klass = stack.pop()
        for sub in klass.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return [k for k in seen if k.__module__.split(".")[0] not in {"rest_framework", "drf_spectacular"}]


def _writable_datetime_fields():
    found = []
    for klass in _all_serializer_classes():
        try:
            fields = klass().fields
        except Exception:  # noqa: BLE001 - a serializer that needs context to build its fields
            continue
        for name, field in fields.items():
            if isinstance(field, serializers.DateTimeField) and not field.read_only:
                found.append((f"{klass.__module__}.{klass.__qualname__}.{name}", field))
    return found


@pytest.mark.django_db
def test_every_datetime_input_in_every_serializer_refuses_a_naive_value():
    found = _writable_datetime_fields()
    assert any(label.endswith("BookInput.starts_at") for label, _ in found)
    for label, field in found:
        for naive in ("2027-01-04T10:00:00", "2027-01-04 10:00", datetime(2027, 1, 4, 10, 0)):
            with pytest.raises(serializers.ValidationError) as caught:
                field.run_validation(naive)
            assert caught.value.detail[0].code == TIMEZONE_REQUIRED, label


def test_a_model_serializer_field_refuses_a_naive_value_too():
    from accounts.models import AccountDeletionRequest

    class DeletionSerializer(serializers.ModelSerializer):
        class Meta:
            model = AccountDeletionRequest
            fields = ["requested_at"]

    serializer = DeletionSerializer(data={"requested_at": "2027-01-04T10:00:00"})
    assert not serializer.is_valid()
    assert serializer.errors["requested_at"][0].code == TIMEZONE_REQUIRED
    assert DeletionSerializer(data={"requested_at": "2027-01-04T10:00:00-05:00"}).is_valid()


def test_invalid_text_keeps_drfs_own_code():
    with pytest.raises(serializers.ValidationError) as caught:
        serializers.DateTimeField().run_validation("soon")
    assert caught.value.detail[0].code == "invalid"
