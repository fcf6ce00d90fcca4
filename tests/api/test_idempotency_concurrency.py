"""Two requests with one Idempotency-Key at the same moment: one write, never two."""

import threading
import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from deposits.models import Deposit
from outage_desk.models import IdempotencyRecord

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_retry_waits_for_the_first_answer_and_the_write_happens_once(
    clerk, body, monkeypatch
):
    import deposits.api.views as views

    real = views.deposit_record
    started = threading.Event()

    def slow_record(**kwargs):
        started.set()
        time.sleep(0.5)  # the first request is still running when the second arrives
        return real(**kwargs)

    monkeypatch.setattr(views, "deposit_record", slow_record)
    statuses = []

    def send():
        try:
            client = APIClient()
            client.force_authenticate(clerk)
            response = client.post(
                "/api/v1/deposits/",
                body,
                format="json",
                headers={"Idempotency-Key": "same"},
            )
            statuses.append(
                (response.status_code, response.get("Idempotent-Replayed", ""))
            )
        finally:
            connection.close()

    first = threading.Thread(target=send)
    first.start()
    started.wait(5)
    second = threading.Thread(target=send)
    second.start()
    first.join()
    second.join()

    # The retry waited while the first was running, then got its answer replayed.
    assert sorted(statuses) == [(201, ""), (201, "true")]
    assert Deposit.objects.count() == 1
    assert IdempotencyRecord.objects.get().status_code == 201
