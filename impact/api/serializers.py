"""Shapes of the impact API: the dashboard's figures, the review, compensation."""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from incidents.models import (
    ActionItem,
    CompensationOffer,
    CompensationRule,
    CustomerTier,
    Incident,
    OfferKind,
)
from outage_desk.api.serializers import StrictInputMixin
from outage_desk.models import User
from outage_desk.money import (
    MONEY_DIGITS,
    MONEY_PLACES,
    currency_places,
    money_round,
    money_validate,
)


class MoneyRowSerializer(serializers.Serializer):  # type: ignore[type-arg]
    currency = serializers.CharField()
    amount = serializers.CharField(help_text="Decimal as a string.")


class GroupRowSerializer(serializers.Serializer):  # type: ignore[type-arg]
    currency = serializers.CharField()
    count = serializers.IntegerField()
    sum = serializers.CharField(
        help_text="Decimal as a string, in the currency's places."
    )


class ChannelRowSerializer(GroupRowSerializer):
    channel = serializers.CharField()


class BranchRowSerializer(GroupRowSerializer):
    branch_code = serializers.CharField()


class DepositsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    count = serializers.IntegerField()
    by_currency = GroupRowSerializer(many=True)
    by_channel = ChannelRowSerializer(many=True)
    by_branch = BranchRowSerializer(many=True)


class BucketsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    under_1h = serializers.IntegerField()
    from_1h_to_4h = serializers.IntegerField()
    from_4h_to_24h = serializers.IntegerField()
    from_1d_to_3d = serializers.IntegerField()
    over_3d = serializers.IntegerField()


class UnconfirmedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    count = serializers.IntegerField()
    buckets = BucketsSerializer()


class FirstNoticeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    at = serializers.DateTimeField(allow_null=True)
    seconds = serializers.IntegerField(allow_null=True)


class CoverageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    told = serializers.IntegerField()
    affected = serializers.IntegerField()
    percent = serializers.CharField(allow_null=True)


class MissedItemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    update_id = serializers.IntegerField()
    due_at = serializers.DateTimeField()
    came_at = serializers.DateTimeField(allow_null=True)
    late_seconds = serializers.IntegerField()


class MissedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    count = serializers.IntegerField()
    items = MissedItemSerializer(many=True)


class FullConfirmationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    at = serializers.DateTimeField(allow_null=True)
    seconds_after_restore = serializers.IntegerField(allow_null=True)


class CostSerializer(serializers.Serializer):  # type: ignore[type-arg]
    waived_fees = MoneyRowSerializer(many=True)
    compensation = MoneyRowSerializer(many=True)
    total = MoneyRowSerializer(many=True)


class ImpactSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reference = serializers.CharField()
    computed_at = serializers.DateTimeField()
    customers_affected = serializers.IntegerField()
    deposits = DepositsSerializer()
    unconfirmed = UnconfirmedSerializer()
    first_notice = FirstNoticeSerializer()
    notice_coverage = CoverageSerializer()
    missed_updates = MissedSerializer()
    full_confirmation = FullConfirmationSerializer()
    estimated_cost = CostSerializer()


# --- The review, its action items, and compensation ------------------------------


class TimelineEntrySerializer(serializers.Serializer):  # type: ignore[type-arg]
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(
        choices=["window", "public", "internal", "role", "bank"]
    )
    text = serializers.CharField()


class OfferSummarySerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=CompensationOffer.Status.choices)
    offer_kind = serializers.ChoiceField(choices=OfferKind.choices)
    currency = serializers.CharField()
    count = serializers.IntegerField()
    cost = serializers.CharField(
        help_text="Decimal as a string, in the currency's places."
    )


class FeedbackSummarySerializer(serializers.Serializer):  # type: ignore[type-arg]
    count = serializers.IntegerField()
    average = serializers.CharField(allow_null=True, help_text="Two decimals, 1 to 5.")
    per_score = serializers.DictField(
        child=serializers.IntegerField(), help_text="Score (1 to 5) -> answers."
    )


class ActionItemSerializer(serializers.ModelSerializer[ActionItem]):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]

    class Meta:
        model = ActionItem
        fields = ["id", "kind", "title", "owner", "due_on", "done_at", "created_at"]
        read_only_fields = fields


class ActionItemInputSerializer(StrictInputMixin, serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.ChoiceField(choices=ActionItem.Kind.choices)
    title = serializers.CharField(max_length=200)
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True)
    )
    due_on = serializers.DateField()


class ReviewSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The review page: findings, the impact snapshot, timeline, offers, feedback."""

    incident = serializers.CharField(source="incident.reference")
    prepared_at = serializers.DateTimeField(source="review.prepared_at")
    completed_at = serializers.DateTimeField(
        source="review.completed_at", allow_null=True
    )
    completed_by = serializers.CharField(
        source="review.completed_by.username", allow_null=True, default=None
    )
    root_cause = serializers.CharField(source="review.root_cause")
    went_well = serializers.CharField(source="review.went_well")
    went_badly = serializers.CharField(source="review.went_badly")
    impact = serializers.JSONField(
        help_text="The impact figures as they stood when the review was prepared "
        "(the shape of GET /impact/<ref>/; empty until then)."
    )
    timeline = TimelineEntrySerializer(many=True)
    offers = OfferSummarySerializer(many=True)
    action_items = ActionItemSerializer(many=True)
    feedback = FeedbackSummarySerializer()
    may_edit = serializers.BooleanField(
        help_text="Whether you may edit the review (the incident's lead or staff "
        "who run incidents)."
    )
    may_approve_offers = serializers.BooleanField(
        help_text="Whether you are the incident's comms approver."
    )
    proposed_offers = serializers.IntegerField(
        help_text="Offers proposed and waiting for the comms approver."
    )


class ReviewInputSerializer(StrictInputMixin, serializers.Serializer):  # type: ignore[type-arg]
    """Findings to change; a field left out keeps its text."""

    root_cause = serializers.CharField(required=False, allow_blank=True)
    went_well = serializers.CharField(required=False, allow_blank=True)
    went_badly = serializers.CharField(required=False, allow_blank=True)


def money_text(amount: Decimal | None, currency: str) -> str | None:
    """An amount as a string in its currency's places (None stays None)."""
    return None if amount is None else f"{money_round(amount, currency):f}"


class OfferSerializer(serializers.ModelSerializer[CompensationOffer]):
    """One customer's offer (the address it was sent to is not shown)."""

    cost = serializers.SerializerMethodField(
        help_text="Decimal as a string, in the currency's places."
    )
    approved_by = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = CompensationOffer
        fields = [
            "id",
            "rule",
            "account",
            "tier",
            "offer_kind",
            "cost",
            "currency",
            "channel",
            "status",
            "proposed_at",
            "approved_by",
            "approved_at",
            "accepted_at",
            "redeemed_at",
        ]
        read_only_fields = fields

    def get_cost(self, offer: CompensationOffer) -> str:
        return offer.cost_text


class OffersApprovedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    approved = serializers.IntegerField(
        help_text="How many offers were approved and sent."
    )


class OfferAdvanceSerializer(StrictInputMixin, serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(
        choices=[
            CompensationOffer.Status.ACCEPTED.value,
            CompensationOffer.Status.REDEEMED.value,
        ],
        help_text="sent -> accepted -> redeemed, one step at a time.",
    )


class CompensationRuleSerializer(serializers.ModelSerializer[CompensationRule]):
    incident = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="reference", read_only=True, allow_null=True
    )
    value = serializers.SerializerMethodField(
        method_name="value_text",
        help_text="Decimal as a string: the amount, or the percent of a "
        "percentage discount.",
    )
    cap = serializers.SerializerMethodField(
        method_name="cap_text",
        help_text="Decimal as a string, or null: the most one offer may cost.",
    )

    class Meta:
        model = CompensationRule
        fields = [
            "id",
            "incident",
            "tier",
            "min_minutes",
            "max_minutes",
            "offer_kind",
            "value",
            "currency",
            "cap",
        ]
        read_only_fields = fields

    def value_text(self, rule: CompensationRule) -> str:
        return money_text(rule.value, rule.currency) or ""

    def cap_text(self, rule: CompensationRule) -> str | None:
        return money_text(rule.cap, rule.currency)


ERROR_FLOAT_MONEY = _('Send the amount as a string, e.g. "10.00".')
ERROR_BAND_EMPTY = _("The band's upper edge must be above its lower edge.")
MONEY_INPUT = {
    "max_digits": MONEY_DIGITS,
    "decimal_places": MONEY_PLACES,
    "coerce_to_string": True,
}


class CompensationRuleInputSerializer(StrictInputMixin, serializers.Serializer):  # type: ignore[type-arg]
    """A rule to create, or the fields of one to change (PATCH: only those sent)."""

    incident = serializers.SlugRelatedField(
        slug_field="reference",
        queryset=Incident.objects.all(),
        allow_null=True,
        required=False,
        help_text="Incident reference; null or left out: a default rule.",
    )
    tier = serializers.ChoiceField(choices=CustomerTier.choices)
    min_minutes = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)
    max_minutes = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, allow_null=True, required=False
    )
    offer_kind = serializers.ChoiceField(choices=OfferKind.choices)
    value = serializers.DecimalField(**MONEY_INPUT)  # type: ignore[arg-type]
    currency = serializers.CharField(min_length=3, max_length=3)
    cap = serializers.DecimalField(**MONEY_INPUT, allow_null=True, required=False)  # type: ignore[arg-type]

    def to_internal_value(self, data: Any) -> Any:
        # Money never passes through binary floating point.
        if isinstance(data, dict):
            floats = [k for k in ("value", "cap") if isinstance(data.get(k), float)]
            if floats:
                raise serializers.ValidationError(
                    {k: [str(ERROR_FLOAT_MONEY)] for k in floats}
                )
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        rule: CompensationRule | None = self.instance
        current: dict[str, Any] = {
            name: attrs[name] if name in attrs else getattr(rule, name, None)
            for name in ("min_minutes", "max_minutes", "value", "currency", "cap")
        }
        errors: dict[str, list[str]] = {}
        upper, lower = current["max_minutes"], current["min_minutes"] or 0
        if upper is not None and upper <= lower:
            errors["max_minutes"] = [str(ERROR_BAND_EMPTY)]
        try:
            currency_places(current["currency"])
        except DjangoValidationError as exc:
            errors["currency"] = exc.messages
        else:
            for name in ("value", "cap"):
                if current[name] is None:
                    continue
                try:
                    money_validate(current[name], current["currency"])
                except DjangoValidationError as exc:
                    errors[name] = exc.messages
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
