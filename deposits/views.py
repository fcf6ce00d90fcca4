"""Clerk and supervisor pages. Each view: scoped fetch, form, service, redirect."""

import zoneinfo
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from outage_desk.models import User
from outage_desk.money import money_round

from .errors import ERROR_OTHER_BRANCH, DepositConflictError, DuplicateSuspectedError
from .forms import (
    ConflictResolveForm,
    DepositCaptureForm,
    DepositImportForm,
    ReversalRequestForm,
)
from .models import Branch, Deposit
from .receipts import receipt_pdf
from .selectors import (
    conflict_get_for_user,
    conflict_list_open,
    customer_search,
    deposit_get_for_user,
    deposit_list_pending_approval,
    deposit_list_today,
    deposit_totals_today,
    reversal_get_for_user,
    reversal_list_pending,
)
from .services import (
    deposit_approve,
    deposit_conflict_resolve,
    deposit_record,
    deposit_reversal_approve,
    deposit_reversal_reject,
    deposit_reversal_request,
)
from .services.imports import ImportRefused, deposits_import

TODAY_LIMIT = 100


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _branch_zone(user: User) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(user.branch.timezone if user.branch else "UTC")


def _today_context(user: User) -> dict[str, Any]:
    return {
        "today": deposit_list_today(user=user, limit=TODAY_LIMIT),
        "totals": deposit_totals_today(user=user),
        "today_limit": TODAY_LIMIT,
    }


def offline_messages() -> dict[str, str]:
    """The offline capture script's texts, translated; %(n)s and %(x)s are filled in."""
    return {
        "online": _("Online."),
        "offline": _("Offline: new deposits are kept on this device and sent later."),
        "ready": _("Ready for offline use."),
        "pending": _("%(n)s not yet sent"),
        "savedOffline": _(
            "Kept on this device (not yet sent): %(x)s. It is sent when the "
            "connection returns."
        ),
        "sent": _("Sent %(n)s kept deposits."),
        "held": _("Waiting for a supervisor's approval:"),
        "needsSupervisor": _(
            "Needs supervisor: the server already has another deposit with this "
            "UUID; it is in the conflicts queue."
        ),
        "refused": _("Refused by the server"),
        "loginAgain": _("Log in again to send the kept deposits."),
        "required": _("%(x)s is required."),
        "badAmount": _("Give the amount as a number with at most 3 decimals."),
        "badCurrency": _("Give a 3-letter currency code."),
        "overMax": _(
            "Offline, one deposit may be at most %(x)s. Take it when the "
            "connection is back, or ask the supervisor."
        ),
        "overTotal": _(
            "Offline, this device may hold at most %(x)s not yet sent. Send the "
            "kept deposits first, or export them for the supervisor."
        ),
        "otherCurrency": _("Offline, only deposits in %(x)s can be taken."),
        "noEvidence": _(
            "Evidence files cannot be kept offline; remove them or wait for the "
            "connection."
        ),
        "discard": _("Discard"),
    }


def _offline_context(form: DepositCaptureForm, user: User) -> dict[str, Any]:
    branch = user.branch

    def limit(amount: Decimal | None) -> str:
        if amount is None or branch is None:
            return ""
        return f"{money_round(amount, branch.currency):f}"

    return {
        "offline_incidents": getattr(form, "incident_refs", {}),
        "offline_messages": offline_messages(),
        "offline_branch": branch,
        "offline_max_amount": limit(branch.offline_max_amount if branch else None),
        "offline_max_total": limit(branch.offline_max_total if branch else None),
    }


def _capture_form_page(
    request: HttpRequest, form: DepositCaptureForm, extra: dict[str, Any]
) -> HttpResponse:
    user = _user(request)
    ctx = {"form": form, **_today_context(user), **extra}
    template = "deposits/capture.html"
    if request.htmx:  # type: ignore[attr-defined]
        template += "#capture-response"
    else:
        ctx.update(_offline_context(form, user))
    return render(request, template, ctx)


