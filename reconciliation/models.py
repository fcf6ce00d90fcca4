from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outage_desk.money import MONEY_DIGITS, MONEY_PLACES

if TYPE_CHECKING:
    from .export import StoredOutcome


class RecordFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("Excel (XLSX)")
    OFX = "ofx", _("OFX")
    CAMT053 = "camt053", _("CAMT.053 / CAMT.054")
    MT940 = "mt940", _("MT940")


class ImportProfile(models.Model):
    """How to read one bank's or core system's CSV or XLSX layout."""

    class Sign(models.TextChoices):
        CREDIT_POSITIVE = "credit_positive", _("Credits are positive")
        CREDIT_NEGATIVE = "credit_negative", _("Credits are negative")
        DEBIT_CREDIT_COLUMNS = "columns", _("Separate debit and credit columns")

    name = models.CharField(max_length=100, unique=True)
    format = models.CharField(
        max_length=10, choices=RecordFormat.choices, default=RecordFormat.CSV
    )
    # field name -> column header (or 1-based column number as a string). Fields:
    # external_id, account, amount, debit, credit, currency, value_date,
    # counterparty, reference, description.
    columns = models.JSONField(default=dict)
    encoding = models.CharField(max_length=20, default="utf-8-sig")
    delimiter = models.CharField(max_length=1, default=",")
    header_row = models.PositiveSmallIntegerField(
        default=1, help_text=_("Line number of the header row (1 = first line).")
    )
    decimal_separator = models.CharField(max_length=1, default=".")
    thousands_separator = models.CharField(max_length=1, blank=True)
    date_format = models.CharField(max_length=40, default="%Y-%m-%d")
    sign = models.CharField(
        max_length=20, choices=Sign.choices, default=Sign.CREDIT_POSITIVE
    )
    default_currency = models.CharField(max_length=3, blank=True)
    default_account = models.CharField(max_length=34, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportBatch(models.Model):
    """One restored-records file imported for an incident: whole or not at all."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        LOADED = "loaded", _("Loaded")
        REJECTED = "rejected", _("Rejected")

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="import_batches"
    )
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=10, choices=RecordFormat.choices)
    profile = models.ForeignKey(
        ImportProfile, null=True, blank=True, on_delete=models.PROTECT
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    rows_seen = models.PositiveIntegerField(default=0)
    rows_loaded = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    upload = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # The same file loads once per incident; a rejected try may be repeated.
            models.UniqueConstraint(
                fields=["incident", "sha256"],
                condition=models.Q(status="loaded"),
                name="importbatch_file_once_per_incident",
            )
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"


class SystemRecord(models.Model):
    """One entry of the restored system or bank statement (negative = debit)."""

    # Loading a million rows is mostly index and foreign-key upkeep, so this table
    # keeps only what pays: the unique (incident, external_id) index, which also
    # serves every per-incident query. Rows are written only by the loader, in the
    # transaction that creates their batch, from the batch's own ids; a database
    # foreign-key check per row (deferred to commit) would double the load time.
    # Deleting a batch or incident is still refused by on_delete=PROTECT.
    batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.PROTECT,
        related_name="records",
        db_index=False,
        db_constraint=False,
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        related_name="system_records",
        db_index=False,
        db_constraint=False,
    )
    external_id = models.CharField(max_length=140)
    account = models.CharField(max_length=34, blank=True)
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    currency = models.CharField(max_length=3)
    value_date = models.DateField()
    counterparty = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=140, blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "external_id"],
                name="systemrecord_external_id_once_per_incident",
            )
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.amount} {self.currency}"


class MatchSettings(models.Model):
    """The matcher's settings for one incident; defaults come from settings."""

    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.CASCADE, related_name="match_settings"
    )
    passes = models.JSONField(default=list, blank=True)
    date_window = models.PositiveSmallIntegerField(
        default=2, help_text=_("Business days between receipt and value date.")
    )
    settlement_grace = models.PositiveSmallIntegerField(
        default=3, help_text=_("Business days after the incident a credit may settle.")
    )
    amount_tolerance = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0
    )
    fuzzy_threshold = models.PositiveSmallIntegerField(default=85)
    auto_confirm_score = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Confirm matches at or above this score.")
    )

    class Meta:
        verbose_name_plural = "match settings"

    def __str__(self) -> str:
        return f"Match settings of {self.incident_id}"


class ReconciliationRunQuerySet(models.QuerySet["ReconciliationRun"]):
    def stored(self) -> "ReconciliationRunQuerySet":
        """Runs whose outcome is stored: finished, and not dry runs."""
        return self.filter(dry_run=False, status=ReconciliationRun.Status.FINISHED)


