import functools
import secrets
import zoneinfo
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outage_desk.models import ERROR_APPEND_ONLY
from outage_desk.money import MONEY_DIGITS, MONEY_PLACES, currency_is_known, money_round


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone “%(tz)s”."), params={"tz": value})


@functools.cache
def zone_info(name: str) -> zoneinfo.ZoneInfo:
    """The time zone of that name, built once per process (captures show times in
    their branch's zone, and a lookup by name costs more than the conversion).

    A name the system does not know (a branch saved around the validator) gives
    UTC, labelled as such: a notice's wording must never refuse a capture.
    """
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def validate_currency(value: str) -> None:
    if not currency_is_known(value):
        raise ValidationError(
            _("Unknown currency code “%(code)s”."), params={"code": value}
        )


class Branch(models.Model):
    """A branch of the bank or merchant; staff and deposits belong to one."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone]
    )
    currency = models.CharField(max_length=3, validators=[validate_currency])
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # Offline capture limits, in the branch's currency; empty means no limit.
    offline_max_amount = models.DecimalField(
        _("largest offline deposit"),
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        null=True,
        blank=True,
        help_text=_("The most one deposit taken offline may be."),
    )
    offline_max_total = models.DecimalField(
        _("offline total before sending"),
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        null=True,
        blank=True,
        help_text=_("The most a device may hold in deposits not yet sent."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "branches"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The branch's time zone, in which its customers are shown times."""
        return zone_info(self.timezone)


class Customer(models.Model):
    """A customer as copied from the core system, so clerks can find them while it is down."""

    class Tier(models.TextChoices):
        STANDARD = "standard", _("Standard")
        PREMIUM = "premium", _("Premium")
        BUSINESS = "business", _("Business")

    account = models.CharField(max_length=34, unique=True)
    name = models.CharField(max_length=200)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.STANDARD)
    language = models.CharField(max_length=10, default="en")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    branch = models.ForeignKey(
        Branch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account"]

    def __str__(self) -> str:
        return f"{self.account} {self.name}"


ERROR_DEPOSIT_FIELDS_FIXED = (
    "A deposit is never edited or deleted: only %(fields)s change, through the "
    "services' conditional updates; refused: %(refused)s."
)
# The fields a status transition may set (approval, reversal, confirmation).
DEPOSIT_MUTABLE_FIELDS = frozenset(
    {"status", "approved_by", "approved_by_id", "approved_at"}
)


class DepositQuerySet(models.QuerySet["Deposit"]):
    """Refuses delete and any bulk update beyond a status transition."""

    def update(self, **kwargs: Any) -> int:
        refused = sorted(set(kwargs) - DEPOSIT_MUTABLE_FIELDS)
        if refused:
            raise PermissionError(
                ERROR_DEPOSIT_FIELDS_FIXED
                % {
                    "fields": ", ".join(sorted(DEPOSIT_MUTABLE_FIELDS)),
                    "refused": ", ".join(refused),
                }
            )
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(ERROR_APPEND_ONLY % "Deposit")

    def bulk_update(self, objs: Any, fields: Any, batch_size: Any = None) -> int:
        raise PermissionError(ERROR_APPEND_ONLY % "Deposit")


class Deposit(models.Model):
    """A deposit taken by hand during an outage; never edited or deleted once saved."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("E-mail")
        IN_PERSON = "in_person", _("In person")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        CASH = "cash", _("Cash")

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
        PROVISIONAL = "provisional", _("Provisional")
        AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        REVERSED = "reversed", _("Reversed")

    class HoldReason(models.TextChoices):
        OFFLINE_OVER_MAX = "offline_over_max", _("Offline deposit over the limit")
        OFFLINE_OVER_TOTAL = "offline_over_total", _("Offline total over the limit")
        OFFLINE_CURRENCY = "offline_currency", _("Offline deposit in another currency")

    class Source(models.TextChoices):
        FORM = "form", _("Capture form")
        API = "api", _("API")
        IMPORT = "import", _("Imported log")
        OFFLINE = "offline", _("Offline capture")

    client_uuid = models.UUIDField(unique=True)
    # No index of their own: the (incident, status) and (branch, ...) indexes
    # below lead with them, and every index costs each capture's insert.
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        related_name="deposits",
        db_index=False,
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="deposits", db_index=False
    )
    receipt_number = models.CharField(max_length=40)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deposits",
    )
    account = models.CharField(max_length=34)
    payer_name = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    currency = models.CharField(max_length=3)
    received_at = models.DateTimeField()
    reference = models.CharField(max_length=140, blank=True)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=24, choices=Status.choices)
    source = models.CharField(
        max_length=10, choices=Source.choices, default=Source.FORM
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    device_time = models.DateTimeField(null=True, blank=True)
    duplicate_reason = models.TextField(blank=True)
    # Why an offline deposit waits for a supervisor: over the branch's offline limits.
    hold_reason = models.CharField(
        max_length=24, choices=HoldReason.choices, blank=True, default=""
    )
    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversal",
        help_text=_("For a reversal entry: the deposit it cancels."),
    )

    objects = DepositQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        permissions = [
            ("approve_deposit", "Can approve large deposits and reversals"),
            ("import_deposits", "Can import a branch's deposit log"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="deposit_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["branch", "receipt_number"],
                name="deposit_receipt_unique_per_branch",
            ),
            # Four eyes, held by the database whatever code runs.
            models.CheckConstraint(
                condition=models.Q(approved_by__isnull=True)
                | ~models.Q(approved_by=models.F("recorded_by")),
                name="deposit_approver_not_recorder",
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "-recorded_at"]),
            models.Index(fields=["incident", "status"]),
            models.Index(fields=["account", "amount"]),
            models.Index(fields=["branch", "reference"]),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_number} {self.amount} {self.currency}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError(ERROR_APPEND_ONLY % "Deposit")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError(ERROR_APPEND_ONLY % "Deposit")

    @property
    def counts(self) -> bool:
        """Whether the deposit counts towards totals (approved and not reversed)."""
        return self.status not in (self.Status.PENDING_APPROVAL, self.Status.REVERSED)

    @property
    def hold_message(self) -> str:
        """Why this offline deposit waits for a supervisor, naming field and limit."""
        from .errors import (
            HOLD_OFFLINE_CURRENCY,
            HOLD_OFFLINE_OVER_MAX,
            HOLD_OFFLINE_OVER_TOTAL,
        )

        branch = self.branch

        def limit(amount: Decimal | None) -> str:
            if amount is None:
                return "—"
            return f"{money_round(amount, branch.currency):f} {branch.currency}"

        if self.hold_reason == self.HoldReason.OFFLINE_OVER_MAX:
            return str(HOLD_OFFLINE_OVER_MAX) % {
                "limit": limit(branch.offline_max_amount)
            }
        if self.hold_reason == self.HoldReason.OFFLINE_OVER_TOTAL:
            return str(HOLD_OFFLINE_OVER_TOTAL) % {
                "limit": limit(branch.offline_max_total)
            }
        if self.hold_reason == self.HoldReason.OFFLINE_CURRENCY:
            return str(HOLD_OFFLINE_CURRENCY) % {"currency": branch.currency}
        return ""

    @property
    def is_unconfirmed(self) -> bool:
        return self.status not in (self.Status.CONFIRMED, self.Status.REVERSED)


class ApprovalThreshold(models.Model):
    """Deposits above this amount at this branch and currency need a second person."""

    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, related_name="approval_thresholds"
    )
    currency = models.CharField(max_length=3, validators=[validate_currency])
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)

    class Meta:
        ordering = ["branch", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "currency"], name="approval_threshold_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0),
                name="approval_threshold_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.branch.code} {self.currency} > {self.amount}"


class ReceiptCounter(models.Model):
    """The last receipt number given out at a branch; its row lock serialises allocation."""

    branch = models.OneToOneField(
        Branch, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    last_number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.branch_id}: {self.last_number}"


class DepositConflict(models.Model):
    """A capture refused because its UUID was already used for different content."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    client_uuid = models.UUIDField(db_index=True)
    deposit = models.ForeignKey(
        Deposit, on_delete=models.PROTECT, related_name="conflicts"
    )
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=Deposit.Source.choices)
    payload = models.JSONField(default=dict)
    differences = models.JSONField(default=list)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        indexes = [models.Index(fields=["branch", "status"])]

    def __str__(self) -> str:
        return f"conflict {self.client_uuid} ({self.status})"


