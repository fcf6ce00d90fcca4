"""Notices with Redis down or hung, Celery workers killed, the web process dying."""

import asyncio
import os
import random
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from deposits.models import Deposit
from notifications.models import Notice
from notifications.services import Recipient, notify
from outage_desk.models import TaskRun
from tests.notifications.conftest import MailSink, free_port
from tests.resilience.conftest import (
    CeleryZygote,
    HungServer,
    beat_start,
    deposit_body,
    desk_create,
    kill9,
    percentile,
    post_deposit,
    redis_start,
    stack_env,
    wait_for,
    web_start,
    worker_start,
)
from tests.resilience.results import record

pytestmark = pytest.mark.django_db(transaction=True)

OUTAGE_CAPTURES = 50
DRAIN_SECONDS = 60
CELERY_KILLS = int(os.environ.get("RESILIENCE_CELERY_KILLS", "100"))
# A bound, not a target: 100 kills take about a minute on the 2-core machine.
CELERY_KILL_SECONDS = 360
# Fewer notices than this pending: add as many again, so the worker always sends.
NOTICE_TOP_UP = 200


def _env(tmp, broker_url, smtp_port, **extra):
    return stack_env(
        CELERY_BROKER_URL=broker_url,
        CELERY_RESULT_BACKEND=broker_url,
        NOTICE_TASK_QUEUE=f"resilience-{uuid.uuid4().hex[:8]}",
        RESILIENCE_SMTP_PORT=str(smtp_port),
        RESILIENCE_TMP=str(tmp),
        **extra,
    )


def _captures(web, desk, n, first=0):
    bodies = [deposit_body(desk, i) for i in range(first, first + n)]
    # one clerk after another: the figure is each request, not a queue of them
    return [post_deposit(web.port, desk.key, b, b["client_uuid"]) for b in bodies]


def _pending():
    return Notice.objects.exclude(status=Notice.Status.SENT).count()


@pytest.mark.parametrize("fault", ["stopped", "hung"])
def test_redis_down_captures_commit_and_notices_follow(procs, mail, stack_tmp, fault):
    # given: the web and a worker (with beat's relay) on a private Redis
    desk = desk_create(customers=OUTAGE_CAPTURES)
    port = free_port()
    redis = redis_start(procs, port)
    env = _env(stack_tmp, redis.url, mail.port)
    web = web_start(procs, env, workers=4)
    # each worker's first capture loads code and templates (about 1 s here)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: _captures(web, desk, 2, first=1000 + 2 * n), range(4)))
    warm = Deposit.objects.count()

    # when: Redis stops, or hangs (accepts and never answers)
    redis.proc.stop()
    hung = HungServer(port) if fault == "hung" else None
    replies = _captures(web, desk, OUTAGE_CAPTURES)

    # then: every capture committed, fast
    assert Counter(r.status for r in replies) == {201: OUTAGE_CAPTURES}
    p99 = percentile([r.seconds for r in replies], 0.99)
    assert p99 < 1.0, (
        f"p99 {p99:.3f}s; all: {sorted(round(r.seconds, 2) for r in replies)}"
    )
    assert Deposit.objects.count() == OUTAGE_CAPTURES + warm
    assert _pending() == OUTAGE_CAPTURES + warm

    # when: Redis returns and a worker runs
    if hung:
        hung.close()
    redis_start(procs, port)
    returned = time.monotonic()
    worker_start(procs, env)

    # then: all notices go out within 60 s; the outbox drains to zero
    wait_for(lambda: _pending() == 0, "the outbox to drain", timeout=DRAIN_SECONDS)
    drained = time.monotonic() - returned
    assert len(mail.messages) >= OUTAGE_CAPTURES + warm
    assert {m["Message-ID"] for m in mail.messages} == {
        n.message_id for n in Notice.objects.all()
    }
    record(
        f"3_redis_{fault}",
        captures=OUTAGE_CAPTURES,
        p50_ms=round(percentile([r.seconds for r in replies], 0.5) * 1000),
        p99_ms=round(p99 * 1000),
        max_ms=round(max(r.seconds for r in replies) * 1000),
        drained_seconds=round(drained, 1),
        messages=len(mail.messages),
    )


