from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NoticeKind(models.TextChoices):
    OUTAGE_STARTED = "outage_started", _("Outage started")
    ETA_UPDATE = "eta_update", _("ETA update")
    RESOLVED = "resolved", _("Resolved")
    MAINTENANCE_SCHEDULED = "maintenance_scheduled", _("Maintenance scheduled")
    MAINTENANCE_REMINDER = "maintenance_reminder", _("Maintenance reminder")
    DEPOSIT_RECEIVED = "deposit_received", _("Deposit received (provisional)")
    DEPOSIT_CONFIRMED = "deposit_confirmed", _("Deposit confirmed")
    DEPOSIT_REVERSED = "deposit_reversed", _("Deposit reversed")
    COMPENSATION_OFFER = "compensation_offer", _("Apology / compensation offer")
    SUBSCRIPTION_CONFIRM = "subscription_confirm", _("Subscription confirmation")
    STAFF_ROLE_UNFILLED = "staff_role_unfilled", _("Staff: role unfilled")
    STAFF_FOLLOW_UP_OVERDUE = "staff_follow_up_overdue", _("Staff: follow-up overdue")
    STAFF_APPROVAL_WAITING = "staff_approval_waiting", _("Staff: approval waiting")
    STAFF_NOTICE_FAILED = "staff_notice_failed", _("Staff: notice failed")
    WEBHOOK = "webhook", _("Webhook event")


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    WEBHOOK = "webhook", _("Webhook")


class Notice(models.Model):
    """One message to one recipient: an outbox row written in the causing transaction."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        STALE = "stale", _("Not sent: superseded")

    kind = models.CharField(max_length=40, choices=NoticeKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=254)
    language = models.CharField(max_length=10, default="en")
    dedupe_key = models.CharField(max_length=200, unique=True)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    body_html = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True)
    # Free-form links back to the cause ("incident:INC-2026-0001", "deposit:42"),
    # so notifications need not import the apps that call it.
    subject_refs = models.JSONField(default=list, blank=True)
    supersede_key = models.CharField(max_length=200, blank=True, db_index=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.status})"
