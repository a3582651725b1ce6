"""JWT authentication that honours revocation.

simplejwt's access tokens are self-contained, so a plain logout leaves the access token usable
until it expires. Two revocations close that gap: a per-token denylist (logout revokes the
access token presented with it, until its expiry) and a per-user cut-off (`tokens_valid_after`,
set on password reset and refresh-token reuse) that refuses every token issued before it.
The user row is loaded on every request anyway, so the cut-off costs no extra query.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.cache import cache
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts.tokens import issued_before

_DENY_PREFIX = "jwt-denied:"


def deny_access_token(jti: str, expires_at: int) -> None:
    ttl = max(1, int(expires_at - datetime.now(UTC).timestamp()))
    cache.set(f"{_DENY_PREFIX}{jti}", 1, timeout=ttl)


class RevocableJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        if cache.get(f"{_DENY_PREFIX}{token.get('jti')}"):
            raise InvalidToken({"detail": "Token has been revoked.", "code": "token_not_valid"})
        return token

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if issued_before(validated_token.payload, user.tokens_valid_after):
            raise InvalidToken({"detail": "Token has been revoked.", "code": "token_not_valid"})
        return user
