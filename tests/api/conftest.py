"""API tests reuse the deposit fixtures (an open incident, a customer)."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from outage_desk.tokens import api_token_create
from tests.deposits.conftest import customer, incident  # noqa: F401
from tests.notifications.conftest import hook_receiver  # noqa: F401


@pytest.fixture
def api(clerk):
    """The clerk, authenticated with a real API token."""
    _token, key = api_token_create(user=clerk, name="teller app")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def body(incident):  # noqa: F811
    return {
        "client_uuid": "33333333-3333-4333-8333-333333333333",
        "incident": incident.reference,
        "channel": "bank_transfer",
        "account": "GB00001234",
        "payer_name": "Alice Thompson",
        "amount": "125.50",
        "currency": "GBP",
        "received_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
        "reference": "TRF-1",
    }
