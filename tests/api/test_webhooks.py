"""Signed webhooks for integrators, verified the way docs/api.md tells them to."""

import hashlib
import hmac
import json
import time

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from deposits.services.capture import deposit_event_publish
from notifications.delivery import notices_send_batch
from notifications.models import Notice
from notifications.services import webhook_endpoint_create


def verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """The verification snippet of docs/api.md, as an integrator would paste it."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


@pytest.fixture
def endpoint(settings, hook_receiver, lead):
    settings.DEBUG = True  # a plain-http receiver on 127.0.0.1
    created = webhook_endpoint_create(
        name="Call centre",
        url=hook_receiver.url,
        events=["deposit.recorded", "deposit.confirmed", "incident.status_changed"],
        actor=lead,
    )
    settings.DEBUG = False
    return created


def events(receiver):
    return [json.loads(r["body"]) for r in receiver.requests]


def test_a_recorded_deposit_reaches_the_endpoint_signed(
    api,
    body,
    endpoint,
    hook_receiver,
):
    created = api.post(
        "/api/v1/deposits/", body, format="json", headers={"Idempotency-Key": "k"}
    ).json()

    notices_send_batch(channel="webhook")

    (request,) = hook_receiver.requests
    event = json.loads(request["body"])
    assert event["event"] == "deposit.recorded"
    assert event["data"]["receipt_number"] == created["receipt_number"]
    assert event["data"]["amount"] == "125.50"
    assert "payer_name" not in event["data"]
    header = request["headers"]["X-OutageDesk-Signature"]
    assert verify(endpoint.secret, request["body"], header)
    assert not verify("another secret", request["body"], header)
    assert not verify(endpoint.secret, request["body"] + b" ", header)


def test_a_retried_capture_sends_no_second_event(
    api,
    body,
    endpoint,
    hook_receiver,
):
    for key in ("a", "b"):  # the same client_uuid under two keys: one deposit
        api.post(
            "/api/v1/deposits/", body, format="json", headers={"Idempotency-Key": key}
        )

    notices_send_batch(channel="webhook")

    assert [e["event"] for e in events(hook_receiver)] == ["deposit.recorded"]


def test_confirmed_deposits_have_an_event_for_reconciliation_to_publish(
    api,
    body,
    endpoint,
    hook_receiver,
):
    from deposits.models import Deposit

    api.post("/api/v1/deposits/", body, format="json", headers={"Idempotency-Key": "k"})
    deposit_event_publish(deposit=Deposit.objects.get(), event="deposit.confirmed")

    notices_send_batch(channel="webhook")

    assert sorted(e["event"] for e in events(hook_receiver)) == [
        "deposit.confirmed",
        "deposit.recorded",
    ]


def test_an_incident_status_change_reaches_the_endpoint(
    lead,
    endpoint,
    hook_receiver,
):
    from tests.incidents.factories import IncidentFactory

    IncidentFactory(reference="INC-2026-0007")
    client = APIClient()
    client.force_authenticate(lead)

    moved = client.post(
        "/api/v1/incidents/INC-2026-0007/status/",
        {"status": "identified", "at": timezone.now().isoformat()},
        format="json",
    )
    notices_send_batch(channel="webhook")

    assert moved.status_code == 200, moved.json()
    (event,) = events(hook_receiver)
    assert event["event"] == "incident.status_changed"
    assert event["data"]["reference"] == "INC-2026-0007"
    assert (event["data"]["from"], event["data"]["to"]) == (
        "investigating",
        "identified",
    )


def test_endpoints_get_only_the_events_they_subscribe_to(
    api,
    body,
    settings,
    hook_receiver,
    lead,
):
    settings.DEBUG = True
    webhook_endpoint_create(
        name="Status only",
        url=hook_receiver.url,
        events=["incident.status_changed"],
        actor=lead,
    )
    settings.DEBUG = False

    api.post("/api/v1/deposits/", body, format="json", headers={"Idempotency-Key": "k"})

    assert Notice.objects.filter(channel="webhook").count() == 0


def test_admins_manage_endpoints_through_the_api(admin_user, lead, settings):
    from outage_desk.models import AuditEvent

    settings.DEBUG = False
    admin = APIClient()
    admin.force_authenticate(admin_user)
    as_lead = APIClient()
    as_lead.force_authenticate(lead)
    body = {
        "name": "Call centre",
        "url": "https://hooks.example.com/od",
        "events": ["deposit.recorded"],
    }

    by_lead = as_lead.post("/api/v1/webhook-endpoints/", body, format="json")
    plain = admin.post(
        "/api/v1/webhook-endpoints/",
        {**body, "url": "http://hooks.example.com/od"},
        format="json",
    )
    bad_event = admin.post(
        "/api/v1/webhook-endpoints/", {**body, "events": ["eta_update"]}, format="json"
    )
    created = admin.post("/api/v1/webhook-endpoints/", body, format="json")
    listed = admin.get("/api/v1/webhook-endpoints/").json()["results"]
    removed = admin.delete(f"/api/v1/webhook-endpoints/{created.json()['id']}/")

    assert by_lead.status_code == 403
    assert plain.status_code == 400
    assert plain.json()["error"]["code"] == "invalid"
    assert bad_event.status_code == 400
    assert list(bad_event.json()["error"]["fields"]) == ["events.0"]
    assert created.status_code == 201
    assert len(created.json()["secret"]) > 20
    assert "secret" not in listed[0]
    assert removed.status_code == 204
    assert (
        AuditEvent.objects.filter(action__startswith="webhook_endpoint.").count() == 2
    )
    from notifications.models import WebhookEndpoint

    assert WebhookEndpoint.objects.get().active is False
