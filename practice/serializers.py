"""Input and output shapes of the practice API. Input serializers check shape only: no queries."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from practice.models import CredentialStatus, DEASchedule, LicenceKind, ServiceState
from practice.service_area import REASONS, parse_zip


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
        choices=REASONS,
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


# --- physicians' credentials -----------------------------------------------------------------


class PhysicianProfileOutput(serializers.Serializer):
    npi = serializers.CharField()
    time_zone = serializers.CharField()
    accepting_new_patients = serializers.BooleanField()
    new_patient_cap = serializers.IntegerField(allow_null=True)
    office_address_line1 = serializers.CharField()
    office_address_line2 = serializers.CharField()
    office_city = serializers.CharField()
    office_state = serializers.CharField()
    office_zip_code = serializers.CharField()
    static_video_url = serializers.CharField()


class LicenceOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    state = serializers.CharField()
    number = serializers.CharField()
    kind = serializers.ChoiceField(choices=LicenceKind.choices)
    status = serializers.ChoiceField(choices=CredentialStatus.choices)
    issued_on = serializers.DateField()
    expires_on = serializers.DateField()


class DEARegistrationOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    state = serializers.CharField()
    number = serializers.CharField()
    schedules = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=CredentialStatus.choices)
    issued_on = serializers.DateField(allow_null=True)
    expires_on = serializers.DateField()
    needs_verification = serializers.BooleanField(help_text="The number failed the DEA checksum: verify by hand.")
    verified_at = serializers.DateTimeField(allow_null=True)


class CDSRegistrationOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=CredentialStatus.choices)
    issued_on = serializers.DateField(allow_null=True)
    expires_on = serializers.DateField()


class PhysicianCredentialsOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", help_text="The physician's user id.")
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    profile = serializers.SerializerMethodField()
    licences = LicenceOutput(many=True, source="state_licences.all")
    dea_registrations = DEARegistrationOutput(many=True, source="dea_registrations.all")
    cds_registrations = CDSRegistrationOutput(many=True, source="nj_cds_registrations.all")

    @extend_schema_field(PhysicianProfileOutput(allow_null=True))
    def get_profile(self, user):
        profile = getattr(user, "physician_profile", None)
        return PhysicianProfileOutput(profile).data if profile is not None else None


class _ProfileFields(serializers.Serializer):
    npi = serializers.CharField(max_length=10, help_text="10 digits with a valid check digit.")
    time_zone = serializers.CharField(max_length=64, required=False)
    accepting_new_patients = serializers.BooleanField(required=False)
    new_patient_cap = serializers.IntegerField(min_value=0, allow_null=True, required=False)
    office_address_line1 = serializers.CharField(max_length=200, allow_blank=True, required=False)
    office_address_line2 = serializers.CharField(max_length=200, allow_blank=True, required=False)
    office_city = serializers.CharField(max_length=100, allow_blank=True, required=False)
    office_state = serializers.CharField(max_length=2, allow_blank=True, required=False)
    office_zip_code = serializers.CharField(max_length=10, allow_blank=True, required=False)
    static_video_url = serializers.URLField(allow_blank=True, required=False)


class PhysicianProfileCreateInput(_ProfileFields):
    physician = serializers.UUIDField(help_text="The physician's user id.")


class PhysicianProfileUpdateInput(_ProfileFields):
    npi = serializers.CharField(max_length=10, required=False)


class LicenceCreateInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=ServiceState.choices)
    number = serializers.CharField(max_length=32)
    kind = serializers.ChoiceField(choices=LicenceKind.choices, default=LicenceKind.FULL_LICENCE)
    status = serializers.ChoiceField(choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE)
    issued_on = serializers.DateField()
    expires_on = serializers.DateField()


class LicenceUpdateInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=ServiceState.choices, required=False)
    number = serializers.CharField(max_length=32, required=False)
    kind = serializers.ChoiceField(choices=LicenceKind.choices, required=False)
    status = serializers.ChoiceField(choices=CredentialStatus.choices, required=False)
    issued_on = serializers.DateField(required=False)
    expires_on = serializers.DateField(required=False)


class DEARegistrationCreateInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=ServiceState.choices)
    number = serializers.CharField(max_length=16, help_text="A letter, a letter or 9, then 7 digits.")
    schedules = serializers.ListField(child=serializers.ChoiceField(choices=DEASchedule.choices), min_length=1)
    status = serializers.ChoiceField(choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE)
    issued_on = serializers.DateField(required=False, allow_null=True, default=None)
    expires_on = serializers.DateField()


class DEARegistrationUpdateInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=ServiceState.choices, required=False)
    number = serializers.CharField(max_length=16, required=False)
    schedules = serializers.ListField(
        child=serializers.ChoiceField(choices=DEASchedule.choices), min_length=1, required=False
    )
    status = serializers.ChoiceField(choices=CredentialStatus.choices, required=False)
    issued_on = serializers.DateField(required=False, allow_null=True)
    expires_on = serializers.DateField(required=False)
    needs_verification = serializers.BooleanField(
        required=False, help_text="Send false once staff have verified a number that failed the checksum."
    )


class CDSRegistrationCreateInput(serializers.Serializer):
    number = serializers.CharField(max_length=32)
    status = serializers.ChoiceField(choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE)
    issued_on = serializers.DateField(required=False, allow_null=True, default=None)
    expires_on = serializers.DateField()


class CDSRegistrationUpdateInput(serializers.Serializer):
    number = serializers.CharField(max_length=32, required=False)
    status = serializers.ChoiceField(choices=CredentialStatus.choices, required=False)
    issued_on = serializers.DateField(required=False, allow_null=True)
    expires_on = serializers.DateField(required=False)
