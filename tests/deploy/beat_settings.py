"""Settings of the beats started by test_beat_lock: one probe entry every second to its own queue."""

import os

from config.settings.test import *  # noqa: F403

CELERY_BEAT_SCHEDULE = {
    "beat-probe": {
        "task": "tests.deploy.beat_probe",  # never run: the test counts the messages beat sends
        "schedule": 1.0,
        "options": {"queue": os.environ["BEAT_PROBE_QUEUE"]},
    }
}
CELERY_BEAT_MAX_LOOP_INTERVAL = 1
CELERY_REDBEAT_LOCK_TIMEOUT = 5
