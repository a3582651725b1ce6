from django.urls import path

from billing import apis

app_name = "billing"

urlpatterns = [
    path("checkout-session/", apis.CheckoutSessionApi.as_view(), name="checkout-session"),
    path("subscription/", apis.MySubscriptionApi.as_view(), name="subscription"),
    path("subscription/cancel/", apis.CancelSubscriptionApi.as_view(), name="subscription-cancel"),
    path("portal-session/", apis.PortalSessionApi.as_view(), name="portal-session"),
    path("invoices/", apis.MyInvoicesApi.as_view(), name="invoices"),
    path("staff/subscriptions/", apis.StaffSubscriptionListApi.as_view(), name="staff-subscriptions"),
    path("staff/invoices/", apis.StaffInvoiceListApi.as_view(), name="staff-invoices"),
    path("sandbox/pay/", apis.SandboxPayApi.as_view(), name="sandbox-pay"),
    path("staff/sandbox/renewal/", apis.StaffSandboxRenewalApi.as_view(), name="staff-sandbox-renewal"),
    path("staff/past-due/", apis.StaffPastDueApi.as_view(), name="staff-past-due"),
]