class ReconciliationRun(models.Model):
    """One run of the matcher over an incident's deposits and system records."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        related_name="reconciliation_runs",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    dry_run = models.BooleanField(default=False)
    params = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ReconciliationRunQuerySet.as_manager()

    # Not a field: the outcome as the process that stored it holds it, set by
    # ``services.run_execute`` on the instance it returns (``run_export`` writes
    # from it without reading the rows back).
    stored_outcome: "StoredOutcome | None" = None

    class Meta:
        ordering = ["-started_at", "-pk"]
        permissions = [("run_reconciliation", "Can import records and reconcile")]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.incident_id}"


class Match(models.Model):
    """Deposits and system records the matcher (or finance) paired up."""

    class Kind(models.TextChoices):
        REFERENCE = "reference", _("Reference")
        ACCOUNT_AMOUNT_DATE = "account_amount_date", _("Account, amount and date")
        FUZZY = "fuzzy", _("Payer name (fuzzy)")
        SPLIT = "split", _("Split")
        MANUAL = "manual", _("Linked by hand")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    # No foreign key in PostgreSQL (one deferred check per match at commit, a
    # quarter of a second for a large run): matches are written with their run
    # by the run's own store, in the transaction that also updates the run's row
    # (``save(update_fields=...)`` fails there if the row is gone), or linked by
    # hand to a run read from the database; the app never deletes runs.
    run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.CASCADE,
        related_name="matches",
        db_constraint=False,
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    score = models.PositiveSmallIntegerField(default=0)
    reasons = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    manual_amount = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES
    )
    system_amount = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES
    )
    currency = models.CharField(max_length=3)
    deposits = models.ManyToManyField(  # type: ignore[var-annotated]
        "deposits.Deposit", through="MatchDeposit", related_name="+"
    )
    records = models.ManyToManyField(  # type: ignore[var-annotated]
        SystemRecord, through="MatchRecord", related_name="+"
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
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.kind} match {self.pk} ({self.status})"


# The link rows below (and the discrepancies' many-to-many tables) keep their
# foreign keys in Django but not in PostgreSQL: a run writes hundreds of thousands
# of them at once, and a deferred check per row at commit took seconds. What the
# database checked is guaranteed by the only paths that write them instead:
# ``outcome_store`` writes a match or discrepancy and its links in one transaction
# from ids it reserved itself, after one query has confirmed every deposit and
# record exists in the run's incident (``outcome_items_verify``); finance's links
# by hand check the same first. Deposits, records, matches and discrepancies are
# never deleted by the app (money rows are reversed, not removed; the admin refuses
# deletes), and a deletion through the ORM is still refused (PROTECT) or cascades
# (CASCADE) in Django's collector. Their ``match`` keys have no index of their
# own: the unique (match, ...) constraint leads with it and serves those lookups.
class MatchDeposit(models.Model):
    """A deposit's place in a match; at most one confirmed place per deposit."""

    match = models.ForeignKey(
        Match, on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    deposit = models.ForeignKey(
        "deposits.Deposit", on_delete=models.PROTECT, db_constraint=False
    )
    confirmed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["match", "deposit"], name="matchdeposit_once_per_match"
            ),
            models.UniqueConstraint(
                fields=["deposit"],
                condition=models.Q(confirmed=True),
                name="matchdeposit_confirmed_once",
            ),
        ]

    def __str__(self) -> str:
        return f"deposit {self.deposit_id} in match {self.match_id}"


class MatchRecord(models.Model):
    """A system record's place in a match; at most one confirmed place per record."""

    match = models.ForeignKey(
        Match, on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    record = models.ForeignKey(
        SystemRecord, on_delete=models.PROTECT, db_constraint=False
    )
    confirmed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["match", "record"], name="matchrecord_once_per_match"
            ),
            models.UniqueConstraint(
                fields=["record"],
                condition=models.Q(confirmed=True),
                name="matchrecord_confirmed_once",
            ),
        ]

    def __str__(self) -> str:
        return f"record {self.record_id} in match {self.match_id}"


class Discrepancy(models.Model):
    """Something the matcher could not pair cleanly, for finance to work."""

    class Kind(models.TextChoices):
        MISSING_IN_SYSTEM = "missing_in_system", _("Missing in the system")
        MISSING_MANUAL = "missing_manual", _("No manual deposit")
        AMOUNT_MISMATCH = "amount_mismatch", _("Amount mismatch")
        DUPLICATE_MANUAL = "duplicate_manual", _("Deposit recorded twice")
        DUPLICATE_SYSTEM = "duplicate_system", _("System record twice")
        CURRENCY_MISMATCH = "currency_mismatch", _("Currency mismatch")
        AMBIGUOUS = "ambiguous", _("Ambiguous")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    # No foreign key in PostgreSQL, for the reason given at ``Match.run``.
    run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.CASCADE,
        related_name="discrepancies",
        db_constraint=False,
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Link rows without database constraints: see the note above MatchDeposit.
    deposits = models.ManyToManyField(
        "deposits.Deposit", related_name="+", db_constraint=False
    )
    records = models.ManyToManyField(
        SystemRecord, related_name="+", db_constraint=False
    )
    manual_amount = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )
    system_amount = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )
    difference = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )
    currency = models.CharField(max_length=3, blank=True)
    hint = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN
    )

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "discrepancies"

    def __str__(self) -> str:
        return f"{self.kind} ({self.status})"


class RejectedPair(models.Model):
    """A deposit and record finance said do not belong together; never proposed again."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="+"
    )
    deposit = models.ForeignKey("deposits.Deposit", on_delete=models.PROTECT)
    record = models.ForeignKey(SystemRecord, on_delete=models.PROTECT)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rejected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deposit", "record"], name="rejectedpair_once"
            )
        ]

    def __str__(self) -> str:
        return f"deposit {self.deposit_id} is not record {self.record_id}"


# Finance's work on the outcome lives in its own module.
from .finance_models import ApprovalRequest, Case, CaseNote, PostingBatch  # noqa: E402, F401
