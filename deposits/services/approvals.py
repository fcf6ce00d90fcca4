"""Four eyes: approvals of large deposits, reversals, and the conflicts queue."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.models import NoticeKind
from outage_desk.audit import audit_record
from outage_desk.models import User

from ..errors import (
    ERROR_ALREADY_REVERSED,
    ERROR_CONFLICT_NOT_OPEN,
    ERROR_NOT_PENDING_APPROVAL,
    ERROR_OTHER_BRANCH,
    ERROR_REASON_REQUIRED,
    ERROR_REVERSAL_FOUR_EYES,
    ERROR_REVERSAL_NOT_PENDING,
    ERROR_REVERSAL_PENDING,
    ERROR_SELF_APPROVAL,
)
from ..models import Deposit, DepositConflict, DepositReversal
from .capture import _deposit_notify, deposit_check_supervisor


@transaction.atomic(durable=True)
def deposit_approve(*, deposit: Deposit, approved_by: User) -> Deposit:
    """Four eyes: a supervisor other than the clerk lets a large deposit count."""
    deposit_check_supervisor(deposit=deposit, user=approved_by)
    if approved_by.pk == deposit.recorded_by_id:
        raise PermissionDenied(ERROR_SELF_APPROVAL)
    now = timezone.now()
    changed = Deposit.objects.filter(
        pk=deposit.pk, status=Deposit.Status.PENDING_APPROVAL
    ).update(
        status=Deposit.Status.PROVISIONAL, approved_by=approved_by, approved_at=now
    )
    if changed != 1:
        raise ValidationError(ERROR_NOT_PENDING_APPROVAL, code="state")
    deposit.refresh_from_db()
    audit_record(
        action="deposit.approved",
        obj=deposit,
        actor=approved_by,
        data={"receipt_number": deposit.receipt_number, "status": deposit.status},
    )
    return deposit


@transaction.atomic(durable=True)
def deposit_reversal_request(
    *, deposit: Deposit, requested_by: User, reason: str
) -> DepositReversal:
    """Ask for a deposit to be reversed; nothing changes until a second person approves."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {"reason": ValidationError(ERROR_REASON_REQUIRED, code="required")}
        )
    if requested_by.branch_id != deposit.branch_id and not requested_by.is_superuser:
        raise PermissionDenied(ERROR_OTHER_BRANCH)
    if deposit.status == Deposit.Status.REVERSED:
        raise ValidationError(ERROR_ALREADY_REVERSED, code="state")
    try:
        with transaction.atomic():
            reversal = DepositReversal.objects.create(
                deposit=deposit, reason=reason, requested_by=requested_by
            )
    except IntegrityError:
        raise ValidationError(ERROR_REVERSAL_PENDING, code="state") from None
    audit_record(
        action="deposit.reversal_requested",
        obj=deposit,
        actor=requested_by,
        data={"reversal": reversal.pk, "reason": reason},
    )
    return reversal


def _reversal_decide(
    *, reversal: DepositReversal, decided_by: User, status: str
) -> DepositReversal:
    changed = DepositReversal.objects.filter(
        pk=reversal.pk, status=DepositReversal.Status.PENDING
    ).update(status=status, decided_by=decided_by, decided_at=timezone.now())
    if changed != 1:
        raise ValidationError(ERROR_REVERSAL_NOT_PENDING, code="state")
    reversal.refresh_from_db()
    return reversal


@transaction.atomic(durable=True)
def deposit_reversal_approve(
    *, reversal: DepositReversal, approved_by: User
) -> DepositReversal:
    """A supervisor who is neither the requester nor the clerk reverses the deposit."""
    deposit = reversal.deposit
    deposit_check_supervisor(deposit=deposit, user=approved_by)
    if approved_by.pk in (reversal.requested_by_id, deposit.recorded_by_id):
        raise PermissionDenied(ERROR_REVERSAL_FOUR_EYES)
    reversal = _reversal_decide(
        reversal=reversal,
        decided_by=approved_by,
        status=DepositReversal.Status.APPROVED,
    )
    changed = (
        Deposit.objects.filter(pk=deposit.pk)
        .exclude(status=Deposit.Status.REVERSED)
        .update(status=Deposit.Status.REVERSED)
    )
    if changed != 1:
        raise ValidationError(ERROR_ALREADY_REVERSED, code="state")
    deposit.refresh_from_db()
    _deposit_notify(
        deposit,
        kind=NoticeKind.DEPOSIT_REVERSED,
        event="reversed",
        extra={"reason": reversal.reason},
    )
    audit_record(
        action="deposit.reversed",
        obj=deposit,
        actor=approved_by,
        data={"reversal": reversal.pk, "receipt_number": deposit.receipt_number},
    )
    return reversal


@transaction.atomic(durable=True)
def deposit_reversal_reject(
    *, reversal: DepositReversal, rejected_by: User
) -> DepositReversal:
    """A supervisor turns a reversal request down; the deposit stays as it is."""
    deposit_check_supervisor(deposit=reversal.deposit, user=rejected_by)
    if rejected_by.pk == reversal.requested_by_id:
        raise PermissionDenied(ERROR_REVERSAL_FOUR_EYES)
    reversal = _reversal_decide(
        reversal=reversal,
        decided_by=rejected_by,
        status=DepositReversal.Status.REJECTED,
    )
    audit_record(
        action="deposit.reversal_rejected",
        obj=reversal.deposit,
        actor=rejected_by,
        data={"reversal": reversal.pk},
    )
    return reversal


@transaction.atomic(durable=True)
def deposit_conflict_resolve(
    *, conflict: DepositConflict, resolved_by: User, note: str = ""
) -> DepositConflict:
    """A supervisor marks a UUID conflict as looked at, with a note."""
    deposit_check_supervisor(deposit=conflict.deposit, user=resolved_by)
    changed = DepositConflict.objects.filter(
        pk=conflict.pk, status=DepositConflict.Status.OPEN
    ).update(
        status=DepositConflict.Status.RESOLVED,
        resolved_by=resolved_by,
        resolved_at=timezone.now(),
        resolution_note=note.strip(),
    )
    if changed != 1:
        raise ValidationError(ERROR_CONFLICT_NOT_OPEN, code="state")
    conflict.refresh_from_db()
    audit_record(
        action="deposit.conflict_resolved",
        obj=conflict,
        actor=resolved_by,
        data={"note": conflict.resolution_note},
    )
    return conflict
