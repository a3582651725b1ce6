"""Notifications: email, SMS (Twilio), push (FCM), the outbox and who is alerted (docs/notifications.md).

The channel backends are chosen here by name or dotted path; the vendor adapters live in
notifications/ (docs/architecture.md#vendor-adapters).
"""

from .environment import VAR_DIR, env

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
# The inbound SMS webhook's public URL as Twilio calls it (when a proxy rewrites scheme or host).
TWILIO_INBOUND_URL = env.str("TWILIO_INBOUND_URL", default="")
# Push: "console" (prints), "locmem" (tests), "fcm" (Firebase Cloud Messaging: FCM_PROJECT_ID and
# FCM_SERVICE_ACCOUNT_FILE, a service account JSON), or a dotted path.
PUSH_BACKEND = env.str("PUSH_BACKEND", default="console")
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="")
FCM_SERVICE_ACCOUNT_FILE = env.str("FCM_SERVICE_ACCOUNT_FILE", default="")
# Staff on call receive safety and delivery alerts (comma-separated emails).
CARE_TEAM_ALERT_EMAILS = env.list("CARE_TEAM_ALERT_EMAILS", default=["care-team@practice.example"])

# --- The transactional outbox (docs/notifications.md); its sweep is in tasks.py -------------------
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=8)
NOTIFICATIONS_RETRY_BASE_SECONDS = env.int("NOTIFICATIONS_RETRY_BASE_SECONDS", default=30)
NOTIFICATIONS_RETRY_MAX_SECONDS = env.int("NOTIFICATIONS_RETRY_MAX_SECONDS", default=3600)
# How long the after-commit fast path has before the sweep takes a new row too.
NOTIFICATIONS_SWEEP_AFTER_SECONDS = env.int("NOTIFICATIONS_SWEEP_AFTER_SECONDS", default=30)
# A row claimed this long ago and never marked belongs to a dead worker (longer than any
# provider timeout, so a slow send is not repeated).
NOTIFICATIONS_STALE_SENDING_SECONDS = env.int("NOTIFICATIONS_STALE_SENDING_SECONDS", default=300)
NOTIFICATIONS_SWEEP_CHUNK = env.int("NOTIFICATIONS_SWEEP_CHUNK", default=100)
# The patient's phone and zone for SMS and quiet hours, reached without importing patients.
NOTIFICATIONS_CONTACT_LOOKUP = "patients.selectors.notification_contact"
NOTIFICATIONS_PHONE_OWNERS = "patients.selectors.phone_owner_ids"