class DepositReversal(models.Model):
    """A request to reverse a deposit; takes effect when a second person approves."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    deposit = models.ForeignKey(
        Deposit, on_delete=models.PROTECT, related_name="reversal_requests"
    )
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deposit"],
                condition=models.Q(status="pending"),
                name="deposit_one_pending_reversal",
            ),
            models.CheckConstraint(
                condition=~models.Q(reason=""), name="deposit_reversal_reason"
            ),
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True)
                | ~models.Q(decided_by=models.F("requested_by")),
                name="deposit_reversal_decider_not_requester",
            ),
        ]

    def __str__(self) -> str:
        return f"reversal of {self.deposit_id} ({self.status})"


def evidence_upload_to(instance: "DepositEvidence", filename: str) -> str:
    """A random name: the uploaded name never reaches the file system."""
    return f"evidence/{secrets.token_hex(16)}{instance.extension}"


class DepositEvidence(models.Model):
    """A photo or PDF of a slip, stored under MEDIA_ROOT and served only through a view."""

    deposit = models.ForeignKey(
        Deposit, on_delete=models.PROTECT, related_name="evidence"
    )
    file = models.FileField(upload_to=evidence_upload_to, max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    original_name = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "deposit evidence"

    def __str__(self) -> str:
        return f"evidence {self.pk} of deposit {self.deposit_id}"

    @property
    def extension(self) -> str:
        return {
            "image/png": ".png",
            "image/jpeg": ".jpg",
            "application/pdf": ".pdf",
        }.get(self.content_type, ".bin")


class ImportLog(models.Model):
    """One run of an import: what came in, from where, and when the copy was refreshed."""

    class Kind(models.TextChoices):
        BRANCHES = "branches", _("Branches")
        CUSTOMERS = "customers", _("Customers")
        DEPOSITS = "deposits", _("Deposit log")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    file_name = models.CharField(max_length=255, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-imported_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.imported_at:%Y-%m-%d %H:%M}"
