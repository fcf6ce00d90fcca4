import datetime as dt
import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Component(models.Model):
    """A status-page component customers recognise ("Card payments", "Transfers")."""

    name = models.CharField(max_length=100, unique=True)
    # language code -> name for customers reading another language ("zh-hans").
    name_translations = models.JSONField(default=dict, blank=True)
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
    # language code -> title on the status page for readers of other languages.
    title_translations = models.JSONField(default=dict, blank=True)
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
    # Minutes-before-start offsets whose maintenance reminder has gone out.
    reminders_sent = models.JSONField(default=list, blank=True)

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


class Audience(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")


class IncidentUpdate(models.Model):
    """One entry in an incident's timeline, public or internal, in one or more languages."""

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="updates"
    )
    audience = models.CharField(max_length=10, choices=Audience.choices)
    status = models.CharField(max_length=20, choices=Incident.Status.choices)
    # language code -> text ("en", "zh-hans"); English is the fallback.
    texts = models.JSONField(default=dict)
    eta = models.DateTimeField(null=True, blank=True)
    eta_source = models.ForeignKey(
        "BankContact",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cited_by",
        help_text=_("The bank-contact entry the ETA quotes."),
    )
    notify_customers = models.BooleanField(default=False)
    next_update_due_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # An ETA customers see quotes the bank, never an internal guess.
            models.CheckConstraint(
                condition=models.Q(eta__isnull=True)
                | models.Q(audience="internal")
                | models.Q(eta_source__isnull=False),
                name="incidentupdate_public_eta_cites_bank",
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident.reference} {self.audience} {self.created_at:%Y-%m-%d %H:%M}"

    def text_for(self, language: str) -> str:
        """The text in ``language``, falling back to English, then to any language."""
        return (
            self.texts.get(language)
            or self.texts.get(language.split("-")[0])
            or self.texts.get("en")
            or next(iter(self.texts.values()), "")
        )


class OutageRole(models.TextChoices):
    LEAD = "lead", _("Incident lead")
    PHONE_DESK = "phone_desk", _("Phone desk")
    STATUS_PUBLISHER = "status_publisher", _("Status-page publisher")
    BANK_LIAISON = "bank_liaison", _("Bank liaison")
    FIXER = "fixer", _("Fixer")
    COMMS_APPROVER = "comms_approver", _("Comms approver")


class RoleAssignment(models.Model):
    """Who holds an outage role on an incident; a reassignment ends the previous one."""

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="role_assignments"
    )
    role = models.CharField(max_length=20, choices=OutageRole.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="outage_roles"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "role", "-assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "role"],
                condition=models.Q(ended_at__isnull=True),
                name="roleassignment_one_holder_per_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident.reference} {self.get_role_display()}: {self.user}"


def evidence_upload_to(instance: "BankContact", filename: str) -> str:
    """A random name: the original one is kept in a field, never used on disk."""
    suffix = Path(filename).suffix.lower()[:10]
    return f"incidents/evidence/{uuid.uuid4().hex}{suffix}"


class BankContact(models.Model):
    """One contact with the bank or processor. Append-only: corrections are new entries."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("E-mail")
        PORTAL = "portal", _("Support portal")
        CHAT = "chat", _("Chat")
        MEETING = "meeting", _("Meeting")
        OTHER = "other", _("Other")

    class Escalation(models.TextChoices):
        NONE = "none", _("Not escalated")
        BANK_MANAGEMENT = "bank_management", _("Bank management")
        REGULATOR = "regulator", _("Regulator")
        LEGAL = "legal", _("Legal")

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="bank_contacts"
    )
    contacted_at = models.DateTimeField()
    contacted_tz = models.CharField(
        max_length=64,
        default="UTC",
        help_text=_("Time zone the contact was logged in."),
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    bank_agent = models.CharField(max_length=200, blank=True)
    bank_ticket_ref = models.CharField(max_length=100, blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    summary = models.TextField(help_text=_("What was said."))
    commitments = models.TextField(blank=True)
    eta_given = models.DateTimeField(null=True, blank=True)
    evidence = models.FileField(upload_to=evidence_upload_to, blank=True)
    evidence_name = models.CharField(max_length=255, blank=True)
    follow_up_due_at = models.DateTimeField(null=True, blank=True)
    escalation = models.CharField(
        max_length=20, choices=Escalation.choices, default=Escalation.NONE
    )
    escalated_on = models.DateField(null=True, blank=True)
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["incident", "contacted_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(escalation="none")
                | models.Q(escalated_on__isnull=False),
                name="bankcontact_escalation_has_date",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.incident.reference} #{self.pk} {self.contacted_at:%Y-%m-%d %H:%M}"
        )


class StatusBanner(models.Model):
    """The single "temporarily unavailable" banner of the public status page."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    active = models.BooleanField(default=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return "on" if self.active else "off"


class Subscriber(models.Model):
    """A customer who asked for status-page notices by e-mail or SMS."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")

    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = models.CharField(max_length=254)
    language = models.CharField(max_length=10, default="en")
    # None chosen: every incident.
    components = models.ManyToManyField(Component, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "address"], name="subscriber_unique_address"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.masked_address}"

    @property
    def masked_address(self) -> str:
        """The address with most characters hidden, for logs and the audit trail."""
        head, _sep, domain = self.address.partition("@")
        return f"{head[:2]}***{'@' + domain if domain else head[-2:]}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


# Registered with the app here; defined in their own module for size.
from .aftermath import (  # noqa: E402
    ActionItem,
    CompensationOffer,
    CompensationRule,
    CustomerTier,
    FeedbackAnswer,
    OfferKind,
    Review,
)

__all__ = [
    "ActionItem",
    "Audience",
    "BankContact",
    "CompensationOffer",
    "CompensationRule",
    "Component",
    "CustomerTier",
    "FeedbackAnswer",
    "Incident",
    "IncidentUpdate",
    "OfferKind",
    "OutageRole",
    "Review",
    "RoleAssignment",
    "StatusBanner",
    "Subscriber",
]
