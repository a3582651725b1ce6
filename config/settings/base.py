"""Settings shared by every environment.

Every value that differs between environments comes from the environment (django-environ),
with a safe local default here; production.py removes the defaults for secrets.
"""

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env.str("SECRET_KEY", default="local-dev-only-not-a-secret-0123456789abcdefghijklmnop")
# Old keys still accepted for reading (sessions, reset codes, encrypted fields) during a rotation.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: the docs page works offline
    "axes",
    "phonenumber_field",
    # Project apps, bottom of the dependency order first (README: Architecture).
    "api",
    "accounts",
    "notifications",
    "billing",
    "practice",
    "patients",
    "scheduling",
    "prescriptions",
    "treatment",
    "outcomes",
    "messaging",
    "careteam",
    "console",  # staff pages in the admin (reads every app's selectors)
    "interop",
    "seeds",
]

MIDDLEWARE = [
    "api.metrics.MetricsMiddleware",  # outermost: times the whole request (docs/deploying.md#metrics)
    "api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "api.middleware.ApiEdgeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.AdminIdleTimeoutMiddleware",
    # Axes last: it turns a locked-out admin login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# SQLite by default (embedded, for a newcomer); DATABASE_URL=postgres://... for PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
    # The web server, the worker and beat share one SQLite file: WAL lets readers run beside a
    # writer, the busy timeout waits for a lock instead of failing, and IMMEDIATE transactions
    # take the write lock at BEGIN so two writers serialise instead of deadlocking.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # Pool, PgBouncer, statement timeout (off outside production by default): config/database.py.
    from config.database import tune_postgres  # noqa: E402

    tune_postgres(DATABASES["default"], env=env, statement_timeout_ms=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Kombu's filesystem transport needs no server: producer and worker share a folder.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),  # broadcasts (inspect, ping), not ./control
        "store_processed": False,
    }
else:
    # A task taken by a worker that dies is handed out again after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only when it has finished, and re-queued if its worker dies, so a
# crash never loses work; every task is therefore written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic work: each app adds its entries below, in its own block (reminders and polls are rows in the database scanned
# here, never far-future ETA tasks).
CELERY_BEAT_SCHEDULE: dict = {}

# --- Celery queues, limits and the one beat (config/queues.py, docs/deploying.md#queues) ---------
from config.queues import QUEUES, QueueTimeLimits, route_task  # noqa: E402

CELERY_TASK_DEFAULT_QUEUE = "default"
# Declared, so a worker started without -Q (the embedded mode, the compose file) consumes them all.
CELERY_TASK_QUEUES = {name: {"routing_key": name} for name in QUEUES}
CELERY_TASK_ROUTES = (route_task,)
# (soft, hard) seconds per queue: the soft limit raises inside the task, the hard one kills it.
CELERY_QUEUE_TIME_LIMITS = {
    name: tuple(env.list(f"CELERY_TIME_LIMITS_{name.upper()}", cast=int, default=default))
    for name, default in (
        ("default", [120, 180]),
        ("notifications", [60, 90]),
        ("integrations", [90, 150]),
        ("reports", [900, 960]),
    )
}
CELERY_TASK_ANNOTATIONS = (QueueTimeLimits(CELERY_QUEUE_TIME_LIMITS),)
# Beat wakes at least this often; with RedBeat its lock lives five times as long.
CELERY_BEAT_MAX_LOOP_INTERVAL = env.int("CELERY_BEAT_MAX_LOOP_INTERVAL", default=30)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # One active beat however many run (a rolling deploy, a second replica): RedBeat keeps the
    # schedule in Redis and only the holder of its lock sends; the others wait for the lock.
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = env.str("CELERY_REDBEAT_REDIS_URL", default=CELERY_BROKER_URL)
    CELERY_REDBEAT_KEY_PREFIX = env.str("CELERY_REDBEAT_KEY_PREFIX", default="practice:redbeat:")
    CELERY_REDBEAT_LOCK_TIMEOUT = env.int("CELERY_REDBEAT_LOCK_TIMEOUT", default=5 * CELERY_BEAT_MAX_LOOP_INTERVAL)

# --- Auth -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.RoleGroupBackend",  # ModelBackend + the permissions of the role's admin group
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60  # one hour

# Sign-in lockout (accounts/lockout.py, docs/security.md#lockout): within the cool-off window, one
# address guessing one account is locked after AXES_FAILURE_LIMIT failures, an account after
# LOCKOUT_ACCOUNT_FAILURES from any addresses, an address after LOCKOUT_IP_FAILURES across accounts.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
LOCKOUT_ACCOUNT_FAILURES = env.int("LOCKOUT_ACCOUNT_FAILURES", default=10)
LOCKOUT_IP_FAILURES = env.int("LOCKOUT_IP_FAILURES", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username", "ip_address"]
AXES_HANDLER = "accounts.lockout.LockoutPolicyHandler"
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_CLIENT_IP_CALLABLE = "api.client_ip.axes_client_ip"
AXES_CLIENT_STR_CALLABLE = "accounts.lockout.client_str"
# A failure while locked is not counted, so nobody can stretch a lock past one cool-off.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_VERBOSE = False

# Admin sessions end after this much idle time (accounts.middleware.AdminIdleTimeoutMiddleware).
ADMIN_IDLE_TIMEOUT = timedelta(minutes=env.int("ADMIN_IDLE_TIMEOUT_MINUTES", default=30))
SESSION_COOKIE_HTTPONLY = True

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

# --- Client IP (api/client_ip.py, docs/security.md#client-ip) ---------------------------------
# How many reverse proxies of ours append to X-Forwarded-For in front of the app. 0: the header is
# ignored (the socket's peer is the client). Behind one load balancer: 1. Too high a value lets a
# client choose its address (throttles and lockout then count nothing); too low counts the proxy.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- API --------------------------------------------------------------------------------
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
    ],
    "ENUM_NAME_OVERRIDES": {},
    # The docs page loads Swagger UI from our own static files (whitenoise), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Integrations -----------------------------------------------------------------------
# Development and the demo write each email (password-reset codes included) to a file under
# var/mail/, never to the console, whose output is the log (docs/security.md#demo-email).
# Production sets a real backend (production.py).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="care@practice.example")
# SMS: "console" (prints), "locmem" (tests) or "twilio" (needs the TWILIO_* settings).
SMS_BACKEND = env.str("SMS_BACKEND", default="console")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
# Staff on call receive safety and delivery alerts (comma-separated emails).
CARE_TEAM_ALERT_EMAILS = env.list("CARE_TEAM_ALERT_EMAILS", default=["care-team@practice.example"])

# --- I18N, static -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
PRACTICE_TIME_ZONE = "America/New_York"
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
PHONENUMBER_DEFAULT_REGION = "US"

# --- Logging: no PHI. Log ids and codes, never names, notes, answers or contact details. ---
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "api.middleware.RequestIdLogFilter"},
        "task_id": {"()": "api.jsonlog.TaskIdLogFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "api.jsonlog.JsonFormatter"},  # production (docs/deploying.md#logs)
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("LOG_FORMAT", default="plain"),
            "filters": ["request_id", "task_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset: 404 (docs/deploying.md#metrics).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# =========================================================================================
# Per-app settings. Each app owns one block below; policy values are defaults the practice
# can override from the environment (effective-dated clinical policy lives in the database).
# =========================================================================================

# --- practice (service area, credentials) ---
# Staff are warned this many days before a licence, DEA or CDS registration expires (docs/credentials.md#expiry).
CREDENTIAL_EXPIRY_WARNING_DAYS = env.int("CREDENTIAL_EXPIRY_WARNING_DAYS", default=60)
# Daily: mark expired credentials, then warn about those expiring within the window (once each).
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE["practice-credential-expiry-watch"] = {
    "task": "practice.tasks.credential_expiry_watch",
    "schedule": crontab(hour=5, minute=7),  # UTC: after midnight in Florida and New Jersey
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "CredentialStatusEnum": "practice.models.CredentialStatus",
        "LicenceKindEnum": "practice.models.LicenceKind",
        "DEAScheduleEnum": "practice.models.DEASchedule",
        "ServiceStateEnum": "practice.models.ServiceState",
        "USStateEnum": "localflavor.us.us_states.STATE_CHOICES",
        "ServiceAreaReasonEnum": "practice.service_area.REASONS",
        "VisitLocationKindEnum": "scheduling.models.VisitLocationKind",
    }
)

# --- billing ---
# Stripe membership ($250/month, one price). BILLING_ENABLED switches the integration on; when on,
# every Stripe value below is required and checked here, so no environment starts half-configured.
from celery.schedules import crontab  # noqa: E402
from stripe._api_version import _ApiVersion as _StripeApiVersion  # noqa: E402

# BILLING_PROVIDER: "stripe" (the real account), "sandbox" (an offline simulation of Stripe test mode
# feeding the same webhook path; the default when no Stripe key is set; production refuses it unless
# BILLING_ALLOW_SANDBOX=true) or "off" (billing_unavailable). The older BILLING_ENABLED=true/false still
# means stripe/off when BILLING_PROVIDER is unset. docs/billing.md#providers
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
if "BILLING_PROVIDER" in os.environ or "BILLING_ENABLED" not in os.environ:
    BILLING_PROVIDER = env.str("BILLING_PROVIDER", default="stripe" if STRIPE_SECRET_KEY else "sandbox")
else:
    BILLING_PROVIDER = "stripe" if env.bool("BILLING_ENABLED") else "off"
if BILLING_PROVIDER not in ("stripe", "sandbox", "off"):
    from django.core.exceptions import ImproperlyConfigured  # noqa: E402

    raise ImproperlyConfigured("BILLING_PROVIDER must be stripe, sandbox or off.")
BILLING_ALLOW_SANDBOX = env.bool("BILLING_ALLOW_SANDBOX", default=False)
BILLING_ENABLED = BILLING_PROVIDER != "off"
_billing_sandbox = BILLING_PROVIDER == "sandbox"
# The sandbox signs its events with a local secret and sells a local price id (docs/billing.md#sandbox).
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_sandbox" if _billing_sandbox else "")
STRIPE_WEBHOOK_SECRET = env.str(
    "STRIPE_WEBHOOK_SECRET",
    default="whsec_sandbox_" + hashlib.sha256(f"billing-sandbox:{SECRET_KEY}".encode()).hexdigest()[:32]
    if _billing_sandbox
    else "",
)
# the $250/month "Membership - monthly" price
STRIPE_PRICE_ID = env.str("STRIPE_PRICE_ID", default="price_sandbox_membership_monthly" if _billing_sandbox else "")
BILLING_SANDBOX_CHECKOUT_URL = env.str(
    "BILLING_SANDBOX_CHECKOUT_URL", default="https://sandbox-billing.invalid/checkout"
)
BILLING_SANDBOX_PORTAL_URL = env.str("BILLING_SANDBOX_PORTAL_URL", default="https://sandbox-billing.invalid/portal")
# Pinned in one place: requests and webhook payloads are read in this version's shapes.
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", default=_StripeApiVersion.CURRENT)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
BILLING_CHECKOUT_SUCCESS_URL = env.str(
    "BILLING_CHECKOUT_SUCCESS_URL", default="http://localhost:3000/membership/welcome?session_id={CHECKOUT_SESSION_ID}"
)
BILLING_CHECKOUT_CANCEL_URL = env.str("BILLING_CHECKOUT_CANCEL_URL", default="http://localhost:3000/membership")
BILLING_PORTAL_RETURN_URL = env.str("BILLING_PORTAL_RETURN_URL", default="http://localhost:3000/membership")
# DOMAIN 7: a past_due membership keeps its standing this many days, then new shipments pause.
BILLING_PAST_DUE_GRACE_DAYS = env.int("BILLING_PAST_DUE_GRACE_DAYS", default=7)
if BILLING_PROVIDER == "stripe":
    from django.core.exceptions import ImproperlyConfigured  # noqa: E402

    _stripe_expected = {
        "STRIPE_SECRET_KEY": (STRIPE_SECRET_KEY, ("sk_", "rk_")),
        "STRIPE_PUBLISHABLE_KEY": (STRIPE_PUBLISHABLE_KEY, ("pk_",)),
        "STRIPE_WEBHOOK_SECRET": (STRIPE_WEBHOOK_SECRET, ("whsec_",)),
        "STRIPE_PRICE_ID": (STRIPE_PRICE_ID, ("price_",)),
    }
    _stripe_bad = [name for name, (value, prefixes) in _stripe_expected.items() if not value.startswith(prefixes)]
    if _stripe_bad:
        raise ImproperlyConfigured(f"BILLING_PROVIDER=stripe (BILLING_ENABLED) needs valid {', '.join(_stripe_bad)}.")
# Stored Stripe events keep only what processing needs; even that is emptied this many days after
# the event was handled (docs/security.md#webhook-payloads).
BILLING_WEBHOOK_RETENTION_DAYS = env.int("BILLING_WEBHOOK_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["billing-purge-webhook-payloads"] = {
    "task": "billing.tasks.purge_webhook_payloads",
    "schedule": crontab(hour=4, minute=47),
}
CELERY_BEAT_SCHEDULE["billing-reconcile-subscriptions"] = {
    "task": "billing.tasks.reconcile_subscriptions",
    "schedule": crontab(hour=4, minute=17),  # nightly, UTC, away from renewals at midnight
}
# stripe-python logs request and response bodies (emails, names) at DEBUG: never let them through.
LOGGING["loggers"]["stripe"] = {"level": "INFO"}
# The Stripe webhook is a plain Django view; this hook documents it in the OpenAPI schema.
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"].append("billing.schema.document_stripe_webhook")
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "BillingSubscriptionStatusEnum": "billing.models.SubscriptionStatus",
        "BillingInvoiceStatusEnum": "billing.models.InvoiceStatus",
        "BillingStandingStatusEnum": "billing.services.standing.StandingStatus",
    }
)

