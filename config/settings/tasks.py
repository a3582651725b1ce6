"""Cache, Celery broker, queues and the beat schedule (config/queues.py, docs/deploying.md#queues)."""

from celery.schedules import crontab

from config.queues import QUEUES, QueueTimeLimits, route_task

from .environment import VAR_DIR, env

# --- Cache and broker -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "api.cache.ReusedClientRedisCache", "LOCATION": REDIS_URL}}
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

# --- Celery queues, limits and the one beat (config/queues.py, docs/deploying.md#queues) ---------
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

# --- Periodic work: every app's beat entries, grouped by app ----------------------------------
# Reminders and polls are rows in the database scanned here, never far-future ETA tasks. The values
# the tasks read (windows, limits) live with their app's settings (clinical.py, vendors.py, notifications.py).
CELERY_BEAT_SCHEDULE = {
    # notifications: the transactional outbox (docs/notifications.md)
    "notifications-outbox-sweep": {
        "task": "notifications.tasks.outbox_sweep",
        "schedule": env.float("NOTIFICATIONS_SWEEP_EVERY_SECONDS", default=30.0),
    },
    # billing
    "billing-purge-webhook-payloads": {
        "task": "billing.tasks.purge_webhook_payloads",
        "schedule": crontab(hour=4, minute=47),
    },
    "billing-reconcile-subscriptions": {
        "task": "billing.tasks.reconcile_subscriptions",
        "schedule": crontab(hour=4, minute=17),  # nightly, UTC, away from renewals at midnight
    },
    # practice: daily, mark expired credentials, then warn about those expiring within the window (once each)
    "practice-credential-expiry-watch": {
        "task": "practice.tasks.credential_expiry_watch",
        "schedule": crontab(hour=5, minute=7),  # UTC: after midnight in Florida and New Jersey
    },
    # scheduling
    "scheduling-send-due-reminders": {
        "task": "scheduling.tasks.send_due_reminders",
        "schedule": 60.0,
    },
    "scheduling-create-video-links": {
        "task": "scheduling.tasks.create_due_video_links",
        "schedule": 60.0,
    },
    "scheduling-physician-agendas": {
        "task": "scheduling.tasks.send_physician_agendas",
        "schedule": 15 * 60.0,
    },
    # prescriptions: shipments (webhook fallback), held orders, e-prescribing
    "prescriptions-poll-stale-shipments": {
        "task": "prescriptions.tasks.poll_stale_shipments",
        "schedule": 30 * 60,
    },
    "prescriptions-alert-silent-shipments": {
        "task": "prescriptions.tasks.alert_silent_shipments",
        "schedule": 60 * 60,
    },
    "prescriptions-release-held-orders": {
        "task": "prescriptions.tasks.release_held_orders",
        "schedule": 15 * 60,
    },
    "prescriptions-erx-sweep": {"task": "prescriptions.erx.tasks.sweep", "schedule": 60},
    "prescriptions-erx-poll-silent": {
        "task": "prescriptions.erx.tasks.poll_silent",
        "schedule": 5 * 60,
    },
    "prescriptions-erx-recheck-awaiting": {
        "task": "prescriptions.erx.tasks.recheck_awaiting",
        "schedule": 5 * 60,
    },
    # treatment
    "treatment-close-stale-sessions": {
        "task": "treatment.tasks.close_stale_sessions",
        "schedule": 5 * 60,
    },
    "treatment-send-check-in-notices": {
        "task": "treatment.tasks.send_due_check_in_notices",
        "schedule": 5 * 60,
    },
    # outcomes: the evening diary reminder, a scan every few minutes sends each opted-in patient one
    # reminder per local date
    "outcomes-diary-reminders": {
        "task": "outcomes.tasks.send_diary_reminders",
        "schedule": 5 * 60.0,
    },
    # messaging
    "messaging-overdue-notify": {
        "task": "messaging.tasks.notify_overdue_messages",
        "schedule": 5 * 60,
    },
    "messaging-sweep-orphaned-attachments": {  # docs/messaging.md#orphaned-files
        "task": "messaging.tasks.sweep_orphaned_attachments",
        "schedule": 60 * 60,
    },
    # interop: hourly, record exports' contents past retention go, the audit rows stay
    "interop-purge-expired-record-exports": {
        "task": "interop.tasks.purge_expired_record_exports",
        "schedule": crontab(minute=23),
    },
    # careteam: daily, inside the notice window before a prescribing-policy switch, the care team's
    # readiness counts and one notice to each patient not ready (careteam/services.py)
    "careteam-prescribing-readiness-watch": {
        "task": "careteam.tasks.prescribing_readiness_watch",
        "schedule": crontab(hour=13, minute=3),  # UTC: 08:03/09:03 in New York, after the night's jobs
    },
}
