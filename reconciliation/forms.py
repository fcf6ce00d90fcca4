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