# --- patients ---
# The clinical thresholds (minimum age, blood pressure, response and remission, item 9, hard
# stops) are effective-dated rows the medical director edits: patients.ClinicalPolicy (docs/policy.md).
# An identical questionnaire re-sent within this window is the same submission (a double tap).
PATIENTS_QUESTIONNAIRE_DEDUPE_MINUTES = env.int("PATIENTS_QUESTIONNAIRE_DEDUPE_MINUTES", default=10)
# A free assessment can be claimed into a new registration for this many days.
PATIENTS_ASSESSMENT_CLAIM_DAYS = env.int("PATIENTS_ASSESSMENT_CLAIM_DAYS", default=30)
# django-fernet-encrypted-fields (safety-flag resolution notes): keys derive from SECRET_KEY (+ SECRET_KEY_FALLBACKS,
# keep the old key there when rotating or the notes become unreadable) and this salt. Project-wide name.
SALT_KEY = env.list("FIELD_ENCRYPTION_SALT_KEY", default=["practice-field-encryption-v1"])
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "SafetyFlagKindEnum": "patients.models.safety.SafetyFlagKind",
        "SafetyFlagStatusEnum": "patients.models.safety.SafetyFlagStatus",
        "PreSessionOutcomeEnum": "patients.models.vitals.CheckOutcome",
        "AssessmentOutcomeEnum": "patients.models.assessments.AssessmentOutcome",
    }
)

