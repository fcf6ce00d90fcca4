"""Sending the outbox: claim a batch, send it over one connection, record every attempt.

A claim is a conditional update that writes a fresh token on pending rows (on
PostgreSQL the candidate rows are first locked with SKIP LOCKED, so two workers
pick disjoint batches); only the token's holder sends or records the rows. A worker
that dies mid-batch leaves rows in ``sending``; the relay frees them after the claim
lease, and they go out again with the same Message-ID, so a receiver can tell.
"""

import logging
import secrets
import smtplib
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone

from .models import MANDATORY_KINDS, Channel, DeliveryAttempt, Notice, NoticeKind
from .preferences import unsubscribe_url
from .sms import sms_backend
from .webhooks import webhook_post

logger = logging.getLogger(__name__)
_random = secrets.SystemRandom()


@dataclass
class Outcome:
    notice: Notice
    ok: bool
    provider_message_id: str = ""
    error: str = ""


class TokenBucket:
    """At most ``rate`` sends per second on average, in bursts of up to ``rate``."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock()

    def wait_time(self) -> float:
        """Take one token; how long to sleep first (0 when one was available)."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def take(self) -> None:
        delay = self.wait_time()
        if delay:
            time.sleep(delay)


_buckets: dict[str, TokenBucket] = {}


def bucket_for(channel: str) -> TokenBucket:
    """This process's rate limiter for a channel (``NOTICE_RATE_LIMITS``)."""
    rate = float(settings.NOTICE_RATE_LIMITS.get(channel, 0) or 0)
    bucket = _buckets.get(channel)
    if bucket is None or bucket.rate != rate:
        bucket = _buckets[channel] = TokenBucket(rate)
    return bucket


def notices_claim(*, channel: str, limit: int) -> tuple[uuid.UUID, list[Notice]]:
    """Claim up to ``limit`` due notices of one channel for this worker alone."""
    token = uuid.uuid4()
    candidates = Notice.objects.due().filter(channel=channel).order_by("pk")
    claim = {
        "status": Notice.Status.SENDING,
        "claim_token": token,
        "claimed_at": timezone.now(),
        "attempts": F("attempts") + 1,
    }
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            # Lock the candidates first, skipping rows another worker holds; an
            # UPDATE ... IN (SELECT ... LIMIT) may rescan and claim more than asked.
            locked = candidates.select_for_update(skip_locked=True)
            ids = list(locked.values_list("pk", flat=True)[:limit])
            subset = Notice.objects.filter(pk__in=ids)
        else:
            # SQLite: one UPDATE takes the write lock at once (a read-then-write
            # transaction may fail to upgrade its lock under contention).
            subset = Notice.objects.filter(pk__in=candidates.values("pk")[:limit])
        claimed_count = subset.filter(status=Notice.Status.PENDING).update(**claim)
    if not claimed_count:
        return token, []
    claimed = Notice.objects.filter(claim_token=token).select_related(
        "webhook_endpoint"
    )
    return token, list(claimed.order_by("pk"))


def notices_drop_superseded(token: uuid.UUID, notices: list[Notice]) -> list[Notice]:
    """Mark as stale the claimed notices a newer one to the same address replaced."""
    keys = {n.supersede_key for n in notices if n.supersede_key}
    if not keys:
        return notices
    latest = {
        (row["supersede_key"], row["channel"], row["recipient"]): row["latest"]
        for row in Notice.objects.filter(supersede_key__in=keys)
        .values("supersede_key", "channel", "recipient")
        .annotate(latest=Max("pk"))
    }
    stale = [
        n.pk
        for n in notices
        if n.supersede_key
        and latest.get((n.supersede_key, n.channel, n.recipient), n.pk) > n.pk
    ]
    if stale:
        Notice.objects.filter(pk__in=stale, claim_token=token).update(
            status=Notice.Status.STALE, claim_token=None
        )
    return [n for n in notices if n.pk not in stale]


def _email_message(notice: Notice, conn: object) -> EmailMultiAlternatives:
    headers = {"Message-ID": notice.message_id, "X-OutageDesk-Notice": str(notice.pk)}
    if notice.kind not in MANDATORY_KINDS and not notice.kind.startswith("staff_"):
        url = unsubscribe_url(channel=notice.channel, address=notice.recipient)
        headers["List-Unsubscribe"] = f"<{url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject=notice.subject,
        body=notice.body,
        to=[notice.recipient],
        headers=headers,
        connection=conn,
    )
    if notice.body_html:
        message.attach_alternative(notice.body_html, "text/html")
    return message


def _send_email(notices: list[Notice]) -> list[Outcome]:
    conn = get_connection(fail_silently=False)
    try:
        conn.open()
    except (OSError, smtplib.SMTPException) as exc:
        return [Outcome(n, False, error=f"connect: {exc}") for n in notices]
    outcomes: list[Outcome] = []
    bucket = bucket_for(Channel.EMAIL)
    try:
        for index, notice in enumerate(notices):
            bucket.take()
            try:
                sent = conn.send_messages([_email_message(notice, conn)])
            except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
                # The connection is gone: this and the rest of the batch retry later.
                outcomes += [Outcome(n, False, error=str(exc)) for n in notices[index:]]
                break
            except (OSError, smtplib.SMTPException, ValueError) as exc:
                outcomes.append(Outcome(notice, False, error=str(exc)))
                continue
            if sent:
                outcomes.append(Outcome(notice, True, notice.message_id))
            else:
                outcomes.append(Outcome(notice, False, error="not accepted"))
    finally:
        try:
            conn.close()
        except (OSError, smtplib.SMTPException):
            logger.warning("closing the SMTP connection failed", exc_info=True)
    return outcomes


