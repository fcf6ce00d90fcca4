from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A member of staff; clerks and supervisors belong to one branch."""

    branch = models.ForeignKey(
        "deposits.Branch",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
        help_text=_("Clerks and supervisors see and act on this branch only."),
    )
    language = models.CharField(max_length=10, blank=True, default="")

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def role_names(self) -> list[str]:
        """Names of the roles (groups) this user holds."""
        return sorted(g.name for g in self.groups.all())

    @property
    def role_labels(self) -> list[str]:
        """The user's roles in the active language, for display."""
        from .roles import ROLE_LABELS

        return [str(ROLE_LABELS.get(name, name)) for name in self.role_names]


ERROR_APPEND_ONLY = "%s rows are append-only: they are never updated or deleted."


class AppendOnlyQuerySet(models.QuerySet):  # type: ignore[type-arg]
    """Refuses bulk update and delete; PostgreSQL triggers refuse them too."""

    def update(self, **kwargs: object) -> int:
        raise PermissionError(ERROR_APPEND_ONLY % self.model.__name__)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(ERROR_APPEND_ONLY % self.model.__name__)


class AppendOnlyModel(models.Model):
    """A row that is written once: no save() of an existing row, no delete()."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise PermissionError(ERROR_APPEND_ONLY % type(self).__name__)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError(ERROR_APPEND_ONLY % type(self).__name__)


class AuditEvent(AppendOnlyModel):
    """One state change anywhere in the app, hash-chained to the event before it."""

    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        "outage_desk.User", null=True, blank=True, on_delete=models.PROTECT
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    # Which of the AUDIT_CHAINS chains links this event (see AuditChainHead).
    chain = models.PositiveSmallIntegerField(default=1)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)  # unique: see Meta

    class Meta:
        ordering = ["pk"]
        # A unique constraint, not unique=True: no pattern-ops copy of the index
        # (hashes are matched whole), one index fewer written per event.
        constraints = [
            models.UniqueConstraint(fields=["hash"], name="audit_event_hash_unique")
        ]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


# Events are spread over this many hash chains by the object they describe, so
# writes about different objects do not queue behind one lock; every event of one
# object is in one chain, in order.
AUDIT_CHAINS = 64


class AuditChainHead(models.Model):
    """The newest hash of one chain; locking it orders appends to that chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64)
    last_event_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id__gte=1, id__lte=AUDIT_CHAINS),
                name="audit_head_chain_range",
            )
        ]

    def __str__(self) -> str:
        return self.last_hash


class ApiToken(models.Model):
    """A named API token; only its SHA-256 is stored, the key is shown once."""

    user = models.ForeignKey(
        "outage_desk.User", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first response to an API request with an Idempotency-Key, kept for replay."""

    # No index of its own: the unique (user, key) constraint leads with it.
    user = models.ForeignKey(
        "outage_desk.User", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], name="idempotency_key_unique_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key} -> {self.status_code}"


class TaskRun(models.Model):
    """A Celery task message while workers run it, and for good once it failed.

    Kept per message (the task id stays the same on every redelivery), so the count
    of deliveries survives a killed worker and a visibility timeout.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        FAILED = "failed", _("Failed")

    task_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255)
    attempts = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("task run")

    def __str__(self) -> str:
        return f"{self.name}[{self.task_id}] {self.status}"
