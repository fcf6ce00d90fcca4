"""Test data for reconciliation: deposits are written directly (tests only)."""

import datetime as dt
import uuid
from decimal import Decimal

from deposits.models import Deposit
from incidents.services import incident_open
from tests.factories import BranchFactory, UserFactory

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


def incident_make(title: str = "Core banking down"):
    return incident_open(title=title, starts_at=START)


def deposit_make(
    incident,
    *,
    receipt_number: str,
    amount: str,
    account: str = "GB00000001",
    payer_name: str = "Ann Lee",
    currency: str = "GBP",
    reference: str = "",
    received_at: dt.datetime | None = None,
    branch=None,
    recorded_by=None,
    customer=None,
) -> Deposit:
    branch = branch or BranchFactory(code="HQ", name="Head office")
    recorded_by = recorded_by or UserFactory(username="recorder", branch=branch)
    return Deposit.objects.create(
        client_uuid=uuid.uuid4(),
        incident=incident,
        branch=branch,
        receipt_number=receipt_number,
        customer=customer,
        channel=Deposit.Channel.IN_PERSON,
        account=account,
        payer_name=payer_name,
        amount=Decimal(amount),
        currency=currency,
        received_at=received_at or START + dt.timedelta(hours=1),
        reference=reference,
        status=Deposit.Status.AWAITING_CONFIRMATION,
        recorded_by=recorded_by,
    )
