"""Accounts: registration, sign-in, token rotation with reuse detection, logout, password reset."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.errors import (
    AccountLocked,
    EmailUnavailable,
    InvalidCredentials,
    InvalidResetToken,
    TokenInvalid,
    TokenReused,
)
from accounts.models import AuditAction, Role, User
from accounts.notifications import send_email

logger = logging.getLogger(__name__)


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from exc


@transaction.atomic
def patient_register(*, email: str, password: str, first_name: str = "", last_name: str = "", request=None) -> User:
    """Create a patient account. Physicians and staff are created by an administrator."""
    from accounts.audit import audit_log

    email = User.objects.normalize_email(email).lower()
    user = User(email=email, first_name=first_name, last_name=last_name, role=Role.PATIENT)
    _validate_password(password, user)
    user.set_password(password)
    if User.objects.filter(email__iexact=email).exists():
        raise EmailUnavailable(
            fields={"email": [{"code": "email_unavailable", "message": EmailUnavailable.default_message}]}
        )
    user.full_clean(exclude=["password", "email"])
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration with the same email
        raise EmailUnavailable() from exc
    audit_log(request, AuditAction.CREATE, user, actor=user, detail="registration")
    return user


def tokens_for(user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def login(*, request, email: str, password: str) -> tuple[User, dict[str, str]]:
    """Sign in. Unknown email and wrong password give the same answer; repeated failures lock
    the account (django-axes) whether or not it exists, so the lockout reveals nothing either."""
    django_request = getattr(request, "_request", request)
    user = authenticate(django_request, username=email.strip().lower(), password=password)
    if getattr(django_request, "axes_locked_out", False):
        raise AccountLocked()
    if user is None or not user.is_active:
        raise InvalidCredentials()
    return user, tokens_for(user)


def refresh_rotate(*, refresh: str) -> dict[str, str]:
    """Exchange a refresh token for a new pair; the old one is blacklisted.

    Reuse detection: a refresh token presented a second time means it was copied. Every
    outstanding refresh token of that user is then revoked, so the thief's copy dies too.
    """
    from rest_framework_simplejwt.exceptions import TokenBackendError
    from rest_framework_simplejwt.settings import api_settings
    from rest_framework_simplejwt.state import token_backend

    try:
        payload = token_backend.decode(refresh, verify=True)  # signature and expiry
    except (TokenError, TokenBackendError) as exc:
        raise TokenInvalid() from exc
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh":
        raise TokenInvalid()
    jti = payload.get(api_settings.JTI_CLAIM)
    if BlacklistedToken.objects.filter(token__jti=jti).exists():
        user_id = payload.get(api_settings.USER_ID_CLAIM)
        revoked = refresh_revoke_all(user_id=user_id)
        User.objects.filter(pk=user_id).update(tokens_valid_after=timezone.now())
        logger.warning("refresh token reuse detected user_id=%s revoked=%d", user_id, revoked)
        raise TokenReused()
    try:
        token = RefreshToken(refresh)
        user = User.objects.filter(pk=payload.get(api_settings.USER_ID_CLAIM), is_active=True).first()
        if user is None:
            raise TokenInvalid()
        with transaction.atomic():
            token.blacklist()
            new = RefreshToken.for_user(user)
    except TokenError as exc:
        raise TokenInvalid() from exc
    return {"access": str(new.access_token), "refresh": str(new)}


def refresh_revoke(*, refresh: str, access: str | None = None) -> None:
    """Logout: revoke this refresh token, and the access token sent with the request if any.
    Revoking an already revoked token is not an error."""
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.authentication import deny_access_token

    try:
        RefreshToken(refresh).blacklist()
    except TokenError as exc:
        if "blacklisted" not in str(exc).lower():
            raise TokenInvalid() from exc
    if access:
        try:
            token = AccessToken(access)
        except TokenError:
            return  # an expired or invalid access token needs no revoking
        deny_access_token(token["jti"], token["exp"])


def tokens_revoke_all(*, user: User) -> None:
    """Sign out everywhere: every refresh token blacklisted, every access token refused."""
    User.objects.filter(pk=user.pk).update(tokens_valid_after=timezone.now())
    refresh_revoke_all(user_id=user.pk)


def refresh_revoke_all(*, user_id) -> int:
    outstanding = OutstandingToken.objects.filter(user_id=user_id).exclude(blacklistedtoken__isnull=False)
    rows = [BlacklistedToken(token=t) for t in outstanding]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def password_reset_request(*, email: str) -> None:
    """Send a reset code if the email has an active account; the caller answers the same either way."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    send_email(
        to=user.email,
        subject="Reset your password",
        body=(
            "We received a request to reset your password. In the app, enter this code:\n\n"
            f"{uid}.{token}\n\nIf you did not ask for this, ignore this email. "
            f"The code expires in {settings.PASSWORD_RESET_TIMEOUT // 60} minutes."
        ),
    )


@transaction.atomic
def password_reset_confirm(*, code: str, new_password: str) -> User:
    uid, _, token = code.partition(".")
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uid)), is_active=True)
    except (User.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise InvalidResetToken() from exc
    if not default_token_generator.check_token(user, token):
        raise InvalidResetToken()
    _validate_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    tokens_revoke_all(user=user)  # a reset signs every device out
    return user
