"""Finance screens: import records, run the matcher, work the matches."""

import codecs
import json

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
from .forms import ProfileForm, RunForm, SampleForm, UploadForm
from .models import Discrepancy, ImportBatch, Match, ReconciliationRun
from .profiles import profile_guess
from .queue import incidents_at_a_glance
from .selectors import (
    RUN_PERMISSION,
    VIEW_PERMISSION,
    batch_list,
    incident_get_for_user,
    match_get_for_user,
    permission_require,
    run_discrepancies,
    run_get_for_user,
    run_matches,
)
from .services import (
    match_confirm,
    match_reject,
    profile_create,
    run_latest,
    run_start,
)
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
    """Non-zero counts, totals first, in a fixed order."""
    order = [*COUNT_LABELS, *sorted(set(counts) - set(COUNT_LABELS))]
    return [(COUNT_LABELS.get(k, k), counts[k]) for k in order if counts.get(k)]


def _latest_dry_run(
    incident: Incident, run: ReconciliationRun | None
) -> ReconciliationRun | None:
    """The newest finished dry run, if it is newer than the stored outcome."""
    dry = (
        ReconciliationRun.objects.filter(
            incident=incident, dry_run=True, status="finished"
        )
        .order_by("-pk")
        .first()
    )
    return dry if dry and (run is None or dry.pk > run.pk) else None


@login_required
def incident_choose(request: HttpRequest) -> HttpResponse:
    permission_require(request.user, VIEW_PERMISSION)  # type: ignore[arg-type]
    return render(
        request, "reconciliation/index.html", {"rows": incidents_at_a_glance()}
    )


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
        "dry_run": _latest_dry_run(incident, run),
        "pending_runs": ReconciliationRun.objects.filter(
            incident=incident, status__in=["queued", "running"]
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
    permission_require(request.user, RUN_PERMISSION)  # type: ignore[arg-type]
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
    permission_require(request.user, RUN_PERMISSION)  # type: ignore[arg-type]
    form = RunForm(request.POST)
    form.is_valid()
    run_start(
        incident=incident,
        actor=request.user,  # type: ignore[arg-type]
        dry_run=form.cleaned_data.get("dry_run", False),
    )
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


ERROR_SAMPLE_ENCODING = gettext_lazy(
    "The sample is not valid %(encoding)s text; choose another encoding."
)
SAMPLE_BYTES = 64 * 1024


@login_required
def profile_new(request: HttpRequest) -> HttpResponse:
    """Step 1: a sample file; step 2: its first rows and the guessed profile."""
    permission_require(request.user, RUN_PERMISSION)  # type: ignore[arg-type]
    form = SampleForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        encoding = form.cleaned_data["encoding"]
        raw = form.cleaned_data["sample"].read(SAMPLE_BYTES)
        try:
            # A cut in the middle of a character at the sample's end is harmless.
            text = codecs.getincrementaldecoder(encoding)().decode(raw, final=False)
        except UnicodeDecodeError:
            form.add_error(
                "sample", str(ERROR_SAMPLE_ENCODING) % {"encoding": encoding}
            )
        else:
            guess = profile_guess(text)
            initial = {
                "encoding": encoding,
                "delimiter": guess.delimiter,
                "header_row": guess.header_row,
                "decimal_separator": guess.decimal_separator,
                "thousands_separator": guess.thousands_separator,
                "date_format": guess.date_format,
                "sign": guess.sign,
                "headers": json.dumps(guess.headers, ensure_ascii=False),
                **{f"col_{k}": v for k, v in guess.columns.items()},
            }
            profile_form = ProfileForm(initial=initial, headers=guess.headers)
            return render(
                request,
                "reconciliation/profile_new.html",
                {"form": profile_form, "guess": guess},
            )
    return render(request, "reconciliation/profile_new.html", {"sample_form": form})


@login_required
@require_POST
def profile_save(request: HttpRequest) -> HttpResponse:
    permission_require(request.user, RUN_PERMISSION)  # type: ignore[arg-type]
    try:
        headers = [str(h) for h in json.loads(request.POST.get("headers") or "[]")]
    except ValueError:
        headers = []
    form = ProfileForm(request.POST, headers=headers)
    if form.is_valid():
        data = form.cleaned_data
        try:
            profile = profile_create(
                name=data["name"],
                columns=form.columns(),
                encoding=data["encoding"],
                delimiter=data["delimiter"],
                header_row=data["header_row"],
                decimal_separator=data["decimal_separator"],
                thousands_separator=data["thousands_separator"],
                date_format=data["date_format"],
                sign=data["sign"],
                default_currency=data["default_currency"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            for field_name, errors in exc.message_dict.items():
                form.add_error(
                    field_name if field_name in form.fields else None, errors
                )
        else:
            messages.success(
                request, _("Profile “%(name)s” saved.") % {"name": profile.name}
            )
            return redirect("reconciliation:index")
    return render(request, "reconciliation/profile_new.html", {"form": form})
