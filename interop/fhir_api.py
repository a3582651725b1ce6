"""The FHIR R4 read API: /fhir/r4/metadata, /fhir/r4/<Type> (search), /fhir/r4/<Type>/<id> (read).

Same authentication (JWT bearer) and the same scopes as the JSON API (interop/selectors.py);
answers are `application/fhir+json`, errors FHIR OperationOutcome resources with the HTTP status
of the JSON API (outside scope: 404). Every resource read is audited, one row per record.
docs/fhir.md.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_log
from accounts.models import AuditAction
from api.clock import practice_zone
from api.errors import DomainError, NotFound
from api.exceptions import exception_handler as api_exception_handler
from interop import codes
from interop.resources import validated
from interop.selectors import TYPES, DateBound, ResourceType, Search

FHIR_JSON = "application/fhir+json"
MAX_COUNT = 100
DEFAULT_COUNT = 20
TAGS = ["fhir"]


class FhirJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


class FhirNegotiation(BaseContentNegotiation):
    """Always FHIR JSON (whatever Accept says: application/json clients get it too)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class BadSearch(DomainError):
    status_code = 400
    code = "invalid_search"
    default_message = "A search parameter is invalid."


_ISSUE_CODE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    429: "throttled",
}


def operation_outcome(status_code: int, message: str, code: str = "") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status_code < 500 else "fatal",
                "code": _ISSUE_CODE.get(status_code, "exception"),
                "details": {
                    "text": message,
                    **({"coding": [{"system": f"{codes.LOCAL_BASE}/error", "code": code}]} if code else {}),
                },
                "diagnostics": message,
            }
        ],
    }


def fhir_exception_handler(exc, context):
    """The JSON API's handler (codes, rollback), its envelope re-dressed as an OperationOutcome."""
    response = api_exception_handler(exc, context)
    if response is not None:
        body = response.data if isinstance(response.data, dict) else {}
        response.data = operation_outcome(response.status_code, str(body.get("message", "")), str(body.get("code", "")))
    return response


