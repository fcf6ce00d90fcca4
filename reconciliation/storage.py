"""Writing a run's outcome: COPY on PostgreSQL, chunked bulk_create elsewhere.

A large run stores hundreds of thousands of matches and their links; building an
ORM object for each costs more than matching them did, so PostgreSQL gets the
rows as CSV through COPY, with ids reserved from the table's sequence up front.

The link rows have no foreign keys in the database (see the note above
``MatchDeposit``): ``outcome_items_verify`` checks every deposit and record the
outcome names in one query per side, in the same transaction, before writing.
"""

import csv
import functools
import io
import itertools
import json
from collections.abc import Iterable, Sequence, Set
from typing import Any

from django.db import IntegrityError, connection, models
from django.utils.translation import gettext_lazy as _

from deposits.models import Deposit

from . import engine
from .models import (
    Discrepancy,
    Match,
    MatchDeposit,
    MatchRecord,
    ReconciliationRun,
    SystemRecord,
)

BULK = 2000
ERROR_OUTCOME_ITEMS = _(
    "A run's outcome names a deposit or record that is not part of its incident."
)


def outcome_store(
    *,
    run: ReconciliationRun,
    matches: Sequence[engine.MatchResult],
    discrepancies: Sequence[engine.DiscrepancyResult],
    read: tuple[Set[int], Set[int]] = (frozenset(), frozenset()),
) -> tuple[list[int], list[int]]:
    """Store a run's matches and discrepancies with their links (no per-row queries).

    ``read``: the deposit and record ids this run read from its incident (see
    ``outcome_items_verify``). Returns the ids the matches and the discrepancies
    were stored under, in the order given.
    """
    outcome_items_verify(
        run=run, matches=matches, discrepancies=discrepancies, read=read
    )
    if connection.vendor == "postgresql":
        return _store_postgres(run, matches, discrepancies)
    return _matches_store(run, matches), _discrepancies_store(run, discrepancies)


def outcome_items_verify(
    *,
    run: ReconciliationRun,
    matches: Sequence[engine.MatchResult],
    discrepancies: Sequence[engine.DiscrepancyResult],
    read: tuple[Set[int], Set[int]] = (frozenset(), frozenset()),
) -> None:
    """Every deposit and record the outcome links to exists in the run's incident.

    This stands in for the link tables' foreign keys (one count per side instead
    of a deferred check per row); raises IntegrityError, so nothing is stored.
    Deposits and records are never deleted, so what exists now exists at commit,
    and the ids in ``read`` (the deposits and records this run's plan read from
    the incident's own rows) need no second look: only the others are counted.
    """
    outcome: list[engine.MatchResult | engine.DiscrepancyResult] = [
        *matches,
        *discrepancies,
    ]
    deposit_ids = {i for item in outcome for i in item.manual_ids} - read[0]
    record_ids = {i for item in outcome for i in item.system_ids} - read[1]
    for model, ids in ((Deposit, deposit_ids), (SystemRecord, record_ids)):
        if _count_in_incident(model, ids, run.incident_id) != len(ids):
            raise IntegrityError(str(ERROR_OUTCOME_ITEMS))


def _count_in_incident(
    model: type[models.Model], ids: set[int], incident_id: int
) -> int:
    if not ids:
        return 0
    if connection.vendor == "postgresql":
        # The ids go as one array literal (a list parameter would be an ARRAY[...]
        # of 100,000 constants to parse), each looked up by primary key: the
        # lateral subquery keeps the planner from hashing the incident's rows.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM unnest(%s::bigint[]) AS i(id) "  # noqa: S608
                "JOIN LATERAL (SELECT t.incident_id "
                f"FROM {model._meta.db_table} t WHERE t.id = i.id OFFSET 0) t "
                "ON true WHERE t.incident_id = %s",
                ["{" + ",".join(map(str, sorted(ids))) + "}", incident_id],
            )
            return int(cursor.fetchone()[0])
    pks = sorted(ids)
    return sum(
        model._default_manager.filter(
            incident_id=incident_id, pk__in=pks[start : start + 500]
        ).count()
        for start in range(0, len(pks), 500)
    )


def ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """Take ``count`` ids from the table's sequence (PostgreSQL) for rows to come."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        # The sequence's name first: inside nextval() it was looked up per row.
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
            [sequence, count],
        )
        return [row[0] for row in cursor.fetchall()]


class _CsvRows(io.TextIOBase):
    """Rows as CSV text, written as COPY reads them: PostgreSQL stores one chunk
    while Python writes the next (the two overlap on two cores)."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        self.rows = iter(rows)
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        self.writer.writerows(itertools.islice(self.rows, BULK))
        data = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return data


def copy_rows(
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    not_null: str = "",
) -> None:
    """COPY rows (CSV: None is NULL, except in the ``not_null`` columns) into a table."""
    options = f", FORCE_NOT_NULL ({not_null})" if not_null else ""
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv{options})",
            _CsvRows(rows),
            1 << 16,
        )


@functools.lru_cache(maxsize=1024)
def _reasons_json(reasons: tuple[tuple[str, str], ...]) -> str:
    """A match's reasons as JSON: a run repeats a few dozen of them (79 in the
    100,000-deposit bench), so each is encoded once."""
    return json.dumps(dict(reasons))


def _blank(value: object) -> object:
    return "" if value is None else value


def _store_postgres(
    run: ReconciliationRun,
    matches: Sequence[engine.MatchResult],
    discrepancies: Sequence[engine.DiscrepancyResult],
) -> tuple[list[int], list[int]]:
    match_ids = ids = ids_reserve(Match, len(matches))
    copy_rows(
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
                _reasons_json(tuple(m.reasons.items())),
                "proposed",
                m.manual_amount,
                m.system_amount,
                m.currency,
            )
            for pk, m in zip(ids, matches, strict=True)
        ),
    )
    pairs = list(zip(ids, matches, strict=True))
    copy_rows(
        MatchDeposit._meta.db_table,
        ["match_id", "deposit_id", "confirmed"],
        ((pk, i, "f") for pk, m in pairs for i in m.manual_ids),
    )
    copy_rows(
        MatchRecord._meta.db_table,
        ["match_id", "record_id", "confirmed"],
        ((pk, i, "f") for pk, m in pairs for i in m.system_ids),
    )
    ids = ids_reserve(Discrepancy, len(discrepancies))
    copy_rows(
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
    copy_rows(
        Discrepancy.deposits.through._meta.db_table,
        ["discrepancy_id", "deposit_id"],
        ((pk, i) for pk, d in found for i in d.manual_ids),
    )
    copy_rows(
        Discrepancy.records.through._meta.db_table,
        ["discrepancy_id", "systemrecord_id"],
        ((pk, i) for pk, d in found for i in d.system_ids),
    )
    return match_ids, ids


def _matches_store(
    run: ReconciliationRun, matches: Iterable[engine.MatchResult]
) -> list[int]:
    items = list(matches)
    stored: list[int] = []
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
        stored += [row.pk for row in rows]
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
    return stored


def _discrepancies_store(
    run: ReconciliationRun, items: Iterable[engine.DiscrepancyResult]
) -> list[int]:
    found = list(items)
    stored: list[int] = []
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
        stored += [row.pk for row in rows]
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
    return stored
