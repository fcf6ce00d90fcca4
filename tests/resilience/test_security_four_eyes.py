"""Four eyes: nobody makes and approves the same large deposit or reversal, however asked."""

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from deposits.errors import ERROR_REVERSAL_FOUR_EYES, ERROR_SELF_APPROVAL
from deposits.models import Deposit, DepositReversal
from deposits.services import deposit_reversal_request
from outage_desk.tokens import api_token_create
from tests.security_support import branch_world, capture, open_incident


@pytest.fixture
def world(db):
    return branch_world("HQ")


@pytest.fixture
def incident(db):
    return open_incident()


@pytest.fixture
def own_big(world, incident):
    """A large deposit recorded by the supervisor, waiting for a second person."""
    return capture(
        world=world,
        incident=incident,
        amount=Decimal("5000.00"),
        recorded_by=world.supervisor,
    )


@pytest.fixture
def own_reversal(world, incident):
    """A reversal the supervisor asked for, of a clerk's deposit."""
    deposit = capture(world=world, incident=incident, amount=Decimal("40.00"))
    return deposit_reversal_request(
        deposit=deposit, requested_by=world.supervisor, reason="Wrong account"
    )


def api(client, user):
    _, key = api_token_create(user=user, name="four eyes")
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_the_form_refuses_approving_ones_own_large_deposit(client, world, own_big):
    client.force_login(world.supervisor)

    response = client.post(
        f"/deposits/{own_big.pk}/approve/",
        {"approved_by": world.supervisor2.pk, "status": "provisional"},
        follow=True,
    )

    assert str(ERROR_SELF_APPROVAL) in response.content.decode()
    own_big.refresh_from_db()
    assert (own_big.status, own_big.approved_by) == (
        Deposit.Status.PENDING_APPROVAL,
        None,
    )


def test_the_api_refuses_approving_ones_own_large_deposit(client, world, own_big):
    headers = api(client, world.supervisor)
    crafted = client.post(
        f"/api/v1/deposits/{own_big.pk}/approve/",
        {"approved_by": world.supervisor2.pk},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        **headers,
    )
    plain = client.post(
        f"/api/v1/deposits/{own_big.pk}/approve/",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        **headers,
    )

    # Naming another approver in the body changes nothing: the caller is the maker.
    assert crafted.status_code == 403
    assert crafted.json()["error"]["message"] == str(ERROR_SELF_APPROVAL)
    assert plain.status_code == 403
    assert plain.json()["error"]["message"] == str(ERROR_SELF_APPROVAL)
    own_big.refresh_from_db()
    assert own_big.status == Deposit.Status.PENDING_APPROVAL


def test_the_api_ignores_a_status_or_approver_in_a_capture(client, world, incident):
    body = {
        "client_uuid": str(uuid.uuid4()),
        "incident": incident.reference,
        "channel": "cash",
        "account": world.customer.account,
        "payer_name": world.customer.name,
        "amount": "5000.00",
        "currency": "GBP",
        "received_at": timezone.now().isoformat(),
        "reference": "CRAFTED",
        "status": "provisional",
        "approved_by": world.supervisor2.pk,
    }

    response = client.post(
        "/api/v1/deposits/",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        **api(client, world.supervisor),
    )

    # Fields the API does not take are refused, and nothing is recorded.
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"status", "approved_by"}
    assert not Deposit.objects.filter(reference="CRAFTED").exists()


def test_the_form_refuses_approving_ones_own_reversal(client, world, own_reversal):
    client.force_login(world.supervisor)

    response = client.post(
        f"/deposits/reversals/{own_reversal.pk}/",
        {"decision": "approve", "decided_by": world.supervisor2.pk},
        follow=True,
    )

    assert str(ERROR_REVERSAL_FOUR_EYES) in response.content.decode()
    own_reversal.refresh_from_db()
    assert own_reversal.status == DepositReversal.Status.PENDING
    assert own_reversal.deposit.status == Deposit.Status.PROVISIONAL


def test_the_api_refuses_approving_ones_own_reversal(client, world, own_reversal):
    response = client.post(
        f"/api/v1/reversals/{own_reversal.pk}/approve/",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        **api(client, world.supervisor),
    )

    assert response.status_code == 403
    assert response.json()["error"]["message"] == str(ERROR_REVERSAL_FOUR_EYES)
    own_reversal.refresh_from_db()
    assert own_reversal.status == DepositReversal.Status.PENDING


def test_the_database_refuses_a_self_approved_deposit(world, own_big):
    with pytest.raises(IntegrityError), transaction.atomic():
        Deposit.objects.filter(pk=own_big.pk).update(
            status=Deposit.Status.PROVISIONAL,
            approved_by=world.supervisor,
            approved_at=timezone.now(),
        )

    own_big.refresh_from_db()
    assert (own_big.status, own_big.approved_by) == (
        Deposit.Status.PENDING_APPROVAL,
        None,
    )


def test_the_database_refuses_a_self_decided_reversal(world, own_reversal):
    with pytest.raises(IntegrityError), transaction.atomic():
        DepositReversal.objects.filter(pk=own_reversal.pk).update(
            status=DepositReversal.Status.APPROVED,
            decided_by=world.supervisor,
            decided_at=timezone.now(),
        )

    own_reversal.refresh_from_db()
    assert (own_reversal.status, own_reversal.decided_by) == (
        DepositReversal.Status.PENDING,
        None,
    )


def test_the_database_accepts_a_second_persons_approval(world, own_big):
    changed = Deposit.objects.filter(pk=own_big.pk).update(
        status=Deposit.Status.PROVISIONAL,
        approved_by=world.supervisor2,
        approved_at=timezone.now(),
    )

    assert changed == 1
