"""Opening finance's cases for a stored run: one per discrepancy, written in bulk.

A large run opens thousands of cases; they are computed from plain rows and, on
PostgreSQL, written by COPY with ids reserved up front (``storage``), so no ORM
object is made per case unless an integrator listens for ``discrepancy.opened``.
"""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from deposits.models import Deposit

from .events import discrepancies_opened_publish, discrepancies_opened_wanted
from .finance_models import Case
from .models import Discrepancy, ReconciliationRun, SystemRecord
from .storage import copy_rows, ids_reserve

# The columns a new case is written with, in this order.
_COLUMNS = (
    "discrepancy_id",
    "run_id",
    "incident_id",
    "kind",
    "signature",
    "branch_id",
    "channel",
    "amount",
    "currency",
    "state",
    "assignee_id",
    "opened_at",
    "due_at",
    "resolution",
    "reason_code",
    "resolved_by_id",
    "resolved_at",
    "version",
)
_TEXT = "kind, signature, channel, currency, state, resolution, reason_code"
# Discrepancy columns read for a case (and for its event).
_FIELDS = ("pk", "kind", "manual_amount", "system_amount", "difference", "currency")
_DECIDED = (
    "state",
    "assignee_id",
    "resolution",
    "reason_code",
    "resolved_by_id",
    "resolved_at",
)
_CARRIED = (
    Case.Resolution.NOT_DUPLICATE,
    Case.Resolution.WRITTEN_OFF,
    Case.Resolution.POSTED,
)


def sla_hours(amount: Decimal) -> int:
    """Bigger amounts are due sooner: (minimum amount, hours) tiers, biggest first."""
    finance = getattr(settings, "RECONCILIATION_FINANCE", {})
    tiers = finance.get("SLA_TIERS", [("100000", 24), ("10000", 48), ("0", 120)])
    for floor, hours in tiers:
        if abs(amount) >= Decimal(floor):
            return int(hours)
    return int(tiers[-1][1])


def case_signature(kind: str, deposit_ids: list[int], record_ids: list[int]) -> str:
    """What identifies a discrepancy across runs: its kind and its items."""
    d = ",".join(map(str, sorted(deposit_ids)))
    r = ",".join(map(str, sorted(record_ids)))
    return f"{kind}:{d}:{r}"[:200]


def _links(run: ReconciliationRun) -> tuple[QuerySet[Any], QuerySet[Any]]:
    """The deposit and record links of the run's discrepancies that have no case.

    Selected by a join on the run, not by a list of ids: thousands of ids as
    query parameters cost more to send and plan than the join costs to run.
    """
    mine = {"discrepancy__run": run, "discrepancy__case__isnull": True}
    return (
        Discrepancy.deposits.through.objects.filter(**mine),
        Discrepancy.records.through.objects.filter(**mine),
    )


def _grouped(pairs: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    """Each discrepancy's item ids, in id order."""
    grouped: dict[int, list[int]] = {}
    for owner, item in pairs:
        grouped.setdefault(owner, []).append(item)
    return {owner: sorted(items) for owner, items in grouped.items()}


def _amount(kind: str, manual: Any, system: Any, difference: Any) -> Decimal:
    if kind in (Discrepancy.Kind.MISSING_MANUAL, Discrepancy.Kind.MISSING_IN_SYSTEM):
        return abs(manual or system or Decimal(0))
    return abs(
        difference
        if difference is not None
        else (manual if manual is not None else system) or Decimal(0)
    )


@transaction.atomic
def cases_open(*, run: ReconciliationRun) -> int:
    """A case per discrepancy of a stored run; decisions on the same items carry over."""
    found = list(
        Discrepancy.objects.filter(run=run, case__isnull=True)
        .order_by("pk")
        .values_list(*_FIELDS)
    )
    if not found:
        return 0
    dep_links, rec_links = _links(run)
    dep = _grouped(dep_links.values_list("discrepancy_id", "deposit_id"))
    rec = _grouped(rec_links.values_list("discrepancy_id", "systemrecord_id"))
    deposit_rows = {
        pk: (branch, channel, received)
        for pk, branch, channel, received in Deposit.objects.filter(
            pk__in=dep_links.values("deposit_id")
        )
        .order_by()
        .values_list("pk", "branch_id", "channel", "received_at")
    }
    record_days = dict(
        SystemRecord.objects.filter(pk__in=rec_links.values("systemrecord_id"))
        .order_by()
        .values_list("pk", "value_date")
    )
    signatures = {
        pk: case_signature(kind, dep.get(pk, []), rec.get(pk, []))
        for pk, kind, *_rest in found
    }
    # Earlier runs' cases for the same items: decisions and assignees carry over.
    decided: dict[str, dict[str, Any]] = {}
    for earlier in (
        Case.objects.filter(
            incident=run.incident, signature__in=set(signatures.values())
        )
        .order_by("pk")
        .values("signature", *_DECIDED)
    ):
        decided[earlier["signature"]] = earlier
    now = timezone.now()
    rows = []
    for pk, kind, manual, system, difference, currency in found:
        deps = [deposit_rows[x] for x in sorted(dep.get(pk, [])) if x in deposit_rows]
        days = [record_days[x] for x in rec.get(pk, []) if x in record_days]
        starts = [r for _b, _c, r in deps] + [
            dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) for day in days
        ]
        opened = min(starts) if starts else now
        amount = _amount(kind, manual, system, difference)
        rows.append(
            {
                "discrepancy_id": pk,
                "run_id": run.pk,
                "incident_id": run.incident_id,
                "kind": kind,
                "signature": signatures[pk],
                "branch_id": deps[0][0] if deps else None,
                "channel": deps[0][1] if deps else "",
                "amount": amount,
                "currency": currency,
                "opened_at": opened,
                "due_at": opened + dt.timedelta(hours=sla_hours(amount)),
                "version": 1,
                **_carried_over(decided.get(signatures[pk])),
            }
        )
    return _cases_write(run, rows, found, decided, dep, rec)