# --- scheduling ---
# Slots start on a wall-clock grid in the physician's zone (every N minutes past midnight).
SCHEDULING_SLOT_GRID_MINUTES = env.int("SCHEDULING_SLOT_GRID_MINUTES", default=15)
SCHEDULING_MIN_LEAD_MINUTES = env.int("SCHEDULING_MIN_LEAD_MINUTES", default=120)  # earliest bookable slot
SCHEDULING_MAX_WINDOW_DAYS = env.int("SCHEDULING_MAX_WINDOW_DAYS", default=14)  # per availability request
# Availability entries are cached per physician and invalidated on change (scheduling/availability_cache.py); 0 = off.
SCHEDULING_AVAILABILITY_CACHE_SECONDS = env.int("SCHEDULING_AVAILABILITY_CACHE_SECONDS", default=900)
SCHEDULING_MAX_FUTURE_BOOKINGS = env.int("SCHEDULING_MAX_FUTURE_BOOKINGS", default=3)
SCHEDULING_PATIENT_CANCEL_CUTOFF_HOURS = env.int("SCHEDULING_PATIENT_CANCEL_CUTOFF_HOURS", default=24)
SCHEDULING_START_EARLY_MINUTES = env.int("SCHEDULING_START_EARLY_MINUTES", default=15)
SCHEDULING_REMINDER_OFFSETS_HOURS = env.list("SCHEDULING_REMINDER_OFFSETS_HOURS", cast=int, default=[24, 1])
SCHEDULING_REMINDER_MAX_ATTEMPTS = env.int("SCHEDULING_REMINDER_MAX_ATTEMPTS", default=5)
# Due reminders claimed per scan (one commit); a full chunk enqueues the next scan at once.
SCHEDULING_REMINDER_CHUNK = env.int("SCHEDULING_REMINDER_CHUNK", default=100)
SCHEDULING_AGENDA_LOCAL_HOUR = env.int("SCHEDULING_AGENDA_LOCAL_HOUR", default=6)  # physician's zone
SCHEDULING_APP_URL = env.str("SCHEDULING_APP_URL", default="https://app.practice.example")
# Video: "fake" (development: https://video.invalid/... links), "static" (PhysicianProfile.static_video_url)
# or "daily" (Daily REST API: private rooms + expiring meeting tokens; needs DAILY_API_KEY).
VIDEO_PROVIDER = env.str("VIDEO_PROVIDER", default="fake")
VIDEO_LINK_LEAD_MINUTES = env.int("VIDEO_LINK_LEAD_MINUTES", default=30)  # links made this long before
VIDEO_LINK_VALID_MINUTES = env.int("VIDEO_LINK_VALID_MINUTES", default=120)  # after the visit's start
DAILY_API_URL = env.str("DAILY_API_URL", default="https://api.daily.co/v1")
DAILY_API_KEY = env.str("DAILY_API_KEY", default="")
if VIDEO_PROVIDER not in ("fake", "static", "daily") or (VIDEO_PROVIDER == "daily" and not DAILY_API_KEY):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("VIDEO_PROVIDER must be fake, static or daily; daily needs DAILY_API_KEY.")
if "SALT_KEY" not in globals():  # visit notes are encrypted; the patients block normally sets this already
    SALT_KEY = env.list("FIELD_ENCRYPTION_SALT_KEY", default=["practice-field-encryption-v1"])
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "AppointmentStatusEnum": "scheduling.models.AppointmentStatus",
        "AppointmentTypeCodeEnum": "scheduling.models.AppointmentTypeCode",
        "AvailabilityExceptionKindEnum": "scheduling.models.ExceptionKind",
        "VisitModalityEnum": "scheduling.models.Modality",
        "WeekdayEnum": "scheduling.models.Weekday",
    }
)
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["availability"] = env.str("THROTTLE_AVAILABILITY", default="30/min")
CELERY_BEAT_SCHEDULE["scheduling-send-due-reminders"] = {
    "task": "scheduling.tasks.send_due_reminders",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["scheduling-create-video-links"] = {
    "task": "scheduling.tasks.create_due_video_links",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["scheduling-physician-agendas"] = {
    "task": "scheduling.tasks.send_physician_agendas",
    "schedule": 15 * 60.0,
}

# --- prescriptions ---
# Clinical prescribing policy (evaluation window, PDMP ages, supply/refill limits, the federal
# telemedicine end date) is effective-dated in the database: prescriptions.PrescribingPolicy.
# Pharmacy hand-off: "email" (the order goes to the pharmacy's email; it is a prescription
# transmission, so it carries the Rx by necessity and is never logged).
PHARMACY_GATEWAY = env.str("PHARMACY_GATEWAY", default="email")
# Carrier tracking: "fake" (dev/tests, no network) or "easypost" (needs EASYPOST_API_KEY and
# EASYPOST_WEBHOOK_SECRET; the webhook refuses every request without a secret).
CARRIER_TRACKER = env.str("CARRIER_TRACKER", default="fake")
EASYPOST_API_KEY = env.str("EASYPOST_API_KEY", default="")
EASYPOST_WEBHOOK_SECRET = env.str("EASYPOST_WEBHOOK_SECRET", default="")
EASYPOST_TIMEOUT_SECONDS = env.int("EASYPOST_TIMEOUT_SECONDS", default=20)
if PHARMACY_GATEWAY not in ("email",) or CARRIER_TRACKER not in ("fake", "easypost"):
    from django.core.exceptions import ImproperlyConfigured  # noqa: E402

    raise ImproperlyConfigured("PHARMACY_GATEWAY must be email; CARRIER_TRACKER must be fake or easypost.")
if CARRIER_TRACKER == "easypost" and not (EASYPOST_API_KEY and EASYPOST_WEBHOOK_SECRET):
    from django.core.exceptions import ImproperlyConfigured  # noqa: E402

    raise ImproperlyConfigured("CARRIER_TRACKER=easypost needs EASYPOST_API_KEY and EASYPOST_WEBHOOK_SECRET.")
# Poll a shipment's tracker when the carrier has been silent this long (webhook fallback).
SHIPMENT_POLL_AFTER_HOURS = env.int("SHIPMENT_POLL_AFTER_HOURS", default=4)
# Alert staff (once per shipment) when the carrier has been silent this long.
SHIPMENT_SILENT_ALERT_HOURS = env.int("SHIPMENT_SILENT_ALERT_HOURS", default=72)
# The staff board's "overdue" filter: hours an order may sit in a status before it is stuck.
DELIVERY_STUCK_AFTER_HOURS = env.dict(
    "DELIVERY_STUCK_AFTER_HOURS",
    cast={"value": int},
    default={
        "created": 24,
        "sent_to_pharmacy": 48,
        "compounding": 72,
        "shipped": 72,
        "in_transit": 120,
        "out_for_delivery": 24,
        "exception": 24,
    },
)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "OrderStatusEnum": "prescriptions.models.OrderStatus",
        "PrescriptionStatusEnum": "prescriptions.models.PrescriptionStatus",
        "RefillStatusEnum": "prescriptions.models.RefillStatus",
    }
)
# Several models now have a "status" field: one un-named set left would get a hashed name.
if "practice.models.CredentialStatus" not in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].values():
    SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["CredentialStatusEnum"] = "practice.models.CredentialStatus"
