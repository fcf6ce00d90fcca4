"""A known outage: deposits, notices, updates and offers whose figures are hand-computed."""

import datetime as dt
from decimal import Decimal

from deposits.models import Deposit
from incidents.models import (
    Audience,
    CompensationOffer,
    CompensationRule,
    IncidentUpdate,
    OfferKind,
)
from notifications.models import Notice, NoticeRef
from tests.deposits.factories import DepositFactory
from tests.factories import BranchFactory, CustomerFactory
from tests.incidents.factories import IncidentFactory

T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
RESTORED = T0 + dt.timedelta(minutes=150)
NOW = dt.datetime(2026, 11, 20, 11, 0, tzinfo=dt.UTC)


def at(hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 20, hh, mm, tzinfo=dt.UTC)


def make_notice(*, recipient, refs, status, created_at, kind="deposit_received"):
    notice = Notice.objects.create(
        kind=kind,
        channel="sms" if recipient.startswith("+") else "email",
        recipient=recipient,
        dedupe_key=f"test:{Notice.objects.count()}:{recipient}",
        body="x",
        subject_refs=refs,
        status=status,
        created_at=created_at,
    )
    NoticeRef.objects.bulk_create([NoticeRef(notice=notice, ref=r) for r in refs])
    return notice


def make_rule(**kw):
    defaults = {
        "tier": "standard",
        "min_minutes": 0,
        "offer_kind": OfferKind.FIXED_CREDIT,
        "value": Decimal("10.00"),
        "currency": "GBP",
    }
    return CompensationRule.objects.create(**{**defaults, **kw})


def known_outage():
    """The data set of test_figures; returns (incident, customers by name)."""
    hq = BranchFactory(code="HQ", currency="GBP")
    north = BranchFactory(code="NORTH", currency="CNY", timezone="Asia/Shanghai")
    incident = IncidentFactory(
        reference="INC-2026-0100",
        impact_started_at=T0,
        restored_at=RESTORED,
        status="resolved",
    )
    other = IncidentFactory(reference="INC-2026-0101", impact_started_at=T0)
    c1 = CustomerFactory(tier="premium", branch=hq)
    c2 = CustomerFactory(tier="standard", branch=hq, email="")
    c3 = CustomerFactory(tier="standard", branch=north, phone="")
    S, C = Deposit.Status, Deposit.Channel

    def dep(
        branch, channel, customer, amount, currency, received, status, account=None
    ):
        return DepositFactory(
            incident=incident,
            branch=branch,
            channel=channel,
            customer=customer,
            account=account or customer.account,
            amount=Decimal(amount),
            currency=currency,
            received_at=received,
            status=status,
        )

    d1 = dep(hq, C.CASH, c1, "100.00", "GBP", at(8, 30), S.CONFIRMED)
    dep(hq, C.PHONE, c1, "50.50", "GBP", at(9, 10), S.PROVISIONAL)
    dep(hq, C.CASH, c2, "20.00", "GBP", at(9, 40), S.PENDING_APPROVAL)
    dep(north, C.IN_PERSON, c3, "1000.00", "CNY", at(9, 50), S.AWAITING_CONFIRMATION)
    dep(north, C.IN_PERSON, None, "500.00", "CNY", at(10, 5), S.PROVISIONAL, "ACC4")
    dep(hq, C.CASH, c2, "30.00", "GBP", at(8, 15), S.REVERSED)
    DepositFactory(incident=other, branch=hq, amount=Decimal("7.00"), received_at=at(9))

    # Deposit notices name the incident by id, incident notices by reference.
    make_notice(
        recipient=c1.email,
        refs=[f"deposit:{d1.pk}", f"incident:{incident.pk}"],
        status=Notice.Status.SENT,
        created_at=at(8, 12),
    )
    make_notice(
        recipient=c2.phone,
        refs=[f"incident:{incident.pk}"],
        status=Notice.Status.FAILED,
        created_at=at(9, 41),
    )
    make_notice(
        recipient=c3.email,
        refs=[f"incident:{incident.reference}"],
        status=Notice.Status.SENT,
        created_at=at(8, 20),
        kind="outage_started",
    )
    make_notice(
        recipient=c2.phone,
        refs=[f"incident:{other.reference}"],
        status=Notice.Status.SENT,
        created_at=at(7),
    )

    def update(created, due, text, audience=Audience.PUBLIC):
        return IncidentUpdate.objects.create(
            incident=incident,
            audience=audience,
            status="investigating",
            texts={"en": text},
            created_at=created,
            next_update_due_at=due,
        )

    update(at(8, 30), at(9), "Card payments are failing; we are investigating.")
    # came 5 minutes after the promised 09:00
    late = update(
        at(9, 5), at(10), "The bank's gateway is down; deposits are taken by hand."
    )
    # on time; restored at 10:30, before the promised 11:00
    update(at(9, 55), at(11), "A fix is being deployed.")
    update(at(10, 50), None, "Gateway certificate renewed.", Audience.INTERNAL)

    rule = make_rule()
    for kind, status, cost, currency, account in [
        (OfferKind.FEE_WAIVER, "sent", "5.00", "GBP", "A1"),
        (OfferKind.FIXED_CREDIT, "accepted", "10.00", "GBP", "A2"),
        (OfferKind.PERCENT_DISCOUNT, "redeemed", "15.00", "CNY", "A3"),
        (OfferKind.FIXED_CREDIT, "proposed", "99.00", "GBP", "A4"),
    ]:
        CompensationOffer.objects.create(
            incident=incident,
            rule=rule,
            account=account,
            tier="standard",
            offer_kind=kind,
            cost=Decimal(cost),
            currency=currency,
            status=status,
        )
    return incident, {"c1": c1, "c2": c2, "c3": c3, "late_update": late}
