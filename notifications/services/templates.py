"""Editing and approving notice templates: every edit is a new draft version."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outage_desk.audit import audit_record
from outage_desk.models import User

from ..models import Channel, NoticeTemplate, NoticeTemplateVersion
from ..placeholders import sample_context
from ..rendering import Parts, render_parts, source_validate

TEMPLATE_SUBJECT_REQUIRED = _("Subject: an e-mail needs a subject.")
TEMPLATE_BODY_REQUIRED = _("Text: the message needs a text.")
TEMPLATE_APPROVE_OWN = _("You wrote this version; someone else has to approve it.")
TEMPLATE_APPROVE_NOT_DRAFT = _("Version %(number)s is already approved.")
TEMPLATE_APPROVE_DENIED = _("You may not approve notice templates.")

FIELD_SUBJECT = _("Subject")
FIELD_TEXT = _("Text")
FIELD_HTML = _("HTML")


def template_sources_validate(
    *, template: NoticeTemplate, subject: str, body_text: str, body_html: str
) -> None:
    """Check every part of a proposed version; raise naming the field and the problem."""
    if not body_text.strip():
        raise ValidationError(TEMPLATE_BODY_REQUIRED)
    if template.channel == Channel.EMAIL and not subject.strip():
        raise ValidationError(TEMPLATE_SUBJECT_REQUIRED)
    parts = [(FIELD_TEXT, body_text, False)]
    if template.channel == Channel.EMAIL:
        parts += [(FIELD_SUBJECT, subject, False), (FIELD_HTML, body_html, True)]
    for field, source, html in parts:
        source_validate(kind=template.kind, field=str(field), source=source, html=html)


def template_preview(
    *, template: NoticeTemplate, subject: str, body_text: str, body_html: str
) -> Parts:
    """Render proposed sources with the kind's sample data (validated first)."""
    template_sources_validate(
        template=template, subject=subject, body_text=body_text, body_html=body_html
    )
    return render_parts(
        channel=template.channel,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        context=sample_context(template.kind),
    )


@transaction.atomic
def template_version_create(
    *,
    template: NoticeTemplate,
    subject: str,
    body_text: str,
    body_html: str,
    author: User,
) -> NoticeTemplateVersion:
    """Save an edit as a new draft version; the live version stays until approval."""
    if template.channel != Channel.EMAIL:
        subject, body_html = "", ""
    template_sources_validate(
        template=template, subject=subject, body_text=body_text, body_html=body_html
    )
    # Lock the template so two editors never get the same version number.
    NoticeTemplate.objects.select_for_update().filter(pk=template.pk).get()
    last = template.versions.aggregate(last=Max("number"))["last"] or 0
    version = NoticeTemplateVersion.objects.create(
        template=template,
        number=last + 1,
        subject=subject.strip(),
        body_text=body_text,
        body_html=body_html,
        created_by=author,
    )
    audit_record(
        action="notice_template.version_create",
        obj=version,
        actor=author,
        data={"template": str(template), "number": version.number},
    )
    return version


@transaction.atomic
def template_version_approve(
    *, version: NoticeTemplateVersion, approver: User
) -> NoticeTemplateVersion:
    """Make a draft the live version: by a holder of the approve permission, not its author."""
    if not approver.has_perm("notifications.approve_noticetemplate"):
        raise PermissionDenied(TEMPLATE_APPROVE_DENIED)
    if version.created_by_id == approver.pk:
        raise ValidationError(TEMPLATE_APPROVE_OWN)
    now = timezone.now()
    updated = NoticeTemplateVersion.objects.filter(
        pk=version.pk, status=NoticeTemplateVersion.Status.DRAFT
    ).update(
        status=NoticeTemplateVersion.Status.APPROVED,
        approved_by=approver,
        approved_at=now,
    )
    if updated != 1:
        raise ValidationError(
            TEMPLATE_APPROVE_NOT_DRAFT, params={"number": version.number}
        )
    version.refresh_from_db()
    audit_record(
        action="notice_template.version_approve",
        obj=version,
        actor=approver,
        data={"template": str(version.template), "number": version.number},
    )
    return version
