"""Scheduling endpoints: thin views over scheduling.services and scheduling.selectors."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_log
from accounts.models import AuditAction
from accounts.permissions import (
    IsPatient,
    IsPhysician,
    ManagesCredentials,
    SeesClinical,
    SeesScheduling,
)
from api.cache import prefetched
from api.errors import NotFound
from api.pagination import KeysetPagination, PagePagination
from api.schema import PAGE_PARAMETERS, errors
from api.throttling import ScopedRateThrottle
from practice import service_area
from scheduling import availability_cache, calendar, caseload, contracts, selectors
from scheduling.errors import DateInPast, LocationNotServed, LocationRequired
from scheduling.models import Appointment, InPersonEvaluation
from scheduling.serializers import (
    AppointmentDetailOutput,
    AppointmentOutput,
    AppointmentTypeOutput,
    AvailabilityDaysOutput,
    AvailabilityDaysQuery,
    AvailabilityExceptionInput,
    AvailabilityExceptionOutput,
    AvailabilityExceptionPatchInput,
    AvailabilityOutput,
    AvailabilityQuery,
    BookInput,
    CaseloadRowOutput,
    CompleteInput,
    InPersonEvaluationInput,
    InPersonEvaluationOutput,
    InPersonEvaluationVoidInput,
    JoinOutput,
    RescheduleInput,
    StaffVisitLocationInput,
    StaffVisitLocationOutput,
    StaffVisitLocationPatchInput,
    VisitLocationOutput,
    VisitLocationQuery,
    VisitNoteOutput,
    WeeklyAvailabilityInput,
    WeeklyAvailabilityOutput,
    WeeklyAvailabilityPatchInput,
    appointment_data,
    appointment_list_data,
    appointment_type_data,
    caseload_row_data,
)
from scheduling.services import availability as availability_services
from scheduling.services import booking, evaluations, visits
from scheduling.services import locations as location_services

TAGS = ["scheduling"]
APPOINTMENT_LABEL = Appointment._meta.label_lower  # the audit rows of the list's plain rows

# --- availability search -----------------------------------------------------------------


def _search_location(request, query: dict):
    """(state, time zone): from ?assessment=, else a signed-in patient's profile, else ?zip= (+ ?county=)."""
    user = request.user
    if "assessment" in query:
        viewer = user if user.is_authenticated and user.is_patient else None
        found = contracts.assessment_location(
            public_id=query["assessment"], token=query.get("assessment_token", ""), patient=viewer
        )
        if found is None:
            raise LocationNotServed(extra={"reason": "assessment_not_served", "county_choices": []})
        return found[0], contracts.zone(found[1])
    if "zip" not in query and user.is_authenticated and user.is_patient:
        location = contracts.patient_location(patient=user)
        if location is None or not location.state:
            raise LocationRequired()
        return location.state, contracts.zone(location.time_zone)
    if "zip" not in query:
        raise LocationRequired()

    result = service_area.resolve_location(query["zip"], query.get("county"))
    if not result.served:
        raise LocationNotServed(
            code="county_required" if result.reason == "county_required" else None,
            extra={
                "reason": result.reason,
                "county_choices": [{"fips": f, "name": n} for f, n in (result.county_choices or [])],
            },
        )
    return result.state, contracts.zone(result.time_zone)


def _not_past(day, tz) -> None:
    """A date before today in the patient's zone is refused (400 `date_in_past`)."""
    if day < timezone.now().astimezone(tz).date():
        raise DateInPast()


_DEPRECATED_WINDOW = [
    OpenApiParameter(
        name,
        OpenApiTypes.DATE,
        OpenApiParameter.QUERY,
        required=False,
        deprecated=True,
        description=f"Deprecated window form (`start` and `end`, at most 14 days): use `date` for one day's slots "
        f"or /api/v1/availability/days/ for the strip. {text}",
    )
    for name, text in (("start", "First date."), ("end", "Last date, inclusive."))
]


