"""Compensation: offers proposed from the rules on restore, approved, sent, tracked.

The incidents app does not import deposits: the caller (the impact app) passes the
affected customers in, with what they deposited during the outage. Sending reads
only the customers' names for the greeting, through the incident's deposits.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext

from notifications.models import NoticeKind
from notifications.services import Recipient, notify
from outage_desk.audit import audit_record
from outage_desk.models import User
from outage_desk.money import money_round, money_validate

from ..models import (
    CompensationOffer,
    CompensationRule,
    Incident,
    OfferKind,
    OutageRole,
    RoleAssignment,
)
from .common import text_in
from .lifecycle import incident_lock

OFFERS_NOT_RESTORED = "Incident {reference} is not restored yet: no offers to propose."
OFFERS_NOT_APPROVER = (
    "Only the comms approver of {reference} may approve its compensation offers."
)
OFFERS_NONE_PROPOSED = "Incident {reference} has no proposed offers left to approve."
OFFER_MOVE_REFUSED = "An offer that is “{old}” cannot become “{new}”."
HUNDRED = Decimal(100)
OFFER_NEXT: dict[str, str] = {
    CompensationOffer.Status.SENT: CompensationOffer.Status.ACCEPTED,
    CompensationOffer.Status.ACCEPTED: CompensationOffer.Status.REDEEMED,
}


@dataclass(frozen=True)
class AffectedCustomer:
    """What the rules need to know about one affected customer."""

    account: str
    tier: str
    channel: str = ""
    address: str = ""
    language: str = "en"
    # currency -> amount deposited during the outage (for percentage discounts).
    amounts: dict[str, Decimal] = field(default_factory=dict)


def outage_minutes(incident: Incident) -> int:
    """Whole minutes from impact start to restore (the duration bands' measure)."""
    if incident.restored_at is None:
        raise ValidationError(
            {"incident": OFFERS_NOT_RESTORED.format(reference=incident.reference)}
        )
    return int(
        (incident.restored_at - incident.impact_started_at).total_seconds() // 60
    )


def rules_for(incident: Incident) -> QuerySet[CompensationRule]:
    """The incident's own rules, or the defaults when it has none."""
    own = CompensationRule.objects.filter(incident=incident)
    return own if own.exists() else CompensationRule.objects.filter(incident=None)


def rule_pick(
    rules: Iterable[CompensationRule], *, tier: str, minutes: int
) -> CompensationRule | None:
    """The rule for this tier whose band holds ``minutes`` (the highest band wins)."""
    fitting = [r for r in rules if r.tier == tier and r.covers(minutes)]
    return max(fitting, key=lambda r: (r.min_minutes, r.pk), default=None)


def offer_cost(rule: CompensationRule, customer: AffectedCustomer) -> Decimal:
    """What the offer costs, capped and rounded to the rule's currency."""
    if rule.offer_kind == OfferKind.PERCENT_DISCOUNT:
        base = customer.amounts.get(rule.currency, Decimal(0))
        cost = base * rule.value / HUNDRED
    else:
        cost = rule.value
    if rule.cap is not None:
        cost = min(cost, rule.cap)
    return money_round(cost, rule.currency)


@transaction.atomic
def offers_propose(
    *, incident: Incident, customers: Iterable[AffectedCustomer]
) -> list[CompensationOffer]:
    """Propose one offer per affected customer whose tier and outage length a rule covers.

    Idempotent: a customer who already has an offer for the incident is skipped.
    """
    minutes = outage_minutes(incident)
    rules = list(rules_for(incident))
    taken = set(
        CompensationOffer.objects.filter(incident=incident).values_list(
            "account", flat=True
        )
    )
    offers = []
    for customer in customers:
        rule = rule_pick(rules, tier=customer.tier, minutes=minutes)
        if rule is None or customer.account in taken:
            continue
        taken.add(customer.account)
        offers.append(
            CompensationOffer(
                incident=incident,
                rule=rule,
                account=customer.account,
                tier=customer.tier,
                offer_kind=rule.offer_kind,
                cost=offer_cost(rule, customer),
                currency=rule.currency,
                channel=customer.channel,
                address=customer.address,
                language=customer.language or "en",
            )
        )
    CompensationOffer.objects.bulk_create(offers)
    if offers:
        audit_record(
            action="compensation.proposed",
            obj=incident,
            data={"offers": len(offers), "outage_minutes": minutes},
        )
    return offers


def offer_describe(offer: CompensationOffer) -> str:
    """The offer in words, in the customer's language."""
    rule = offer.rule
    amount = money_round(offer.cost, offer.currency)
    with translation.override(offer.language):
        if offer.offer_kind == OfferKind.FEE_WAIVER:
            return gettext("Refund of fees: %(amount)s %(currency)s") % {
                "amount": amount,
                "currency": offer.currency,
            }
        if offer.offer_kind == OfferKind.PERCENT_DISCOUNT:
            return gettext("A %(percent)s%% discount worth %(amount)s %(currency)s") % {
                "percent": rule.value.normalize(),
                "amount": amount,
                "currency": offer.currency,
            }
        return gettext("A credit of %(amount)s %(currency)s") % {
            "amount": amount,
            "currency": offer.currency,
        }


def user_is_comms_approver(*, incident: Incident, user: User) -> bool:
    """Whether the user holds the incident's comms approver role right now."""
    return RoleAssignment.objects.filter(
        incident=incident,
        role=OutageRole.COMMS_APPROVER,
        user=user,
        ended_at__isnull=True,
    ).exists()


@transaction.atomic
def offers_approve(*, incident: Incident, actor: User) -> int:
    """The comms approver approves every proposed offer; each goes out at once."""
    locked = incident_lock(pk=incident.pk)
    if not user_is_comms_approver(incident=locked, user=actor):
        raise ValidationError(
            {"actor": OFFERS_NOT_APPROVER.format(reference=locked.reference)}
        )
    proposed = list(
        CompensationOffer.objects.select_for_update()
        .filter(incident=locked, status=CompensationOffer.Status.PROPOSED)
        .select_related("rule")
        .order_by("pk")
    )
    if not proposed:
        raise ValidationError(
            {"offers": OFFERS_NONE_PROPOSED.format(reference=locked.reference)}
        )
    now = timezone.now()
    names = _customer_names(locked, accounts={o.account for o in proposed})
    for offer in proposed:
        _offer_send(offer, locked, customer_name=names.get(offer.account, ""))
        offer.status = CompensationOffer.Status.SENT
        offer.approved_by, offer.approved_at = actor, now
    CompensationOffer.objects.bulk_update(
        proposed, ["status", "approved_by", "approved_at"]
    )
    audit_record(
        action="compensation.approved",
        obj=locked,
        actor=actor,
        data={"offers": [o.pk for o in proposed]},
    )
    return len(proposed)


def _customer_names(incident: Incident, *, accounts: set[str]) -> dict[str, str]:
    """Account -> customer name, for the offers' greetings: one query through the
    incident's deposits (incidents import no deposits code)."""
    rows = (
        incident.deposits.filter(  # type: ignore[attr-defined]
            account__in=accounts, customer__isnull=False
        )
        .values_list("account", "customer__name")
        .distinct()
    )
    return dict(rows)


def _offer_send(
    offer: CompensationOffer, incident: Incident, *, customer_name: str
) -> None:
    if not offer.address:
        return
    titles = {"en": incident.title, **(incident.title_translations or {})}
    notify(
        kind=NoticeKind.COMPENSATION_OFFER,
        recipients=[Recipient(offer.channel, offer.address, offer.language)],
        context={
            "customer_name": customer_name,
            "incident_reference": incident.reference,
            "incident_title": text_in(titles, offer.language),
            "offer": offer_describe(offer),
            "expires_at": "",
        },
        dedupe_key=f"compensation:{offer.pk}",
        subject_refs=[f"incident:{incident.reference}", f"compensation:{offer.pk}"],
    )


@transaction.atomic
def offer_advance(
    *,
    offer: CompensationOffer,
    to_status: str,
    actor: User,
    at: dt.datetime | None = None,
) -> CompensationOffer:
    """Record that the customer accepted, then redeemed, the offer."""
    locked = CompensationOffer.objects.select_for_update().get(pk=offer.pk)
    if OFFER_NEXT.get(locked.status) != to_status:
        raise ValidationError(
            {"status": OFFER_MOVE_REFUSED.format(old=locked.status, new=to_status)}
        )
    locked.status = to_status
    stamp = (
        "accepted_at"
        if to_status == CompensationOffer.Status.ACCEPTED
        else "redeemed_at"
    )
    setattr(locked, stamp, at or timezone.now())
    locked.save(update_fields=["status", stamp])
    audit_record(
        action=f"compensation.{to_status}",
        obj=locked,
        actor=actor,
        data={
            "incident": locked.incident_id,
            "cost": locked.cost,
            "currency": locked.currency,
        },
    )
    return locked


@transaction.atomic
def compensation_rule_save(*, rule: CompensationRule, actor: User) -> CompensationRule:
    """Create or change a rule (from the admin), audited; money rules checked first."""
    money_validate(rule.value, rule.currency)
    if rule.cap is not None:
        money_validate(rule.cap, rule.currency)
    created = rule.pk is None
    rule.full_clean()
    rule.save()
    audit_record(
        action="compensation.rule_created" if created else "compensation.rule_changed",
        obj=rule,
        actor=actor,
        data={
            "incident": rule.incident_id,
            "tier": rule.tier,
            "band": [rule.min_minutes, rule.max_minutes],
            "offer_kind": rule.offer_kind,
            "value": rule.value,
            "currency": rule.currency,
            "cap": rule.cap,
        },
    )
    return rule


@transaction.atomic
def compensation_rule_delete(*, rule: CompensationRule, actor: User) -> None:
    """Remove a rule no offer was made from (offers keep theirs: PROTECT)."""
    audit_record(action="compensation.rule_deleted", obj=rule, actor=actor)
    rule.delete()
