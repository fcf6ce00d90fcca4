"""The public side: the unavailable banner, subscriptions and planned maintenance moves."""

import datetime as dt
import re

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.models import NoticeKind
from notifications.services import Recipient, notify
from outage_desk.audit import audit_record
from outage_desk.models import User

from ..models import Component, Incident, StatusBanner, Subscriber
from .common import (
    CONFIRM_SALT,
    UNSUBSCRIBE_SALT,
    incident_notify_subscribers,
    status_cache_invalidate,
    subscriber_confirm_url,
    subscriber_unsubscribe_url,
)
from .lifecycle import incident_transition

# Customers read these on the status page, so they are translated.
EMAIL_INVALID = _("“{address}” is not a valid e-mail address.")
PHONE_INVALID = _(
    "“{address}” is not a valid mobile number: use the international form, e.g. +447700900123."
)
RATE_LIMITED = _("Too many subscription requests; please try again in an hour.")
LINK_INVALID = _("This link is not valid or has expired.")
CHANNEL_INVALID = _("Choose e-mail or SMS.")

PHONE_RE = re.compile(r"^\+[1-9]\d{6,14}$")
RATE_WINDOW_SECONDS = 3600


@transaction.atomic
def status_banner_set(*, active: bool, actor: User) -> StatusBanner:
    """Switch the "temporarily unavailable" banner on or off; who and when is audited."""
    banner, _created = StatusBanner.objects.select_for_update().get_or_create(id=1)
    banner.active = active
    banner.changed_by = actor
    banner.changed_at = timezone.now()
    banner.save()
    status_cache_invalidate()
    audit_record(
        action="status.banner_on" if active else "status.banner_off",
        obj=banner,
        actor=actor,
        data={"active": active},
    )
    return banner


@transaction.atomic
def component_save(
    *,
    actor: User,
    component: Component | None = None,
    name: str | None = None,
    name_translations: dict[str, str] | None = None,
    position: int | None = None,
) -> Component:
    """Add a status-page component or change one; audited, and the page refreshed."""
    created = component is None
    component = component or Component()
    if name is not None:
        component.name = name
    if name_translations is not None:
        component.name_translations = name_translations
    if position is not None:
        component.position = position
    component.full_clean()
    component.save()
    status_cache_invalidate()
    audit_record(
        action="status.component_added" if created else "status.component_changed",
        obj=component,
        actor=actor,
        data={
            "name": component.name,
            "name_translations": component.name_translations,
            "position": component.position,
        },
    )
    return component


def _normalise_address(channel: str, address: str) -> str:
    address = address.strip()
    if channel == Subscriber.Channel.EMAIL:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(
                {"address": EMAIL_INVALID.format(address=address)}
            ) from None
        local, _at, domain = address.rpartition("@")
        return f"{local}@{domain.lower()}"
    if channel == Subscriber.Channel.SMS:
        compact = re.sub(r"[\s\-()]", "", address)
        if not PHONE_RE.match(compact):
            raise ValidationError({"address": PHONE_INVALID.format(address=address)})
        return compact
    raise ValidationError({"channel": CHANNEL_INVALID})


def _rate_limit_hit(key: str, limit: int) -> bool:
    """Count one request under ``key``; True once the hourly limit is passed."""
    cache.add(key, 0, RATE_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW_SECONDS)
        count = 1
    return count > limit


def subscription_rate_check(*, channel: str, address: str, ip: str) -> None:
    """Raise when this address or this client asked too often within the hour."""
    by_ip = _rate_limit_hit(
        f"incidents:subscribe:ip:{ip}", settings.INCIDENTS_SUBSCRIBE_PER_IP
    )
    by_address = _rate_limit_hit(
        f"incidents:subscribe:address:{channel}:{address.lower()}",
        settings.INCIDENTS_SUBSCRIBE_PER_ADDRESS,
    )
    if by_ip or by_address:
        raise ValidationError({"address": RATE_LIMITED})


@transaction.atomic
def subscriber_request(
    *,
    channel: str,
    address: str,
    components: list[Component],
    language: str,
    ip: str,
) -> Subscriber:
    """Start a subscription: store the address unconfirmed and send the signed confirm link."""
    clean = _normalise_address(channel, address)
    subscription_rate_check(channel=channel, address=clean, ip=ip)
    subscriber, _created = Subscriber.objects.select_for_update().get_or_create(
        channel=channel, address=clean, defaults={"language": language}
    )
    # Nothing about an existing subscription changes until its owner confirms
    # (the choices travel in the signed link), so nobody can re-subscribe or
    # re-scope someone else's address.
    component_ids = sorted(c.pk for c in components)
    notify(
        kind=NoticeKind.SUBSCRIPTION_CONFIRM,
        recipients=[Recipient(channel, clean, language)],
        context={
            "confirm_url": subscriber_confirm_url(
                subscriber, component_ids=component_ids, language=language
            ),
            "unsubscribe_url": subscriber_unsubscribe_url(subscriber),
        },
        dedupe_key=f"subscriber:{subscriber.pk}:confirm:{timezone.now():%Y%m%d%H%M%S%f}",
    )
    audit_record(
        action="subscriber.requested",
        obj=subscriber,
        data={"channel": channel, "address": subscriber.masked_address},
    )
    return subscriber


