"""Every message a deposit service refuses with; tests assert on these constants."""

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ERROR_INCIDENT_CLOSED = _("Incident %(ref)s is not open for capture.")
ERROR_OUTSIDE_WINDOW = _(
    "The received time is outside the capture window of incident %(ref)s."
)
ERROR_IN_FUTURE = _("The received time cannot be in the future.")
ERROR_OTHER_BRANCH = _("You can record deposits for your own branch only.")
ERROR_NO_ACCOUNT = _("Give the customer's account number.")
ERROR_NO_PAYER = _("Give the payer's name.")
ERROR_ACCOUNT_NOT_CUSTOMER = _(
    "The account %(account)s does not belong to the chosen customer."
)
ERROR_UNKNOWN_CHANNEL = _("“%(value)s” is not a deposit channel.")
ERROR_UUID_INVALID = _("“%(value)s” is not a valid UUID.")
ERROR_UUID_CONFLICT = _(
    "This client UUID was already used for a different deposit. The attempt is "
    "kept for a supervisor to review; nothing was recorded."
)
ERROR_DUPLICATE_REASON = _(
    "This looks like a deposit already recorded (%(receipts)s). Check it, and give "
    "a reason to record it anyway."
)
ERROR_SELF_APPROVAL = _("The clerk who recorded a deposit cannot approve it.")
ERROR_NOT_SUPERVISOR = _("Only a supervisor of the deposit's branch can approve.")
ERROR_NOT_PENDING_APPROVAL = _("This deposit is not waiting for approval.")
ERROR_REASON_REQUIRED = _("Give a reason for the reversal.")
ERROR_ALREADY_REVERSED = _("This deposit is already reversed.")
ERROR_REVERSAL_PENDING = _(
    "A reversal of this deposit is already waiting for approval."
)
ERROR_REVERSAL_NOT_PENDING = _("This reversal is not waiting for a decision.")
ERROR_REVERSAL_FOUR_EYES = _(
    "A reversal must be approved by someone other than the requester and the clerk."
)
ERROR_CONFLICT_NOT_OPEN = _("This conflict is already resolved.")
ERROR_FILE_TYPE = _("“%(name)s” is not a PNG, JPEG or PDF file.")
ERROR_FILE_TOO_LARGE = _("“%(name)s” is larger than %(limit)s MB.")
ERROR_FILE_NAME = _(
    "“%(name)s” is not a plain file name (no folders or control characters)."
)
ERROR_TOO_MANY_FILES = _("Attach at most %(limit)s files.")
ERROR_FLOAT_AMOUNT = _('Send the amount as a string, e.g. "125.50".')


class DepositConflictError(Exception):
    """The client UUID is taken by a deposit with different content (HTTP 409)."""

    def __init__(self, *, deposit: Any, conflict: Any = None) -> None:
        super().__init__(str(ERROR_UUID_CONFLICT))
        self.deposit = deposit
        self.conflict = conflict
        self.message = ERROR_UUID_CONFLICT


class DuplicateSuspectedError(ValidationError):
    """Looks like a deposit already recorded; saving needs a duplicate reason."""

    def __init__(self, *, candidates: list[Any]) -> None:
        receipts = ", ".join(d.receipt_number for d in candidates)
        super().__init__(
            {
                "duplicate_reason": ValidationError(
                    ERROR_DUPLICATE_REASON,
                    params={"receipts": receipts},
                    code="duplicate",
                )
            }
        )
        self.candidates = candidates


# An offline deposit over the branch's offline limits is recorded, never dropped, but
# waits for a supervisor; these say why, naming the field and the limit.
HOLD_OFFLINE_OVER_MAX = _(
    "amount: over the branch's limit for one offline deposit (%(limit)s). It is "
    "recorded and waits for a supervisor's approval; it does not count until then."
)
HOLD_OFFLINE_OVER_TOTAL = _(
    "amount: it takes the deposits kept offline before sending over the branch's "
    "limit (%(limit)s). It is recorded and waits for a supervisor's approval; it "
    "does not count until then."
)
HOLD_OFFLINE_CURRENCY = _(
    "currency: offline deposits are limited in %(currency)s. It is recorded and "
    "waits for a supervisor's approval; it does not count until then."
)
