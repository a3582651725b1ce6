"""Thin views of the messaging app: parse, call one service or selector, serialize. Every read
of messages writes the audit trail; out of scope is 404 (docs/messaging.md#who-sees-what)."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_log
from accounts.models import AuditAction
from accounts.permissions import IsPatient, SeesMessages
from api.errors import NotFound
from api.pagination import KeysetPagination, PagePagination
from api.schema import errors
from messaging import selectors, services
from messaging import serializers as s
from messaging.errors import FieldInvalid
from messaging.models import Message, Thread

TAGS = ["messaging"]
_PARSERS = [JSONParser, MultiPartParser]

_SEND_DESCRIPTION = (
    "JSON, or multipart/form-data with an `attachment` (PDF, JPEG, PNG or WebP, checked by content; "
    "`file_too_large`, `unsupported_file_type`, `empty_file`). `body` may be empty only with an attachment."
)


def _send_input(request):
    data = s.MessageInput(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data.get("body") or "", data.validated_data.get("attachment")


def _attachment_response(message: Message):
    if not message.attachment:
        raise NotFound()
    # At most MESSAGING_ATTACHMENT_MAX_BYTES: read whole, from whatever storage holds it.
    with message.attachment.open("rb") as handle:
        response = HttpResponse(handle.read(), content_type=message.attachment_content_type)
    response["Content-Disposition"] = "attachment"
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- patient ----------------------------------------------------------------------------------
class PatientMessagesApi(GenericAPIView):
    queryset = Message.objects.none()  # for the schema; reads go through selectors
    permission_classes = [IsPatient]
    pagination_class = KeysetPagination
    cursor_opt_in = True  # page numbers by default (v1); `?cursor=` opts in (docs/api-conventions.md#pagination)
    page_count = "from_page"
    parser_classes = _PARSERS

    @extend_schema(
        responses={200: s.ThreadMessageOutput(many=True)},
        tags=TAGS,
        description="Your thread with your care team, newest first. Opening it marks the care team's messages read.",
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.thread_messages(thread=selectors.thread_of(patient=request.user)))
        services.messages_mark_read_by_patient(patient=request.user, messages=page)
        audit_log(request, AuditAction.READ, *page)
        return self.get_paginated_response(s.ThreadMessageOutput(page, many=True).data)

    @extend_schema(
        request=s.MessageInput,
        responses={201: s.SentOutput, **errors(400)},
        tags=TAGS,
        description=(
            "Write to your care team; they answer within one business day. Not for emergencies: a message "
            "with crisis words gets an automatic reply at once (call or text 988; 911 in an emergency) and "
            "the care team is asked to look today. " + _SEND_DESCRIPTION
        ),
    )
    def post(self, request):
        body, attachment = _send_input(request)
        sent = services.message_send_by_patient(patient=request.user, body=body, attachment=attachment, request=request)
        out = {"message": sent.message, "automatic_reply": sent.automatic_reply}
        return Response(s.SentOutput(out).data, status=status.HTTP_201_CREATED)


class PatientMessageAttachmentApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY), **errors(404)},
        tags=TAGS,
        description="The file of a message in your thread (its own content type).",
    )
    def get(self, request, message_id):
        message = selectors.message_in_thread(
            thread=selectors.thread_of(patient=request.user), message_public_id=message_id
        )
        response = _attachment_response(message)
        audit_log(request, AuditAction.READ, message, detail="attachment")
        return response


# --- care team --------------------------------------------------------------------------------
_STATUS = OpenApiParameter(
    "status",
    OpenApiTypes.STR,
    enum=list(selectors.INBOX_STATUSES),
    description="unanswered (default): waiting for a reply; mine: waiting, your caseload or last answered by you; all.",
)


class InboxApi(GenericAPIView):
    queryset = Thread.objects.none()  # for the schema; reads go through selectors
    permission_classes = [SeesMessages]
    pagination_class = PagePagination

    @extend_schema(
        parameters=[_STATUS],
        responses={200: s.InboxThreadOutput(many=True), **errors(400)},
        tags=TAGS,
        description=(
            "Threads of the patients in your scope, the soonest reply time first; `overdue` once past it "
            "(one business day in the practice's zone). No message text here."
        ),
    )
    def get(self, request):
        wanted = request.query_params.get("status") or "unanswered"
        if wanted not in selectors.INBOX_STATUSES:
            raise FieldInvalid("status", "invalid_choice", "One of: unanswered, mine, all.")
        now = timezone.now()
        page = self.paginate_queryset(selectors.inbox(viewer=request.user, status=wanted, now=now))
        audit_log(request, AuditAction.READ, *page, detail="inbox")
        return self.get_paginated_response(s.InboxThreadOutput(page, many=True, context={"now": now}).data)


class CareTeamMessagesApi(GenericAPIView):
    queryset = Message.objects.none()  # for the schema; reads go through selectors
    permission_classes = [SeesMessages]
    pagination_class = KeysetPagination
    cursor_opt_in = True  # page numbers by default (v1); `?cursor=` opts in (docs/api-conventions.md#pagination)
    page_count = "from_page"
    parser_classes = _PARSERS

    @extend_schema(
        responses={200: s.ThreadMessageOutput(many=True), **errors(404)},
        tags=TAGS,
        description=(
            "A patient's thread, newest first (a physician: caseload; coordinators and the medical "
            "director: any). Audited."
        ),
    )
    def get(self, request, patient_id):
        patient = selectors.patient_for_care_team(viewer=request.user, patient_public_id=patient_id)
        page = self.paginate_queryset(selectors.thread_messages(thread=selectors.thread_of(patient=patient)))
        audit_log(request, AuditAction.READ, *page)
        return self.get_paginated_response(s.ThreadMessageOutput(page, many=True).data)

    @extend_schema(
        request=s.MessageInput,
        responses={201: s.ThreadMessageOutput, **errors(400, 404)},
        tags=TAGS,
        description=(
            "Reply: the thread is answered (its reply clock stops) and the patient is told a message is "
            "waiting, never what it says. " + _SEND_DESCRIPTION
        ),
    )
    def post(self, request, patient_id):
        patient = selectors.patient_for_care_team(viewer=request.user, patient_public_id=patient_id)
        body, attachment = _send_input(request)
        message = services.message_send_by_care_team(
            actor=request.user, patient=patient, body=body, attachment=attachment, request=request
        )
        return Response(s.ThreadMessageOutput(message).data, status=status.HTTP_201_CREATED)


class CareTeamMessageReadApi(APIView):
    permission_classes = [SeesMessages]

    @extend_schema(
        request=None,
        responses={200: s.ThreadMessageOutput, **errors(404)},
        tags=TAGS,
        description="Mark a patient's message read (the first reader is kept).",
    )
    def post(self, request, patient_id, message_id):
        patient = selectors.patient_for_care_team(viewer=request.user, patient_public_id=patient_id)
        message = selectors.message_in_thread(thread=selectors.thread_of(patient=patient), message_public_id=message_id)
        message = services.message_mark_read(actor=request.user, message=message, request=request)
        return Response(s.ThreadMessageOutput(message).data)


class CareTeamMessageAttachmentApi(APIView):
    permission_classes = [SeesMessages]

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY), **errors(404)},
        tags=TAGS,
        description="The file of a message in the patient's thread. Audited.",
    )
    def get(self, request, patient_id, message_id):
        patient = selectors.patient_for_care_team(viewer=request.user, patient_public_id=patient_id)
        message = selectors.message_in_thread(thread=selectors.thread_of(patient=patient), message_public_id=message_id)
        response = _attachment_response(message)
        audit_log(request, AuditAction.READ, message, detail="attachment")
        return response
