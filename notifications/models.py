import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
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
    # Events for integrators' webhooks only (no templates, no people).
    EVENT_DEPOSIT_RECORDED = "deposit.recorded", _("Event: deposit recorded")
    EVENT_DEPOSIT_CONFIRMED = "deposit.confirmed", _("Event: deposit confirmed")
    EVENT_DISCREPANCY_OPENED = "discrepancy.opened", _("Event: discrepancy opened")
    EVENT_INCIDENT_STATUS_CHANGED = (
        "incident.status_changed",
        _("Event: incident status changed"),
    )


# Kinds that only ever go to webhook endpoints that subscribe to them.
EVENT_KINDS = frozenset(
    {
        NoticeKind.EVENT_DEPOSIT_RECORDED,
        NoticeKind.EVENT_DEPOSIT_CONFIRMED,
        NoticeKind.EVENT_DISCREPANCY_OPENED,
        NoticeKind.EVENT_INCIDENT_STATUS_CHANGED,
    }
)

# A customer may not opt out of these: they are the record of their money.
MANDATORY_KINDS = frozenset({NoticeKind.DEPOSIT_RECEIVED, NoticeKind.DEPOSIT_CONFIRMED})
# Kinds that have templates (a webhook carries the context as JSON instead).
TEMPLATED_KINDS = [
    kind
    for kind in NoticeKind
    if kind != NoticeKind.WEBHOOK and kind not in EVENT_KINDS
]


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    WEBHOOK = "webhook", _("Webhook")


TEMPLATED_CHANNELS = [Channel.EMAIL, Channel.SMS]


class NoticeTemplate(models.Model):
    """The prepared wording for one kind, channel and language; versions hold the text."""

    kind = models.CharField(_("kind"), max_length=40, choices=NoticeKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES
    )

    class Meta:
        ordering = ["kind", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "channel", "language"], name="notice_template_unique"
            )
        ]
        permissions = [("approve_noticetemplate", "Can approve notice templates")]

    def __str__(self) -> str:
        return f"{self.kind} / {self.channel} / {self.language}"

    def current_version(self) -> "NoticeTemplateVersion | None":
        """The newest approved version: the one notices are rendered from."""
        return (
            self.versions.filter(status=NoticeTemplateVersion.Status.APPROVED)
            .order_by("-number")
            .first()
        )


class NoticeTemplateVersion(models.Model):
    """One saved wording of a template; an edit is a new row, approval makes it live."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")

    template = models.ForeignKey(
        NoticeTemplate, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField()
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "number"], name="notice_template_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(approved_at__isnull=False),
                name="notice_template_version_approved_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.number} ({self.status})"


class WebhookEndpoint(models.Model):
    """An integrator's URL that receives signed events for the kinds it subscribes to."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500, unique=True)
    secret = models.CharField(max_length=100)
    events = models.JSONField(_("events"), default=list, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OptOut(models.Model):
    """An address that asked for no more non-mandatory notices on one channel."""

    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "address"], name="notice_optout_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.address}"


class NoticeQuerySet(models.QuerySet["Notice"]):
    def due(self) -> "NoticeQuerySet":
        return self.filter(
            status=Notice.Status.PENDING, next_attempt_at__lte=timezone.now()
        )

    def for_ref(self, ref: str) -> "NoticeQuerySet":
        return self.filter(refs__ref=ref)


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
    recipient = models.CharField(max_length=500)
    language = models.CharField(max_length=10, default="en")
    dedupe_key = models.CharField(max_length=200)  # unique: see Meta
    template_version = models.ForeignKey(
        NoticeTemplateVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notices",
    )
    webhook_endpoint = models.ForeignKey(
        WebhookEndpoint,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notices",
    )
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    body_html = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True)
    # Free-form links back to the cause ("incident:INC-2026-0001", "deposit:42"),
    # so notifications need not import the apps that call it. NoticeRef indexes them.
    subject_refs = models.JSONField(default=list, blank=True)
    supersede_key = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A claim is a token written by a conditional update; only its holder sends.
    claim_token = models.UUIDField(null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        # Plain btree indexes only: keys are matched whole, never with LIKE, so the
        # pattern-ops copies a unique or db_index CharField gets would be written
        # on every insert for nothing. (status, ...) serves status alone too.
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], name="notice_dedupe_key_unique"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["supersede_key"], name="notice_supersede_key_idx"),
        ]
        permissions = [("resend_notice", "Can resend a failed notice")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.status})"

    @property
    def message_id(self) -> str:
        """A Message-ID that stays the same however often this notice is sent."""
        domain = settings.NOTICE_MESSAGE_ID_DOMAIN
        return f"<notice-{self.pk}.{self.dedupe_key_digest}@{domain}>"

    @property
    def dedupe_key_digest(self) -> str:
        return hashlib.sha256(self.dedupe_key.encode()).hexdigest()[:16]


class NoticeRef(models.Model):
    """One subject reference of a notice, indexed so the delivery log can filter by it."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="refs")
    ref = models.CharField(max_length=100)

    class Meta:
        # Matched whole, never with LIKE: no pattern-ops copy (see Notice.Meta).
        indexes = [models.Index(fields=["ref"], name="noticeref_ref_idx")]

    def __str__(self) -> str:
        return self.ref


class DeliveryAttempt(models.Model):
    """One try at handing a notice to its channel: the provider's id or the error."""

    notice = models.ForeignKey(
        Notice, on_delete=models.PROTECT, related_name="deliveries"
    )
    attempted_at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    ok = models.BooleanField()
    provider_message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.notice_id} {'ok' if self.ok else 'error'} {self.attempted_at}"
