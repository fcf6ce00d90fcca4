"""Integrators' events in bulk: one outbox write for many occurrences of one event."""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from ..models import EVENT_KINDS, Channel, Notice, WebhookEndpoint
from .outbox import (
    NOTIFY_UNKNOWN_KIND,
    Recipient,
    _dedupe,
    _notice_build,
    _notices_write,
)


@dataclass(frozen=True)
class EventOccurrence:
    """One occurrence of an event: its payload, the key naming it, and its refs."""

    data: dict[str, Any]
    dedupe_key: str
    subject_refs: Sequence[str] = field(default_factory=tuple)


def webhook_endpoints_subscribed(*, event: str) -> list[WebhookEndpoint]:
    """The active endpoints listening for ``event`` (one query)."""
    if event not in EVENT_KINDS:
        raise ValidationError(NOTIFY_UNKNOWN_KIND, params={"kind": event})
    return [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(active=True).order_by("pk")
        if event in endpoint.events
    ]


def webhook_events_publish(
    *,
    event: str,
    occurrences: Sequence[EventOccurrence],
    endpoints: Sequence[WebhookEndpoint] | None = None,
) -> int:
    """``webhook_event_publish`` for many occurrences at once; returns notices written.

    A constant number of queries however many occurrences (a reconciliation run
    opens thousands of discrepancies): the subscribed endpoints, the keys already
    written, one bulk insert of notices and one of their refs. Nothing at all is
    written, or read past the endpoints, when no endpoint listens for ``event``.
    Runs in the caller's transaction; a repeated occurrence adds nothing.
    """
    if endpoints is None:
        endpoints = webhook_endpoints_subscribed(event=event)
    if not endpoints or not occurrences:
        return 0
    cache: dict[tuple[str, str], Any] = {
        (str(Channel.WEBHOOK), e.url): e for e in endpoints
    }
    rows: dict[str, Notice] = {}
    for occurrence in occurrences:
        context = json.loads(json.dumps(occurrence.data, cls=DjangoJSONEncoder))
        refs = list(dict.fromkeys(str(r)[:100] for r in occurrence.subject_refs))
        for endpoint in endpoints:
            key = _dedupe(occurrence.dedupe_key, Channel.WEBHOOK, endpoint.url)
            recipient = Recipient(Channel.WEBHOOK, endpoint.url, settings.LANGUAGE_CODE)
            notice = _notice_build(event, recipient, context, refs, "", cache)
            notice.dedupe_key = key
            rows[key] = notice
    with transaction.atomic(savepoint=False):
        return _notices_write(rows, fresh=False)[1]