# Daily: inside the notice window before a prescribing-policy switch, the care team's readiness
# counts and one notice to each patient not ready (careteam/services.py).
CELERY_BEAT_SCHEDULE["careteam-prescribing-readiness-watch"] = {
    "task": "careteam.tasks.prescribing_readiness_watch",
    "schedule": crontab(hour=13, minute=3),  # UTC: 08:03/09:03 in New York, after the night's jobs
}
CELERY_BEAT_SCHEDULE["prescriptions-poll-stale-shipments"] = {
    "task": "prescriptions.tasks.poll_stale_shipments",
    "schedule": 30 * 60,
}
CELERY_BEAT_SCHEDULE["prescriptions-alert-silent-shipments"] = {
    "task": "prescriptions.tasks.alert_silent_shipments",
    "schedule": 60 * 60,
}

# --- Notifications: the transactional outbox (docs/notifications.md) ------------------------
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=8)
NOTIFICATIONS_RETRY_BASE_SECONDS = env.int("NOTIFICATIONS_RETRY_BASE_SECONDS", default=30)
NOTIFICATIONS_RETRY_MAX_SECONDS = env.int("NOTIFICATIONS_RETRY_MAX_SECONDS", default=3600)
# How long the after-commit fast path has before the sweep takes a new row too.
NOTIFICATIONS_SWEEP_AFTER_SECONDS = env.int("NOTIFICATIONS_SWEEP_AFTER_SECONDS", default=30)
# A row claimed this long ago and never marked belongs to a dead worker (longer than any
# provider timeout, so a slow send is not repeated).
NOTIFICATIONS_STALE_SENDING_SECONDS = env.int("NOTIFICATIONS_STALE_SENDING_SECONDS", default=300)
NOTIFICATIONS_SWEEP_CHUNK = env.int("NOTIFICATIONS_SWEEP_CHUNK", default=100)
CELERY_BEAT_SCHEDULE["notifications-outbox-sweep"] = {
    "task": "notifications.tasks.outbox_sweep",
    "schedule": env.float("NOTIFICATIONS_SWEEP_EVERY_SECONDS", default=30.0),
}