class SlowSink(MailSink):
    """A mail server taking 50 ms per message, so a batch of 10 takes half a second
    and a kill lands at a random point of it."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


def _eta_notices_add(first: int, count: int) -> int:
    with transaction.atomic():
        notify(
            kind="eta_update",
            recipients=[
                Recipient("email", f"k{i}@example.com")
                for i in range(first, first + count)
            ],
            context={"incident_reference": "INC-2026-0009", "eta": "15:00"},
            dedupe_key=f"eta:kills:{first}",
        )
    return first + count


def _pool_children(worker: psutil.Process) -> list[psutil.Process]:
    try:
        kids = worker.children()
    except psutil.NoSuchProcess:
        return []
    alive = []
    for kid in kids:
        try:
            if kid.status() != psutil.STATUS_ZOMBIE:
                alive.append(kid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _worker_alive(worker: psutil.Process) -> bool:
    try:
        return worker.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _whole_worker_kill(worker: psutil.Process) -> None:
    kids = _pool_children(worker)
    kill9(worker.pid)
    for kid in kids:
        kill9(kid.pid)


def test_celery_workers_killed_while_sending_lose_nothing(procs, stack_tmp):
    # given: notices committed (topped up while the test runs), a slow local SMTP
    # server, batches of 10, a worker of 2 pool children on a private Redis; beat
    # (the relay, every second) runs apart, since killing it is not the fault here
    sink = SlowSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        redis = redis_start(procs)
        env = _env(
            stack_tmp,
            redis.url,
            smtp_port,
            NOTICE_BATCH_SIZE="10",
            RESILIENCE_RELAY_SECONDS="1",
        )
        worker_log = stack_tmp / "workers.log"
        env["RESILIENCE_WORKER_LOG"] = str(worker_log)
        added = _eta_notices_add(0, NOTICE_TOP_UP)
        beat_start(procs, env)
        zygote = CeleryZygote(procs, env)
        worker = zygote.worker()
        rng = random.Random(4)
        kills: Counter[str] = Counter()
        restarts = 0
        cycles = []
        started = time.monotonic()
        deadline = started + CELERY_KILL_SECONDS

        # when: once a message goes out, a pool child or the whole worker (then
        # forked anew) is killed at a random point of the next half second
        while kills.total() < CELERY_KILLS and time.monotonic() < deadline:
            cycle = time.monotonic()
            if _pending() < NOTICE_TOP_UP:
                added = _eta_notices_add(added, NOTICE_TOP_UP)
            seen = len(sink.messages)
            wait_for(
                lambda seen=seen, worker=worker: (
                    len(sink.messages) > seen or not _worker_alive(worker)
                ),
                f"a worker to send (after {dict(kills)}; worker log: {worker_log})",
                timeout=180,
                interval=0.01,
            )
            if not _worker_alive(worker):
                # Celery's worker gives up when a pool child dies while its pool
                # starts ("Could not start worker processes"); its supervisor
                # starts it again
                _whole_worker_kill(worker)
                worker = zygote.worker()
                restarts += 1
                continue
            time.sleep(rng.uniform(0, 0.5))
            children = _pool_children(worker)
            if children and rng.random() < 0.6:
                kill9(rng.choice(children).pid)
                kills["pool child"] += 1
            else:
                _whole_worker_kill(worker)
                kills["whole worker"] += 1
                worker = zygote.worker()
            cycles.append(time.monotonic() - cycle)
        loop_seconds = time.monotonic() - started

        # then: every notice arrives at least once, duplicates share a Message-ID,
        # and each is marked sent once
        assert kills.total() == CELERY_KILLS, f"{dict(kills)} in {loop_seconds}s"
        wait_for(lambda: _pending() == 0, "every notice sent", timeout=180)
        time.sleep(1)
        # a send task whose pool child was killed 3 times fails for good on its 4th
        # delivery (TASK_MAX_ATTEMPTS) with an alert; the relay's next task goes on
        alerts = [m for m in sink.messages if m["To"] == "ops@example.com"]
        assert {m["Subject"] for m in alerts} <= {
            "Task failed: notifications.send",
            "Task failed: notifications.relay",
        }
        failed_tasks = TaskRun.objects.filter(status=TaskRun.Status.FAILED)
        assert failed_tasks.count() == len(alerts)
        assert all(t.attempts == 4 for t in failed_tasks)
        ids_by_rcpt = defaultdict(set)
        for message in sink.messages:
            if message not in alerts:
                ids_by_rcpt[message["To"]].add(message["Message-ID"])
        assert len(ids_by_rcpt) == added
        assert all(len(ids) == 1 for ids in ids_by_rcpt.values())
        assert {n.message_id for n in Notice.objects.all()} == {
            ids.pop() for ids in ids_by_rcpt.values()
        }
        notices = Notice.objects.annotate(
            ok=Count("deliveries", filter=Q(deliveries__ok=True))
        )
        assert {n.ok for n in notices} == {1}
        assert {n.status for n in notices} == {Notice.Status.SENT}
        assert notices.count() == added
        record(
            "4_celery_kills",
            notices=added,
            kills=dict(kills),
            worker_restarts=restarts,
            loop_seconds=round(loop_seconds, 1),
            cycle_p50_ms=round(percentile(cycles, 0.5) * 1000),
            cycle_p99_ms=round(percentile(cycles, 0.99) * 1000),
            messages_received=len(sink.messages) - len(alerts),
            duplicates=len(sink.messages) - len(alerts) - added,
            tasks_failed_for_good=len(alerts),
        )
    finally:
        controller.stop()


def test_web_process_dies_right_after_commit_and_the_notice_still_goes(
    procs, mail, stack_tmp
):
    # given: a web worker that is killed the moment its transaction commits
    desk = desk_create(customers=1)
    redis = redis_start(procs)
    env = _env(stack_tmp, redis.url, mail.port)
    web = web_start(
        procs, env, workers=1, app="tests.resilience.die_after_commit:application"
    )
    worker_start(procs, env)

    # when: a capture commits and its process dies before answering
    body = deposit_body(desk, 0)
    reply = post_deposit(web.port, desk.key, body, body["client_uuid"])
    died = time.monotonic()

    # then: no answer, yet the deposit and its notice are committed and sent
    assert reply.status == 0
    deposit = Deposit.objects.get()
    assert str(deposit.client_uuid) == body["client_uuid"]
    wait_for(lambda: _pending() == 0, "the notice to be sent", timeout=DRAIN_SECONDS)
    notice = Notice.objects.get()
    assert [m["Message-ID"] for m in mail.messages] == [notice.message_id]
    record(
        "6_web_dies_after_commit", sent_after_seconds=round(time.monotonic() - died, 1)
    )


@pytest.mark.pure
def test_celery_settings_for_at_least_once_delivery():
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_BROKER_CONNECTION_TIMEOUT <= 5
    assert settings.CELERY_REDIS_SOCKET_TIMEOUT <= 5
    assert settings.CELERY_REDIS_SOCKET_CONNECT_TIMEOUT <= 5
    assert settings.CELERY_TASK_PUBLISH_RETRY is False
    if not settings.BROKER_IS_EMBEDDED:
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        assert options["socket_timeout"] <= 5
        assert options["socket_connect_timeout"] <= 5
        # one visibility timeout, longer than any task may run
        assert options["visibility_timeout"] > settings.CELERY_TASK_TIME_LIMIT
        assert (
            "visibility_timeout" not in settings.CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS
        )
    # a claim outlives the longest task, so a running batch is never claimed twice
    assert settings.NOTICE_CLAIM_LEASE_SECONDS > settings.CELERY_TASK_TIME_LIMIT
    assert settings.NOTICE_MAX_ATTEMPTS >= 1


def test_a_send_running_past_the_visibility_timeout_stops_at_its_attempt_limit(
    procs, stack_tmp
):
    # given: a visibility timeout of 2 s and an SMTP server that never answers,
    # so each send runs 3 s (its timeout) and the broker hands the task out again
    smtp = HungServer(free_port())
    try:
        redis = redis_start(procs)
        env = _env(
            stack_tmp,
            redis.url,
            smtp.sock.getsockname()[1],
            CELERY_VISIBILITY_TIMEOUT="2",
            RESILIENCE_EMAIL_TIMEOUT="3",
            RESILIENCE_MAX_ATTEMPTS="3",
        )
        with transaction.atomic():
            (notice,) = notify(
                kind="eta_update",
                recipients=[Recipient("email", "slow@example.com")],
                context={"incident_reference": "INC-2026-0009", "eta": "15:00"},
                dedupe_key="eta:visibility",
            )
        started = time.monotonic()

        # when: workers run it (and the broker redelivers it) for a while
        worker_start(procs, env)
        wait_for(
            lambda: Notice.objects.get(pk=notice.pk).status == Notice.Status.FAILED,
            "the notice to fail",
            timeout=90,
        )
        failed_after = time.monotonic() - started
        time.sleep(8)  # room for a redelivery loop, were there one

        # then: at most its attempt limit, failed, and staff alerted
        notice.refresh_from_db()
        assert notice.attempts == 3
        assert notice.deliveries.count() == 3
        assert not notice.deliveries.filter(ok=True).exists()
        alert = Notice.objects.get(kind="staff_notice_failed")
        assert alert.recipient == "ops@example.com"
        record(
            "5_visibility_timeout",
            visibility_timeout_s=2,
            send_runs_s=3,
            attempts=notice.attempts,
            failed_after_seconds=round(failed_after, 1),
            smtp_connections=len(smtp.accepted),
        )
    finally:
        smtp.close()
