"""Integrators hear of each discrepancy a run opens (``discrepancy.opened``).

Called once per stored run with the cases it opened for the first time: a few
queries per run whatever its size, and none past one when no endpoint listens.
"""

from collections.abc import Sequence
from decimal import Decimal

from deposits.models import Deposit
from notifications.services import (
    EventOccurrence,
    webhook_endpoints_subscribed,
    webhook_events_publish,
)
from outage_desk.money import currency_is_known, money_round

from .finance_models import Case
from .models import ReconciliationRun, SystemRecord

EVENT = "discrepancy.opened"


def _money(amount: Decimal | None, currency: str) -> str | None:
    if amount is None:
        return None
    if currency_is_known(currency):
        amount = money_round(amount, currency)
    return f"{amount:f}"


def discrepancies_opened_wanted() -> bool:
    """Whether any endpoint listens, so the caller can skip building the cases."""
    return bool(webhook_endpoints_subscribed(event=EVENT))


def discrepancies_opened_publish(
    *,
    run: ReconciliationRun,
    cases: Sequence[Case],
    deposits: dict[int, list[int]],
    records: dict[int, list[int]],
) -> int:
    """One ``discrepancy.opened`` per new case, in the run's transaction; returns rows.

    ``deposits`` and ``records`` map each discrepancy's pk to its items' pks. The
    event is keyed by the case's signature (kind and items), so a later run that
    finds the same discrepancy again sends nothing.
    """
    endpoints = webhook_endpoints_subscribed(event=EVENT)
    if not endpoints or not cases:
        return 0
    discrepancy_ids = [c.discrepancy_id for c in cases]
    deposit_ids = [x for d in discrepancy_ids for x in deposits.get(d, [])]
    record_ids = [x for d in discrepancy_ids for x in records.get(d, [])]
    receipts = dict(
        Deposit.objects.filter(pk__in=deposit_ids).values_list("pk", "receipt_number")
    )
    externals = dict(
        SystemRecord.objects.filter(pk__in=record_ids).values_list("pk", "external_id")
    )
    reference = run.incident.reference
    occurrences = []
    for case in cases:
        d = case.discrepancy  # set by cases_open: no query
        occurrences.append(
            EventOccurrence(
                data={
                    "id": case.pk,
                    "discrepancy": d.pk,
                    "run": run.pk,
                    "incident": reference,
                    "kind": case.kind,
                    "amount": _money(case.amount, case.currency),
                    "currency": case.currency,
                    "manual_amount": _money(d.manual_amount, d.currency),
                    "system_amount": _money(d.system_amount, d.currency),
                    "difference": _money(d.difference, d.currency),
                    "receipt_numbers": sorted(
                        receipts[x] for x in deposits.get(d.pk, []) if x in receipts
                    ),
                    "external_ids": sorted(
                        externals[x] for x in records.get(d.pk, []) if x in externals
                    ),
                    "opened_at": case.opened_at.isoformat(),
                    "due_at": case.due_at.isoformat(),
                },
                dedupe_key=f"discrepancy:{run.incident_id}:{case.signature}:opened",
                subject_refs=[f"incident:{run.incident_id}", f"case:{case.pk}"],
            )
        )
    return webhook_events_publish(
        event=EVENT, occurrences=occurrences, endpoints=endpoints
    )
