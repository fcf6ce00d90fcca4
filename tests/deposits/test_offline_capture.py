"""Offline capture's server side: the API flag, the service worker, the page's limits."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from deposits.models import Deposit

UUID = "44444444-4444-4444-8444-444444444444"


@pytest.fixture
def body(incident):
    return {
        "client_uuid": UUID,
        "incident": incident.reference,
        "channel": "cash",
        "account": "GB00001234",
        "payer_name": "Alice Thompson",
        "amount": "125.50",
        "currency": "GBP",
        "received_at": (timezone.now() - dt.timedelta(hours=2)).isoformat(),
        "device_time": (timezone.now() - dt.timedelta(minutes=90)).isoformat(),
        "offline": True,
    }


@pytest.fixture
def api(clerk):
    client = APIClient()
    client.force_authenticate(clerk)
    return client


def test_an_offline_deposit_is_recorded_with_its_source_and_device_time(api, body):
    response = api.post(
        "/api/v1/deposits/", body, format="json", headers={"Idempotency-Key": UUID}
    )

    assert response.status_code == 201
    assert response.json()["source"] == "offline"
    deposit = Deposit.objects.get()
    assert deposit.source == Deposit.Source.OFFLINE
    assert deposit.device_time == dt.datetime.fromisoformat(body["device_time"])


def test_sending_it_again_returns_the_same_deposit(api, body):
    headers = {"Idempotency-Key": UUID}
    first = api.post("/api/v1/deposits/", body, format="json", headers=headers)

    again = api.post("/api/v1/deposits/", body, format="json", headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["receipt_number"] == first.json()["receipt_number"]
    assert Deposit.objects.count() == 1


def test_without_the_flag_the_source_stays_api(api, body):
    del body["offline"]

    response = api.post(
        "/api/v1/deposits/", body, format="json", headers={"Idempotency-Key": UUID}
    )

    assert response.json()["source"] == "api"


def test_the_service_worker_is_served_for_the_capture_scope(client):
    response = client.get("/deposits/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/deposits/"
    assert response["Cache-Control"] == "no-cache"
    assert b"outage-desk-capture-v1" in response.content


def test_the_capture_page_carries_the_branch_limits(client, clerk, branch, incident):
    branch.offline_max_amount = Decimal("500")
    branch.offline_max_total = Decimal("2000.5")
    branch.save()
    client.force_login(clerk)

    response = client.get("/deposits/")

    html = response.content.decode()
    assert 'data-max-amount="500.00"' in html
    assert 'data-max-total="2000.50"' in html
    assert 'data-sw-url="/deposits/sw.js"' in html
    assert f'"{incident.pk}": "INC-2026-0001"' in html


def test_without_limits_the_page_leaves_them_empty(client, clerk, incident):
    client.force_login(clerk)

    response = client.get("/deposits/")

    assert 'data-max-amount=""' in response.content.decode()
