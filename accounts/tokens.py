"""JWTs with a sub-second issue time.

A JWT's `iat` is whole seconds, so a revocation cut-off (`User.tokens_valid_after`) could not tell
a token minted just before it from one minted just after, within the same second: tokens minted by
a refresh that raced a reuse detection stayed valid. Our tokens also carry `iat_us`, the issue time
in microseconds since the epoch, on the same clock as the cut-off; the access token made from a
refresh token copies it.
"""

from __future__ import annotations

from rest_framework_simplejwt.tokens import RefreshToken

ISSUED_AT_US_CLAIM = "iat_us"


def epoch_us(moment) -> int:
    return int(moment.timestamp() * 1_000_000)


class PracticeRefreshToken(RefreshToken):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.token is None:  # a new token, not a decoded one
            self.payload[ISSUED_AT_US_CLAIM] = epoch_us(self.current_time)


def issued_before(payload, cutoff) -> bool:
    """True when the token was issued at or before `cutoff` (so a revocation covers it).

    With `iat_us`, to the microsecond; a token without it (minted elsewhere, or before this
    claim existed) is judged on whole seconds, and the cut-off's own second counts as revoked.
    """
    if cutoff is None:
        return False
    precise = payload.get(ISSUED_AT_US_CLAIM)
    if isinstance(precise, int):
        return precise <= epoch_us(cutoff)
    return int(payload.get("iat", 0)) <= int(cutoff.timestamp())
