"""Writes for reconciliation: runs, and finance's decisions on matches."""

import codecs
import datetime as dt
import time
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import DecimalField, F, Func, IntegerField, TextField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from deposits.models import Deposit
from deposits.services.capture import (
    deposit_event_publish,
    deposit_notice_context,
    deposit_notice_recipients,
    notice_time,
)
from incidents.models import Incident
from notifications.services import notify
from outage_desk.audit import audit_record
from outage_desk.models import User

from . import engine
from .export import StoredOutcome
from .models import (
    Discrepancy,
    ImportProfile,
    Match,
    MatchDeposit,
    MatchRecord,
    MatchSettings,
    ReconciliationRun,
    RecordFormat,
    RejectedPair,
    SystemRecord,
)
from .storage import outcome_store

ERROR_NOT_PROPOSED = _("Only a proposed match can be confirmed or rejected.")
ERROR_ALREADY_CONFIRMED = _(
    "A deposit or record of this match is already in a confirmed match."
)
ERROR_RUN_NOT_QUEUED = _("This run has already started.")

# Deposits that are not (or no longer) money received: never matched.
_EXCLUDED_STATUSES = [Deposit.Status.REVERSED, Deposit.Status.PENDING_APPROVAL]
_CONFIRMABLE = [
    Deposit.Status.PROVISIONAL,
    Deposit.Status.AWAITING_CONFIRMATION,
]
BULK = 2000


@dataclass(frozen=True)
class RunPlan:
    """The engine's inputs for one incident, read without one ORM object per row."""

    manual: list[engine.ManualItem]
    system: list[engine.SystemItem]
    rejected: frozenset[tuple[int, int]]
    config: engine.MatchConfig
    window: tuple[dt.date, dt.date]
    # (deposits, records) in scope, when the items themselves are elsewhere (a
    # partitioned run's merge step holds only the partitions' leftovers).
    sizes: tuple[int, int] | None = None


def match_config_for(incident: Incident) -> tuple[engine.MatchConfig, int]:
    """The incident's matcher settings (or the defaults) and its settlement grace."""
    defaults: dict[str, Any] = getattr(settings, "RECONCILIATION", {})
    row = MatchSettings.objects.filter(incident=incident).first()
    config = engine.MatchConfig(
        passes=tuple(row.passes) if row and row.passes else engine.PASSES,
        date_window=row.date_window if row else defaults.get("DATE_WINDOW", 2),
        amount_tolerance=row.amount_tolerance if row else Decimal(0),
        fuzzy_threshold=row.fuzzy_threshold if row else defaults.get("FUZZY", 85),
    )
    grace = row.settlement_grace if row else defaults.get("SETTLEMENT_GRACE", 3)
    return config, grace


def _window(incident: Incident, grace: int) -> tuple[dt.date, dt.date]:
    end = incident.capture_ends_at or incident.restored_at or timezone.now()
    first_day = incident.impact_started_at.astimezone(dt.UTC).date()
    return first_day, engine.business_days_add(end.astimezone(dt.UTC).date(), grace)


class _PartitionOf(Func):
    """``engine.partition_of(key, count)`` computed by PostgreSQL."""

    template = (
        "mod(('x' || substr(md5(%(expressions)s), 1, 8))::bit(32)::bigint, %(count)d)"
    )
    output_field = IntegerField()


def _partition_of(config: engine.MatchConfig, count: int) -> _PartitionOf:
    """``engine.partition_key`` of a row (deposit or record) in SQL."""
    if config.amount_tolerance:
        return _PartitionOf(F("currency"), count=int(count))
    amount = Cast(
        Func(F("amount"), function="trim_scale", output_field=DecimalField()),
        TextField(),
    )
    return _PartitionOf(
        Concat(F("currency"), Value(":"), amount, output_field=TextField()),
        count=int(count),
    )


