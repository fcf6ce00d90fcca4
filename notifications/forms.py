from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Channel, Notice, NoticeTemplate
from .services import template_sources_validate


class TemplateVersionForm(forms.Form):
    """The editor: a proposed version of one template, checked like a save would."""

    subject = forms.CharField(label=_("Subject"), max_length=255, required=False)
    body_text = forms.CharField(
        label=_("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "class": "font-monospace"}),
    )
    body_html = forms.CharField(
        label=_("HTML"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "class": "font-monospace"}),
    )

    def __init__(self, *args: object, template: NoticeTemplate, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.template = template
        if template.channel != Channel.EMAIL:
            del self.fields["subject"]
            del self.fields["body_html"]
            self.fields["body_text"].label = _("SMS text")
            self.fields["body_text"].widget.attrs["rows"] = 4
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "")
            field.widget.attrs["class"] += " form-control"

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        template_sources_validate(
            template=self.template,
            subject=data.get("subject", "") or "",
            body_text=data.get("body_text", "") or "",
            body_html=data.get("body_html", "") or "",
        )
        return data


class DeliveryLogFilter(forms.Form):
    ref = forms.CharField(
        label=_("Subject reference"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "incident:INC-2026-0001"}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Notice.Status.choices],
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("Any channel")), *Channel.choices],
    )
    notice = forms.IntegerField(label=_("Notice"), required=False, min_value=1)

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for field in self.fields.values():
            css = (
                "form-select"
                if isinstance(field, forms.ChoiceField)
                else "form-control"
            )
            field.widget.attrs["class"] = css
