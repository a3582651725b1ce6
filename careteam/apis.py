from __future__ import annotations

from django.core.paginator import EmptyPage, Paginator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_log
from accounts.models import AuditAction
from accounts.permissions import SeesPrescribingReadiness
from api.clock import practice_date
from api.errors import NotFound
from api.schema import errors
from careteam.readiness import readiness_worklist
from careteam.renderers import CSVRenderer
from careteam.serializers import (
    ReadinessPolicyOutput,
    ReadinessQueryInput,
    ReadinessRowOutput,
    ReadinessWorklistOutput,
)

CSV_COLUMNS = [
    "patient_id",
    "patient_name",
    "state",
    "physician_id",
    "physician_name",
    "prescription_id",
    "prescription_expires_on",
    "ready",
    "basis",
    "reasons",
    "next_in_person_visit",
]


class PrescribingReadinessApi(APIView):
    """Who on active treatment could be prescribed by telemedicine on `on`, and why not."""

    permission_classes = [SeesPrescribingReadiness]
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="staff_prescribing_readiness",
        summary="Prescribing readiness worklist (coordinators, medical director: all; a physician: caseload)",
        description=(
            "Every patient on active treatment (a signed, unexpired prescription or an open refill "
            "request) with `ready` on the date `on` under the prescribing policy in force that date, "
            "the basis that would be relied on and the refusal codes otherwise "
            "(`in_person_evaluation_required`), their next booked in-person evaluation, and counts "
            "per physician and per state. Not-ready patients come first. `?format=csv` (or "
            "`Accept: text/csv`) answers the whole list as CSV for a spreadsheet."
        ),
        parameters=[
            OpenApiParameter("on", OpenApiTypes.DATE, description="Date to judge; today by default."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="1-500, default 50."),
            OpenApiParameter("format", str, enum=["json", "csv"]),
        ],
        responses={
            200: OpenApiResponse(ReadinessWorklistOutput, description="JSON; or text/csv with ?format=csv"),
            **errors(400, 401, 403, 404),
        },
        tags=["care team"],
    )
    def get(self, request, *args, **kwargs):
        query = ReadinessQueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        on = query.validated_data.get("on") or practice_date()
        worklist = readiness_worklist(viewer=request.user, on=on)
        rows = worklist.rows
        if request.accepted_renderer.format == "csv":
            audit_log(request, AuditAction.READ, *[row.prescription for row in rows], detail="readiness csv")
            data = ReadinessRowOutput(rows, many=True).data
            return Response(
                {"columns": CSV_COLUMNS, "rows": data},
                headers={"Content-Disposition": f'attachment; filename="prescribing-readiness-{on}.csv"'},
            )
        size = query.validated_data.get("page_size", 50)
        number = query.validated_data.get("page", 1)
        paginator = Paginator(rows, size)
        try:
            page = paginator.page(number) if rows else None
        except EmptyPage:
            raise NotFound("That page does not exist.")
        shown = list(page.object_list) if page else []
        audit_log(request, AuditAction.READ, *[row.prescription for row in shown], detail="readiness")
        base = request.build_absolute_uri(request.path)

        def link(n):
            return f"{base}?on={on.isoformat()}&page={n}&page_size={size}"

        counts = worklist.counts()
        return Response(
            {
                "on": on,
                "policy": ReadinessPolicyOutput(worklist.policy).data,
                **counts,
                "count": len(rows),
                "next": link(page.next_page_number()) if page and page.has_next() else None,
                "previous": link(page.previous_page_number()) if page and page.has_previous() else None,
                "results": ReadinessRowOutput(shown, many=True).data,
            }
        )
