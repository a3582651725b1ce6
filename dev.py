#!/usr/bin/env python3
"""The two commands of the README, with nothing but Python 3.11+ installed:

    python3 dev.py run     # set up, migrate, load demo data, serve API + Celery worker + beat
    python3 dev.py test    # set up and run the test suite (extra arguments go to pytest)

Set-up creates .venv and installs requirements.lock (every version pinned, every file's sha256
hash checked by pip) when the lock file changed since the last install. SQLite and a filesystem
broker are the embedded defaults; DATABASE_URL / REDIS_URL switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _queues() -> list[str]:
    # config/queues.py is plain Python; loaded by path, since importing the config package needs Celery.
    import importlib.util

    spec = importlib.util.spec_from_file_location("practice_queues", ROOT / "config" / "queues.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.QUEUES)


VENV = Path(os.environ.get("VENV_DIR", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".lock-sha256"


def say(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is required.")
    if not PY.exists():
        say(f"creating virtualenv {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != digest:
        say("installing pinned dependencies from requirements.lock (hash-checked)")
        # A downloaded file whose sha256 is not in the lock fails the install (docs/deploying.md#locks).
        pip = [PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes"]
        subprocess.run([*pip, "-r", LOCK], check=True)
        STAMP.write_text(digest)
    (ROOT / "var").mkdir(exist_ok=True)


def manage(*args: str, settings: str = "config.settings.local") -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", settings)}
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def port_free(host: str, port: str) -> bool:
    import socket

    with socket.socket() as probe:
        # As the server binds (a port in TIME_WAIT is free; one with a listener is not).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError:
            return False
    return True


def run(argv: list[str]) -> int:
    setup()
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    if not port_free(host, port):
        # Without this the web server dies after migrating and seeding, and the worker and beat
        # are stopped with it: say why before doing anything.
        say(f"{host}:{port} is already in use (another `dev.py run`?): stop it, or set PORT=8001")
        return 1
    say("migrating the database")
    manage("migrate", "--noinput", "-v", "0")
    say("loading demo data from seeds/")
    manage("seed")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.local")}
    celery = [str(BIN / "celery"), "-A", "config"]
    processes = {
        "web": [PY, "manage.py", "runserver", "--noreload", f"{host}:{port}"],
        "worker": [
            *celery,
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            # Every queue (config/queues.py): in a cluster each has its own workers.
            "--queues",
            ",".join(_queues()),
            "--without-gossip",
            "--without-mingle",
        ],
        "beat": [*celery, "beat", "--loglevel", "INFO", "--schedule", str(ROOT / "var" / "celerybeat-schedule")],
    }
    children = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in processes.items()}
    say(f"serving http://{host}:{port}/api/docs/  /admin/  /readyz  (worker and beat running; Ctrl-C stops all)")

    def stop(*_):
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.time() + 10
        for child in children.values():
            try:
                child.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                child.kill()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        while True:
            for name, child in children.items():
                if child.poll() is not None:
                    say(f"{name} exited with {child.returncode}; stopping the others")
                    stop()
                    return child.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        stop()
        return 0


def test(argv: list[str]) -> int:
    setup()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    return subprocess.run([PY, "-m", "pytest", *argv], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    commands = {"run": run, "test": test, "setup": lambda argv: setup() or 0}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python3 dev.py {{{'|'.join(commands)}}} [args]")
    sys.exit(commands[sys.argv[1]](sys.argv[2:]))
