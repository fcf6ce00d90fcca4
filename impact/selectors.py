"""Impact figures of one incident, computed from the data of every app (read only)."""

import datetime as dt
from collections import Counter, defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils import timezone

from deposits.models import Deposit
from incidents.models import (
    Audience,
    CompensationOffer,
    Incident,
    IncidentUpdate,
    OfferKind,
)
from notifications.models import Notice, NoticeKind, NoticeRef
from outage_desk.models import AuditEvent
from outage_desk.money import money_round

# Upper edges of the unconfirmed-age buckets; the last bucket is open.
AGE_BUCKETS: list[tuple[str, dt.timedelta | None]] = [
    ("under_1h", dt.timedelta(hours=1)),
    ("from_1h_to_4h", dt.timedelta(hours=4)),
    ("from_4h_to_24h", dt.timedelta(hours=24)),
    ("from_1d_to_3d", dt.timedelta(days=3)),
    ("over_3d", None),
]
COST_STATUSES = [
    CompensationOffer.Status.SENT,
    CompensationOffer.Status.ACCEPTED,
    CompensationOffer.Status.REDEEMED,
]
PERCENT = Decimal("0.01")


def incident_refs(incident: Incident) -> list[str]:
    """How notices name the incident: incidents use the reference, deposits the id."""
    return [f"incident:{incident.reference}", f"incident:{incident.pk}"]


def incident_notices(incident: Incident) -> QuerySet[Notice]:
    """Every notice that names the incident, each once."""
    refs = NoticeRef.objects.filter(ref__in=incident_refs(incident))
    return Notice.objects.filter(pk__in=refs.values("notice_id"))


def live_deposits(incident: Incident) -> QuerySet[Deposit]:
    """Every deposit of the incident that was not reversed."""
    return Deposit.objects.filter(incident=incident).exclude(
        status=Deposit.Status.REVERSED
    )


def counting_deposits(incident: Incident) -> QuerySet[Deposit]:
    """Deposits that count towards totals: approved and not reversed."""
    return live_deposits(incident).exclude(status=Deposit.Status.PENDING_APPROVAL)


def _groups(qs: QuerySet[Deposit], key: str) -> list[dict[str, Any]]:
    rows = (
        qs.values(key, "currency")
        .annotate(count=Count("pk"), total=Sum("amount"))
        .order_by(key, "currency")
    )
    return [
        {
            key.replace("__", "_"): row[key],
            "currency": row["currency"],
            "count": row["count"],
            "sum": money_round(row["total"], row["currency"]),
        }
        for row in rows
    ]


def deposit_totals(incident: Incident) -> dict[str, Any]:
    """Count and sum per currency, and by channel and branch (each per currency)."""
    qs = counting_deposits(incident)
    return {
        "count": qs.count(),
        "by_currency": [
            {
                "currency": r["currency"],
                "count": r["count"],
                "sum": money_round(r["total"], r["currency"]),
            }
            for r in qs.values("currency")
            .annotate(count=Count("pk"), total=Sum("amount"))
            .order_by("currency")
        ],
        "by_channel": _groups(qs, "channel"),
        "by_branch": _groups(qs, "branch__code"),
    }


def unconfirmed(incident: Incident, now: dt.datetime) -> dict[str, Any]:
    """Deposits not yet confirmed, by how long ago they were received."""
    buckets = dict.fromkeys((name for name, _edge in AGE_BUCKETS), 0)
    received = live_deposits(incident).exclude(status=Deposit.Status.CONFIRMED)
    for at in received.values_list("received_at", flat=True):
        age = now - at
        for name, edge in AGE_BUCKETS:
            if edge is None or age < edge:
                buckets[name] += 1
                break
    return {"count": sum(buckets.values()), "buckets": buckets}


def first_notice(incident: Incident) -> dict[str, Any]:
    """The first notice written for the incident, and how long after the impact began."""
    at = incident_notices(incident).aggregate(at=Min("created_at"))["at"]
    seconds = int((at - incident.impact_started_at).total_seconds()) if at else None
    return {"at": at, "seconds": seconds}


def notice_coverage(incident: Incident) -> dict[str, Any]:
    """How many affected customers (accounts) got at least one sent notice."""
    contacts: dict[str, set[str]] = defaultdict(set)
    for account, email, phone in live_deposits(incident).values_list(
        "account", "customer__email", "customer__phone"
    ):
        contacts[account].update(c for c in (email, phone) if c)
    # A join from the indexed refs: a pk__in subquery plans badly on PostgreSQL here.
    sent = set(
        NoticeRef.objects.filter(
            ref__in=incident_refs(incident), notice__status=Notice.Status.SENT
        ).values_list("notice__recipient", flat=True)
    )
    told = sum(1 for addresses in contacts.values() if addresses & sent)
    affected = len(contacts)
    share = (
        (Decimal(told) * 100 / affected).quantize(PERCENT, ROUND_HALF_EVEN)
        if affected
        else None
    )
    return {"told": told, "affected": affected, "percent": share}


