"""The API: Django REST framework and its OpenAPI schema (drf-spectacular).

Every app's schema enum names and schema hooks are listed here, grouped by app.
"""

from .environment import env
from .security import TRUSTED_PROXY_COUNT

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.RevocableJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PagePagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.PracticeAutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="600/min"),
        "public_form": env.str("THROTTLE_PUBLIC_FORM", default="20/min"),
        "auth": env.str("THROTTLE_AUTH", default="30/min"),
        "availability": env.str("THROTTLE_AVAILABILITY", default="30/min"),  # scheduling
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Throttles identify the client by the same rule as api.client_ip (None would trust the header).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    # OPTIONS describes a view without introspecting serializers (the schema is /api/schema/).
    "DEFAULT_METADATA_CLASS": "api.metadata.MethodsOnlyMetadata",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Practice API",
    "DESCRIPTION": (
        "API of the at-home ketamine therapy practice (Florida and New Jersey). "
        "Every error answers with one envelope: `{code, message, fields}`; switch on `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
        "api.serializers.mark_deprecated_reference_names",
        # The vendors' webhooks are plain Django views; these hooks document them in the schema.
        "billing.schema.document_stripe_webhook",
        "prescriptions.erx.schema.document_erx_webhook",
        "prescriptions.schema.document_easypost_webhook",
    ],
    # Several models have a "status" (or "state", "kind") field: each set gets its own name here, or
    # drf-spectacular gives it a hashed one (and warns, which check --deploy fails on).
    "ENUM_NAME_OVERRIDES": {
        # practice
        "CredentialStatusEnum": "practice.models.CredentialStatus",
        "LicenceKindEnum": "practice.models.LicenceKind",
        "DEAScheduleEnum": "practice.models.DEASchedule",
        "ServiceStateEnum": "practice.models.ServiceState",
        "USStateEnum": "localflavor.us.us_states.STATE_CHOICES",
        "ServiceAreaReasonEnum": "practice.service_area.REASONS",
        "VisitLocationKindEnum": "scheduling.models.VisitLocationKind",
        # billing
        "BillingSubscriptionStatusEnum": "billing.models.SubscriptionStatus",
        "BillingInvoiceStatusEnum": "billing.models.InvoiceStatus",
        "BillingStandingStatusEnum": "billing.services.standing.StandingStatus",
        # patients
        "SafetyFlagKindEnum": "patients.models.safety.SafetyFlagKind",
        "SafetyFlagStatusEnum": "patients.models.safety.SafetyFlagStatus",
        "PreSessionOutcomeEnum": "patients.models.vitals.CheckOutcome",
        "AssessmentOutcomeEnum": "patients.models.assessments.AssessmentOutcome",
        # scheduling
        "AppointmentStatusEnum": "scheduling.models.AppointmentStatus",
        "AppointmentTypeCodeEnum": "scheduling.models.AppointmentTypeCode",
        "AvailabilityExceptionKindEnum": "scheduling.models.ExceptionKind",
        "VisitModalityEnum": "scheduling.models.Modality",
        "WeekdayEnum": "scheduling.models.Weekday",
        # prescriptions
        "OrderStatusEnum": "prescriptions.models.OrderStatus",
        "PrescriptionStatusEnum": "prescriptions.models.PrescriptionStatus",
        "RefillStatusEnum": "prescriptions.models.RefillStatus",
        "ErxStatusEnum": "prescriptions.erx.models.ErxStatus",
        # outcomes
        "ResponderVerdictEnum": "outcomes.headache.VERDICTS",
        # treatment
        "DosingSessionStatusEnum": "treatment.models.SessionStatus",
        "CheckInStatusEnum": "treatment.serializers.CHECK_IN_STATUSES",
    },
    # The docs page loads Swagger UI from our own static files (whitenoise), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
