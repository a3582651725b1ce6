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
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.audit import audit_log
from accounts.authentication import deny_access_token
from accounts.errors import (
    AccountLocked,
    InvalidCredentials,
    InvalidPassword,
    InvalidResetToken,
    TokenInvalid,
    TokenReused,
    TokenRevoked,
)
from accounts.lockout import lockout_clear_account
from accounts.models import (
    AccountDeletionRequest,
    AuditAction,
    RefreshTokenRevocation,
    RevocationReason,
    Role,
    User,
)
from accounts.notifications import send_email
from accounts.tokens import ISSUED_AT_US_CLAIM, PracticeRefreshToken, epoch_us, issued_before

logger = logging.getLogger(__name__)


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from exc


def patient_register(*, email: str, password: str, first_name: str = "", last_name: str = "", request=None) -> None:
    """Create a patient account. Physicians and staff are created by an administrator.

    The answer is the same whether or not the email already has an account (no enumeration,
    docs/security.md#enumeration): a new email gets its account and a welcome email, a known one
    gets nothing created and its owner an email saying someone tried to register with it. Either
    way the app signs in next with the same email and password.
    """
    email = User.objects.normalize_email(email).lower()
    user = User(email=email, first_name=first_name, last_name=last_name, role=Role.PATIENT)
    _validate_password(password, user)
    user.set_password(password)  # hashed in both branches, so both take as long
    user.full_clean(exclude=["password", "email"])
    created = False
    if not User.objects.filter(email__iexact=email).exists():
        try:
            with transaction.atomic():
                user.save()
                audit_log(request, AuditAction.CREATE, user, actor=user, detail="registration")
            created = True
        except IntegrityError:  # a concurrent registration with the same email won
            created = False
    if created:
        send_email(to=email, subject="Welcome", body=_WELCOME_BODY)
    else:
        send_email(to=email, subject="Your account", body=_ALREADY_REGISTERED_BODY)


_WELCOME_BODY = "Your account is ready. Open the app and sign in with your email and password."
_ALREADY_REGISTERED_BODY = (
    "Someone tried to create an account with this email, which already has one. If it was you, "
    'sign in in the app, or use "Forgot password" there. If it was not you, ignore this email: '
    "nothing was changed."
)


def tokens_for(user: User) -> dict[str, str]:
    refresh = PracticeRefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def login(*, request, email: str, password: str) -> tuple[User, dict[str, str]]:
    """Sign in. Unknown email and wrong password give the same answer; repeated failures lock
    the account, the address and the pair (accounts/lockout.py) whether or not the account
    exists, so the lockout reveals nothing either."""
    django_request = getattr(request, "_request", request)
    user = authenticate(django_request, username=email.strip().lower(), password=password)
    if getattr(django_request, "axes_locked_out", False):
        raise AccountLocked()
    if user is None or not user.is_active:
        raise InvalidCredentials()
    return user, tokens_for(user)


def step_up_verify(*, user: User, password: str, request=None) -> bool:
    """Re-check a signed-in user's password before a sensitive act (signing a prescription).

    Counted and locked exactly like sign-in (the same django-axes rules and counters: a stolen
    session guessing the password is the same attack as guessing it at sign-in): returns False on
    a wrong password, raises AccountLocked (429) once the account, the address or the pair is
    locked. Without a request (a script, a test of the service alone) it only checks the password.
    """
    if not password:
        return False
    if request is None:
        return user.check_password(password)
    django_request = getattr(request, "_request", request)
    verified = authenticate(django_request, username=user.email, password=password)
    if getattr(django_request, "axes_locked_out", False):
        raise AccountLocked()
    return verified is not None and verified.pk == user.pk


def refresh_rotate(*, refresh: str) -> dict[str, str]:
    """Exchange a refresh token for a new pair; the old one is blacklisted.

    Reuse detection: a refresh token presented a second time means it was copied. Every
    outstanding refresh token of that user is then revoked, and every access token issued up to
    that instant is refused (`tokens_valid_after`, to the microsecond), so the thief's copy dies
    too. The check and the blacklisting happen under a lock on the token's row: of several
    concurrent presentations exactly one wins; the others are reuse and revoke the family,
    including what the winner was just given.
    """
    try:
        payload = token_backend.decode(refresh, verify=True)  # signature and expiry
    except (TokenError, TokenBackendError) as exc:
        raise TokenInvalid() from exc
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh":
        raise TokenInvalid()
    jti = payload.get(api_settings.JTI_CLAIM)
    user_id = payload.get(api_settings.USER_ID_CLAIM)
    reused = False
    with transaction.atomic():
        outstanding = OutstandingToken.objects.select_for_update().filter(jti=jti).first()
        if outstanding is None:
            raise TokenInvalid()  # never issued by us (or long purged)
        if BlacklistedToken.objects.filter(token=outstanding).exists():
            if RefreshTokenRevocation.objects.filter(jti=jti).exists():
                raise TokenRevoked()  # signed out on purpose: not a copied token
            reused = True
        else:
            user = User.objects.filter(pk=user_id, is_active=True).first()
            if user is None or issued_before(payload, user.tokens_valid_after):
                raise TokenInvalid()
            BlacklistedToken.objects.create(token=outstanding)
            new = PracticeRefreshToken.for_user(user)
    if reused:
        with transaction.atomic():
            User.objects.filter(pk=user_id).update(tokens_valid_after=timezone.now())
            revoked = refresh_revoke_all(user_id=user_id)
        logger.warning("refresh token reuse detected user_id=%s revoked=%d", user_id, revoked)
        raise TokenReused()
    return {"access": str(new.access_token), "refresh": str(new)}


