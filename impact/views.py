"""Impact dashboard, the review screens and their exports, and the feedback form."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from deposits.models import Deposit
from incidents.models import ActionItem, CompensationOffer, Incident, Review
from incidents.selectors import incident_get_for_user
from incidents.services.compensation import (
    offer_advance,
    offers_approve,
    user_is_comms_approver,
)
from incidents.services.review import (
    action_item_add,
    action_item_done,
    feedback_record,
    feedback_token_read,
    incident_close,
    review_complete,
    review_update,
    user_may_edit_review,
)
from outage_desk.models import User

from .aftermath import incident_aftermath_run
from .exports import duration_text, impact_lines, review_markdown, review_pdf
from .forms import ActionItemForm, FeedbackForm, OfferAdvanceForm, ReviewForm
from .review_data import review_data
from .selectors import impact_charts, impact_figures

VIEW_IMPACT = "incidents.view_impact"


def _incident(request: HttpRequest, reference: str) -> Incident:
    user: User = request.user  # type: ignore[assignment]
    return incident_get_for_user(user=user, reference=reference)


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@login_required
@permission_required(VIEW_IMPACT, raise_exception=True)
def dashboard(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _incident(request, reference)
    figures = impact_figures(incident=incident)
    for row in figures["deposits"]["by_channel"]:
        row["label"] = Deposit.Channel(row["channel"]).label
    ctx = {
        "incident": incident,
        "figures": figures,
        "headline": impact_lines(figures),
        "missed": [
            (item, duration_text(item["late_seconds"]))
            for item in figures["missed_updates"]["items"]
        ],
        "charts": impact_charts(incident=incident),
        "has_review": Review.objects.filter(incident=incident).exists(),
    }
    return render(request, "impact/dashboard.html", ctx)


@login_required
@permission_required(VIEW_IMPACT, raise_exception=True)
def review(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _incident(request, reference)
    user: User = request.user  # type: ignore[assignment]
    data = review_data(incident=incident, language=get_language() or "en")
    initial = {}
    if data.review:
        initial = {
            "root_cause": data.review.root_cause,
            "went_well": data.review.went_well,
            "went_badly": data.review.went_badly,
        }
    ctx: dict[str, Any] = {
        "incident": incident,
        "data": data,
        "headline": impact_lines(data.impact),
        "may_edit": user_may_edit_review(incident=incident, user=user),
        "may_approve": user_is_comms_approver(incident=incident, user=user),
        "proposed": CompensationOffer.objects.filter(
            incident=incident, status=CompensationOffer.Status.PROPOSED
        ).count(),
        "offers_open": CompensationOffer.objects.filter(
            incident=incident,
            status__in=[
                CompensationOffer.Status.SENT,
                CompensationOffer.Status.ACCEPTED,
            ],
        ).order_by("account")[:50],
        "review_form": ReviewForm(initial=initial),
        "action_form": ActionItemForm(),
    }
    return render(request, "impact/review.html", ctx)


def _act(
    request: HttpRequest, reference: str, action: Callable[[Incident, User], str]
) -> HttpResponse:
    """Run one POST action on the incident's review and go back to the review page."""
    incident = _incident(request, reference)
    user: User = request.user  # type: ignore[assignment]
    try:
        messages.success(request, action(incident, user))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("impact:review", reference=incident.reference)


def _review_of(incident: Incident) -> Review:
    return get_object_or_404(Review, incident=incident)


@login_required
@require_POST
@permission_required(VIEW_IMPACT, raise_exception=True)
def review_save(request: HttpRequest, reference: str) -> HttpResponse:
    def action(incident: Incident, user: User) -> str:
        form = ReviewForm(request.POST)
        form.is_valid()
        review_update(review=_review_of(incident), actor=user, **form.cleaned_data)
        return _("Review saved.")

    return _act(request, reference, action)


