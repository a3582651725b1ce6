"""Thin views: parse, call one service or selector, serialize. Reads of PHI are audited."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_log
from accounts.models import AuditAction
from accounts.permissions import IsPatient, SeesClinical
from api.pagination import KeysetPagination
from api.schema import errors
from patients import policy as patient_policy
from patients.models import SafetyFlagKind
from patients.services.vitals import Reading
from treatment import policy, selectors
from treatment import serializers as s
from treatment.models import DosingSession
from treatment.services import check_ins, sessions, supply
from treatment.services.sessions import patient_zone


def _context() -> dict:
    return {"policy_for": policy.policy_resolver()}


class _Paged(GenericAPIView):
    pagination_class = KeysetPagination
    cursor_opt_in = True  # page numbers by default (v1); `?cursor=` opts in (docs/api-conventions.md#pagination)

    def paginate(self, request, queryset):
        page = self.paginate_queryset(queryset)
        audit_log(request, AuditAction.READ, *page, detail="list")
        return self.get_paginated_response(s.SessionOutput(page, many=True, context=_context()).data)


class PatientSessionsApi(_Paged):
    queryset = DosingSession.objects.none()  # for the schema; reads go through selectors
    permission_classes = [IsPatient]

    @extend_schema(responses={200: s.SessionOutput(many=True)}, tags=["patient"])
    def get(self, request):
        return self.paginate(request, selectors.sessions_for_patient(viewer=request.user))

    @extend_schema(
        request=s.SessionStartInput,
        responses={201: s.SessionOutput, **errors(400, 409, 422)},
        tags=["patient"],
        description=(
            "Start a dosing session. 422 `session_refused` lists every failing rule: "
            "pre_session_check_missing, pre_session_check_not_go, pre_session_check_used, open_safety_flag, "
            "no_treatment_monitor, monitor_not_attested, no_delivered_fill, supply_exhausted, "
            "daily_session_limit, weekly_session_limit. 409 `session_open` while another is open."
        ),
    )
    def post(self, request):
        data = s.SessionStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = sessions.session_start(patient=request.user, request=request, **data.validated_data)
        return Response(s.SessionOutput(session, context=_context()).data, status=status.HTTP_201_CREATED)


class PatientSessionEndApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(request=None, responses={200: s.SessionOutput, **errors(404, 409)}, tags=["patient"])
    def post(self, request, session_id):
        session = sessions.session_end(patient=request.user, session_id=session_id, request=request)
        return Response(s.SessionOutput(session, context=_context()).data)


class PatientSessionCheckInApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        request=s.CheckInInput,
        responses={201: s.CheckInResultOutput, **errors(400, 404, 409)},
        tags=["patient"],
        description=(
            "The post-session check-in, once per ended session, within the policy's window after the end "
            "(409 `session_not_ended`, `already_checked_in`, `check_in_window_closed`). Severe answers open "
            "safety flags (severe_dissociation, urinary_symptoms, bp_hold, bp_emergency) and hold dosing."
        ),
    )
    def post(self, request, session_id):
        data = s.CheckInInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        bp = values.pop("blood_pressure", None)
        result = check_ins.check_in_submit(
            patient=request.user,
            session_id=session_id,
            blood_pressure=Reading(**bp) if bp else None,
            request=request,
            **values,
        )
        kinds = {flag.kind for flag in result.flags}
        instructions = []
        if result.bp_reason == "bp_emergency":
            instructions.append(patient_policy.EMERGENCY_INSTRUCTIONS)
        elif result.bp_reason:
            instructions.append(patient_policy.HOLD_INSTRUCTIONS)
        if SafetyFlagKind.SEVERE_DISSOCIATION in kinds:
            instructions.append(policy.DISSOCIATION_INSTRUCTIONS)
        if SafetyFlagKind.URINARY_SYMPTOMS in kinds:
            instructions.append(policy.URINARY_INSTRUCTIONS)
        body = {"check_in": result.check_in, "instructions": instructions}
        return Response(s.CheckInResultOutput(body).data, status=status.HTTP_201_CREATED)


class PatientSupplyApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        responses={200: s.SupplyOutput(many=True)},
        tags=["patient"],
        description="Per active prescription: doses delivered, used and left, and the expected run-out date.",
    )
    def get(self, request):
        zone = patient_zone(getattr(request.user, "patient_profile", None))
        today = timezone.localtime(timezone.now(), zone).date()
        rows = supply.supply_for_prescriptions(patient=request.user, on=today)
        return Response(s.SupplyOutput(rows, many=True).data)


class CareTeamSessionsApi(_Paged):
    queryset = DosingSession.objects.none()  # for the schema; reads go through selectors
    permission_classes = [SeesClinical]

    @extend_schema(
        responses={200: s.SessionOutput(many=True), **errors(404)},
        tags=["care team"],
        description="A patient's sessions with their check-ins and flags (physician: caseload; staff: any).",
    )
    def get(self, request, patient_id):
        return self.paginate(
            request, selectors.sessions_for_care_team(viewer=request.user, patient_public_id=patient_id)
        )