# --- e-prescribing (EPCS) ---
# ERX_PROVIDER: "sandbox" (the embedded default: an offline simulation of the vendor; production
# refuses it unless ERX_ALLOW_SANDBOX=true, for staging) or "dosespot" (DoseSpot REST API v2; every
# DOSESPOT_* value and ERX_WEBHOOK_SECRET are required). docs/e-prescribing.md
ERX_PROVIDER = env.str("ERX_PROVIDER", default="sandbox")
ERX_ALLOW_SANDBOX = env.bool("ERX_ALLOW_SANDBOX", default=False)
ERX_WEBHOOK_SECRET = env.str("ERX_WEBHOOK_SECRET", default="")
ERX_POLL_AFTER_MINUTES = env.int("ERX_POLL_AFTER_MINUTES", default=15)
ERX_SEND_MAX_ATTEMPTS = env.int("ERX_SEND_MAX_ATTEMPTS", default=8)
ERX_SANDBOX_SSO_URL = env.str("ERX_SANDBOX_SSO_URL", default="https://sandbox-erx.invalid/LoginSingleSignOn")
ERX_SANDBOX_PHARMACY_DELAY_SECONDS = env.int("ERX_SANDBOX_PHARMACY_DELAY_SECONDS", default=120)
DOSESPOT_BASE_URL = env.str("DOSESPOT_BASE_URL", default="https://my.staging.dosespot.com/webapi/v2/")
DOSESPOT_SSO_URL = env.str("DOSESPOT_SSO_URL", default="https://my.staging.dosespot.com/LoginSingleSignOn.aspx")
DOSESPOT_CLINIC_ID = env.str("DOSESPOT_CLINIC_ID", default="")
DOSESPOT_CLINIC_KEY = env.str("DOSESPOT_CLINIC_KEY", default="")
DOSESPOT_USER_ID = env.str("DOSESPOT_USER_ID", default="")
DOSESPOT_SUBSCRIPTION_KEY = env.str("DOSESPOT_SUBSCRIPTION_KEY", default="")
DOSESPOT_TIMEOUT_SECONDS = env.int("DOSESPOT_TIMEOUT_SECONDS", default=20)
if ERX_PROVIDER not in ("sandbox", "dosespot"):
    from django.core.exceptions import ImproperlyConfigured  # noqa: E402

    raise ImproperlyConfigured("ERX_PROVIDER must be sandbox or dosespot.")