def run_plan(*, incident: Incident, part: tuple[int, int] | None = None) -> RunPlan:
    """Gather the in-scope deposits and credits, minus what finance already decided.

    With ``part`` = (index, count), only the rows of that partition (see
    ``engine.partition``): PostgreSQL selects them by the same hash in SQL.
    """
    config, grace = match_config_for(incident)
    first_day, last_day = _window(incident, grace)
    confirmed_d = MatchDeposit.objects.filter(confirmed=True).values("deposit_id")
    confirmed_r = MatchRecord.objects.filter(confirmed=True).values("record_id")
    zones: dict[str, zoneinfo.ZoneInfo] = {}
    manual = []
    rows = (
        Deposit.objects.filter(incident=incident, reverses__isnull=True)
        .exclude(status__in=_EXCLUDED_STATUSES)
        .exclude(pk__in=confirmed_d)
        .values_list(
            "pk",
            "receipt_number",
            "account",
            "payer_name",
            "amount",
            "currency",
            "received_at",
            "reference",
            "branch__timezone",
        )
        # The engine orders by id itself; the models' default orderings would
        # make PostgreSQL sort the rows first (on disk, for 100,000 of them).
        .order_by()
    )
    if part is not None and connection.vendor == "postgresql":
        rows = rows.alias(part=_partition_of(config, part[1])).filter(part=part[0])
    for (
        pk,
        receipt,
        account,
        payer,
        amount,
        currency,
        received,
        ref,
        tz,
    ) in rows.iterator(chunk_size=BULK):
        zone = zones.setdefault(tz, zoneinfo.ZoneInfo(tz))
        day = received.astimezone(zone).date()
        manual.append(
            engine.ManualItem(pk, receipt, account, payer, amount, currency, day, ref)
        )
    records = (
        SystemRecord.objects.filter(
            incident=incident, amount__gt=0, value_date__range=(first_day, last_day)
        )
        .exclude(pk__in=confirmed_r)
        .values_list(
            "pk",
            "external_id",
            "account",
            "amount",
            "currency",
            "value_date",
            "counterparty",
            "reference",
        )
        .order_by()
    )
    if part is not None and connection.vendor == "postgresql":
        records = records.alias(part=_partition_of(config, part[1])).filter(
            part=part[0]
        )
    system = [engine.SystemItem(*row) for row in records.iterator(chunk_size=BULK)]
    if part is not None and connection.vendor != "postgresql":
        index, count = part
        manual = [
            m
            for m in manual
            if engine.partition_of(engine.partition_key(m, config), count) == index
        ]
        system = [
            s
            for s in system
            if engine.partition_of(engine.partition_key(s, config), count) == index
        ]
    rejected = frozenset(
        RejectedPair.objects.filter(incident=incident).values_list(
            "deposit_id", "record_id"
        )
    )
    return RunPlan(manual, system, rejected, config, (first_day, last_day))


def _counts(plan: RunPlan, result: engine.Result) -> dict[str, int]:
    counts = {f"matched_{kind}": 0 for kind in (*engine.PASSES,)}
    counts.update({kind: 0 for kind in Discrepancy.Kind.values})
    counts.update(result.counts())
    counts["deposits"], counts["records"] = plan.sizes or (
        len(plan.manual),
        len(plan.system),
    )
    return dict(sorted(counts.items()))


@transaction.atomic
def run_create(
    *, incident: Incident, actor: User | None = None, dry_run: bool = False
) -> ReconciliationRun:
    """A queued run; ``run_execute`` does the work (here or in a worker)."""
    run = ReconciliationRun.objects.create(
        incident=incident, started_by=actor, dry_run=dry_run
    )
    audit_record(
        action="reconciliation.queued",
        obj=run,
        actor=actor,
        data={"incident": incident.reference, "dry_run": dry_run},
    )
    return run


@transaction.atomic
def run_start(
    *,
    incident: Incident,
    actor: User | None = None,
    dry_run: bool = False,
    partitions: int | None = None,
) -> ReconciliationRun:
    """Queue a run for a worker; the task is sent only after commit.

    With more than one partition (default: the ``PARTITIONS`` setting) the worker
    fans the run out, one task per partition, and a final task merges them.
    """
    from .tasks import reconciliation_run_task

    if partitions is None:
        partitions = getattr(settings, "RECONCILIATION", {}).get("PARTITIONS", 1)
    run = run_create(incident=incident, actor=actor, dry_run=dry_run)
    args = (run.pk,) if partitions <= 1 else (run.pk, partitions)
    transaction.on_commit(partial(reconciliation_run_task.delay, *args))
    return run