@login_required
@permission_required("deposits.add_deposit", raise_exception=True)
def capture(request: HttpRequest) -> HttpResponse:
    """The clerk screen: capture form and today's deposits of the branch."""
    user = _user(request)
    if user.branch is None:
        raise PermissionDenied(_("Only staff of a branch can record deposits."))
    with timezone.override(_branch_zone(user)):
        if request.method != "POST":
            form = DepositCaptureForm(
                initial=DepositCaptureForm.initial_for(branch=user.branch)
            )
            ctx = {"form": form, **_today_context(user)}
            ctx.update(_offline_context(form, user))
            return render(request, "deposits/capture.html", ctx)
        return _capture_post(request, user)


def _capture_post(request: HttpRequest, user: User) -> HttpResponse:
    form = DepositCaptureForm(request.POST, request.FILES)
    extra: dict[str, Any] = {}
    branch = Branch.objects.filter(code=form.data.get("branch", "")).first()
    if branch is None:
        form.add_error(None, ERROR_OTHER_BRANCH)
    if form.is_valid() and branch is not None:
        data = form.cleaned_data
        try:
            deposit, created = deposit_record(
                incident=data["incident"],
                branch=branch,
                recorded_by=user,
                client_uuid=data["client_uuid"],
                channel=data["channel"],
                customer=data["customer"],
                account=data["account"],
                payer_name=data["payer_name"],
                amount=data["amount"],
                currency=data["currency"],
                received_at=data["received_at"],
                reference=data["reference"],
                note=data["note"],
                duplicate_reason=data["duplicate_reason"],
                evidence=data["evidence"],
                source=Deposit.Source.FORM,
            )
        except DuplicateSuspectedError as exc:
            form.add_service_error(exc)
            extra["duplicates"] = exc.candidates
        except DepositConflictError as exc:
            form.add_error(None, str(exc.message))
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            return _captured(request, user, deposit, created)
    return _capture_form_page(request, form, extra)


def _captured(
    request: HttpRequest, user: User, deposit: Deposit, created: bool
) -> HttpResponse:
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("deposits:receipt", pk=deposit.pk)
    fresh = DepositCaptureForm(
        initial=DepositCaptureForm.initial_for(branch=deposit.branch)
    )
    return _capture_form_page(request, fresh, {"saved": deposit, "created": created})


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The capture page's service worker, served under /deposits/ for its scope."""
    found = finders.find("deposits/sw.js")
    if isinstance(found, str):
        with open(found, "rb") as handle:
            script = handle.read()
    else:
        with staticfiles_storage.open("deposits/sw.js") as handle:
            script = handle.read()
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    # Browsers check for a new worker on each visit; never serve a stale one.
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = reverse("deposits:capture")
    return response


@login_required
@permission_required("deposits.add_deposit", raise_exception=True)
@require_GET
def customer_lookup(request: HttpRequest) -> HttpResponse:
    """Customers matching the typed account, name or phone (an htmx fragment)."""
    customers = customer_search(user=_user(request), query=request.GET.get("q", ""))
    return render(request, "deposits/customer_results.html", {"customers": customers})


@login_required
@permission_required("deposits.view_deposit", raise_exception=True)
def deposit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    deposit = deposit_get_for_user(user=user, pk=pk)
    form = ReversalRequestForm(request.POST or None)
    if request.method == "POST":
        if not user.has_perm("deposits.add_deposit"):
            raise PermissionDenied
        try:
            deposit_reversal_request(
                deposit=deposit,
                requested_by=user,
                reason=request.POST.get("reason", ""),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                form.add_error("reason", exc.error_dict["reason"])
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("The reversal is waiting for a supervisor."))
            return redirect("deposits:detail", pk=deposit.pk)
    with timezone.override(zoneinfo.ZoneInfo(deposit.branch.timezone)):
        return render(
            request,
            "deposits/detail.html",
            {
                "deposit": deposit,
                "form": form,
                "evidence": deposit.evidence.all(),
                "reversals": deposit.reversal_requests.select_related(
                    "requested_by", "decided_by"
                ),
            },
        )


def _receipt_language(request: HttpRequest, deposit: Deposit) -> str:
    if deposit.customer and deposit.customer.language:
        return deposit.customer.language
    return translation.get_language() or "en"


@login_required
@permission_required("deposits.view_deposit", raise_exception=True)
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    """A print-friendly receipt in the customer's language."""
    deposit = deposit_get_for_user(user=_user(request), pk=pk)
    language = _receipt_language(request, deposit)
    with (
        translation.override(language),
        timezone.override(zoneinfo.ZoneInfo(deposit.branch.timezone)),
    ):
        return render(
            request,
            "deposits/receipt.html",
            {"deposit": deposit, "receipt_language": language},
        )