if ERX_PROVIDER == "dosespot" and not all(
    (DOSESPOT_CLINIC_ID, DOSESPOT_CLINIC_KEY, DOSESPOT_USER_ID, DOSESPOT_SUBSCRIPTION_KEY, ERX_WEBHOOK_SECRET)
):
    from django.core.exceptions import ImproperlyConfigured  # noqa: E402

    raise ImproperlyConfigured(
        "ERX_PROVIDER=dosespot needs DOSESPOT_CLINIC_ID, DOSESPOT_CLINIC_KEY, DOSESPOT_USER_ID, "
        "DOSESPOT_SUBSCRIPTION_KEY and ERX_WEBHOOK_SECRET."
    )
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["ErxStatusEnum"] = "prescriptions.erx.models.ErxStatus"
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"].append("prescriptions.erx.schema.document_erx_webhook")
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"].append("prescriptions.schema.document_easypost_webhook")
CELERY_BEAT_SCHEDULE["prescriptions-erx-sweep"] = {"task": "prescriptions.erx.tasks.sweep", "schedule": 60}
CELERY_BEAT_SCHEDULE["prescriptions-erx-poll-silent"] = {
    "task": "prescriptions.erx.tasks.poll_silent",
    "schedule": 5 * 60,
}
CELERY_BEAT_SCHEDULE["prescriptions-erx-recheck-awaiting"] = {
    "task": "prescriptions.erx.tasks.recheck_awaiting",
    "schedule": 5 * 60,
}

