"""Shared pieces of API input serializers."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

ERROR_UNKNOWN_FIELD = _("Unknown field.")


class StrictInputMixin:
    """Refuse fields the serializer does not know (a typo must not pass silently)."""

    def to_internal_value(self, data: Any) -> Any:
        serializer: serializers.Serializer[Any] = self  # type: ignore[assignment]
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(serializer.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [str(ERROR_UNKNOWN_FIELD)] for name in unknown}
                )
        return super().to_internal_value(data)  # type: ignore[misc]
