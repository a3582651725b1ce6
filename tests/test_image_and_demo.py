"""What the Docker build context leaves out, and where the demo's emails go."""

import fnmatch
from pathlib import Path

import pytest
from django.core import mail
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule for simple patterns: the last matching line wins; `!` re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern[1:] if negate else pattern
        top = path.split("/")[0]
        if fnmatch.fnmatch(path, bare) or fnmatch.fnmatch(top, bare):
            ignored = not negate
    return ignored


def test_the_docker_build_context_leaves_out_secrets_and_history():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for path in (".env", ".env.production", ".git/config", ".venv/bin/python", "var/db.sqlite3", "var/mail/1.log"):
        assert _ignored(path, patterns), path
    for path in ("manage.py", "requirements.lock", "config/settings/base.py", ".env.example"):
        assert not _ignored(path, patterns), path


def test_the_default_email_backend_writes_files_not_the_console():
    from config.settings import base

    assert base.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend"
    assert base.EMAIL_FILE_PATH.endswith("mail")


@pytest.mark.django_db
def test_a_demo_password_reset_code_reaches_a_file_and_not_the_log(anon_client, patient, tmp_path, capsys, caplog):
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", EMAIL_FILE_PATH=str(tmp_path)
    ):
        mail.outbox = []
        with caplog.at_level("DEBUG"):
            assert anon_client.post("/api/v1/auth/password-reset/", {"email": patient.email}).status_code == 202
    written = "".join(p.read_text() for p in tmp_path.iterdir())
    assert "enter this code" in written
    code = next(line.strip() for line in written.splitlines() if line.strip().count(".") == 1 and "-" in line)
    out = capsys.readouterr()
    assert code not in out.out and code not in out.err
    assert not any(code in r.getMessage() for r in caplog.records)