def _run_claim(run: ReconciliationRun) -> None:
    claimed = ReconciliationRun.objects.filter(
        pk=run.pk, status=ReconciliationRun.Status.QUEUED
    ).update(status=ReconciliationRun.Status.RUNNING)
    if claimed != 1:
        raise ValidationError(ERROR_RUN_NOT_QUEUED)


def run_execute(*, run: ReconciliationRun, partitions: int = 1) -> ReconciliationRun:
    """Match (outside any transaction), then store the outcome in one transaction."""
    _run_claim(run)
    seconds: dict[str, float] = {}
    try:
        with engine.gc_paused():
            began = time.perf_counter()
            plan = run_plan(incident=run.incident)
            seconds["plan"] = time.perf_counter() - began
            result = engine.reconcile(
                plan.manual,
                plan.system,
                plan.config,
                plan.rejected,
                partitions=partitions,
            )
            seconds["match"] = time.perf_counter() - began - seconds["plan"]
            run = _run_store(run=run, plan=plan, result=result, seconds=seconds)
    except Exception:
        run_failed(run_id=run.pk)
        raise
    return _run_auto_confirm(run)


def run_dispatch(*, run: ReconciliationRun, partitions: int) -> None:
    """Fan a queued run out: one Celery task per partition, then one merge task.

    The partition tasks select their own rows (``run_plan(part=...)``) and return
    their ``Partial`` as JSON through the result backend; the chord's body
    (``run_merge``) settles the leftovers and stores the outcome. Any worker on
    any machine sharing the database and the broker can take any of them.
    """
    from celery import chord

    from .tasks import (
        reconciliation_failed_task,
        reconciliation_merge_task,
        reconciliation_partition_task,
    )

    _run_claim(run)
    queue = settings.RECONCILIATION_TASK_QUEUE
    header = [
        reconciliation_partition_task.si(run.pk, index, partitions).set(queue=queue)
        for index in range(partitions)
    ]
    body = reconciliation_merge_task.s(run.pk).set(queue=queue)
    body.on_error(reconciliation_failed_task.si(run.pk).set(queue=queue))
    try:
        chord(header)(body)
    except Exception:
        run_failed(run_id=run.pk)
        raise


def run_partition(*, run: ReconciliationRun, index: int, count: int) -> dict[str, Any]:
    """Match one partition of a running run; what it returns goes to ``run_merge``."""
    began = time.perf_counter()
    with engine.gc_paused():
        plan = run_plan(incident=run.incident, part=(index, count))
        loaded = time.perf_counter()
        found = engine.match_partition(
            plan.manual, plan.system, plan.config, plan.rejected
        )
    return {
        "index": index,
        "deposits": len(plan.manual),
        "records": len(plan.system),
        "seconds": {
            "plan": loaded - began,
            "match": time.perf_counter() - loaded,
        },
        "partial": engine.partial_dump(found),
    }


def run_merge(
    *, run: ReconciliationRun, partitions: list[dict[str, Any]]
) -> ReconciliationRun:
    """Merge the partitions' results, settle the leftovers, store like a single run."""
    if run.status != ReconciliationRun.Status.RUNNING:
        return run  # stored already (a redelivered merge) or failed
    try:
        began = time.perf_counter()
        config, grace = match_config_for(run.incident)
        rejected = frozenset(
            RejectedPair.objects.filter(incident=run.incident).values_list(
                "deposit_id", "record_id"
            )
        )
        parts = sorted(partitions, key=lambda p: p["index"])
        plan = RunPlan(
            [],
            [],
            rejected,
            config,
            _window(run.incident, grace),
            sizes=(
                sum(p["deposits"] for p in parts),
                sum(p["records"] for p in parts),
            ),
        )
        with engine.gc_paused():
            result = engine.match_residual(
                [engine.partial_load(p["partial"]) for p in parts], config, rejected
            )
        seconds = {
            "plan": max(p["seconds"]["plan"] for p in parts),
            "match": max(p["seconds"]["match"] for p in parts),
            "merge": time.perf_counter() - began,
        }
        with transaction.atomic():
            # Two deliveries of the merge store once: the second waits, then sees
            # the run finished.
            locked = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
            if locked.status != ReconciliationRun.Status.RUNNING:
                return locked
            run = _run_store(run=run, plan=plan, result=result, seconds=seconds)
    except Exception:
        run_failed(run_id=run.pk)
        raise
    return _run_auto_confirm(run)


