"""Shared serializer pieces: the naming rule for ids in answers (docs/api-conventions.md#ids).

`id` is the resource's own public id; a reference to another resource is `<name>_id`. Answers
written before the rule name some references without the suffix (`patient`, `physician`, each a
UUID). `ReferenceIdsMixin` adds the `<name>_id` twin of each such field (the same value), and the
schema hook `mark_deprecated_reference_names` marks the old name deprecated wherever its twin
exists, so v1 clients keep working while new ones use the rule.
"""

from __future__ import annotations

import copy

from rest_framework import serializers


def _is_unsuffixed_reference(name: str, field) -> bool:
    source = str(getattr(field, "source", None) or "")
    return (
        name != "id"
        and not name.endswith("_id")
        and isinstance(field, serializers.UUIDField)
        and source.endswith(".public_id")
    )


class ReferenceIdsMixin:
    """Adds `<name>_id` beside every UUID reference field named `<name>` (source `<name>.public_id`)."""

    def get_fields(self):
        fields = super().get_fields()
        for name, field in list(fields.items()):
            twin = f"{name}_id"
            if twin not in fields and _is_unsuffixed_reference(name, field):
                fields[twin] = copy.deepcopy(field)
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
