"""Shared assertions for deposit tests."""

from deposits.models import (
    Deposit,
    DepositConflict,
    DepositEvidence,
    DepositReversal,
    ReceiptCounter,
)
from notifications.models import Notice
from outage_desk.models import AuditEvent


def row_counts() -> dict[str, int]:
    """How many rows each table a capture can write holds; equal before/after = nothing written."""
    return {
        "deposits": Deposit.objects.count(),
        "conflicts": DepositConflict.objects.count(),
        "evidence": DepositEvidence.objects.count(),
        "reversals": DepositReversal.objects.count(),
        "notices": Notice.objects.count(),
        "audit": AuditEvent.objects.count(),
        "receipt_counters": sum(
            ReceiptCounter.objects.values_list("last_number", flat=True)
        ),
    }


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"\x00" * 64
