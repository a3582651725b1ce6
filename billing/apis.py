"""Billing endpoints (thin: input serializer -> one service or selector -> output serializer)."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_log
from accounts.models import AuditAction
from accounts.permissions import IsPatient, SeesAllBilling
from api.pagination import KeysetPagination
from api.schema import errors
from billing import selectors
from billing.models import Invoice, InvoiceStatus, Subscription, SubscriptionStatus
from billing.serializers import (
    BillingCancelInput,
    BillingCheckoutSessionOutput,
    BillingInvoiceOutput,
    BillingMobileSubscriptionOutput,
    BillingMySubscriptionOutput,
    BillingPastDueOutput,
    BillingPortalSessionOutput,
    BillingSandboxPayInput,
    BillingSandboxPayOutput,
    BillingSandboxRenewalInput,
    BillingSandboxRenewalOutput,
    BillingStaffInvoiceFilterInput,
    BillingStaffInvoiceOutput,
    BillingStaffSubscriptionFilterInput,
    BillingStaffSubscriptionOutput,
    BillingSubscribeInput,
    BillingSubscriptionOutput,
)
from billing.services import sandbox, subscribe
from billing.services.standing import standing_from, today

TAGS = ["billing"]


class CheckoutSessionApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        request=BillingSubscribeInput,
        responses={201: BillingCheckoutSessionOutput, **errors(400, 409, 502, 503)},
        tags=TAGS,
        summary="Start a web subscription (Stripe Checkout)",
    )
    def post(self, request):
        data = BillingSubscribeInput(data=request.data)
        data.is_valid(raise_exception=True)
        started = subscribe.checkout_session_start(
            actor=request.user, price_id=data.validated_data.get("price_id"), request=request
        )
        return Response(BillingCheckoutSessionOutput(asdict(started)).data, status=status.HTTP_201_CREATED)


class MySubscriptionApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(responses={200: BillingMySubscriptionOutput}, tags=TAGS, summary="My membership and standing")
    def get(self, request):
        subscription = selectors.subscription_current(patient=request.user)
        if subscription is not None:
            audit_log(request, AuditAction.READ, subscription)
        standing = standing_from(subscription, on=today())
        return Response(BillingMySubscriptionOutput({"subscription": subscription, "standing": asdict(standing)}).data)

    @extend_schema(
        request=BillingSubscribeInput,
        responses={201: BillingMobileSubscriptionOutput, **errors(400, 409, 502, 503)},
        tags=TAGS,
        summary="Start a mobile subscription (PaymentSheet)",
        description="Creates (or reuses) an incomplete subscription and returns what Stripe's PaymentSheet needs.",
    )
    def post(self, request):
        data = BillingSubscribeInput(data=request.data)
        data.is_valid(raise_exception=True)
        started = subscribe.mobile_subscription_start(
            actor=request.user, price_id=data.validated_data.get("price_id"), request=request
        )
        body = {
            "subscription_id": started.subscription.public_id,
            "stripe_subscription_id": started.subscription.stripe_subscription_id,
            "status": started.subscription.status,
            "client_secret": started.client_secret,
            "customer_id": started.customer_id,
            "customer_session_client_secret": started.customer_session_client_secret,
            "publishable_key": started.publishable_key,
            "provider": started.provider,
        }
        return Response(BillingMobileSubscriptionOutput(body).data, status=status.HTTP_201_CREATED)


class CancelSubscriptionApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        request=BillingCancelInput,
        responses={200: BillingSubscriptionOutput, **errors(400, 404, 409, 502, 503)},
        tags=TAGS,
        summary="Cancel my membership at the end of the paid period",
    )
    def post(self, request):
        data = BillingCancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = subscribe.subscription_cancel(
            actor=request.user, subscription_public_id=data.validated_data.get("subscription_id"), request=request
        )
        return Response(BillingSubscriptionOutput(subscription).data)


class PortalSessionApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        request=None,
        responses={201: BillingPortalSessionOutput, **errors(404, 409, 502, 503)},
        tags=TAGS,
        summary="Open the Stripe customer portal (card, invoices, cancellation)",
    )
    def post(self, request):
        url = subscribe.portal_session_start(actor=request.user, request=request)
        return Response(BillingPortalSessionOutput({"url": url}).data, status=status.HTTP_201_CREATED)


class MyInvoicesApi(GenericAPIView):
    queryset = Invoice.objects.none()  # for the schema generator only; reads go through selectors
    permission_classes = [IsPatient]
    serializer_class = BillingInvoiceOutput

    @extend_schema(responses={200: BillingInvoiceOutput(many=True)}, tags=TAGS, summary="My invoices")
    def get(self, request):
        page = self.paginate_queryset(selectors.invoice_list(viewer=request.user))
        audit_log(request, AuditAction.READ, *page)
        return self.get_paginated_response(BillingInvoiceOutput(page, many=True).data)


class StaffSubscriptionListApi(GenericAPIView):
    queryset = Subscription.objects.none()  # for the schema generator only; reads go through selectors
    permission_classes = [SeesAllBilling]
    pagination_class = KeysetPagination
    cursor_opt_in = True  # page numbers by default (v1); `?cursor=` opts in (docs/api-conventions.md#pagination)
    serializer_class = BillingStaffSubscriptionOutput

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=SubscriptionStatus.values),
            OpenApiParameter("patient", str, description="A patient's public id."),
        ],
        responses={200: BillingStaffSubscriptionOutput(many=True)},
        tags=TAGS,
        summary="Staff: every patient's membership",
    )
    def get(self, request):
        filters = BillingStaffSubscriptionFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.subscription_list(
            viewer=request.user,
            status=filters.validated_data.get("status"),
            patient_public_id=filters.validated_data.get("patient"),
        )
        page = self.paginate_queryset(qs)
        audit_log(request, AuditAction.READ, *page)
        return self.get_paginated_response(BillingStaffSubscriptionOutput(page, many=True).data)


class StaffPastDueApi(GenericAPIView):
    queryset = Subscription.objects.none()  # for the schema generator only; reads go through selectors
    permission_classes = [SeesAllBilling]
    serializer_class = BillingPastDueOutput

    @extend_schema(
        responses={200: BillingPastDueOutput(many=True)},
        tags=TAGS,
        summary="Staff: past-due memberships (dunning list), longest overdue first",
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.past_due_list(viewer=request.user))
        audit_log(request, AuditAction.READ, *page)
        return self.get_paginated_response(BillingPastDueOutput(page, many=True, context={"on": today()}).data)


class StaffInvoiceListApi(GenericAPIView):
    queryset = Invoice.objects.none()  # for the schema generator only; reads go through selectors
    permission_classes = [SeesAllBilling]
    serializer_class = BillingStaffInvoiceOutput

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=InvoiceStatus.values),
            OpenApiParameter("patient", str, description="A patient's public id."),
        ],
        responses={200: BillingStaffInvoiceOutput(many=True)},
        tags=TAGS,
        summary="Staff: every patient's invoices",
    )
    def get(self, request):
        filters = BillingStaffInvoiceFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.invoice_list(
            viewer=request.user,
            status=filters.validated_data.get("status"),
            patient_public_id=filters.validated_data.get("patient"),
        )
        page = self.paginate_queryset(qs)
        audit_log(request, AuditAction.READ, *page)
        return self.get_paginated_response(BillingStaffInvoiceOutput(page, many=True).data)


class SandboxPayApi(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        request=BillingSandboxPayInput,
        responses={200: BillingSandboxPayOutput, **errors(400, 402, 404, 409)},
        tags=TAGS,
        summary="Sandbox: pay with a Stripe test card (BILLING_PROVIDER=sandbox only)",
        description=(
            "Stands in for Stripe's PaymentSheet (send the `client_secret` of POST /billing/subscription/) or "
            "Checkout page (send the `session_id` of POST /billing/checkout-session/) while billing runs on the "
            "offline sandbox. The sandbox then sends its signed events to the webhook handler, so the "
            "membership shows on GET /billing/subscription/ once they are applied. A declined test card "
            "answers 402 `card_declined` with a `decline_code`. With real Stripe this route is 404."
        ),
    )
    def post(self, request):
        data = BillingSandboxPayInput(data=request.data)
        data.is_valid(raise_exception=True)
        paid = sandbox.sandbox_payment_confirm(
            actor=request.user,
            card=data.validated_data["card"],
            client_secret=data.validated_data.get("client_secret") or "",
            checkout_session_id=data.validated_data.get("checkout_session_id") or "",
            request=request,
        )
        return Response(BillingSandboxPayOutput(asdict(paid)).data)


class StaffSandboxRenewalApi(APIView):
    permission_classes = [SeesAllBilling]

    @extend_schema(
        request=BillingSandboxRenewalInput,
        responses={200: BillingSandboxRenewalOutput, **errors(400, 404, 409)},
        tags=TAGS,
        summary="Staff, sandbox: charge a membership's next month, paid or failed (BILLING_PROVIDER=sandbox only)",
        description=(
            "Simulates the monthly renewal charge Stripe makes at the end of the period. `failed`: the "
            "membership goes past due (grace period, then shipments pause) and the patient gets the "
            "payment-failed notice; calling it again retries the same invoice. `paid` settles it. A "
            "membership set to cancel ends instead. With real Stripe this route is 404."
        ),
    )
    def post(self, request):
        data = BillingSandboxRenewalInput(data=request.data)
        data.is_valid(raise_exception=True)
        renewal = sandbox.sandbox_renewal_charge(
            actor=request.user,
            patient_public_id=data.validated_data["patient"],
            outcome=data.validated_data["outcome"],
            request=request,
        )
        return Response(BillingSandboxRenewalOutput(asdict(renewal)).data)
