import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Component(models.Model):
    """A status-page component customers recognise ("Card payments", "Transfers")."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Incident(models.Model):
    """An outage or planned maintenance, from declaration to its closing review."""

    class Kind(models.TextChoices):
        UNPLANNED = "unplanned", _("Unplanned outage")
        PLANNED = "planned", _("Planned maintenance")

    class Severity(models.TextChoices):
        MINOR = "minor", _("Minor")
        MAJOR = "major", _("Major")
        CRITICAL = "critical", _("Critical")

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", _("Investigating")
        IDENTIFIED = "identified", _("Identified")
        MONITORING = "monitoring", _("Monitoring")
        RESOLVED = "resolved", _("Resolved")
        SCHEDULED = "scheduled", _("Scheduled")
        IN_PROGRESS = "in_progress", _("In progress")
        VERIFYING = "verifying", _("Verifying")
        COMPLETED = "completed", _("Completed")

    reference = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.UNPLANNED)
    severity = models.CharField(
        max_length=20, choices=Severity.choices, default=Severity.MAJOR
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    components = models.ManyToManyField(Component, blank=True, related_name="incidents")
    impact_started_at = models.DateTimeField(
        help_text=_("When the impact began, or when the maintenance starts.")
    )
    planned_end_at = models.DateTimeField(null=True, blank=True)
    detected_at = models.DateTimeField(null=True, blank=True)
    declared_at = models.DateTimeField(default=timezone.now)
    first_notice_at = models.DateTimeField(null=True, blank=True)
    restored_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    capture_grace = models.DurationField(
        default=dt.timedelta(hours=24),
        help_text=_("How long after restore deposits may still be recorded."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        ordering = ["-declared_at"]
        permissions = [
            ("manage_incident", "Can run an incident: updates, roles, bank contacts"),
            ("publish_status", "Can publish to the public status page"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(restored_at__isnull=True)
                | models.Q(restored_at__gte=models.F("impact_started_at")),
                name="incident_restored_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def capture_ends_at(self) -> dt.datetime | None:
        """End of the capture window: restore plus the grace period (open while unset)."""
        return self.restored_at + self.capture_grace if self.restored_at else None

    def capture_window_open(self, at: dt.datetime | None = None) -> bool:
        """Whether deposits may be recorded at ``at`` (now by default)."""
        return self.accepts_received_at(at or timezone.now())

    def accepts_received_at(self, received_at: dt.datetime) -> bool:
        """Whether a deposit received at this time falls inside the capture window."""
        if self.closed_at is not None or received_at < self.impact_started_at:
            return False
        end = self.capture_ends_at
        return end is None or received_at <= end