def missed_updates(incident: Incident, now: dt.datetime) -> dict[str, Any]:
    """Public updates that promised a next update which came late (or not yet)."""
    updates = list(
        IncidentUpdate.objects.filter(
            incident=incident, audience=Audience.PUBLIC
        ).order_by("created_at", "pk")
    )
    items = []
    for index, update in enumerate(updates):
        due = update.next_update_due_at
        if due is None:
            continue
        following = updates[index + 1] if index + 1 < len(updates) else None
        came = following.created_at if following else None
        if came is None and incident.restored_at and incident.restored_at <= due:
            continue
        end = came or now
        if end > due:
            items.append(
                {
                    "update_id": update.pk,
                    "due_at": due,
                    "came_at": came,
                    "late_seconds": int((end - due).total_seconds()),
                }
            )
    return {"count": len(items), "items": items}


def full_confirmation(incident: Incident) -> dict[str, Any]:
    """When the last deposit was confirmed, if all are, and how long after restore.

    A deposit's confirmation time is the earliest of its audit event recording
    status "confirmed" and its "deposit confirmed" notice.
    """
    deposits = live_deposits(incident)
    confirmed = [
        str(pk)
        for pk in deposits.filter(status=Deposit.Status.CONFIRMED).values_list(
            "pk", flat=True
        )
    ]
    if not confirmed or deposits.exclude(status=Deposit.Status.CONFIRMED).exists():
        return {"at": None, "seconds_after_restore": None}
    times: dict[str, dt.datetime] = {}
    for object_id, at in AuditEvent.objects.filter(
        object_type="deposits.deposit",
        object_id__in=confirmed,
        data__status="confirmed",
    ).values_list("object_id", "created_at"):
        times[object_id] = min(at, times.get(object_id, at))
    for refs, at in Notice.objects.filter(
        kind=NoticeKind.DEPOSIT_CONFIRMED,
        refs__ref__in=[f"deposit:{pk}" for pk in confirmed],
    ).values_list("refs__ref", "created_at"):
        key = refs.removeprefix("deposit:")
        times[key] = min(at, times.get(key, at))
    if len(times) < len(confirmed):
        return {"at": None, "seconds_after_restore": None}
    at = max(times.values())
    after = (
        int((at - incident.restored_at).total_seconds())
        if incident.restored_at
        else None
    )
    return {"at": at, "seconds_after_restore": after}


def estimated_cost(incident: Incident) -> dict[str, Any]:
    """Waived fees and other compensation actually offered, per currency."""
    rows = (
        CompensationOffer.objects.filter(incident=incident, status__in=COST_STATUSES)
        .values("offer_kind", "currency")
        .annotate(total=Sum("cost"))
        .order_by("currency")
    )
    fees: dict[str, Decimal] = defaultdict(Decimal)
    other: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        target = fees if row["offer_kind"] == OfferKind.FEE_WAIVER else other
        target[row["currency"]] += row["total"]
    total: dict[str, Decimal] = defaultdict(Decimal)
    for part in (fees, other):
        for currency, amount in part.items():
            total[currency] += amount

    def listed(counter: dict[str, Decimal]) -> list[dict[str, Any]]:
        return [
            {"currency": c, "amount": money_round(counter[c], c)}
            for c in sorted(counter)
        ]

    return {
        "waived_fees": listed(fees),
        "compensation": listed(other),
        "total": listed(total),
    }


def impact_figures(
    *, incident: Incident, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Every impact figure of the incident, computed from the data as it stands."""
    now = now or timezone.now()
    return {
        "reference": incident.reference,
        "computed_at": now,
        "customers_affected": live_deposits(incident)
        .values("account")
        .distinct()
        .count(),
        "deposits": deposit_totals(incident),
        "unconfirmed": unconfirmed(incident, now),
        "first_notice": first_notice(incident),
        "notice_coverage": notice_coverage(incident),
        "missed_updates": missed_updates(incident, now),
        "full_confirmation": full_confirmation(incident),
        "estimated_cost": estimated_cost(incident),
    }


def impact_charts(*, incident: Incident) -> dict[str, Any]:
    """Series for the dashboard's charts: deposits per hour and channel, progress, notices."""
    per_hour: dict[str, Counter[str]] = defaultdict(Counter)
    for at, channel in counting_deposits(incident).values_list(
        "received_at", "channel"
    ):
        hour = at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:00")
        per_hour[channel][hour] += 1
    hours = sorted({h for counts in per_hour.values() for h in counts})
    statuses = dict(
        Deposit.objects.filter(incident=incident)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    notices = Counter(
        incident_notices(incident).values_list("status", flat=True).order_by()
    )
    return {
        "hours": hours,
        "deposits_per_hour": {
            str(Deposit.Channel(c).label): [per_hour[c][h] for h in hours]
            for c in Deposit.Channel.values
            if c in per_hour
        },
        "confirmation": {
            str(Deposit.Status(s).label): statuses.get(s, 0)
            for s in Deposit.Status.values
        },
        "notices": {
            str(Notice.Status(s).label): notices.get(s, 0) for s in Notice.Status.values
        },
    }


def incidents_with_impact() -> QuerySet[Incident]:
    """Incidents worth a dashboard: any that took deposits or was restored."""
    return Incident.objects.filter(
        Q(deposits__isnull=False) | Q(restored_at__isnull=False)
    ).distinct()
