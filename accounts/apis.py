from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.permissions import IsPatient
from accounts.serializers import (
    AccountDeletionInput,
    AccountDeletionOutput,
    LoginInput,
    MeOutput,
    MessageOutput,
    PasswordChangeInput,
    PasswordResetConfirmInput,
    PasswordResetInput,
    RefreshInput,
    RegisterInput,
    TokenPairOutput,
)
from api.schema import errors
from api.throttling import ScopedRateThrottle


class _PublicAuthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


_REGISTER_MESSAGE = "Check your email, then sign in with your email and password."


class RegisterApi(_PublicAuthApi):
    """Registration answers the same for a new and a known email (docs/security.md#enumeration):
    202 and a message; the app then signs in with the same email and password."""

    @extend_schema(request=RegisterInput, responses={202: MessageOutput, **errors(400)}, tags=["auth"])
    def post(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.patient_register(**data.validated_data, request=request)
        return Response({"message": _REGISTER_MESSAGE}, status=status.HTTP_202_ACCEPTED)


class LoginApi(_PublicAuthApi):
    @extend_schema(request=LoginInput, responses={200: TokenPairOutput, **errors(400, 401, 429)}, tags=["auth"])
    def post(self, request):
        data = LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        _, tokens = services.login(request=request, **data.validated_data)
        return Response(tokens)


class RefreshApi(_PublicAuthApi):
    @extend_schema(request=RefreshInput, responses={200: TokenPairOutput, **errors(400, 401)}, tags=["auth"])
    def post(self, request):
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.refresh_rotate(refresh=data.validated_data["refresh"]))


class LogoutApi(_PublicAuthApi):
    @extend_schema(request=RefreshInput, responses={204: None, **errors(400, 401)}, tags=["auth"])
    def post(self, request):
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        header = request.headers.get("Authorization", "")
        access = header[7:] if header.startswith("Bearer ") else None
        services.refresh_revoke(refresh=data.validated_data["refresh"], access=access)
        return Response(status=status.HTTP_204_NO_CONTENT)


_RESET_MESSAGE = "If an account exists for this email, we sent a code to reset its password."


class PasswordResetApi(_PublicAuthApi):
    @extend_schema(request=PasswordResetInput, responses={202: MessageOutput, **errors(400)}, tags=["auth"])
    def post(self, request):
        data = PasswordResetInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response({"message": _RESET_MESSAGE}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(_PublicAuthApi):
    @extend_schema(request=PasswordResetConfirmInput, responses={204: None, **errors(400)}, tags=["auth"])
    def post(self, request):
        data = PasswordResetConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Who is signed in, and (patients) what is left to set up",
        description="The signed-in account. For a patient, `onboarding` says what is done (profile, consents, "
        "membership, a visit) and `next_step` names the first step left (docs/api-conventions.md#onboarding).",
        responses={200: MeOutput},
        tags=["auth"],
    )
    def get(self, request):
        return Response(MeOutput(request.user).data)


class PasswordChangeApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        summary="Change the password while signed in",
        description="Needs the current password, checked and locked out like a sign-in (`invalid_password`, then "
        "`429 account_locked`). Every other session is signed out (their refresh tokens answer `token_revoked`); "
        "the answer is a fresh token pair for this device.",
        request=PasswordChangeInput,
        responses={200: TokenPairOutput, **errors(400, 401, 429)},
        tags=["auth"],
    )
    def post(self, request):
        data = PasswordChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.password_change(user=request.user, request=request, **data.validated_data)
        return Response(tokens)


class AccountDeletionApi(APIView):
    permission_classes = [IsPatient]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        summary="Ask for the account to be deleted",
        description="Deactivation under records retention (docs/account-deletion.md): the account is deactivated "
        "at once and every session signed out; clinical records are kept as the law requires. Needs the current "
        "password (`invalid_password`, locked out like a sign-in).",
        request=AccountDeletionInput,
        responses={202: AccountDeletionOutput, **errors(400, 401, 429)},
        tags=["auth"],
    )
    def post(self, request):
        data = AccountDeletionInput(data=request.data)
        data.is_valid(raise_exception=True)
        deletion = services.account_deactivate(user=request.user, request=request, **data.validated_data)
        return Response(
            AccountDeletionOutput(
                {"status": "deactivated", "requested_at": deletion.requested_at, "message": _DELETION_MESSAGE}
            ).data,
            status=status.HTTP_202_ACCEPTED,
        )


_DELETION_MESSAGE = (
    "Your account is closed and you are signed out everywhere. Your medical records are kept for the period the "
    "law requires; contact the practice to ask for a copy."
)
