"""Staff screens: incident list and page, and one small form per action."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import exports
from .forms import (
    BankContactForm,
    IncidentOpenForm,
    RoleAssignForm,
    TransitionForm,
    UpdateForm,
)
from .models import BankContact, Incident, OutageRole, RoleAssignment, StatusBanner
from .selectors import incident_get_for_user, roles_held_by, user_may_publish_status
from .services import (
    bank_contact_record,
    incident_open,
    incident_transition,
    incident_update_post,
    role_assign,
    role_release,
    status_banner_set,
    transitions_allowed,
)
from .services.roles import ROLE_INSTRUCTIONS, roles_required, roles_unfilled

MANAGE = "incidents.manage_incident"


def _form_errors(form: Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form, by field where it names one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@login_required
@permission_required("incidents.view_incident", raise_exception=True)
def incident_list(request: HttpRequest) -> HttpResponse:
    incidents = Incident.objects.order_by("-declared_at")[:100]
    ctx = {
        "incidents": incidents,
        "open_form": IncidentOpenForm() if request.user.has_perm(MANAGE) else None,
        "banner": StatusBanner.objects.filter(pk=1).first(),
        "may_publish": user_may_publish_status(request.user),  # type: ignore[arg-type]
    }
    return render(request, "incidents/list.html", ctx)


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_POST
def incident_create(request: HttpRequest) -> HttpResponse:
    form = IncidentOpenForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            incident = incident_open(
                title=data["title"],
                planned=data["planned"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                severity=data["severity"],
                components=list(data["components"]),
                title_translations={"zh-hans": data["title_zh_hans"]},
                opened_by=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Incident %s opened.") % incident.reference)
            return redirect("incidents:detail", reference=incident.reference)
    ctx = {
        "incidents": Incident.objects.order_by("-declared_at")[:100],
        "open_form": form,
    }
    return render(request, "incidents/list.html", ctx, status=400)


def _detail_context(
    request: HttpRequest, incident: Incident, **forms: Any
) -> dict[str, Any]:
    user = request.user
    allowed = transitions_allowed(incident)
    held = {
        a.role
        for a in incident.role_assignments.filter(user=user, ended_at__isnull=True)  # type: ignore[misc]
    }
    assignments = incident.role_assignments.filter(
        ended_at__isnull=True
    ).select_related("user")
    may_manage = user.has_perm(MANAGE)
    return {
        "incident": incident,
        "updates": incident.updates.select_related("created_by", "eta_source"),
        "assignments": assignments,
        "unfilled": [OutageRole(r) for r in roles_unfilled(incident)],
        "required": roles_required(),
        "my_cards": [
            (OutageRole(r).label, ROLE_INSTRUCTIONS[OutageRole(r)])
            for r in sorted(held)
        ],
        "contacts": incident.bank_contacts.select_related("staff", "corrects"),
        "deposit_count": incident.deposits.count(),
        "capture_open": incident.capture_window_open(),
        "may_manage": may_manage,
        "transition_form": forms.get("transition_form")
        or (TransitionForm(allowed=allowed) if may_manage and allowed else None),
        "update_form": forms.get("update_form")
        or (UpdateForm(incident=incident, allowed=allowed) if may_manage else None),
        "role_form": forms.get("role_form")
        or (RoleAssignForm() if may_manage else None),
        "contact_form": forms.get("contact_form")
        or (BankContactForm(incident=incident) if may_manage else None),
    }


@login_required
def incident_detail(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)  # type: ignore[arg-type]
    # htmx polls the timeline (and the deposit counter, out of band) while staff watch.
    partial = bool(getattr(request, "htmx", False))
    template = "incidents/detail.html#timeline" if partial else "incidents/detail.html"
    return render(request, template, _detail_context(request, incident))


def _action(
    request: HttpRequest,
    reference: str,
    *,
    form_name: str,
    build: Callable[[Incident], Form],
    run: Callable[[Incident, Form], object],
    done: str,
) -> HttpResponse:
    """The shared shape of every incident action: fetch, form, service, redirect."""
    incident = incident_get_for_user(user=request.user, reference=reference)  # type: ignore[arg-type]
    form = build(incident)
    if form.is_valid():
        try:
            run(incident, form)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("incidents:detail", reference=incident.reference)
    incident.refresh_from_db()
    ctx = _detail_context(request, incident, **{form_name: form})
    return render(request, "incidents/detail.html", ctx, status=400)


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_POST
def incident_status(request: HttpRequest, reference: str) -> HttpResponse:
    return _action(
        request,
        reference,
        form_name="transition_form",
        build=lambda i: TransitionForm(request.POST, allowed=transitions_allowed(i)),
        run=lambda i, f: incident_transition(
            incident=i,
            to_status=f.cleaned_data["status"],
            at=f.cleaned_data["at"],
            actor=request.user,  # type: ignore[arg-type]
        ),
        done=_("Status changed."),
    )


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_POST
def update_create(request: HttpRequest, reference: str) -> HttpResponse:
    def run(incident: Incident, form: Form) -> object:
        data = form.cleaned_data
        return incident_update_post(
            incident=incident,
            audience=data["audience"],
            texts=form.texts(),  # type: ignore[attr-defined]
            author=request.user,  # type: ignore[arg-type]
            status=data["status"] or None,
            eta=data["eta"],
            eta_source=data["eta_source"],
            notify_customers=data["notify_customers"],
            next_update_due_at=data["next_update_due_at"],
        )

    return _action(
        request,
        reference,
        form_name="update_form",
        build=lambda i: UpdateForm(
            request.POST, incident=i, allowed=transitions_allowed(i)
        ),
        run=run,
        done=_("Update posted."),
    )


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_POST
def role_create(request: HttpRequest, reference: str) -> HttpResponse:
    return _action(
        request,
        reference,
        form_name="role_form",
        build=lambda i: RoleAssignForm(request.POST),
        run=lambda i, f: role_assign(
            incident=i,
            role=f.cleaned_data["role"],
            user=f.cleaned_data["user"],
            assigned_by=request.user,  # type: ignore[arg-type]
        ),
        done=_("Role assigned."),
    )


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_POST
def role_end(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)  # type: ignore[arg-type]
    assignment = get_object_or_404(RoleAssignment, pk=pk, incident=incident)
    role_release(assignment=assignment, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, _("Role released."))
    return redirect("incidents:detail", reference=incident.reference)


@login_required
@permission_required(MANAGE, raise_exception=True)
@require_POST
def bank_contact_create(request: HttpRequest, reference: str) -> HttpResponse:
    def run(incident: Incident, form: Form) -> object:
        data = form.cleaned_data
        return bank_contact_record(
            incident=incident,
            contacted_at=form.contacted_at_aware(),  # type: ignore[attr-defined]
            contacted_tz=data["contacted_tz"],
            channel=data["channel"],
            staff=request.user,  # type: ignore[arg-type]
            recorded_by=request.user,  # type: ignore[arg-type]
            summary=data["summary"],
            bank_agent=data["bank_agent"],
            bank_ticket_ref=data["bank_ticket_ref"],
            commitments=data["commitments"],
            eta_given=data["eta_given"],
            evidence=data["evidence"],
            follow_up_due_at=data["follow_up_due_at"],
            escalation=data["escalation"],
            escalated_on=data["escalated_on"],
            corrects=data["corrects"],
        )

    return _action(
        request,
        reference,
        form_name="contact_form",
        build=lambda i: BankContactForm(request.POST, request.FILES, incident=i),
        run=run,
        done=_("Bank contact logged."),
    )


@login_required
def bank_contact_evidence(
    request: HttpRequest, reference: str, pk: int
) -> FileResponse:
    """The evidence file, to staff who may see the incident, always as a download."""
    incident = incident_get_for_user(user=request.user, reference=reference)  # type: ignore[arg-type]
    entry = get_object_or_404(BankContact, pk=pk, incident=incident)
    if not entry.evidence:
        raise Http404
    response = FileResponse(
        entry.evidence.open("rb"), as_attachment=True, filename=entry.evidence_name
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def bank_contacts_export(
    request: HttpRequest, reference: str, fmt: str
) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)  # type: ignore[arg-type]
    name = f"{incident.reference}-bank-contacts"
    if fmt == "csv":
        response = HttpResponse(
            exports.bank_contacts_csv(incident), content_type="text/csv; charset=utf-8"
        )
    elif fmt == "pdf":
        response = HttpResponse(
            exports.bank_contacts_pdf(incident), content_type="application/pdf"
        )
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@login_required
@require_POST
def banner_toggle(request: HttpRequest) -> HttpResponse:
    """One action switches the status page's "temporarily unavailable" banner."""
    if not user_may_publish_status(request.user):  # type: ignore[arg-type]
        raise PermissionDenied
    active = request.POST.get("active") == "1"
    status_banner_set(active=active, actor=request.user)  # type: ignore[arg-type]
    messages.success(
        request,
        _("Status page banner switched on.")
        if active
        else _("Status page banner switched off."),
    )
    return redirect("incidents:list")


@login_required
def my_roles(request: HttpRequest) -> HttpResponse:
    """The outage roles this person holds now, each with its instruction card."""
    cards = [
        (a, OutageRole(a.role).label, ROLE_INSTRUCTIONS[OutageRole(a.role)])
        for a in roles_held_by(user=request.user)  # type: ignore[arg-type]
    ]
    return render(request, "incidents/my_roles.html", {"cards": cards})