@login_required
@permission_required("deposits.view_deposit", raise_exception=True)
def receipt_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    deposit = deposit_get_for_user(user=_user(request), pk=pk)
    pdf = receipt_pdf(deposit=deposit, language=_receipt_language(request, deposit))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="receipt-{deposit.receipt_number}.pdf"'
    )
    return response


@login_required
@permission_required("deposits.view_deposit", raise_exception=True)
def evidence_download(request: HttpRequest, pk: int, evidence_pk: int) -> FileResponse:
    """Evidence is served only through here, to staff who may see the deposit."""
    deposit = deposit_get_for_user(user=_user(request), pk=pk)
    evidence = get_object_or_404(deposit.evidence, pk=evidence_pk)
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing.") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"{deposit.receipt_number}-{evidence.pk}{evidence.extension}",
        content_type=evidence.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@permission_required("deposits.approve_deposit", raise_exception=True)
def supervision(request: HttpRequest) -> HttpResponse:
    """The supervisor screen: approvals, reversals and UUID conflicts waiting."""
    user = _user(request)
    zone = _branch_zone(user)
    with timezone.override(zone):
        return render(
            request,
            "deposits/supervision.html",
            {
                "approvals": deposit_list_pending_approval(user=user)[:200],
                "reversals": reversal_list_pending(user=user)[:200],
                "conflicts": conflict_list_open(user=user)[:200],
                "import_form": DepositImportForm(),
            },
        )


def _decide(request: HttpRequest, action: Any) -> HttpResponse:
    try:
        action()
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
    else:
        messages.success(request, _("Done."))
    return redirect(reverse("deposits:supervision"))


@login_required
@permission_required("deposits.approve_deposit", raise_exception=True)
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    deposit = deposit_get_for_user(user=user, pk=pk)
    return _decide(request, lambda: deposit_approve(deposit=deposit, approved_by=user))


@login_required
@permission_required("deposits.approve_deposit", raise_exception=True)
@require_POST
def reversal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    reversal = reversal_get_for_user(user=user, pk=pk)
    if request.POST.get("decision") == "approve":
        return _decide(
            request,
            lambda: deposit_reversal_approve(reversal=reversal, approved_by=user),
        )
    return _decide(
        request, lambda: deposit_reversal_reject(reversal=reversal, rejected_by=user)
    )


@login_required
@permission_required("deposits.approve_deposit", raise_exception=True)
@require_POST
def conflict_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    conflict = conflict_get_for_user(user=user, pk=pk)
    form = ConflictResolveForm(request.POST)
    note = form.data.get("note", "")
    return _decide(
        request,
        lambda: deposit_conflict_resolve(
            conflict=conflict, resolved_by=user, note=note
        ),
    )


@login_required
@permission_required("deposits.import_deposits", raise_exception=True)
@require_POST
def import_upload(request: HttpRequest) -> HttpResponse:
    """A supervisor uploads their branch's deposit log; whole file or nothing."""
    user = _user(request)
    form = DepositImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(
            request, " ".join(str(e) for errs in form.errors.values() for e in errs)
        )
        return redirect("deposits:supervision")
    upload = form.cleaned_data["file"]
    try:
        result = deposits_import(
            source=upload,
            incident=form.cleaned_data["incident"],
            file_name=upload.name or "",
            imported_by=user,
            only_branch=None if user.branch is None else user.branch,
        )
    except ImportRefused as exc:
        with timezone.override(_branch_zone(user)):
            return render(
                request,
                "deposits/supervision.html",
                {
                    "approvals": deposit_list_pending_approval(user=user)[:200],
                    "reversals": reversal_list_pending(user=user)[:200],
                    "conflicts": conflict_list_open(user=user)[:200],
                    "import_form": form,
                    "import_errors": [str(e) for e in exc.errors],
                },
                status=400,
            )
    messages.success(
        request,
        _("Imported %(created)s, skipped %(skipped)s already there.")
        % {"created": result.created, "skipped": result.skipped},
    )
    for warning in result.warnings:
        messages.warning(request, warning)
    return redirect("deposits:supervision")
