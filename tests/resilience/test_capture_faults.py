"""Capture under concurrency and crashes, against multi-worker gunicorn on PostgreSQL.

Figures each test measured go to tests/resilience/results (one JSON per test) and
are summarised in docs/resilience.md.
"""

import json
import os
import queue
import random
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from deposits.models import Deposit, ReceiptCounter
from deposits.selectors import deposit_totals_today
from outage_desk.models import IdempotencyRecord, User
from tests.resilience.conftest import (
    deposit_body,
    desk_create,
    invariants_check,
    kill9,
    percentile,
    post_deposit,
    stack_env,
    web_start,
    worker_serving,
)
from tests.resilience.results import record

pytestmark = pytest.mark.django_db(transaction=True)

SAME_KEY_REQUESTS = 1000
SAME_KEY_THREADS = 50
KILLS = int(os.environ.get("RESILIENCE_KILLS", "100"))
# A bound, not a target: 100 cycles take about 15-30 s on the 2-core machine.
KILL_LOOP_SECONDS = 300
KILL_WORKERS = 3
BRANCH_CAPTURES = 200


def test_1000_concurrent_posts_of_one_deposit_make_one(procs):
    # given: 4 gunicorn workers and one deposit, one Idempotency-Key
    desk = desk_create()
    web = web_start(procs, stack_env(), workers=4)
    body, key = deposit_body(desk, 1), uuid.uuid4().hex

    # when: 1,000 POSTs from a pool of 50 threads
    started = time.monotonic()
    with ThreadPoolExecutor(SAME_KEY_THREADS) as pool:
        replies = list(
            pool.map(
                lambda _n: post_deposit(web.port, desk.key, body, key),
                range(SAME_KEY_REQUESTS),
            )
        )
    elapsed = time.monotonic() - started

    # then: one deposit, and every answer carries its id
    deposit = Deposit.objects.get()
    statuses = Counter(r.status for r in replies)
    assert set(statuses) <= {200, 201}, statuses
    # (a replay of the stored answer repeats its 201, marked Idempotent-Replayed)
    assert {r.body["id"] for r in replies} == {deposit.pk}
    assert IdempotencyRecord.objects.count() == 1
    figures = invariants_check()
    record(
        "1_same_key",
        requests=len(replies),
        threads=SAME_KEY_THREADS,
        gunicorn_workers=4,
        statuses=dict(statuses),
        deposits=figures["deposits"],
        seconds=round(elapsed, 1),
        p50_ms=round(percentile([r.seconds for r in replies], 0.5) * 1000),
        p99_ms=round(percentile([r.seconds for r in replies], 0.99) * 1000),
    )


def _retry_until_answered(port, key, body, idem, deadline):
    seen: Counter[int] = Counter()
    while time.monotonic() < deadline:
        reply = post_deposit(port, key, body, idem)
        if reply.status in (200, 201):
            return reply
        seen[reply.status] += 1
        assert reply.status in (0, 502, 503), (reply.status, reply.body)
        time.sleep(0.05)
    pytest.fail(f"a retry got no answer before the loop's deadline: {dict(seen)}")


def _capture_killing_its_worker(web, desk, body, idem, delay):
    """POST a capture and kill -9 the worker serving it ``delay`` s after sending.

    Returns the first reply and whether a worker was killed (none is when the answer
    came before the worker holding the connection could be seen).
    """
    ports: queue.Queue[int] = queue.Queue()
    with ThreadPoolExecutor(1) as pool:
        sent = time.monotonic()
        first = pool.submit(post_deposit, web.port, desk.key, body, idem, 30, ports.put)
        worker = None
        while worker is None and not first.done():
            try:
                client_port = ports.get(timeout=0.01)
            except queue.Empty:
                continue
            while worker is None and not first.done():
                worker = worker_serving(web, client_port)
                time.sleep(0 if worker else 0.002)
        pause = sent + delay - time.monotonic()
        if worker is not None:
            time.sleep(max(pause, 0))
            kill9(worker)
        return first.result(), worker is not None


