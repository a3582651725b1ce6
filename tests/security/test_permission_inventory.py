"""Every view states its permission explicitly, and anonymous access is an explicit, short list."""

from types import SimpleNamespace

import pytest
from rest_framework.permissions import AllowAny

from accounts import permissions as perms
from accounts import scopes
from tests.security.routes import project_routes

# Routes anyone may call without signing in, and why. Adding to this list is a security decision.
PUBLIC = {
    "healthz": "health check for the load balancer",
    "livez": "liveness probe: says only that the process is up (docs/deploying.md#health)",
    "readyz": "readiness probe: names of dependencies and ok/unavailable, no data (docs/deploying.md#health)",
    "metrics": "Prometheus scrape: answers only the METRICS_TOKEN bearer, 404 otherwise (docs/deploying.md#metrics)",
    "schema": "the OpenAPI contract",
    "api-docs": "interactive docs of the contract",
    "v1:auth-register": "patients register themselves",
    "v1:auth-login": "sign in",
    "v1:auth-refresh": "token rotation (the refresh token is the credential)",
    "v1:auth-logout": "logout (the refresh token is the credential)",
    "v1:auth-password-reset": "password reset request",
    "v1:auth-password-reset-confirm": "password reset with the emailed code",
    "v1:service-area-check": "public 'do you serve my ZIP' check",
    "v1:service-area-counties": "public county list for the ZIP picker",
    "v1:appointment-types": "public list of the kinds of visit with duration and price (no PHI)",
    "v1:visit-locations": "public list of the practice's offices for in-person visits (no PHI)",
    "v1:assessment-create": "free eligibility assessment (no account)",
    "v1:availability": "open slots, for a prospective patient from the assessment too (no PHI)",
    "v1:availability-days": "the day strip of those open slots (no PHI)",
    "stripe-webhook": "Stripe webhook (signature-verified)",
    "easypost-webhook": "EasyPost webhook (signature-verified)",
    "erx-webhook": "e-prescribing vendor webhook (shared secret verified)",
    "twilio-sms-webhook": "Twilio inbound SMS webhook for STOP/START (X-Twilio-Signature verified)",
    "fhir-metadata": "the FHIR CapabilityStatement: what the server supports (no PHI)",
    "v1:record-export-download": "record export download: the short-lived signed link is the credential",
}


# Routes that may let every back-office role in with a broad role class (IsPracticeStaff,
# IsPhysicianOrStaff, IsCareTeamOrPatient), and why. Anything serving patient data names the
# capability it serves instead (accounts.permissions.Sees..., docs/roles-and-access.md), so a
# pharmacy liaison or an administrator does not inherit it by accident.
BROAD = {
    "v1:medication-list": "the active medication catalogue: no patient data",
    "v1:pharmacy-list": "pharmacies and the states they may ship to: no patient data",
}
_BROAD_CLASSES = (perms.IsPracticeStaff, perms.IsPhysicianOrStaff, perms.IsCareTeamOrPatient)


def _explicit_owner(cls, attribute: str):
    for klass in cls.__mro__:
        if attribute in klass.__dict__:
            return klass
    return None


def _is_project_class(klass) -> bool:
    return klass is not None and not klass.__module__.startswith(("rest_framework", "drf_spectacular"))


def _permissions(cls, method: str) -> list:
    """The permission instances the view really uses for `method` (honours get_permissions)."""
    view = cls()
    view.request, view.args, view.kwargs, view.format_kwarg = SimpleNamespace(method=method), (), {}, None
    return view.get_permissions()


@pytest.mark.parametrize("route", project_routes(), ids=lambda r: r.name or r.pattern)
def test_every_route_is_named(route):
    assert route.name, f"route {route.pattern} has no name: the security matrix keys on names"


@pytest.mark.parametrize(
    "route",
    [r for r in project_routes() if r.view_class is not None and hasattr(r.view_class, "permission_classes")],
    ids=lambda r: r.name or r.pattern,
)
def test_every_api_view_declares_its_permissions(route):
    cls = route.view_class
    declared = _is_project_class(_explicit_owner(cls, "permission_classes")) or _is_project_class(
        _explicit_owner(cls, "get_permissions")
    )
    assert declared or route.name in {"schema", "api-docs"}, (
        f"{route.name}: {cls.__name__} relies on the default permission classes; declare them"
    )
    for method in route.methods:
        permissions = _permissions(cls, method)
        allows_anonymous = not permissions or any(isinstance(p, AllowAny) for p in permissions)
        if allows_anonymous and route.name not in {"schema", "api-docs"}:
            assert route.name in PUBLIC, f"{route.name} {method} allows anonymous access but is not on the public list"


def test_public_list_has_no_stale_entries():
    names = {r.name for r in project_routes()}
    stale = {n for n in PUBLIC if n not in names}
    assert not stale, f"public entries for routes that no longer exist: {stale}"


@pytest.mark.parametrize(
    "route",
    [r for r in project_routes() if r.view_class is None or not hasattr(r.view_class, "permission_classes")],
    ids=lambda r: r.name or r.pattern,
)
def test_plain_django_views_are_on_the_public_list(route):
    # Plain Django views (health, webhooks) have no DRF permission layer: each must be a
    # deliberate public entry that checks its own credential (a signature) or holds no data.
    assert route.name in PUBLIC, f"{route.name or route.pattern} is a plain Django view but not on the public list"


@pytest.mark.parametrize(
    "route",
    [r for r in project_routes() if r.view_class is not None and hasattr(r.view_class, "permission_classes")],
    ids=lambda r: r.name or r.pattern,
)
def test_back_office_routes_name_the_capability_they_serve(route):
    for method in route.methods:
        broad = [type(p).__name__ for p in _permissions(route.view_class, method) if isinstance(p, _BROAD_CLASSES)]
        assert not broad or route.name in BROAD, (
            f"{route.name} {method} lets every back-office role in ({broad}): use the accounts.permissions "
            "class of the capability it serves, or add it to BROAD with the reason it holds no patient data"
        )


def test_broad_list_has_no_stale_entries():
    names = {r.name for r in project_routes()}
    assert not {n for n in BROAD if n not in names}


CAPABILITY_CLASSES = [
    cls
    for cls in vars(perms).values()
    if isinstance(cls, type) and issubclass(cls, perms._CapabilityPermission) and cls is not perms._CapabilityPermission
]


def _user(role: str):
    from accounts.models import Role, StaffRole, User

    if role in {r.value for r in StaffRole}:
        return User(role=Role.STAFF, staff_role=role, is_active=True)
    return User(role=role, is_active=True)


@pytest.mark.parametrize("permission", CAPABILITY_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("role", scopes.ACCESS_ROLES)
def test_capability_routes_let_in_exactly_the_roles_of_the_table_and_answer_404_to_the_others(permission, role):
    from types import SimpleNamespace

    from api.errors import NotFound

    request = SimpleNamespace(user=_user(role))
    allowed = scopes.reach(request.user, permission.capability) in permission.reaches
    if allowed:
        assert permission().has_permission(request, None) is True
    else:
        with pytest.raises(NotFound):
            permission().has_permission(request, None)
