"""A partition's result as plain JSON, so a Celery worker can hand it to the merge.

Amounts travel as strings (``Decimal`` keeps its exponent both ways) and dates as
ISO text: ``partial_load(json.loads(json.dumps(partial_dump(p))))`` equals ``p``.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from .items import (
    DiscrepancyResult,
    ManualItem,
    MatchResult,
    Partial,
    Result,
    SystemItem,
)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def partial_dump(partial: Partial) -> dict[str, Any]:
    """A JSON-ready copy of what one partition produced."""
    return {
        "matches": [
            [
                m.kind,
                list(m.manual_ids),
                list(m.system_ids),
                m.score,
                m.reasons,
                str(m.manual_amount),
                str(m.system_amount),
                m.currency,
            ]
            for m in partial.result.matches
        ],
        "discrepancies": [
            [
                d.kind,
                list(d.manual_ids),
                list(d.system_ids),
                _money(d.manual_amount),
                _money(d.system_amount),
                _money(d.difference),
                d.hint,
                d.currency,
            ]
            for d in partial.result.discrepancies
        ],
        "manual_left": [
            [
                m.id,
                m.receipt_number,
                m.account,
                m.payer_name,
                str(m.amount),
                m.currency,
                m.received_on.isoformat(),
                m.reference,
            ]
            for m in partial.manual_left
        ],
        "system_left": [
            [
                s.id,
                s.external_id,
                s.account,
                str(s.amount),
                s.currency,
                s.value_date.isoformat(),
                s.counterparty,
                s.reference,
            ]
            for s in partial.system_left
        ],
        "duplicate_of": [
            [side, pk, value] for (side, pk), value in partial.duplicate_of.items()
        ],
    }


def partial_load(data: dict[str, Any]) -> Partial:
    """The ``Partial`` that ``partial_dump`` wrote."""
    matches = [
        MatchResult(
            kind,
            tuple(ms),
            tuple(ss),
            score,
            dict(reasons),
            Decimal(manual),
            Decimal(system),
            currency,
        )
        for kind, ms, ss, score, reasons, manual, system, currency in data["matches"]
    ]
    discrepancies = [
        DiscrepancyResult(
            kind,
            tuple(ms),
            tuple(ss),
            _decimal(manual),
            _decimal(system),
            _decimal(difference),
            hint,
            currency,
        )
        for kind, ms, ss, manual, system, difference, hint, currency in data[
            "discrepancies"
        ]
    ]
    manual_left = [
        ManualItem(
            pk,
            receipt,
            account,
            payer,
            Decimal(amount),
            currency,
            dt.date.fromisoformat(day),
            reference,
        )
        for pk, receipt, account, payer, amount, currency, day, reference in data[
            "manual_left"
        ]
    ]
    system_left = [
        SystemItem(
            pk,
            external,
            account,
            Decimal(amount),
            currency,
            dt.date.fromisoformat(day),
            counterparty,
            reference,
        )
        for pk, external, account, amount, currency, day, counterparty, reference in data[
            "system_left"
        ]
    ]
    return Partial(
        Result(matches, discrepancies),
        manual_left,
        system_left,
        {(side, pk): value for side, pk, value in data["duplicate_of"]},
    )
