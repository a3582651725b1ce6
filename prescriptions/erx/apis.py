"""Thin views of e-prescribing: the prescriber's signing session, and the sandbox's signing screen."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsPhysician
from api.schema import errors
from prescriptions import selectors
from prescriptions import serializers as s
from prescriptions.services import erx


class EpcsSessionOutput(serializers.Serializer):
    url = serializers.URLField(help_text="The vendor's single-sign-on URL to its EPCS signing screen.")
    provider = serializers.CharField()
    vendor_prescription_id = serializers.CharField()
    erx_status = serializers.CharField()


class SandboxSignInput(serializers.Serializer):
    code = serializers.RegexField(r"^\d{6}$", help_text="The one-time code the sandbox vendor wrote to the log.")
    outcome = serializers.ChoiceField(
        choices=["transmitted", "pharmacy_received", "error"],
        default="transmitted",
        help_text="What the simulated pharmacy network does after the signature (errors on request).",
    )


class PhysicianEpcsSessionApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(
        responses={200: EpcsSessionOutput, **errors(404, 409, 422, 503)},
        tags=["prescriptions"],
        description="For your own prescription in `awaiting_epcs_signature`: the vendor's single-sign-on URL "
        "where you sign with two factors (21 CFR 1311). The gates are re-checked first: one that fails "
        "cancels the proposal (422 `signing_refused`). 409 `epcs_not_enabled`, "
        "`not_awaiting_epcs_signature`, or `erx_proposal_pending` (still being sent: retry shortly).",
    )
    def get(self, request, prescription_id):
        session = erx.erx_session_url(actor=request.user, prescription_id=prescription_id, request=request)
        return Response(EpcsSessionOutput(session).data)


class PhysicianSandboxSignApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(
        request=SandboxSignInput,
        responses={200: s.PrescriptionDetailOutput, **errors(400, 404, 409)},
        tags=["prescriptions"],
        description="Sandbox vendor only (ERX_PROVIDER=sandbox; 404 otherwise): complete the EPCS signature "
        "with the one-time code from the log. The vendor's notifications are applied asynchronously: the "
        "prescription becomes `signed` (erx `transmitted`) a moment later. 400 `invalid_epcs_code`.",
    )
    def post(self, request, prescription_id):
        data = SandboxSignInput(data=request.data)
        data.is_valid(raise_exception=True)
        rx = erx.erx_sandbox_sign(
            actor=request.user,
            prescription_id=prescription_id,
            code=data.validated_data["code"],
            outcome=data.validated_data["outcome"],
            request=request,
        )

        rx = selectors.prescription_get_for_physician(viewer=request.user, public_id=rx.public_id)
        return Response(s.PrescriptionDetailOutput(rx).data)