# --- outcomes ---
# Headache and pain outcomes (docs/outcomes.md). Defaults are the published definitions (IHS trial
# guidelines, ICHD-3 1.3 and 8.2); the medical director changes them from the environment.
OUTCOMES_WINDOW_DAYS = env.int("OUTCOMES_WINDOW_DAYS", default=28)
OUTCOMES_MIN_LOGGED_DAYS = env.int("OUTCOMES_MIN_LOGGED_DAYS", default=21)
OUTCOMES_CHRONIC_HEADACHE_DAYS = env.int("OUTCOMES_CHRONIC_HEADACHE_DAYS", default=15)
OUTCOMES_CHRONIC_MIGRAINE_DAYS = env.int("OUTCOMES_CHRONIC_MIGRAINE_DAYS", default=8)
OUTCOMES_PATTERN_WINDOWS = env.int("OUTCOMES_PATTERN_WINDOWS", default=3)
OUTCOMES_OVERUSE_SPECIFIC_DAYS = env.int("OUTCOMES_OVERUSE_SPECIFIC_DAYS", default=10)
OUTCOMES_OVERUSE_SIMPLE_DAYS = env.int("OUTCOMES_OVERUSE_SIMPLE_DAYS", default=15)
OUTCOMES_DIARY_EDIT_DAYS = env.int("OUTCOMES_DIARY_EDIT_DAYS", default=7)
OUTCOMES_SUMMARY_WINDOWS = env.int("OUTCOMES_SUMMARY_WINDOWS", default=6)
# The evening diary reminder: a scan every few minutes sends each opted-in patient one reminder per local date.
CELERY_BEAT_SCHEDULE["outcomes-diary-reminders"] = {
    "task": "outcomes.tasks.send_diary_reminders",
    "schedule": 5 * 60.0,
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update({"ResponderVerdictEnum": "outcomes.headache.VERDICTS"})
# Treatment starts on the first dosing session once there is one (docs/outcomes.md#baseline):
# outcomes asks the treatment app through this dotted path, (*, patient_ids) -> {patient id: local
# date}; empty falls back to the first signed prescription for everyone.
OUTCOMES_FIRST_SESSION_DATES = "treatment.selectors.first_session_dates"

# The one extension point through which apps above prescriptions pause fills and flag early
# refills (prescriptions/fill_checks.py): dotted paths of plain functions. Empty lists turn it off.
PRESCRIPTIONS_FILL_CHECKS = {
    "hold_reasons": ["treatment.services.supply.fill_hold_reasons"],
    "early_refill": ["treatment.services.supply.early_refill_detail"],
}
CELERY_BEAT_SCHEDULE["prescriptions-release-held-orders"] = {
    "task": "prescriptions.tasks.release_held_orders",
    "schedule": 15 * 60,
}

# --- treatment ---
# Session, check-in and supply policy is effective-dated in the database: treatment.TreatmentPolicy
# (auto-close 4 h, check-in window 4 h, reminder 2 h / alert 4 h after the end, 2 sessions a week,
# dissociation flag at 8/10, 90 days without a session needs a visit). docs/treatment.md.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "DosingSessionStatusEnum": "treatment.models.SessionStatus",
        "CheckInStatusEnum": "treatment.serializers.CHECK_IN_STATUSES",
    }
)
CELERY_BEAT_SCHEDULE["treatment-close-stale-sessions"] = {
    "task": "treatment.tasks.close_stale_sessions",
    "schedule": 5 * 60,
}
CELERY_BEAT_SCHEDULE["treatment-send-check-in-notices"] = {
    "task": "treatment.tasks.send_due_check_in_notices",
    "schedule": 5 * 60,
}

