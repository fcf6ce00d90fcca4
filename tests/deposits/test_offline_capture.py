"""Offline capture's server side: the API flag, the service worker, the page's limits."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from deposits.models import Deposit
from deposits.services.imports import (
    ERROR_OFFLINE_SENT_OTHERWISE,
    ImportRefused,
    deposits_import,
)

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


def _export_csv(body: dict, *, note: str = "") -> io.StringIO:
    header = (
        "receipt_number,branch,channel,account,payer_name,amount,currency,"
        "received_at,reference,note\n"
    )
    row = (
        f"{UUID},HQ,cash,{body['account']},{body['payer_name']},{body['amount']},"
        f"GBP,{body['received_at']},,{note}\n"
    )
    return io.StringIO(header + row)


def test_an_imported_offline_export_and_a_later_send_are_one_deposit(
    api, body, incident, customer, supervisor
):
    result = deposits_import(
        source=_export_csv(body), incident=incident, imported_by=supervisor
    )

    response = api.post(
        "/api/v1/deposits/", body, format="json", headers={"Idempotency-Key": UUID}
    )

    assert result.created == 1
    assert response.status_code == 200  # the deposit the import made
    deposit = Deposit.objects.get()
    assert str(deposit.client_uuid) == UUID
    assert deposit.receipt_number == "HQ-000001"
    assert deposit.source == Deposit.Source.IMPORT


def test_an_offline_export_imported_after_the_send_adds_nothing(
    api, body, incident, customer, supervisor
):
    api.post(
        "/api/v1/deposits/", body, format="json", headers={"Idempotency-Key": UUID}
    )

    result = deposits_import(
        source=_export_csv(body), incident=incident, imported_by=supervisor
    )

    assert (result.created, result.skipped) == (0, 1)
    assert Deposit.objects.count() == 1


def test_an_export_row_that_differs_from_the_sent_deposit_refuses_the_file(
    api, body, incident, customer, supervisor
):
    api.post(
        "/api/v1/deposits/", body, format="json", headers={"Idempotency-Key": UUID}
    )

    with pytest.raises(ImportRefused) as refused:
        deposits_import(
            source=_export_csv(body, note="changed"),
            incident=incident,
            imported_by=supervisor,
        )

    message = ERROR_OFFLINE_SENT_OTHERWISE % {"receipt": "HQ-000001"}
    assert [str(e) for e in refused.value.errors] == [
        f"line 2, column receipt_number: {message}"
    ]
    assert Deposit.objects.count() == 1
    assert Deposit.objects.get().note == ""
