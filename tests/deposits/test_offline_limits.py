"""The branch's offline limits, held by the server: an offline deposit over them is
recorded exactly once but waits for a supervisor, with the reason shown to both."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from deposits.models import Deposit
from deposits.services.approvals import deposit_approve
from outage_desk.roles import Role
from tests.factories import UserFactory

NOW = timezone.now()


@pytest.fixture
def limited(branch):
    branch.offline_max_amount = Decimal("500.00")
    branch.offline_max_total = Decimal("800.00")
    branch.save()
    return branch


@pytest.fixture
def api(clerk):
    client = APIClient()
    client.force_authenticate(clerk)
    return client


def offline_body(incident, amount, *, taken=None, currency="GBP", offline=True):
    taken = taken or NOW - dt.timedelta(minutes=90)
    body = {
        "client_uuid": str(uuid.uuid4()),
        "incident": incident.reference,
        "channel": "cash",
        # Each its own payer, so none looks like a duplicate of another.
        "account": f"GB{uuid.uuid4().int % 10**8:08d}",
        "payer_name": "Alice Thompson",
        "amount": amount,
        "currency": currency,
        "received_at": (taken - dt.timedelta(minutes=1)).isoformat(),
        "reference": f"SLIP-{uuid.uuid4().hex[:6]}",
        "device_time": taken.isoformat(),
    }
    if offline:
        body["offline"] = True
    return body


def send(api, body):
    return api.post(
        "/api/v1/deposits/",
        body,
        format="json",
        headers={"Idempotency-Key": body["client_uuid"]},
    )


def test_within_the_limits_an_offline_deposit_counts_at_once(api, limited, incident):
    response = send(api, offline_body(incident, "500.00"))

    assert response.status_code == 201
    data = response.json()
    assert (data["status"], data["hold_reason"], data["hold_message"]) == (
        "provisional",
        "",
        "",
    )


def test_over_the_one_deposit_limit_it_is_recorded_but_waits(api, limited, incident):
    body = offline_body(incident, "500.01")

    response = send(api, body)

    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "pending_approval"
    assert data["hold_reason"] == "offline_over_max"
    assert data["hold_message"].startswith("amount: ")
    assert "500.00 GBP" in data["hold_message"]
    deposit = Deposit.objects.get()
    assert (deposit.amount, deposit.source) == (Decimal("500.01"), "offline")
    assert not deposit.counts

    # The same UUID again is the same deposit, still waiting.
    again = send(api, body)
    assert again.status_code in (200, 201)
    assert again.json()["id"] == data["id"]
    assert again.json()["status"] == "pending_approval"
    assert Deposit.objects.count() == 1


def test_the_deposit_that_takes_the_unsent_total_over_the_limit_waits(
    api, limited, incident
):
    """Three deposits taken offline one after the other, sent when back online."""
    taken = [NOW - dt.timedelta(minutes=m) for m in (90, 80, 70)]
    bodies = [offline_body(incident, "300.00", taken=t) for t in taken]

    statuses = [send(api, body).json() for body in bodies]

    assert [s["status"] for s in statuses] == [
        "provisional",
        "provisional",
        "pending_approval",
    ]
    assert statuses[2]["hold_reason"] == "offline_over_total"
    assert statuses[2]["hold_message"].startswith("amount: ")
    assert "800.00 GBP" in statuses[2]["hold_message"]
    assert send(api, bodies[2]).json()["id"] == statuses[2]["id"]
    assert Deposit.objects.count() == 3


def test_deposits_already_sent_when_one_was_taken_do_not_count(api, limited, incident):
    for minutes in (90, 80):
        taken = NOW - dt.timedelta(minutes=minutes)
        assert (
            send(api, offline_body(incident, "300.00", taken=taken)).status_code == 201
        )
    # Those two reached the server before the next deposit was taken offline.
    later = offline_body(
        incident, "300.00", taken=timezone.now() + dt.timedelta(seconds=30)
    )

    assert send(api, later).json()["status"] == "provisional"


def test_another_clerks_offline_deposits_do_not_count(api, limited, incident, branch):
    other = APIClient()
    other.force_authenticate(
        UserFactory(username="ann", branch=branch, roles=[Role.CLERK])
    )
    assert (
        send(other, offline_body(incident, "500.00")).json()["status"] == "provisional"
    )

    mine = send(api, offline_body(incident, "400.00"))

    assert mine.json()["status"] == "provisional"


def test_an_offline_deposit_in_another_currency_waits(api, limited, incident):
    response = send(api, offline_body(incident, "10.00", currency="EUR"))

    data = response.json()
    assert (data["status"], data["hold_reason"]) == (
        "pending_approval",
        "offline_currency",
    )
    assert data["hold_message"].startswith("currency: ")


def test_without_limits_nothing_waits(api, branch, incident):
    response = send(api, offline_body(incident, "90000.00"))

    assert response.json()["status"] == "provisional"


def test_online_captures_are_not_offline_limited(api, client, clerk, limited, incident):
    online = send(api, offline_body(incident, "900.00", offline=False))
    assert (online.json()["status"], online.json()["source"]) == ("provisional", "api")

    client.force_login(clerk)
    form = {
        "client_uuid": str(uuid.uuid4()),
        "branch": "HQ",
        "incident": str(incident.pk),
        "channel": "cash",
        "customer": "",
        "account": "GB00001234",
        "payer_name": "Alice Thompson",
        "amount": "900.00",
        "currency": "GBP",
        "received_at": timezone.localtime(NOW - dt.timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        "reference": "SLIP-FORM",
        "note": "",
        "duplicate_reason": "",
    }
    response = client.post("/deposits/", form)

    assert response.status_code == 302
    deposit = Deposit.objects.get(reference="SLIP-FORM")
    assert (deposit.status, deposit.source, deposit.hold_reason) == (
        "provisional",
        "form",
        "",
    )


def test_the_reason_shows_to_the_clerk_and_the_supervisor_who_approves(
    api, client, clerk, supervisor, limited, incident
):
    send(api, offline_body(incident, "650.00"))
    deposit = Deposit.objects.get()

    client.force_login(clerk)
    capture_page = client.get("/deposits/").content.decode()
    assert 'data-testid="hold-reason"' in capture_page
    assert "over the branch&#x27;s limit for one offline deposit (500.00 GBP)" in (
        capture_page
    )
    client.force_login(supervisor)
    supervision = client.get("/deposits/supervision/").content.decode()
    assert "over the branch&#x27;s limit for one offline deposit (500.00 GBP)" in (
        supervision
    )

    deposit_approve(deposit=deposit, approved_by=supervisor)

    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.PROVISIONAL
    assert deposit.counts
