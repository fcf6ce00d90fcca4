"""Every task the app registers: a bounded attempt limit, then failed with an alert.

These run the tasks through Celery's own tracer (``apply`` with a task id, as a
worker does) on any database; the real worker, Redis and visibility timeout are in
test_task_faults.py and test_notice_faults.py.
"""

import inspect
import logging
import uuid

import pytest
from django.core import mail

from outage_desk.celery import app
from outage_desk.models import AuditEvent, TaskRun
from outage_desk.task_base import ERROR_ATTEMPTS_EXHAUSTED, AppTask
from reconciliation.models import ImportBatch, ReconciliationRun
from reconciliation.services import run_create
from reconciliation.tasks import reconciliation_run_task, records_import_task
from reconciliation.uploads import ERROR_IMPORT_FAILED
from tests.reconciliation.factories import incident_make

pytestmark = [pytest.mark.pure, pytest.mark.django_db]

# What the app registers today; a new task must be added here, and so be looked at.
APP_TASKS = {
    "impact.tasks.action_reminders",
    "impact.tasks.aftermath_sweep",
    "incidents.tasks.maintenance_tick",
    "incidents.tasks.staff_reminders",
    "notifications.relay",
    "notifications.send",
    "outage_desk.idempotency_purge",
    "outage_desk.ping",
    "reconciliation.tasks.reconciliation_failed_task",
    "reconciliation.tasks.reconciliation_merge_task",
    "reconciliation.tasks.reconciliation_partition_task",
    "reconciliation.tasks.reconciliation_run_task",
    "reconciliation.tasks.records_import_task",
}


def _app_tasks():
    app.loader.import_default_modules()
    return {n: t for n, t in app.tasks.items() if not n.startswith("celery.")}


def _dummy_args(task):
    # ids of rows that do not exist: enough for a delivery that runs nothing
    run = inspect.signature(task.run)
    return [0 for p in run.parameters.values() if p.default is p.empty]


@pytest.fixture
def alerts(settings):
    settings.TASK_FAILURE_ALERT_EMAILS = ["ops@example.com"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return mail.outbox


def test_the_app_registers_the_known_tasks_all_on_the_bounded_base():
    tasks = _app_tasks()
    assert set(tasks) == APP_TASKS
    for name, task in tasks.items():
        assert isinstance(task, AppTask), name
        assert 1 <= task.max_attempts <= 10, name
        assert task.acks_late is True, name
        assert task.reject_on_worker_lost is True, name


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_a_delivery_past_the_limit_runs_nothing_and_fails_with_an_alert(alerts):
    # (a handler of its own: Celery's tracer may set up logging again)
    logged = _Lines()
    logger = logging.getLogger("outage_desk.task_base")
    logger.addHandler(logged)
    try:
        _each_task_given_up(alerts, logged)
    finally:
        logger.removeHandler(logged)
    assert len(alerts) == len(APP_TASKS)


def _each_task_given_up(alerts, logged):
    for name, task in sorted(_app_tasks().items()):
        # given: a message already delivered as often as its task allows
        task_id = uuid.uuid4().hex
        TaskRun.objects.create(task_id=task_id, name=name, attempts=task.max_attempts)
        args, ran = _dummy_args(task), []
        original = task.run
        task.run = lambda *a, ran=ran, **k: ran.append(a)
        try:
            # when: it is delivered once more
            result = task.apply(args=args, task_id=task_id)
        finally:
            task.run = original

        # then: nothing ran; the message is failed for good and operations told
        assert result.successful(), name
        assert ran == [], name
        run = TaskRun.objects.get(task_id=task_id)
        assert run.status == TaskRun.Status.FAILED
        limit = task.max_attempts
        assert run.error == ERROR_ATTEMPTS_EXHAUSTED % {
            "attempts": limit + 1,
            "limit": limit,
        }
        alert = alerts[-1]
        assert alert.to == ["ops@example.com"]
        assert alert.subject == f"Task failed: {name}"
        assert task_id in alert.body
        assert logged.lines[-1].startswith(f"task {name} [{task_id}] failed for good")


def test_a_delivery_within_the_limit_runs_and_leaves_no_row(alerts):
    ping = app.tasks["outage_desk.ping"]

    result = ping.apply(args=["through the tracer"], task_id="ping-1")

    assert result.get() == "through the tracer"
    assert not TaskRun.objects.exists()
    assert alerts == []


def test_a_task_that_raises_fails_for_good_once_with_one_alert(alerts):
    # given: a run id that does not exist, so the task raises
    task_id = uuid.uuid4().hex

    # when: delivered, then delivered again (as after a lost acknowledgement)
    first = reconciliation_run_task.apply(args=[987654], task_id=task_id)
    second = reconciliation_run_task.apply(args=[987654], task_id=task_id)

    # then: failed, one alert, the error kept
    assert first.failed() and second.failed()
    run = TaskRun.objects.get(task_id=task_id)
    assert run.status == TaskRun.Status.FAILED
    assert run.error.startswith("DoesNotExist: ReconciliationRun matching query")
    assert len(alerts) == 1


def test_giving_up_marks_the_reconciliation_run_failed():
    # given: a queued run whose message was delivered 3 times
    run = run_create(incident=incident_make())
    task_id = uuid.uuid4().hex
    TaskRun.objects.create(
        task_id=task_id,
        name=reconciliation_run_task.name,
        attempts=reconciliation_run_task.max_attempts,
    )

    # when
    reconciliation_run_task.apply(args=[run.pk], task_id=task_id)

    # then: the run failed and says so in the audit log; a redelivery does nothing
    run.refresh_from_db()
    assert run.status == ReconciliationRun.Status.FAILED
    assert run.finished_at is not None
    event = AuditEvent.objects.get(action="reconciliation.failed")
    assert event.object_id == str(run.pk)
    reconciliation_run_task.apply(args=[run.pk], task_id=task_id)
    assert AuditEvent.objects.filter(action="reconciliation.failed").count() == 1


def test_giving_up_rejects_the_import():
    # given: a queued import whose message was delivered 3 times
    batch = ImportBatch.objects.create(
        incident=incident_make(), file_name="records.csv", sha256="0" * 64, format="csv"
    )
    task_id = uuid.uuid4().hex
    TaskRun.objects.create(
        task_id=task_id,
        name=records_import_task.name,
        attempts=records_import_task.max_attempts,
    )

    # when
    records_import_task.apply(args=[batch.pk], task_id=task_id)

    # then: rejected, naming why; nothing loaded
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.REJECTED
    assert batch.errors == [
        {"line": 0, "field": "file", "reason": str(ERROR_IMPORT_FAILED)}
    ]
    assert batch.rows_loaded == 0


def test_a_finished_run_is_not_failed_by_a_late_give_up():
    run = run_create(incident=incident_make())
    ReconciliationRun.objects.filter(pk=run.pk).update(
        status=ReconciliationRun.Status.FINISHED
    )
    task_id = uuid.uuid4().hex
    TaskRun.objects.create(
        task_id=task_id, name=reconciliation_run_task.name, attempts=99
    )

    reconciliation_run_task.apply(args=[run.pk], task_id=task_id)

    run.refresh_from_db()
    assert run.status == ReconciliationRun.Status.FINISHED
    assert not AuditEvent.objects.filter(action="reconciliation.failed").exists()
