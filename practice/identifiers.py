"""Check digits of physicians' identifiers (docs/credentials.md#identifiers). Pure functions, no Django models."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_NPI_RE = re.compile(r"^[12]\d{9}$")
_DEA_RE = re.compile(r"^[A-Z][A-Z9]\d{7}$")


def _luhn_check_digit(payload: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # the rightmost payload digit is doubled (the check digit will sit to its right)
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def npi_is_valid(value: str) -> bool:
    """10 digits, first 1 or 2, Luhn check digit over "80840" + the first nine (CMS NPI standard)."""
    if not isinstance(value, str) or not _NPI_RE.match(value):
        return False
    return _luhn_check_digit("80840" + value[:9]) == int(value[9])


def npi_check_digit(first_nine: str) -> str:
    return str(_luhn_check_digit("80840" + first_nine))


def dea_format_ok(value: str) -> bool:
    """A letter, then a letter or 9, then 7 digits."""
    return isinstance(value, str) and bool(_DEA_RE.match(value))


def dea_checksum_ok(value: str) -> bool:
    """(d1+d3+d5) + 2*(d2+d4+d6) ends in d7."""
    if not dea_format_ok(value):
        return False
    d = [int(c) for c in value[2:]]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]


def dea_check_digit(first_eight: str) -> str:
    d = [int(c) for c in first_eight[2:]]
    return str((d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10)


def validate_npi(value: str) -> None:
    if not npi_is_valid(value):
        raise ValidationError("Enter a valid 10-digit NPI (its check digit does not match).", code="invalid_npi")


def validate_dea_format(value: str) -> None:
    if not dea_format_ok(value):
        raise ValidationError(
            "A DEA number is two letters (or a letter and 9) then 7 digits.", code="invalid_dea_format"
        )
