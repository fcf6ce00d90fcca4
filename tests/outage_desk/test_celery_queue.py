"""A task goes through the configured broker to a real worker process and back."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from outage_desk.celery import app
from outage_desk.tasks import ping_task

ROOT = Path(__file__).resolve().parents[2]


def _test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(transactional_db):
    # the test database: every task counts its deliveries there (TaskRun)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "outage_desk.settings_test",
        "DATABASE_URL": _test_database_url(),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "outage_desk",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            "ping-test",
        ],
        cwd=ROOT,
        env=env,
    )
    yield proc
    proc.terminate()
    proc.wait(timeout=30)


def test_the_configured_celery_settings_are_the_safe_ones():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_always_eager is False
    assert conf.task_time_limit == 600
    if not settings.BROKER_IS_EMBEDDED:
        options = conf.broker_transport_options
        assert options["visibility_timeout"] > conf.task_time_limit
        assert options["socket_timeout"] == 2


def test_a_task_sent_through_the_queue_is_executed_by_a_worker(worker):
    result = ping_task.apply_async(args=["through-the-queue"], queue="ping-test")

    assert result.get(timeout=60) == "through-the-queue"
