"""Finance's actions on discrepancies and matches, with four eyes where money moves.

Every action locks its row (``select_for_update``) and, when the caller passes the
``version`` it saw, refuses a stale one: of two finance users acting on the same item
at once one wins and the other is told. Every action writes an audit event last.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from deposits.models import Deposit
from outage_desk.audit import audit_record
from outage_desk.models import User

from .cases import cases_open, sla_hours  # noqa: F401  (callers import them here)
from .finance_models import ApprovalRequest, Case, CaseNote, PostingBatch
from .models import (
    Discrepancy,
    Match,
    MatchDeposit,
    MatchRecord,
    RejectedPair,
    SystemRecord,
)
from .services import _CONFIRMABLE, _notify_confirmed, match_confirm, match_reject

ERROR_STALE = _(
    "Someone else changed this item while you were looking at it. "
    "Reload the page to see what they did."
)
ERROR_CLOSED = _("This item is already resolved.")
ERROR_NOT_RESOLVED = _("Only a resolved item can be reopened.")
ERROR_PENDING = _("This item already has a request waiting for approval.")
ERROR_OWN_REQUEST = _("You cannot approve your own request: a second person must.")
ERROR_NOT_PENDING = _("This request has already been decided.")
ERROR_REASON_CODE = _("Choose a reason code for the write-off.")
ERROR_NO_DIFFERENCE = _("There is no difference to write off on this item.")
ERROR_WRONG_KIND = _("This action does not apply to this kind of item.")
ERROR_LINK_EMPTY = _("Choose at least one deposit and one system record to link.")
ERROR_LINK_SHAPE = _(
    "Link one deposit to one or more records, or several deposits to one record."
)
ERROR_LINK_CURRENCY = _("Deposits and records to link must share one currency.")
ERROR_LINK_TAKEN = _("A deposit or record you chose is already in a confirmed match.")
ERROR_LINK_UNKNOWN = _("A deposit or record you chose is not part of this incident.")
ERROR_NOT_CONFIRMED = _("Only a confirmed match can be unmatched this way.")
ERROR_NOTE_EMPTY = _("Write a note or attach a file.")
ERROR_ASSIGNEE = _("Items can only be assigned to finance users.")
ERROR_NOT_MISSING = _("Only a deposit missing from the system can be marked posted.")
ERROR_BATCH_POSTED = _("This posting batch is already marked as posted.")
ERROR_BATCH_EMPTY = _("No deposit is missing from the system.")

WRITE_OFF_REASONS = {
    "rounding": _("Rounding"),
    "bank_fee": _("Bank fee"),
    "fx_difference": _("Exchange-rate difference"),
    "counterfeit": _("Counterfeit or short cash"),
    "other": _("Other (see notes)"),
}

OPEN_STATES = [Case.State.OPEN, Case.State.ASSIGNED, Case.State.REOPENED]
# What the queue, the overview and the reports count as still to work on.
TO_WORK_ON = [*OPEN_STATES, Case.State.PENDING_APPROVAL]
FINANCE_PERMISSION = "reconciliation.run_reconciliation"


def _finance() -> dict[str, Any]:
    return getattr(settings, "RECONCILIATION_FINANCE", {})


def link_threshold() -> Decimal:
    return Decimal(str(_finance().get("LINK_APPROVAL_ABOVE", "10000")))


def _locked_case(case: Case, version: int | None) -> Case:
    locked = (
        Case.objects.select_for_update(of=("self",))
        .select_related("discrepancy", "incident")
        .get(pk=case.pk)
    )
    if version is not None and locked.version != version:
        raise ValidationError(ERROR_STALE)
    return locked


def _save(case: Case, *fields: str) -> None:
    case.version += 1
    case.save(update_fields=[*fields, "version"])


def _resolve(
    case: Case, *, actor: User | None, resolution: str, reason: str = ""
) -> None:
    case.state = Case.State.RESOLVED
    case.resolution = resolution
    case.reason_code = reason
    case.resolved_by = actor
    case.resolved_at = timezone.now()
    _save(case, "state", "resolution", "reason_code", "resolved_by", "resolved_at")
    Discrepancy.objects.filter(pk=case.discrepancy_id).update(
        status=Discrepancy.Status.RESOLVED
    )


def _require_open(case: Case) -> None:
    if case.state == Case.State.RESOLVED:
        raise ValidationError(ERROR_CLOSED)
    if case.state == Case.State.PENDING_APPROVAL:
        raise ValidationError(ERROR_PENDING)


def _audit(action: str, case: Case, actor: User | None, **data: Any) -> None:
    audit_record(
        action=f"reconciliation.{action}",
        obj=case,
        actor=actor,
        data={"kind": case.kind, "state": case.state, **data},
    )


@transaction.atomic
def cases_assign(*, cases: list[Case], assignee: User | None, actor: User) -> int:
    """Bulk assign (or unassign) open items; resolved or pending ones are left alone."""
    if assignee is not None and not assignee.has_perm(FINANCE_PERMISSION):
        raise ValidationError(ERROR_ASSIGNEE)
    locked = list(
        Case.objects.select_for_update(of=("self",))
        .filter(pk__in=[c.pk for c in cases], state__in=OPEN_STATES)
        .order_by("pk")
    )
    for case in locked:
        case.assignee = assignee
        if assignee is not None:
            case.state = Case.State.ASSIGNED
        elif case.state == Case.State.ASSIGNED:
            case.state = Case.State.OPEN
        _save(case, "assignee", "state")
    audit_record(
        action="reconciliation.cases_assigned",
        obj=locked[0] if locked else actor,
        actor=actor,
        data={
            "cases": [c.pk for c in locked],
            "assignee": assignee.username if assignee else None,
        },
    )
    return len(locked)


@transaction.atomic
def case_note_add(
    *,
    case: Case,
    actor: User,
    text: str = "",
    evidence: UploadedFile | None = None,
) -> CaseNote:
    """A note or an evidence file; allowed in any state."""
    text = text.strip()
    if not text and evidence is None:
        raise ValidationError({"text": ERROR_NOTE_EMPTY})
    case = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
    note = CaseNote(case=case, text=text, author=actor)
    if evidence is not None:
        note.evidence = evidence  # type: ignore[assignment]
    note.save()
    _save(case)
    _audit("case_note_added", case, actor, note=note.pk, file=bool(evidence))
    return note


@transaction.atomic
def case_confirm_match(
    *, case: Case, match: Match, actor: User, version: int | None = None
) -> Case:
    """Confirm a proposed match that settles this item (deposits confirmed, customers told)."""
    case = _locked_case(case, version)
    _require_open(case)
    match_confirm(match=match, actor=actor)
    _resolve(case, actor=actor, resolution=Case.Resolution.MATCH_CONFIRMED)
    _audit("case_match_confirmed", case, actor, match=match.pk)
    return case


@transaction.atomic
def case_not_duplicate(*, case: Case, actor: User, version: int | None = None) -> Case:
    """Finance says the 'twice' items are two real payments; remembered on re-runs."""
    case = _locked_case(case, version)
    _require_open(case)
    if case.kind not in (
        Discrepancy.Kind.DUPLICATE_MANUAL,
        Discrepancy.Kind.DUPLICATE_SYSTEM,
    ):
        raise ValidationError(ERROR_WRONG_KIND)
    _resolve(case, actor=actor, resolution=Case.Resolution.NOT_DUPLICATE)
    _audit("case_not_duplicate", case, actor)
    return case


def _mark_posted(deposit_ids: list[int]) -> int:
    return Deposit.objects.filter(
        pk__in=deposit_ids, status=Deposit.Status.PROVISIONAL
    ).update(status=Deposit.Status.AWAITING_CONFIRMATION)


@transaction.atomic
def case_mark_posted(*, case: Case, actor: User, version: int | None = None) -> Case:
    """A deposit missing from the system was entered there: awaiting confirmation."""
    case = _locked_case(case, version)
    _require_open(case)
    if case.kind != Discrepancy.Kind.MISSING_IN_SYSTEM:
        raise ValidationError(ERROR_NOT_MISSING)
    ids = list(case.discrepancy.deposits.values_list("pk", flat=True))
    _mark_posted(ids)
    _resolve(case, actor=actor, resolution=Case.Resolution.POSTED)
    _audit("case_posted", case, actor, deposits=ids)
    return case


@transaction.atomic
def case_reopen(
    *, case: Case, actor: User, reason: str = "", version: int | None = None
) -> Case:
    case = _locked_case(case, version)
    if case.state != Case.State.RESOLVED:
        raise ValidationError(ERROR_NOT_RESOLVED)
    previous = case.resolution
    case.state = Case.State.REOPENED
    case.resolution = ""
    case.resolved_by = None
    case.resolved_at = None
    _save(case, "state", "resolution", "resolved_by", "resolved_at")
    Discrepancy.objects.filter(pk=case.discrepancy_id).update(
        status=Discrepancy.Status.OPEN
    )
    _audit("case_reopened", case, actor, previous=previous, reason=reason)
    return case


def _request(
    *,
    kind: str,
    actor: User,
    case: Case | None = None,
    match: Match | None = None,
    amount: Decimal = Decimal(0),
    currency: str = "",
    reason_code: str = "",
    payload: dict[str, Any] | None = None,
) -> ApprovalRequest:
    try:
        with transaction.atomic():
            request = ApprovalRequest.objects.create(
                kind=kind,
                case=case,
                match=match,
                amount=amount,
                currency=currency,
                reason_code=reason_code,
                payload=payload or {},
                requested_by=actor,
            )
    except IntegrityError:
        raise ValidationError(ERROR_PENDING) from None
    if case is not None:
        case.state = Case.State.PENDING_APPROVAL
        _save(case, "state")
    audit_record(
        action="reconciliation.approval_requested",
        obj=request,
        actor=actor,
        data={"kind": kind, "amount": str(amount), "currency": currency},
    )
    return request


@transaction.atomic
def case_write_off_request(
    *, case: Case, actor: User, reason_code: str, version: int | None = None
) -> ApprovalRequest:
    """Ask to write off the item's difference; a second finance user approves."""
    if reason_code not in WRITE_OFF_REASONS:
        raise ValidationError({"reason_code": ERROR_REASON_CODE})
    case = _locked_case(case, version)
    _require_open(case)
    d = case.discrepancy
    amount = d.difference if d.difference is not None else case.amount
    if not amount:
        raise ValidationError(ERROR_NO_DIFFERENCE)
    return _request(
        kind=ApprovalRequest.Kind.WRITE_OFF,
        actor=actor,
        case=case,
        amount=amount,
        currency=case.currency,
        reason_code=reason_code,
    )


