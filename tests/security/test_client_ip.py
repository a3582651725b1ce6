"""One client-IP rule (api/client_ip.py) for throttles, the sign-in lockout and the audit trail:
X-Forwarded-For counts only as far as TRUSTED_PROXY_COUNT of our own proxies wrote it."""

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import AuditEvent
from api.client_ip import client_ip

pytestmark = pytest.mark.django_db

CASES = [
    # (trusted proxies, REMOTE_ADDR, X-Forwarded-For, expected client)
    (0, "198.51.100.1", None, "198.51.100.1"),
    (0, "198.51.100.1", "10.0.0.1", "198.51.100.1"),  # no proxy: the header is the client's own words
    (1, "10.0.0.2", "203.0.113.5", "203.0.113.5"),  # one load balancer appended the client
    (1, "10.0.0.2", "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # a client-written prefix is ignored
    (2, "10.0.0.3", "6.6.6.6, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
    (2, "10.0.0.3", "203.0.113.5", "203.0.113.5"),  # fewer entries than proxies: the leftmost
    (1, "10.0.0.2", None, "10.0.0.2"),
]


def _request(remote, forwarded):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(("proxies", "remote", "forwarded", "expected"), CASES)
def test_client_ip_believes_only_what_trusted_proxies_wrote(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    request = _request(remote, forwarded)
    assert client_ip(request) == expected
    # DRF's throttles identify the client by the same rule.
    assert ScopedRateThrottle().get_ident(Request(request)) == expected


def test_throttles_are_configured_from_the_same_count():
    from django.conf import settings

    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.TRUSTED_PROXY_COUNT == 0
    assert settings.AXES_CLIENT_IP_CALLABLE == "api.client_ip.axes_client_ip"


def test_a_password_reset_throttle_cannot_be_dodged_by_rotating_x_forwarded_for(anon_client, monkeypatch):
    """The finding: with no proxy count, DRF keyed throttles on the whole header."""
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})
    cache.clear()
    statuses = [
        anon_client.post(
            "/api/v1/auth/password-reset/",
            {"email": "someone@example.test"},
            REMOTE_ADDR="198.51.100.20",
            HTTP_X_FORWARDED_FOR=f"10.1.{i}.1",
        ).status_code
        for i in range(5)
    ]
    assert statuses == [202, 202, 202, 429, 429]


def test_lockout_and_audit_record_the_same_address_as_throttles(anon_client, patient, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    forwarded = "6.6.6.6, 203.0.113.44"
    anon_client.post(
        "/api/v1/auth/token/",
        {"email": patient.email, "password": "Wrong-password-123"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    assert AccessAttempt.objects.get().ip_address == "203.0.113.44"
    anon_client.post(
        "/api/v1/auth/register/",
        {"email": "new.one@example.test", "password": "A-long-passphrase-77"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    assert AuditEvent.objects.get(detail="registration").ip_address == "203.0.113.44"


def test_the_setting_is_documented_for_operators():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    assert "TRUSTED_PROXY_COUNT=0" in (root / ".env.example").read_text()
    assert "TRUSTED_PROXY_COUNT" in (root / "docs" / "security.md").read_text()
