from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from api.docs import DocsView
from api.health import healthz, livez, readyz
from api.metrics import metrics

api_v1 = [
    path("auth/", include("accounts.urls")),
    path("billing/", include("billing.urls")),
    path("", include("practice.urls")),
    path("", include("patients.urls")),
    path("", include("scheduling.urls")),
    path("", include("prescriptions.urls")),
    path("", include("careteam.urls")),
    path("", include("outcomes.urls")),
    path("", include("treatment.urls")),
    path("", include("messaging.urls")),
    path("", include("notifications.urls")),
    path("", include("interop.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/console/", include("console.urls")),  # staff pages in the admin (docs/staff-console.md)
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "v1"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", DocsView.as_view(url_name="schema"), name="api-docs"),
    path("webhooks/", include("billing.webhook_urls")),
    path("webhooks/", include("prescriptions.webhook_urls")),
    path("webhooks/", include("notifications.webhook_urls")),
    path("fhir/r4/", include("interop.fhir_urls")),
]

handler400 = "api.exceptions.bad_request_view"
handler403 = "api.exceptions.permission_denied_view"
handler404 = "api.exceptions.not_found_view"
handler500 = "api.exceptions.server_error_view"
