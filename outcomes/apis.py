"""Thin views of the outcomes app: parse, call one service or selector, serialize. Reads of a
patient's chart by the care team write the audit trail."""

from __future__ import annotations

from datetime import date, timedelta

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_log
from accounts.models import AuditAction
from accounts.permissions import IsPatient, IsPhysician, SeesClinical
from api.errors import NotFound
from api.pagination import KeysetPagination, PagePagination
from api.schema import errors
from outcomes import selectors, services
from outcomes import serializers as s
from outcomes.errors import FieldInvalid
from outcomes.models import ClusterAttack, OutcomeReviewFlag
from outcomes.policy import outcomes_policy
from outcomes.report import outcome_report_data, render_outcome_report

TAGS = ["outcomes"]
MAX_DIARY_RANGE_DAYS = 366

_START = OpenApiParameter("start", OpenApiTypes.DATE, description="First local date (default: 27 days before end).")
_END = OpenApiParameter("end", OpenApiTypes.DATE, description="Last local date (default: the patient's today).")
_SUMMARY_END = OpenApiParameter(
    "end", OpenApiTypes.DATE, description="Last day of the 28-day window (default: the patient's today)."
)


def _parse_date(value: str | None, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldInvalid(field, "invalid_date", "Use a date as YYYY-MM-DD.") from None


def _summary_end(request, patient) -> date:
    end = _parse_date(request.query_params.get("end"), "end")
    if end is not None and end > selectors.patient_today(patient=patient):
        raise FieldInvalid("end", "date_in_future", "The window cannot end after today.")
    return end


# --- patient: diary -------------------------------------------------------------------------
class DiaryEntryApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        request=s.DiaryEntryInput,
        responses={200: s.DiaryWriteOutput, 201: s.DiaryWriteOutput, **errors(400)},
        tags=TAGS,
        description=(
            "Create (201) or replace (200) the entry of one local date (your own time zone). Refused with "
            "`fields.date` codes `invalid_date`, `date_in_future`, `edit_window_closed` (older than 7 days); "
            "bad values are field errors (`min_value`, `max_value`, `invalid_choice`, `duplicate`, "
            "`duplicate_class`, `required`, `requires_headache`)."
        ),
    )
    def put(self, request, date):
        on = _parse_date(date, "date")
        data = s.DiaryEntryInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.diary_entry_put(
            actor=request.user, patient=request.user, on=on, data=data.validated_data, request=request
        )
        body = s.DiaryWriteOutput(result.entry, context={"review_flag": result.review_flag}).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    @extend_schema(responses={200: s.DiaryEntryOutput, **errors(400, 404)}, tags=TAGS)
    def get(self, request, date):
        on = _parse_date(date, "date")
        entry = selectors.diary_entries(patient=request.user, start=on, end=on).first()
        if entry is None:
            raise NotFound("Nothing logged for this date.")
        audit_log(request, AuditAction.READ, entry)
        return Response(s.DiaryEntryOutput(entry).data)


class DiaryListApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        parameters=[_START, _END],
        responses={200: s.DiaryEntryOutput(many=True), **errors(400)},
        tags=TAGS,
        description=f"Logged days only, oldest first; at most {MAX_DIARY_RANGE_DAYS} days (`window_too_long`).",
    )
    def get(self, request):
        end = _parse_date(request.query_params.get("end"), "end") or selectors.patient_today(patient=request.user)
        start = _parse_date(request.query_params.get("start"), "start") or end - timedelta(
            days=outcomes_policy().window_days - 1
        )
        if start > end:
            raise FieldInvalid("start", "invalid_window", "start must not be after end.")
        if (end - start).days >= MAX_DIARY_RANGE_DAYS:
            raise FieldInvalid("start", "window_too_long", f"At most {MAX_DIARY_RANGE_DAYS} days at once.")
        entries = list(selectors.diary_entries(patient=request.user, start=start, end=end))
        audit_log(request, AuditAction.READ, *entries)
        return Response(s.DiaryEntryOutput(entries, many=True).data)


# --- summaries ------------------------------------------------------------------------------
class PatientHeadacheSummaryApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(parameters=[_SUMMARY_END], responses={200: s.HeadacheSummaryOutput, **errors(400)}, tags=TAGS)
    def get(self, request):
        end = _summary_end(request, request.user)
        summary = selectors.headache_summary(patient=request.user, end=end)
        return Response(s.summary_data(summary))


