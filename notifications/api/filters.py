import django_filters

from ..models import Notice


class NoticeFilter(django_filters.FilterSet):
    ref = django_filters.CharFilter(
        field_name="refs__ref", help_text="Incident, customer or deposit reference."
    )

    class Meta:
        model = Notice
        fields = ["status", "channel", "kind", "ref"]
