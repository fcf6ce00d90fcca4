"""The impact figures of one incident, and its review (the review screens' actions).

Every write calls the service the staff screen calls; the permission checks are the
screens' (incidents.view_impact, and incidents.manage_incident for refresh and
close), and the services refuse the rest (only the lead edits the review, ...).
"""

from collections.abc import Collection
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.serializers import IncidentSerializer
from incidents.models import ActionItem, CompensationOffer, Incident, Review
from incidents.selectors import incident_get_for_user
from incidents.services.compensation import user_is_comms_approver
from incidents.services.review import (
    action_item_add,
    action_item_done,
    incident_close,
    review_complete,
    review_update,
    user_may_edit_review,
)
from outage_desk.api.authentication import request_user
from outage_desk.api.errors import ERROR_INVALID, ApiError
from outage_desk.api.renderers import FileDownloadMixin, MarkdownRenderer, PDFRenderer

from ..aftermath import incident_aftermath_run
from ..exports import review_markdown, review_pdf
from ..review_data import ReviewData, review_data
from ..selectors import impact_figures
from . import serializers as s

VIEW_IMPACT = "incidents.view_impact"
REVIEW_COMPLETE = OpenApiResponse(description="The review is complete already.")
MANAGE_INCIDENT = "incidents.manage_incident"