def _carried_over(earlier: dict[str, Any] | None) -> dict[str, Any]:
    """A new case's state: fresh, or what finance decided on the same items."""
    fresh: dict[str, Any] = {
        "state": Case.State.OPEN,
        "assignee_id": None,
        "resolution": "",
        "reason_code": "",
        "resolved_by_id": None,
        "resolved_at": None,
    }
    if earlier is not None and earlier["state"] != Case.State.RESOLVED:
        fresh["assignee_id"] = earlier["assignee_id"]
        if earlier["assignee_id"]:
            fresh["state"] = Case.State.ASSIGNED
    elif earlier is not None and earlier["resolution"] in _CARRIED:
        fresh.update(
            state=Case.State.RESOLVED,
            resolution=earlier["resolution"],
            reason_code=earlier["reason_code"],
            resolved_by_id=earlier["resolved_by_id"],
            resolved_at=earlier["resolved_at"],
        )
    return fresh


def _cases_write(
    run: ReconciliationRun,
    rows: list[dict[str, Any]],
    found: list[tuple[Any, ...]],
    decided: dict[str, dict[str, Any]],
    dep: dict[int, list[int]],
    rec: dict[int, list[int]],
) -> int:
    if connection.vendor == "postgresql":
        ids = ids_reserve(Case, len(rows))
        copy_rows(
            Case._meta.db_table,
            ["id", *_COLUMNS],
            ((pk, *(r[c] for c in _COLUMNS)) for pk, r in zip(ids, rows, strict=True)),
            not_null=_TEXT,
        )
    else:
        made = Case.objects.bulk_create([Case(**r) for r in rows], batch_size=2000)
        ids = [c.pk for c in made]
    first_seen = [
        (pk, r)
        for pk, r in zip(ids, rows, strict=True)
        if r["signature"] not in decided
    ]
    if first_seen and discrepancies_opened_wanted():
        cases = _cases_built(run, first_seen, found)
        discrepancies_opened_publish(run=run, cases=cases, deposits=dep, records=rec)
    carried = [r["discrepancy_id"] for r in rows if r["state"] == Case.State.RESOLVED]
    Discrepancy.objects.filter(pk__in=carried).update(
        status=Discrepancy.Status.RESOLVED
    )
    return len(rows)


def _cases_built(
    run: ReconciliationRun,
    written: list[tuple[int, dict[str, Any]]],
    found: list[tuple[Any, ...]],
) -> list[Case]:
    """The written cases as objects, their discrepancies attached (for the events)."""
    by_pk = {row[0]: row for row in found}
    cases = []
    for pk, row in written:
        d_pk, kind, manual, system, difference, currency = by_pk[row["discrepancy_id"]]
        discrepancy = Discrepancy(
            pk=d_pk,
            run=run,
            kind=kind,
            manual_amount=manual,
            system_amount=system,
            difference=difference,
            currency=currency,
        )
        fields = {k: v for k, v in row.items() if k != "discrepancy_id"}
        cases.append(Case(pk=pk, discrepancy=discrepancy, **fields))
    return cases
