"""Every write to deposits goes through these services."""

from .approvals import (
    deposit_approve,
    deposit_conflict_resolve,
    deposit_reversal_approve,
    deposit_reversal_reject,
    deposit_reversal_request,
)
from .capture import (
    deposit_conflict_record,
    deposit_insert,
    deposit_record,
    deposit_validate,
    evidence_store,
    receipt_number_allocate,
    uuid_parse,
)

__all__ = [
    "deposit_approve",
    "deposit_conflict_record",
    "deposit_conflict_resolve",
    "deposit_insert",
    "deposit_record",
    "deposit_reversal_approve",
    "deposit_reversal_reject",
    "deposit_reversal_request",
    "deposit_validate",
    "evidence_store",
    "receipt_number_allocate",
    "uuid_parse",
]
