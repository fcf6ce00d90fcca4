"""HTML input for deposits; the services decide, the forms only carry and show."""

import uuid
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident
from incidents.selectors import incident_list_open
from outage_desk.money import MONEY_DIGITS, MONEY_PLACES

from .models import Customer, Deposit


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; checking them is the evidence module's job."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": ".png,.jpg,.jpeg,.pdf"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def _bootstrap(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        css = "form-select" if isinstance(widget, forms.Select) else "form-control"
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class DepositCaptureForm(forms.Form):
    """The clerk's capture form; client_uuid is made when the form is first shown."""

    client_uuid = forms.CharField(widget=forms.HiddenInput)
    branch = forms.CharField(widget=forms.HiddenInput)
    # Any incident resolves here so that a closed one gets the service's own
    # message; the list offers the open ones only.
    incident = forms.ModelChoiceField(
        queryset=Incident.objects.all(), label=_("Incident"), empty_label=None
    )
    channel = forms.ChoiceField(choices=Deposit.Channel.choices, label=_("Channel"))
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.all(), required=False, widget=forms.HiddenInput
    )
    account = forms.CharField(max_length=34, label=_("Account"))
    payer_name = forms.CharField(max_length=200, label=_("Payer name"))
    amount = forms.DecimalField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        label=_("Amount"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    currency = forms.CharField(min_length=3, max_length=3, label=_("Currency"))
    received_at = forms.DateTimeField(
        label=_("Received at"),
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": "60"}, format="%Y-%m-%dT%H:%M"
        ),
    )
    reference = forms.CharField(
        max_length=140, required=False, label=_("Reference (transfer, slip)")
    )
    note = forms.CharField(
        required=False, label=_("Note"), widget=forms.Textarea(attrs={"rows": 2})
    )
    evidence = MultipleFileField(required=False, label=_("Evidence (photo or PDF)"))
    duplicate_reason = forms.CharField(
        required=False,
        label=_("Reason to record a possible duplicate"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        open_incidents = list(incident_list_open())
        self.fields["incident"].widget.choices = [
            (incident.pk, str(incident)) for incident in open_incidents
        ]
        # Offline capture sends through the API, which names incidents by reference.
        self.incident_refs = {str(i.pk): i.reference for i in open_incidents}
        self.fields["currency"].widget.attrs.update(
            {"autocapitalize": "characters", "size": 4}
        )
        _bootstrap(self)

    @classmethod
    def initial_for(cls, *, branch: Any) -> dict[str, Any]:
        """Fresh values: a new client UUID, the branch's currency, now."""
        incident = incident_list_open().first()
        return {
            "client_uuid": str(uuid.uuid4()),
            "branch": branch.code,
            "incident": incident.pk if incident else None,
            "channel": Deposit.Channel.CASH,
            "currency": branch.currency,
            "received_at": timezone.localtime().replace(second=0, microsecond=0),
        }

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()

    def add_service_error(self, error: ValidationError) -> None:
        """Show a service's ValidationError on its fields, or above the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, errors in error.error_dict.items():
            hidden = field in ("branch", "client_uuid", "customer", NON_FIELD_ERRORS)
            target = field if field in self.fields and not hidden else None
            for item in errors:
                self.add_error(target, item)


class ReversalRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the reversal"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )


class ConflictResolveForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False)


class DepositImportForm(forms.Form):
    incident = forms.ModelChoiceField(
        queryset=Incident.objects.none(), label=_("Incident"), empty_label=None
    )
    file = forms.FileField(label=_("Deposit log (CSV)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["incident"].queryset = Incident.objects.filter(closed_at=None)  # type: ignore[attr-defined]
        _bootstrap(self)
