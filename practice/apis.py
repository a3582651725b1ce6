"""Thin views: parse, call one service or selector, serialize."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsPhysician, ManagesCredentials
from api.errors import NotFound
from api.pagination import PagePagination
from api.schema import errors
from api.throttling import ScopedRateThrottle
from practice import selectors, serializers
from practice.service_area import resolve_location
from practice.services import credentials


class _PublicApi:
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public_form"


class ServiceAreaCheckApi(_PublicApi, APIView):
    @extend_schema(
        parameters=[serializers.ServiceAreaCheckInput],
        responses={200: serializers.ServiceAreaCheckOutput, **errors(400, 429)},
        tags=["service area"],
        description=(
            "Is this ZIP (and optional county) inside the service area? A well-formed ZIP always answers 200: "
            "`served` false comes with a stable `reason` (`unknown_zip`, `state_not_served`, `county_required`, "
            "`county_not_in_state`) and, when the patient must pick a county, `county_choices`."
        ),
    )
    def get(self, request):
        data = serializers.ServiceAreaCheckInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        county = data.validated_data["county"].strip()
        if county.isdigit():
            result = resolve_location(data.validated_data["zip"], county)
        else:
            result = resolve_location(data.validated_data["zip"], county_name=county or None)
        return Response(serializers.ServiceAreaCheckOutput(result).data)


class CountyListApi(_PublicApi, GenericAPIView):
    pagination_class = PagePagination
    default_page_size = 100  # one page holds a whole state's list (Florida: 67)
    filter_backends: list = []
    serializer_class = serializers.CountyOutput

    @extend_schema(
        parameters=[serializers.CountyListInput],
        responses={200: serializers.CountyOutput(many=True), **errors(400, 429)},
        tags=["service area"],
    )
    def get(self, request):
        data = serializers.CountyListInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.county_list(state=data.validated_data.get("state")))
        return self.get_paginated_response(serializers.CountyOutput(page, many=True).data)


# --- physicians' credentials: staff manage, physicians read their own ----------------------------


class StaffPhysicianListApi(GenericAPIView):
    permission_classes = [ManagesCredentials]
    filter_backends: list = []
    serializer_class = serializers.PhysicianCredentialsOutput

    @extend_schema(responses={200: serializers.PhysicianCredentialsOutput(many=True)}, tags=["staff: physicians"])
    def get(self, request):
        page = self.paginate_queryset(selectors.physician_list(viewer=request.user))
        return self.get_paginated_response(serializers.PhysicianCredentialsOutput(page, many=True).data)

    @extend_schema(
        request=serializers.PhysicianProfileCreateInput,
        responses={201: serializers.PhysicianCredentialsOutput, **errors(400, 404, 409)},
        tags=["staff: physicians"],
        description="Create a physician's profile (NPI, time zone, office, intake cap).",
    )
    def post(self, request):
        data = serializers.PhysicianProfileCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        physician = selectors.physician_get(viewer=request.user, physician_id=fields.pop("physician"))
        credentials.physician_profile_create(actor=request.user, physician=physician, **fields)
        out = selectors.physician_credentials(physician=physician)
        return Response(serializers.PhysicianCredentialsOutput(out).data, status=status.HTTP_201_CREATED)


class StaffPhysicianDetailApi(APIView):
    permission_classes = [ManagesCredentials]

    @extend_schema(responses={200: serializers.PhysicianCredentialsOutput}, tags=["staff: physicians"])
    def get(self, request, physician_id):
        physician = selectors.physician_get(viewer=request.user, physician_id=physician_id)
        return Response(serializers.PhysicianCredentialsOutput(physician).data)

    @extend_schema(
        request=serializers.PhysicianProfileUpdateInput,
        responses={200: serializers.PhysicianCredentialsOutput, **errors(400, 404)},
        tags=["staff: physicians"],
    )
    def patch(self, request, physician_id):
        data = serializers.PhysicianProfileUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        physician = selectors.physician_get(viewer=request.user, physician_id=physician_id)
        profile = getattr(physician, "physician_profile", None)
        if profile is None:
            raise NotFound("This physician has no profile yet: create it first.", code="physician_profile_missing")
        credentials.physician_profile_update(actor=request.user, profile=profile, **data.validated_data)
        out = selectors.physician_credentials(physician=physician)
        return Response(serializers.PhysicianCredentialsOutput(out).data)


class _CredentialCollectionApi(GenericAPIView):
    """GET lists one kind of credential of a physician; POST adds one."""

    permission_classes = [ManagesCredentials]
    filter_backends: list = []
    related_name: str
    create_input: type[drf_serializers.Serializer]
    create_service: Callable[..., Any]

    def get(self, request, physician_id):
        physician = selectors.physician_get(viewer=request.user, physician_id=physician_id)
        page = self.paginate_queryset(list(getattr(physician, self.related_name).all()))
        return self.get_paginated_response(self.serializer_class(page, many=True).data)

    def post(self, request, physician_id):
        data = self.create_input(data=request.data)
        data.is_valid(raise_exception=True)
        physician = selectors.physician_get(viewer=request.user, physician_id=physician_id)
        obj = type(self).create_service(actor=request.user, physician=physician, **data.validated_data)
        return Response(self.serializer_class(obj).data, status=status.HTTP_201_CREATED)


class _CredentialDetailApi(APIView):
    permission_classes = [ManagesCredentials]
    output: type[drf_serializers.Serializer]
    update_input: type[drf_serializers.Serializer]
    getter: Callable[..., Any]
    update_service: Callable[..., Any]
    keyword: str

    def _get(self, request, physician_id, credential_id):
        return type(self).getter(
            viewer=request.user, physician_id=physician_id, **{f"{self.keyword}_id": credential_id}
        )

    def get(self, request, physician_id, credential_id):
        return Response(self.output(self._get(request, physician_id, credential_id)).data)

    def patch(self, request, physician_id, credential_id):
        data = self.update_input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        obj = self._get(request, physician_id, credential_id)
        obj = type(self).update_service(actor=request.user, **{self.keyword: obj}, **data.validated_data)
        return Response(self.output(obj).data)


def _collection_schema(tag: str, out, create_input):
    return extend_schema_view(
        get=extend_schema(responses={200: out(many=True), **errors(404)}, tags=[tag]),
        post=extend_schema(request=create_input, responses={201: out, **errors(400, 404, 409)}, tags=[tag]),
    )


def _detail_schema(tag: str, out, update_input):
    return extend_schema_view(
        get=extend_schema(responses={200: out, **errors(404)}, tags=[tag]),
        patch=extend_schema(request=update_input, responses={200: out, **errors(400, 404, 409)}, tags=[tag]),
    )


_TAG = "staff: physician credentials"


@_collection_schema(_TAG, serializers.LicenceOutput, serializers.LicenceCreateInput)
class StaffLicenceListApi(_CredentialCollectionApi):
    serializer_class = serializers.LicenceOutput
    related_name = "state_licences"
    create_input = serializers.LicenceCreateInput
    create_service = staticmethod(credentials.state_licence_create)


@_detail_schema(_TAG, serializers.LicenceOutput, serializers.LicenceUpdateInput)
class StaffLicenceDetailApi(_CredentialDetailApi):
    output = serializers.LicenceOutput
    update_input = serializers.LicenceUpdateInput
    getter = staticmethod(selectors.licence_get)
    update_service = staticmethod(credentials.state_licence_update)
    keyword = "licence"


@_collection_schema(_TAG, serializers.DEARegistrationOutput, serializers.DEARegistrationCreateInput)
class StaffDEARegistrationListApi(_CredentialCollectionApi):
    serializer_class = serializers.DEARegistrationOutput
    related_name = "dea_registrations"
    create_input = serializers.DEARegistrationCreateInput
    create_service = staticmethod(credentials.dea_registration_create)


@_detail_schema(_TAG, serializers.DEARegistrationOutput, serializers.DEARegistrationUpdateInput)
class StaffDEARegistrationDetailApi(_CredentialDetailApi):
    output = serializers.DEARegistrationOutput
    update_input = serializers.DEARegistrationUpdateInput
    getter = staticmethod(selectors.dea_registration_get)
    update_service = staticmethod(credentials.dea_registration_update)
    keyword = "registration"


@_collection_schema(_TAG, serializers.CDSRegistrationOutput, serializers.CDSRegistrationCreateInput)
class StaffCDSRegistrationListApi(_CredentialCollectionApi):
    serializer_class = serializers.CDSRegistrationOutput
    related_name = "nj_cds_registrations"
    create_input = serializers.CDSRegistrationCreateInput
    create_service = staticmethod(credentials.cds_registration_create)


@_detail_schema(_TAG, serializers.CDSRegistrationOutput, serializers.CDSRegistrationUpdateInput)
class StaffCDSRegistrationDetailApi(_CredentialDetailApi):
    output = serializers.CDSRegistrationOutput
    update_input = serializers.CDSRegistrationUpdateInput
    getter = staticmethod(selectors.cds_registration_get)
    update_service = staticmethod(credentials.cds_registration_update)
    keyword = "registration"


class PhysicianOwnCredentialsApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(responses={200: serializers.PhysicianCredentialsOutput}, tags=["physician"])
    def get(self, request):
        return Response(
            serializers.PhysicianCredentialsOutput(selectors.physician_credentials(physician=request.user)).data
        )
