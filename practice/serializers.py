"""Input and output shapes of the practice API. Input serializers check shape only: no queries."""

from __future__ import annotations

from rest_framework import serializers

from practice.models import ServiceState
from practice.service_area import parse_zip


class ServiceAreaCheckInput(serializers.Serializer):
    zip = serializers.CharField(max_length=10, help_text="5-digit ZIP or ZIP+4 (12345-6789).")
    county = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="Optional: the county's 5-digit FIPS code or its name, when the ZIP alone does not settle it.",
    )

    def validate_zip(self, value: str) -> str:
        if parse_zip(value) is None:
            raise serializers.ValidationError("Enter a 5-digit ZIP code (or ZIP+4).", code="invalid_zip")
        return value


class CountyChoiceOutput(serializers.Serializer):
    fips = serializers.CharField()
    name = serializers.CharField()


class ServiceAreaCheckOutput(serializers.Serializer):
    served = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=["invalid_zip", "unknown_zip", "state_not_served", "county_required", "county_not_in_state"],
        allow_null=True,
        help_text="Why not served (null when served).",
    )
    zip_code = serializers.CharField(allow_null=True)
    state = serializers.CharField(allow_null=True)
    county_fips = serializers.CharField(allow_null=True)
    county_name = serializers.CharField(allow_null=True)
    time_zone = serializers.CharField(allow_null=True, help_text="IANA time zone of the ZIP.")
    county_choices = CountyChoiceOutput(many=True, help_text="The state's counties, when the patient must pick one.")

    def to_representation(self, instance):
        data = {
            "served": instance.served,
            "reason": instance.reason,
            "zip_code": instance.zip_code,
            "state": instance.state,
            "county_fips": instance.county_fips,
            "county_name": instance.county_name,
            "time_zone": instance.time_zone,
            "county_choices": [{"fips": f, "name": n} for f, n in instance.county_choices],
        }
        return data


class CountyListInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=ServiceState.choices, required=False)


class CountyOutput(serializers.Serializer):
    fips = serializers.CharField()
    name = serializers.CharField()
    state = serializers.CharField()
