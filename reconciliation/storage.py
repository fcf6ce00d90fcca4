"""Writing a run's outcome: COPY on PostgreSQL, chunked bulk_create elsewhere.

A large run stores hundreds of thousands of matches and their links; building an
ORM object for each costs more than matching them did, so PostgreSQL gets the
rows as CSV through COPY, with ids reserved from the table's sequence up front.
"""

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models

from . import engine
from .models import Discrepancy, Match, MatchDeposit, MatchRecord, ReconciliationRun

BULK = 2000


def outcome_store(
    *,
    run: ReconciliationRun,
    matches: Sequence[engine.MatchResult],
    discrepancies: Sequence[engine.DiscrepancyResult],
) -> None:
    """Store a run's matches and discrepancies with their links (no per-row queries)."""
    if connection.vendor == "postgresql":
        _store_postgres(run, matches, discrepancies)
    else:
        _matches_store(run, matches)
        _discrepancies_store(run, discrepancies)


def ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """Take ``count`` ids from the table's sequence (PostgreSQL) for rows to come."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
            "FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy(
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    not_null: str = "",
) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    buffer.seek(0)
    options = f", FORCE_NOT_NULL ({not_null})" if not_null else ""
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv{options})",
            buffer,
        )


def _blank(value: object) -> object:
    return "" if value is None else value


def _store_postgres(
    run: ReconciliationRun,
    matches: Sequence[engine.MatchResult],
    discrepancies: Sequence[engine.DiscrepancyResult],
) -> None:
    ids = ids_reserve(Match, len(matches))
    _copy(
        Match._meta.db_table,
        [
            "id",
            "run_id",
            "kind",
            "score",
            "reasons",
            "status",
            "manual_amount",
            "system_amount",
            "currency",
        ],
        (
            (
                pk,
                run.pk,
                m.kind,
                m.score,
                json.dumps(m.reasons),
                "proposed",
                m.manual_amount,
                m.system_amount,
                m.currency,
            )
            for pk, m in zip(ids, matches, strict=True)
        ),
    )
    pairs = list(zip(ids, matches, strict=True))
    _copy(
        MatchDeposit._meta.db_table,
        ["match_id", "deposit_id", "confirmed"],
        ((pk, i, "f") for pk, m in pairs for i in m.manual_ids),
    )
    _copy(
        MatchRecord._meta.db_table,
        ["match_id", "record_id", "confirmed"],
        ((pk, i, "f") for pk, m in pairs for i in m.system_ids),
    )
    ids = ids_reserve(Discrepancy, len(discrepancies))
    _copy(
        Discrepancy._meta.db_table,
        [
            "id",
            "run_id",
            "kind",
            "manual_amount",
            "system_amount",
            "difference",
            "currency",
            "hint",
            "status",
        ],
        (
            (
                pk,
                run.pk,
                d.kind,
                _blank(d.manual_amount),
                _blank(d.system_amount),
                _blank(d.difference),
                d.currency,
                d.hint[:200],
                "open",
            )
            for pk, d in zip(ids, discrepancies, strict=True)
        ),
        not_null="currency, hint",
    )
    found = list(zip(ids, discrepancies, strict=True))
    _copy(
        Discrepancy.deposits.through._meta.db_table,
        ["discrepancy_id", "deposit_id"],
        ((pk, i) for pk, d in found for i in d.manual_ids),
    )
    _copy(
        Discrepancy.records.through._meta.db_table,
        ["discrepancy_id", "systemrecord_id"],
        ((pk, i) for pk, d in found for i in d.system_ids),
    )


def _matches_store(
    run: ReconciliationRun, matches: Iterable[engine.MatchResult]
) -> None:
    items = list(matches)
    for start in range(0, len(items), BULK):
        chunk = items[start : start + BULK]
        rows = Match.objects.bulk_create(
            [
                Match(
                    run=run,
                    kind=m.kind,
                    score=m.score,
                    reasons=m.reasons,
                    manual_amount=m.manual_amount,
                    system_amount=m.system_amount,
                    currency=m.currency,
                )
                for m in chunk
            ]
        )
        MatchDeposit.objects.bulk_create(
            [
                MatchDeposit(match=row, deposit_id=i)
                for row, m in zip(rows, chunk, strict=True)
                for i in m.manual_ids
            ]
        )
        MatchRecord.objects.bulk_create(
            [
                MatchRecord(match=row, record_id=i)
                for row, m in zip(rows, chunk, strict=True)
                for i in m.system_ids
            ]
        )


def _discrepancies_store(
    run: ReconciliationRun, items: Iterable[engine.DiscrepancyResult]
) -> None:
    found = list(items)
    d_through = Discrepancy.deposits.through
    r_through = Discrepancy.records.through
    for start in range(0, len(found), BULK):
        chunk = found[start : start + BULK]
        rows = Discrepancy.objects.bulk_create(
            [
                Discrepancy(
                    run=run,
                    kind=d.kind,
                    manual_amount=d.manual_amount,
                    system_amount=d.system_amount,
                    difference=d.difference,
                    hint=d.hint[:200],
                    currency=d.currency,
                )
                for d in chunk
            ]
        )
        d_through.objects.bulk_create(
            [
                d_through(discrepancy_id=row.pk, deposit_id=i)
                for row, d in zip(rows, chunk, strict=True)
                for i in d.manual_ids
            ]
        )
        r_through.objects.bulk_create(
            [
                r_through(discrepancy_id=row.pk, systemrecord_id=i)
                for row, d in zip(rows, chunk, strict=True)
                for i in d.system_ids
            ]
        )
