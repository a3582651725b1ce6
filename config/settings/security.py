"""Sign-in, sessions, tokens, lockout, the client's address and field encryption (docs/security.md)."""

from datetime import timedelta

from .core import SECRET_KEY
from .environment import env

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

# --- Encrypted fields --------------------------------------------------------------------------
# django-fernet-encrypted-fields (safety-flag resolution notes, visit notes): keys derive from SECRET_KEY
# (+ SECRET_KEY_FALLBACKS, keep the old key there when rotating or the notes become unreadable) and
# this salt. Project-wide name.
SALT_KEY = env.list("FIELD_ENCRYPTION_SALT_KEY", default=["practice-field-encryption-v1"])
