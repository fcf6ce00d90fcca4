"""PostgreSQL restarted under load, and rolled-back transactions retried, never a 500."""

import subprocess
import threading
import time
from collections import Counter

import pytest
from django.db import OperationalError
from psycopg2.errors import DeadlockDetected, SerializationFailure
from rest_framework.test import APIClient

from deposits.models import Deposit
from deposits.services import capture
from tests.resilience.conftest import (
    BIN,
    ROOT,
    deposit_body,
    desk_create,
    percentile,
    post_deposit,
    stack_env,
    web_start,
)
from tests.resilience.results import record

CAPTURES = 60
DOWN_SECONDS = 4


@pytest.mark.pure
@pytest.mark.django_db
@pytest.mark.parametrize("cause", [SerializationFailure, DeadlockDetected])
def test_a_capture_rolled_back_by_the_database_is_retried(monkeypatch, settings, cause):
    # given: the lane's one call is picked as a deadlock or serialization victim,
    # and so is the first attempt of the full way it then takes
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_CLASSES": [],
    }
    desk = desk_create()
    real, calls, lane_calls = capture.deposit_insert, [], []

    def victim_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("rolled back") from cause()
        return real(**kwargs)

    def lane_victim(params):
        lane_calls.append(1)
        raise OperationalError("rolled back") from cause()

    monkeypatch.setattr(capture, "deposit_insert", victim_once)
    monkeypatch.setattr(capture, "_one_call", lane_victim)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {desk.key}")

    # when
    response = api.post(
        "/api/v1/deposits/",
        deposit_body(desk, 1),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )

    # then: recorded on the full way's second attempt, once
    assert response.status_code == 201, response.json()
    assert len(lane_calls) == 1
    assert len(calls) == 2
    assert Deposit.objects.count() == 1


@pytest.mark.pure
@pytest.mark.django_db
def test_a_lost_database_connection_is_a_503_with_retry_after(monkeypatch):
    desk = desk_create()

    def gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(capture, "_one_call", gone)  # the lane's
    monkeypatch.setattr(capture, "deposit_insert", gone)  # the full way's
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {desk.key}")

    response = api.post(
        "/api/v1/deposits/",
        deposit_body(desk, 1),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    from outage_desk.api.errors import ERROR_DATABASE_UNAVAILABLE

    assert response.json() == {
        "error": {
            "code": "database_unavailable",
            "message": str(ERROR_DATABASE_UNAVAILABLE),
        }
    }
    assert Deposit.objects.count() == 0


def _migrate(url: str) -> None:
    env = stack_env(DATABASE_URL=url)
    subprocess.run(
        [str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=240,
    )


def _in_private_db(url: str, code: str) -> str:
    """Run Django code against the private database in a child process."""
    env = stack_env(DATABASE_URL=url)
    out = subprocess.run(
        [str(BIN / "python"), "-c", f"import django; django.setup()\n{code}"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


SETUP = """
import json
from tests.resilience.conftest import desk_create
d = desk_create()
print(json.dumps([d.key, d.incident, d.accounts]))
"""
CHECK = """
import json
from tests.resilience.conftest import invariants_check
from deposits.models import Deposit
figures = invariants_check()
print(json.dumps({"figures": figures, "uuids": [str(u) for u in Deposit.objects.values_list("client_uuid", flat=True)]}))
"""


def test_postgresql_restarted_during_captures(procs, private_postgres):
    import json

    from tests.resilience.conftest import Desk

    # given: the app on a private cluster, two workers, migrated and seeded
    url = private_postgres.url("desk")
    private_postgres.createdb("desk")
    _migrate(url)
    key, incident, accounts = json.loads(_in_private_db(url, SETUP))
    desk = Desk(key=key, incident=incident, accounts=accounts)
    web = web_start(procs, stack_env(DATABASE_URL=url), workers=2, preload=False)
    bodies = [deposit_body(desk, n) for n in range(CAPTURES)]
    replies: list = []
    done = threading.Event()

    def client():
        # one client, captures in order; each retried with its key until recorded
        for body in bodies:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                reply = post_deposit(web.port, desk.key, body, body["client_uuid"])
                replies.append(reply)
                if reply.status in (200, 201):
                    break
                time.sleep(0.2)
        done.set()

    # when: PostgreSQL stops for a few seconds in the middle of the run
    thread = threading.Thread(target=client)
    thread.start()
    while len([r for r in replies if r.status == 201]) < CAPTURES // 3:
        time.sleep(0.05)
    stopped = time.monotonic()
    private_postgres.stop("fast")
    time.sleep(DOWN_SECONDS)
    private_postgres.start()
    restarted = time.monotonic() - stopped
    thread.join(timeout=240)
    assert done.is_set()

    # then: failures were clean 503s (or no answer while a worker restarted),
    # never a 500; every capture recorded exactly once and whole. A 200 is a retry
    # whose first attempt committed the deposit but not its stored answer: the
    # deposit's UUID finds it and it is returned, not recorded again.
    statuses = Counter(r.status for r in replies)
    assert 500 not in statuses
    assert set(statuses) <= {0, 200, 201, 503}, statuses
    assert all(
        r.body.get("error", {}).get("code") == "database_unavailable"
        for r in replies
        if r.status == 503
    ), "503 without a JSON detail"
    assert statuses[201] == CAPTURES
    result = json.loads(_in_private_db(url, CHECK))
    assert sorted(result["uuids"]) == sorted(b["client_uuid"] for b in bodies)
    record(
        "7_postgres_restart",
        captures=CAPTURES,
        down_seconds=round(restarted, 1),
        statuses=dict(statuses),
        deposits=result["figures"]["deposits"],
        audit_events_checked=result["figures"]["audit_events_checked"],
        p99_ms_ok=round(
            percentile([r.seconds for r in replies if r.status == 201], 0.99) * 1000
        ),
    )