def _load(token: str, *, salt: str, max_age: dt.timedelta | None) -> Subscriber:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
        subscriber = Subscriber.objects.select_for_update().get(pk=payload["s"])
    except (signing.BadSignature, KeyError, TypeError, Subscriber.DoesNotExist):
        raise ValidationError(LINK_INVALID) from None
    if "a" in payload and payload["a"] != subscriber.address:
        raise ValidationError(LINK_INVALID)
    return subscriber


@transaction.atomic
def subscriber_confirm(*, token: str) -> Subscriber:
    """Confirm a subscription from its signed link (double opt-in); repeating is harmless."""
    max_age = dt.timedelta(days=settings.INCIDENTS_SUBSCRIBE_CONFIRM_DAYS)
    subscriber = _load(token, salt=CONFIRM_SALT, max_age=max_age)
    payload = signing.loads(token, salt=CONFIRM_SALT, max_age=max_age)
    component_ids = sorted(int(pk) for pk in payload.get("c", []))
    language = str(payload.get("l") or subscriber.language)
    current = sorted(subscriber.components.values_list("pk", flat=True))
    if (
        subscriber.is_active
        and current == component_ids
        and subscriber.language == language
    ):
        return subscriber  # the same link clicked again
    subscriber.confirmed_at = timezone.now()
    subscriber.unsubscribed_at = None
    subscriber.language = language
    subscriber.save(update_fields=["confirmed_at", "unsubscribed_at", "language"])
    subscriber.components.set(Component.objects.filter(pk__in=component_ids))
    audit_record(
        action="subscriber.confirmed",
        obj=subscriber,
        data={"address": subscriber.masked_address, "components": component_ids},
    )
    return subscriber


@transaction.atomic
def subscriber_unsubscribe(*, token: str) -> Subscriber:
    """Stop every notice to this subscriber from its signed link; repeating is harmless."""
    subscriber = _load(token, salt=UNSUBSCRIBE_SALT, max_age=None)
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["unsubscribed_at"])
        audit_record(
            action="subscriber.unsubscribed",
            obj=subscriber,
            data={"address": subscriber.masked_address},
        )
    return subscriber


@transaction.atomic
def maintenance_tick(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Start and finish planned maintenance on time and send the reminders before it.

    Idempotent: each move happens once (the transition table refuses a repeat)
    and each reminder offset is recorded on the incident.
    """
    now = now or timezone.now()
    counts = {"started": 0, "completed": 0, "reminded": 0}
    planned = Incident.objects.filter(
        kind=Incident.Kind.PLANNED, closed_at__isnull=True
    )
    for incident in planned.filter(
        status=Incident.Status.SCHEDULED, impact_started_at__lte=now
    ).order_by("pk"):
        try:
            incident_transition(
                incident=incident, to_status=Incident.Status.IN_PROGRESS
            )
        except ValidationError:
            continue  # another tick (or a person) moved it first
        incident_notify_subscribers(
            incident=incident,
            kind=NoticeKind.OUTAGE_STARTED,
            event="maintenance-started",
        )
        counts["started"] += 1
    for incident in planned.filter(
        status=Incident.Status.IN_PROGRESS, planned_end_at__lte=now
    ).order_by("pk"):
        assert incident.planned_end_at is not None  # noqa: S101 (filtered above)
        try:
            incident_transition(
                incident=incident,
                to_status=Incident.Status.COMPLETED,
                at=min(incident.planned_end_at, now),
            )
        except ValidationError:
            continue
        incident_notify_subscribers(
            incident=incident, kind=NoticeKind.RESOLVED, event="maintenance-completed"
        )
        counts["completed"] += 1
    counts["reminded"] = _maintenance_reminders(now=now)
    return counts


def _maintenance_reminders(*, now: dt.datetime) -> int:
    offsets = sorted(settings.INCIDENTS_MAINTENANCE_REMINDERS, reverse=True)
    if not offsets:
        return 0
    horizon = now + dt.timedelta(minutes=max(offsets))
    sent = 0
    upcoming = Incident.objects.select_for_update().filter(
        kind=Incident.Kind.PLANNED,
        status=Incident.Status.SCHEDULED,
        impact_started_at__gt=now,
        impact_started_at__lte=horizon,
    )
    for incident in upcoming.order_by("pk"):
        due = [
            m
            for m in offsets
            if incident.impact_started_at - dt.timedelta(minutes=m) <= now
            and m not in incident.reminders_sent
        ]
        if not due:
            continue
        # Only the nearest due offset is sent: a maintenance scheduled 2 h ahead
        # gets the 1 h reminder later, never a late "24 h" one now.
        offset = min(due)
        incident_notify_subscribers(
            incident=incident,
            kind=NoticeKind.MAINTENANCE_REMINDER,
            event=f"reminder:{offset}",
            extra={
                "starts_at": incident.impact_started_at,
                "ends_at": incident.planned_end_at,
            },
        )
        incident.reminders_sent = sorted({*incident.reminders_sent, *due})
        incident.save(update_fields=["reminders_sent"])
        sent += 1
    return sent
