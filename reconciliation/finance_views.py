"""Finance screens: the discrepancy queue, an item's actions, approvals, overview, outputs."""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from outage_desk.models import User

from . import resolutions as r
from .finance_models import ApprovalRequest, Case, PostingBatch
from .models import Match
from .posting import posting_canonical_csv, posting_core_csv
from .queue import (
    SORTS,
    approval_get_for_user,
    approvals_pending,
    case_get_for_user,
    finance_users,
    queue_rows,
    run_overview,
)
from .reports import report_csv, report_pdf, report_xlsx
from .selectors import RUN_PERMISSION, incident_get_for_user, permission_require


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _refused(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _version(request: HttpRequest) -> int | None:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() else None


@login_required
def queue(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=_user(request), reference=reference)
    permission_require(_user(request), RUN_PERMISSION)
    sort = request.GET.get("sort", "due")
    flt, page = queue_rows(
        incident=incident, params=request.GET, page=request.GET.get("page"), sort=sort
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reconciliation/finance/queue.html",
        {
            "incident": incident,
            "filter": flt,
            "page": page,
            "sort": sort,
            "sorts": SORTS,
            "query": query.urlencode(),
            "assignees": list(finance_users()),
            "now": timezone.now(),
        },
    )


@login_required
@require_POST
def queue_assign(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=_user(request), reference=reference)
    permission_require(_user(request), RUN_PERMISSION)
    ids = [int(x) for x in request.POST.getlist("case") if x.isdigit()]
    who = request.POST.get("assignee", "")
    assignee = get_object_or_404(User, pk=int(who)) if who.isdigit() else None
    cases = list(Case.objects.filter(incident=incident, pk__in=ids))
    try:
        count = r.cases_assign(cases=cases, assignee=assignee, actor=_user(request))
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, _("%(count)d items assigned.") % {"count": count})
    back = request.POST.get("next", "")
    return redirect(
        back
        if back.startswith("/reconciliation/")
        else f"/reconciliation/{reference}/queue/"
    )


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_get_for_user(user=_user(request), pk=pk)
    d = case.discrepancy
    deposit_ids = list(d.deposits.values_list("pk", flat=True))
    record_ids = list(d.records.values_list("pk", flat=True))
    proposed = (
        Match.objects.filter(run=d.run, status=Match.Status.PROPOSED)
        .filter(deposits__in=deposit_ids)
        .distinct()
        | Match.objects.filter(run=d.run, status=Match.Status.PROPOSED)
        .filter(records__in=record_ids)
        .distinct()
    )
    return render(
        request,
        "reconciliation/finance/case.html",
        {
            "case": case,
            "incident": case.incident,
            "deposits": d.deposits.order_by("pk"),
            "records": d.records.order_by("pk"),
            "proposed": proposed.prefetch_related("deposits", "records")[:10],
            "notes": case.notes.select_related("author"),
            "approvals": case.approvals.select_related("requested_by", "decided_by"),
            "reasons": r.WRITE_OFF_REASONS,
            "assignees": list(finance_users()),
        },
    )


def _ids(text: str) -> list[int]:
    return [int(x) for x in text.replace(",", " ").split() if x.isdigit()]


@login_required
@require_POST
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    case = case_get_for_user(user=_user(request), pk=pk)
    user = _user(request)
    version = _version(request)
    post = request.POST
    try:
        if action == "confirm":
            match = get_object_or_404(Match, pk=post.get("match", "0") or 0)
            r.case_confirm_match(case=case, match=match, actor=user, version=version)
            done = _("The match is confirmed.")
        elif action == "link":
            result = r.case_link(
                case=case,
                actor=user,
                deposit_ids=_ids(post.get("deposits", "")),
                record_ids=_ids(post.get("records", "")),
                version=version,
            )
            done = (
                _("The link waits for a second finance user's approval.")
                if isinstance(result, ApprovalRequest)
                else _("Linked.")
            )
        elif action == "not_duplicate":
            r.case_not_duplicate(case=case, actor=user, version=version)
            done = _("Marked as not a duplicate.")
        elif action == "posted":
            r.case_mark_posted(case=case, actor=user, version=version)
            done = _("Marked as posted to the core system.")
        elif action == "write_off":
            r.case_write_off_request(
                case=case,
                actor=user,
                reason_code=post.get("reason_code", ""),
                version=version,
            )
            done = _("The write-off waits for a second finance user's approval.")
        elif action == "note":
            r.case_note_add(
                case=case,
                actor=user,
                text=post.get("text", ""),
                evidence=request.FILES.get("evidence"),
            )
            done = _("Note added.")
        elif action == "reopen":
            r.case_reopen(
                case=case, actor=user, reason=post.get("reason", ""), version=version
            )
            done = _("Reopened.")
        elif action == "assign":
            who = post.get("assignee", "")
            assignee = get_object_or_404(User, pk=int(who)) if who.isdigit() else None
            r.cases_assign(cases=[case], assignee=assignee, actor=user)
            done = _("Assigned.")
        else:
            return HttpResponse(status=404)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, done)
    return redirect("reconciliation:case", pk=case.pk)