def _send_sms(notices: list[Notice]) -> list[Outcome]:
    backend = sms_backend()
    bucket = bucket_for(Channel.SMS)
    outcomes: list[Outcome] = []
    backend.open()
    try:
        for notice in notices:
            bucket.take()
            reference = f"notice-{notice.pk}-{notice.dedupe_key_digest}"
            try:
                provider_id = backend.send(
                    to=notice.recipient, text=notice.body, reference=reference
                )
            except Exception as exc:  # a backend's own errors are its business
                outcomes.append(Outcome(notice, False, error=f"{exc}"))
                continue
            outcomes.append(Outcome(notice, True, provider_id))
    finally:
        backend.close()
    return outcomes


def _send_webhooks(notices: list[Notice]) -> list[Outcome]:
    bucket = bucket_for(Channel.WEBHOOK)
    outcomes: list[Outcome] = []
    for notice in notices:
        endpoint = notice.webhook_endpoint
        if endpoint is None or not endpoint.active:
            outcomes.append(Outcome(notice, False, error="endpoint inactive"))
            continue
        bucket.take()
        try:
            provider_id = webhook_post(
                url=endpoint.url,
                secret=endpoint.secret,
                body=notice.body,
                delivery_id=notice.dedupe_key_digest,
            )
        except Exception as exc:
            outcomes.append(Outcome(notice, False, error=str(exc)))
            continue
        outcomes.append(Outcome(notice, True, provider_id))
    return outcomes


SENDERS: dict[str, Callable[[list[Notice]], list[Outcome]]] = {
    Channel.EMAIL: _send_email,
    Channel.SMS: _send_sms,
    Channel.WEBHOOK: _send_webhooks,
}


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: half the step fixed, half random."""
    step = min(
        settings.NOTICE_RETRY_MAX_SECONDS,
        settings.NOTICE_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0),
    )
    return timedelta(seconds=_random.uniform(step / 2, step))


@transaction.atomic
def outcomes_record(*, token: uuid.UUID, outcomes: Iterable[Outcome]) -> list[Notice]:
    """Log each attempt and move each notice on; returns those that failed for good."""
    outcomes = list(outcomes)
    now = timezone.now()
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            notice=o.notice,
            attempted_at=now,
            channel=o.notice.channel,
            ok=o.ok,
            provider_message_id=o.provider_message_id[:255],
            error=o.error[:2000],
        )
        for o in outcomes
    )
    sent = [o.notice.pk for o in outcomes if o.ok]
    Notice.objects.filter(pk__in=sent, claim_token=token).update(
        status=Notice.Status.SENT, sent_at=now, last_error="", claim_token=None
    )
    given_up = []
    for o in outcomes:
        if o.ok:
            continue
        final = o.notice.attempts >= settings.NOTICE_MAX_ATTEMPTS
        Notice.objects.filter(pk=o.notice.pk, claim_token=token).update(
            status=Notice.Status.FAILED if final else Notice.Status.PENDING,
            next_attempt_at=now + retry_delay(o.notice.attempts),
            last_error=o.error[:2000],
            claim_token=None,
        )
        if final:
            # The staff alert quotes the error: the row was updated, not the instance.
            o.notice.status = Notice.Status.FAILED
            o.notice.last_error = o.error[:2000]
            given_up.append(o.notice)
    _alert_staff(given_up)
    return given_up


def _alert_staff(notices: list[Notice]) -> None:
    from .services import notify
    from .staff_recipients import staff_alert_recipients

    notices = [n for n in notices if n.kind != NoticeKind.STAFF_NOTICE_FAILED]
    if not notices:
        return
    recipients = staff_alert_recipients()
    for notice in notices:
        tries = notice.deliveries.count()
        notify(
            kind=NoticeKind.STAFF_NOTICE_FAILED,
            recipients=recipients,
            context={
                "notice_id": notice.pk,
                "notice_kind": notice.kind,
                "channel": notice.channel,
                "recipient": notice.recipient,
                "error": notice.last_error or "",
                "url": settings.SITE_URL.rstrip("/")
                + reverse("notifications:log")
                + f"?notice={notice.pk}",
            },
            dedupe_key=f"notice:{notice.pk}:failed:{tries}",
            subject_refs=[f"notice:{notice.pk}", *notice.subject_refs],
        )


def notices_send_batch(*, channel: str, limit: int | None = None) -> int:
    """Claim, send and record one batch of one channel; returns how many were claimed."""
    token, notices = notices_claim(
        channel=channel, limit=limit or settings.NOTICE_BATCH_SIZE
    )
    if not notices:
        return 0
    live = notices_drop_superseded(token, notices)
    outcomes = SENDERS[channel](live) if live else []
    outcomes_record(token=token, outcomes=outcomes)
    return len(notices)


def notices_send_due(*, time_budget: float = 60.0) -> int:
    """Send batches of every channel until nothing is due or the budget is spent."""
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < time_budget:
        claimed = sum(notices_send_batch(channel=channel) for channel in SENDERS)
        total += claimed
        if not claimed:
            break
    return total


def notices_release_expired_claims() -> int:
    """Hand back notices whose worker died mid-batch (claim older than the lease)."""
    cutoff = timezone.now() - timedelta(seconds=settings.NOTICE_CLAIM_LEASE_SECONDS)
    return Notice.objects.filter(
        status=Notice.Status.SENDING, claimed_at__lt=cutoff
    ).update(status=Notice.Status.PENDING, claim_token=None, claimed_at=None)
