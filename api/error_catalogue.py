"""The error-code catalogue (docs/errors.md), generated from the code: the schema's operations with
the codes each can answer (api/error_registry.py, api/schema.py) and every DomainError subclass.

`python manage.py error_catalogue` writes it; `--check` fails when the file is stale (a test runs
the same comparison, so CI catches a new code whose catalogue was not regenerated).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from django.conf import settings

from api.error_registry import DISCOVERED, every_domain_error

CATALOGUE_PATH = Path(settings.BASE_DIR) / "docs" / "errors.md"

# The codes DRF and the exception handler answer (api/exceptions.py), with what they mean.
GENERIC_MEANINGS = {
    "validation_error": "Invalid input: `fields` maps each field to [{code, message}].",
    "parse_error": "The body is not valid JSON.",
    "not_authenticated": "No credentials were sent.",
    "authentication_failed": "The credentials were refused.",
    "token_not_valid": "The access token is invalid or expired: refresh it, or sign in again.",
    "permission_denied": "Authenticated, but not allowed to do this.",
    "not_found": "Not found, or outside the caller's scope (existence is never revealed).",
    "method_not_allowed": "This route does not answer that method.",
    "unsupported_media_type": "Send application/json.",
    "throttled": "Too many requests: wait for Retry-After.",
    # Plain Django views (webhooks), documented by hand.
    "invalid_payload": "Signed, but the body is not a Stripe event: nothing stored.",
}

HEADER = """# Error codes

Generated from the code by `python manage.py error_catalogue` (do not edit by hand; a test fails
when this page is stale). Every error answers with one envelope, `{"code", "message", "fields"}`
(refusals add `reasons`: every failing rule as {code, message}); clients switch on `code`, never on
the message. The OpenAPI schema (`/api/schema/`) lists, on each operation's error responses, the
codes that operation can answer (`x-error-codes`): they are discovered from the domain errors its
code raises (api/error_registry.py), so the two cannot drift apart.

| code | HTTP | meaning | raised by | operations |
|---|---|---|---|---|
"""


def _schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def render() -> str:
    statuses: dict[str, set[int]] = defaultdict(set)
    operations: dict[str, set[str]] = defaultdict(set)
    for path, item in _schema()["paths"].items():
        for method, operation in item.items():
            for entry in operation.get("x-error-codes") or []:
                statuses[entry["code"]].add(int(entry["status"]))
                operations[entry["code"]].add(f"{method.upper()} {path}")
    classes: dict[str, set[str]] = defaultdict(set)
    messages: dict[str, set[tuple[str, str]]] = defaultdict(set)  # code -> {(class, message)}
    for code, found in DISCOVERED.items():
        for error in found:
            if error.error_class:
                classes[code].add(error.error_class)
            messages[code].add((error.error_class, " ".join(error.message.split())))
    for cls in every_domain_error():
        path = f"{cls.__module__}.{cls.__qualname__}"
        statuses[cls.code].add(int(cls.status_code))
        classes[cls.code].add(path)
        messages[cls.code].add((path, " ".join(str(cls.default_message).split())))
    meanings = dict(GENERIC_MEANINGS)
    for code, candidates in messages.items():
        meanings.setdefault(code, min(candidates)[1])  # deterministic: the first class's message
    lines = [HEADER]
    for code in sorted(statuses):
        ops = sorted(operations[code])
        if len(ops) > 6:
            where = f"{len(ops)} operations"
        else:
            where = "<br>".join(f"`{op}`" for op in ops) or "(not raised by an API route)"
        raised_by = "<br>".join(f"`{c}`" for c in sorted(classes[code])) or "DRF / exception handler"
        meaning = meanings.get(code, "").replace("|", "\\|")
        http = ", ".join(str(s) for s in sorted(statuses[code]))
        lines.append(f"| `{code}` | {http} | {meaning} | {raised_by} | {where} |\n")
    return "".join(lines)
