"""The reconciliation export, exactly as DESIGN gives it, one row per outcome."""

import csv
import re
from collections import defaultdict
from decimal import Decimal
from typing import TextIO

from django.db.models import Q

from outage_desk.money import currency_is_known, currency_places

from .models import Discrepancy, Match, MatchDeposit, MatchRecord, ReconciliationRun

EXPORT_COLUMNS = [
    "outcome",
    "kind",
    "receipt_numbers",
    "external_ids",
    "manual_amount",
    "system_amount",
    "difference",
    "score",
    "status",
]
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_safe(value: str) -> str:
    """Neutralise a text cell a spreadsheet would run as a formula (numbers stay)."""
    if value.startswith(_FORMULA_STARTS) and not _NUMBER.match(value):
        return "'" + value
    return value


def _money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    places = currency_places(currency) if currency_is_known(currency) else 2
    return f"{amount:.{places}f}"


def _ids(pairs: object) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = defaultdict(list)
    for owner, value in pairs:  # type: ignore[attr-defined]
        grouped[owner].append(value)
    return {k: sorted(v) for k, v in grouped.items()}


def run_export(*, run: ReconciliationRun, out: TextIO) -> int:
    """Write the run's proposed matches, every confirmed match and the discrepancies."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    matches = Match.objects.filter(
        Q(run=run) | Q(run__incident=run.incident, status=Match.Status.CONFIRMED)
    )
    receipts = _ids(
        MatchDeposit.objects.filter(match__in=matches).values_list(
            "match_id", "deposit__receipt_number"
        )
    )
    externals = _ids(
        MatchRecord.objects.filter(match__in=matches).values_list(
            "match_id", "record__external_id"
        )
    )
    rows = 0
    for match in matches.order_by("pk").iterator(chunk_size=2000):
        writer.writerow(
            [
                cell_safe(v)
                for v in (
                    "matched",
                    match.kind,
                    " ".join(receipts.get(match.pk, [])),
                    " ".join(externals.get(match.pk, [])),
                    _money(match.manual_amount, match.currency),
                    _money(match.system_amount, match.currency),
                    _money(match.system_amount - match.manual_amount, match.currency),
                    str(match.score),
                    match.status,
                )
            ]
        )
        rows += 1
    items = Discrepancy.objects.filter(run=run)
    d_receipts = _ids(
        Discrepancy.deposits.through.objects.filter(discrepancy__run=run).values_list(
            "discrepancy_id", "deposit__receipt_number"
        )
    )
    d_externals = _ids(
        Discrepancy.records.through.objects.filter(discrepancy__run=run).values_list(
            "discrepancy_id", "systemrecord__external_id"
        )
    )
    for item in items.order_by("pk").iterator(chunk_size=2000):
        writer.writerow(
            [
                cell_safe(v)
                for v in (
                    "discrepancy",
                    item.kind,
                    " ".join(d_receipts.get(item.pk, [])),
                    " ".join(d_externals.get(item.pk, [])),
                    _money(item.manual_amount, item.currency),
                    _money(item.system_amount, item.currency),
                    _money(item.difference, item.currency),
                    "",
                    item.status,
                )
            ]
        )
        rows += 1
    return rows
