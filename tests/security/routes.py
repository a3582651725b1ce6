"""Every route of the project, enumerated from the URL resolver (so a new route is seen at once)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    pattern: str  # e.g. "api/v1/appointments/<uuid:public_id>/cancel/"
    name: str | None  # namespaced, e.g. "v1:appointment-cancel"
    callback: object

    @property
    def view_class(self):
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/v1/")

    @property
    def methods(self) -> list[str]:
        cls = self.view_class
        if cls is None:
            return ["GET", "POST"]
        actions = getattr(self.callback, "actions", None)  # viewsets
        if actions:
            return sorted(m.upper() for m in actions)
        return sorted(m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m))


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}{p.namespace}:"
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}{p.name}" if p.name else None
            yield Route(prefix + str(p.pattern), name, p.callback)


def project_routes() -> list[Route]:
    """All routes except the Django admin's own (the admin has its own permission system)."""
    return [r for r in _walk(get_resolver().url_patterns) if not r.pattern.startswith("admin/")]
