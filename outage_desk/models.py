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

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def role_names(self) -> list[str]:
        """Names of the roles (groups) this user holds."""
        return sorted(g.name for g in self.groups.all())


class AuditEvent(models.Model):
    """One state change anywhere in the app, hash-chained to the event before it."""

    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        "outage_desk.User", null=True, blank=True, on_delete=models.PROTECT
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """A single row holding the newest hash; locking it serialises appends to the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64)
    last_event_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=1), name="audit_head_singleton"
            )
        ]

    def __str__(self) -> str:
        return self.last_hash


class IdempotencyRecord(models.Model):
    """The first response to an API request with an Idempotency-Key, kept for replay."""

    user = models.ForeignKey(
        "outage_desk.User", on_delete=models.CASCADE, related_name="+"
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
