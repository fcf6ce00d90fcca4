"""Delivery: batches over one SMTP connection, stable Message-IDs, retries, staleness."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.delivery import (
    TokenBucket,
    notices_claim,
    notices_release_expired_claims,
    notices_send_batch,
    notices_send_due,
    retry_delay,
)
from notifications.models import DeliveryAttempt, Notice
from notifications.services import Recipient, notify
from notifications.tasks import notices_relay_task, notices_send_task

pytestmark = pytest.mark.django_db


def _notices(count, kind="eta_update", key="incident:7:eta", supersede_key=""):
    return notify(
        kind=kind,
        recipients=[Recipient("email", f"c{i}@example.com") for i in range(count)],
        context={"incident_reference": "INC-2026-0007", "eta": "14:00"},
        dedupe_key=key,
        subject_refs=["incident:INC-2026-0007"],
        supersede_key=supersede_key,
    )


def test_a_batch_goes_out_over_one_smtp_connection_and_each_attempt_is_logged(
    smtp_server,
):
    notices = _notices(5)

    sent = notices_send_batch(channel="email")

    assert sent == 5
    assert len(smtp_server.messages) == 5
    assert len(smtp_server.sessions) == 1
    assert Notice.objects.filter(status="sent").count() == 5
    for notice in notices:
        attempt = DeliveryAttempt.objects.get(notice=notice)
        assert attempt.ok is True
        assert attempt.channel == "email"
        assert attempt.provider_message_id == notice.message_id


def test_each_email_carries_a_message_id_that_a_second_send_repeats(smtp_server):
    (notice,) = _notices(1)
    notices_send_batch(channel="email")
    # A worker that died after SMTP but before recording sends the notice again.
    Notice.objects.filter(pk=notice.pk).update(status="pending")

    notices_send_batch(channel="email")

    first, second = smtp_server.messages
    assert first["Message-ID"] == notice.message_id
    assert second["Message-ID"] == notice.message_id
    assert first["X-OutageDesk-Notice"] == str(notice.pk)
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (
        first["List-Unsubscribe"].strip().startswith("<http://127.0.0.1:8000/notices/")
    )
    assert first.is_multipart()
    assert [part.get_content_type() for part in first.get_payload()] == [
        "text/plain",
        "text/html",
    ]


def test_deposit_notices_carry_no_unsubscribe_header(smtp_server):
    notify(
        kind="deposit_confirmed",
        recipients=[Recipient("email", "ann@example.com")],
        context={"receipt_number": "HQ-1", "amount": "5.00", "currency": "GBP"},
        dedupe_key="deposit:1:confirmed",
    )

    notices_send_batch(channel="email")

    (message,) = smtp_server.messages
    assert message["List-Unsubscribe"] is None
    assert message["Subject"] == "Your deposit HQ-1 is confirmed"


def test_a_refused_recipient_is_retried_later_and_the_others_are_sent(smtp_server):
    notices = _notices(3)
    smtp_server.refuse.add("c1@example.com")

    notices_send_batch(channel="email")

    refused = Notice.objects.get(recipient="c1@example.com")
    assert refused.status == "pending"
    assert refused.attempts == 1
    assert refused.next_attempt_at > timezone.now()
    assert "mailbox unavailable" in refused.last_error
    attempt = DeliveryAttempt.objects.get(notice=refused)
    assert attempt.ok is False
    assert "mailbox unavailable" in attempt.error
    assert Notice.objects.filter(status="sent").count() == 2
    assert len(smtp_server.messages) == 2
    assert notices[1].pk == refused.pk


def test_a_notice_that_keeps_failing_is_marked_failed_and_staff_are_told(
    smtp_server, settings, lead
):
    settings.NOTICE_MAX_ATTEMPTS = 3
    lead.email = "dana@example.com"
    lead.save(update_fields=["email"])
    (notice,) = _notices(1)
    smtp_server.refuse.add("c0@example.com")

    for _attempt in range(3):
        Notice.objects.filter(pk=notice.pk).update(next_attempt_at=timezone.now())
        notices_send_batch(channel="email")

    notice.refresh_from_db()
    assert notice.status == "failed"
    assert notice.attempts == 3
    assert DeliveryAttempt.objects.filter(notice=notice, ok=False).count() == 3
    alert = Notice.objects.get(kind="staff_notice_failed")
    assert alert.recipient == "dana@example.com"
    assert alert.subject == f"Notice #{notice.pk} could not be delivered"
    assert f"notice:{notice.pk}" in alert.subject_refs

    notices_send_batch(channel="email")

    assert smtp_server.messages[-1]["Subject"] == alert.subject
    assert Notice.objects.filter(kind="staff_notice_failed").count() == 1


def test_with_the_smtp_server_unreachable_the_whole_batch_waits(settings):
    from tests.notifications.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    _notices(2)

    notices_send_batch(channel="email")

    assert list(Notice.objects.values_list("status", "attempts")) == [
        ("pending", 1),
        ("pending", 1),
    ]
    assert DeliveryAttempt.objects.filter(ok=False).count() == 2


def test_a_superseded_eta_is_marked_stale_and_only_the_newest_goes_out(smtp_server):
    (old,) = _notices(1, key="incident:7:eta:1", supersede_key="incident:7:eta")
    (new,) = _notices(1, key="incident:7:eta:2", supersede_key="incident:7:eta")

    notices_send_batch(channel="email")

    old.refresh_from_db()
    new.refresh_from_db()
    assert old.status == "stale"
    assert new.status == "sent"
    assert len(smtp_server.messages) == 1
    assert not DeliveryAttempt.objects.filter(notice=old).exists()


def test_two_claims_never_share_a_notice():
    _notices(5)

    _token1, first = notices_claim(channel="email", limit=3)
    _token2, second = notices_claim(channel="email", limit=3)

    assert len(first) == 3
    assert len(second) == 2
    assert not {n.pk for n in first} & {n.pk for n in second}
    assert Notice.objects.filter(status="sending").count() == 5


def test_a_claim_locks_candidate_rows_with_skip_locked_where_the_database_can():
    _notices(2)

    with CaptureQueriesContext(connection) as queries:
        notices_claim(channel="email", limit=10)

    sql = " ".join(q["sql"] for q in queries.captured_queries)
    if connection.features.has_select_for_update_skip_locked:
        assert "FOR UPDATE SKIP LOCKED" in sql
    assert 'SET "status" = ' in sql


def test_a_claim_left_by_a_dead_worker_is_released_after_the_lease(settings):
    _notices(1)
    notices_claim(channel="email", limit=10)

    assert notices_release_expired_claims() == 0
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.NOTICE_CLAIM_LEASE_SECONDS + 1)
    ):
        assert notices_release_expired_claims() == 1

    assert Notice.objects.get().status == "pending"


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap(settings):
    settings.NOTICE_RETRY_BASE_SECONDS = 10
    settings.NOTICE_RETRY_MAX_SECONDS = 100

    for attempts, step in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = {retry_delay(attempts).total_seconds() for _ in range(20)}
        assert all(step / 2 <= d <= step for d in delays)
        assert len(delays) > 1


def test_a_token_bucket_lets_a_burst_through_then_spaces_sends():
    now = [0.0]
    bucket = TokenBucket(2.0, clock=lambda: now[0])

    assert [bucket.wait_time(), bucket.wait_time()] == [0.0, 0.0]
    assert bucket.wait_time() == 0.5
    now[0] += 1.5
    assert bucket.wait_time() == 0.0


def test_an_unlimited_bucket_never_waits():
    bucket = TokenBucket(0)

    assert {bucket.wait_time() for _ in range(1000)} == {0.0}


def test_the_send_task_drains_every_channel_and_the_relay_does_too(
    smtp_server, settings
):
    settings.NOTICE_BATCH_SIZE = 2
    settings.SMS_BACKEND = "notifications.sms.FileSmsBackend"
    _notices(5)
    notify(
        kind="eta_update",
        recipients=[Recipient("sms", "+447700900123")],
        context={"eta": "14:00"},
        dedupe_key="incident:7:eta",
    )

    assert notices_send_task() == 6
    assert notices_relay_task() == 0
    assert Notice.objects.filter(status="sent").count() == 6
    assert notices_send_due() == 0
