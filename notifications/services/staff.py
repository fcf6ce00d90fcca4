"""Staff actions on the outbox: resend a failed notice, register a webhook endpoint."""

import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outage_desk.audit import audit_record
from outage_desk.models import User

from ..models import Notice, NoticeKind, WebhookEndpoint

NOTICE_RESEND_NOT_FAILED = _(
    "Notice #%(pk)s is %(status)s; only a failed notice can be resent."
)
WEBHOOK_URL_INVALID = _("URL: “%(url)s” is not a valid URL.")
WEBHOOK_URL_NOT_HTTPS = _("URL: “%(url)s” must use https.")
WEBHOOK_URL_TAKEN = _("URL: an endpoint for “%(url)s” already exists.")
WEBHOOK_UNKNOWN_EVENT = _("Events: “%(event)s” is not a notice kind.")
WEBHOOK_NAME_REQUIRED = _("Name: give the endpoint a name.")


@transaction.atomic
def notice_resend(*, notice: Notice, actor: User) -> Notice:
    """Put a failed notice back in the queue; its next delivery is a new attempt."""
    updated = Notice.objects.filter(pk=notice.pk, status=Notice.Status.FAILED).update(
        status=Notice.Status.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        claim_token=None,
        claimed_at=None,
    )
    if updated != 1:
        notice.refresh_from_db()
        raise ValidationError(
            NOTICE_RESEND_NOT_FAILED,
            params={"pk": notice.pk, "status": notice.get_status_display()},
        )
    notice.refresh_from_db()
    audit_record(
        action="notice.resend",
        obj=notice,
        actor=actor,
        data={"kind": notice.kind, "channel": notice.channel},
    )
    from ..tasks import notices_nudge

    transaction.on_commit(notices_nudge)
    return notice


def webhook_url_validate(url: str) -> str:
    """A well-formed URL, https unless DEBUG; raises naming the URL."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError(WEBHOOK_URL_INVALID, params={"url": url}) from None
    if urlsplit(url).scheme != "https" and not settings.DEBUG:
        raise ValidationError(WEBHOOK_URL_NOT_HTTPS, params={"url": url})
    return url


@transaction.atomic
def webhook_endpoint_create(
    *, name: str, url: str, events: Iterable[str], actor: User | None
) -> WebhookEndpoint:
    """Register an integrator's endpoint with a fresh signing secret."""
    if not name.strip():
        raise ValidationError(WEBHOOK_NAME_REQUIRED)
    url = webhook_url_validate(url)
    events = list(dict.fromkeys(events))
    for event in events:
        if event not in NoticeKind.values:
            raise ValidationError(WEBHOOK_UNKNOWN_EVENT, params={"event": event})
    if WebhookEndpoint.objects.filter(url=url).exists():
        raise ValidationError(WEBHOOK_URL_TAKEN, params={"url": url})
    endpoint = WebhookEndpoint.objects.create(
        name=name.strip(),
        url=url,
        events=events,
        secret=secrets.token_urlsafe(32),
        created_by=actor,
    )
    audit_record(
        action="webhook_endpoint.create",
        obj=endpoint,
        actor=actor,
        data={"url": url, "events": events},
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_deactivate(
    *, endpoint: WebhookEndpoint, actor: User | None
) -> WebhookEndpoint:
    """Stop sending events to an endpoint (kept, with its delivery log)."""
    if WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(active=False):
        audit_record(
            action="webhook_endpoint.deactivate",
            obj=endpoint,
            actor=actor,
            data={"url": endpoint.url},
        )
    endpoint.refresh_from_db()
    return endpoint
