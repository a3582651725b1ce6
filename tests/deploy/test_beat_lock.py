"""Two beats against one Redis (a rolling deploy, a second replica by mistake): one sends.

RedBeat (config/settings/tasks.py, docs/deploying.md#one-beat) keeps the schedule in Redis behind a
lock: the second beat waits for the lock and sends nothing; when the first stops, the second takes
over. A one-second probe entry goes to a queue of its own, so the messages in it count the scans.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
BEAT_STATS = {"beats": 0, "senders": 0, "sends": 0, "seconds": 0, "takeover": 0}

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs a real Redis (REDIS_URL), run by .ci/run")
    return url


def _sent(log: Path) -> int:
    return log.read_text().count("Sending due task beat-probe")


def test_two_beats_on_one_redis_make_one_scan_and_the_second_takes_over(redis_url, tmp_path):
    run = uuid.uuid4().hex[:10]
    queue = f"beat-probe-{run}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.deploy.beat_settings",
        "BEAT_PROBE_QUEUE": queue,
        "CELERY_REDBEAT_KEY_PREFIX": f"test-redbeat-{run}:",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    client = redis.Redis.from_url(redis_url)
    logs = [tmp_path / "beat-a.log", tmp_path / "beat-b.log"]
    beats = []

    def start(log: Path) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "DEBUG"],
            cwd=ROOT,
            env=env,
            stdout=open(log, "w"),
            stderr=subprocess.STDOUT,
        )

    try:
        beats.append(start(logs[0]))
        deadline = time.time() + 30
        while _sent(logs[0]) == 0:
            assert time.time() < deadline, logs[0].read_text()[-3000:]
            time.sleep(0.2)
        beats.append(start(logs[1]))
        window = 8
        before = client.llen(queue)
        time.sleep(window)
        sent_in_window = client.llen(queue) - before
        assert _sent(logs[1]) == 0, "the second beat sent while the first held the lock"
        assert beats[1].poll() is None, logs[1].read_text()[-3000:]
        # One beat at one entry a second: about `window` scans (two beats would make twice as many).
        assert window - 3 <= sent_in_window <= window + 2, sent_in_window

        # The first beat stops (a deploy): it lets go of the lock and the second takes over.
        stopped = time.time()
        beats[0].send_signal(signal.SIGTERM)
        beats[0].wait(20)
        while _sent(logs[1]) == 0:
            assert time.time() < stopped + 30, logs[1].read_text()[-3000:]
            time.sleep(0.2)
        takeover = time.time() - stopped
        BEAT_STATS.update(beats=2, senders=1, sends=sent_in_window, seconds=window, takeover=round(takeover, 1))
    finally:
        for beat in beats:
            if beat.poll() is None:
                beat.terminate()
                try:
                    beat.wait(10)
                except subprocess.TimeoutExpired:
                    beat.kill()
        client.delete(queue)
        for key in client.scan_iter(f"test-redbeat-{run}:*"):
            client.delete(key)
