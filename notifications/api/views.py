"""The notices API: delivery log and resend; templates, versions, preview, approval.

The same permissions as the screens (notifications.view_notice, resend_notice,
view/change/approve_noticetemplate) and the same services.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outage_desk.api.authentication import request_user
from outage_desk.api.errors import ApiError
from outage_desk.api.pagination import ApiCursorPagination

from ..models import Notice, NoticeTemplate, NoticeTemplateVersion
from ..selectors import (
    notice_get_for_user,
    notice_list_for_user,
    template_get_for_user,
    template_list_for_user,
    template_version_get_for_user,
)
from ..services.staff import notice_resend
from ..services.templates import (
    TEMPLATE_APPROVE_OWN,
    template_preview,
    template_version_approve,
    template_version_create,
)
from . import serializers as s
from .filters import NoticeFilter

ERROR_NO_EDIT = _("You may not edit notice templates.")


def has_perm(codename: str) -> type[BasePermission]:
    class HasPerm(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            return bool(request.user and request.user.has_perm(codename))

    return HasPerm


class NoticeListView(generics.ListAPIView):  # type: ignore[type-arg]
    """The delivery log, newest first; filter by ref, status, channel or kind."""

    serializer_class = s.NoticeSerializer
    permission_classes = [IsAuthenticated, has_perm("notifications.view_notice")]
    pagination_class = ApiCursorPagination
    filterset_class = NoticeFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-id"]

    def get_queryset(self) -> QuerySet[Notice]:
        if getattr(self, "swagger_fake_view", False):
            return Notice.objects.none()
        return notice_list_for_user(user=request_user(self.request)).distinct()


class NoticeDetailView(APIView):
    permission_classes = [IsAuthenticated, has_perm("notifications.view_notice")]

    @extend_schema(responses=s.NoticeSerializer)
    def get(self, request: Request, pk: int) -> Response:
        notice = notice_get_for_user(user=request_user(request), pk=pk)
        return Response(s.NoticeSerializer(notice).data)


class NoticeResendView(APIView):
    """Put a failed notice back in the queue (409 unless it failed)."""

    permission_classes = [IsAuthenticated, has_perm("notifications.resend_notice")]

    @extend_schema(
        request=None,
        responses={
            200: s.NoticeSerializer,
            409: OpenApiResponse(description="Only a failed notice can be resent."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        notice = notice_get_for_user(user=request_user(request), pk=pk)
        try:
            notice = notice_resend(notice=notice, actor=request_user(request))
        except ValidationError as exc:
            raise ApiError(
                status=409, code="conflict", message=" ".join(exc.messages)
            ) from exc
        return Response(s.NoticeSerializer(notice).data)


class TemplateListView(generics.ListAPIView):  # type: ignore[type-arg]
    """Every notice template (kind x channel x language)."""

    serializer_class = s.TemplateSerializer
    permission_classes = [
        IsAuthenticated,
        has_perm("notifications.view_noticetemplate"),
    ]
    filterset_fields = ["kind", "channel", "language"]
    ordering_fields = ["kind", "channel", "language", "id"]

    def get_queryset(self) -> QuerySet[NoticeTemplate]:
        if getattr(self, "swagger_fake_view", False):
            return NoticeTemplate.objects.none()
        return template_list_for_user(user=request_user(self.request)).order_by(
            "kind", "channel", "language", "pk"
        )


class TemplateVersionListView(generics.ListAPIView):  # type: ignore[type-arg]
    """A template's versions, newest first, by limit and offset; POST saves a new
    draft."""

    permission_classes = [
        IsAuthenticated,
        has_perm("notifications.view_noticetemplate"),
    ]
    serializer_class = s.TemplateVersionSerializer
    filterset_fields = ["status"]
    ordering_fields = ["number", "created_at"]

    def get_queryset(self) -> QuerySet[NoticeTemplateVersion]:
        if getattr(self, "swagger_fake_view", False):
            return NoticeTemplateVersion.objects.none()
        template = template_get_for_user(
            user=request_user(self.request), pk=self.kwargs["pk"]
        )
        return template.versions.select_related("created_by", "approved_by").order_by(
            "-number"
        )

    @extend_schema(
        request=s.TemplateSourcesSerializer,
        responses={201: s.TemplateVersionSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        user = request_user(request)
        if not user.has_perm("notifications.change_noticetemplate"):
            raise ApiError(
                status=403,
                code="permission_denied",
                message=ERROR_NO_EDIT,
            )
        template = template_get_for_user(user=user, pk=pk)
        data = s.TemplateSourcesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = template_version_create(
            template=template, author=user, **data.validated_data
        )
        return Response(
            s.TemplateVersionSerializer(version).data, status=status.HTTP_201_CREATED
        )


class TemplatePreviewView(APIView):
    """Render proposed sources with the kind's sample data; nothing is saved."""

    permission_classes = [
        IsAuthenticated,
        has_perm("notifications.view_noticetemplate"),
    ]

    @extend_schema(request=s.TemplateSourcesSerializer, responses=s.PreviewSerializer)
    def post(self, request: Request, pk: int) -> Response:
        template = template_get_for_user(user=request_user(request), pk=pk)
        data = s.TemplateSourcesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        parts = template_preview(template=template, **data.validated_data)
        return Response(
            s.PreviewSerializer(
                {
                    "subject": parts.subject,
                    "body": parts.body,
                    "body_html": parts.body_html,
                }
            ).data
        )


class TemplateVersionApproveView(APIView):
    """Four eyes: make a draft the live version (not by its author)."""

    permission_classes = [
        IsAuthenticated,
        has_perm("notifications.approve_noticetemplate"),
    ]

    @extend_schema(
        request=None,
        responses={
            200: s.TemplateVersionSerializer,
            403: OpenApiResponse(description="Four eyes: not by its author."),
            409: OpenApiResponse(description="Already approved."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        user = request_user(request)
        version = template_version_get_for_user(user=user, pk=pk)
        try:
            version = template_version_approve(version=version, approver=user)
        except ValidationError as exc:
            own = exc.messages == [str(TEMPLATE_APPROVE_OWN)]
            raise ApiError(
                status=403 if own else 409,
                code="four_eyes" if own else "conflict",
                message=" ".join(exc.messages),
            ) from exc
        return Response(s.TemplateVersionSerializer(version).data)
