"""Helpers shared by the incident services: subscriber notices and the status cache."""

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from notifications.services import Recipient, notify, recipient_clean

from ..models import Incident, Subscriber

STATUS_CACHE_VERSION_KEY = "incidents:status:version"
UNSUBSCRIBE_SALT = "incidents.subscriber.unsubscribe"
CONFIRM_SALT = "incidents.subscriber.confirm"


def status_cache_version() -> str:
    """The current version of everything the public status page shows."""
    version = cache.get(STATUS_CACHE_VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        cache.add(STATUS_CACHE_VERSION_KEY, version, None)
        version = cache.get(STATUS_CACHE_VERSION_KEY, version)
    return str(version)


def status_cache_invalidate() -> None:
    """After commit, start a new cache version so the status page shows the change."""

    def bump() -> None:
        cache.set(STATUS_CACHE_VERSION_KEY, uuid.uuid4().hex, None)

    transaction.on_commit(bump)


def absolute_url(path: str) -> str:
    return str(settings.SITE_URL).rstrip("/") + path


def subscriber_unsubscribe_url(subscriber: Subscriber) -> str:
    token = signing.dumps({"s": subscriber.pk}, salt=UNSUBSCRIBE_SALT)
    return absolute_url(reverse("status-unsubscribe", args=[token]))


def subscriber_confirm_url(
    subscriber: Subscriber, *, component_ids: list[int], language: str
) -> str:
    """A signed link carrying the choices, applied only when the owner confirms."""
    token = signing.dumps(
        {
            "s": subscriber.pk,
            "a": subscriber.address,
            "c": component_ids,
            "l": language,
        },
        salt=CONFIRM_SALT,
    )
    return absolute_url(reverse("status-confirm", args=[token]))


def incident_subscribers(incident: Incident) -> QuerySet[Subscriber]:
    """Confirmed subscribers to every incident or to one of this incident's components."""
    component_ids = list(incident.components.values_list("pk", flat=True))
    return (
        Subscriber.objects.filter(
            confirmed_at__isnull=False, unsubscribed_at__isnull=True
        )
        .filter(Q(components__isnull=True) | Q(components__in=component_ids))
        .distinct()
        .order_by("pk")
    )


# What customers can do instead while the core system is down (the "outage
# started" and maintenance notices quote it).
OUTAGE_ALTERNATIVES = _(
    "Pay by bank transfer, or bring cash to any branch: we record it by hand and "
    "confirm it when the system is back."
)


def when_text(value: Any) -> Any:
    """Times in notices are plain UTC text, not ISO strings."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "" if value is None else value


def text_in(texts: dict[str, str], language: str) -> str:
    """Pick ``language`` from a {language: text} mapping, falling back to English."""
    return (
        texts.get(language)
        or texts.get(language.split("-")[0])
        or texts.get("en")
        or next(iter(texts.values()), "")
    )


def _notice_context(
    *,
    incident: Incident,
    language: str,
    texts: dict[str, str] | None,
    when: dict[str, Any],
    status_url: str,
) -> dict[str, Any]:
    """What every incident notice's templates print, in one recipient's language.

    Subscribers are anonymous, so ``customer_name`` is empty (the templates then say
    "customer"); ``feedback_url`` is empty unless the caller adds a personal link.
    """
    titles = {"en": incident.title, **(incident.title_translations or {})}
    text = text_in(texts or {}, language)
    title = text_in(titles, language)
    with translation.override(language):
        status_label = str(Incident.Status(incident.status).label)
        # The templates end the sentence themselves ("You can still pay in: ...").
        alternatives = str(OUTAGE_ALTERNATIVES).rstrip(".。")
    return {
        # The names the notice templates use (notifications/placeholders.py) ...
        "customer_name": "",
        "incident_reference": incident.reference,
        "incident_title": title,
        "message": text,
        "started_at": when_text(incident.impact_started_at),
        "restored_at": when_text(incident.restored_at),
        "alternatives": alternatives,
        "status_url": status_url,
        "feedback_url": "",
        # ... and the short ones earlier templates and webhooks read.
        "reference": incident.reference,
        "title": title,
        "status": status_label,
        "text": text,
        **when,
    }


# Extra context for one recipient, by (channel, address): a personal feedback link.
ExtraFor = Callable[[str, str], dict[str, Any]]


def _notify_one(
    *,
    incident: Incident,
    kind: str,
    event: str,
    recipient: Recipient,
    own: dict[str, Any],
    texts: dict[str, str] | None,
    when: dict[str, Any],
    status_url: str,
    supersede_key: str,
    extra_for: ExtraFor | None,
) -> None:
    """One incident notice to one recipient, ``own`` what is theirs alone (their
    name, their unsubscribe link); subscribers and depositors share the dedupe key,
    so an address that is both hears it once."""
    context = _notice_context(
        incident=incident,
        language=recipient.language,
        texts=texts,
        when=when,
        status_url=status_url,
    )
    context.update(own)
    if extra_for:
        context.update(extra_for(recipient.channel, recipient.address))
    notify(
        kind=kind,
        recipients=[recipient],
        context=context,
        dedupe_key=f"incident:{incident.reference}:{event}",
        subject_refs=[f"incident:{incident.reference}"],
        supersede_key=supersede_key,
    )


def incident_notify_subscribers(
    *,
    incident: Incident,
    kind: str,
    event: str,
    texts: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    supersede_key: str = "",
    subscribers: Iterable[Subscriber] | None = None,
    extra_for: ExtraFor | None = None,
) -> int:
    """Write one notice per subscriber (each with its own unsubscribe link).

    ``event`` names the cause inside the incident ("opened", "update:12"), so a
    repeated call adds nothing. ``extra_for`` adds context for one recipient
    (the resolved notice's personal feedback link). Returns how many subscribers were addressed.
    """
    count = 0
    status_url = absolute_url(reverse("status"))
    when = {k: when_text(v) for k, v in (extra or {}).items()}
    for subscriber in subscribers or incident_subscribers(incident):
        _notify_one(
            incident=incident,
            kind=kind,
            event=event,
            recipient=Recipient(
                subscriber.channel, subscriber.address, subscriber.language
            ),
            own={"unsubscribe_url": subscriber_unsubscribe_url(subscriber)},
            texts=texts,
            when=when,
            status_url=status_url,
            supersede_key=supersede_key,
            extra_for=extra_for,
        )
        count += 1
    return count


def incident_notify_depositors(
    *,
    incident: Incident,
    kind: str,
    event: str,
    texts: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    supersede_key: str = "",
    extra_for: ExtraFor | None = None,
) -> int:
    """Tell every customer with a deposit in this incident, once each, in their language.

    E-mail when the customer has one, else SMS. The dedupe key is the subscribers'
    one, so a customer who also subscribed with the same address hears it once.
    Reads deposits through the reverse relation only: incidents import no deposits code.
    """
    status_url = absolute_url(reverse("status"))
    when = {k: when_text(v) for k, v in (extra or {}).items()}
    rows = (
        incident.deposits.exclude(customer=None)  # type: ignore[attr-defined]
        .values_list(
            "customer__email", "customer__phone", "customer__language", "customer__name"
        )
        .distinct()
    )
    count = 0
    for email, phone, language, name in rows:
        channel, address = ("email", email) if email else ("sms", phone)
        if not address:
            continue
        try:
            recipient = recipient_clean(Recipient(channel, address, language))
        except ValidationError:
            continue  # an unusable address copied from the core system
        _notify_one(
            incident=incident,
            kind=kind,
            event=event,
            recipient=recipient,
            own={"customer_name": name},
            texts=texts,
            when=when,
            status_url=status_url,
            supersede_key=supersede_key,
            extra_for=extra_for,
        )
        count += 1
    return count
