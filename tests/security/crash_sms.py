"""A slow, file-backed SMS provider for the worker-crash tests: it writes "start <to>" before a
pause and "done <to>" after it, so a test can kill the worker while a message is in flight and
then count what was really delivered, across processes.

The message the test means to kill is held: when `<CRASH_SMS_LOG>.hold` names its number (the
count of "start" lines, its own included), it stays in flight until the file is removed (the
test removes it after the kill). A fixed pause alone left the kill to chance under load: the
message could finish before the signal landed, and the kill then hit after the provider's send
but before its commit, the one moment the design does not cover."""

import os
import time
import uuid
from pathlib import Path


def _is_held(log: Path, hold: Path) -> bool:
    try:
        number = int(hold.read_text())
    except (FileNotFoundError, ValueError):
        return False
    return sum(1 for line in log.read_text().splitlines() if line.startswith("start ")) == number


class SlowFileSMSBackend:
    def send(self, to: str, body: str) -> str:
        path = Path(os.environ["CRASH_SMS_LOG"])
        hold = path.with_name(path.name + ".hold")
        with open(path, "a") as log:
            log.write(f"start {to}\n")
        if _is_held(path, hold):
            while hold.exists():  # in flight until the test has killed this worker
                time.sleep(0.05)
        else:
            time.sleep(float(os.environ.get("CRASH_SMS_SECONDS", "0.3")))
        with open(path, "a") as log:
            log.write(f"done {to}\n")
        return f"crash-{uuid.uuid4().hex[:8]}"