def _link_check(
    case: Case, deposit_ids: list[int], record_ids: list[int]
) -> tuple[list[Deposit], list[SystemRecord]]:
    if not deposit_ids or not record_ids:
        raise ValidationError(ERROR_LINK_EMPTY)
    if len(deposit_ids) > 1 and len(record_ids) > 1:
        raise ValidationError(ERROR_LINK_SHAPE)
    deposits = list(
        Deposit.objects.filter(pk__in=deposit_ids, incident=case.incident)
        .select_related("customer", "branch", "incident")
        .order_by("pk")
    )
    records = list(
        SystemRecord.objects.filter(pk__in=record_ids, incident=case.incident).order_by(
            "pk"
        )
    )
    if len(deposits) != len(set(deposit_ids)) or len(records) != len(set(record_ids)):
        raise ValidationError(ERROR_LINK_UNKNOWN)
    currencies = {d.currency for d in deposits} | {r.currency for r in records}
    if len(currencies) != 1:
        raise ValidationError(ERROR_LINK_CURRENCY)
    if (
        MatchDeposit.objects.filter(deposit__in=deposits, confirmed=True).exists()
        or MatchRecord.objects.filter(record__in=records, confirmed=True).exists()
    ):
        raise ValidationError(ERROR_LINK_TAKEN)
    return deposits, records


