"""What happens after restore: the review's impact snapshot and the proposed offers.

Lives here because it reads deposits and notices, which the incidents app may not;
the writes themselves are the incidents app's services.
"""

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet

from incidents.models import CustomerTier, Incident, Review
from incidents.services.compensation import AffectedCustomer, offers_propose
from incidents.services.review import review_prepare

from .selectors import counting_deposits, impact_figures, live_deposits


def figures_jsonable(figures: dict[str, Any]) -> dict[str, Any]:
    """Figures as JSON values: decimals and datetimes become strings."""
    return json.loads(json.dumps(figures, cls=DjangoJSONEncoder))  # type: ignore[no-any-return]


def affected_customers(incident: Incident) -> list[AffectedCustomer]:
    """Each affected account with its tier, contact and amounts per currency."""
    amounts: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for account, currency, amount in counting_deposits(incident).values_list(
        "account", "currency", "amount"
    ):
        amounts[account][currency] += amount
    seen: dict[str, AffectedCustomer] = {}
    rows = live_deposits(incident).select_related("customer").order_by("account", "pk")
    for deposit in rows:
        if deposit.account in seen:
            continue
        customer = deposit.customer
        channel, address = "", ""
        if customer and customer.email:
            channel, address = "email", customer.email
        elif customer and customer.phone:
            channel, address = "sms", customer.phone
        seen[deposit.account] = AffectedCustomer(
            account=deposit.account,
            tier=customer.tier if customer else CustomerTier.STANDARD,
            channel=channel,
            address=address,
            language=customer.language if customer else "en",
            amounts=dict(amounts.get(deposit.account, {})),
        )
    return list(seen.values())


@transaction.atomic
def incident_aftermath_run(*, incident: Incident) -> Review:
    """Propose offers from the rules and (re)take the review's impact snapshot."""
    offers_propose(incident=incident, customers=affected_customers(incident))
    return review_prepare(
        incident=incident, impact=figures_jsonable(impact_figures(incident=incident))
    )


def incidents_awaiting_aftermath() -> QuerySet[Incident]:
    """Restored, open incidents whose review has no impact snapshot yet."""
    return (
        Incident.objects.filter(restored_at__isnull=False, closed_at__isnull=True)
        .exclude(review__impact__has_key="reference")
        .exclude(review__completed_at__isnull=False)
        .order_by("pk")
    )
