"""Finance's work on discrepancies: cases, notes, four-eyes approvals, posting batches."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outage_desk.money import MONEY_DIGITS, MONEY_PLACES


class Case(models.Model):
    """One discrepancy as finance works it: state, assignee, SLA, resolution."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        ASSIGNED = "assigned", _("Assigned")
        PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
        RESOLVED = "resolved", _("Resolved")
        REOPENED = "reopened", _("Reopened")

    class Resolution(models.TextChoices):
        MATCH_CONFIRMED = "match_confirmed", _("Proposed match confirmed")
        LINKED = "linked", _("Linked by hand")
        NOT_DUPLICATE = "not_duplicate", _("Not a duplicate")
        POSTED = "posted", _("Posted to the core system")
        WRITTEN_OFF = "written_off", _("Written off")

    discrepancy = models.OneToOneField(
        "reconciliation.Discrepancy", on_delete=models.CASCADE, related_name="case"
    )
    run = models.ForeignKey(
        "reconciliation.ReconciliationRun", on_delete=models.CASCADE, related_name="+"
    )
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20)
    signature = models.CharField(max_length=200, db_index=True)
    branch = models.ForeignKey(
        "deposits.Branch",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    channel = models.CharField(max_length=20, blank=True)
    amount = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0
    )
    currency = models.CharField(max_length=3, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    opened_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    reason_code = models.CharField(max_length=30, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["run", "state", "due_at"], name="case_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} case {self.pk} ({self.state})"


class CaseNote(models.Model):
    """A note or evidence file on a case (append-only in practice)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField(blank=True)
    evidence = models.FileField(upload_to="reconciliation/evidence/", blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"note {self.pk} on case {self.case_id}"


class ApprovalRequest(models.Model):
    """A change a second finance user must approve (four eyes)."""

    class Kind(models.TextChoices):
        WRITE_OFF = "write_off", _("Write-off")
        LINK = "link", _("Manual link")
        UNMATCH = "unmatch", _("Unmatch a confirmed match")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="approvals"
    )
    match = models.ForeignKey(
        "reconciliation.Match",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    amount = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0
    )
    currency = models.CharField(max_length=3, blank=True)
    reason_code = models.CharField(max_length=30, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
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
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="approval_maker_is_not_checker",
            ),
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status="pending"),
                name="approval_one_pending_per_case",
            ),
            models.UniqueConstraint(
                fields=["match"],
                condition=Q(status="pending"),
                name="approval_one_pending_per_match",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} approval {self.pk} ({self.status})"


class PostingBatch(models.Model):
    """Manual deposits missing from the system, handed to the core system to post."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="+"
    )
    deposits = models.ManyToManyField("deposits.Deposit", related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "posting batches"

    def __str__(self) -> str:
        return f"posting batch {self.pk}"