@login_required
@require_POST
@permission_required(VIEW_IMPACT, raise_exception=True)
def review_finish(request: HttpRequest, reference: str) -> HttpResponse:
    def action(incident: Incident, user: User) -> str:
        review_complete(review=_review_of(incident), actor=user)
        return _("Review complete.")

    return _act(request, reference, action)


@login_required
@require_POST
@permission_required(VIEW_IMPACT, raise_exception=True)
def action_add(request: HttpRequest, reference: str) -> HttpResponse:
    def action(incident: Incident, user: User) -> str:
        form = ActionItemForm(request.POST)
        if not form.is_valid():
            raise ValidationError(
                [
                    f"{form.fields[f].label}: {e}"
                    for f, errs in form.errors.items()
                    for e in errs
                ]
            )
        action_item_add(review=_review_of(incident), actor=user, **form.cleaned_data)
        return _("Action item added.")

    return _act(request, reference, action)


@login_required
@require_POST
@permission_required(VIEW_IMPACT, raise_exception=True)
def action_finish(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    def action(incident: Incident, user: User) -> str:
        item = get_object_or_404(ActionItem, pk=pk, review__incident=incident)
        action_item_done(item=item, actor=user)
        return _("Action item done.")

    return _act(request, reference, action)


@login_required
@require_POST
@permission_required(VIEW_IMPACT, raise_exception=True)
def offers_approve_view(request: HttpRequest, reference: str) -> HttpResponse:
    def action(incident: Incident, user: User) -> str:
        count = offers_approve(incident=incident, actor=user)
        return _("%(count)s offers approved and sent.") % {"count": count}

    return _act(request, reference, action)


@login_required
@require_POST
@permission_required("incidents.manage_incident", raise_exception=True)
def offer_advance_view(request: HttpRequest, reference: str) -> HttpResponse:
    def action(incident: Incident, user: User) -> str:
        form = OfferAdvanceForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Choose an offer and what happened to it."))
        offer = form.cleaned_data["offer"]
        if offer.incident_id != incident.pk:
            raise Http404
        offer_advance(offer=offer, to_status=form.cleaned_data["status"], actor=user)
        return _("Offer updated.")

    return _act(request, reference, action)


@login_required
@require_POST
@permission_required("incidents.manage_incident", raise_exception=True)
def refresh(request: HttpRequest, reference: str) -> HttpResponse:
    def action(incident: Incident, user: User) -> str:
        incident_aftermath_run(incident=incident)
        return _("Figures refreshed and offers proposed.")

    return _act(request, reference, action)


@login_required
@require_POST
@permission_required("incidents.manage_incident", raise_exception=True)
def close(request: HttpRequest, reference: str) -> HttpResponse:
    def action(incident: Incident, user: User) -> str:
        incident_close(incident=incident, actor=user)
        return _("Incident closed.")

    return _act(request, reference, action)


@login_required
@permission_required(VIEW_IMPACT, raise_exception=True)
def review_export(request: HttpRequest, reference: str, fmt: str) -> HttpResponse:
    if fmt not in ("md", "pdf"):
        raise Http404
    incident = _incident(request, reference)
    data = review_data(incident=incident, language=get_language() or "en")
    name = f"review-{incident.reference}"
    if fmt == "md":
        response = HttpResponse(
            review_markdown(data), content_type="text/markdown; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.md"'
        return response
    response = HttpResponse(review_pdf(data), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


def feedback(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the one-question satisfaction form linked from the resolved notice."""
    try:
        incident_pk, digest = feedback_token_read(token)
    except (signing.BadSignature, KeyError, ValueError):
        raise Http404 from None
    incident = get_object_or_404(Incident, pk=incident_pk)
    form = FeedbackForm(request.POST or None)
    done = False
    if request.method == "POST" and form.is_valid():
        try:
            feedback_record(
                incident=incident, digest=digest, score=form.cleaned_data["score"]
            )
            done = True
        except ValidationError as exc:
            form.add_error("score", exc.messages)
    return render(
        request,
        "impact/feedback.html",
        {"incident": incident, "form": form, "done": done},
    )
