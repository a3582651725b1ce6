"""The image, its locks and gunicorn's settings (no Docker engine here: parse and check)."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("pytest", "ruff", "schemathesis", "hypothesis", "factory-boy", "faker", "time-machine", "responses", "mypy")


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def _entries(path: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    """name -> (version, hashes) of a lock written by uv pip compile --generate-hashes."""
    entries: dict[str, tuple[str, tuple[str, ...]]] = {}
    name = ""
    for line in path.read_text().splitlines():
        stripped = line.strip().removesuffix("\\").strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0].isspace():
            version, hashes = entries[name]
            entries[name] = (version, (*hashes, stripped))
        else:
            raw, version = stripped.split("==")
            name = re.sub(r"[-_.]+", "-", raw).lower()
            entries[name] = (version, ())
    return entries


def _pins(path: Path) -> dict[str, str]:
    return {name: version for name, (version, _) in _entries(path).items()}


def test_the_image_is_multi_stage_non_root_and_health_checked():
    text = dockerfile()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\w+)", text, re.M)
    assert stages == ["build", "runtime"]
    runtime = text.split("AS runtime", 1)[1]
    assert "COPY --from=build /opt/venv /opt/venv" in runtime
    assert re.search(r"^USER 10001", runtime, re.M), "the runtime stage runs as a non-root uid"
    assert "HEALTHCHECK" in runtime and "/livez" in runtime
    assert "pip install" not in runtime, "nothing is installed in the runtime stage"
    assert 'CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]' in runtime


def test_the_image_installs_the_runtime_lock_only():
    text = dockerfile()
    assert "requirements-runtime.lock" in text
    assert "requirements.lock" not in text.replace("requirements-runtime.lock", "")


def test_the_runtime_lock_has_no_test_or_lint_tools_and_matches_the_full_lock():
    runtime = _pins(ROOT / "requirements-runtime.lock")
    full = _pins(ROOT / "requirements.lock")
    for tool in TOOLS:
        assert tool not in runtime, tool
    assert {name: full.get(name) for name in runtime} == runtime, "runtime pins differ from requirements.lock"
    for needed in ("django", "celery", "celery-redbeat", "gunicorn", "psycopg-pool", "sentry-sdk", "prometheus-client"):
        assert needed in runtime, needed


@pytest.mark.parametrize(
    "lock", ["requirements.lock", "requirements-runtime.lock", "deploy/helm/requirements-chart.lock"]
)
def test_every_pin_of_every_lock_carries_sha256_hashes(lock):
    entries = _entries(ROOT / lock)
    assert len(entries) > 5
    for name, (_, hashes) in entries.items():
        assert hashes and all(re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", h) for h in hashes), name


def test_the_runtime_and_chart_locks_copy_the_hashes_of_the_full_lock():
    full = _entries(ROOT / "requirements.lock")
    for lock in ("requirements-runtime.lock", "deploy/helm/requirements-chart.lock"):
        for name, entry in _entries(ROOT / lock).items():
            if name in full:
                assert entry == full[name], (lock, name)


def test_installs_check_the_hashes():
    assert "--require-hashes" in (ROOT / "dev.py").read_text()
    assert "pip install --no-compile --require-hashes -r /tmp/requirements-runtime.lock" in dockerfile()


def test_the_runtime_lock_is_up_to_date():
    done = subprocess.run(
        [sys.executable, "deploy/runtime_lock.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dev_setup_still_installs_the_full_lock():
    text = (ROOT / "dev.py").read_text()
    assert 'LOCK = ROOT / "requirements.lock"' in text


def test_the_build_context_leaves_out_tests_tooling_and_the_chart():
    patterns = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and "#" not in line
    ]
    for excluded in (".env", ".git", "tests", "var", "deploy", "bench"):
        assert excluded in patterns, excluded
    assert "requirements-runtime.lock" not in patterns and "config" not in patterns


@pytest.fixture
def gunicorn_conf(monkeypatch):
    def load(**env):
        for key in [k for k in os.environ if k.startswith("GUNICORN_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))

    return load


def test_gunicorn_workers_follow_the_cpu_count_and_the_environment(gunicorn_conf):
    conf = gunicorn_conf()
    assert conf["workers"] == max(2, os.cpu_count())
    assert gunicorn_conf(GUNICORN_WORKERS="3")["workers"] == 3
    assert conf["worker_class"] == "gthread" and conf["timeout"] == 30


def test_gunicorn_recycles_workers_with_jitter(gunicorn_conf):
    conf = gunicorn_conf()
    assert conf["max_requests"] > 0 and 0 < conf["max_requests_jitter"] < conf["max_requests"]


def test_gunicorn_access_log_has_no_query_string_nor_client_address(gunicorn_conf):
    fmt = gunicorn_conf()["access_log_format"]
    assert "%(U)s" in fmt and "%({x-request-id}o)s" in fmt
    for atom in ("%(r)s", "%(q)s", "%(h)s", "%({cookie}i)s", "%(a)s", "%(f)s"):
        assert atom not in fmt, atom


def test_gunicorn_accepts_the_config_file():
    code = (
        "from gunicorn.app.wsgiapp import WSGIApplication as A; import sys; "
        "sys.argv=['gunicorn','-c','config/gunicorn.conf.py','config.wsgi:application']; "
        "a=A(); print(a.cfg.workers, a.cfg.max_requests, a.cfg.max_requests_jitter, a.cfg.timeout)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    workers, max_requests, jitter, timeout = map(int, done.stdout.split())
    assert (max_requests, jitter, timeout) == (1000, 100, 30) and workers >= 2
