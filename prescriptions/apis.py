"""Thin views: input serializer -> one service or selector -> output serializer.

Reads of prescriptions and orders write audit rows; lists are paginated and cost a constant
number of queries (select_related/prefetch_related in the selectors).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_log
from accounts.models import AuditAction
from accounts.permissions import (
    IsPatient,
    IsPhysician,
    IsPhysicianOrStaff,
    ManagesCatalogue,
    SeesAllShipping,
    SeesPdmp,
    WorksOrders,
)
from api.pagination import KeysetPagination, PagePagination
from api.schema import errors
from prescriptions import selectors
from prescriptions import serializers as s
from prescriptions.models import DeliveryOrder, MedicationProduct, PDMPCheck, Pharmacy, Prescription, RefillRequest
from prescriptions.services import catalogue, orders, prescribing, refills, signing


class _Paged(GenericAPIView):
    """A paginated list (the schema shows the paginated envelope); reads of PHI are audited."""

    pagination_class = PagePagination

    def paginate(self, request, queryset, serializer_class, audit: bool = True):
        page = self.paginate_queryset(queryset)
        if audit:
            audit_log(request, AuditAction.READ, *page, detail="list")
        return self.get_paginated_response(serializer_class(page, many=True).data)


# --- Catalogue and pharmacies -----------------------------------------------------------------
class ProductListApi(_Paged):
    queryset = MedicationProduct.objects.none()  # schema introspection only
    permission_classes = [IsPhysicianOrStaff]

    @extend_schema(responses={200: s.ProductOutput(many=True)}, tags=["prescriptions"])
    def get(self, request):
        return self.paginate(request, selectors.product_list(), s.ProductOutput, audit=False)


class StaffProductListApi(_Paged):
    queryset = MedicationProduct.objects.none()  # schema introspection only
    permission_classes = [ManagesCatalogue]

    @extend_schema(responses={200: s.ProductOutput(many=True)}, tags=["staff"])
    def get(self, request):
        return self.paginate(request, selectors.product_list(include_retired=True), s.ProductOutput, audit=False)

    @extend_schema(request=s.ProductInput, responses={201: s.ProductOutput, **errors(400)}, tags=["staff"])
    def post(self, request):
        data = s.ProductInput(data=request.data)
        data.is_valid(raise_exception=True)
        product = catalogue.product_create(actor=request.user, **data.validated_data)
        return Response(s.ProductOutput(product).data, status=status.HTTP_201_CREATED)


class StaffProductDetailApi(APIView):
    permission_classes = [ManagesCatalogue]

    @extend_schema(request=s.ProductPatchInput, responses={200: s.ProductOutput, **errors(400)}, tags=["staff"])
    def patch(self, request, product_id):
        data = s.ProductPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        product = catalogue.product_update(actor=request.user, product_id=product_id, **data.validated_data)
        return Response(s.ProductOutput(product).data)


class PharmacyListApi(_Paged):
    queryset = Pharmacy.objects.none()  # schema introspection only
    permission_classes = [IsPhysicianOrStaff]

    @extend_schema(
        parameters=[s.PharmacyQueryInput], responses={200: s.PharmacyOutput(many=True)}, tags=["prescriptions"]
    )
    def get(self, request):
        from django.utils import timezone

        query = s.PharmacyQueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        qs = selectors.pharmacies_allowed_for_state(state=query.validated_data["state"], on=timezone.localdate())
        return self.paginate(request, qs, s.PharmacyOutput, audit=False)


# --- Physician: prescriptions -----------------------------------------------------------------
class PhysicianPrescriptionListApi(_Paged):
    queryset = Prescription.objects.none()  # schema introspection only
    permission_classes = [IsPhysician]

    @extend_schema(
        parameters=[s.PrescriptionQueryInput], responses={200: s.PrescriptionOutput(many=True)}, tags=["prescriptions"]
    )
    def get(self, request):
        query = s.PrescriptionQueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        qs = selectors.prescription_list_for_physician(viewer=request.user, status=query.validated_data.get("status"))
        return self.paginate(request, qs, s.PrescriptionOutput)

    @extend_schema(
        request=s.PrescriptionCreateInput,
        responses={201: s.PrescriptionDetailOutput, **errors(400, 404)},
        tags=["prescriptions"],
    )
    def post(self, request):
        data = s.PrescriptionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        rx = prescribing.prescription_draft_create(
            actor=request.user,
            patient_id=v["patient"],
            product_id=v["product"],
            pharmacy_id=v["pharmacy"],
            dose=v["dose"],
            directions=v["directions"],
            quantity=v["quantity"],
            days_supply=v["days_supply"],
            refills=v["refills"],
            first_fill_quantity=v.get("first_fill_quantity"),
            units_per_session=v["units_per_session"],
            sessions_per_day=v["sessions_per_day"],
            sessions_per_week=v["sessions_per_week"],
            supersedes_id=v.get("supersedes"),
            request=request,
        )
        return Response(s.PrescriptionDetailOutput(rx).data, status=status.HTTP_201_CREATED)


class PhysicianPrescriptionDetailApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(responses={200: s.PrescriptionDetailOutput}, tags=["prescriptions"])
    def get(self, request, prescription_id):
        rx = selectors.prescription_get_for_physician(viewer=request.user, public_id=prescription_id)
        audit_log(request, AuditAction.READ, rx)
        return Response(s.PrescriptionDetailOutput(rx).data)

    @extend_schema(
        request=s.PrescriptionPatchInput,
        responses={200: s.PrescriptionDetailOutput, **errors(400, 409)},
        tags=["prescriptions"],
    )
    def patch(self, request, prescription_id):
        data = s.PrescriptionPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        for api_name, service_name in (("product", "product_id"), ("pharmacy", "pharmacy_id")):
            if api_name in changes:
                changes[service_name] = changes.pop(api_name)
        rx = prescribing.prescription_draft_update(
            actor=request.user, prescription_id=prescription_id, request=request, **changes
        )
        return Response(s.PrescriptionDetailOutput(rx).data)


class PhysicianPrescriptionSignApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(
        request=s.SignInput,
        responses={200: s.PrescriptionDetailOutput, **errors(400, 403, 409, 422)},
        tags=["prescriptions"],
        description="Runs every signing gate; 422 `signing_refused` lists every failing reason. "
        "403 `step_up_failed` when the password is wrong.",
    )
    def post(self, request, prescription_id):
        data = s.SignInput(data=request.data)
        data.is_valid(raise_exception=True)
        rx = signing.prescription_sign(
            actor=request.user,
            prescription_id=prescription_id,
            password=data.validated_data["password"],
            pregnant_or_nursing=data.validated_data.get("patient_pregnant_or_nursing"),
            request=request,
        )
        return Response(s.PrescriptionDetailOutput(rx).data)


class PhysicianPrescriptionDiscardApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(request=None, responses={200: s.PrescriptionOutput, **errors(409)}, tags=["prescriptions"])
    def post(self, request, prescription_id):
        rx = prescribing.prescription_draft_discard(
            actor=request.user, prescription_id=prescription_id, request=request
        )
        return Response(s.PrescriptionOutput(rx).data)


class PDMPCheckApi(_Paged):
    queryset = PDMPCheck.objects.none()  # schema introspection only
    permission_classes = [SeesPdmp]

    @extend_schema(responses={200: s.PDMPCheckOutput(many=True)}, tags=["prescriptions"])
    def get(self, request, patient_id):
        patient = selectors.patient_for_care_team(viewer=request.user, patient_public_id=patient_id)
        return self.paginate(request, selectors.pdmp_checks_of(patient=patient), s.PDMPCheckOutput)

    @extend_schema(request=s.PDMPCheckInput, responses={201: s.PDMPCheckOutput, **errors(400)}, tags=["prescriptions"])
    def post(self, request, patient_id):
        data = s.PDMPCheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        check = prescribing.pdmp_check_record(
            actor=request.user, patient_id=patient_id, request=request, **data.validated_data
        )
        return Response(s.PDMPCheckOutput(check).data, status=status.HTTP_201_CREATED)


# --- Physician: refills and orders ------------------------------------------------------------
class PhysicianRefillQueueApi(_Paged):
    queryset = RefillRequest.objects.none()  # schema introspection only
    permission_classes = [IsPhysician]

    @extend_schema(responses={200: s.RefillOutput(many=True)}, tags=["prescriptions"])
    def get(self, request):
        return self.paginate(request, selectors.refill_queue_for_physician(viewer=request.user), s.RefillOutput)


class PhysicianRefillApproveApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(
        request=s.RefillApproveInput, responses={200: s.RefillOutput, **errors(400, 409, 422)}, tags=["prescriptions"]
    )
    def post(self, request, refill_id):
        data = s.RefillApproveInput(data=request.data)
        data.is_valid(raise_exception=True)
        refill = refills.refill_request_approve(
            actor=request.user,
            refill_id=refill_id,
            quantity=data.validated_data.get("quantity"),
            note=data.validated_data["note"],
            request=request,
        )
        return Response(s.RefillOutput(refill).data)


class PhysicianRefillDeclineApi(APIView):
    permission_classes = [IsPhysician]

    @extend_schema(
        request=s.RefillDeclineInput, responses={200: s.RefillOutput, **errors(400, 409)}, tags=["prescriptions"]
    )
    def post(self, request, refill_id):
        data = s.RefillDeclineInput(data=request.data)
        data.is_valid(raise_exception=True)
        refill = refills.refill_request_decline(
            actor=request.user, refill_id=refill_id, reason=data.validated_data["reason"], request=request
        )
        return Response(s.RefillOutput(refill).data)


class PhysicianDeliveryOrderListApi(_Paged):
    queryset = DeliveryOrder.objects.none()  # schema introspection only
    permission_classes = [IsPhysician]

    @extend_schema(responses={200: s.DeliveryOrderOutput(many=True)}, tags=["prescriptions"])
    def get(self, request):
        return self.paginate(
            request, selectors.delivery_order_list_for_physician(viewer=request.user), s.DeliveryOrderOutput
        )


# --- Patient ----------------------------------------------------------------------------------
class PatientPrescriptionListApi(_Paged):
    queryset = Prescription.objects.none()  # schema introspection only
    permission_classes = [IsPatient]

    @extend_schema(responses={200: s.PatientPrescriptionOutput(many=True)}, tags=["patient"])
    def get(self, request):
        return self.paginate(
            request, selectors.prescription_list_for_patient(viewer=request.user), s.PatientPrescriptionOutput
        )


class PatientPrescriptionDetailApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(responses={200: s.PatientPrescriptionOutput}, tags=["patient"])
    def get(self, request, prescription_id):
        rx = selectors.prescription_get_for_patient(viewer=request.user, public_id=prescription_id)
        audit_log(request, AuditAction.READ, rx)
        return Response(s.PatientPrescriptionOutput(rx).data)


class PatientRefillRequestApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        request=s.RefillCreateInput, responses={201: s.RefillOutput, **errors(400, 409, 422)}, tags=["patient"]
    )
    def post(self, request, prescription_id):
        data = s.RefillCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        refill = refills.refill_request_create(
            actor=request.user, prescription_id=prescription_id, note=data.validated_data["note"], request=request
        )
        return Response(s.RefillOutput(refill).data, status=status.HTTP_201_CREATED)


class PatientDeliveryOrderListApi(_Paged):
    queryset = DeliveryOrder.objects.none()  # schema introspection only
    permission_classes = [IsPatient]

    @extend_schema(responses={200: s.DeliveryOrderOutput(many=True)}, tags=["patient"])
    def get(self, request):
        return self.paginate(
            request, selectors.delivery_order_list_for_patient(viewer=request.user), s.DeliveryOrderOutput
        )


class PatientDeliveryOrderDetailApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(responses={200: s.DeliveryOrderDetailOutput}, tags=["patient"])
    def get(self, request, order_id):
        order = selectors.delivery_order_get_for_patient(viewer=request.user, public_id=order_id)
        audit_log(request, AuditAction.READ, order)
        return Response(s.DeliveryOrderDetailOutput(order).data)


# --- Staff delivery board ---------------------------------------------------------------------
_BOARD_FILTERS = frozenset(s.DeliveryOrderQueryInput._declared_fields)
_ORDER_LABEL = DeliveryOrder._meta.label_lower  # the audit rows of the board's plain rows


class StaffDeliveryOrderListApi(_Paged):
    """The board grows with every order ever placed: keyset pages (constant cost at any depth);
    `?page=` still works for clients written before cursors (docs/api-conventions.md#pagination)."""

    queryset = DeliveryOrder.objects.none()  # schema introspection only
    permission_classes = [SeesAllShipping]
    pagination_class = KeysetPagination
    cursor_ordering = ("-created_at", "-id")
    page_number_fallback = True

    @extend_schema(
        parameters=[s.DeliveryOrderQueryInput], responses={200: s.DeliveryOrderOutput(many=True)}, tags=["staff"]
    )
    def get(self, request):
        filters = {}
        if not _BOARD_FILTERS.isdisjoint(request.query_params):  # the unfiltered board has nothing to check
            query = s.DeliveryOrderQueryInput(data=request.query_params)
            query.is_valid(raise_exception=True)
            filters = query.validated_data
        rows = selectors.delivery_order_board(**filters)
        count = selectors.delivery_order_board_count(filters=filters)
        page = self.paginator.paginate_queryset(rows, request, view=self, count=count)
        audit_log(request, AuditAction.READ, *page, detail="list", object_type=_ORDER_LABEL)
        return self.get_paginated_response(s.delivery_order_list_data(page))


class StaffDeliveryOrderDetailApi(APIView):
    permission_classes = [SeesAllShipping]

    @extend_schema(responses={200: s.DeliveryOrderDetailOutput}, tags=["staff"])
    def get(self, request, order_id):
        order = selectors.delivery_order_get_for_staff(public_id=order_id)
        audit_log(request, AuditAction.READ, order)
        return Response(s.DeliveryOrderDetailOutput(order).data)


class StaffDeliveryOrderTransitionApi(APIView):
    permission_classes = [WorksOrders]

    @extend_schema(
        request=s.TransitionInput,
        responses={200: s.DeliveryOrderDetailOutput, **errors(400, 409)},
        tags=["staff"],
        description="Move the order along its state machine; 409 `illegal_transition` otherwise.",
    )
    def post(self, request, order_id):
        data = s.TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        orders.delivery_order_transition(
            actor=request.user,
            order_id=order_id,
            to_status=v["to"],
            note=v["note"],
            carrier=v["carrier"],
            tracking_number=v["tracking_number"],
            request=request,
        )
        order = selectors.delivery_order_get_for_staff(public_id=order_id)
        return Response(s.DeliveryOrderDetailOutput(order).data)
