"""After an outage: compensation rules and offers, the review, action items, feedback.

Kept apart from models.py so that module stays readable; models.py imports these so
Django registers them under the incidents app.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outage_desk.money import MONEY_DIGITS, MONEY_PLACES, money_round


class CustomerTier(models.TextChoices):
    """The core system's customer tiers (mirrors deposits' Customer.Tier values)."""

    STANDARD = "standard", _("Standard")
    PREMIUM = "premium", _("Premium")
    BUSINESS = "business", _("Business")


class OfferKind(models.TextChoices):
    FEE_WAIVER = "fee_waiver", _("Fee waiver")
    PERCENT_DISCOUNT = "percent_discount", _("Percentage discount")
    FIXED_CREDIT = "fixed_credit", _("Fixed credit")


class CompensationRule(models.Model):
    """Tier x outage-duration band -> an offer; incident rules replace the defaults."""

    incident = models.ForeignKey(
        "incidents.Incident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="compensation_rules",
        help_text=_("Empty: a default rule for every incident without its own."),
    )
    tier = models.CharField(max_length=20, choices=CustomerTier.choices)
    # The band is [min_minutes, max_minutes): the lower edge belongs to it, the upper not.
    min_minutes = models.PositiveIntegerField(default=0)
    max_minutes = models.PositiveIntegerField(null=True, blank=True)
    offer_kind = models.CharField(max_length=20, choices=OfferKind.choices)
    # Fee waiver and fixed credit: an amount; percentage discount: the percent.
    value = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    currency = models.CharField(max_length=3)
    cap = models.DecimalField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        null=True,
        blank=True,
        help_text=_("Most one offer may cost, in the rule's currency."),
    )

    class Meta:
        ordering = ["incident", "tier", "min_minutes"]
        constraints = [
            models.CheckConstraint(
                condition=Q(value__gt=0), name="compensationrule_value_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_minutes__isnull=True)
                | Q(max_minutes__gt=models.F("min_minutes")),
                name="compensationrule_band_not_empty",
            ),
        ]

    def __str__(self) -> str:
        upper = self.max_minutes if self.max_minutes is not None else "∞"
        return f"{self.tier} [{self.min_minutes}, {upper}) min: {self.offer_kind}"

    def covers(self, minutes: int) -> bool:
        """Whether an outage of ``minutes`` falls in this rule's band."""
        return self.min_minutes <= minutes and (
            self.max_minutes is None or minutes < self.max_minutes
        )


class CompensationOffer(models.Model):
    """One customer's apology offer for an incident, from proposal to redemption."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        REDEEMED = "redeemed", _("Redeemed")

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="offers"
    )
    rule = models.ForeignKey(
        CompensationRule, on_delete=models.PROTECT, related_name="offers"
    )
    account = models.CharField(max_length=34)
    tier = models.CharField(max_length=20, choices=CustomerTier.choices)
    offer_kind = models.CharField(max_length=20, choices=OfferKind.choices)
    cost = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    currency = models.CharField(max_length=3)
    # Where the offer goes: copied from the customer record when proposed.
    channel = models.CharField(max_length=10, blank=True)
    address = models.CharField(max_length=254, blank=True)
    language = models.CharField(max_length=10, default="en")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "account"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "account"],
                name="compensationoffer_one_per_customer",
            ),
            models.CheckConstraint(
                condition=Q(cost__gte=0), name="compensationoffer_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.offer_kind} {self.cost} {self.currency}"

    @property
    def cost_text(self) -> str:
        """The cost in the currency's own decimal places."""
        return str(money_round(self.cost, self.currency))


class Review(models.Model):
    """The post-incident review: prepared on restore, completed by the lead."""

    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.PROTECT, related_name="review"
    )
    prepared_at = models.DateTimeField(default=timezone.now)
    # Impact figures as they stood when the review was (re)prepared.
    impact = models.JSONField(default=dict, blank=True)
    root_cause = models.TextField(blank=True)
    went_well = models.TextField(blank=True)
    went_badly = models.TextField(blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-prepared_at"]
        permissions = [
            ("view_impact", "Can see impact figures, offers and reviews"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True) | ~Q(root_cause=""),
                name="review_complete_has_root_cause",
            )
        ]

    def __str__(self) -> str:
        return f"Review of {self.incident_id}"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


class ActionItem(models.Model):
    """Something the review decided to do, with an owner and a due date."""

    class Kind(models.TextChoices):
        DETECTIVE = "detective", _("Detective")
        PREVENTIVE = "preventive", _("Preventive")
        CORRECTIVE = "corrective", _("Corrective")

    review = models.ForeignKey(
        Review, on_delete=models.PROTECT, related_name="action_items"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    # The last day an overdue reminder went out, so beat sends one a day at most.
    reminded_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"


class FeedbackAnswer(models.Model):
    """A customer's answer to the one satisfaction question of the resolved notice."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="feedback"
    )
    # A digest of the recipient's channel and address: one answer each, no address kept.
    recipient_digest = models.CharField(max_length=64)
    score = models.PositiveSmallIntegerField()
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["answered_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "recipient_digest"],
                name="feedbackanswer_one_per_recipient",
            ),
            models.CheckConstraint(
                condition=Q(score__gte=1) & Q(score__lte=5),
                name="feedbackanswer_score_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.score}"
