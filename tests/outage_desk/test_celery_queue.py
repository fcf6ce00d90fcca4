"""A task goes through the configured broker to a real worker process and back."""

import pytest
from django.conf import settings

from outage_desk.celery import app
from outage_desk.tasks import ping_task
from tests.workers import celery_worker_start, celery_worker_stop


@pytest.fixture
def worker(transactional_db):
    # the test database: every task counts its deliveries there (TaskRun)
    proc = celery_worker_start("ping-test")
    yield proc
    celery_worker_stop(proc)


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
