"""Compensation: band edges, caps, incident rules over defaults, approval, tracking."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from impact.aftermath import affected_customers, incident_aftermath_run
from impact.tasks import aftermath_sweep
from incidents.models import (
    CompensationOffer,
    CompensationRule,
    OfferKind,
    OutageRole,
    Review,
    RoleAssignment,
)
from incidents.services import incident_resolve
from incidents.services.compensation import (
    OFFER_MOVE_REFUSED,
    OFFERS_NONE_PROPOSED,
    OFFERS_NOT_APPROVER,
    AffectedCustomer,
    compensation_rule_save,
    offer_advance,
    offers_approve,
    offers_propose,
)
from notifications.models import Notice
from outage_desk.models import AuditEvent
from tests.deposits.factories import DepositFactory
from tests.factories import CustomerFactory
from tests.impact.data import T0, make_rule
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def default_rules():
    """Premium: [30, 120) min credit 10.00; [120, open) 10 % capped at 25.00."""
    return [
        make_rule(tier="premium", min_minutes=30, max_minutes=120),
        make_rule(
            tier="premium",
            min_minutes=120,
            offer_kind=OfferKind.PERCENT_DISCOUNT,
            value=Decimal("10"),
            cap=Decimal("25.00"),
        ),
        make_rule(
            tier="standard",
            min_minutes=60,
            max_minutes=240,
            offer_kind=OfferKind.FEE_WAIVER,
            value=Decimal("5.00"),
        ),
    ]


def restored_after(duration: dt.timedelta, **kw):
    return IncidentFactory(
        impact_started_at=T0, restored_at=T0 + duration, status="resolved", **kw
    )


def premium(amount="100.00", account="P1"):
    return AffectedCustomer(
        account=account,
        tier="premium",
        channel="email",
        address=f"{account.lower()}@example.com",
        amounts={"GBP": Decimal(amount)},
    )


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (dt.timedelta(minutes=29, seconds=59), None),
        (dt.timedelta(minutes=30), (OfferKind.FIXED_CREDIT, Decimal("10.00"))),
        (
            dt.timedelta(minutes=119, seconds=59),
            (OfferKind.FIXED_CREDIT, Decimal("10.00")),
        ),
        (dt.timedelta(minutes=120), (OfferKind.PERCENT_DISCOUNT, Decimal("10.00"))),
    ],
)
def test_the_duration_band_takes_its_lower_edge_and_not_its_upper(
    default_rules, duration, expected
):
    # given
    incident = restored_after(duration)
    # when
    offers = offers_propose(incident=incident, customers=[premium()])
    # then
    got = [(o.offer_kind, o.cost) for o in offers]
    assert got == ([expected] if expected else [])
    assert CompensationOffer.objects.count() == len(got)


def test_a_percentage_offer_is_capped(default_rules):
    incident = restored_after(dt.timedelta(hours=3))
    offers = offers_propose(
        incident=incident,
        customers=[
            premium("250.00", "P1"),
            premium("249.90", "P2"),
            premium("0", "P3"),
        ],
    )
    assert [o.cost for o in offers] == [
        Decimal("25.00"),
        Decimal("24.99"),
        Decimal("0.00"),
    ]


def test_an_open_ended_band_covers_any_length(default_rules):
    incident = restored_after(dt.timedelta(days=30))
    [offer] = offers_propose(incident=incident, customers=[premium()])
    assert offer.offer_kind == OfferKind.PERCENT_DISCOUNT


def test_the_incidents_own_rules_replace_the_defaults(default_rules):
    incident = restored_after(dt.timedelta(minutes=45))
    make_rule(incident=incident, tier="premium", value=Decimal("3.00"))
    [offer] = offers_propose(incident=incident, customers=[premium()])
    assert offer.cost == Decimal("3.00")
    assert offer.rule.incident == incident


def test_proposing_twice_adds_nothing(default_rules):
    incident = restored_after(dt.timedelta(minutes=45))
    offers_propose(incident=incident, customers=[premium()])
    again = offers_propose(incident=incident, customers=[premium()])
    assert again == []
    assert CompensationOffer.objects.filter(incident=incident).count() == 1


def test_an_unrestored_incident_gets_no_offers(default_rules):
    incident = IncidentFactory(impact_started_at=T0)
    with pytest.raises(ValidationError):
        offers_propose(incident=incident, customers=[premium()])
    assert CompensationOffer.objects.count() == 0


@pytest.fixture
def proposed(default_rules, lead, finance):
    incident = restored_after(dt.timedelta(minutes=45))
    # assigned while the outage ran (roles cannot be assigned after restore)
    RoleAssignment.objects.create(
        incident=incident, role=OutageRole.COMMS_APPROVER, user=finance
    )
    offers_propose(
        incident=incident, customers=[premium("100", "P1"), premium("5", "P2")]
    )
    return incident


def test_only_the_comms_approver_may_approve(proposed, lead):
    # given: the lead runs the incident but does not hold the comms approver role
    # when
    with pytest.raises(ValidationError) as exc:
        offers_approve(incident=proposed, actor=lead)
    # then
    assert exc.value.message_dict["actor"] == [
        OFFERS_NOT_APPROVER.format(reference=proposed.reference)
    ]
    assert set(CompensationOffer.objects.values_list("status", flat=True)) == {
        "proposed"
    }
    assert not Notice.objects.filter(kind="compensation_offer").exists()


def test_the_comms_approver_approves_and_each_offer_is_sent_once(proposed, finance):
    # when
    count = offers_approve(incident=proposed, actor=finance)
    # then
    assert count == 2
    offers = CompensationOffer.objects.order_by("account")
    assert [(o.status, o.approved_by) for o in offers] == [
        ("sent", finance),
        ("sent", finance),
    ]
    notices = Notice.objects.filter(kind="compensation_offer").order_by("recipient")
    assert [n.recipient for n in notices] == ["p1@example.com", "p2@example.com"]
    assert "A credit of 10.00 GBP" in notices[0].body
    assert AuditEvent.objects.filter(action="compensation.approved").count() == 1
    # and not twice
    with pytest.raises(ValidationError) as exc:
        offers_approve(incident=proposed, actor=finance)
    assert exc.value.message_dict["offers"] == [
        OFFERS_NONE_PROPOSED.format(reference=proposed.reference)
    ]
    assert Notice.objects.filter(kind="compensation_offer").count() == 2


def test_an_offer_is_accepted_then_redeemed_and_never_backwards(
    proposed, finance, lead
):
    offers_approve(incident=proposed, actor=finance)
    offer = CompensationOffer.objects.order_by("pk").first()
    with pytest.raises(ValidationError) as exc:
        offer_advance(offer=offer, to_status="redeemed", actor=lead)
    assert exc.value.message_dict["status"] == [
        OFFER_MOVE_REFUSED.format(old="sent", new="redeemed")
    ]
    offer = offer_advance(offer=offer, to_status="accepted", actor=lead)
    offer = offer_advance(offer=offer, to_status="redeemed", actor=lead)
    assert offer.status == "redeemed"
    assert offer.accepted_at is not None and offer.redeemed_at is not None
    with pytest.raises(ValidationError):
        offer_advance(offer=offer, to_status="accepted", actor=lead)
    assert CompensationOffer.objects.get(pk=offer.pk).status == "redeemed"


def test_restore_prepares_the_review_and_the_sweep_proposes_offers(default_rules, lead):
    # given: a premium customer's deposits during a 45-minute outage
    incident = IncidentFactory(impact_started_at=T0)
    customer = CustomerFactory(tier="premium", language="zh-hans")
    DepositFactory(incident=incident, customer=customer, account=customer.account)
    # when
    incident_resolve(incident=incident, at=T0 + dt.timedelta(minutes=45), actor=lead)
    # then: the review exists at once; the sweep adds figures and offers
    review = Review.objects.get(incident=incident)
    assert review.impact == {}
    assert aftermath_sweep() == 1
    review.refresh_from_db()
    assert review.impact["customers_affected"] == 1
    assert review.impact["deposits"]["by_currency"] == [
        {"currency": "GBP", "count": 1, "sum": "100.00"}
    ]
    offer = CompensationOffer.objects.get(incident=incident)
    assert (offer.account, offer.tier, offer.cost, offer.address, offer.language) == (
        customer.account,
        "premium",
        Decimal("10.00"),
        customer.email,
        "zh-hans",
    )
    assert aftermath_sweep() == 0


def test_affected_customers_carry_amounts_per_currency():
    incident = IncidentFactory(impact_started_at=T0)
    customer = CustomerFactory(tier="business", email="", phone="+447700900555")
    for amount, currency in [("10.00", "GBP"), ("2.50", "GBP"), ("100.00", "CNY")]:
        DepositFactory(
            incident=incident,
            customer=customer,
            account=customer.account,
            amount=Decimal(amount),
            currency=currency,
        )
    DepositFactory(incident=incident, account="NOCUSTOMER")
    customers = affected_customers(incident)
    assert [(c.account, c.tier, c.channel, c.amounts) for c in customers] == [
        (
            customer.account,
            "business",
            "sms",
            {"GBP": Decimal("12.50"), "CNY": Decimal("100.00")},
        ),
        ("NOCUSTOMER", "standard", "", {"GBP": Decimal("100.00")}),
    ]


def test_aftermath_run_refreshes_the_snapshot(default_rules):
    incident = restored_after(dt.timedelta(minutes=45))
    review = incident_aftermath_run(incident=incident)
    assert review.impact["customers_affected"] == 0


def test_rules_are_edited_in_the_admin_and_audited(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/admin/incidents/compensationrule/add/",
        {
            "tier": "premium",
            "min_minutes": "60",
            "max_minutes": "",
            "offer_kind": "fixed_credit",
            "value": "12.50",
            "currency": "GBP",
            "cap": "",
        },
    )
    assert response.status_code == 302
    rule = CompensationRule.objects.get()
    assert (rule.value, rule.max_minutes) == (Decimal("12.50"), None)
    assert AuditEvent.objects.get(action="compensation.rule_created").object_id == str(
        rule.pk
    )


def test_a_rule_amount_with_too_many_decimals_is_refused(admin_user):
    rule = CompensationRule(
        tier="premium",
        offer_kind="fixed_credit",
        value=Decimal("1.005"),
        currency="GBP",
    )
    with pytest.raises(ValidationError):
        compensation_rule_save(rule=rule, actor=admin_user)
    assert CompensationRule.objects.count() == 0
    assert not AuditEvent.objects.exists()
