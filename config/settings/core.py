"""Django's core: secret key, hosts, apps, middleware, templates, language and time, files."""

from .environment import VAR_DIR, env

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
# Message attachments go through Django's storage API (STORAGES["default"]): files on disk here; object
# storage in production by swapping the backend. Never served as public media: the API streams them.
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
PHONENUMBER_DEFAULT_REGION = "US"
