"""Thin views: parse, call one service or selector, serialize."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from api.pagination import PagePagination
from api.schema import errors
from practice import selectors, serializers
from practice.service_area import resolve_location


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


class CountyPagination(PagePagination):
    page_size = 100  # one page holds a whole state's list (Florida: 67)


class CountyListApi(_PublicApi, GenericAPIView):
    pagination_class = CountyPagination
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