class AvailabilityApi(APIView):
    """Open slots: for a signed-in patient (their state and zone) or a prospective patient from
    the assessment (?zip=, and ?county= when the ZIP spans counties). Throttled.

    `?date=`: one local day's slots, what the apps show (docs/availability.md#day); `?start=&end=`:
    the deprecated window answer, kept for older apps."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "availability"

    @extend_schema(
        parameters=[AvailabilityQuery, *_DEPRECATED_WINDOW, *PAGE_PARAMETERS],
        responses={200: AvailabilityOutput, **errors(400)},
        tags=TAGS,
        auth=[{"jwtAuth": []}, {}],
        description=(
            "One day's open slots: `date` (a local date in the patient's zone, today or later), by physician. "
            "The window form (`start` and `end` instead of `date`) is deprecated. Errors (400): `date_in_past`, "
            "`conflicting_parameters` (a date with start/end), `required`, `invalid`, `out_of_range`, "
            "`invalid_window`, `window_too_long`, `location_required`, `location_not_served`."
        ),
    )
    def get(self, request):
        query = AvailabilityQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        day = data.get("date")
        start, end = (day, day) if day is not None else (data["start"], data["end"])
        selectors.check_window(start=start, end=end)
        state, tz = _search_location(request, data)
        if day is not None:
            _not_past(day, tz)
        patient = request.user if request.user.is_authenticated and request.user.is_patient else None
        with prefetched(selectors.availability_token_keys()):  # the version tokens, one round trip
            appointment_type = selectors.appointment_type_get(code=data["appointment_type"])
            entries = selectors.availability_entries(
                start=start,
                end=end,
                appointment_type=appointment_type,
                state=state,
                viewer_tz=tz,
                patient=patient,
                physician_public_id=data.get("physician"),
                location_public_id=data.get("location"),
            )
        paginator = PagePagination()
        page = paginator.paginate_queryset(entries.texts, request, view=self) or []
        head = {
            "state": state,
            "time_zone": tz.key,
            **({"date": day.isoformat()} if day is not None else {}),
            "start": start.isoformat(),
            "end": end.isoformat(),
            "appointment_type": appointment_type.code,
            "duration_minutes": appointment_type.duration_minutes,
            "count": paginator.page.paginator.count,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
        }
        # The entries are JSON text already (cached per physician): the answer is assembled, not
        # serialised again. Its shape is AvailabilityOutput's (tests/scheduling pin it).
        head_text = json.dumps(head, separators=(",", ":"))
        body = head_text[:-1] + ',"results":[' + ",".join(page) + "]}"
        response = HttpResponse(content_type="application/json")
        patch_vary_headers(response, ["Accept-Encoding"])
        if entries.version is not None and "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", ""):
            # ~2 MB of JSON for 50 physicians is ~110 KB gzipped (what a phone downloads). It is
            # compressed once per distinct answer, named by the entries' versions and this page's
            # head. (No secret shares the body with the echoed dates, so BREACH does not apply.)
            response.content = availability_cache.compressed_answer(f"{entries.version}:{head_text}", body)
            response["Content-Encoding"] = "gzip"
        else:
            response.content = body
        return response


class AvailabilityDaysApi(APIView):
    """The day strip: for each local date from `start` to `end`, whether anything is free, how
    many physicians have a free slot and the earliest one (docs/availability.md#strip). Public
    and throttled like the slots it summarises."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "availability"

    @extend_schema(
        parameters=[AvailabilityDaysQuery],
        responses={200: AvailabilityDaysOutput, **errors(400)},
        tags=TAGS,
        auth=[{"jwtAuth": []}, {}],
        operation_id="availability_days",
        description=(
            "Per local date (the patient's zone) from `start` to `end` (at most 14 days, from today on): "
            "`available`, `physicians` and the `earliest_start`. The same search as the day view: a date shown "
            "available has slots there. Errors (400): `date_in_past`, `invalid_window`, `window_too_long`, "
            "`invalid`, `out_of_range`, `location_required`, `location_not_served`."
        ),
    )
    def get(self, request):
        query = AvailabilityDaysQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        selectors.check_window(start=data["start"], end=data["end"])
        state, tz = _search_location(request, data)
        _not_past(data["start"], tz)
        patient = request.user if request.user.is_authenticated and request.user.is_patient else None
        with prefetched(selectors.availability_token_keys()):  # the version tokens, one round trip
            appointment_type = selectors.appointment_type_get(code=data["appointment_type"])
            days = selectors.availability_days(
                start=data["start"],
                end=data["end"],
                appointment_type=appointment_type,
                state=state,
                viewer_tz=tz,
                patient=patient,
                physician_public_id=data.get("physician"),
                location_public_id=data.get("location"),
            )
        return Response(
            {
                "state": state,
                "time_zone": tz.key,
                "start": data["start"].isoformat(),
                "end": data["end"].isoformat(),
                "appointment_type": appointment_type.code,
                "duration_minutes": appointment_type.duration_minutes,
                "days": [
                    {
                        "date": d.date.isoformat(),
                        "available": d.available,
                        "physicians": d.physicians,
                        "earliest_start": d.earliest_start.astimezone(tz).isoformat() if d.earliest_start else None,
                        "earliest_start_utc": d.earliest_start.isoformat().replace("+00:00", "Z")
                        if d.earliest_start
                        else None,
                    }
                    for d in days
                ],
            }
        )


class AppointmentTypeListApi(APIView):
    """The kinds of visit (duration, modality, free or covered by the membership). Public, like
    the visit locations: the app shows them before sign-up; no PHI."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public_form"

    @extend_schema(
        summary="The kinds of visit",
        description="Every bookable appointment type with its duration, modality and price (free, or included in "
        "the membership). A short fixed list: not paginated.",
        responses={200: AppointmentTypeOutput(many=True)},
        tags=TAGS,
        auth=[{"jwtAuth": []}, {}],
    )
    def get(self, request):
        return Response([appointment_type_data(t) for t in selectors.appointment_type_list()])


class VisitLocationListApi(APIView):
    """Where in-person evaluations take place: the practice's active offices (and home-visit
    areas), optionally of one state. Public, like the service area: no PHI."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public_form"

    @extend_schema(
        parameters=[VisitLocationQuery],
        responses={200: VisitLocationOutput(many=True), **errors(400)},
        tags=TAGS,
        auth=[{"jwtAuth": []}, {}],
    )
    def get(self, request):
        query = VisitLocationQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.visit_locations(state=query.validated_data.get("state"))
        return Response([selectors.location_data(row) for row in rows])