def _link_amount(deposits: list[Deposit], records: list[SystemRecord]) -> Decimal:
    return max(
        sum((d.amount for d in deposits), Decimal(0)),
        sum((r.amount for r in records), Decimal(0)),
    )


@transaction.atomic
def case_link(
    *,
    case: Case,
    actor: User,
    deposit_ids: list[int],
    record_ids: list[int],
    version: int | None = None,
) -> Case | ApprovalRequest:
    """Link deposits and records by hand (1:1, 1:n, n:1); above the threshold, four eyes."""
    case = _locked_case(case, version)
    _require_open(case)
    deposits, records = _link_check(case, deposit_ids, record_ids)
    amount = _link_amount(deposits, records)
    if amount > link_threshold():
        return _request(
            kind=ApprovalRequest.Kind.LINK,
            actor=actor,
            case=case,
            amount=amount,
            currency=deposits[0].currency,
            payload={
                "deposits": [d.pk for d in deposits],
                "records": [r.pk for r in records],
            },
        )
    _link_apply(case, actor, deposits, records, approver=None)
    return case


def _link_apply(
    case: Case,
    actor: User,
    deposits: list[Deposit],
    records: list[SystemRecord],
    approver: User | None,
) -> Match:
    run = case.discrepancy.run
    manual = sum((d.amount for d in deposits), Decimal(0))
    system = sum((r.amount for r in records), Decimal(0))
    match = Match.objects.create(
        run=run,
        kind=Match.Kind.MANUAL,
        score=100,
        reasons={"manual": "linked by hand"},
        status=Match.Status.CONFIRMED,
        manual_amount=manual,
        system_amount=system,
        currency=deposits[0].currency,
        decided_by=approver or actor,
        decided_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            MatchDeposit.objects.bulk_create(
                [MatchDeposit(match=match, deposit=d, confirmed=True) for d in deposits]
            )
            MatchRecord.objects.bulk_create(
                [MatchRecord(match=match, record=r, confirmed=True) for r in records]
            )
    except IntegrityError:
        raise ValidationError(ERROR_LINK_TAKEN) from None
    confirmable = [d for d in deposits if d.status in _CONFIRMABLE]
    Deposit.objects.filter(pk__in=[d.pk for d in confirmable]).update(
        status=Deposit.Status.CONFIRMED
    )
    for deposit in confirmable:
        _notify_confirmed(deposit)
    _resolve(case, actor=approver or actor, resolution=Case.Resolution.LINKED)
    _audit(
        "case_linked",
        case,
        approver or actor,
        match=match.pk,
        maker=actor.username,
        deposits=[d.receipt_number for d in deposits],
        records=[r.external_id for r in records],
    )
    return match


@transaction.atomic
def match_unmatch(*, match: Match, actor: User) -> Match | ApprovalRequest:
    """Undo a match: a proposed one is rejected at once, a confirmed one needs four eyes."""
    match = Match.objects.select_for_update(of=("self",)).get(pk=match.pk)
    if match.status == Match.Status.PROPOSED:
        return match_reject(match=match, actor=actor)
    if match.status != Match.Status.CONFIRMED:
        raise ValidationError(ERROR_NOT_CONFIRMED)
    return _request(
        kind=ApprovalRequest.Kind.UNMATCH,
        actor=actor,
        match=match,
        amount=match.manual_amount,
        currency=match.currency,
    )


def _unmatch_apply(match: Match, actor: User, approver: User) -> None:
    deposit_ids = list(
        MatchDeposit.objects.filter(match=match).values_list("deposit_id", flat=True)
    )
    record_ids = list(
        MatchRecord.objects.filter(match=match).values_list("record_id", flat=True)
    )
    MatchDeposit.objects.filter(match=match).update(confirmed=False)
    MatchRecord.objects.filter(match=match).update(confirmed=False)
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
    Deposit.objects.filter(pk__in=deposit_ids, status=Deposit.Status.CONFIRMED).update(
        status=Deposit.Status.AWAITING_CONFIRMATION
    )
    match.status = Match.Status.REJECTED
    match.decided_by = approver
    match.decided_at = timezone.now()
    match.save(update_fields=["status", "decided_by", "decided_at"])
    audit_record(
        action="reconciliation.match_unmatched",
        obj=match,
        actor=approver,
        data={"maker": actor.username, "deposits": deposit_ids, "records": record_ids},
    )


@transaction.atomic
def approval_decide(
    *, request: ApprovalRequest, actor: User, approve: bool
) -> ApprovalRequest:
    """The second finance user approves (the change is made) or rejects the request."""
    request = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related(
            "case__discrepancy__run__incident", "match__run__incident", "requested_by"
        )
        .get(pk=request.pk)
    )
    if request.status != ApprovalRequest.Status.PENDING:
        raise ValidationError(ERROR_NOT_PENDING)
    if request.requested_by_id == actor.pk:
        raise ValidationError(ERROR_OWN_REQUEST)
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("discrepancy__run")
        .get(pk=request.case_id)
        if request.case_id
        else None
    )
    maker = request.requested_by
    if approve:
        if request.kind == ApprovalRequest.Kind.WRITE_OFF and case is not None:
            _resolve(
                case,
                actor=actor,
                resolution=Case.Resolution.WRITTEN_OFF,
                reason=request.reason_code,
            )
        elif request.kind == ApprovalRequest.Kind.LINK and case is not None:
            deposits, records = _link_check(
                case, request.payload["deposits"], request.payload["records"]
            )
            _link_apply(case, maker, deposits, records, approver=actor)
        elif request.kind == ApprovalRequest.Kind.UNMATCH and request.match is not None:
            _unmatch_apply(request.match, maker, actor)
    elif case is not None:
        case.state = Case.State.ASSIGNED if case.assignee_id else Case.State.OPEN
        _save(case, "state")
    request.status = (
        ApprovalRequest.Status.APPROVED if approve else ApprovalRequest.Status.REJECTED
    )
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    audit_record(
        action="reconciliation.approval_" + ("approved" if approve else "rejected"),
        obj=request,
        actor=actor,
        data={
            "kind": request.kind,
            "maker": maker.username,
            "amount": str(request.amount),
            "currency": request.currency,
        },
    )
    return request