def _run_auto_confirm(run: ReconciliationRun) -> ReconciliationRun:
    threshold = (
        MatchSettings.objects.filter(incident=run.incident)
        .values_list("auto_confirm_score", flat=True)
        .first()
    )
    if threshold is not None and not run.dry_run:
        matches_auto_confirm(run=run, min_score=threshold)
    return run


@transaction.atomic
def _run_store(
    *,
    run: ReconciliationRun,
    plan: RunPlan,
    result: engine.Result,
    seconds: dict[str, float],
) -> ReconciliationRun:
    began = time.perf_counter()
    counts = _counts(plan, result)
    if run.dry_run:
        counts.update(_changes(run, result))
    else:
        match_ids, discrepancy_ids = outcome_store(
            run=run,
            matches=result.matches,
            discrepancies=result.discrepancies,
            read=(
                frozenset(m.id for m in plan.manual),
                frozenset(s.id for s in plan.system),
            ),
        )
        run.stored_outcome = StoredOutcome(
            match_ids,
            result.matches,
            discrepancy_ids,
            result.discrepancies,
            plan.manual,
            plan.system,
        )
        from .resolutions import cases_open  # finance's work items

        cases_open(run=run)
    seconds["store"] = time.perf_counter() - began
    run.params = {
        **plan.config.as_dict(),
        "first_day": plan.window[0].isoformat(),
        "last_day": plan.window[1].isoformat(),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }
    run.counts = counts
    run.status = ReconciliationRun.Status.FINISHED
    run.finished_at = timezone.now()
    run.save(update_fields=["params", "counts", "status", "finished_at"])
    audit_record(
        action="reconciliation.finished",
        obj=run,
        actor=run.started_by,
        data={
            "incident": run.incident.reference,
            "dry_run": run.dry_run,
            "counts": counts,
        },
    )
    return run


def run_latest(*, incident: Incident) -> ReconciliationRun | None:
    return (
        ReconciliationRun.objects.stored()
        .filter(incident=incident)
        .order_by("-pk")
        .first()
    )


def _changes(run: ReconciliationRun, result: engine.Result) -> dict[str, int]:
    """What a real run would change against the last stored one."""
    previous = run_latest(incident=run.incident)
    before: set[tuple[str, tuple[int, ...], tuple[int, ...]]] = set()
    if previous is not None:
        d_rows = MatchDeposit.objects.filter(match__run=previous).values_list(
            "match_id", "deposit_id"
        )
        r_rows = MatchRecord.objects.filter(match__run=previous).values_list(
            "match_id", "record_id"
        )
        ds: dict[int, list[int]] = {}
        rs: dict[int, list[int]] = {}
        for mid, did in d_rows:
            ds.setdefault(mid, []).append(did)
        for mid, rid in r_rows:
            rs.setdefault(mid, []).append(rid)
        for mid, kind in previous.matches.filter(
            status=Match.Status.PROPOSED
        ).values_list("pk", "kind"):
            before.add(
                (kind, tuple(sorted(ds.get(mid, []))), tuple(sorted(rs.get(mid, []))))
            )
    after = {(m.kind, m.manual_ids, m.system_ids) for m in result.matches}
    return {"new_matches": len(after - before), "dropped_matches": len(before - after)}


def _locked_match(match: Match) -> Match:
    return (
        Match.objects.select_for_update()
        .select_related("run__incident")
        .get(pk=match.pk)
    )


