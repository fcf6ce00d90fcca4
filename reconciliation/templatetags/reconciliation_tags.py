"""Labels for the matcher's plain-English codes (reason fields, hints)."""

from django import template
from django.utils.translation import gettext_lazy as _

from reconciliation.engine import HINT_DECIMAL_SHIFT, HINT_TRANSPOSED

register = template.Library()

LABELS = {
    "amount": _("amount"),
    "account": _("account"),
    "date": _("date"),
    "name": _("name"),
    "reference": _("reference"),
    HINT_TRANSPOSED: _("transposed digits"),
    HINT_DECIMAL_SHIFT: _("decimal point shifted"),
}


@register.filter
def recon_label(value: str) -> object:
    """The translated label of a reason field or hint; other text as it is."""
    return LABELS.get(value, value)
