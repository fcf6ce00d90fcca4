"""Settings come from the environment; each case runs a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'broker': settings.CELERY_BROKER_URL, 'email': settings.EMAIL_BACKEND, "
    "'debug': settings.DEBUG, 'email_host': getattr(settings, 'EMAIL_HOST', '')}))"
)
KEEP = ("PATH", "HOME", "LANG", "PYTHONPATH")


def run_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k in KEEP}
    clean.update(
        DJANGO_SETTINGS_MODULE="outage_desk.settings",
        ENV_FILE="",
        OUTAGE_DESK_VAR_DIR=str(tmp_path),
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_defaults_to_sqlite_embedded_broker_and_file_mail(tmp_path):
    result = run_settings(tmp_path, SECRET_KEY="k")

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values == {
        "engine": "django.db.backends.sqlite3",
        "broker": "filesystem://",
        "email": "django.core.mail.backends.filebased.EmailBackend",
        "debug": False,
        "email_host": "localhost",
    }


def test_it_uses_postgres_redis_and_smtp_from_the_environment(tmp_path):
    result = run_settings(
        tmp_path,
        SECRET_KEY="k",
        DATABASE_URL="postgres://u:p@db.example:5432/od",
        CELERY_BROKER_URL="redis://cache.example:6379/0",
        EMAIL_URL="smtp://mail.example:2525",
    )

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["broker"] == "redis://cache.example:6379/0"
    assert values["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["email_host"] == "mail.example"


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off(tmp_path):
    result = run_settings(tmp_path)

    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off." in result.stderr


def test_it_allows_a_missing_secret_key_in_debug(tmp_path):
    result = run_settings(tmp_path, DEBUG="true")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is True


def test_it_reads_the_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "secret"
    key_file.write_text("from-a-file\n")

    result = run_settings(tmp_path, SECRET_KEY_FILE=str(key_file))

    assert result.returncode == 0, result.stderr