class ReadsFhirType(BasePermission):
    """Signed in, and the resource type is within the viewer's reach (interop/selectors.py);
    else 404, like a record outside scope. Anonymous: 401."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if view.resource.visible(user):
            return True
        raise NotFound()


class _FhirView(APIView):
    renderer_classes = [FhirJSONRenderer]
    content_negotiation_class = FhirNegotiation
    resource: ResourceType

    def get_exception_handler(self):
        return fhir_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


# --- search parameters --------------------------------------------------------------------------
_PREFIXES = ("eq", "ge", "gt", "le", "lt")


def parse_date_bound(raw: str) -> DateBound:
    prefix, value = ("eq", raw)
    if raw[:2] in _PREFIXES and not raw[:2].isdigit():
        prefix, value = raw[:2], raw[2:]
    zone = practice_zone()
    try:
        if len(value) == 4:
            start_day = date(int(value), 1, 1)
            end_day = date(int(value) + 1, 1, 1)
        elif len(value) == 7:
            start_day = date.fromisoformat(f"{value}-01")
            end_day = (start_day + timedelta(days=32)).replace(day=1)
        elif len(value) == 10:
            start_day = date.fromisoformat(value)
            end_day = start_day + timedelta(days=1)
        else:
            instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if instant.tzinfo is None:
                raise ValueError("no zone")
            return DateBound(prefix, instant, instant + timedelta(seconds=1))
    except ValueError:
        raise BadSearch(
            "Use date=[eq|ge|gt|le|lt]YYYY, YYYY-MM, YYYY-MM-DD or a date-time with its offset.",
            fields={"date": [{"code": "invalid_date", "message": "Invalid date."}]},
        ) from None
    return DateBound(
        prefix,
        datetime.combine(start_day, datetime.min.time(), tzinfo=zone),
        datetime.combine(end_day, datetime.min.time(), tzinfo=zone),
    )


def _int_param(request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadSearch(
            f"{name} must be a whole number.", fields={name: [{"code": "invalid", "message": "Not a number."}]}
        ) from None
    if value < 0:
        raise BadSearch(f"{name} cannot be negative.", fields={name: [{"code": "min_value", "message": "Negative."}]})
    return min(value, maximum) if maximum is not None else value


def _list(request, name: str) -> list[str]:
    return [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]


def parse_search(request) -> Search:
    params = request.query_params
    patient = params.get("patient") or params.get("subject")
    return Search(
        patient=patient if patient is not None else None,
        ids=_list(request, "_id"),
        dates=[parse_date_bound(v) for v in params.getlist("date") + params.getlist("authoredon") if v],
        statuses=_list(request, "status"),
        codes=_list(request, "code"),
        categories=_list(request, "category"),
        count=_int_param(request, "_count", DEFAULT_COUNT, MAX_COUNT),
        offset=_int_param(request, "_offset", 0),
    )


def _audit(request, resource: ResourceType, objects: list, detail: str) -> None:
    for object_type, group in resource.audit_groups(objects):
        if group:
            audit_log(request, AuditAction.READ, *group, detail=detail, object_type=object_type)


def _base(request) -> str:
    return request.build_absolute_uri("/fhir/r4")


def searchset(request, resource: ResourceType, search: Search, total: int, objects: list) -> dict:
    base = _base(request)
    kept = [(k, v) for k, values in request.query_params.lists() for v in values if k != "_offset"]

    def link(relation: str, offset: int) -> dict:
        query = urlencode([*kept, ("_offset", offset)] if offset else kept)
        return {"relation": relation, "url": f"{base}/{resource.name}" + (f"?{query}" if query else "")}

    links = [link("self", search.offset)]
    if search.count and search.offset + search.count < total:
        links.append(link("next", search.offset + search.count))
    if search.offset > 0:
        links.append(link("previous", max(search.offset - (search.count or DEFAULT_COUNT), 0)))
    entries = []
    for obj in objects:
        data = resource.build(obj)
        entries.append(
            {"fullUrl": f"{base}/{resource.name}/{data['id']}", "resource": data, "search": {"mode": "match"}}
        )
    return {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": entries}


# --- schema helpers -----------------------------------------------------------------------------
class OperationOutcomeIssueSerializer(serializers.Serializer):
    severity = serializers.CharField()
    code = serializers.CharField(help_text="invalid, login, not-found, throttled, ...")
    diagnostics = serializers.CharField()
    details = serializers.DictField()


class OperationOutcomeSerializer(serializers.Serializer):
    """A FHIR OperationOutcome: every error of the FHIR API (application/fhir+json)."""

    resourceType = serializers.CharField(default="OperationOutcome")
    issue = OperationOutcomeIssueSerializer(many=True)


class FhirResourceSerializer(serializers.Serializer):
    """A FHIR R4B resource (validated by fhir.resources); its full shape is the FHIR specification's."""

    resourceType = serializers.CharField()
    id = serializers.CharField(required=False, help_text="Absent on the CapabilityStatement.")


class FhirBundleSerializer(serializers.Serializer):
    """A FHIR Bundle (searchset with paging links, or the export's collection)."""

    resourceType = serializers.CharField(default="Bundle")
    type = serializers.CharField()
    total = serializers.IntegerField(required=False)
    link = serializers.ListField(child=serializers.DictField(), required=False)
    entry = serializers.ListField(child=serializers.DictField())


def fhir_errors(*statuses: int) -> dict:
    return {
        (s, FHIR_JSON): OpenApiResponse(OperationOutcomeSerializer, description=f"OperationOutcome ({s}).")
        for s in statuses
    }


_SEARCH_PARAMETERS = [
    OpenApiParameter("patient", str, description="Patient/<id> or <id> (also `subject`)."),
    OpenApiParameter("_id", str, description="Resource ids, comma-separated."),
    OpenApiParameter("date", str, many=True, description="[eq|ge|gt|le|lt]YYYY[-MM[-DD]] or a date-time; repeatable."),
    OpenApiParameter("status", str, description="FHIR status codes of the type, comma-separated."),
    OpenApiParameter("_count", int, description=f"Page size (default {DEFAULT_COUNT}, at most {MAX_COUNT})."),
    OpenApiParameter("_offset", int, description="Where the page starts (the Bundle's next/previous links carry it)."),
]
_OBSERVATION_PARAMETERS = [
    OpenApiParameter("code", str, description="LOINC or local code (system|code or code), comma-separated."),
    OpenApiParameter("category", str, description="survey or vital-signs."),
]