def _staff_location_data(location) -> dict:
    return {**selectors.location_data(location), "is_active": location.is_active}


class StaffVisitLocationListApi(APIView):
    """Staff: every visit location (inactive ones too), and new ones."""

    permission_classes = [ManagesCredentials]  # practice set-up, like credentials

    @extend_schema(
        responses={200: StaffVisitLocationOutput(many=True)}, tags=TAGS, operation_id="staff_visit_locations"
    )
    def get(self, request):
        rows = selectors.visit_locations(include_inactive=True)
        return Response([_staff_location_data(row) for row in rows])

    @extend_schema(request=StaffVisitLocationInput, responses={201: StaffVisitLocationOutput, **errors(400)}, tags=TAGS)
    def post(self, request):
        data = StaffVisitLocationInput(data=request.data)
        data.is_valid(raise_exception=True)
        location = location_services.visit_location_create(actor=request.user, request=request, **data.validated_data)
        return Response(_staff_location_data(location), status=status.HTTP_201_CREATED)


class StaffVisitLocationDetailApi(APIView):
    permission_classes = [ManagesCredentials]  # practice set-up, like credentials

    @extend_schema(
        request=StaffVisitLocationPatchInput,
        responses={200: StaffVisitLocationOutput, **errors(400, 404)},
        tags=TAGS,
        description="Change an office; `is_active: false` takes it out of search and booking (booked visits keep it).",
    )
    def patch(self, request, public_id):
        data = StaffVisitLocationPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        location = location_services.visit_location_update(
            actor=request.user, public_id=public_id, request=request, **data.validated_data
        )
        return Response(_staff_location_data(location))


