"""Thin views: parse, call one service or selector, serialize. Reads of PHI are audited here."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_log
from accounts.models import AuditAction, Role, User
from accounts.permissions import IsPatient, IsPhysician, SeesClinical, SeesFlags, WorksReviewQueue
from accounts.scopes import Capability
from api.errors import NotFound
from api.pagination import KeysetPagination, PagePagination
from api.schema import errors
from api.throttling import ScopedRateThrottle
from patients import policy, selectors
from patients import serializers as s
from patients.models import (
    Assessment,
    CheckOutcome,
    ConsentDocument,
    ConsentSignature,
    Contraindication,
    PatientProfile,
    QuestionnaireResponse,
    SafetyFlag,
    Screening,
    VitalReading,
)
from patients.scoring import INSTRUMENT_CHOICES
from patients.services import assessments as assessment_services
from patients.services import consents as consent_services
from patients.services import questionnaires as questionnaire_services
from patients.services import safety as safety_services
from patients.services import screening as screening_services
from patients.services import vitals as vitals_services
from patients.services.caseload import patient_assign_physician
from patients.services.profile import profile_upsert


class _ListApi(GenericAPIView):
    pagination_class = PagePagination

    def paginated(self, queryset, serializer_class, *, request, context=None, audit=True):
        page = self.paginate_queryset(queryset)
        if audit:
            audit_log(request, AuditAction.READ, *page)
        data = serializer_class(page, many=True, context={"request": request, **(context or {})}).data
        return self.get_paginated_response(data)


# --- free assessment (public) -----------------------------------------------------------------


class AssessmentSubmitApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public_form"

    @extend_schema(
        request=s.AssessmentInput,
        responses={201: s.AssessmentOutput, **errors(400, 429)},
        tags=["intake"],
        description=(
            "Free eligibility assessment, no account. `county_required` (400) lists `county_choices` "
            "[{fips, name}] to pick from; a state we do not serve is an outcome (`not_eligible`)."
        ),
    )
    def post(self, request):
        data = s.AssessmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = assessment_services.assessment_submit(**data.validated_data, request=request)
        a = result.assessment
        answers = a.answers
        body = {
            "assessment_id": a.public_id,
            "claim_token": result.claim_token,
            "outcome": a.outcome,
            "reasons": a.reasons,
            "message": result.evaluation.text,
            "location": {
                "zip_code": a.zip_code,
                "state": a.state,
                "county_fips": a.county_id,
                "county_name": a.county.name if a.county_id else None,
                "time_zone": a.time_zone,
                "served": a.state in ("FL", "NJ"),
            },
            "phq9": {k: answers["phq9"][k] for k in ("total", "band")} if answers.get("phq9") else None,
            "gad7": {k: answers["gad7"][k] for k in ("total", "band")} if answers.get("gad7") else None,
            "crisis_resources": policy.CRISIS_RESOURCES if result.crisis else None,
        }
        return Response(s.AssessmentOutput(body).data, status=status.HTTP_201_CREATED)


# --- patient: profile -------------------------------------------------------------------------


class ProfileApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(responses={200: s.ProfileOutput, **errors(404)}, tags=["patient"])
    def get(self, request):
        profile = selectors.patient_profile(patient=request.user)
        if profile is None:
            raise NotFound("No profile yet.")
        audit_log(request, AuditAction.READ, profile)
        return Response(s.ProfileOutput(profile).data)

    def _write(self, request, *, partial: bool):
        data = s.ProfileInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        assessment_id = fields.pop("assessment_id", None)
        assessment_token = fields.pop("assessment_token", "")
        for phone in ("phone", "emergency_contact_phone", "monitor_phone", "pharmacy_phone"):
            if fields.get(phone):
                fields[phone] = fields[phone].as_e164
        existed = selectors.patient_profile(patient=request.user) is not None
        profile = profile_upsert(
            patient=request.user,
            data=fields,
            replace=not partial,
            assessment_id=assessment_id,
            assessment_token=assessment_token,
            request=request,
        )
        profile = selectors.patient_profile(patient=request.user)
        return Response(
            s.ProfileOutput(profile).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        )

    @extend_schema(
        request=s.ProfileInput,
        responses={200: s.ProfileOutput, 201: s.ProfileOutput, **errors(400, 404)},
        tags=["patient"],
        description="Create (first PUT) or replace the profile. The address must be in FL or NJ.",
    )
    def put(self, request):
        return self._write(request, partial=False)

    @extend_schema(
        request=s.ProfileInput,
        responses={200: s.ProfileOutput, 201: s.ProfileOutput, **errors(400, 404)},
        tags=["patient"],
    )
    def patch(self, request):
        return self._write(request, partial=True)


# --- patient: consents ------------------------------------------------------------------------


class ConsentListApi(_ListApi):
    queryset = ConsentSignature.objects.none()  # for the schema; reads go through selectors
    permission_classes = [IsPatient]

    @extend_schema(responses={200: s.ConsentDocumentOutput(many=True)}, tags=["patient"])
    def get(self, request):
        documents = consent_services.current_documents()
        signatures = {
            sig.document_id: sig
            for sig in ConsentSignature.objects.filter(patient=request.user, document__in=documents)
        }
        rows = [
            {
                "document": d,
                "signed": d.pk in signatures,
                "signed_at": signatures[d.pk].signed_at if d.pk in signatures else None,
            }
            for d in documents
        ]
        page = self.paginate_queryset(rows)
        audit_log(request, AuditAction.READ, *[signatures[r["document"].pk] for r in page if r["signed"]])
        return self.get_paginated_response(s.ConsentDocumentOutput(page, many=True).data)


class ConsentSignApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        request=None,
        responses={200: s.ConsentSignatureOutput, 201: s.ConsentSignatureOutput, **errors(404, 409)},
        tags=["patient"],
        description="Sign the current version; signing again returns the first signature (200).",
    )
    def post(self, request, document_id):
        document = ConsentDocument.objects.filter(public_id=document_id).first()
        if document is None:
            raise NotFound()
        signed = consent_services.consent_sign(patient=request.user, document=document, request=request)
        signature = signed.signature
        signature.missing_kinds = consent_services.patient_consents_current(patient=request.user)
        return Response(
            s.ConsentSignatureOutput(signature).data,
            status=status.HTTP_201_CREATED if signed.created else status.HTTP_200_OK,
        )


# --- questionnaires ---------------------------------------------------------------------------

_INSTRUMENT_PARAM = OpenApiParameter("instrument", OpenApiTypes.STR, enum=[c for c, _ in INSTRUMENT_CHOICES])


class PatientQuestionnaireApi(_ListApi):
    pagination_class = KeysetPagination
    cursor_opt_in = True  # page numbers by default (v1); `?cursor=` opts in (docs/api-conventions.md#pagination)
    queryset = QuestionnaireResponse.objects.none()  # for the schema; reads go through selectors
    permission_classes = [IsPatient]

    @extend_schema(
        parameters=[_INSTRUMENT_PARAM],
        responses={200: s.QuestionnaireOutput(many=True)},
        tags=["patient"],
    )
    def get(self, request):
        return _questionnaire_page(self, request, request.user)

    @extend_schema(
        request=s.QuestionnaireInput,
        responses={200: s.QuestionnaireSubmitOutput, 201: s.QuestionnaireSubmitOutput, **errors(400, 409)},
        tags=["patient"],
        description=(
            "Scored on the server. Partial or out-of-range answers: 400 with `fields.answers` codes "
            "`wrong_item_count` / `answer_out_of_range`. A PHQ-9 with item 9 above 0 opens a safety flag "
            "and the answer carries `crisis_resources`. A retry (same `client_submission_id`) answers 200."
        ),
    )
    def post(self, request):
        data = s.QuestionnaireInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = questionnaire_services.questionnaire_submit(
            actor=request.user, patient=request.user, request=request, **data.validated_data
        )
        context = {"flag": result.flag, "baselines": selectors.baselines(patient=request.user)}
        return Response(
            s.QuestionnaireSubmitOutput(result.response, context=context).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


def _questionnaire_page(view, request, patient: User):
    instrument = request.query_params.get("instrument") or None
    queryset = selectors.questionnaire_history(patient=patient, instrument=instrument)
    return view.paginated(
        queryset, s.QuestionnaireOutput, request=request, context={"baselines": selectors.baselines(patient=patient)}
    )


class PatientVitalsApi(_ListApi):
    pagination_class = KeysetPagination
    cursor_opt_in = True  # page numbers by default (v1); `?cursor=` opts in (docs/api-conventions.md#pagination)
    queryset = VitalReading.objects.none()  # for the schema; reads go through selectors
    permission_classes = [IsPatient]

    @extend_schema(responses={200: s.VitalReadingOutput(many=True)}, tags=["patient"])
    def get(self, request):
        return self.paginated(selectors.vitals_history(patient=request.user), s.VitalReadingOutput, request=request)


class PreSessionCheckApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        request=s.PreSessionCheckInput,
        responses={201: s.PreSessionCheckOutput, **errors(400)},
        tags=["patient"],
        description=(
            "The gate before each at-home session: `go`, `hold` (reasons: bp_above_threshold, "
            "monitor_not_attested, no_treatment_monitor, not_rested, open_safety_flag, pregnant_or_nursing, "
            "pregnancy_status_not_answered, contraindication_unresolved, contraindication_confirmed) or `emergency`."
        ),
    )
    def post(self, request):
        data = s.PreSessionCheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        readings = [vitals_services.Reading(**r) for r in values.pop("readings")]
        result = vitals_services.pre_session_check_submit(
            patient=request.user, readings=readings, request=request, **values
        )
        outcome = result.check.outcome
        instructions = {
            CheckOutcome.EMERGENCY: policy.EMERGENCY_INSTRUCTIONS,
            CheckOutcome.HOLD: policy.HOLD_INSTRUCTIONS,
        }.get(outcome, "")
        body = {"check": result.check, "readings": result.readings, "instructions": instructions}
        return Response(s.PreSessionCheckOutput(body).data, status=status.HTTP_201_CREATED)


# --- physician and staff ----------------------------------------------------------------------


class CareTeamQuestionnaireApi(_ListApi):
    pagination_class = KeysetPagination
    cursor_opt_in = True  # page numbers by default (v1); `?cursor=` opts in (docs/api-conventions.md#pagination)
    queryset = QuestionnaireResponse.objects.none()  # for the schema; reads go through selectors
    permission_classes = [SeesClinical]

    @extend_schema(
        parameters=[_INSTRUMENT_PARAM],
        responses={200: s.QuestionnaireOutput(many=True), **errors(404)},
        tags=["care team"],
    )
    def get(self, request, patient_id):
        patient = selectors.patient_visible_to(viewer=request.user, patient_public_id=patient_id)
        return _questionnaire_page(self, request, patient)


class CareTeamVitalsApi(_ListApi):
    pagination_class = KeysetPagination
    cursor_opt_in = True  # page numbers by default (v1); `?cursor=` opts in (docs/api-conventions.md#pagination)
    queryset = VitalReading.objects.none()  # for the schema; reads go through selectors
    permission_classes = [SeesClinical]

    @extend_schema(responses={200: s.VitalReadingOutput(many=True), **errors(404)}, tags=["care team"])
    def get(self, request, patient_id):
        patient = selectors.patient_visible_to(viewer=request.user, patient_public_id=patient_id)
        return self.paginated(selectors.vitals_history(patient=patient), s.VitalReadingOutput, request=request)


class SafetyFlagListApi(_ListApi):
    queryset = SafetyFlag.objects.none()  # for the schema; reads go through selectors
    permission_classes = [SeesFlags]

    @extend_schema(responses={200: s.SafetyFlagOutput(many=True)}, tags=["care team"])
    def get(self, request):
        return self.paginated(selectors.safety_flag_list(viewer=request.user), s.SafetyFlagOutput, request=request)


class SafetyFlagResolveApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(
        request=s.ResolveInput,
        responses={200: s.SafetyFlagResolvedOutput, **errors(404, 409)},
        tags=["care team"],
        description="Only a physician with the patient on their caseload resolves a flag; staff cannot.",
    )
    def post(self, request, flag_id):
        data = s.ResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        flag = selectors.safety_flag_for_physician(viewer=request.user, flag_public_id=flag_id)
        flag = safety_services.safety_flag_resolve(
            actor=request.user, flag=flag, note=data.validated_data["note"], request=request
        )
        return Response(s.SafetyFlagResolvedOutput(flag).data)


class CareTeamScreeningApi(_ListApi):
    queryset = Screening.objects.none()  # for the schema; reads go through selectors
    permission_classes = [SeesClinical]

    @extend_schema(responses={200: s.ScreeningOutput(many=True), **errors(404)}, tags=["care team"])
    def get(self, request, patient_id):
        patient = selectors.patient_visible_to(viewer=request.user, patient_public_id=patient_id)
        return self.paginated(selectors.screening_list(patient=patient), s.ScreeningOutput, request=request)

    @extend_schema(
        request=s.ScreeningInput,
        responses={201: s.ScreeningOutput, **errors(400, 403, 404)},
        tags=["care team"],
        description=(
            "The patient's physician enters a screening (the free assessment's contraindication and "
            "medication questions). Each item found goes on the chart as an unresolved contraindication "
            "and holds dosing until the physician records a decision."
        ),
    )
    def post(self, request, patient_id):
        data = s.ScreeningInput(data=request.data)
        data.is_valid(raise_exception=True)
        patient = selectors.patient_visible_to(viewer=request.user, patient_public_id=patient_id)
        screening = screening_services.screening_record(
            actor=request.user, patient=patient, request=request, **data.validated_data
        )
        return Response(s.ScreeningOutput(screening).data, status=status.HTTP_201_CREATED)


class CareTeamContraindicationApi(_ListApi):
    queryset = Contraindication.objects.none()  # for the schema; reads go through selectors
    permission_classes = [SeesClinical]

    @extend_schema(responses={200: s.ContraindicationOutput(many=True), **errors(404)}, tags=["care team"])
    def get(self, request, patient_id):
        patient = selectors.patient_visible_to(viewer=request.user, patient_public_id=patient_id)
        return self.paginated(
            selectors.contraindication_list(patient=patient), s.ContraindicationOutput, request=request
        )


class ContraindicationDecisionApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(
        request=s.ContraindicationDecisionInput,
        responses={200: s.ContraindicationOutput, **errors(400, 404, 409)},
        tags=["care team"],
        description=(
            "The patient's physician records the clinical decision on a contraindication: `resolved` with a "
            "note, or `confirmed` (not a candidate: prescribing stays blocked). Staff cannot."
        ),
    )
    def post(self, request, contraindication_id):
        data = s.ContraindicationDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        record = selectors.contraindication_for_physician(viewer=request.user, public_id=contraindication_id)
        record = screening_services.contraindication_decide(
            actor=request.user, contraindication=record, request=request, **data.validated_data
        )
        return Response(s.ContraindicationOutput(record).data)


class ReviewQueueApi(APIView):
    permission_classes = [WorksReviewQueue]

    @extend_schema(
        responses={
            200: inline_serializer(
                "ReviewQueueSummary",
                {
                    "assessments": serializers.IntegerField(),
                    "registrations": serializers.IntegerField(),
                    "open_safety_flags": serializers.IntegerField(),
                },
            )
        },
        tags=["care team"],
        description="Counts; the lists are at review-queue/assessments/ and review-queue/registrations/.",
    )
    def get(self, request):
        return Response(
            {
                "assessments": selectors.review_queue_assessments(viewer=request.user).count(),
                "registrations": selectors.review_queue_registrations(viewer=request.user).count(),
                "open_safety_flags": selectors.safety_flag_list(viewer=request.user).count(),
            }
        )


class ReviewQueueAssessmentsApi(_ListApi):
    queryset = Assessment.objects.none()  # for the schema; reads go through selectors
    permission_classes = [WorksReviewQueue]

    @extend_schema(responses={200: s.ReviewAssessmentOutput(many=True)}, tags=["care team"])
    def get(self, request):
        queryset = selectors.review_queue_assessments(viewer=request.user)
        return self.paginated(queryset, s.ReviewAssessmentOutput, request=request)


class ReviewQueueRegistrationsApi(_ListApi):
    queryset = PatientProfile.objects.none()  # for the schema; reads go through selectors
    permission_classes = [WorksReviewQueue]

    @extend_schema(responses={200: s.ReviewRegistrationOutput(many=True)}, tags=["care team"])
    def get(self, request):
        queryset = selectors.review_queue_registrations(viewer=request.user)
        return self.paginated(queryset, s.ReviewRegistrationOutput, request=request)


class AssessmentMarkReviewedApi(APIView):
    permission_classes = [WorksReviewQueue]

    @extend_schema(request=None, responses={200: s.ReviewAssessmentOutput, **errors(404)}, tags=["care team"])
    def post(self, request, assessment_id):
        assessment = selectors.assessment_for_staff(viewer=request.user, public_id=assessment_id)
        assessment = assessment_services.assessment_mark_reviewed(
            actor=request.user, assessment=assessment, request=request
        )
        return Response(s.ReviewAssessmentOutput(assessment).data)


class AssignPhysicianApi(APIView):
    permission_classes = [WorksReviewQueue]

    @extend_schema(
        request=s.AssignPhysicianInput, responses={200: s.ProfileOutput, **errors(404, 409, 422)}, tags=["care team"]
    )
    def post(self, request, patient_id):
        data = s.AssignPhysicianInput(data=request.data)
        data.is_valid(raise_exception=True)
        patient = selectors.patient_visible_to(
            viewer=request.user, patient_public_id=patient_id, capability=Capability.REVIEW_QUEUE
        )
        physician = User.objects.filter(
            public_id=data.validated_data["physician_id"], role=Role.PHYSICIAN, is_active=True
        ).first()
        if physician is None:
            raise NotFound("No such physician.")
        with transaction.atomic():
            patient_assign_physician(actor=request.user, patient=patient, physician=physician, request=request)
        profile = selectors.patient_profile(patient=patient)
        return Response(s.ProfileOutput(profile).data)