# --- views --------------------------------------------------------------------------------------
class FhirMetadataApi(_FhirView):
    """The CapabilityStatement: public (no PHI), as FHIR clients read it before signing in."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="fhir_metadata",
        responses={
            (200, FHIR_JSON): OpenApiResponse(FhirResourceSerializer, description="CapabilityStatement."),
            **fhir_errors(429),
        },
        tags=TAGS,
        description="What this FHIR R4B server supports: resource types, read and search-type, search parameters.",
    )
    def get(self, request):
        return Response(capability_statement(_base(request)))


def capability_statement(base: str) -> dict:
    common = [
        {"name": "patient", "type": "reference"},
        {"name": "date", "type": "date"},
        {"name": "status", "type": "token"},
        {"name": "_id", "type": "token"},
        {"name": "_count", "type": "number"},
    ]
    resources = []
    for name, resource in TYPES.items():
        params = [
            p for p in common if not (p["name"] == "patient" and resource.patient_field is None and name != "Patient")
        ]
        if name == "Observation":
            params += [{"name": "code", "type": "token"}, {"name": "category", "type": "token"}]
        entry = {
            "type": name,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": params,
            "documentation": f"Who may read: {resource.capability}.",
        }
        profile = codes.PROFILE.get(name)
        if profile:
            entry["supportedProfile"] = [profile]
        resources.append(entry)
    return validated(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-30",
            "kind": "instance",
            "software": {"name": "Practice API FHIR facade"},
            "implementation": {"description": "Read-only FHIR R4B API of the practice", "url": base},
            "fhirVersion": codes.FHIR_VERSION,
            "format": [FHIR_JSON, "json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": "Bearer JWT from /api/v1/auth/token/; scopes as the JSON API (docs/fhir.md).",
                    "security": {"description": "JWT bearer tokens; outside your scope answers 404."},
                    "resource": resources,
                }
            ],
        }
    )


def _search_view(resource: ResourceType):
    parameters = _SEARCH_PARAMETERS + (_OBSERVATION_PARAMETERS if resource.name == "Observation" else [])

    class SearchApi(_FhirView):
        permission_classes = [ReadsFhirType]

        @extend_schema(
            operation_id=f"fhir_{resource.name.lower()}_search",
            parameters=parameters,
            responses={
                (200, FHIR_JSON): OpenApiResponse(FhirBundleSerializer, description="searchset Bundle."),
                **fhir_errors(400, 401, 403, 404, 429),
            },
            tags=TAGS,
            description=f"Search {resource.name} (newest first). Who may read: {resource.capability}. Audited.",
        )
        def get(self, request):
            search = parse_search(request)
            total, objects = self.resource.search(request.user, search)
            bundle = searchset(request, self.resource, search, total, objects)
            _audit(request, self.resource, objects, detail=f"fhir {self.resource.name} search")
            return Response(bundle)

    SearchApi.resource = resource
    SearchApi.__name__ = SearchApi.__qualname__ = f"Fhir{resource.name}SearchApi"
    return SearchApi


def _read_view(resource: ResourceType):
    class ReadApi(_FhirView):
        permission_classes = [ReadsFhirType]

        @extend_schema(
            operation_id=f"fhir_{resource.name.lower()}_read",
            responses={
                (200, FHIR_JSON): OpenApiResponse(FhirResourceSerializer, description=f"A {resource.name}."),
                **fhir_errors(400, 401, 403, 404, 429),
            },
            tags=TAGS,
            description=f"Read one {resource.name}. Who may read: {resource.capability}; else 404. Audited.",
        )
        def get(self, request, resource_id):
            obj = self.resource.get(request.user, resource_id)
            if obj is None:
                raise NotFound()
            data = self.resource.build(obj)
            _audit(request, self.resource, [obj], detail=f"fhir {self.resource.name} read")
            return Response(data)

    ReadApi.resource = resource
    ReadApi.__name__ = ReadApi.__qualname__ = f"Fhir{resource.name}ReadApi"
    return ReadApi


SEARCH_VIEWS = {name: _search_view(resource) for name, resource in TYPES.items()}
READ_VIEWS = {name: _read_view(resource) for name, resource in TYPES.items()}
