"""Shared serializer pieces: the naming rule for ids in answers (docs/api-conventions.md#ids).

`id` is the resource's own public id; a reference to another resource is `<name>_id`. Answers
written before the rule name some references without the suffix (`patient`, `physician`, each a
UUID). `ReferenceIdsMixin` adds the `<name>_id` twin of each such field (the same value), and the
schema hook `mark_deprecated_reference_names` marks the old name deprecated wherever its twin
exists, so v1 clients keep working while new ones use the rule.

The other half of the rule: some answers name the resource's own id `<name>_id` (a safety flag's
`flag_id`, a session's `session_id`: source `public_id`). The mixin adds `id` (first) beside
such a field and marks the old name deprecated in the schema on the field itself
(`extend_schema_field`-style override), since from the schema alone an own `flag_id` cannot be
told from a reference `patient_id`.
"""

from __future__ import annotations

import copy

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def _is_unsuffixed_reference(name: str, field) -> bool:
    source = str(getattr(field, "source", None) or "")
    return (
        name != "id"
        and not name.endswith("_id")
        and isinstance(field, serializers.UUIDField)
        and source.endswith(".public_id")
    )


def _is_own_id_alias(name: str, field) -> bool:
    return (
        name != "id"
        and name.endswith("_id")
        and isinstance(field, serializers.UUIDField)
        and getattr(field, "source", None) == "public_id"
    )


class ReferenceIdsMixin:
    """Adds `<name>_id` beside every UUID reference field named `<name>` (source `<name>.public_id`),
    and `id` beside a field that names the resource's own public id `<name>_id` (found by its
    source `public_id`, or named by the class attribute `own_id`)."""

    own_id: str | None = None

    def get_fields(self):
        fields = super().get_fields()
        for name, field in list(fields.items()):
            twin = f"{name}_id"
            if twin not in fields and _is_unsuffixed_reference(name, field):
                fields[twin] = copy.deepcopy(field)
        # A serializer whose own id does not come straight from `public_id` (an answer built from
        # a dict, or one wrapping the record) names that field in `own_id`.
        declared = getattr(self, "own_id", None)
        aliases = [declared] if declared else [n for n, f in fields.items() if _is_own_id_alias(n, f)]
        if "id" not in fields and len(aliases) == 1:
            alias = fields[aliases[0]]
            own = copy.deepcopy(alias)
            if own.source is None:  # the alias reads the key of its own name: so does `id`
                own.source = aliases[0]
            note = "Deprecated: use `id` (docs/api-conventions.md#ids)."
            alias.help_text = f"{alias.help_text} {note}" if alias.help_text else note
            extend_schema_field({"type": "string", "format": "uuid", "deprecated": True})(alias)
            fields = {"id": own, **fields}
        return fields


def mark_deprecated_reference_names(result, generator, request, public):
    """Schema post-processing: a UUID property `x` beside a `x_id` property is the old name: deprecated."""
    for component in result.get("components", {}).get("schemas", {}).values():
        properties = component.get("properties") or {}
        for name, prop in properties.items():
            if f"{name}_id" in properties and prop.get("format") == "uuid" and not name.endswith("_id"):
                prop["deprecated"] = True
                note = f"Deprecated: use `{name}_id` (docs/api-conventions.md#ids)."
                prop["description"] = f"{prop['description']} {note}" if prop.get("description") else note
    return result
