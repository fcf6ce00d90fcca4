"""SMS length and backends; signed webhooks to a receiver on 127.0.0.1."""

import json
import time
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from notifications.delivery import notices_send_batch
from notifications.models import DeliveryAttempt, Notice, WebhookEndpoint
from notifications.services import Recipient, notify, webhook_endpoint_create
from notifications.services.staff import (
    WEBHOOK_UNKNOWN_EVENT,
    WEBHOOK_URL_INVALID,
    WEBHOOK_URL_NOT_HTTPS,
    WEBHOOK_URL_TAKEN,
)
from notifications.sms import HttpSmsBackend, sms_length
from notifications.webhooks import SIGNATURE_HEADER, webhook_sign, webhook_verify
from outage_desk.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),
        ("{" * 81, "GSM-7", 162, 2),
        ("存" * 70, "UCS-2", 70, 1),
        ("存" * 71, "UCS-2", 71, 2),
        ("a" * 134 + "é" + "ç", "UCS-2", 136, 3),
        ("😀" * 35, "UCS-2", 70, 1),
    ],
)
def test_sms_length_counts_gsm7_and_ucs2_segments(text, encoding, units, segments):
    length = sms_length(text)

    assert (length.encoding, length.units, length.segments) == (
        encoding,
        units,
        segments,
    )


def test_the_file_backend_writes_each_sms_under_the_sms_folder(settings, tmp_path):
    settings.SMS_FILE_PATH = str(tmp_path)
    (notice,) = notify(
        kind="deposit_received",
        recipients=[Recipient("sms", "+447700900123")],
        context={"receipt_number": "HQ-9", "amount": "12.00", "currency": "GBP"},
        dedupe_key="deposit:9:received",
    )

    notices_send_batch(channel="sms")

    (path,) = Path(tmp_path).iterdir()
    assert path.name == f"notice-{notice.pk}-{notice.dedupe_key_digest}.txt"
    assert "To: +447700900123" in path.read_text()
    assert notice.body in path.read_text()
    attempt = DeliveryAttempt.objects.get(notice=notice)
    assert attempt.provider_message_id == f"file:{path.name}"
    assert Notice.objects.get().status == "sent"


def test_the_http_sms_adapter_posts_json_and_returns_the_providers_id(
    settings, hook_receiver
):
    settings.SMS_HTTP_URL = hook_receiver.url
    settings.SMS_HTTP_TOKEN = "tok"
    hook_receiver.status = 200

    provider_id = HttpSmsBackend().send(to="+447700900123", text="hi", reference="r1")

    (request,) = hook_receiver.requests
    assert json.loads(request["body"]) == {
        "from": "OutageDesk",
        "to": "+447700900123",
        "text": "hi",
        "client_ref": "r1",
    }
    assert request["headers"]["Authorization"] == "Bearer tok"
    assert provider_id == ""


def test_a_signature_verifies_with_the_secret_and_not_with_another_or_when_old():
    body = b'{"event":"x"}'
    now = int(time.time())
    header = webhook_sign(secret="s3cret", body=body, timestamp=now)

    assert header.startswith(f"t={now},v1=")
    assert webhook_verify(secret="s3cret", body=body, header=header)
    assert not webhook_verify(secret="other", body=body, header=header)
    assert not webhook_verify(secret="s3cret", body=body + b" ", header=header)
    old = webhook_sign(secret="s3cret", body=body, timestamp=now - 3600)
    assert not webhook_verify(secret="s3cret", body=body, header=old)


def test_subscribed_endpoints_get_a_signed_event_for_each_notify(
    settings, hook_receiver, lead
):
    settings.DEBUG = True  # a plain-http receiver on 127.0.0.1
    endpoint = webhook_endpoint_create(
        name="Call centre",
        url=hook_receiver.url,
        events=["deposit_received"],
        actor=lead,
    )
    settings.DEBUG = False
    notify(
        kind="deposit_received",
        recipients=[],
        context={"receipt_number": "HQ-9", "amount": "12.00"},
        dedupe_key="deposit:9:received",
        subject_refs=["deposit:9"],
    )
    notify(kind="eta_update", recipients=[], context={}, dedupe_key="eta:1")

    notices_send_batch(channel="webhook")

    (request,) = hook_receiver.requests
    assert json.loads(request["body"]) == {
        "event": "deposit_received",
        "data": {"receipt_number": "HQ-9", "amount": "12.00"},
        "refs": ["deposit:9"],
    }
    assert webhook_verify(
        secret=endpoint.secret,
        body=request["body"],
        header=request["headers"][SIGNATURE_HEADER],
    )
    notice = Notice.objects.get(channel="webhook")
    assert notice.status == "sent"
    assert notice.webhook_endpoint == endpoint
    assert DeliveryAttempt.objects.get(notice=notice).provider_message_id == "http 204"


def test_a_webhook_answered_with_an_error_is_retried_later(settings, hook_receiver):
    settings.DEBUG = True
    webhook_endpoint_create(
        name="CC", url=hook_receiver.url, events=["deposit_received"], actor=None
    )
    hook_receiver.status = 503
    notify(kind="deposit_received", recipients=[], context={}, dedupe_key="d:1")

    notices_send_batch(channel="webhook")

    notice = Notice.objects.get()
    assert notice.status == "pending"
    assert notice.last_error == f"HTTP 503 from {hook_receiver.url}"


def test_a_webhook_endpoint_is_created_with_a_secret_and_audited(lead):
    endpoint = webhook_endpoint_create(
        name="Teller app",
        url="https://teller.example/hooks",
        events=["deposit_received", "deposit_confirmed"],
        actor=lead,
    )

    assert len(endpoint.secret) >= 40
    assert endpoint.events == ["deposit_received", "deposit_confirmed"]
    assert AuditEvent.objects.get(action="webhook_endpoint.create").actor == lead


@pytest.mark.parametrize(
    ("url", "events", "message"),
    [
        ("http://teller.example/hooks", [], WEBHOOK_URL_NOT_HTTPS),
        ("teller.example/hooks", [], WEBHOOK_URL_INVALID),
        ("https://teller.example/hooks", ["party"], WEBHOOK_UNKNOWN_EVENT),
    ],
)
def test_a_bad_webhook_endpoint_is_refused_and_nothing_is_stored(url, events, message):
    with pytest.raises(ValidationError) as exc:
        webhook_endpoint_create(name="X", url=url, events=events, actor=None)

    assert exc.value.message == message
    assert WebhookEndpoint.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_a_second_endpoint_for_the_same_url_is_refused():
    webhook_endpoint_create(name="A", url="https://a.example/h", events=[], actor=None)

    with pytest.raises(ValidationError) as exc:
        webhook_endpoint_create(
            name="B", url="https://a.example/h", events=[], actor=None
        )

    assert exc.value.message == WEBHOOK_URL_TAKEN
    assert WebhookEndpoint.objects.count() == 1


def test_the_command_adds_an_endpoint_and_prints_its_secret():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "webhook_endpoint_add",
        "Teller",
        "https://teller.example/h",
        "--events",
        "deposit_received",
        stdout=out,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert out.getvalue().strip() == f"endpoint {endpoint.pk} secret {endpoint.secret}"


def test_the_command_refuses_a_plain_http_url_and_stores_nothing():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="must use https"):
        call_command("webhook_endpoint_add", "T", "http://teller.example/h")

    assert WebhookEndpoint.objects.count() == 0
