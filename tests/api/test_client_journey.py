"""An integrator's journey over real HTTP with httpx, written from docs/api.md only:
create a deposit, retry it, read its status, list the incident's deposits."""

import uuid

import httpx
import pytest

from deposits.models import Deposit
from outage_desk.tokens import api_token_create
from tests.incidents.factories import IncidentFactory


@pytest.fixture
def api_client(live_server, transactional_db, clerk):
    IncidentFactory(reference="INC-2026-0001")
    _token, key = api_token_create(user=clerk, name="call centre")
    with httpx.Client(
        base_url=f"{live_server.url}/api/v1/",
        headers={"Authorization": f"Token {key}"},
        timeout=10,
    ) as client:
        yield client


def test_the_integrators_journey(api_client):
    api = api_client
    deposit = {
        "client_uuid": str(uuid.uuid4()),
        "incident": "INC-2026-0001",
        "channel": "bank_transfer",
        "account": "GB00001234",
        "payer_name": "Alice Thompson",
        "amount": "125.50",
        "currency": "GBP",
    }
    key = str(uuid.uuid4())

    # create
    created = api.post("deposits/", json=deposit, headers={"Idempotency-Key": key})
    assert created.status_code == 201
    assert created.json()["amount"] == "125.50"
    assert "Idempotent-Replayed" not in created.headers

    # retry after a "timeout": the same answer, nothing recorded twice
    again = api.post("deposits/", json=deposit, headers={"Idempotency-Key": key})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == created.json()

    # a changed body under the same key is refused in the documented shape
    changed = api.post(
        "deposits/",
        json={**deposit, "amount": "1.00"},
        headers={"Idempotency-Key": key},
    )
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "idempotency_key_reused"

    # read its status
    read = api.get(f"deposits/{created.json()['id']}/")
    assert read.json()["status"] == "provisional"
    assert read.json()["receipt_number"] == created.json()["receipt_number"]

    # list the incident's deposits, following the cursor
    receipts = []
    page = api.get(
        "deposits/", params={"incident": "INC-2026-0001", "page_size": 1}
    ).json()
    receipts += [d["receipt_number"] for d in page["results"]]
    while page["next"]:
        page = api.get(page["next"]).json()
        receipts += [d["receipt_number"] for d in page["results"]]
    assert receipts == [created.json()["receipt_number"]]
    assert Deposit.objects.count() == 1


def test_a_missing_token_and_a_missing_key_are_documented_errors(api_client):
    anonymous = httpx.get(f"{api_client.base_url}me/")
    no_key = api_client.post("deposits/", json={})

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    assert no_key.status_code == 400
    assert no_key.json()["error"]["code"] == "idempotency_key_missing"
