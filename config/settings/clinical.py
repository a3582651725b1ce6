"""The practice's own policy, app by app, and the extension points between apps.

Policy values are defaults the practice can override from the environment; effective-dated clinical
policy (prescribing, treatment, clinical thresholds) lives in the database. Vendors: vendors.py;
periodic tasks: tasks.py; schema enum names: api.py.
"""

from .environment import env

# --- practice (service area, credentials) ---
# Staff are warned this many days before a licence, DEA or CDS registration expires (docs/credentials.md#expiry).
CREDENTIAL_EXPIRY_WARNING_DAYS = env.int("CREDENTIAL_EXPIRY_WARNING_DAYS", default=60)

# --- patients ---
# The clinical thresholds (minimum age, blood pressure, response and remission, item 9, hard
# stops) are effective-dated rows the medical director edits: patients.ClinicalPolicy (docs/policy.md).
# An identical questionnaire re-sent within this window is the same submission (a double tap).
PATIENTS_QUESTIONNAIRE_DEDUPE_MINUTES = env.int("PATIENTS_QUESTIONNAIRE_DEDUPE_MINUTES", default=10)
# A free assessment can be claimed into a new registration for this many days.
PATIENTS_ASSESSMENT_CLAIM_DAYS = env.int("PATIENTS_ASSESSMENT_CLAIM_DAYS", default=30)

# --- scheduling (video: vendors.py) ---
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

# --- prescriptions (pharmacy, carrier and eRx vendors: vendors.py) ---
# Clinical prescribing policy (evaluation window, PDMP ages, supply/refill limits, the federal
# telemedicine end date) is effective-dated in the database: prescriptions.PrescribingPolicy.
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

# --- treatment ---
# Session, check-in and supply policy is effective-dated in the database: treatment.TreatmentPolicy
# (auto-close 4 h, check-in window 4 h, reminder 2 h / alert 4 h after the end, 2 sessions a week,
# dissociation flag at 8/10, 90 days without a session needs a visit). docs/treatment.md.

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

# --- messaging (docs/messaging.md; attachments' storage: core.py) ---
MESSAGING_MAX_BODY_CHARS = env.int("MESSAGING_MAX_BODY_CHARS", default=5000)
MESSAGING_ATTACHMENT_MAX_BYTES = env.int("MESSAGING_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Practice holidays (ISO dates) on which the one-business-day reply clock does not run.
MESSAGING_HOLIDAYS = env.list("MESSAGING_HOLIDAYS", default=[])

# --- interop (FHIR) ---
# The FHIR base of the record export's fullUrls (the API's own answers use the request's host),
# how long a signed download link works, and how long a built export stays downloadable.
# docs/fhir.md#record-export.
FHIR_BASE_URL = env.str("FHIR_BASE_URL", default="https://api.practice.example/fhir/r4")
RECORD_EXPORT_LINK_TTL_SECONDS = env.int("RECORD_EXPORT_LINK_TTL_SECONDS", default=15 * 60)
RECORD_EXPORT_RETENTION_DAYS = env.int("RECORD_EXPORT_RETENTION_DAYS", default=7)

# --- Extension points: how an app reaches an app above it without importing it --------------------
# Dotted paths read by the lower app (docs/architecture.md#direction).
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
# The one extension point through which apps above scheduling add columns to the physician's
# caseload (scheduling/caseload_columns.py): dotted paths of CaseloadColumns providers, read once
# for the serializer and the schema, and per page for the values. docs/treatment.md#caseload.
SCHEDULING_CASELOAD_COLUMNS = ["treatment.caseload.COLUMNS", "outcomes.caseload.COLUMNS"]
# The caseload's prescription_status column (scheduling/contracts.py caseload_columns): the dotted path
# of the prescriptions app's expression, (*, patient_ref) -> a subquery, so the page stays one query.
# Empty: no column (the field reads null).
SCHEDULING_PRESCRIPTION_STATUS_COLUMN = "prescriptions.selectors.prescription_status_column"
