from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from accounts.onboarding import NextStep, onboarding_state


class RegisterInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class LoginInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True)


class RefreshInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=2048)


class PasswordResetInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInput(serializers.Serializer):
    code = serializers.CharField(max_length=256, help_text="The code from the reset email.")
    new_password = serializers.CharField(max_length=128, write_only=True)


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class UserOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    access_role = serializers.CharField(
        read_only=True,
        help_text="What decides what this person sees: patient, physician, care_coordinator, pharmacy_liaison, "
        "medical_director or admin (docs/roles-and-access.md).",
    )

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "role", "access_role"]
        read_only_fields = fields


class MessageOutput(serializers.Serializer):
    message = serializers.CharField()


class OnboardingOutput(serializers.Serializer):
    """Where a patient stands in setting up care (docs/api-conventions.md#onboarding)."""

    profile_complete = serializers.BooleanField()
    profile_missing = serializers.ListField(
        child=serializers.CharField(),
        help_text="What the profile still needs: profile (none yet), phone, emergency_contact, treatment_monitor, "
        "verified_address.",
    )
    consents_complete = serializers.BooleanField()
    consents_pending = serializers.ListField(
        child=serializers.CharField(), help_text="Consent kinds whose current version is not signed yet."
    )
    membership_active = serializers.BooleanField(help_text="A membership in good standing today.")
    membership_status = serializers.CharField(
        help_text="none, incomplete, trialing, active, past_due_in_grace, past_due, canceled or unpaid."
    )
    has_visit = serializers.BooleanField(help_text="A visit booked, in progress or held.")
    next_step = serializers.ChoiceField(
        choices=NextStep.choices,
        help_text="The first step not done, in this order: complete_profile, sign_consents, start_membership, "
        "book_visit; done when nothing is left.",
    )


class MeOutput(UserOutput):
    onboarding = serializers.SerializerMethodField(help_text="Patients only; null for everyone else.")

    class Meta(UserOutput.Meta):
        fields = [*UserOutput.Meta.fields, "onboarding"]
        read_only_fields = fields

    @extend_schema_field(OnboardingOutput(allow_null=True))
    def get_onboarding(self, user):
        return onboarding_state(user)


class PasswordChangeInput(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class AccountDeletionInput(serializers.Serializer):
    password = serializers.CharField(
        max_length=128, write_only=True, style={"input_type": "password"}, help_text="Your current password."
    )
    reason = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="Optional; no health details."
    )


class AccountDeletionOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["deactivated"])
    requested_at = serializers.DateTimeField()
    message = serializers.CharField()
