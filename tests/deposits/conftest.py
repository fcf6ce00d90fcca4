"""Fixtures for deposit tests: an open incident, a customer, a capture helper."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from deposits.models import Deposit
from deposits.services import deposit_record
from tests.factories import CustomerFactory

from .factories import IncidentFactory


@pytest.fixture
def incident(db):
    return IncidentFactory(reference="INC-2026-0001")


@pytest.fixture
def closed_incident(db):
    started = timezone.now() - dt.timedelta(days=5)
    return IncidentFactory(
        reference="INC-2026-0002",
        impact_started_at=started,
        restored_at=started + dt.timedelta(hours=2),
        capture_grace=dt.timedelta(hours=24),
    )


@pytest.fixture
def customer(branch):
    return CustomerFactory(
        account="GB00001234",
        name="Alice Thompson",
        email="alice.t@example.com",
        phone="+447700900001",
        language="en",
        branch=branch,
    )


def capture_kwargs(*, incident, branch, recorded_by, **overrides):
    """Valid deposit_record arguments; override any of them."""
    values = {
        "incident": incident,
        "branch": branch,
        "recorded_by": recorded_by,
        "client_uuid": uuid.UUID("11111111-1111-4111-8111-111111111111"),
        "channel": Deposit.Channel.CASH,
        "account": "GB00001234",
        "payer_name": "Alice Thompson",
        "amount": Decimal("125.50"),
        "currency": "GBP",
        "received_at": timezone.now() - dt.timedelta(minutes=10),
        "reference": "SLIP-1",
        "note": "",
        "source": Deposit.Source.FORM,
    }
    values.update(overrides)
    return values


@pytest.fixture
def capture(incident, branch, clerk):
    """Record a deposit as the clerk with valid defaults; keyword overrides."""

    received_at = timezone.now() - dt.timedelta(minutes=10)

    def run(**overrides):
        overrides.setdefault("received_at", received_at)
        overrides.setdefault("incident", incident)
        overrides.setdefault("branch", branch)
        overrides.setdefault("recorded_by", clerk)
        kwargs = capture_kwargs(**overrides)
        return deposit_record(**kwargs)

    return run
