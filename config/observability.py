"""Error reporting to Sentry, switched on by SENTRY_DSN (docs/deploying.md#errors).

Nothing that identifies a patient leaves for Sentry: send_default_pii is off (no user emails, IP
addresses, cookies or request bodies), local variables are not captured, and `scrub_event` runs
last on every event: it keeps the exception types, stack frames (file, line, function), the route,
the request id and the user's numeric id, and drops every message, request payload, header, query
string and breadcrumb datum that could quote a row.
"""

from __future__ import annotations

from typing import Any

SCRUBBED = "[scrubbed]"
_KEPT_HEADERS = {"x-request-id", "user-agent", "content-type"}


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    for exc in (event.get("exception") or {}).get("values") or []:
        if exc.get("value"):
            exc["value"] = SCRUBBED  # an exception's message may quote a value (IntegrityError...)
        for frame in (exc.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
        headers = request.get("headers") or {}
        request["headers"] = {k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS}
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    for crumb in (event.get("breadcrumbs") or {}).get("values") or []:
        crumb.pop("data", None)
    event.pop("extra", None)
    return event


def init_sentry(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(monitor_beat_tasks=False),
            LoggingIntegration(event_level=None),  # errors come from exceptions, not log lines
        ],
    )
