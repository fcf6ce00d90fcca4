"""HTML input for the incident screens and the public subscription form."""

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from outage_desk.models import User

from .models import (
    Audience,
    BankContact,
    Component,
    Incident,
    OutageRole,
    Subscriber,
)

StrOrPromise = Any  # a str or a lazy translation

LOCAL_INPUT = forms.DateTimeInput(
    attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
)


class StyledForm(forms.Form):
    """Adds Bootstrap classes to every widget."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for field in self.fields.values():
            widget = field.widget
            if isinstance(
                widget,
                forms.CheckboxSelectMultiple | forms.RadioSelect | forms.CheckboxInput,
            ):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")


def _dt_field(
    label: StrOrPromise, required: bool = False, help_text: StrOrPromise = ""
) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=LOCAL_INPUT,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "iso-8601"],
        help_text=help_text,
    )


class IncidentOpenForm(StyledForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    title_zh_hans = forms.CharField(
        label=_("Title (Chinese)"), max_length=200, required=False
    )
    planned = forms.BooleanField(label=_("Planned maintenance"), required=False)
    severity = forms.ChoiceField(
        label=_("Severity"), choices=Incident.Severity.choices, initial="major"
    )
    components = forms.ModelMultipleChoiceField(
        label=_("Affected services"),
        queryset=Component.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    starts_at = _dt_field(
        _("Impact started / maintenance starts (UTC)"), help_text=_("Empty: now.")
    )
    ends_at = _dt_field(_("Maintenance ends (UTC)"))


class TransitionForm(StyledForm):
    status = forms.ChoiceField(label=_("New status"), choices=())
    at = _dt_field(
        _("Restored at (UTC)"), help_text=_("Only for resolved/completed; empty: now.")
    )

    def __init__(self, *args: object, allowed: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [  # type: ignore[attr-defined]
            (value, Incident.Status(value).label) for value in allowed
        ]


class UpdateForm(StyledForm):
    audience = forms.ChoiceField(label=_("Audience"), choices=Audience.choices)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=())
    text_en = forms.CharField(
        label=_("Text (English)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    text_zh_hans = forms.CharField(
        label=_("Text (Chinese)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    eta = _dt_field(_("ETA (UTC)"))
    eta_source = forms.ModelChoiceField(
        label=_("ETA source (bank contact)"),
        queryset=BankContact.objects.none(),
        required=False,
    )
    notify_customers = forms.BooleanField(label=_("Notify customers"), required=False)
    next_update_due_at = _dt_field(_("Next update due (UTC)"))

    def __init__(
        self, *args: object, incident: Incident, allowed: list[str], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("(unchanged)"))] + [  # type: ignore[attr-defined]
            (value, Incident.Status(value).label) for value in allowed
        ]
        self.fields["eta_source"].queryset = incident.bank_contacts.order_by(  # type: ignore[attr-defined]
            "-contacted_at"
        )

    def texts(self) -> dict[str, str]:
        return {
            "en": self.cleaned_data["text_en"],
            "zh-hans": self.cleaned_data["text_zh_hans"],
        }


class RoleAssignForm(StyledForm):
    role = forms.ChoiceField(label=_("Role"), choices=OutageRole.choices)
    user = forms.ModelChoiceField(
        label=_("Person"),
        queryset=User.objects.filter(is_active=True).order_by("username"),
    )


TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class BankContactForm(StyledForm):
    contacted_at = _dt_field(_("When (local time)"), required=True)
    contacted_tz = forms.ChoiceField(
        label=_("Time zone"), choices=TIMEZONE_CHOICES, initial="UTC"
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=BankContact.Channel.choices)
    bank_agent = forms.CharField(
        label=_("Bank agent (name or id)"), required=False, max_length=200
    )
    bank_ticket_ref = forms.CharField(
        label=_("Bank ticket reference"), required=False, max_length=100
    )
    summary = forms.CharField(
        label=_("What was said"), widget=forms.Textarea(attrs={"rows": 3})
    )
    commitments = forms.CharField(
        label=_("Commitments"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    eta_given = _dt_field(_("ETA given by the bank (UTC)"))
    evidence = forms.FileField(label=_("Evidence file"), required=False)
    follow_up_due_at = _dt_field(_("Follow-up due (UTC)"))
    escalation = forms.ChoiceField(
        label=_("Escalation"), choices=BankContact.Escalation.choices, initial="none"
    )
    escalated_on = forms.DateField(
        label=_("Escalated on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    corrects = forms.ModelChoiceField(
        label=_("Corrects entry"), queryset=BankContact.objects.none(), required=False
    )

    def __init__(self, *args: object, incident: Incident, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["corrects"].queryset = incident.bank_contacts.order_by(  # type: ignore[attr-defined]
            "-contacted_at"
        )

    def contacted_at_aware(self) -> dt.datetime:
        """The local wall-clock time read in the chosen time zone."""
        value: dt.datetime = self.cleaned_data["contacted_at"]
        tz = zoneinfo.ZoneInfo(self.cleaned_data["contacted_tz"])
        return value.replace(tzinfo=None).replace(tzinfo=tz)


class SubscribeForm(StyledForm):
    channel = forms.ChoiceField(
        label=_("How"),
        choices=Subscriber.Channel.choices,
        widget=forms.RadioSelect,
        initial="email",
    )
    address = forms.CharField(
        label=_("E-mail address or mobile number"), max_length=254
    )
    components = forms.ModelMultipleChoiceField(
        label=_("Only these services (none: all)"),
        queryset=Component.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