class CareTeamHeadacheSummaryApi(APIView):
    permission_classes = [SeesClinical]

    @extend_schema(
        parameters=[_SUMMARY_END],
        responses={200: s.HeadacheSummaryOutput, **errors(400, 404)},
        tags=TAGS,
        description="A physician's caseload patient (the medical director: any patient); else 404. Audited.",
    )
    def get(self, request, patient_id):
        patient = selectors.patient_for_care_team(viewer=request.user, patient_public_id=patient_id)
        end = _summary_end(request, patient)
        summary = selectors.headache_summary(patient=patient, end=end)
        audit_log(request, AuditAction.READ, patient, detail="headache_summary")
        return Response(s.summary_data(summary))


class OutcomeReportApi(APIView):
    permission_classes = [SeesClinical]

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="One-page PDF."),
            **errors(404),
        },
        tags=TAGS,
        description=(
            "One page for a referral letter: monthly headache/migraine days with the baseline line, PHQ-9 "
            "and PEG-3 over time, blood pressure, and a short table. Audited like any read of the chart."
        ),
    )
    def get(self, request, patient_id):
        patient = selectors.patient_for_care_team(viewer=request.user, patient_public_id=patient_id)
        pdf = render_outcome_report(outcome_report_data(patient=patient))
        audit_log(request, AuditAction.READ, patient, detail="outcome_report")
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = 'inline; filename="outcome-report.pdf"'
        response["Cache-Control"] = "no-store"
        return response


# --- cluster attacks ------------------------------------------------------------------------
class ClusterAttackListApi(GenericAPIView):
    queryset = ClusterAttack.objects.none()  # for the schema; reads go through selectors
    permission_classes = [IsPatient]
    pagination_class = KeysetPagination
    cursor_opt_in = True  # page numbers by default (v1); `?cursor=` opts in (docs/api-conventions.md#pagination)

    @extend_schema(responses={200: s.ClusterAttackOutput(many=True)}, tags=TAGS, description="Newest first.")
    def get(self, request):
        page = self.paginate_queryset(selectors.cluster_attacks(patient=request.user))
        audit_log(request, AuditAction.READ, *page)
        return self.get_paginated_response(s.ClusterAttackOutput(page, many=True).data)

    @extend_schema(
        request=s.ClusterAttackInput,
        responses={200: s.ClusterAttackOutput, 201: s.ClusterAttackOutput, **errors(400)},
        tags=TAGS,
        description="Log one attack; the same `started_at` again returns the stored attack (200).",
    )
    def post(self, request):
        data = s.ClusterAttackInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.cluster_attack_log(
            actor=request.user, patient=request.user, data=data.validated_data, request=request
        )
        return Response(
            s.ClusterAttackOutput(result.attack).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


# --- the diary reminder ---------------------------------------------------------------------
class DiaryReminderApi(APIView):
    permission_classes = [IsPatient]

    def _body(self, request, pref):
        zone = selectors.patient_zone(patient=request.user)
        return {
            "enabled": bool(pref and pref.enabled),
            "local_time": pref.local_time.strftime("%H:%M") if pref else None,
            "time_zone": zone.key,
        }

    @extend_schema(responses={200: s.ReminderPreferenceOutput}, tags=TAGS)
    def get(self, request):
        return Response(
            s.ReminderPreferenceOutput(self._body(request, selectors.reminder_preference(patient=request.user))).data
        )

    @extend_schema(
        request=s.ReminderPreferenceInput,
        responses={200: s.ReminderPreferenceOutput, **errors(400)},
        tags=TAGS,
        description="Opt in (or out) of one evening reminder a day at a wall-clock time in your own zone.",
    )
    def put(self, request):
        data = s.ReminderPreferenceInput(data=request.data)
        data.is_valid(raise_exception=True)
        pref = services.reminder_preference_set(patient=request.user, request=request, **data.validated_data)
        return Response(s.ReminderPreferenceOutput(self._body(request, pref)).data)


# --- review flags ---------------------------------------------------------------------------
class ReviewFlagListApi(GenericAPIView):
    queryset = OutcomeReviewFlag.objects.none()  # for the schema; reads go through selectors
    permission_classes = [SeesClinical]
    pagination_class = PagePagination

    @extend_schema(
        responses={200: s.ReviewFlagOutput(many=True)},
        tags=TAGS,
        description="Open outcome review flags (medication-overuse risk); they never hold dosing.",
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.review_flag_list(viewer=request.user))
        audit_log(request, AuditAction.READ, *page)
        return self.get_paginated_response(s.ReviewFlagOutput(page, many=True).data)


class ReviewFlagResolveApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(request=None, responses={200: s.ReviewFlagOutput, **errors(404, 409)}, tags=TAGS)
    def post(self, request, flag_id):
        flag = selectors.review_flag_for_physician(viewer=request.user, flag_public_id=flag_id)
        flag = services.review_flag_resolve(actor=request.user, flag=flag, request=request)
        return Response(s.ReviewFlagOutput(flag).data)
