"""Input shapes (no queries) and output shapes of the treatment API."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers import ReferenceIdsMixin
from patients.serializers import BloodPressureInput
from treatment.models import DosingSession, SessionCheckIn, SessionStatus
from treatment.policy import policy_on


class SessionStartInput(serializers.Serializer):
    monitor_attested = serializers.BooleanField(
        help_text="The treatment monitor named in the profile is present, adult and sober, for the whole session."
    )


class CheckInInput(serializers.Serializer):
    overall = serializers.IntegerField(min_value=0, max_value=10, help_text="How you feel: 0 very bad - 10 very good.")
    nausea_vomiting = serializers.BooleanField()
    dizziness = serializers.BooleanField()
    dissociation = serializers.IntegerField(min_value=0, max_value=10, help_text="Dissociation intensity 0-10.")
    headache = serializers.BooleanField()
    urinary_pain = serializers.BooleanField()
    blood_in_urine = serializers.BooleanField()
    blood_pressure = BloodPressureInput(required=False, allow_null=True, default=None)
    did_not_drive = serializers.BooleanField(help_text="I did not drive after the session.")
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class FlagRefOutput(ReferenceIdsMixin, serializers.Serializer):
    flag_id = serializers.UUIDField(source="public_id")
    kind = serializers.CharField()
    status = serializers.CharField()


class BloodPressureOutput(serializers.Serializer):
    systolic = serializers.IntegerField()
    diastolic = serializers.IntegerField()


class CheckInOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    check_in_id = serializers.UUIDField(source="public_id")
    blood_pressure = BloodPressureOutput(source="vital_reading", allow_null=True)
    flags = FlagRefOutput(many=True)

    class Meta:
        model = SessionCheckIn
        fields = [
            "check_in_id",
            "submitted_at",
            "overall",
            "nausea_vomiting",
            "dizziness",
            "dissociation",
            "headache",
            "urinary_pain",
            "blood_in_urine",
            "blood_pressure",
            "did_not_drive",
            "notes",
            "flag_reasons",
            "flags",
        ]
        read_only_fields = fields


CHECK_IN_STATUSES = ["not_due", "due", "done", "overdue"]


class SessionOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    session_id = serializers.UUIDField(source="public_id")
    prescription_id = serializers.UUIDField(source="prescription.public_id")
    fill_id = serializers.UUIDField(source="fill.public_id")
    product = serializers.CharField(source="product.__str__")
    check_in_closes_at = serializers.SerializerMethodField()
    check_in_status = serializers.SerializerMethodField(help_text="not_due (open), due, done or overdue.")
    check_in = serializers.SerializerMethodField()

    class Meta:
        model = DosingSession
        fields = [
            "session_id",
            "status",
            "started_at",
            "ended_at",
            "local_date",
            "prescription_id",
            "fill_id",
            "product",
            "dose_text",
            "dose_units",
            "dispensing_unit",
            "monitor_name",
            "monitor_attested_at",
            "check_in_status",
            "check_in_closes_at",
            "check_in",
        ]
        read_only_fields = fields

    def _closes_at(self, session: DosingSession):
        if session.ended_at is None:
            return None
        policy_for = self.context.get("policy_for")
        if policy_for is None:
            policy_for = policy_on
        return session.ended_at + timedelta(hours=policy_for(session.local_date).check_in_window_hours)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_check_in_closes_at(self, session):
        closes = self._closes_at(session)
        return serializers.DateTimeField().to_representation(closes) if closes else None

    @extend_schema_field(serializers.ChoiceField(choices=CHECK_IN_STATUSES))
    def get_check_in_status(self, session):
        if getattr(session, "check_in", None) is not None:
            return "done"
        if session.status == SessionStatus.OPEN:
            return "not_due"
        return "overdue" if timezone.now() > self._closes_at(session) else "due"

    @extend_schema_field(CheckInOutput(allow_null=True))
    def get_check_in(self, session):
        check_in = getattr(session, "check_in", None)
        return CheckInOutput(check_in).data if check_in is not None else None


class CheckInResultOutput(serializers.Serializer):
    check_in = CheckInOutput()
    instructions = serializers.ListField(child=serializers.CharField())


class SupplyOutput(serializers.Serializer):
    prescription_id = serializers.UUIDField(source="prescription.public_id")
    product = serializers.CharField(source="prescription.product.__str__")
    dispensing_unit = serializers.CharField(source="prescription.product.dispensing_unit")
    doses_shipped = serializers.IntegerField(help_text="Units delivered.")
    doses_used = serializers.IntegerField()
    doses_left = serializers.IntegerField()
    doses_in_transit = serializers.IntegerField(help_text="Units in fills not yet delivered.")
    units_per_session = serializers.IntegerField()
    sessions_per_week = serializers.IntegerField()
    sessions_left = serializers.IntegerField()
    expected_run_out_on = serializers.DateField(source="run_out_on", help_text="At the prescribed rate.")
    last_session_at = serializers.DateTimeField(allow_null=True)
