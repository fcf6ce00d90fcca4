"""The posting file: manual deposits missing from the system, for the core system to load."""

import csv
from typing import TextIO

from deposits.models import Deposit
from deposits.services.imports import DEPOSIT_COLUMNS

from .export import _money, cell_safe
from .finance_models import PostingBatch

# The core system loads credits in the records layout the restored exports use, so
# the same file, once posted, comes back in the next import and matches by reference.
CORE_COLUMNS = [
    "external_id",
    "account",
    "amount",
    "currency",
    "value_date",
    "counterparty",
    "reference",
    "description",
]


def _deposits(batch: PostingBatch) -> list[Deposit]:
    return list(
        Deposit.objects.filter(pk__in=batch.deposits.values("pk"))
        .select_related("branch", "incident")
        .order_by("pk")
    )


def posting_core_csv(*, batch: PostingBatch, out: TextIO) -> int:
    """One credit per deposit; the reference is the deposit's (or its receipt number)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CORE_COLUMNS)
    rows = _deposits(batch)
    for d in rows:
        writer.writerow(
            [
                cell_safe(f"POST-{batch.pk}-{d.receipt_number}"),
                cell_safe(d.account),
                _money(d.amount, d.currency),
                d.currency,
                d.received_at.date().isoformat(),
                cell_safe(d.payer_name),
                cell_safe(d.reference or d.receipt_number),
                cell_safe(f"Outage {d.incident.reference} receipt {d.receipt_number}"),
            ]
        )
    return len(rows)


def posting_canonical_csv(*, batch: PostingBatch, out: TextIO) -> int:
    """The same deposits in the canonical deposit CSV (the deposits import layout)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DEPOSIT_COLUMNS)
    rows = _deposits(batch)
    for d in rows:
        writer.writerow(
            [
                cell_safe(d.receipt_number),
                d.branch.code,
                d.channel,
                cell_safe(d.account),
                cell_safe(d.payer_name),
                _money(d.amount, d.currency),
                d.currency,
                d.received_at.isoformat(),
                cell_safe(d.reference),
                cell_safe(d.note),
            ]
        )
    return len(rows)
