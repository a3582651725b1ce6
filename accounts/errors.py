from api.errors import DomainError


class InvalidCredentials(DomainError):
    status_code = 401
    code = "invalid_credentials"
    default_message = "Email or password is incorrect."


class AccountLocked(DomainError):
    status_code = 429
    code = "account_locked"
    default_message = "Too many failed sign-in attempts. Try again later or reset your password."


class EmailUnavailable(DomainError):
    code = "email_unavailable"
    default_message = "This email cannot be used to register."


class TokenInvalid(DomainError):
    status_code = 401
    code = "token_not_valid"
    default_message = "The token is invalid or expired."


class TokenReused(DomainError):
    status_code = 401
    code = "token_reused"
    default_message = "This refresh token was already used. All sessions have been signed out."


class InvalidResetToken(DomainError):
    code = "invalid_reset_token"
    default_message = "This password reset link is invalid or has expired."


class TokenRevoked(DomainError):
    status_code = 401
    code = "token_revoked"
    default_message = "This session was signed out. Sign in again."


class InvalidPassword(DomainError):
    """A signed-in user's current password did not match (counted like a failed sign-in)."""

    status_code = 400
    code = "invalid_password"
    default_message = "The current password is incorrect."
