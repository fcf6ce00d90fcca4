"""Timeline updates: public or internal, per language, with an ETA quoted from the bank."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from notifications.models import NoticeKind
from outage_desk.audit import audit_record
from outage_desk.models import User

from ..models import Audience, BankContact, Incident, IncidentUpdate
from .common import (
    incident_notify_depositors,
    incident_notify_subscribers,
    status_cache_invalidate,
)
from .lifecycle import FINAL_STATUSES, incident_lock, incident_transition
from .review import feedback_url

ETA_NEEDS_BANK_SOURCE = (
    "An ETA shown to customers must cite a bank-contact entry, never an internal guess."
)
ETA_SOURCE_OTHER_INCIDENT = "The cited bank-contact entry belongs to another incident."
TEXT_REQUIRED = "Write the update in at least one language."
LANGUAGE_UNKNOWN = "“{code}” is not a language of this site."
NEXT_UPDATE_IN_PAST = "The next update must be due in the future."
NOTIFY_ONLY_PUBLIC = "Only public updates can be sent to customers."


def _clean_texts(texts: dict[str, str]) -> dict[str, str]:
    known = {code for code, _name in settings.LANGUAGES}
    clean = {}
    for code, text in texts.items():
        if code not in known:
            raise ValidationError({"texts": LANGUAGE_UNKNOWN.format(code=code)})
        if text and text.strip():
            clean[code] = text.strip()
    if not clean:
        raise ValidationError({"texts": TEXT_REQUIRED})
    return clean


def _validate(
    *,
    incident: Incident,
    audience: str,
    eta: dt.datetime | None,
    eta_source: BankContact | None,
    notify_customers: bool,
    next_update_due_at: dt.datetime | None,
) -> None:
    Audience(audience)
    if eta is not None and audience == Audience.PUBLIC and eta_source is None:
        raise ValidationError({"eta_source": ETA_NEEDS_BANK_SOURCE})
    if eta_source is not None and eta_source.incident_id != incident.pk:
        raise ValidationError({"eta_source": ETA_SOURCE_OTHER_INCIDENT})
    if notify_customers and audience != Audience.PUBLIC:
        raise ValidationError({"notify_customers": NOTIFY_ONLY_PUBLIC})
    if next_update_due_at is not None and next_update_due_at <= timezone.now():
        raise ValidationError({"next_update_due_at": NEXT_UPDATE_IN_PAST})


@transaction.atomic
def incident_update_post(
    *,
    incident: Incident,
    audience: str,
    texts: dict[str, str],
    author: User | None,
    status: str | None = None,
    eta: dt.datetime | None = None,
    eta_source: BankContact | None = None,
    notify_customers: bool = False,
    next_update_due_at: dt.datetime | None = None,
) -> IncidentUpdate:
    """Add an update to the timeline, optionally moving the status and telling customers.

    Public updates sent to customers supersede older ETA notices not yet sent.
    """
    clean = _clean_texts(texts)
    _validate(
        incident=incident,
        audience=audience,
        eta=eta,
        eta_source=eta_source,
        notify_customers=notify_customers,
        next_update_due_at=next_update_due_at,
    )
    if status and status != incident.status:
        incident = incident_transition(
            incident=incident, to_status=status, actor=author
        )
    else:
        incident = incident_lock(pk=incident.pk)
    update = IncidentUpdate.objects.create(
        incident=incident,
        audience=audience,
        status=incident.status,
        texts=clean,
        eta=eta,
        eta_source=eta_source,
        notify_customers=notify_customers,
        next_update_due_at=next_update_due_at,
        created_by=author,
    )
    if notify_customers:
        _notify(incident=incident, update=update)
    if audience == Audience.PUBLIC:
        status_cache_invalidate()
    audit_record(
        action="incident.update_posted",
        obj=update,
        actor=author,
        data={
            "incident": incident.reference,
            "audience": audience,
            "languages": sorted(clean),
            "eta": eta,
            "eta_source": eta_source.pk if eta_source else None,
            "notify_customers": notify_customers,
        },
    )
    return update


def _notify(*, incident: Incident, update: IncidentUpdate) -> None:
    kind = (
        NoticeKind.RESOLVED
        if incident.status in FINAL_STATUSES
        else NoticeKind.ETA_UPDATE
    )

    def feedback(channel: str, address: str) -> dict[str, str]:
        url = feedback_url(incident=incident, channel=channel, address=address)
        return {"feedback_url": url}

    # The ETA quotes what the bank said in the cited bank-contact entry.
    source = update.eta_source
    notice: dict[str, Any] = {
        "incident": incident,
        "kind": kind,
        "event": f"update:{update.pk}",
        "texts": update.texts,
        "extra": {
            "eta": update.eta,
            "bank_said": source.summary.strip() if source else "",
        },
        "supersede_key": f"incident:{incident.reference}:eta",
        "extra_for": feedback if kind == NoticeKind.RESOLVED else None,
    }
    sent = incident_notify_subscribers(**notice)
    sent += incident_notify_depositors(**notice)
    if sent and incident.first_notice_at is None:
        incident.first_notice_at = timezone.now()
        incident.save(update_fields=["first_notice_at"])
