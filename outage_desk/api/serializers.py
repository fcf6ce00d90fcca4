"""Shared pieces of API serializers."""

import copy
from typing import Any, ClassVar

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


class FieldsBuiltOnceMixin:
    """Build a serializer class's fields once; each instance binds its own copies.

    DRF builds every field anew for each serializer instance (a ModelSerializer
    inspects the model each time), which is most of what reading or writing one
    object costs on a hot endpoint. The fields built once are never bound; each
    instance gets shallow copies to bind (name, parent), so nothing bound is
    shared between instances. For serializers without nested serializers.
    """

    _fields_built: ClassVar[dict[type, dict[str, Any]]] = {}

    def get_fields(self) -> dict[str, Any]:
        built = FieldsBuiltOnceMixin._fields_built.get(type(self))
        if built is None:
            built = super().get_fields()  # type: ignore[misc]
            FieldsBuiltOnceMixin._fields_built[type(self)] = built
        return {name: copy.copy(field) for name, field in built.items()}
