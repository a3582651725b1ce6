from __future__ import annotations

from rest_framework import serializers


class ReadinessQueryInput(serializers.Serializer):
    on = serializers.DateField(required=False, help_text="The date to judge (YYYY-MM-DD); today by default.")
    page = serializers.IntegerField(required=False, min_value=1, max_value=100_000)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class ReadinessRowOutput(serializers.Serializer):
    patient_id = serializers.CharField(source="patient_public_id")
    patient_name = serializers.CharField()
    state = serializers.CharField()
    physician_id = serializers.CharField(source="physician_public_id")
    physician_name = serializers.CharField()
    prescription_id = serializers.CharField(source="prescription.public_id")
    prescription_expires_on = serializers.DateField(source="prescription.expires_on")
    ready = serializers.BooleanField()
    basis = serializers.CharField(allow_null=True, help_text="The ground that would be relied on, if any.")
    reasons = serializers.ListField(child=serializers.CharField(), help_text="Refusal codes when not ready.")
    next_in_person_visit = serializers.DateTimeField(allow_null=True)


class ReadinessCountOutput(serializers.Serializer):
    total = serializers.IntegerField()
    ready = serializers.IntegerField()
    not_ready = serializers.IntegerField()


class ReadinessPhysicianCountOutput(ReadinessCountOutput):
    physician_id = serializers.CharField()
    physician_name = serializers.CharField()


class ReadinessStateCountOutput(ReadinessCountOutput):
    state = serializers.CharField()


class ReadinessPolicyOutput(serializers.Serializer):
    effective_from = serializers.DateField()
    telemedicine_flexibility_ends_on = serializers.DateField()
    require_in_person_after_flex_end = serializers.BooleanField()
    in_person_evaluation_valid_days = serializers.IntegerField(allow_null=True)
    special_registration_enabled = serializers.BooleanField()


class ReadinessWorklistOutput(serializers.Serializer):
    on = serializers.DateField()
    policy = ReadinessPolicyOutput()
    totals = ReadinessCountOutput()
    by_physician = ReadinessPhysicianCountOutput(many=True)
    by_state = ReadinessStateCountOutput(many=True)
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ReadinessRowOutput(many=True)
