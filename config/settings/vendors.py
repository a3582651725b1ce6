"""Vendors: Stripe (billing), Daily (video), the pharmacy hand-off and EasyPost (shipments), DoseSpot (eRx).

Each vendor is chosen by one *_PROVIDER-style setting with an offline fake or sandbox as the default;
a real vendor's credentials are checked here, so no environment starts half-configured. Email, SMS and
push vendors: notifications.py. docs/architecture.md#vendor-adapters
"""

import hashlib
import os

import stripe
from django.core.exceptions import ImproperlyConfigured

from .core import SECRET_KEY
from .environment import env

# --- billing: Stripe ------------------------------------------------------------------------------
# Stripe membership ($250/month, one price). BILLING_ENABLED switches the integration on; when on,
# every Stripe value below is required and checked here, so no environment starts half-configured.
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
# Pinned in one place: requests and webhook payloads are read in this version's shapes. The
# default is the version the pinned SDK is written for (its public `stripe.api_version`).
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", default=stripe.api_version)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
BILLING_CHECKOUT_SUCCESS_URL = env.str(
    "BILLING_CHECKOUT_SUCCESS_URL", default="http://localhost:3000/membership/welcome?session_id={CHECKOUT_SESSION_ID}"
)
BILLING_CHECKOUT_CANCEL_URL = env.str("BILLING_CHECKOUT_CANCEL_URL", default="http://localhost:3000/membership")
BILLING_PORTAL_RETURN_URL = env.str("BILLING_PORTAL_RETURN_URL", default="http://localhost:3000/membership")
# A past_due membership keeps its standing this many days, then new shipments pause (docs/billing.md#stripe).
BILLING_PAST_DUE_GRACE_DAYS = env.int("BILLING_PAST_DUE_GRACE_DAYS", default=7)
if BILLING_PROVIDER == "stripe":
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

# --- scheduling: video ----------------------------------------------------------------------------
# Video: "fake" (development: https://video.invalid/... links), "static" (PhysicianProfile.static_video_url)
# or "daily" (Daily REST API: private rooms + expiring meeting tokens; needs DAILY_API_KEY).
VIDEO_PROVIDER = env.str("VIDEO_PROVIDER", default="fake")
VIDEO_LINK_LEAD_MINUTES = env.int("VIDEO_LINK_LEAD_MINUTES", default=30)  # links made this long before
VIDEO_LINK_VALID_MINUTES = env.int("VIDEO_LINK_VALID_MINUTES", default=120)  # after the visit's start
DAILY_API_URL = env.str("DAILY_API_URL", default="https://api.daily.co/v1")
DAILY_API_KEY = env.str("DAILY_API_KEY", default="")
if VIDEO_PROVIDER not in ("fake", "static", "daily") or (VIDEO_PROVIDER == "daily" and not DAILY_API_KEY):
    raise ImproperlyConfigured("VIDEO_PROVIDER must be fake, static or daily; daily needs DAILY_API_KEY.")

# --- prescriptions: the pharmacy hand-off and carrier tracking ------------------------------------
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
    raise ImproperlyConfigured("PHARMACY_GATEWAY must be email; CARRIER_TRACKER must be fake or easypost.")
if CARRIER_TRACKER == "easypost" and not (EASYPOST_API_KEY and EASYPOST_WEBHOOK_SECRET):
    raise ImproperlyConfigured("CARRIER_TRACKER=easypost needs EASYPOST_API_KEY and EASYPOST_WEBHOOK_SECRET.")

# --- prescriptions: e-prescribing (EPCS) ----------------------------------------------------------
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
    raise ImproperlyConfigured("ERX_PROVIDER must be sandbox or dosespot.")
if ERX_PROVIDER == "dosespot" and not all(
    (DOSESPOT_CLINIC_ID, DOSESPOT_CLINIC_KEY, DOSESPOT_USER_ID, DOSESPOT_SUBSCRIPTION_KEY, ERX_WEBHOOK_SECRET)
):
    raise ImproperlyConfigured(
        "ERX_PROVIDER=dosespot needs DOSESPOT_CLINIC_ID, DOSESPOT_CLINIC_KEY, DOSESPOT_USER_ID, "
        "DOSESPOT_SUBSCRIPTION_KEY and ERX_WEBHOOK_SECRET."
    )