@transaction.atomic
def match_confirm(*, match: Match, actor: User | None) -> Match:
    """Finance confirms a proposed match: its deposits become confirmed, customers told."""
    match = _locked_match(match)
    if match.status != Match.Status.PROPOSED:
        raise ValidationError(ERROR_NOT_PROPOSED)
    try:
        with transaction.atomic():
            MatchDeposit.objects.filter(match=match).update(confirmed=True)
            MatchRecord.objects.filter(match=match).update(confirmed=True)
    except IntegrityError:
        raise ValidationError(ERROR_ALREADY_CONFIRMED) from None
    match.status = Match.Status.CONFIRMED
    match.decided_by = actor
    match.decided_at = timezone.now()
    match.save(update_fields=["status", "decided_by", "decided_at"])
    deposits = list(
        Deposit.objects.filter(
            pk__in=MatchDeposit.objects.filter(match=match).values("deposit_id")
        )
        .select_related("customer", "branch", "incident")
        .order_by("pk")
    )
    confirmable = set(
        Deposit.objects.filter(
            pk__in=[d.pk for d in deposits], status__in=_CONFIRMABLE
        ).values_list("pk", flat=True)
    )
    Deposit.objects.filter(pk__in=confirmable).update(status=Deposit.Status.CONFIRMED)
    for deposit in deposits:
        if deposit.pk not in confirmable:
            continue
        deposit.status = Deposit.Status.CONFIRMED
        _notify_confirmed(deposit)
        deposit_event_publish(deposit=deposit, event="deposit.confirmed")
        # Each deposit's own state change, for its history and the impact figures.
        audit_record(
            action="deposit.confirmed",
            obj=deposit,
            actor=actor,
            data={"status": "confirmed", "match": match.pk},
        )
    audit_record(
        action="reconciliation.match_confirmed",
        obj=match,
        actor=actor,
        data={
            "deposits": [d.receipt_number for d in deposits],
            "kind": match.kind,
            "score": match.score,
        },
    )
    return match


@transaction.atomic
def matches_auto_confirm(*, run: ReconciliationRun, min_score: int) -> int:
    """Confirm a run's proposed matches scoring at least ``min_score``, set-wise."""
    chosen = Match.objects.filter(
        run=run, status=Match.Status.PROPOSED, score__gte=min_score
    )
    count = chosen.count()
    if not count:
        return 0
    try:
        with transaction.atomic():
            MatchDeposit.objects.filter(match__in=chosen).update(confirmed=True)
            MatchRecord.objects.filter(match__in=chosen).update(confirmed=True)
    except IntegrityError:
        raise ValidationError(ERROR_ALREADY_CONFIRMED) from None
    deposit_ids = MatchDeposit.objects.filter(match__in=chosen).values("deposit_id")
    deposits = Deposit.objects.filter(pk__in=deposit_ids, status__in=_CONFIRMABLE)
    to_notify = list(
        deposits.select_related("customer", "branch", "incident").order_by("pk")
    )
    deposits.update(status=Deposit.Status.CONFIRMED)
    chosen.update(status=Match.Status.CONFIRMED, decided_at=timezone.now())
    for deposit in to_notify:
        _notify_confirmed(deposit)
    audit_record(
        action="reconciliation.auto_confirmed",
        obj=run,
        data={"matches": count, "min_score": min_score, "deposits": len(to_notify)},
    )
    return count


def _notify_confirmed(deposit: Deposit) -> None:
    """The customer's "deposit confirmed" notice; unusable addresses are skipped.

    Confirmed now: the notice says when in the branch's time zone.
    """
    recipients = deposit_notice_recipients(deposit.customer)
    if not recipients:
        return
    confirmed_at = timezone.now()
    notify(
        kind="deposit_confirmed",
        recipients=recipients,
        context={
            **deposit_notice_context(deposit),
            # Some callers update the rows, not the instance they hold.
            "status": Deposit.Status.CONFIRMED,
            "confirmed_at": notice_time(confirmed_at, deposit.branch.zone),
            "confirmed_at_iso": confirmed_at.isoformat(),
        },
        dedupe_key=f"deposit:{deposit.pk}:confirmed",
        subject_refs=[
            f"deposit:{deposit.pk}",
            f"incident:{deposit.incident_id}",
            f"customer:{deposit.customer_id}",
        ],
    )


