"""Real Celery worker processes for tests, on the test database and a queue of their own."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url_for_children() -> str:
    """The URL of the database this test runs on, for a child process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def celery_worker_start(
    queue: str,
    *,
    pool: str = "solo",
    settings_module: str = "outage_desk.settings_test",
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """A worker consuming ``queue`` only; stop it with ``celery_worker_stop``."""
    pool_args = (
        ["--pool=solo"] if pool == "solo" else [f"--pool={pool}", "--concurrency=2"]
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "outage_desk",
            "worker",
            *pool_args,
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            queue,
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": database_url_for_children(),
            **(env or {}),
        },
    )


def celery_worker_stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)
