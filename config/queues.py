"""Celery queues by kind of work, the routes that fill them and each queue's time limits.

docs/deploying.md#queues: a slow vendor call (pharmacy, e-prescribing, Stripe) must never hold up a
reminder, so vendor work, patient-facing messages and long batch scans each have their own queue
and, in a cluster, their own workers. The embedded mode (`python3 dev.py run`) has one worker that
consumes every queue.

A route names a task by glob; a task no route names goes to ``default``. A new task in an app only
needs a line here when it belongs elsewhere than its app's queue.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

DEFAULT = "default"
NOTIFICATIONS = "notifications"
INTEGRATIONS = "integrations"
REPORTS = "reports"
QUEUES = (DEFAULT, NOTIFICATIONS, INTEGRATIONS, REPORTS)

# First match wins (order matters: specific names before an app's glob).
ROUTES: tuple[tuple[str, str], ...] = (
    # Patient- and staff-facing messages: the outbox and the scans that fill it.
    ("notifications.tasks.*", NOTIFICATIONS),
    ("scheduling.tasks.send_due_reminders", NOTIFICATIONS),
    ("scheduling.tasks.send_physician_agendas", NOTIFICATIONS),
    ("outcomes.tasks.send_diary_reminders", NOTIFICATIONS),
    ("treatment.tasks.send_due_check_in_notices", NOTIFICATIONS),
    ("patients.tasks.send_safety_flag_alerts", NOTIFICATIONS),
    ("prescriptions.tasks.send_order_notice", NOTIFICATIONS),
    # Calls to outside vendors (pharmacy, carrier, e-prescribing, payments, video).
    ("prescriptions.erx.tasks.*", INTEGRATIONS),
    ("prescriptions.tasks.hand_off_order", INTEGRATIONS),
    ("prescriptions.tasks.start_tracking", INTEGRATIONS),
    ("prescriptions.tasks.poll_shipment", INTEGRATIONS),
    ("prescriptions.tasks.poll_stale_shipments", INTEGRATIONS),
    ("billing.tasks.*", INTEGRATIONS),
    ("scheduling.tasks.create_due_video_links", INTEGRATIONS),
    # Daily batch scans over the whole practice.
    ("careteam.tasks.*", REPORTS),
    ("practice.tasks.credential_expiry_watch", REPORTS),
    ("interop.tasks.purge_expired_record_exports", REPORTS),
    ("messaging.tasks.sweep_orphaned_attachments", REPORTS),
)


def queue_for(task_name: str) -> str:
    for pattern, queue in ROUTES:
        if fnmatchcase(task_name, pattern):
            return queue
    return DEFAULT


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router (task_routes): an explicit ``queue=`` given by the caller still wins."""
    if options.get("queue"):
        return None
    return {"queue": queue_for(name)}


class QueueTimeLimits:
    """Celery task annotation: each task gets the soft and hard time limits of its queue.

    The soft limit raises SoftTimeLimitExceeded inside the task (it can clean up); the hard limit
    kills the child process. A task that set its own limits keeps them. A timed-out task is
    acknowledged, not re-queued (Celery's acks_on_failure_or_timeout), so it cannot loop.
    """

    def __init__(self, limits: dict[str, tuple[int, int]]):
        self.limits = limits

    def annotate(self, task):
        soft, hard = self.limits.get(queue_for(task.name), self.limits[DEFAULT])
        annotations = {}
        if getattr(task, "soft_time_limit", None) is None:
            annotations["soft_time_limit"] = soft
        if getattr(task, "time_limit", None) is None:
            annotations["time_limit"] = hard
        return annotations
