"""The reconciliation export, exactly as DESIGN gives it, one row per outcome."""

import csv
import functools
from collections import defaultdict
from decimal import Decimal
from typing import TextIO

from django.db.models import Q

from outage_desk.exports import cell_safe
from outage_desk.money import currency_is_known, currency_places

from . import engine
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


@functools.cache
def _places(currency: str) -> int:
    return currency_places(currency) if currency_is_known(currency) else 2


def _money(amount: Decimal | None, currency: str) -> str:
    """A plain number (``-12.50``), which ``cell_safe`` leaves as it is."""
    if amount is None:
        return ""
    return f"{amount:.{_places(currency)}f}"


# Kinds and statuses are a handful of values: made safe once each. Amounts and
# scores are plain numbers, which cell_safe returns unchanged, so only the
# receipt numbers and external ids (text from people and files) go through it
# row by row.
_safe_word = functools.cache(cell_safe)


def _ids(pairs: object) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = defaultdict(list)
    for owner, value in pairs:  # type: ignore[attr-defined]
        grouped[owner].append(value)
    return {k: sorted(v) for k, v in grouped.items()}


def run_export(*, run: ReconciliationRun, out: TextIO) -> int:
    """Write the run's proposed matches, every confirmed match and the discrepancies."""
    with engine.gc_paused():
        return _export(run, out)


def _export(run: ReconciliationRun, out: TextIO) -> int:
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
    match_rows = matches.order_by("pk").values_list(
        "pk", "kind", "manual_amount", "system_amount", "currency", "score", "status"
    )
    for pk, kind, manual, system, currency, score, status in match_rows.iterator(
        chunk_size=5000
    ):
        writer.writerow(
            (
                "matched",
                _safe_word(kind),
                cell_safe(" ".join(receipts.get(pk, []))),
                cell_safe(" ".join(externals.get(pk, []))),
                _money(manual, currency),
                _money(system, currency),
                _money(system - manual, currency),
                str(score),
                _safe_word(status),
            )
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
    item_rows = items.order_by("pk").values_list(
        "pk",
        "kind",
        "manual_amount",
        "system_amount",
        "difference",
        "currency",
        "status",
    )
    for (
        pk,
        kind,
        m_amount,
        s_amount,
        difference,
        currency,
        status,
    ) in item_rows.iterator(chunk_size=5000):
        writer.writerow(
            (
                "discrepancy",
                _safe_word(kind),
                cell_safe(" ".join(d_receipts.get(pk, []))),
                cell_safe(" ".join(d_externals.get(pk, []))),
                _money(m_amount, currency),
                _money(s_amount, currency),
                _money(difference, currency),
                "",
                _safe_word(status),
            )
        )
        rows += 1
    return rows
