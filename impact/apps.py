from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImpactConfig(AppConfig):
    """Read-only figures across incidents, deposits and notices; review screens."""

    name = "impact"
    verbose_name = _("Impact")