def refresh_revoke(*, refresh: str, access: str | None = None) -> None:
    """Logout: revoke this refresh token, and the access token sent with the request if any.
    Revoking an already revoked token is not an error."""
    try:
        token = RefreshToken(refresh)
    except TokenError as exc:
        if "blacklisted" not in str(exc).lower():
            raise TokenInvalid() from exc
    else:
        with transaction.atomic():
            token.blacklist()
            _record_revocations(user_id=token.get("user_id"), jtis=[token.get("jti")], reason=RevocationReason.LOGOUT)
    if access:
        try:
            token = AccessToken(access)
        except TokenError:
            return  # an expired or invalid access token needs no revoking
        deny_access_token(token["jti"], token["exp"])


def tokens_revoke_all(*, user: User, reason: str = RevocationReason.PASSWORD_RESET) -> None:
    """Sign out everywhere: every refresh token blacklisted, every access token refused. A revoked
    refresh token presented later answers `token_revoked` (with `reason`), not reuse."""
    User.objects.filter(pk=user.pk).update(tokens_valid_after=timezone.now())
    refresh_revoke_all(user_id=user.pk, reason=reason)


def refresh_revoke_all(*, user_id, reason: str | None = None, keep_jti: str | None = None) -> int:
    """Blacklist every outstanding refresh token of a user (but `keep_jti`). With a `reason`, the
    revocation is on purpose and recorded as such; without one it answers reuse."""
    outstanding = OutstandingToken.objects.filter(user_id=user_id).exclude(blacklistedtoken__isnull=False)
    if keep_jti:
        outstanding = outstanding.exclude(jti=keep_jti)
    tokens = list(outstanding)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in tokens], ignore_conflicts=True)
    if reason:
        _record_revocations(user_id=user_id, jtis=[t.jti for t in tokens], reason=reason)
    return len(tokens)


def _record_revocations(*, user_id, jtis: list[str], reason: str) -> None:
    if not user_id:
        return
    RefreshTokenRevocation.objects.bulk_create(
        [RefreshTokenRevocation(jti=jti, user_id=user_id, reason=reason) for jti in jtis if jti],
        ignore_conflicts=True,
    )


def _check_current_password(*, user: User, password: str, request, field: str) -> None:
    """The signed-in user's password, counted and locked like a sign-in (step_up_verify)."""
    if not step_up_verify(user=user, password=password, request=request):
        error = {"code": InvalidPassword.code, "message": InvalidPassword.default_message}
        raise InvalidPassword(fields={field: [error]})


def password_change(*, user: User, current_password: str, new_password: str, request=None) -> dict[str, str]:
    """Change the password of a signed-in user (docs/api-conventions.md#onboarding).

    The current password is checked with the sign-in's lockout rules (a stolen session guessing
    it is locked out like a guesser at sign-in). Every other session is signed out: all refresh
    tokens revoked, every access token issued before now refused. The caller gets a fresh token
    pair, so this device stays signed in."""
    _check_current_password(user=user, password=current_password, request=request, field="current_password")
    try:
        password_validation.validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.error_list}) from exc
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        tokens_revoke_all(user=user, reason=RevocationReason.PASSWORD_CHANGE)
        audit_log(request, AuditAction.UPDATE, user, actor=user, detail="password")
    user.refresh_from_db(fields=["tokens_valid_after"])
    refresh = PracticeRefreshToken.for_user(user)
    cutoff_us = epoch_us(user.tokens_valid_after)
    if refresh[ISSUED_AT_US_CLAIM] <= cutoff_us:  # the same microsecond as the cut-off (a frozen clock)
        refresh[ISSUED_AT_US_CLAIM] = cutoff_us + 1
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def account_deactivate(*, user: User, password: str, reason: str = "", request=None) -> AccountDeletionRequest:
    """A patient's account deletion request: deactivation under records retention
    (docs/account-deletion.md). The account can no longer sign in, every token is revoked, and
    the request is recorded; clinical records (visits, prescriptions, consents, the audit trail)
    are kept, as the law on medical records requires."""
    _check_current_password(user=user, password=password, request=request, field="password")
    with transaction.atomic():
        deletion = AccountDeletionRequest.objects.create(user=user, reason=reason)
        user.is_active = False
        user.save(update_fields=["is_active"])
        tokens_revoke_all(user=user, reason=RevocationReason.ACCOUNT_DEACTIVATED)
        audit_log(request, AuditAction.UPDATE, user, actor=user, detail="account_deactivated")
    logger.info("account deactivated on request user_id=%s", user.pk)
    return deletion


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
    # The owner proved the mailbox: a lock someone else caused on this account ends now.
    lockout_clear_account(email=user.email)
    return user
