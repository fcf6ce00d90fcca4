import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField

from ..models import Deposit

ERROR_OFFSET = _("Enter an ISO 8601 date and time with an offset within ±14:00.")


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time with any real offset, turned into UTC.

    PostgreSQL refuses offsets beyond 15:59 hours; ISO 8601 allows them, so a far-out
    offset would reach the database as an error. Real offsets stay within 14 hours.
    """

    def to_python(self, value: Any) -> dt.datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        offset = parsed.utcoffset()
        if offset is not None and abs(offset) > dt.timedelta(hours=14):
            raise forms.ValidationError(ERROR_OFFSET, code="invalid")
        return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class DepositFilter(django_filters.FilterSet):
    incident = django_filters.CharFilter(field_name="incident__reference")
    branch = django_filters.CharFilter(field_name="branch__code")
    received_after = UtcIsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UtcIsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

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
