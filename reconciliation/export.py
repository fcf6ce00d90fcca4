"""The reconciliation export, exactly as DESIGN gives it, one row per outcome."""

import csv
import functools
import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import TextIO

from django.db.models import QuerySet

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


@dataclass(frozen=True)
class StoredOutcome:
    """A run's outcome as the process that stored it still holds it.

    ``reconcile --export`` writes the export from it rather than reading back the
    rows it has just stored (the joins of the links with the deposits and records
    took about a second on a 100,000-deposit run); ``run_export`` writes the same
    bytes either way. ``manual`` and ``system`` are the deposits and records the
    run read (its plan), which give the receipt numbers and external ids; an
    outcome naming any other one (a merge of partitions holds only their
    leftovers) is written from the database.
    """

    match_ids: Sequence[int]
    matches: Sequence[engine.MatchResult]
    discrepancy_ids: Sequence[int]
    discrepancies: Sequence[engine.DiscrepancyResult]
    manual: Sequence[engine.ManualItem]
    system: Sequence[engine.SystemItem]

    def names(self) -> tuple[dict[int, str], dict[int, str]] | None:
        """Receipt number by deposit id and external id by record id, if they
        name every deposit and record of the outcome."""
        receipts = {m.id: m.receipt_number for m in self.manual}
        externals = {s.id: s.external_id for s in self.system}
        for items in (self.matches, self.discrepancies):
            for item in items:
                for i in item.manual_ids:
                    if i not in receipts:
                        return None
                for i in item.system_ids:
                    if i not in externals:
                        return None
        return receipts, externals


def run_export(
    *, run: ReconciliationRun, out: TextIO, stored: StoredOutcome | None = None
) -> int:
    """Write the run's proposed matches, every confirmed match and the discrepancies.

    ``stored``: the run's outcome as this process stored it, if it did.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    with engine.gc_paused():
        names = stored.names() if stored is not None else None
        if stored is not None and names is not None:
            rows = _rows_stored(run, stored, *names)
        else:
            rows = _rows_read(run)
        count = 0
        while chunk := list(itertools.islice(rows, 5000)):
            writer.writerows(chunk)
            count += len(chunk)
    return count


def _row(
    outcome: str,
    kind: str,
    receipts: Iterable[str],
    externals: Iterable[str],
    amounts: tuple[Decimal | None, Decimal | None, Decimal | None],
    currency: str,
    score: str,
    status: str,
) -> tuple[str, ...]:
    """One export row; ``amounts``: manual, system and their difference."""
    manual, system, difference = amounts
    return (
        outcome,
        _safe_word(kind),
        cell_safe(" ".join(receipts)),
        cell_safe(" ".join(externals)),
        _money(manual, currency),
        _money(system, currency),
        _money(difference, currency),
        score,
        _safe_word(status),
    )


def _match_row(
    kind: str,
    receipts: Iterable[str],
    externals: Iterable[str],
    manual: Decimal,
    system: Decimal,
    currency: str,
    score: int,
    status: str,
) -> tuple[str, ...]:
    amounts = (manual, system, system - manual)
    return _row(
        "matched", kind, receipts, externals, amounts, currency, str(score), status
    )


def _match_rows_read(matches: QuerySet[Match]) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(pk, export row) of each match, by pk, read from the database."""
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
    match_rows = matches.order_by("pk").values_list(
        "pk", "kind", "manual_amount", "system_amount", "currency", "score", "status"
    )
    for pk, kind, manual, system, currency, score, status in match_rows.iterator(
        chunk_size=5000
    ):
        yield (
            pk,
            _match_row(
                kind,
                receipts.get(pk, ()),
                externals.get(pk, ()),
                manual,
                system,
                currency,
                score,
                status,
            ),
        )


def _confirmed_elsewhere(run: ReconciliationRun) -> QuerySet[Match]:
    """The incident's confirmed matches of other runs: the export lists them too."""
    return Match.objects.filter(
        run__incident_id=run.incident_id, status=Match.Status.CONFIRMED
    ).exclude(run=run)


def _rows_read(run: ReconciliationRun) -> Iterator[tuple[str, ...]]:
    matches = Match.objects.filter(run=run) | _confirmed_elsewhere(run)
    for _pk, row in _match_rows_read(matches):
        yield row
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
    item_rows = (
        Discrepancy.objects.filter(run=run)
        .order_by("pk")
        .values_list(
            "pk",
            "kind",
            "manual_amount",
            "system_amount",
            "difference",
            "currency",
            "status",
        )
    )
    for pk, kind, manual, system, difference, currency, status in item_rows.iterator(
        chunk_size=5000
    ):
        yield _row(
            "discrepancy",
            kind,
            d_receipts.get(pk, ()),
            d_externals.get(pk, ()),
            (manual, system, difference),
            currency,
            "",
            status,
        )


def _statuses_changed(
    model: type[Match] | type[Discrepancy], run: ReconciliationRun, stored: str
) -> dict[int, str]:
    """The status of each of the run's rows that no longer has the one stored."""
    rows = model.objects.filter(run=run).exclude(status=stored)
    return dict(rows.values_list("pk", "status"))


def _names(ids: tuple[int, ...], names: Mapping[int, str]) -> list[str]:
    if len(ids) == 1:
        return [names[ids[0]]]
    return sorted(names[i] for i in ids)


def _rows_stored(
    run: ReconciliationRun,
    stored: StoredOutcome,
    receipts: Mapping[int, str],
    externals: Mapping[int, str],
) -> Iterator[tuple[str, ...]]:
    """The export of ``_rows_read`` from the outcome in memory. Only what may have
    changed since the store is read: the other runs' confirmed matches, and the
    matches and discrepancies already decided (stored as proposed and open)."""
    proposed = Match.Status.PROPOSED.value
    decided = _statuses_changed(Match, run, proposed)
    ours = sorted(
        (
            (
                pk,
                _match_row(
                    m.kind,
                    _names(m.manual_ids, receipts),
                    _names(m.system_ids, externals),
                    m.manual_amount,
                    m.system_amount,
                    m.currency,
                    m.score,
                    decided.get(pk, proposed),
                ),
            )
            for pk, m in zip(stored.match_ids, stored.matches, strict=True)
        ),
        key=itemgetter(0),
    )
    others = _match_rows_read(_confirmed_elsewhere(run))
    for _pk, row in heapq.merge(others, ours, key=itemgetter(0)):
        yield row
    open_ = Discrepancy.Status.OPEN.value
    settled = _statuses_changed(Discrepancy, run, open_)
    found = sorted(
        zip(stored.discrepancy_ids, stored.discrepancies, strict=True),
        key=itemgetter(0),
    )
    for pk, d in found:
        yield _row(
            "discrepancy",
            d.kind,
            _names(d.manual_ids, receipts),
            _names(d.system_ids, externals),
            (d.manual_amount, d.system_amount, d.difference),
            d.currency,
            "",
            settled.get(pk, open_),
        )
