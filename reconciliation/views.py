"""Finance screens: import records, run the matcher, work the matches."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from incidents.models import Incident

from .export import run_export
from .forms import RunForm, UploadForm
from .models import Discrepancy, ImportBatch, Match
from .selectors import (
    RUN_PERMISSION,
    VIEW_PERMISSION,
    _require,
    batch_list,
    incident_get_for_user,
    match_get_for_user,
    run_discrepancies,
    run_get_for_user,
    run_matches,
)
from .services import match_confirm, match_reject, run_latest, run_start
from .uploads import batch_upload

COUNT_LABELS = {
    "deposits": gettext_lazy("Deposits in scope"),
    "records": gettext_lazy("System credits in scope"),
    "matched": gettext_lazy("Matched"),
    "discrepancies": gettext_lazy("Discrepancies"),
    "new_matches": gettext_lazy("New matches"),
    "dropped_matches": gettext_lazy("Matches that would go"),
    **{f"matched_{value}": label for value, label in Match.Kind.choices},
    **dict(Discrepancy.Kind.choices),
}


def _count_rows(counts: dict[str, int]) -> list[tuple[object, int]]:
    return [
        (COUNT_LABELS.get(key, key), value) for key, value in counts.items() if value
    ]


@login_required
def incident_choose(request: HttpRequest) -> HttpResponse:
    _require(request.user, VIEW_PERMISSION)  # type: ignore[arg-type]
    incidents = Incident.objects.order_by("-declared_at")[:50]
    return render(request, "reconciliation/index.html", {"incidents": incidents})


@login_required
def incident_detail(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)  # type: ignore[arg-type]
    run = run_latest(incident=incident)
    batches = list(batch_list(incident=incident))
    busy = any(
        b.status in (ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING)
        for b in batches
    )
    ctx = {
        "incident": incident,
        "batches": batches,
        "busy": busy,
        "run": run,
        "count_rows": _count_rows(run.counts) if run else [],
        "pending_runs": incident.reconciliation_runs.filter(
            status__in=["queued", "running"]
        ).exists(),
        "matches": run_matches(run=run) if run else [],
        "discrepancies": run_discrepancies(run=run) if run else [],
        "upload_form": UploadForm(),
        "can_run": request.user.has_perm(RUN_PERMISSION),
    }
    if request.htmx:  # type: ignore[attr-defined]
        response = render(request, "reconciliation/incident.html#progress", ctx)
        if not busy and not ctx["pending_runs"]:
            response["HX-Refresh"] = "true"  # work ended: show the new results
        return response
    return render(request, "reconciliation/incident.html", ctx)


@login_required
@require_POST
def upload(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)  # type: ignore[arg-type]
    _require(request.user, RUN_PERMISSION)  # type: ignore[arg-type]
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        batch_upload(
            incident=incident,
            upload=form.cleaned_data["file"],
            format=form.cleaned_data["format"],
            profile=form.cleaned_data["profile"],
            actor=request.user,  # type: ignore[arg-type]
        )
        messages.success(request, _("The file is queued for import."))
    else:
        messages.error(request, _("Choose a file and its format."))
    return redirect("reconciliation:incident", reference=incident.reference)


@login_required
@require_POST
def run(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=request.user, reference=reference)  # type: ignore[arg-type]
    _require(request.user, RUN_PERMISSION)  # type: ignore[arg-type]
    form = RunForm(request.POST)
    form.is_valid()
    run_start(
        incident=incident,
        actor=request.user,
        dry_run=form.cleaned_data.get("dry_run", False),
    )  # type: ignore[arg-type]
    messages.success(
        request, _("Reconciliation started; this page updates when it ends.")
    )
    return redirect("reconciliation:incident", reference=incident.reference)


@login_required
@require_POST
def match_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    if decision not in ("confirm", "reject"):
        raise Http404
    match = match_get_for_user(user=request.user, pk=pk)  # type: ignore[arg-type]
    service = match_confirm if decision == "confirm" else match_reject
    try:
        service(match=match, actor=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("reconciliation:incident", reference=match.run.incident.reference)


@login_required
def export(request: HttpRequest, pk: int) -> HttpResponse:
    run_obj = run_get_for_user(user=request.user, pk=pk)  # type: ignore[arg-type]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{run_obj.incident.reference}-run-{run_obj.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    run_export(run=run_obj, out=response)  # type: ignore[arg-type]
    return response
