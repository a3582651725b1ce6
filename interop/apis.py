"""The record export's JSON routes: a patient's own (/patient/record-export/), a clinician's on a
patient's behalf (/physician/patients/<id>/record-export/), and the signed download link."""

from __future__ import annotations

import base64

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_log
from accounts.models import AuditAction
from accounts.permissions import IsPatient, SeesClinical
from api.errors import NotFound
from api.schema import errors
from interop import serializers as s
from interop import services
from interop.models import RecordExport
from patients.selectors import patient_visible_to

TAGS = ["record export"]
_LIST_LIMIT = 20


def _exports(*, patient, requested_by):
    return RecordExport.objects.filter(patient=patient, requested_by=requested_by).select_related("patient")[
        :_LIST_LIMIT
    ]


class _ExportListMixin:
    def _list(self, request, patient):
        exports = list(_exports(patient=patient, requested_by=request.user))
        if exports:
            audit_log(request, AuditAction.READ, *exports, detail="record export status")
        return Response(s.RecordExportOutput(exports, many=True, context={"request": request}).data)

    def _start(self, request, patient):
        export, created = services.record_export_request(request=request, requested_by=request.user, patient=patient)
        body = s.RecordExportOutput(export, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class PatientRecordExportApi(_ExportListMixin, APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        responses={200: s.RecordExportOutput(many=True), **errors(401, 403)},
        tags=TAGS,
        description=(
            "Your record exports, newest first (at most 20): status (`pending`, `running`, `ready`, `failed`), "
            "progress in percent, and while `ready` and not past `available_until`, fresh download links "
            "(`bundle`: a FHIR R4B Bundle; `pdf`: a summary) that expire after a few minutes. Audited."
        ),
    )
    def get(self, request):
        return self._list(request, request.user)

    @extend_schema(
        request=None,
        responses={202: s.RecordExportOutput, 200: s.RecordExportOutput, **errors(401, 403)},
        tags=TAGS,
        description=(
            "Start an export of your whole record (HIPAA right of access), built in the background: 202 with the "
            "new export, or 200 with the one already pending or running. Poll GET for its progress."
        ),
    )
    def post(self, request):
        return self._start(request, request.user)


class PatientRecordExportDetailApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        responses={200: s.RecordExportOutput, **errors(401, 403, 404)},
        tags=TAGS,
        description="One of your exports with its progress and, when ready, fresh download links. Audited.",
    )
    def get(self, request, export_id):
        export = (
            RecordExport.objects.filter(public_id=export_id, patient=request.user).select_related("patient").first()
        )
        if export is None:
            raise NotFound()
        audit_log(request, AuditAction.READ, export, detail="record export status")
        return Response(s.RecordExportOutput(export, context={"request": request}).data)


class CareTeamRecordExportApi(_ExportListMixin, APIView):
    """A clinician exports a patient's record on the patient's behalf (a records request that
    reached the practice): the chart scope, so a physician's caseload or the medical director."""

    permission_classes = [SeesClinical]

    def _patient(self, request, patient_id):
        return patient_visible_to(viewer=request.user, patient_public_id=patient_id)

    @extend_schema(
        responses={200: s.RecordExportOutput(many=True), **errors(401, 404)},
        tags=TAGS,
        description="The exports of this patient you requested, newest first. Outside your chart scope: 404. Audited.",
    )
    def get(self, request, patient_id):
        return self._list(request, self._patient(request, patient_id))

    @extend_schema(
        request=None,
        responses={202: s.RecordExportOutput, 200: s.RecordExportOutput, **errors(401, 404)},
        tags=TAGS,
        description=(
            "Start an export of this patient's whole record (a physician's caseload; the medical director: any "
            "patient): 202, or 200 with your unfinished one. Audited."
        ),
    )
    def post(self, request, patient_id):
        return self._start(request, self._patient(request, patient_id))


class RecordExportDownloadApi(APIView):
    """The signed link is the credential (short-lived, one export, one part): the browser or a
    share sheet that opens it carries no JWT."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        responses={
            (200, "application/fhir+json"): OpenApiResponse(OpenApiTypes.OBJECT, description="The FHIR Bundle."),
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF summary."),
            **errors(404, 429),
        },
        tags=TAGS,
        auth=[],
        description=(
            "Download one part of a ready export. An invalid or expired link, or an export past its "
            "`available_until`, answers 404 (`not_found`). Every download is audited."
        ),
    )
    def get(self, request, token):
        found = services.export_for_token(token)
        if found is None:
            raise NotFound("This download link is invalid or has expired; ask for a new one.")
        export, part = found
        audit_log(request, AuditAction.READ, export, actor=export.requested_by, detail=f"record export download {part}")
        if part == "pdf":
            response = HttpResponse(base64.b64decode(export.pdf_base64), content_type="application/pdf")
            response["Content-Disposition"] = 'attachment; filename="health-record-summary.pdf"'
        else:
            response = HttpResponse(export.bundle_json, content_type="application/fhir+json")
            response["Content-Disposition"] = 'attachment; filename="health-record.json"'
        response["Cache-Control"] = "no-store"
        return response
