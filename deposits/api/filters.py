import django_filters

from ..models import Deposit


class DepositFilter(django_filters.FilterSet):
    incident = django_filters.CharFilter(field_name="incident__reference")
    branch = django_filters.CharFilter(field_name="branch__code")
    received_after = django_filters.IsoDateTimeFilter(
        field_name="received_at", lookup_expr="gte"
    )
    received_before = django_filters.IsoDateTimeFilter(
        field_name="received_at", lookup_expr="lt"
    )

    class Meta:
        model = Deposit
        fields = [
            "status",
            "channel",
            "currency",
            "account",
            "receipt_number",
            "source",
            "incident",
            "branch",
        ]