# --- messaging and notification preferences (docs/messaging.md, docs/notifications.md#push) ---
MESSAGING_MAX_BODY_CHARS = env.int("MESSAGING_MAX_BODY_CHARS", default=5000)
MESSAGING_ATTACHMENT_MAX_BYTES = env.int("MESSAGING_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Attachments go through Django's storage API (STORAGES["default"]): files on disk here; object
# storage in production by swapping the backend. Never served as public media: the API streams them.
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# Practice holidays (ISO dates) on which the one-business-day reply clock does not run.
MESSAGING_HOLIDAYS = env.list("MESSAGING_HOLIDAYS", default=[])
CELERY_BEAT_SCHEDULE["messaging-overdue-notify"] = {
    "task": "messaging.tasks.notify_overdue_messages",
    "schedule": 5 * 60,
}
CELERY_BEAT_SCHEDULE["messaging-sweep-orphaned-attachments"] = {  # docs/messaging.md#orphaned-files
    "task": "messaging.tasks.sweep_orphaned_attachments",
    "schedule": 60 * 60,
}
# Push: "console" (prints), "locmem" (tests), "fcm" (Firebase Cloud Messaging: FCM_PROJECT_ID and
# FCM_SERVICE_ACCOUNT_FILE, a service account JSON), or a dotted path.
PUSH_BACKEND = env.str("PUSH_BACKEND", default="console")
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="")
FCM_SERVICE_ACCOUNT_FILE = env.str("FCM_SERVICE_ACCOUNT_FILE", default="")
# The inbound SMS webhook's public URL as Twilio calls it (when a proxy rewrites scheme or host).
TWILIO_INBOUND_URL = env.str("TWILIO_INBOUND_URL", default="")
# The patient's phone and zone for SMS and quiet hours, reached without importing patients.
NOTIFICATIONS_CONTACT_LOOKUP = "patients.selectors.notification_contact"
NOTIFICATIONS_PHONE_OWNERS = "patients.selectors.phone_owner_ids"
# --- interop (FHIR) ---
# The FHIR base of the record export's fullUrls (the API's own answers use the request's host),
# how long a signed download link works, and how long a built export stays downloadable.
# docs/fhir.md#record-export.
FHIR_BASE_URL = env.str("FHIR_BASE_URL", default="https://api.practice.example/fhir/r4")
RECORD_EXPORT_LINK_TTL_SECONDS = env.int("RECORD_EXPORT_LINK_TTL_SECONDS", default=15 * 60)
RECORD_EXPORT_RETENTION_DAYS = env.int("RECORD_EXPORT_RETENTION_DAYS", default=7)
CELERY_BEAT_SCHEDULE["interop-purge-expired-record-exports"] = {
    "task": "interop.tasks.purge_expired_record_exports",
    "schedule": crontab(minute=23),  # hourly: contents past retention go, the audit rows stay
}
# The one extension point through which apps above scheduling add columns to the physician's
# caseload (scheduling/caseload_columns.py): dotted paths of CaseloadColumns providers, read once
# for the serializer and the schema, and per page for the values. docs/treatment.md#caseload.
SCHEDULING_CASELOAD_COLUMNS = ["treatment.caseload.COLUMNS", "outcomes.caseload.COLUMNS"]

# --- Traces: OpenTelemetry, off unless an OTLP endpoint is set (config/telemetry.py, docs/deploying.md#traces) ---
# The exporter reads the standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout) and
# the SDK OTEL_TRACES_SAMPLER(_ARG); OTEL_ENABLED=false turns traces off even with an endpoint.
OTEL_ENABLED = env.bool("OTEL_ENABLED", default=bool(env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")))
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="practice")
OTEL_SERVICE_VERSION = env.str("OTEL_SERVICE_VERSION", default="")
OTEL_DEPLOYMENT_ENVIRONMENT = env.str("OTEL_DEPLOYMENT_ENVIRONMENT", default="development")
