"""Output shape of the impact API: the same figures as the dashboard."""

from rest_framework import serializers


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
