"""Labels for the matcher's plain-English codes (reason fields, hints, reasons)."""

import re
from typing import Any

from django import template
from django.forms import BoundField
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

# The matcher stores why it paired two items in plain English (the API and the
# export give them as they are); the screens show them in the reader's language.
REASONS = {
    "equal": _("equal"),
    "differs": _("differs"),
    "same day": _("same day"),
    "looks mistyped": _("looks mistyped"),
}
REASON_PATTERNS = [
    (
        re.compile(r"(?P<days>\d+) business day\(s\) apart"),
        _("%(days)s business day(s) apart"),
    ),
    (
        re.compile(r"up to (?P<days>\d+) business day\(s\) apart"),
        _("up to %(days)s business day(s) apart"),
    ),
    (re.compile(r"(?P<percent>\d+)% similar"), _("%(percent)s%% similar")),
    (
        re.compile(r"within tolerance \((?P<difference>.+)\)"),
        _("within tolerance (%(difference)s)"),
    ),
    (
        re.compile(r"(?P<deposits>\d+) deposit\(s\) = (?P<records>\d+) record\(s\)"),
        _("%(deposits)s deposit(s) = %(records)s record(s)"),
    ),
]


@register.filter
def recon_label(value: str) -> object:
    """The translated label of a reason field or hint; other text as it is."""
    return LABELS.get(value, value)


@register.filter
def recon_reason(value: str) -> object:
    """A match reason in the reader's language; an unknown one as it is."""
    if value in REASONS:
        return REASONS[value]
    for pattern, text in REASON_PATTERNS:
        found = pattern.fullmatch(value)
        if found:
            return str(text) % found.groupdict()
    return value


@register.filter
def write_off_reason(code: str) -> object:
    """The translated label of a write-off reason code; an unknown code as it is."""
    from reconciliation.resolutions import WRITE_OFF_REASONS

    return WRITE_OFF_REASONS.get(code, code)


@register.filter
def chosen_labels(field: BoundField) -> str:
    """The labels of a multiple-choice field's chosen values, in the choices' order."""
    chosen = {str(value) for value in field.value() or []}
    choices: list[tuple[Any, Any]] = list(getattr(field.field, "choices", ()))
    return ", ".join(str(label) for value, label in choices if str(value) in chosen)