@transaction.atomic
def posting_batch_create(*, incident: Any, actor: User) -> PostingBatch:
    """Every manual deposit of the incident still missing from the system."""
    from .services import run_latest

    case_ids = Case.objects.filter(
        run=run_latest(incident=incident),
        kind=Discrepancy.Kind.MISSING_IN_SYSTEM,
        state__in=OPEN_STATES,
    ).values("discrepancy_id")
    deposit_ids = list(
        Discrepancy.deposits.through.objects.filter(discrepancy_id__in=case_ids)
        .order_by("deposit_id")
        .values_list("deposit_id", flat=True)
        .distinct()
    )
    if not deposit_ids:
        raise ValidationError(ERROR_BATCH_EMPTY)
    batch = PostingBatch.objects.create(incident=incident, created_by=actor)
    batch.deposits.set(deposit_ids)
    audit_record(
        action="reconciliation.posting_batch_created",
        obj=batch,
        actor=actor,
        data={"incident": incident.reference, "deposits": len(deposit_ids)},
    )
    return batch


@transaction.atomic
def posting_batch_mark_posted(*, batch: PostingBatch, actor: User) -> PostingBatch:
    """The core system has them: deposits await confirmation, their items resolve."""
    batch = PostingBatch.objects.select_for_update(of=("self",)).get(pk=batch.pk)
    if batch.posted_at is not None:
        raise ValidationError(ERROR_BATCH_POSTED)
    ids = list(batch.deposits.values_list("pk", flat=True))
    moved = _mark_posted(ids)
    disc = Discrepancy.deposits.through.objects.filter(deposit_id__in=ids).values(
        "discrepancy_id"
    )
    cases = list(
        Case.objects.select_for_update(of=("self",)).filter(
            discrepancy_id__in=disc,
            kind=Discrepancy.Kind.MISSING_IN_SYSTEM,
            state__in=OPEN_STATES,
        )
    )
    for case in cases:
        _resolve(case, actor=actor, resolution=Case.Resolution.POSTED)
    batch.posted_by = actor
    batch.posted_at = timezone.now()
    batch.save(update_fields=["posted_by", "posted_at"])
    audit_record(
        action="reconciliation.posting_batch_posted",
        obj=batch,
        actor=actor,
        data={"deposits": len(ids), "moved": moved, "cases": len(cases)},
    )
    return batch


def case_oldest(*, incident: Any) -> dt.datetime | None:
    return Case.objects.filter(incident=incident, state__in=OPEN_STATES).aggregate(
        first=Min("opened_at")
    )["first"]
