"""A task other than the notice sender, hung past the broker's visibility timeout.

A real Celery worker on a private Redis runs a reconciliation run while the test
holds an exclusive lock on the incidents table, so every delivery's first query
waits (a hung database read). Redis hands the message out again every 2 s; the
fourth delivery finds the attempt limit (3) spent and fails the run instead.
"""

import time
import uuid

import psycopg2
import pytest

from outage_desk.celery import app
from outage_desk.models import AuditEvent, TaskRun
from reconciliation.models import ReconciliationRun
from reconciliation.services import run_create
from reconciliation.tasks import reconciliation_run_task
from tests.reconciliation.factories import incident_make
from tests.resilience.conftest import (
    redis_start,
    stack_env,
    wait_for,
    worker_start,
)
from tests.resilience.conftest import (
    tests_database_url as database_url,
)
from tests.resilience.results import record

pytestmark = pytest.mark.django_db(transaction=True)

VISIBILITY_TIMEOUT = 2
ATTEMPTS = 3
WAITING_ON_THE_LOCK = """
    SELECT count(*) FROM pg_locks
    WHERE relation = 'incidents_incident'::regclass AND NOT granted
"""


def test_a_run_hung_past_the_visibility_timeout_stops_at_its_attempt_limit(
    procs, mail, stack_tmp
):
    # given: a queued run, a worker of 4 pool children on a private Redis with a
    # 2 s visibility timeout, and the incidents table locked
    run = run_create(incident=incident_make())
    redis = redis_start(procs)
    queue = f"resilience-{uuid.uuid4().hex[:8]}"
    env = stack_env(
        CELERY_BROKER_URL=redis.url,
        CELERY_RESULT_BACKEND=redis.url,
        NOTICE_TASK_QUEUE=queue,
        RESILIENCE_SMTP_PORT=str(mail.port),
        RESILIENCE_TMP=str(stack_tmp),
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        TASK_MAX_ATTEMPTS=str(ATTEMPTS),
    )
    lock = psycopg2.connect(database_url())
    try:
        with lock.cursor() as cursor:
            cursor.execute("LOCK TABLE incidents_incident IN ACCESS EXCLUSIVE MODE")

            # when: the run's task is sent and a worker takes it
            with app.connection_for_write(redis.url) as conn:
                sent = reconciliation_run_task.apply_async(
                    args=[run.pk], connection=conn, queue=queue, retry=False
                )
            started = time.monotonic()
            worker_start(procs, env, concurrency=4, beat=False)

            # then: after 3 deliveries the 4th fails the message and the run,
            # and operations get an alert
            wait_for(
                lambda: TaskRun.objects.filter(
                    task_id=sent.id, status=TaskRun.Status.FAILED
                ).exists(),
                "the task to fail for good",
                timeout=120,
            )
            failed_after = time.monotonic() - started
            wait_for(lambda: len(mail.messages) >= 1, "the alert", timeout=30)
            time.sleep(3 * VISIBILITY_TIMEOUT)
            deliveries = TaskRun.objects.get(task_id=sent.id).attempts
            # (a 5th is possible when the 4th took longer than the timeout to be
            # acknowledged on a loaded machine; it too runs nothing)
            assert deliveries in (ATTEMPTS + 1, ATTEMPTS + 2)
            time.sleep(3 * VISIBILITY_TIMEOUT)  # room for a redelivery loop
            task_run = TaskRun.objects.get(task_id=sent.id)
            assert task_run.attempts == deliveries
            cursor.execute(WAITING_ON_THE_LOCK)
            # the body ran 3 times: each of those is still waiting on the lock
            assert cursor.fetchone()[0] == ATTEMPTS
        run.refresh_from_db()
        assert run.status == ReconciliationRun.Status.FAILED
        assert AuditEvent.objects.filter(action="reconciliation.failed").count() == 1
        (alert,) = mail.messages
        assert alert["To"] == "ops@example.com"
        assert alert["Subject"] == f"Task failed: {reconciliation_run_task.name}"
        assert sent.id in alert.get_payload(decode=True).decode()
    finally:
        lock.rollback()
        lock.close()

    # when the lock goes, the 3 waiting deliveries find the run failed: nothing runs
    wait_for(
        lambda: (
            not ReconciliationRun.objects.filter(
                pk=run.pk, status=ReconciliationRun.Status.RUNNING
            ).exists()
            and TaskRun.objects.get(task_id=sent.id).status == TaskRun.Status.FAILED
        ),
        "the waiting deliveries to finish",
        timeout=30,
    )
    time.sleep(2)
    run.refresh_from_db()
    assert run.status == ReconciliationRun.Status.FAILED
    assert run.counts == {}
    assert len(mail.messages) == 1
    record(
        "5_visibility_timeout_reconciliation",
        visibility_timeout_s=VISIBILITY_TIMEOUT,
        attempt_limit=ATTEMPTS,
        deliveries=task_run.attempts,
        bodies_waiting_on_the_lock=ATTEMPTS,
        failed_after_seconds=round(failed_after, 1),
        alerts=len(mail.messages),
    )
