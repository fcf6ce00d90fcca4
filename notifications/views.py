from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from outage_desk.models import User

from .forms import DeliveryLogFilter, TemplateVersionForm
from .models import Channel, NoticeKind, NoticeTemplate
from .placeholders import placeholders_for, sample_context
from .preferences import UNSUBSCRIBE_BAD_LINK, optout_record, unsubscribe_token_read
from .rendering import Parts, render_parts
from .selectors import (
    notice_get_for_user,
    notice_list_for_user,
    template_get_for_user,
    template_list_for_user,
    template_version_get_for_user,
)
from .services import (
    notice_resend,
    template_preview,
    template_version_approve,
    template_version_create,
)
from .sms import sms_length


def _user(request: HttpRequest) -> User:
    """The signed-in user (every staff view below requires a login)."""
    return cast(User, request.user)


@login_required
@permission_required("notifications.view_noticetemplate", raise_exception=True)
def template_list(request: HttpRequest) -> HttpResponse:
    templates = template_list_for_user(user=_user(request)).prefetch_related("versions")
    rows = []
    for template in templates:
        versions = list(template.versions.all())
        live = next((v for v in versions if v.status == "approved"), None)
        drafts = [
            v
            for v in versions
            if v.status == "draft" and (not live or v.number > live.number)
        ]
        rows.append({"template": template, "live": live, "drafts": len(drafts)})
    # The order of the story (outage, updates, deposits, staff), not the alphabet.
    order = {kind: i for i, kind in enumerate(NoticeKind.values)}
    rows.sort(key=lambda row: order[cast(NoticeTemplate, row["template"]).kind])
    return render(request, "notifications/template_list.html", {"rows": rows})


def _preview_context(template, form) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Preview and SMS counter for the editor; errors name the field and placeholder."""
    ctx: dict[str, object] = {"template": template, "form": form}
    if form.is_valid():
        data = form.cleaned_data
        parts = template_preview(
            template=template,
            subject=data.get("subject", ""),
            body_text=data.get("body_text", ""),
            body_html=data.get("body_html", ""),
        )
        ctx["preview"] = parts
        if template.channel == Channel.SMS:
            ctx["sms"] = sms_length(parts.body)
    return ctx


@login_required
@permission_required("notifications.view_noticetemplate", raise_exception=True)
def template_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The editor: the live version, drafts waiting for approval, and a new draft."""
    template = template_get_for_user(user=_user(request), pk=pk)
    versions = list(template.versions.select_related("created_by", "approved_by"))
    live = next((v for v in versions if v.status == "approved"), None)
    latest = versions[0] if versions else None
    if request.method == "POST":
        if not _user(request).has_perm("notifications.change_noticetemplate"):
            return HttpResponse(status=403)
        form = TemplateVersionForm(request.POST, template=template)
        if form.is_valid():
            version = template_version_create(
                template=template,
                subject=form.cleaned_data.get("subject", ""),
                body_text=form.cleaned_data["body_text"],
                body_html=form.cleaned_data.get("body_html", ""),
                author=_user(request),
            )
            messages.success(
                request,
                _("Saved as draft version %(number)s; it needs approval before use.")
                % {"number": version.number},
            )
            return redirect("notifications:template_detail", pk=template.pk)
    else:
        initial = {}
        if latest:
            initial = {
                "subject": latest.subject,
                "body_text": latest.body_text,
                "body_html": latest.body_html,
            }
        # Bound to the latest version, so the preview shows at once.
        form = TemplateVersionForm(initial, template=template)
    ctx = _preview_context(template, form)
    ctx.update(
        {
            "versions": versions,
            "live": live,
            "placeholders": sorted(placeholders_for(template.kind)),
            "kind_label": NoticeKind(template.kind).label,
        }
    )
    return render(request, "notifications/template_detail.html", ctx)


@login_required
@permission_required("notifications.view_noticetemplate", raise_exception=True)
@require_POST
def template_preview_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the preview and SMS counter for what is in the editor right now."""
    template = template_get_for_user(user=_user(request), pk=pk)
    form = TemplateVersionForm(request.POST, template=template)
    return render(
        request,
        "notifications/template_detail.html#preview",
        _preview_context(template, form),
    )


@login_required
@permission_required("notifications.view_noticetemplate", raise_exception=True)
def template_version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One saved version rendered with sample data, with its approval button."""
    version = template_version_get_for_user(user=_user(request), pk=pk)
    template = version.template

    parts: Parts = render_parts(
        channel=template.channel,
        subject=version.subject,
        body_text=version.body_text,
        body_html=version.body_html,
        context=sample_context(template.kind),
    )
    ctx = {
        "version": version,
        "template": template,
        "preview": parts,
        "sms": sms_length(parts.body) if template.channel == Channel.SMS else None,
        "can_approve": _user(request).has_perm("notifications.approve_noticetemplate")
        and version.status == "draft"
        and version.created_by_id != _user(request).pk,
    }
    return render(request, "notifications/version_detail.html", ctx)


@login_required
@permission_required("notifications.approve_noticetemplate", raise_exception=True)
@require_POST
def template_version_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    version = template_version_get_for_user(user=_user(request), pk=pk)
    try:
        template_version_approve(version=version, approver=_user(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("notifications:version_detail", pk=version.pk)
    messages.success(
        request,
        _("Version %(number)s is approved and now used for new notices.")
        % {"number": version.number},
    )
    return redirect("notifications:template_detail", pk=version.template_id)


@login_required
@permission_required("notifications.view_notice", raise_exception=True)
def delivery_log(request: HttpRequest) -> HttpResponse:
    """Notices and their delivery attempts, by incident, customer or deposit ref."""
    form = DeliveryLogFilter(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    notices = notice_list_for_user(
        user=_user(request),
        ref=filters.get("ref") or "",
        status=filters.get("status") or "",
        channel=filters.get("channel") or "",
        notice_id=filters.get("notice"),
    )
    page = Paginator(notices, 50).get_page(request.GET.get("page"))
    ctx = {"form": form, "page": page, "query": request.GET.urlencode()}
    partial = bool(getattr(request, "htmx", False))
    template = "notifications/log.html#rows" if partial else "notifications/log.html"
    return render(request, template, ctx)


@login_required
@permission_required("notifications.resend_notice", raise_exception=True)
@require_POST
def notice_resend_view(request: HttpRequest, pk: int) -> HttpResponse:
    notice = notice_get_for_user(user=_user(request), pk=pk)
    try:
        notice_resend(notice=notice, actor=_user(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Notice #%(pk)s is queued to be sent again.") % {"pk": notice.pk}
        )
    return redirect(f"{reverse('notifications:log')}?notice={notice.pk}")


# Mail clients send the RFC 8058 one-click POST without a session or CSRF token;
# the signed token in the URL is the only credential this view accepts.
@csrf_exempt
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Public: confirm, then record the opt-out for the channel and address signed in."""
    try:
        channel, address = unsubscribe_token_read(token)
    except signing.BadSignature:
        return render(
            request,
            "notifications/unsubscribe.html",
            {"error": UNSUBSCRIBE_BAD_LINK},
            status=400,
        )
    if request.method == "POST":
        optout_record(channel=channel, address=address)
        return render(
            request,
            "notifications/unsubscribe.html",
            {"done": True, "address": address},
        )
    return render(request, "notifications/unsubscribe.html", {"address": address})