@login_required
@require_POST
def match_unmatch(request: HttpRequest, pk: int) -> HttpResponse:
    permission_require(_user(request), RUN_PERMISSION)
    match = get_object_or_404(Match.objects.select_related("run__incident"), pk=pk)
    try:
        result = r.match_unmatch(match=match, actor=_user(request))
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("The unmatch waits for a second finance user's approval.")
            if isinstance(result, ApprovalRequest)
            else _("Rejected: this pair is not proposed again."),
        )
    return redirect("reconciliation:incident", reference=match.run.incident.reference)


@login_required
def approvals(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=_user(request), reference=reference)
    permission_require(_user(request), RUN_PERMISSION)
    return render(
        request,
        "reconciliation/finance/approvals.html",
        {"incident": incident, "approvals": approvals_pending(incident=incident)},
    )


@login_required
@require_POST
def approval_decide(request: HttpRequest, pk: int) -> HttpResponse:
    approval = approval_get_for_user(user=_user(request), pk=pk)
    approve = request.POST.get("decision") == "approve"
    try:
        r.approval_decide(request=approval, actor=_user(request), approve=approve)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, _("Approved.") if approve else _("Rejected."))
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/reconciliation/") else "/reconciliation/")


@login_required
def overview(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=_user(request), reference=reference)
    data = run_overview(incident=incident)
    chart = {
        **data["chart"],
        "ageing": list(data["ageing"].values()),
        "ageing_labels": [
            k.replace("+", " +") + " " + _("days") for k in data["ageing"]
        ],
        "names": {
            "matched": _("Matched"),
            "open": _("Open"),
            "resolved": _("Resolved"),
            "ageing": _("Open items by age"),
        },
    }
    return render(
        request,
        "reconciliation/finance/overview.html",
        {
            "incident": incident,
            "chart_data": chart,
            "batches": PostingBatch.objects.filter(incident=incident)[:10],
            **data,
        },
    )


@login_required
@require_POST
def posting_create(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_get_for_user(user=_user(request), reference=reference)
    permission_require(_user(request), RUN_PERMISSION)
    try:
        batch = r.posting_batch_create(incident=incident, actor=_user(request))
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("Posting file %(pk)d holds %(count)d deposits.")
            % {"pk": batch.pk, "count": batch.deposits.count()},
        )
    return redirect("reconciliation:overview", reference=reference)


@login_required
def posting_file(request: HttpRequest, pk: int, layout: str) -> HttpResponse:
    permission_require(_user(request), RUN_PERMISSION)
    batch = get_object_or_404(PostingBatch.objects.select_related("incident"), pk=pk)
    out = io.StringIO()
    if layout == "core":
        posting_core_csv(batch=batch, out=out)
    elif layout == "canonical":
        posting_canonical_csv(batch=batch, out=out)
    else:
        return HttpResponse(status=404)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"posting-{batch.incident.reference}-{batch.pk}-{layout}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def posting_mark(request: HttpRequest, pk: int) -> HttpResponse:
    permission_require(_user(request), RUN_PERMISSION)
    batch = get_object_or_404(PostingBatch.objects.select_related("incident"), pk=pk)
    try:
        r.posting_batch_mark_posted(batch=batch, actor=_user(request))
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request, _("Marked as posted: the deposits await confirmation.")
        )
    return redirect("reconciliation:overview", reference=batch.incident.reference)


@login_required
def report(request: HttpRequest, reference: str, fmt: str) -> HttpResponse:
    incident = incident_get_for_user(user=_user(request), reference=reference)
    name = f"reconciliation-{incident.reference}.{fmt}"
    response: HttpResponse
    if fmt == "csv":
        out = io.StringIO()
        report_csv(incident=incident, out=out)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(
            report_xlsx(incident=incident),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    elif fmt == "pdf":
        response = HttpResponse(
            report_pdf(incident=incident), content_type="application/pdf"
        )
    else:
        return HttpResponse(status=404)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