# --- appointments ------------------------------------------------------------------------


class AppointmentListApi(GenericAPIView):
    pagination_class = KeysetPagination
    cursor_opt_in = True  # page numbers by default (v1); `?cursor=` opts in (docs/api-conventions.md#pagination)
    page_count = "from_page"  # a patient's visits usually fit one page: no COUNT(*) then
    filter_backends: list = []
    serializer_class = AppointmentOutput

    def get_permissions(self):
        return [IsPatient()] if self.request.method == "POST" else [SeesScheduling()]

    @extend_schema(responses={200: AppointmentOutput(many=True)}, tags=TAGS)
    def get(self, request):
        page = self.paginate_queryset(selectors.appointment_list_rows(viewer=request.user))
        audit_log(request, AuditAction.READ, *page, object_type=APPOINTMENT_LABEL)
        return self.get_paginated_response(appointment_list_data(page))

    @extend_schema(
        request=BookInput,
        responses={
            201: AppointmentOutput,
            200: OpenApiResponse(AppointmentOutput, description="A retry with the same idempotency key."),
            **errors(400, 409, 422),
        },
        tags=TAGS,
        description=(
            "Book a slot. An `in_person_evaluation` is booked at a visit location (`location`, needed when the "
            "physician has several in your state): the answer names it with its address. Errors: 409 "
            "`slot_unavailable` (just taken), `idempotency_key_reused`; 400 `not_on_grid`, `in_the_past`, "
            "`too_soon`, `location_required`, `visit_location_required`; 422 `physician_not_licensed`, "
            "`subscription_required`, `free_consultation_used`, `too_many_bookings`, `physician_not_accepting`, "
            "`location_out_of_state`."
        ),
    )
    def post(self, request):
        data = BookInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = booking.appointment_book(
            actor=request.user,
            physician_public_id=v["physician"],
            appointment_type_code=v["appointment_type"],
            starts_at=v["starts_at"],
            idempotency_key=v["idempotency_key"],
            location_public_id=v.get("location"),
            request=request,
        )
        return Response(
            appointment_data(result.appointment),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class AppointmentDetailApi(APIView):
    permission_classes = [SeesScheduling]

    @extend_schema(responses={200: AppointmentDetailOutput}, tags=TAGS)
    def get(self, request, public_id):
        appointment = selectors.appointment_get(viewer=request.user, public_id=public_id)
        audit_log(request, AuditAction.READ, appointment)
        return Response(AppointmentDetailOutput(appointment, context={"viewer": request.user}).data)


class AppointmentVisitNoteApi(APIView):
    permission_classes = [SeesClinical]

    @extend_schema(
        responses={200: VisitNoteOutput, **errors(404)},
        tags=TAGS,
        description="The physician's note of a visit: clinical content, for the visit's physician and the "
        "medical director. Anyone else, care coordinators included, gets 404.",
    )
    def get(self, request, public_id):
        appointment = selectors.visit_note_get(viewer=request.user, public_id=public_id)
        audit_log(request, AuditAction.READ, appointment, detail="visit_note")
        return Response(VisitNoteOutput(appointment).data)


class AppointmentRescheduleApi(APIView):
    permission_classes = [SeesScheduling]

    @extend_schema(
        request=RescheduleInput,
        responses={200: AppointmentOutput, **errors(403, 409, 422)},
        tags=TAGS,
        description="Patients: at least the cutoff (default 24 h) before the visit (`cutoff_passed`); staff any time.",
    )
    def post(self, request, public_id):
        data = RescheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = selectors.appointment_get(viewer=request.user, public_id=public_id)
        appointment = booking.appointment_reschedule(
            actor=request.user, appointment=appointment, starts_at=data.validated_data["starts_at"], request=request
        )
        return Response(AppointmentOutput(appointment).data)


class AppointmentCancelApi(APIView):
    permission_classes = [SeesScheduling]

    @extend_schema(
        request=None,
        responses={200: AppointmentOutput, **errors(409)},
        tags=TAGS,
        description="Patients: at least the cutoff (default 24 h) before the visit; physicians and staff any time.",
    )
    def post(self, request, public_id):
        appointment = selectors.appointment_get(viewer=request.user, public_id=public_id)
        appointment = booking.appointment_cancel(actor=request.user, appointment=appointment, request=request)
        return Response(AppointmentOutput(appointment).data)


class AppointmentStartApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(request=None, responses={200: AppointmentOutput, **errors(409)}, tags=TAGS)
    def post(self, request, public_id):
        appointment = selectors.appointment_get(viewer=request.user, public_id=public_id)
        appointment = visits.appointment_start(actor=request.user, appointment=appointment, request=request)
        return Response(AppointmentOutput(appointment).data)


class AppointmentCompleteApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(
        request=CompleteInput,
        responses={200: AppointmentDetailOutput, **errors(400, 409)},
        tags=TAGS,
        description=(
            "Record the visit. An in-person visit needs `attest_in_person: true` (400 `attestation_required`) and "
            "records the in-person evaluation (21 U.S.C. 829(e)). A video visit may name the practitioner "
            "DEA-registered in the patient's state who was with the patient (`practitioner_present`; 400 "
            "`practitioner_state_mismatch` when their state is not the patient's at the visit). 409 "
            "`invalid_status` once completed."
        ),
    )
    def post(self, request, public_id):
        data = CompleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = selectors.appointment_get(viewer=request.user, public_id=public_id)
        appointment = visits.appointment_complete(
            actor=request.user, appointment=appointment, request=request, **data.validated_data
        )
        return Response(AppointmentDetailOutput(appointment, context={"viewer": request.user}).data)


class AppointmentNoShowApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(request=None, responses={200: AppointmentOutput, **errors(409)}, tags=TAGS)
    def post(self, request, public_id):
        appointment = selectors.appointment_get(viewer=request.user, public_id=public_id)
        appointment = visits.appointment_mark_no_show(actor=request.user, appointment=appointment, request=request)
        return Response(AppointmentOutput(appointment).data)


class AppointmentJoinApi(APIView):
    permission_classes = [SeesScheduling]

    @extend_schema(
        responses={200: JoinOutput, **errors(409)},
        tags=TAGS,
        description="The caller's own video link (patient or physician of the visit); 409 `video_not_ready` "
        "until it is created shortly before the visit, `not_a_video_visit` for an in-person visit.",
    )
    def get(self, request, public_id):
        appointment = selectors.appointment_get(viewer=request.user, public_id=public_id)
        url = visits.appointment_join_url(actor=request.user, appointment=appointment, request=request)
        return Response({"url": url})


_ICS_RESPONSE = {
    (200, "text/calendar"): OpenApiResponse(
        OpenApiTypes.BINARY, description="iCalendar (RFC 5545). Events say 'Video visit' only: no patient names."
    )
}


class AppointmentIcsApi(APIView):
    permission_classes = [SeesScheduling]
    renderer_classes = [JSONRenderer]

    @extend_schema(responses={**_ICS_RESPONSE, **errors(404)}, tags=TAGS)
    def get(self, request, public_id):
        appointment = selectors.appointment_get(viewer=request.user, public_id=public_id)
        if request.user.pk not in (appointment.patient_id, appointment.physician_id):
            raise NotFound()
        return calendar.ics_response([appointment], filename=f"visit-{appointment.public_id}.ics")


# --- physician ---------------------------------------------------------------------------


class PhysicianCalendarApi(APIView):
    permission_classes = [IsPhysician]
    renderer_classes = [JSONRenderer]

    @extend_schema(responses=_ICS_RESPONSE, tags=TAGS, operation_id="physician_calendar_ics")
    def get(self, request):
        return calendar.ics_response(list(selectors.physician_calendar(physician=request.user)), filename="visits.ics")


class PhysicianCaseloadApi(GenericAPIView):
    permission_classes = [IsPhysician]
    pagination_class = PagePagination
    page_count = "window"  # one physician's patients (bounded by the cap): the total rides on the page query
    filter_backends: list = []
    serializer_class = CaseloadRowOutput

    @extend_schema(responses={200: CaseloadRowOutput(many=True)}, tags=TAGS)
    def get(self, request):
        # The read model: one query for the page and its stored rows, stale rows recomputed
        # together (docs/caseload.md).
        page = self.paginate_queryset(caseload.paged(physician=request.user))
        rows = caseload.page_rows_of(physician=request.user, rows=page)
        audit_log(
            request,
            AuditAction.READ,
            *[r.patient for r in rows],
            detail="caseload",
            object_type=caseload.PATIENT_OBJECT_TYPE,
        )
        return self.get_paginated_response([caseload_row_data(r) for r in rows])


_ID = OpenApiParameter("public_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class WeeklyAvailabilityListApi(GenericAPIView):
    permission_classes = [IsPhysician]
    pagination_class = PagePagination
    filter_backends: list = []
    serializer_class = WeeklyAvailabilityOutput

    @extend_schema(responses={200: WeeklyAvailabilityOutput(many=True)}, tags=TAGS)
    def get(self, request):
        weekly, _ = selectors.own_availability(physician=request.user)
        page = self.paginate_queryset(weekly)
        return self.get_paginated_response(WeeklyAvailabilityOutput(page, many=True).data)

    @extend_schema(request=WeeklyAvailabilityInput, responses={201: WeeklyAvailabilityOutput}, tags=TAGS)
    def post(self, request):
        data = WeeklyAvailabilityInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = availability_services.weekly_availability_create(actor=request.user, **data.validated_data)
        return Response(WeeklyAvailabilityOutput(row).data, status=status.HTTP_201_CREATED)


class WeeklyAvailabilityDetailApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(
        request=WeeklyAvailabilityPatchInput, responses={200: WeeklyAvailabilityOutput}, parameters=[_ID], tags=TAGS
    )
    def patch(self, request, public_id):
        data = WeeklyAvailabilityPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        row = availability_services.weekly_availability_update(
            actor=request.user, public_id=public_id, **data.validated_data
        )
        return Response(WeeklyAvailabilityOutput(row).data)

    @extend_schema(responses={204: None}, parameters=[_ID], tags=TAGS)
    def delete(self, request, public_id):
        availability_services.weekly_availability_delete(actor=request.user, public_id=public_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AvailabilityExceptionListApi(GenericAPIView):
    permission_classes = [IsPhysician]
    pagination_class = PagePagination
    filter_backends: list = []
    serializer_class = AvailabilityExceptionOutput

    @extend_schema(responses={200: AvailabilityExceptionOutput(many=True)}, tags=TAGS)
    def get(self, request):
        _, exceptions = selectors.own_availability(physician=request.user)
        page = self.paginate_queryset(exceptions)
        return self.get_paginated_response(AvailabilityExceptionOutput(page, many=True).data)

    @extend_schema(request=AvailabilityExceptionInput, responses={201: AvailabilityExceptionOutput}, tags=TAGS)
    def post(self, request):
        data = AvailabilityExceptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = availability_services.availability_exception_create(actor=request.user, **data.validated_data)
        return Response(AvailabilityExceptionOutput(row).data, status=status.HTTP_201_CREATED)


class AvailabilityExceptionDetailApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(
        request=AvailabilityExceptionPatchInput,
        responses={200: AvailabilityExceptionOutput},
        parameters=[_ID],
        tags=TAGS,
    )
    def patch(self, request, public_id):
        data = AvailabilityExceptionPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        row = availability_services.availability_exception_update(
            actor=request.user, public_id=public_id, **data.validated_data
        )
        return Response(AvailabilityExceptionOutput(row).data)

    @extend_schema(responses={204: None}, parameters=[_ID], tags=TAGS)
    def delete(self, request, public_id):
        availability_services.availability_exception_delete(actor=request.user, public_id=public_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhysicianInPersonEvaluationsApi(GenericAPIView):
    """A caseload patient's in-person evaluations, and recording one done elsewhere."""

    queryset = InPersonEvaluation.objects.none()  # for the schema generator only; reads go through selectors
    permission_classes = [IsPhysician]
    serializer_class = InPersonEvaluationOutput
    pagination_class = PagePagination

    @extend_schema(
        operation_id="physician_patient_in_person_evaluations_list",
        summary="A caseload patient's in-person evaluations (voided ones included)",
        description=(
            "Every in-person evaluation of the patient, by any physician, newest first; only the "
            "prescriber's own standing evaluations ground their prescriptions (docs/prescribing-basis.md). "
            "A patient not on your caseload is 404."
        ),
        responses={200: InPersonEvaluationOutput(many=True), **errors(401, 403, 404)},
        tags=["in-person evaluations"],
    )
    def get(self, request, patient_id):
        patient = selectors.caseload_patient_get(viewer=request.user, patient_public_id=patient_id)
        page = self.paginate_queryset(selectors.in_person_evaluation_history(patient=patient))
        audit_log(request, AuditAction.READ, *page)
        return self.get_paginated_response(InPersonEvaluationOutput(page, many=True).data)

    @extend_schema(
        operation_id="physician_patient_in_person_evaluations_create",
        summary="Record an in-person evaluation you conducted elsewhere (attested by you)",
        description=(
            "Posting attests that you evaluated the patient in your physical presence on that date "
            "(21 U.S.C. 829(e)(2)). Errors: `date_in_future`, `state_not_served`, "
            "`location_state_mismatch`, `home_address_unverified`; a patient not on your caseload is 404."
        ),
        request=InPersonEvaluationInput,
        responses={201: InPersonEvaluationOutput, **errors(400, 401, 403, 404)},
        tags=["in-person evaluations"],
    )
    def post(self, request, patient_id):
        data = InPersonEvaluationInput(data=request.data)
        data.is_valid(raise_exception=True)
        patient = selectors.caseload_patient_get(viewer=request.user, patient_public_id=patient_id)
        values = data.validated_data
        address = values["place_address"]
        if values["home_visit"] and not address.strip():
            home = contracts.patient_home_address(patient)
            address = home[0] if home else ""
        evaluation = evaluations.in_person_evaluation_record(
            actor=request.user,
            patient=patient,
            evaluated_on=values["evaluated_on"],
            place_address=address,
            place_state=values["place_state"],
            home_visit=values["home_visit"],
            location=values.get("location"),
            others_present=values["others_present"],
            request=request,
        )
        return Response(InPersonEvaluationOutput(evaluation).data, status=status.HTTP_201_CREATED)


class PhysicianInPersonEvaluationVoidApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(
        operation_id="physician_in_person_evaluation_void",
        summary="Void a mistaken in-person evaluation you attested (it stops counting; never deleted)",
        request=InPersonEvaluationVoidInput,
        responses={200: InPersonEvaluationOutput, **errors(400, 401, 403, 404, 409)},
        tags=["in-person evaluations"],
    )
    def post(self, request, evaluation_id):
        data = InPersonEvaluationVoidInput(data=request.data)
        data.is_valid(raise_exception=True)
        evaluation = evaluations.in_person_evaluation_void(
            actor=request.user, public_id=evaluation_id, reason=data.validated_data["reason"], request=request
        )
        return Response(InPersonEvaluationOutput(evaluation).data)
