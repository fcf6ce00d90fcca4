"""The one entry point other apps call: notify() writes outbox rows, nothing else."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from .models import Channel, Notice, NoticeKind
from .rendering import notice_render


@dataclass(frozen=True)
class Recipient:
    """Where one notice goes: a channel, an address and the language to write it in."""

    channel: str
    address: str
    language: str = "en"


@transaction.atomic
def notify(
    *,
    kind: str,
    recipients: Iterable[Recipient],
    context: dict[str, Any],
    dedupe_key: str,
    subject_refs: Iterable[str] = (),
    supersede_key: str = "",
) -> list[Notice]:
    """Write one pending notice per recipient in the caller's transaction.

    ``dedupe_key`` names the event ("deposit:42:received"); with the channel and
    address it makes each notice unique, so a repeated call adds nothing.
    """
    NoticeKind(kind)
    clean = json.loads(json.dumps(context, cls=DjangoJSONEncoder))
    rows = []
    for recipient in recipients:
        Channel(recipient.channel)
        rendered = notice_render(
            kind=kind,
            channel=recipient.channel,
            language=recipient.language,
            context=clean,
        )
        rows.append(
            Notice(
                kind=kind,
                channel=recipient.channel,
                recipient=recipient.address,
                language=rendered.language,
                dedupe_key=f"{dedupe_key}:{recipient.channel}:{recipient.address}"[
                    :200
                ],
                subject=rendered.subject,
                body=rendered.body,
                body_html=rendered.body_html,
                context=clean,
                subject_refs=list(subject_refs),
                supersede_key=supersede_key,
            )
        )
    Notice.objects.bulk_create(rows, ignore_conflicts=True)
    keys = [row.dedupe_key for row in rows]
    return list(Notice.objects.filter(dedupe_key__in=keys).order_by("pk"))
