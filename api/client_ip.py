"""The client's IP address, one rule for throttles, the sign-in lockout and the audit trail.

`X-Forwarded-For` is written by whoever sends the request: only the entries appended by our own
proxies can be believed. With `TRUSTED_PROXY_COUNT = n` (default 0, docs/security.md#client-ip)
the client is the n-th entry from the right of the header (the address our outermost proxy saw);
with 0 the header is ignored and the client is the socket's peer (`REMOTE_ADDR`). Anything a
client prepends to the header stays to the left of that entry and changes nothing.

DRF's throttles compute their own identity with the same rule from `NUM_PROXIES`, which settings
set from the same value; `tests/security/test_client_ip.py` pins that the three agree.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _valid(value: str) -> str | None:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The address of the client of `request` (a Django or DRF request), or None without one."""
    if request is None:
        return None
    meta = getattr(request, "META", None)
    if meta is None:
        return None
    remote = meta.get("REMOTE_ADDR") or None
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if count <= 0 or not forwarded:
        return remote
    entries = forwarded.split(",")
    # Fewer entries than trusted proxies: a proxy did not append (misconfiguration); the leftmost
    # is then the best guess, as DRF does.
    chosen = entries[-min(count, len(entries))]
    return _valid(chosen) or remote


def axes_client_ip(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: django-axes locks the same address the throttles count."""
    return client_ip(request)
