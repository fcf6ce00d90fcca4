"""Which placeholders each notice kind may use, and sample values for previews.

Callers of notify() pass these names in ``context``; a template that names anything
else is refused when it is saved, so a typo never reaches a customer as a blank.
"""

from .models import NoticeKind

# Every kind may use these. notify() adds site_url, and unsubscribe_url to optional
# e-mails; the caller gives customer_name ("" when the recipient is anonymous, and
# the templates then say "customer").
COMMON_PLACEHOLDERS = frozenset({"customer_name", "site_url", "unsubscribe_url"})

_INCIDENT = {"incident_reference", "incident_title", "status_url"}
_DEPOSIT = {
    "receipt_number",
    "amount",
    "currency",
    "account",
    "branch_name",
    "incident_reference",
}

ALLOWED_PLACEHOLDERS: dict[str, frozenset[str]] = {
    NoticeKind.OUTAGE_STARTED: frozenset({*_INCIDENT, "started_at", "alternatives"}),
    NoticeKind.ETA_UPDATE: frozenset({*_INCIDENT, "eta", "message", "bank_said"}),
    NoticeKind.RESOLVED: frozenset(
        {*_INCIDENT, "restored_at", "message", "feedback_url"}
    ),
    NoticeKind.MAINTENANCE_SCHEDULED: frozenset(
        {*_INCIDENT, "starts_at", "ends_at", "alternatives"}
    ),
    NoticeKind.MAINTENANCE_REMINDER: frozenset(
        {*_INCIDENT, "starts_at", "ends_at", "alternatives"}
    ),
    NoticeKind.DEPOSIT_RECEIVED: frozenset({*_DEPOSIT, "received_at"}),
    NoticeKind.DEPOSIT_CONFIRMED: frozenset({*_DEPOSIT, "confirmed_at"}),
    NoticeKind.DEPOSIT_REVERSED: frozenset({*_DEPOSIT, "reason"}),
    NoticeKind.COMPENSATION_OFFER: frozenset({*_INCIDENT, "offer", "expires_at"}),
    NoticeKind.SUBSCRIPTION_CONFIRM: frozenset({"confirm_url"}),
    NoticeKind.STAFF_ROLE_UNFILLED: frozenset({*_INCIDENT, "role", "url"}),
    NoticeKind.STAFF_FOLLOW_UP_OVERDUE: frozenset(
        {*_INCIDENT, "item", "due_at", "url"}
    ),
    NoticeKind.STAFF_APPROVAL_WAITING: frozenset(
        {"what", "reference", "requested_by", "url"}
    ),
    NoticeKind.STAFF_NOTICE_FAILED: frozenset(
        {"notice_id", "notice_kind", "channel", "recipient", "error", "url"}
    ),
    NoticeKind.WEBHOOK: frozenset(),
    NoticeKind.EVENT_DEPOSIT_RECORDED: frozenset(),
    NoticeKind.EVENT_DEPOSIT_CONFIRMED: frozenset(),
    NoticeKind.EVENT_DISCREPANCY_OPENED: frozenset(),
    NoticeKind.EVENT_INCIDENT_STATUS_CHANGED: frozenset(),
}

SAMPLE_CONTEXT: dict[str, str] = {
    "customer_name": "Wang Fang",
    "site_url": "https://outage-desk.example",
    "unsubscribe_url": "https://outage-desk.example/notices/unsubscribe/sample/",
    "incident_reference": "INC-2026-0042",
    "incident_title": "Core banking unavailable",
    "status_url": "https://outage-desk.example/status/",
    "started_at": "2026-11-22 09:15 UTC",
    "alternatives": "Bank transfer, or cash at any branch",
    "eta": "2026-11-22 14:00 UTC",
    "message": "The database failover is complete; payments are being re-enabled.",
    "bank_said": "Service expected back by 14:00",
    "restored_at": "2026-11-22 13:40 UTC",
    "feedback_url": "https://outage-desk.example/feedback/sample/",
    "starts_at": "2026-11-29 01:00 UTC",
    "ends_at": "2026-11-29 05:00 UTC",
    "receipt_number": "HQ-000123",
    "amount": "1250.00",
    "currency": "GBP",
    "account": "GB00001234",
    "branch_name": "Head office",
    "received_at": "2026-11-22 10:02 UTC",
    "confirmed_at": "2026-11-23 08:30 UTC",
    "reason": "Entered twice by mistake",
    "offer": "Fee refund of 10.00 GBP",
    "expires_at": "2026-12-31",
    "confirm_url": "https://outage-desk.example/status/confirm/sample/",
    "role": "Bank liaison",
    "url": "https://outage-desk.example/",
    "item": "Call the bank back about the ETA",
    "due_at": "2026-11-22 12:00 UTC",
    "what": "Deposit correction",
    "reference": "HQ-000123",
    "requested_by": "alice",
    "notice_id": "981",
    "notice_kind": "deposit_received",
    "channel": "sms",
    "recipient": "+447700900123",
    "error": "550 mailbox unavailable",
}


def placeholders_for(kind: str) -> frozenset[str]:
    """Every name a template of this kind may use."""
    return ALLOWED_PLACEHOLDERS[kind] | COMMON_PLACEHOLDERS


def sample_context(kind: str) -> dict[str, str]:
    """Preview values for exactly the placeholders this kind allows."""
    return {name: SAMPLE_CONTEXT.get(name, name) for name in placeholders_for(kind)}