def permission(codename: str) -> type[BasePermission]:
    """A permission class requiring one Django permission."""

    class HasPermission(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            return bool(request.user and request.user.has_perm(codename))

    return HasPermission


class ImpactPermission(BasePermission):
    """Incident leads and finance (incidents.view_impact)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.has_perm(VIEW_IMPACT))


def refusal(
    exc: DjangoValidationError, *, input_fields: Collection[str] = ()
) -> ApiError:
    """A service's refusal in the documented error shape.

    "actor" (you may not) is 403; a refusal about a field of the request body is
    400; any other (the review is complete, nothing left to approve, ...) is 409.
    """
    if not hasattr(exc, "error_dict"):
        return ApiError(status=409, code="conflict", message=" ".join(exc.messages))
    fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    if "actor" in fields:
        return ApiError(
            status=403, code="permission_denied", message=" ".join(fields["actor"])
        )
    if set(fields) <= set(input_fields):
        return ApiError(
            status=400, code="invalid", message=ERROR_INVALID, fields=fields
        )
    message = " ".join(m for messages in fields.values() for m in messages)
    return ApiError(status=409, code="conflict", message=message, fields=fields)


class IncidentMixin:
    """The incident named in the URL, through the scoped helper."""

    def incident(self) -> Incident:
        view = cast(APIView, self)
        return incident_get_for_user(
            user=request_user(view.request), reference=view.kwargs["reference"]
        )

    def review(self) -> Review:
        """The incident's review; 404 until restore prepares it."""
        return get_object_or_404(Review, incident=self.incident())


class ImpactView(APIView):
    """Customers affected, deposits, unconfirmed, notices, update cadence, cost."""

    permission_classes = [IsAuthenticated, ImpactPermission]

    @extend_schema(responses=s.ImpactSerializer)
    def get(self, request: Request, reference: str) -> Response:
        incident = incident_get_for_user(
            user=request_user(request), reference=reference
        )
        return Response(s.ImpactSerializer(impact_figures(incident=incident)).data)


def _review_body(request: Request, incident: Incident) -> dict[str, Any]:
    data = review_data(incident=incident, language=get_language() or "en")
    if data.review is None:
        raise Http404
    user = request_user(request)
    body = {
        **data.__dict__,
        "may_edit": user_may_edit_review(incident=incident, user=user),
        "may_approve_offers": user_is_comms_approver(incident=incident, user=user),
        "proposed_offers": CompensationOffer.objects.filter(
            incident=incident, status=CompensationOffer.Status.PROPOSED
        ).count(),
    }
    return dict(s.ReviewSerializer(body).data)


class ReviewView(IncidentMixin, APIView):
    """The review (prepared on restore); PATCH writes the findings."""

    permission_classes = [IsAuthenticated, ImpactPermission]

    @extend_schema(responses=s.ReviewSerializer)
    def get(self, request: Request, reference: str) -> Response:
        return Response(_review_body(request, self.incident()))

    @extend_schema(
        request=s.ReviewInputSerializer,
        responses={200: s.ReviewSerializer, 409: REVIEW_COMPLETE},
    )
    def patch(self, request: Request, reference: str) -> Response:
        review = self.review()
        data = s.ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        findings = {
            name: data.validated_data.get(name, getattr(review, name))
            for name in ("root_cause", "went_well", "went_badly")
        }
        try:
            review_update(review=review, actor=request_user(request), **findings)
        except DjangoValidationError as exc:
            raise refusal(exc, input_fields=findings) from exc
        return Response(_review_body(request, review.incident))


class ReviewCompleteView(IncidentMixin, APIView):
    """Mark the review complete: refused (409, naming the field) until the root
    cause, what went well and what went badly are filled in."""

    permission_classes = [IsAuthenticated, ImpactPermission]

    @extend_schema(
        request=None,
        responses={
            200: s.ReviewSerializer,
            409: OpenApiResponse(
                description="A finding is missing (named in fields), or the "
                "review is complete already."
            ),
        },
    )
    def post(self, request: Request, reference: str) -> Response:
        review = self.review()
        try:
            review_complete(review=review, actor=request_user(request))
        except DjangoValidationError as exc:
            raise refusal(exc) from exc
        return Response(_review_body(request, review.incident))


class ActionItemListView(IncidentMixin, generics.ListAPIView):  # type: ignore[type-arg]
    """The review's action items by due date; POST adds one."""

    permission_classes = [IsAuthenticated, ImpactPermission]
    serializer_class = s.ActionItemSerializer
    filterset_fields = ["kind"]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ActionItem.objects.none()
        return (
            self.review().action_items.select_related("owner").order_by("due_on", "pk")
        )

    @extend_schema(
        request=s.ActionItemInputSerializer,
        responses={201: s.ActionItemSerializer, 409: REVIEW_COMPLETE},
    )
    def post(self, request: Request, reference: str) -> Response:
        review = self.review()
        data = s.ActionItemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            item = action_item_add(
                review=review, actor=request_user(request), **data.validated_data
            )
        except DjangoValidationError as exc:
            raise refusal(exc, input_fields=data.fields) from exc
        return Response(
            s.ActionItemSerializer(item).data, status=status.HTTP_201_CREATED
        )


class ActionItemDoneView(IncidentMixin, APIView):
    """Its owner, or the incident's lead, marks an action item done."""

    permission_classes = [IsAuthenticated, ImpactPermission]

    @extend_schema(
        request=None,
        responses={
            200: s.ActionItemSerializer,
            409: OpenApiResponse(description="The action item is done already."),
        },
    )
    def post(self, request: Request, reference: str, pk: int) -> Response:
        item = get_object_or_404(ActionItem, pk=pk, review__incident=self.incident())
        try:
            item = action_item_done(item=item, actor=request_user(request))
        except DjangoValidationError as exc:
            raise refusal(exc) from exc
        return Response(s.ActionItemSerializer(item).data)


class RefreshView(IncidentMixin, APIView):
    """Propose offers from the rules and retake the review's impact snapshot."""

    permission_classes = [IsAuthenticated, permission(MANAGE_INCIDENT)]

    @extend_schema(
        request=None,
        responses={
            200: s.ReviewSerializer,
            409: OpenApiResponse(description="The incident is not restored yet."),
        },
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = self.incident()
        try:
            incident_aftermath_run(incident=incident)
        except DjangoValidationError as exc:
            raise refusal(exc) from exc
        return Response(_review_body(request, incident))


class CloseView(IncidentMixin, APIView):
    """Close a resolved incident: refused (409) until its review is complete."""

    permission_classes = [IsAuthenticated, permission(MANAGE_INCIDENT)]

    @extend_schema(
        request=None,
        responses={
            200: IncidentSerializer,
            409: OpenApiResponse(
                description="Not resolved yet, the review is not complete, or "
                "closed already."
            ),
        },
    )
    def post(self, request: Request, reference: str) -> Response:
        try:
            incident = incident_close(
                incident=self.incident(), actor=request_user(request)
            )
        except DjangoValidationError as exc:
            raise refusal(exc) from exc
        return Response(IncidentSerializer(incident).data)


def _export_data(view: IncidentMixin) -> ReviewData:
    return review_data(incident=view.incident(), language=get_language() or "en")


class ReviewMarkdownView(FileDownloadMixin, IncidentMixin, APIView):
    """The review as Markdown (the staff page's export), as a download."""

    permission_classes = [IsAuthenticated, ImpactPermission]
    renderer_classes = [JSONRenderer, MarkdownRenderer]

    @extend_schema(responses={(200, "text/markdown"): OpenApiTypes.STR})
    def get(self, request: Request, reference: str) -> HttpResponse:
        data = _export_data(self)
        response = HttpResponse(
            review_markdown(data), content_type="text/markdown; charset=utf-8"
        )
        name = f"review-{data.incident.reference}.md"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class ReviewPdfView(FileDownloadMixin, IncidentMixin, APIView):
    """The review as an A4 PDF (the staff page's export)."""

    permission_classes = [IsAuthenticated, ImpactPermission]
    renderer_classes = [JSONRenderer, PDFRenderer]

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The review as PDF."
            )
        }
    )
    def get(self, request: Request, reference: str) -> HttpResponse:
        data = _export_data(self)
        response = HttpResponse(review_pdf(data), content_type="application/pdf")
        name = f"review-{data.incident.reference}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
