"""HTML input of the review screens and the customer feedback form."""

from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.forms import StyledForm
from incidents.models import ActionItem, CompensationOffer
from outage_desk.models import User


class ReviewForm(StyledForm):
    root_cause = forms.CharField(
        label=_("Root cause"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    went_well = forms.CharField(
        label=_("What went well"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    went_badly = forms.CharField(
        label=_("What went badly"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )


class ActionItemForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=ActionItem.Kind.choices)
    title = forms.CharField(label=_("Action"), max_length=200)
    owner = forms.ModelChoiceField(
        label=_("Owner"),
        queryset=User.objects.filter(is_active=True).order_by("username"),
    )
    due_on = forms.DateField(
        label=_("Due on"), widget=forms.DateInput(attrs={"type": "date"})
    )


class OfferAdvanceForm(forms.Form):
    offer = forms.ModelChoiceField(queryset=CompensationOffer.objects.all())
    status = forms.ChoiceField(
        choices=[
            (CompensationOffer.Status.ACCEPTED, _("Accepted")),
            (CompensationOffer.Status.REDEEMED, _("Redeemed")),
        ]
    )


SCORES = [
    (5, _("Very satisfied")),
    (4, _("Satisfied")),
    (3, _("Neither")),
    (2, _("Dissatisfied")),
    (1, _("Very dissatisfied")),
]


class FeedbackForm(StyledForm):
    score = forms.TypedChoiceField(
        label=_("How satisfied are you with how we handled this disruption?"),
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
    )
