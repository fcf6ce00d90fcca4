"""Idempotency-Key on every money-moving POST: replay, 422, 409 in flight, 400, purge."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from deposits.models import Deposit, DepositReversal
from outage_desk.idempotency import (
    ERROR_KEY_IN_FLIGHT,
    ERROR_KEY_MISSING,
    ERROR_KEY_REUSED,
    IN_FLIGHT,
    idempotency_records_purge,
)
from outage_desk.models import IdempotencyRecord
from outage_desk.roles import Role
from outage_desk.tasks import idempotency_purge_task
from tests.deposits.factories import ApprovalThresholdFactory, DepositFactory
from tests.deposits.helpers import row_counts
from tests.factories import UserFactory


def as_user(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def post(client, url, body=None, key="k-1"):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(url, body, format="json", headers=headers)


@pytest.fixture
def deposit(clerk, incident, branch):
    return DepositFactory(branch=branch, incident=incident, recorded_by=clerk)


@pytest.fixture
def pending(roles, branch, incident, body):
    """A deposit over the threshold, recorded by one supervisor, waiting for another."""
    ApprovalThresholdFactory(branch=branch, currency="GBP", amount=Decimal("100"))
    boss = UserFactory(username="boss", branch=branch, roles=[Role.SUPERVISOR])
    created = post(as_user(boss), "/api/v1/deposits/", {**body, "amount": "500.00"})
    assert created.json()["status"] == "pending_approval"
    return Deposit.objects.get()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/deposits/",
        "/api/v1/deposits/1/reverse/",
        "/api/v1/deposits/1/approve/",
        "/api/v1/reversals/1/approve/",
        "/api/v1/reversals/1/reject/",
        "/api/v1/deposits/import/",
    ],
)
def test_every_money_moving_post_needs_a_key(supervisor, url, db):
    before = row_counts()

    response = post(as_user(supervisor), url, {"reason": "x"}, key=None)

    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "idempotency_key_missing", "message": str(ERROR_KEY_MISSING)}
    }
    assert row_counts() == before
    assert IdempotencyRecord.objects.count() == 0


def test_a_reversal_request_is_replayed_not_repeated(supervisor, deposit):
    client = as_user(supervisor)
    url = f"/api/v1/deposits/{deposit.pk}/reverse/"

    first = post(client, url, {"reason": "Wrong account"})
    again = post(client, url, {"reason": "Wrong account"})

    assert first.status_code == 201
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert DepositReversal.objects.count() == 1


def test_a_reversal_request_with_another_body_is_422(supervisor, deposit):
    client = as_user(supervisor)
    url = f"/api/v1/deposits/{deposit.pk}/reverse/"
    post(client, url, {"reason": "Wrong account"})

    response = post(client, url, {"reason": "Another reason"})

    assert response.status_code == 422
    assert response.json() == {
        "error": {"code": "idempotency_key_reused", "message": str(ERROR_KEY_REUSED)}
    }
    assert DepositReversal.objects.get().reason == "Wrong account"


def test_an_approval_is_replayed_not_repeated(roles, branch, pending):
    other = UserFactory(username="other", branch=branch, roles=[Role.SUPERVISOR])
    client = as_user(other)
    url = f"/api/v1/deposits/{pending.pk}/approve/"

    first = post(client, url)
    again = post(client, url)

    assert first.status_code == 200
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Deposit.objects.get().status == Deposit.Status.PROVISIONAL


def test_a_reversal_approval_is_replayed_not_repeated(
    roles, branch, supervisor, deposit
):
    requested = post(
        as_user(supervisor),
        f"/api/v1/deposits/{deposit.pk}/reverse/",
        {"reason": "Wrong account"},
    )
    other = UserFactory(username="sam", branch=branch, roles=[Role.SUPERVISOR])
    url = f"/api/v1/reversals/{requested.json()['id']}/approve/"

    first = post(as_user(other), url, key="approve-1")
    again = post(as_user(other), url, key="approve-1")

    assert first.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Deposit.objects.get().status == Deposit.Status.REVERSED


def test_a_retry_while_the_first_is_still_running_is_409(api, clerk, body):
    # given: the first request claimed the key and has not answered yet
    IdempotencyRecord.objects.create(
        user=clerk,
        key="k-1",
        method="POST",
        path="/api/v1/deposits/",
        request_hash=_fingerprint_of(api, body),
        status_code=IN_FLIGHT,
    )
    before = row_counts()

    # when
    response = post(api, "/api/v1/deposits/", body)

    # then
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "idempotency_key_in_flight",
            "message": str(ERROR_KEY_IN_FLIGHT),
        }
    }
    assert row_counts() == before


def test_a_key_left_in_flight_by_a_dead_process_runs_again(api, clerk, body):
    record = IdempotencyRecord.objects.create(
        user=clerk,
        key="k-1",
        method="POST",
        path="/api/v1/deposits/",
        request_hash=_fingerprint_of(api, body),
        status_code=IN_FLIGHT,
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=10)
    )

    response = post(api, "/api/v1/deposits/", body)

    # the probe recorded the deposit already: the rerun finds it (client_uuid)
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert Deposit.objects.count() == 1
    assert IdempotencyRecord.objects.get().status_code == 200


def _fingerprint_of(api, body):
    """The request hash the server computes, learnt from a throw-away first call."""
    response = post(api, "/api/v1/deposits/", body, key="probe")
    record = IdempotencyRecord.objects.get(key="probe")
    fingerprint = record.request_hash
    record.delete()
    assert response.status_code == 201
    return fingerprint


def test_the_key_row_is_claimed_before_the_write(clerk, body, monkeypatch):
    # (the full way; the capture's fast lane claims the key in the capture's own
    # transaction: tests/deposits/test_capture_lane.py)
    api = as_user(clerk)
    seen = []
    import deposits.api.views as views

    real = views.deposit_record

    def spy(**kwargs):
        seen.append(IdempotencyRecord.objects.get(key="k-1").status_code)
        return real(**kwargs)

    monkeypatch.setattr(views, "deposit_record", spy)

    post(api, "/api/v1/deposits/", body)

    assert seen == [IN_FLIGHT]
    assert IdempotencyRecord.objects.get().status_code == 201


def test_keys_are_kept_seven_days_then_purged(api, body):
    post(api, "/api/v1/deposits/", body)
    record = IdempotencyRecord.objects.get()

    assert idempotency_records_purge(now=record.created_at + dt.timedelta(days=6)) == 0
    assert IdempotencyRecord.objects.count() == 1
    assert idempotency_records_purge(now=record.created_at + dt.timedelta(days=8)) == 1
    assert IdempotencyRecord.objects.count() == 0
    assert idempotency_purge_task() == 0


def test_the_purge_runs_from_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["idempotency-purge"]

    assert entry["task"] == "outage_desk.idempotency_purge"