@transaction.atomic
def match_reject(*, match: Match, actor: User | None) -> Match:
    """Finance says these do not belong together; the pairs are never proposed again."""
    match = _locked_match(match)
    if match.status != Match.Status.PROPOSED:
        raise ValidationError(ERROR_NOT_PROPOSED)
    deposit_ids = list(
        MatchDeposit.objects.filter(match=match).values_list("deposit_id", flat=True)
    )
    record_ids = list(
        MatchRecord.objects.filter(match=match).values_list("record_id", flat=True)
    )
    RejectedPair.objects.bulk_create(
        [
            RejectedPair(
                incident=match.run.incident,
                deposit_id=d,
                record_id=r,
                rejected_by=actor,
            )
            for d in deposit_ids
            for r in record_ids
        ],
        ignore_conflicts=True,
    )
    match.status = Match.Status.REJECTED
    match.decided_by = actor
    match.decided_at = timezone.now()
    match.save(update_fields=["status", "decided_by", "decided_at"])
    audit_record(
        action="reconciliation.match_rejected",
        obj=match,
        actor=actor,
        data={"deposits": deposit_ids, "records": record_ids},
    )
    return match


ERROR_PROFILE_NAME_TAKEN = _("A profile named “%(name)s” already exists.")
ERROR_PROFILE_ENCODING = _("Unknown encoding “%(value)s”.")
ERROR_PROFILE_COLUMN = _("Choose the column that holds “%(field)s”.")


@transaction.atomic
def profile_create(
    *,
    name: str,
    columns: dict[str, str],
    encoding: str,
    delimiter: str,
    header_row: int,
    decimal_separator: str,
    thousands_separator: str,
    date_format: str,
    sign: str,
    default_currency: str = "",
    default_account: str = "",
    actor: User | None = None,
) -> ImportProfile:
    """Save an import profile after checking that it can read a file at all."""
    errors: dict[str, list[ValidationError]] = {}
    if ImportProfile.objects.filter(name=name).exists():
        errors["name"] = [ValidationError(ERROR_PROFILE_NAME_TAKEN % {"name": name})]
    try:
        codecs.lookup(encoding)
    except LookupError:
        errors["encoding"] = [
            ValidationError(ERROR_PROFILE_ENCODING % {"value": encoding})
        ]
    needed = ["external_id", "value_date"]
    needed += (
        ["debit", "credit"]
        if sign == ImportProfile.Sign.DEBIT_CREDIT_COLUMNS
        else ["amount"]
    )
    if not default_currency:
        needed.append("currency")
    for field_name in needed:
        if not columns.get(field_name):
            errors[f"col_{field_name}"] = [
                ValidationError(ERROR_PROFILE_COLUMN % {"field": field_name})
            ]
    if errors:
        raise ValidationError(errors)
    profile = ImportProfile.objects.create(
        name=name,
        format=RecordFormat.CSV,
        columns={k: v for k, v in columns.items() if v},
        encoding=encoding,
        delimiter=delimiter,
        header_row=header_row,
        decimal_separator=decimal_separator,
        thousands_separator=thousands_separator,
        date_format=date_format,
        sign=sign,
        default_currency=default_currency.upper(),
        default_account=default_account,
    )
    audit_record(
        action="reconciliation.profile_created",
        obj=profile,
        actor=actor,
        data={"name": name, "columns": profile.columns},
    )
    return profile


@transaction.atomic
def run_failed(*, run_id: int) -> bool:
    """Fail a queued or running run: its matching or storing raised, or its task
    failed for good. Audited; False if the run had ended already."""
    run = (
        ReconciliationRun.objects.select_for_update()
        .filter(
            pk=run_id,
            status__in=[
                ReconciliationRun.Status.QUEUED,
                ReconciliationRun.Status.RUNNING,
            ],
        )
        .first()
    )
    if run is None:
        return False
    run.status = ReconciliationRun.Status.FAILED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    audit_record(
        action="reconciliation.failed",
        obj=run,
        actor=None,
        # the incident's id, not its reference: reading the incident could wait on
        # whatever held the task up
        data={"incident_id": run.incident_id},
    )
    return True
