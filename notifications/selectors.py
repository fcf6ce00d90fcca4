"""Reads scoped to the user: templates and the delivery log are for permitted staff."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from outage_desk.models import User

from .models import Notice, NoticeTemplate, NoticeTemplateVersion


def template_list_for_user(*, user: User) -> QuerySet[NoticeTemplate]:
    """Every template, for a user who may view them."""
    if not user.has_perm("notifications.view_noticetemplate"):
        raise PermissionDenied
    return NoticeTemplate.objects.order_by("kind", "channel", "language")


def template_get_for_user(*, user: User, pk: int) -> NoticeTemplate:
    """One template, for a user who may view templates; 404 when there is none."""
    return get_object_or_404(template_list_for_user(user=user), pk=pk)


def template_version_get_for_user(*, user: User, pk: int) -> NoticeTemplateVersion:
    if not user.has_perm("notifications.view_noticetemplate"):
        raise PermissionDenied
    return get_object_or_404(
        NoticeTemplateVersion.objects.select_related("template"), pk=pk
    )


def notice_list_for_user(
    *,
    user: User,
    ref: str = "",
    status: str = "",
    channel: str = "",
    notice_id: int | None = None,
) -> QuerySet[Notice]:
    """The delivery log, newest first, filtered by subject ref, status or channel."""
    if not user.has_perm("notifications.view_notice"):
        raise PermissionDenied
    notices = Notice.objects.order_by("-pk").prefetch_related("deliveries")
    if ref:
        notices = notices.filter(refs__ref=ref.strip())
    if status:
        notices = notices.filter(status=status)
    if channel:
        notices = notices.filter(channel=channel)
    if notice_id:
        notices = notices.filter(pk=notice_id)
    return notices


def notice_get_for_user(*, user: User, pk: int) -> Notice:
    return get_object_or_404(notice_list_for_user(user=user), pk=pk)
