from rest_framework import serializers

from accounts.models import User


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
