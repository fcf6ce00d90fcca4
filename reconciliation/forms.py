from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ImportProfile, RecordFormat


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Records file"))
    format = forms.ChoiceField(label=_("Format"), choices=RecordFormat.choices)
    profile = forms.ModelChoiceField(
        label=_("Import profile"),
        queryset=ImportProfile.objects.all(),
        required=False,
        help_text=_("Leave empty for the canonical CSV layout or a bank statement."),
    )


class RunForm(forms.Form):
    dry_run = forms.BooleanField(required=False)


ENCODINGS = [
    ("utf-8-sig", "UTF-8"),
    ("gbk", "GBK"),
    ("gb18030", "GB18030"),
    ("cp1252", "Windows-1252"),
    ("latin-1", "ISO-8859-1"),
]
PROFILE_FIELDS = [
    ("external_id", _("Transaction id")),
    ("account", _("Account")),
    ("amount", _("Amount")),
    ("debit", _("Debit")),
    ("credit", _("Credit")),
    ("currency", _("Currency")),
    ("value_date", _("Value date")),
    ("counterparty", _("Payer")),
    ("reference", _("Reference")),
    ("description", _("Description")),
]


class SampleForm(forms.Form):
    sample = forms.FileField(label=_("Sample file (CSV)"))
    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODINGS)


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Profile name"), max_length=100)
    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODINGS)
    delimiter = forms.CharField(label=_("Delimiter"), max_length=1, strip=False)
    header_row = forms.IntegerField(label=_("Header row"), min_value=0)
    decimal_separator = forms.CharField(label=_("Decimal separator"), max_length=1)
    thousands_separator = forms.CharField(
        label=_("Thousands separator"), max_length=1, required=False, strip=False
    )
    date_format = forms.CharField(label=_("Date format"), max_length=40)
    sign = forms.ChoiceField(label=_("Signs"), choices=ImportProfile.Sign.choices)
    default_currency = forms.CharField(
        label=_("Currency when the file has none"), max_length=3, required=False
    )
    headers = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: object, headers: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = [("", "—"), *((h, h) for h in headers)]
        for name, label in PROFILE_FIELDS:
            self.fields[f"col_{name}"] = forms.ChoiceField(
                label=label, choices=choices, required=False
            )

    def columns(self) -> dict[str, str]:
        return {
            name: self.cleaned_data.get(f"col_{name}", "")
            for name, _label in PROFILE_FIELDS
        }
