"""The one extension point through which apps ABOVE scheduling add columns to the caseload.

The physician's caseload (`GET /api/v1/physician/caseload/`) is built here, below `treatment`
(sessions, supply) and `outcomes` (headache days, responders), which it must never import. Those
apps publish a `CaseloadColumns` provider each, and `settings.SCHEDULING_CASELOAD_COLUMNS` lists
the dotted paths of the providers, loaded with `import_string` (docs/treatment.md#caseload,
docs/outcomes.md#caseload):

    SCHEDULING_CASELOAD_COLUMNS = [
        "treatment.caseload.COLUMNS",   # last_session_at, sessions_last_28_days, doses_left, ...
        "outcomes.caseload.COLUMNS",    # headache_days_last_28, baseline_headache_days, ...
    ]

A provider answers for a whole page of patients in a fixed number of queries (whatever the page
size) and declares its columns as DRF fields, so the serializer, the OpenAPI schema and the fast
path (`serializers.caseload_row_data`) carry them without scheduling naming them. Every column is
nullable: a patient the provider knows nothing about (or a provider switched off) reads `null`.

The caseload is a read model (scheduling/caseload.py, docs/caseload.md): a provider also names
the models its columns are computed from (`inputs`: a save or delete of one marks the patient's
row stale) and, when its columns change with the clock at other instants than a local midnight,
when they next do (`valid_until`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class CaseloadColumns:
    """`fields()` returns {column name: a fresh DRF serializer field (allow_null=True)};
    `load(*, patient_ids, now)` returns {patient id: {column name: value}} in a fixed number of
    queries (values as the field's `to_representation` accepts them; the read model stores that
    representation and hands it to `to_representation` again, which must return it unchanged).

    `inputs`: ("app_label.Model", "dotted.path.to.patient_id") pairs: the models whose rows the
    columns are computed from. `valid_until(*, patient_ids, now)`: {patient id: the first
    instant after `now` at which a column changes without any write} (absent: not before the
    next local midnight, which every row already expires at), in a fixed number of queries."""

    fields: Callable[[], dict]
    load: Callable[..., dict[int, dict]]
    inputs: tuple[tuple[str, str], ...] = ()
    valid_until: Callable[..., dict[int, datetime]] | None = None


def providers() -> list[CaseloadColumns]:
    return [import_string(path) for path in getattr(settings, "SCHEDULING_CASELOAD_COLUMNS", [])]


def fields() -> dict:
    """Every provider's columns, in the order of the setting (a later provider cannot replace an
    earlier column)."""
    result: dict = {}
    for provider in providers():
        for name, field in provider.fields().items():
            result.setdefault(name, field)
    return result


def load(*, patient_ids: list[int], now: datetime) -> dict[int, dict]:
    """{patient id: {column: value}} from every provider; an empty page asks nobody."""
    result: dict[int, dict] = {pid: {} for pid in patient_ids}
    if not patient_ids:
        return result
    for provider in providers():
        columns = provider.load(patient_ids=list(patient_ids), now=now)
        for pid in patient_ids:
            for name, value in (columns.get(pid) or {}).items():
                result[pid].setdefault(name, value)
    return result


def valid_until(*, patient_ids: list[int], now: datetime) -> dict[int, datetime]:
    """{patient id: the earliest instant any provider's columns change by the clock alone}."""
    result: dict[int, datetime] = {}
    if not patient_ids:
        return result
    for provider in providers():
        if provider.valid_until is None:
            continue
        for pid, instant in provider.valid_until(patient_ids=list(patient_ids), now=now).items():
            if instant is not None and (pid not in result or instant < result[pid]):
                result[pid] = instant
    return result


def inputs() -> list[tuple[str, str]]:
    """Every provider's input models, each once."""
    seen: dict[tuple[str, str], None] = {}
    for provider in providers():
        for pair in provider.inputs:
            seen.setdefault(tuple(pair), None)
    return list(seen)