def test_kill_9_of_a_worker_around_the_commit_then_retry_leaves_one_deposit(procs):
    # given: 3 gunicorn workers forked from a master that preloaded the app and ran
    # one capture (so a worker forked after a kill starts warm)
    desk = desk_create()
    master_capture = deposit_body(desk, 99)
    env = stack_env(
        RESILIENCE_WARM_BODY=json.dumps(master_capture), RESILIENCE_WARM_KEY=desk.key
    )
    web = web_start(
        procs, env, workers=KILL_WORKERS, app="tests.resilience.warm_app:application"
    )
    # the time a capture takes here, to aim the kills around its commit
    warm = [
        post_deposit(web.port, desk.key, deposit_body(desk, n), uuid.uuid4().hex)
        for n in range(5)
    ]
    typical = sorted(r.seconds for r in warm)[2]
    outcomes: Counter[str] = Counter()
    keys, cycles = [], []
    unseen = 0
    started = time.monotonic()
    deadline = started + KILL_LOOP_SECONDS
    rng = random.Random(11)

    # when: the worker serving each capture is killed at a random point of its
    # request, then the client retries with the same key and body until answered
    while outcomes.total() < KILLS and time.monotonic() < deadline:
        cycle = time.monotonic()
        body, idem = deposit_body(desk, 100 + len(keys)), uuid.uuid4().hex
        keys.append(body["client_uuid"])
        delay = rng.uniform(0, typical * 1.5)
        first, killed = _capture_killing_its_worker(web, desk, body, idem, delay)
        retry = _retry_until_answered(web.port, desk.key, body, idem, deadline + 60)
        cycles.append(time.monotonic() - cycle)
        if not killed:
            assert first.status == 201, (first.status, first.body)
            unseen += 1  # answered before its worker was seen: no kill, go on
            continue
        if first.status in (200, 201):
            outcomes["answered before the kill"] += 1
        elif retry.status == 200:
            outcomes["committed, answer lost; retry replayed"] += 1
        else:
            outcomes["not committed; retry recorded it"] += 1
        assert retry.status in (200, 201)
    loop_seconds = time.monotonic() - started

    # then: exactly one deposit per key, each whole
    assert outcomes.total() == KILLS, f"{outcomes.total()} kills in {loop_seconds}s"
    counts = Counter(
        str(u) for u in Deposit.objects.values_list("client_uuid", flat=True)
    )
    assert all(counts[k] == 1 for k in keys), "a key has no deposit or two"
    assert Deposit.objects.count() == len(keys) + len(warm) + 1
    figures = invariants_check()
    record(
        "2_kill_web_worker",
        kills=outcomes.total(),
        captures=len(keys),
        gunicorn_workers=KILL_WORKERS,
        typical_capture_ms=round(typical * 1000, 1),
        outcomes=dict(outcomes),
        answered_before_seen=unseen,
        loop_seconds=round(loop_seconds, 1),
        cycle_p50_ms=round(percentile(cycles, 0.5) * 1000),
        cycle_p99_ms=round(percentile(cycles, 0.99) * 1000),
        deposits=figures["deposits"],
        audit_events_checked=figures["audit_events_checked"],
    )


def test_200_concurrent_captures_to_one_branch_keep_totals(procs):
    # given: 4 workers, 200 different deposits of one branch
    desk = desk_create(customers=20)
    web = web_start(procs, stack_env(), workers=4)
    rng = random.Random(8)
    amounts = [Decimal(rng.randrange(1, 10**7)) / 100 for _ in range(BRANCH_CAPTURES)]
    bodies = [deposit_body(desk, n, amount) for n, amount in enumerate(amounts)]

    # when: all at once from 50 threads (each retried on a lost answer)
    def capture(body):
        reply = post_deposit(web.port, desk.key, body, body["client_uuid"])
        return reply

    started = time.monotonic()
    with ThreadPoolExecutor(50) as pool:
        replies = list(pool.map(capture, bodies))
    elapsed = time.monotonic() - started

    # then: every capture stored once; counter, numbers and sums agree
    assert Counter(r.status for r in replies) == {201: BRANCH_CAPTURES}
    deposits = Deposit.objects.filter(branch__code="HQ")
    numbers = sorted(deposits.values_list("receipt_number", flat=True))
    assert numbers == [f"HQ-{n:06d}" for n in range(1, BRANCH_CAPTURES + 1)]
    assert ReceiptCounter.objects.get(branch__code="HQ").last_number == len(numbers)
    stored = sum(deposits.values_list("amount", flat=True), Decimal(0))
    assert stored == sum(amounts, Decimal(0))
    # the branch screen's totals (per currency and channel) say the same
    clerk = User.objects.get(username="clerk-hq")
    totals = [
        (t["currency"], t["total"], t["count"])
        for t in deposit_totals_today(user=clerk)
    ]
    assert totals == [("GBP", sum(amounts, Decimal(0)), BRANCH_CAPTURES)]
    invariants_check()
    record(
        "8_one_branch_totals",
        captures=BRANCH_CAPTURES,
        threads=50,
        seconds=round(elapsed, 1),
        p50_ms=round(percentile([r.seconds for r in replies], 0.5) * 1000),
        p99_ms=round(percentile([r.seconds for r in replies], 0.99) * 1000),
        total=str(stored),
    )
