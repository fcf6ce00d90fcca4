"""The reconciliation export, exactly as DESIGN gives it, one row per outcome."""

import csv
import functools
import io
from collections import defaultdict
from decimal import Decimal
from typing import TextIO

from django.db import connection
from django.db.models import Q

from deposits.models import Deposit
from outage_desk.exports import cell_safe
from outage_desk.money import _CURRENCIES, currency_is_known, currency_places

from .models import (
    Discrepancy,
    Match,
    MatchDeposit,
    MatchRecord,
    ReconciliationRun,
    SystemRecord,
)

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
    if amount is None:
        return ""
    return f"{amount:.{_places(currency)}f}"


def _ids(pairs: object) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = defaultdict(list)
    for owner, value in pairs:  # type: ignore[attr-defined]
        grouped[owner].append(value)
    return {k: sorted(v) for k, v in grouped.items()}


def run_export(*, run: ReconciliationRun, out: TextIO) -> int:
    """Write the run's proposed matches, every confirmed match and the discrepancies.

    On PostgreSQL the database writes the file (COPY ... TO STDOUT), byte for byte
    what the Python writer below gives (``test_export``) and no Python object per row.
    """
    if connection.vendor == "postgresql" and not _has_carriage_return(run):
        return _export_postgres(run, out)
    return _export_python(run, out)


def _export_python(run: ReconciliationRun, out: TextIO) -> int:
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
            [
                cell_safe(v)
                for v in (
                    "matched",
                    kind,
                    " ".join(receipts.get(pk, [])),
                    " ".join(externals.get(pk, [])),
                    _money(manual, currency),
                    _money(system, currency),
                    _money(system - manual, currency),
                    str(score),
                    status,
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
            [
                cell_safe(v)
                for v in (
                    "discrepancy",
                    kind,
                    " ".join(d_receipts.get(pk, [])),
                    " ".join(d_externals.get(pk, [])),
                    _money(m_amount, currency),
                    _money(s_amount, currency),
                    _money(difference, currency),
                    "",
                    status,
                )
            ]
        )
        rows += 1
    return rows


# ---- PostgreSQL: the same file written by COPY ... TO STDOUT ----------------------

_EXPORT_SQL_COLUMNS = (
    "outcome",
    "kind",
    "receipt_numbers",
    "external_ids",
    "manual_amount",
    "system_amount",
    "difference",
    "score",
    "status",
)


def _safe(column: str) -> str:
    """``cell_safe`` in SQL (an empty cell is NULL, which COPY writes unquoted)."""
    return (
        f"NULLIF(CASE WHEN {column} ~ '^[-=+@\\t\\r]' "
        f"AND {column} !~ '^[+-]?[0-9]+(\\.[0-9]+)?$' "
        f"THEN chr(39) || {column} ELSE {column} END, '')"
    )


def _tables() -> dict[str, str]:
    return {
        "match": Match._meta.db_table,
        "run": ReconciliationRun._meta.db_table,
        "md": MatchDeposit._meta.db_table,
        "mr": MatchRecord._meta.db_table,
        "dep": Deposit._meta.db_table,
        "rec": SystemRecord._meta.db_table,
        "disc": Discrepancy._meta.db_table,
        "dd": Discrepancy.deposits.through._meta.db_table,
        "dr": Discrepancy.records.through._meta.db_table,
    }


def _has_carriage_return(run: ReconciliationRun) -> bool:
    """Python's csv module leaves a lone CR unquoted where COPY quotes it: such a
    (rare) export is written by Python so the file is the same either way."""
    t = _tables()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {t['mr']} x JOIN {t['match']} m "  # noqa: S608
            f"ON m.id = x.match_id JOIN {t['rec']} r ON r.id = x.record_id "
            f"JOIN {t['run']} u ON u.id = m.run_id WHERE u.incident_id = %s "
            "AND strpos(r.external_id, chr(13)) > 0) "
            f"OR EXISTS (SELECT 1 FROM {t['dr']} x JOIN {t['disc']} d "
            f"ON d.id = x.discrepancy_id JOIN {t['rec']} r "
            "ON r.id = x.systemrecord_id WHERE d.run_id = %s "
            "AND strpos(r.external_id, chr(13)) > 0)",
            [run.incident_id, run.pk],
        )
        row = cursor.fetchone()
        return bool(row and row[0])


class _Writer(io.TextIOBase):
    """COPY's output handed on to any writable (a file, an HTTP response)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:  # type: ignore[override]
        self.out.write(text)
        return len(text)


def _ids_sql(link: str, owner: str, table: str, key: str, value: str) -> str:
    """Space-separated ids in code-point order, as Python's sorted() gives them."""
    return (
        f"(SELECT string_agg(v.{value}, ' ' ORDER BY v.{value} COLLATE \"C\") "  # noqa: S608
        f"FROM {link} x JOIN {table} v ON v.id = x.{key} WHERE x.{owner} = o.id)"
    )


def _money_sql(column: str) -> str:
    return f"round({column}, coalesce(p.places, 2))::text"


def _export_postgres(run: ReconciliationRun, out: TextIO) -> int:
    t = _tables()
    codes = sorted(_CURRENCIES)
    places = [currency_places(c) for c in codes]
    outer = ", ".join(f"{_safe(c)} AS {c}" for c in _EXPORT_SQL_COLUMNS)
    query = (
        f"SELECT {outer} FROM ("  # noqa: S608
        "SELECT 0 AS part, o.id, 'matched' AS outcome, o.kind, "
        + _ids_sql(t["md"], "match_id", t["dep"], "deposit_id", "receipt_number")
        + " AS receipt_numbers, "
        + _ids_sql(t["mr"], "match_id", t["rec"], "record_id", "external_id")
        + " AS external_ids, "  # noqa: S608
        f"{_money_sql('o.manual_amount')} AS manual_amount, "
        f"{_money_sql('o.system_amount')} AS system_amount, "
        f"{_money_sql('o.system_amount - o.manual_amount')} AS difference, "
        "o.score::text AS score, o.status "
        f"FROM {t['match']} o LEFT JOIN unnest(%s::text[], %s::int[]) "
        "AS p(code, places) ON p.code = o.currency "
        "WHERE o.run_id = %s OR (o.status = 'confirmed' AND o.run_id IN "
        f"(SELECT id FROM {t['run']} WHERE incident_id = %s)) "
        "UNION ALL "
        "SELECT 1, o.id, 'discrepancy', o.kind, "
        + _ids_sql(t["dd"], "discrepancy_id", t["dep"], "deposit_id", "receipt_number")
        + ", "
        + _ids_sql(
            t["dr"], "discrepancy_id", t["rec"], "systemrecord_id", "external_id"
        )
        + ", "
        f"{_money_sql('o.manual_amount')}, {_money_sql('o.system_amount')}, "
        f"{_money_sql('o.difference')}, NULL, o.status "
        f"FROM {t['disc']} o LEFT JOIN unnest(%s::text[], %s::int[]) "
        "AS p(code, places) ON p.code = o.currency WHERE o.run_id = %s"
        ") AS rows ORDER BY part, id"
    )
    params = [codes, places, run.pk, run.incident_id, codes, places, run.pk]
    with connection.cursor() as cursor:
        sql = cursor.mogrify(query, params).decode()
        cursor.copy_expert(
            f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)", _Writer(out)
        )
        return int(cursor.rowcount)
