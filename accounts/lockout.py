"""Sign-in lockout policy on django-axes (docs/security.md#lockout).

Three rules, each with its own limit within the cool-off window (AXES_COOLOFF_TIME):

- one address guessing one account (the pair): LOCKOUT_PAIR_FAILURES (AXES_FAILURE_LIMIT, 5);
- one account from any number of addresses: LOCKOUT_ACCOUNT_FAILURES (10);
- one address across any number of accounts: LOCKOUT_IP_FAILURES (20).

axes compares one number with one limit, so the handler reports, for the worst rule, its failures
scaled to the pair limit: the scaled value reaches the pair limit exactly when that rule's own
count reaches its own limit.

A lockout cannot be stretched: failures while locked are not recorded
(AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False), so a lock ends one cool-off after the
failure that set it, and a password reset (which proves the mailbox) clears the account's
failures at once. A successful sign-in clears the failures of that account only: it never
clears an address's count, or an attacker with one valid account could keep resetting the
per-address rule between guesses.
"""

from __future__ import annotations

import hashlib

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit, get_lockout_parameters
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpResponse, JsonResponse

from accounts.errors import AccountLocked
from api.exceptions import envelope


def normalise_username(value) -> str | None:
    if not value:
        return None
    return str(value).strip().lower() or None


def lockout_username(request, credentials) -> str | None:
    """AXES_USERNAME_CALLABLE: the account a sign-in names, whatever the caller called the field.

    The API authenticates with `username=` (Django's ModelBackend argument), the admin's form posts
    `username`, and the user model's USERNAME_FIELD is `email`: axes's default read the last one
    only, so every failure was recorded without an account and only the per-address rule worked.
    """
    credentials = credentials or {}
    for key in ("username", "email"):
        if credentials.get(key):
            return normalise_username(credentials[key])
    data = getattr(request, "data", None) or getattr(request, "POST", {})
    for key in ("username", "email"):
        try:
            value = data.get(key)
        except AttributeError:
            value = None
        if value:
            return normalise_username(value)
    return None


def client_str(username, ip_address, user_agent, path_info, request) -> str:
    """AXES_CLIENT_STR_CALLABLE: axes logs every failure; an email is PHI, so log a digest of it."""
    digest = hashlib.sha256((username or "").encode("utf-8")).hexdigest()[:12] if username else "-"
    return f"account={digest} ip={ip_address} path={path_info}"


def _limit_for(parameter) -> int:
    names = {parameter} if isinstance(parameter, str) else set(parameter)
    if names == {"username"}:
        return settings.LOCKOUT_ACCOUNT_FAILURES
    if names == {"ip_address"}:
        return settings.LOCKOUT_IP_FAILURES
    return settings.AXES_FAILURE_LIMIT  # the pair (and anything else) uses the base limit


class LockoutPolicyHandler(AxesDatabaseHandler):
    """axes's database handler with a limit per rule (module docstring)."""

    def get_failures(self, request, credentials=None) -> int:
        base = get_failure_limit(request, credentials)
        parameters = get_lockout_parameters(request, credentials)
        worst = 0
        for parameter, attempts in zip(parameters, self.get_user_attempts(request, credentials), strict=True):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            worst = max(worst, failures * base // _limit_for(parameter))
        return worst

    def reset_user_attempts(self, request, credentials=None) -> int:
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def lockout_clear_account(*, email: str) -> int:
    """Forget an account's failures (the owner proved the mailbox with a password reset)."""
    username = normalise_username(email)
    if not username:
        return 0
    count, _ = AccessAttempt.objects.filter(username=username).delete()
    return count


def lockout_response(request, original_response=None, credentials=None):
    """The lockout answer: the API's JSON envelope for the apps, a plain page for the admin."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            envelope(AccountLocked.code, AccountLocked.default_message), status=AccountLocked.status_code
        )
    return HttpResponse(AccountLocked.default_message, status=AccountLocked.status_code, content_type="text/plain")
