"""Compensation through the API: the rules, the offers, approval and tracking.

Approving offers sends them to customers (each offer is money the bank gives), so
that POST needs an ``Idempotency-Key``. Rules are configuration, edited by whoever
may edit them in the admin (the model permissions), each change audited by the
service the admin calls.
"""

from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.models import (
    CompensationOffer,
    CompensationRule,
    CustomerTier,
    OfferKind,
)
from incidents.services.compensation import (
    compensation_rule_delete,
    compensation_rule_save,
    offer_advance,
    offers_approve,
)
from outage_desk.api.authentication import request_user
from outage_desk.api.errors import ApiError
from outage_desk.api.pagination import ApiCursorPagination
from outage_desk.idempotency import IDEMPOTENCY_PARAMETER, idempotent

from . import serializers as s
from .views import MANAGE_INCIDENT, ImpactPermission, IncidentMixin, permission, refusal

ERROR_RULE_IN_USE = _(
    "Offers were made from this rule, so it cannot be deleted; change it instead."
)
RULE_FIELDS = list(s.CompensationRuleInputSerializer().fields)


class OfferFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CompensationOffer.Status.choices)
    offer_kind = django_filters.ChoiceFilter(choices=OfferKind.choices)
    tier = django_filters.ChoiceFilter(choices=CustomerTier.choices)
    currency = django_filters.CharFilter()
    account = django_filters.CharFilter()

    class Meta:
        model = CompensationOffer
        fields = ["status", "offer_kind", "tier", "currency", "account"]


class OfferListView(IncidentMixin, generics.ListAPIView):  # type: ignore[type-arg]
    """The incident's offers, one per affected customer (paged by cursor)."""

    permission_classes = [IsAuthenticated, ImpactPermission]
    serializer_class = s.OfferSerializer
    pagination_class = ApiCursorPagination
    filterset_class = OfferFilter
    ordering_fields: list[str] = []
    ordering = ["pk"]

    def get_queryset(self) -> QuerySet[CompensationOffer]:
        if getattr(self, "swagger_fake_view", False):
            return CompensationOffer.objects.none()
        return CompensationOffer.objects.filter(
            incident=self.incident()
        ).select_related("approved_by")


class OffersApproveView(IncidentMixin, APIView):
    """The incident's comms approver approves every proposed offer; each is sent."""

    permission_classes = [IsAuthenticated, ImpactPermission]

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: s.OffersApprovedSerializer,
            403: OpenApiResponse(
                description="Not allowed: only the comms approver approves."
            ),
            409: OpenApiResponse(description="No proposed offers left to approve."),
        },
    )
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        try:
            count = offers_approve(
                incident=self.incident(), actor=request_user(request)
            )
        except DjangoValidationError as exc:
            raise refusal(exc) from exc
        return Response(s.OffersApprovedSerializer({"approved": count}).data)


class OfferAdvanceView(IncidentMixin, APIView):
    """Record that the customer accepted, then redeemed, the offer."""

    permission_classes = [IsAuthenticated, permission(MANAGE_INCIDENT)]

    @extend_schema(
        request=s.OfferAdvanceSerializer,
        responses={
            200: s.OfferSerializer,
            409: OpenApiResponse(description="Not the offer's next step."),
        },
    )
    def post(self, request: Request, reference: str, pk: int) -> Response:
        offer = get_object_or_404(CompensationOffer, pk=pk, incident=self.incident())
        data = s.OfferAdvanceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            offer = offer_advance(
                offer=offer,
                to_status=data.validated_data["status"],
                actor=request_user(request),
            )
        except DjangoValidationError as exc:
            raise refusal(exc) from exc
        return Response(s.OfferSerializer(offer).data)


class RuleFilter(django_filters.FilterSet):
    incident = django_filters.CharFilter(
        field_name="incident__reference", help_text="Incident reference."
    )
    default = django_filters.BooleanFilter(
        field_name="incident",
        lookup_expr="isnull",
        help_text="true: only the default rules (of no incident).",
    )
    tier = django_filters.ChoiceFilter(choices=CustomerTier.choices)
    offer_kind = django_filters.ChoiceFilter(choices=OfferKind.choices)

    class Meta:
        model = CompensationRule
        fields = ["incident", "default", "tier", "offer_kind"]


class RulePermissions(DjangoModelPermissions):
    """As in the admin: view, add, change and delete compensation rules."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


def _rule_saved(
    rule: CompensationRule, data: dict[str, Any], request: Request
) -> CompensationRule:
    for name, value in data.items():
        setattr(rule, name, value)
    try:
        return compensation_rule_save(rule=rule, actor=request_user(request))
    except DjangoValidationError as exc:
        raise refusal(exc, input_fields=RULE_FIELDS) from exc


class RuleListView(generics.ListAPIView):  # type: ignore[type-arg]
    """Compensation rules (defaults and incidents' own); POST adds one."""

    permission_classes = [IsAuthenticated, RulePermissions]
    serializer_class = s.CompensationRuleSerializer
    filterset_class = RuleFilter
    queryset = CompensationRule.objects.select_related("incident").order_by("pk")

    @extend_schema(
        request=s.CompensationRuleInputSerializer,
        responses={201: s.CompensationRuleSerializer},
    )
    def post(self, request: Request) -> Response:
        data = s.CompensationRuleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = _rule_saved(CompensationRule(), data.validated_data, request)
        return Response(
            s.CompensationRuleSerializer(rule).data, status=status.HTTP_201_CREATED
        )


class RuleDetailView(APIView):
    """One rule: read, change (only the fields sent), delete (if no offer used it)."""

    permission_classes = [IsAuthenticated, RulePermissions]
    queryset = CompensationRule.objects.select_related("incident")

    def rule(self, pk: int) -> CompensationRule:
        return get_object_or_404(self.queryset, pk=pk)

    @extend_schema(responses=s.CompensationRuleSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.CompensationRuleSerializer(self.rule(pk)).data)

    @extend_schema(
        request=s.CompensationRuleInputSerializer,
        responses=s.CompensationRuleSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        rule = self.rule(pk)
        data = s.CompensationRuleInputSerializer(rule, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        rule = _rule_saved(rule, data.validated_data, request)
        return Response(s.CompensationRuleSerializer(rule).data)

    @extend_schema(
        request=None,
        responses={
            204: None,
            409: OpenApiResponse(description="Offers were made from this rule."),
        },
    )
    def delete(self, request: Request, pk: int) -> Response:
        rule = self.rule(pk)
        try:
            compensation_rule_delete(rule=rule, actor=request_user(request))
        except ProtectedError as exc:
            raise ApiError(
                status=409, code="conflict", message=ERROR_RULE_IN_USE
            ) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
