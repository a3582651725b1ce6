"""A slow, file-backed SMS provider for the worker-crash tests: it writes "start <to>" before a
pause and "done <to>" after it, so a test can kill the worker while a message is in flight and
then count what was really delivered, across processes."""

import os
import time
import uuid


class SlowFileSMSBackend:
    def send(self, to: str, body: str) -> str:
        path = os.environ["CRASH_SMS_LOG"]
        with open(path, "a") as log:
            log.write(f"start {to}\n")
        time.sleep(float(os.environ.get("CRASH_SMS_SECONDS", "0.3")))
        with open(path, "a") as log:
            log.write(f"done {to}\n")
        return f"crash-{uuid.uuid4().hex[:8]}"
