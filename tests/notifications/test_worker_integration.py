"""With a real worker process on the configured broker and a real SMTP server:
every notice arrives once, rolled-back notices never do, and notices whose nudge
was lost (broker down) go out when the relay runs."""

import time
import uuid

import pytest
from django.db import transaction

from notifications.models import Notice
from notifications.services import Recipient, notify
from notifications.tasks import notices_relay_task
from tests.notifications.conftest import free_port
from tests.workers import celery_worker_start, celery_worker_stop

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue(settings):
    settings.NOTICE_TASK_QUEUE = f"notices-test-{uuid.uuid4().hex[:8]}"
    return settings.NOTICE_TASK_QUEUE


@pytest.fixture
def start_worker(smtp_server, queue):
    procs = []

    def start():
        proc = celery_worker_start(
            queue,
            pool="prefork",
            settings_module="tests.notifications.worker_settings",
            env={
                "NOTICE_TEST_SMTP_PORT": str(smtp_server.port),
                "NOTICE_TASK_QUEUE": queue,
            },
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        celery_worker_stop(proc)


def _wait_for(condition, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    states = {s: Notice.objects.filter(status=s).count() for s in Notice.Status.values}
    pytest.fail(f"waited {timeout}s for {what}; notice states: {states}")


def _eta(addresses, key):
    return notify(
        kind="eta_update",
        recipients=[Recipient("email", address) for address in addresses],
        context={"incident_reference": "INC-2026-0009", "eta": "15:00"},
        dedupe_key=key,
    )


def test_every_committed_notice_arrives_exactly_once(start_worker, smtp_server):
    start_worker()

    for batch in range(3):
        with transaction.atomic():
            _eta([f"c{batch}-{i}@example.com" for i in range(10)], key=f"eta:{batch}")

    _wait_for(lambda: Notice.objects.filter(status="sent").count() == 30, "30 sent")
    time.sleep(1)  # room for a duplicate to show up, were there one
    ids = [m["Message-ID"] for m in smtp_server.messages]
    assert len(ids) == 30
    assert sorted(ids) == sorted(n.message_id for n in Notice.objects.all())
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(
        f"c{b}-{i}@example.com" for b in range(3) for i in range(10)
    )


def test_a_notice_written_in_a_rolled_back_transaction_never_goes_out(
    start_worker, smtp_server
):
    start_worker()

    with pytest.raises(RuntimeError), transaction.atomic():
        _eta(["ghost@example.com"], key="eta:rolled-back")
        raise RuntimeError("the causing event failed")
    with transaction.atomic():
        _eta(["real@example.com"], key="eta:committed")

    _wait_for(lambda: Notice.objects.filter(status="sent").count() == 1, "1 sent")
    time.sleep(1)
    assert [m["To"] for m in smtp_server.messages] == ["real@example.com"]
    assert not Notice.objects.filter(recipient="ghost@example.com").exists()


def test_with_the_broker_unreachable_notices_wait_and_the_relay_sends_them(
    start_worker, smtp_server, settings
):
    # given: the on-commit nudge cannot reach the broker (a closed port)
    settings.NOTICE_NUDGE_BROKER_URL = f"redis://127.0.0.1:{free_port()}/3"
    with transaction.atomic():
        notices = _eta([f"w{i}@example.com" for i in range(5)], key="eta:broker-down")

    # then: capture went on; the notices are committed and wait
    assert Notice.objects.filter(status="pending").count() == 5
    assert smtp_server.messages == []

    # when: the broker is back, a worker runs and beat fires the relay
    settings.NOTICE_NUDGE_BROKER_URL = ""
    start_worker()
    notices_relay_task.apply_async(queue=settings.NOTICE_TASK_QUEUE)

    _wait_for(lambda: Notice.objects.filter(status="sent").count() == 5, "5 sent")
    assert sorted(m["Message-ID"] for m in smtp_server.messages) == sorted(
        n.message_id for n in notices
    )
